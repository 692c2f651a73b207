//! The `lookalike` binary, run as a user runs it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use lookalike::synth::{CorpusConfig, generate};
use support::browser::{FLAGS, chromium};

mod support;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lookalike"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run lookalike")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Groups in a `--clusters` file, as sets of ids.
fn groups(path: &Path) -> BTreeSet<BTreeSet<String>> {
    let text = std::fs::read_to_string(path).expect("clusters file");
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("clusters line is JSON");
            v["members"]
                .as_array()
                .expect("members")
                .iter()
                .map(|m| m["id"].as_str().expect("id").to_string())
                .collect()
        })
        .collect()
}

fn write_jsonl(path: &Path, docs: &[(String, String)]) {
    let mut f = std::fs::File::create(path).expect("create");
    for (id, text) in docs {
        writeln!(
            f,
            "{}",
            serde_json::json!({"id": id, "text": text, "extra": [1, 2]})
        )
        .expect("write");
    }
}

#[test]
fn seeds_give_one_group_with_defaults() {
    let seeds = repo().join("../shared/seeds");
    if !seeds.is_dir() {
        eprintln!("SKIPPED seeds_give_one_group_with_defaults: ../shared/seeds is absent");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let clusters = dir.path().join("c.jsonl");
    let o = run(&[
        "dedup",
        seeds.to_str().expect("utf8"),
        "--clusters",
        clusters.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let got = groups(&clusters);
    assert_eq!(got.len(), 1, "{got:?}");
    let group = got.iter().next().expect("one group");
    assert_eq!(group.len(), 2);
    assert!(
        group.iter().any(|id| id.starts_with("000_"))
            && group.iter().any(|id| id.starts_with("001_"))
    );

    // compare: 000–001 far above 000–002.
    let file = |p: &str| {
        std::fs::read_dir(&seeds)
            .expect("seeds")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|x| {
                x.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(p))
            })
            .expect("seed file")
    };
    let jac = |a: &Path, b: &Path| {
        let o = bin()
            .args(["compare", "--json"])
            .arg(a)
            .arg(b)
            .output()
            .expect("compare");
        assert!(o.status.success());
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        v["jaccard"].as_f64().expect("jaccard")
    };
    let (near, far) = (
        jac(&file("000"), &file("001")),
        jac(&file("000"), &file("002")),
    );
    assert!(near > 0.4 && far < 0.05, "{near} {far}");
}

#[test]
fn examples_match_their_truth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clusters = dir.path().join("c.jsonl");
    let news = repo().join("examples/news");
    let o = run(&[
        "dedup",
        news.to_str().expect("utf8"),
        "--clusters",
        clusters.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let truth = std::fs::read_to_string(repo().join("examples/news-truth.jsonl")).expect("truth");
    let mut by_cluster: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for l in truth.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("json");
        by_cluster
            .entry(v["cluster"].as_i64().expect("cluster"))
            .or_default()
            .insert(v["id"].as_str().expect("id").to_string());
    }
    let want: BTreeSet<_> = by_cluster.into_values().filter(|g| g.len() > 1).collect();
    assert_eq!(groups(&clusters), want);
}

/// `--judge story` on the examples gives their truth too, and with
/// `--time-field` a text repeated word for word a month later is another
/// edition of a recurring item, not a version (exact copies are always
/// grouped, so the test's second flash changes one word); without times, or judged
/// plainly, the two are one group. A bad time names its line and field.
#[test]
fn story_judgment_uses_times_when_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clusters = dir.path().join("c.jsonl");
    let news = repo().join("examples/news");
    let plain = dir.path().join("plain.jsonl");
    let run_on = |input: &Path, out: &Path, extra: &[&str]| {
        let mut args = vec![
            "dedup",
            input.to_str().expect("utf8"),
            "--clusters",
            out.to_str().expect("utf8"),
        ];
        args.extend_from_slice(extra);
        let o = run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    run_on(&news, &plain, &[]);
    run_on(&news, &clusters, &["--judge", "story"]);
    assert_eq!(groups(&clusters), groups(&plain));

    let flash = "Exporters report the sale of corn to unknown destinations for delivery in \
                 the current marketing year, the agriculture department said.";
    let other = "The city council voted to extend the opening hours of the central library \
                 on weekday evenings from the start of next month.";
    let flash_b = flash.replace("report", "reported");
    let input = dir.path().join("wire.jsonl");
    let mut f = std::fs::File::create(&input).expect("create");
    for (id, text, time) in [
        ("a", flash, "1987-03-17T15:35:00Z"),
        ("b", flash_b.as_str(), "1987-04-13T15:31:00Z"),
        ("c", other, "1987-03-17T16:00:00Z"),
    ] {
        writeln!(
            f,
            "{}",
            serde_json::json!({"id": id, "text": text, "timestamp": time})
        )
        .expect("write");
    }
    drop(f);
    let both: BTreeSet<BTreeSet<String>> =
        BTreeSet::from([BTreeSet::from(["a".to_string(), "b".to_string()])]);
    run_on(&input, &clusters, &["--judge", "story"]);
    assert_eq!(groups(&clusters), both);
    run_on(
        &input,
        &clusters,
        &["--judge", "story", "--time-field", "timestamp"],
    );
    assert!(
        groups(&clusters).is_empty(),
        "a month apart: {:?}",
        groups(&clusters)
    );
    run_on(&input, &clusters, &["--time-field", "timestamp"]);
    assert_eq!(groups(&clusters), both, "plain judgment ignores times");

    std::fs::write(
        &input,
        "{\"id\": \"x\", \"text\": \"t\", \"timestamp\": \"soon\"}\n",
    )
    .expect("write");
    let o = run(&[
        "dedup",
        input.to_str().expect("utf8"),
        "--judge",
        "story",
        "--time-field",
        "timestamp",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(":1") && stderr(&o).contains("timestamp"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn threads_do_not_change_the_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.jsonl");
    write_jsonl(
        &input,
        &generate(&CorpusConfig {
            originals: 800,
            ..Default::default()
        })
        .docs,
    );
    let mut outs = Vec::new();
    for j in ["1", "2"] {
        let c = dir.path().join(format!("c{j}.jsonl"));
        let o = run(&[
            "dedup",
            input.to_str().expect("utf8"),
            "-j",
            j,
            "--clusters",
            c.to_str().expect("utf8"),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        outs.push(std::fs::read(&c).expect("clusters"));
    }
    assert!(!outs[0].is_empty());
    assert_eq!(outs[0], outs[1]);

    // A memory budget too small for the fingerprints: they go to disk, the
    // summary says so, the clusters are byte for byte the same and the spill
    // directory is cleaned up. A bad size is refused with a hint.
    let spill = dir.path().join("spill");
    std::fs::create_dir(&spill).expect("spill dir");
    let c = dir.path().join("c-spilled.jsonl");
    let o = run(&[
        "dedup",
        input.to_str().expect("utf8"),
        "--memory",
        "64K",
        "--spill-dir",
        spill.to_str().expect("utf8"),
        "--clusters",
        c.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("kept on disk"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&c).expect("clusters"), outs[0]);
    assert_eq!(std::fs::read_dir(&spill).expect("spill dir").count(), 0);
    let o = run(&["dedup", input.to_str().expect("utf8"), "--memory", "lots"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("write e.g. 512M or 8G"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn json_lines_output_keeps_lines_byte_for_byte_and_accounts_for_every_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = generate(&CorpusConfig {
        originals: 300,
        ..Default::default()
    });
    // Odd spacing and key order must survive: the output is the input's bytes.
    let mut raw = String::new();
    for (id, text) in &corpus.docs {
        raw.push_str(&format!(
            "{{ \"text\":{},  \"id\" : \"{id}\", \"n\": 1 }}\n",
            serde_json::to_string(text).expect("json")
        ));
    }
    let input = dir.path().join("in.jsonl.zst");
    std::fs::write(&input, zstd::encode_all(raw.as_bytes(), 3).expect("zstd")).expect("write");
    let out = dir.path().join("out.jsonl.gz");
    let clusters = dir.path().join("c.jsonl");
    let o = run(&[
        "dedup",
        input.to_str().expect("utf8"),
        "-o",
        out.to_str().expect("utf8"),
        "--clusters",
        clusters.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut kept = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&out).expect("out")),
        &mut kept,
    )
    .expect("gunzip");
    let input_lines: BTreeSet<&str> = raw.lines().collect();
    let kept_lines: Vec<&str> = kept.lines().collect();
    assert!(
        kept_lines.iter().all(|l| input_lines.contains(l)),
        "a kept line was altered"
    );
    // kept + removed = input, every id once.
    let id_of = |l: &str| {
        serde_json::from_str::<serde_json::Value>(l).expect("json")["id"]
            .as_str()
            .expect("id")
            .to_string()
    };
    let kept_ids: BTreeSet<String> = kept_lines.iter().map(|l| id_of(l)).collect();
    let mut removed = BTreeSet::new();
    for g in groups(&clusters) {
        assert_eq!(
            g.iter().filter(|id| kept_ids.contains(*id)).count(),
            1,
            "one kept per group"
        );
        removed.extend(g.into_iter().filter(|id| !kept_ids.contains(id)));
    }
    assert!(!removed.is_empty());
    assert!(kept_ids.is_disjoint(&removed));
    assert_eq!(kept_ids.len() + removed.len(), corpus.docs.len());
}

#[test]
fn malformed_json_names_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("bad.jsonl");
    std::fs::write(
        &input,
        "{\"text\": \"fine words here\"}\n{\"text\": broken\n{\"id\": 3}\n",
    )
    .expect("write");
    let o = run(&["dedup", input.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(3));
    let e = stderr(&o);
    assert!(
        e.contains("bad.jsonl:2: invalid JSON") && e.contains("--skip-invalid"),
        "{e}"
    );
    let o = run(&["dedup", input.to_str().expect("utf8"), "--skip-invalid"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("bad.jsonl:3: skipped: missing field \"text\""),
        "{e}"
    );
    assert!(e.contains("2 invalid records skipped"), "{e}");
}

#[test]
fn directories_skip_binaries_and_mirror_kept_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    std::fs::create_dir_all(input.join("sub")).expect("mkdir");
    let text = "the cat sat on the mat and looked out of the window at the rain";
    std::fs::write(input.join("a.txt"), text).expect("write");
    std::fs::write(input.join("sub/b.txt"), text.to_uppercase()).expect("write");
    std::fs::write(
        input.join("c.txt"),
        "something else entirely, with no words in common",
    )
    .expect("write");
    std::fs::write(input.join("img.bin"), [0x89u8, b'P', 0, 0, 1, 2]).expect("write");
    std::fs::write(input.join("latin1.txt"), b"caf\xe9 au lait in the morning").expect("write");
    std::fs::write(input.join("empty.txt"), "").expect("write");
    let out = dir.path().join("out");
    let o = run(&[
        "dedup",
        input.to_str().expect("utf8"),
        "-o",
        out.to_str().expect("utf8"),
    ]);
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(e.contains("img.bin: looks binary"), "{e}");
    assert!(e.contains("latin1.txt: invalid UTF-8 replaced"), "{e}");
    assert!(out.join("a.txt").is_file() && !out.join("sub/b.txt").exists());
    for f in ["c.txt", "latin1.txt", "empty.txt"] {
        assert_eq!(
            std::fs::read(out.join(f)).expect(f),
            std::fs::read(input.join(f)).expect(f)
        );
    }
    // The output may not overwrite an input.
    let o = run(&[
        "dedup",
        input.to_str().expect("utf8"),
        "-o",
        input.join("x").to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn stdin_and_duplicate_ids_and_missing_paths() {
    let mut child = bin()
        .args(["dedup", "-", "--clusters", "/dev/stdout", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let body = "{\"id\":\"x\",\"text\":\"one two three four five six seven\"}\n{\"id\":\"y\",\"text\":\"One, two, three, four, five, six, seven!\"}\n";
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("\"kept\":\"x\"") && out.contains("\"relation\":\"exact\""),
        "{out}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("dup.jsonl");
    std::fs::write(
        &input,
        "{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"a\",\"text\":\"y\"}\n",
    )
    .expect("write");
    let o = run(&["dedup", input.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("duplicate id \"a\""), "{}", stderr(&o));

    let o = run(&["dedup", "no/such/place.jsonl"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no/such/place.jsonl"), "{}", stderr(&o));
}

#[test]
fn parquet_keeps_all_columns() {
    use arrow_array::{Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.parquet");
    let corpus = generate(&CorpusConfig {
        originals: 200,
        ..Default::default()
    });
    let ids: Vec<&str> = corpus.docs.iter().map(|d| d.0.as_str()).collect();
    let texts: Vec<&str> = corpus.docs.iter().map(|d| d.1.as_str()).collect();
    let extra: Vec<i64> = (0..ids.len() as i64).collect();
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(StringArray::from(ids)) as _),
        ("text", Arc::new(StringArray::from(texts)) as _),
        ("extra", Arc::new(Int64Array::from(extra)) as _),
    ])
    .expect("batch");
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&input).expect("create"),
        batch.schema(),
        None,
    )
    .expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    let out = dir.path().join("out.parquet");
    let o = run(&[
        "dedup",
        input.to_str().expect("utf8"),
        "-o",
        out.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&out).expect("out"),
    )
    .expect("parquet")
    .build()
    .expect("reader");
    let mut rows = 0;
    for b in reader {
        let b = b.expect("batch");
        assert_eq!(b.num_columns(), 3);
        rows += b.num_rows();
    }
    assert!(rows > 0 && rows < corpus.docs.len(), "{rows}");
    let o = run(&[
        "dedup",
        input.to_str().expect("utf8"),
        "--text-field",
        "body",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no column \"body\""), "{}", stderr(&o));
}

#[test]
#[ignore = "heavy: scripts/test runs it in a step of its own (cargo test -- --ignored)"]
fn a_200_megabyte_document_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    std::fs::create_dir(&input).expect("mkdir");
    let corpus = generate(&CorpusConfig {
        originals: 2000,
        words: (300, 400),
        ..Default::default()
    });
    let mut big =
        std::io::BufWriter::new(std::fs::File::create(input.join("big.txt")).expect("create"));
    let mut written = 0;
    'outer: loop {
        for (_, t) in &corpus.docs {
            big.write_all(t.as_bytes()).expect("write");
            big.write_all(b"\n").expect("write");
            written += t.len() + 1;
            if written > 200 << 20 {
                break 'outer;
            }
        }
    }
    drop(big);
    std::fs::write(input.join("small.txt"), &corpus.docs[0].1).expect("write");
    let o = run(&["dedup", input.to_str().expect("utf8"), "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn seed(prefix: &str) -> Option<PathBuf> {
    let dir = repo().join("../shared/seeds");
    std::fs::read_dir(&dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
}

fn align_json(a: &Path, b: &Path) -> (serde_json::Value, String, String) {
    let o = bin()
        .args(["align", "--json"])
        .arg(a)
        .arg(b)
        .output()
        .expect("align");
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let ta = std::fs::read_to_string(a).expect("a");
    let tb = std::fs::read_to_string(b).expect("b");
    (v, ta, tb)
}

/// Text of a JSON span, cut from the original by its character offsets.
fn cut(text: &str, span: &serde_json::Value) -> String {
    let (s, e) = (
        span["start"].as_u64().expect("start") as usize,
        span["end"].as_u64().expect("end") as usize,
    );
    text.chars().skip(s).take(e - s).collect()
}

#[test]
fn align_seeds_shows_what_the_two_versions_share_and_where_they_differ() {
    let (Some(s0), Some(s1), Some(s2)) = (seed("000"), seed("001"), seed("002")) else {
        eprintln!(
            "SKIPPED align_seeds_shows_what_the_two_versions_share_and_where_they_differ: ../shared/seeds is absent"
        );
        return;
    };
    let (v, a, b) = align_json(&s0, &s1);
    let a_only: Vec<String> = v["a"]["unshared"]
        .as_array()
        .expect("a")
        .iter()
        .map(|s| cut(&a, s))
        .collect();
    let b_only: Vec<String> = v["b"]["unshared"]
        .as_array()
        .expect("b")
        .iter()
        .map(|s| cut(&b, s))
        .collect();
    // What really differs is listed as unshared ...
    assert!(
        b_only.iter().any(|s| s.contains("7 May 2013")),
        "{b_only:?}"
    );
    assert!(
        b_only
            .iter()
            .any(|s| s.contains("Before the talks, Mr Kerry said")),
        "{b_only:?}"
    );
    assert!(
        b_only
            .iter()
            .any(|s| s.contains("Sarin, an extremely potent chemical nerve agent")),
        "{b_only:?}"
    );
    assert!(
        a_only
            .iter()
            .any(|s| s.contains("Investigator Carla Del Ponte")),
        "{a_only:?}"
    );
    assert_eq!(a_only.last().map(String::as_str), Some("BBC"));
    // ... and the passages the versions share are found, with offsets that
    // cut the same words out of both originals.
    let passages = v["passages"].as_array().expect("passages");
    let longest = passages
        .iter()
        .max_by_key(|p| p["matched_words"].as_u64())
        .expect("a passage");
    assert!(longest["matched_words"].as_u64().unwrap_or(0) > 250);
    assert!(cut(&a, &longest["a"]).starts_with("In Washington, White House spokesman Jay Carney"));
    assert!(cut(&b, &longest["b"]).starts_with("In Washington, White House spokesman Jay Carney"));
    // Coverage: 001 lies mostly inside shared passages; 000 less so, since a
    // quarter of it is the chemical-weapons section 001 dropped.
    assert!(
        v["b"]["coverage"].as_f64().unwrap_or(0.0) > 0.8,
        "{}",
        v["b"]["coverage"]
    );
    assert!(
        v["a"]["coverage"].as_f64().unwrap_or(0.0) > 0.65,
        "{}",
        v["a"]["coverage"]
    );

    let (v, ..) = align_json(&s0, &s2);
    let longest = v["passages"]
        .as_array()
        .expect("passages")
        .iter()
        .filter_map(|p| p["matched_words"].as_u64())
        .max();
    assert!(longest.unwrap_or(0) < 25, "{longest:?}");
}

#[test]
fn align_terminal_view_uses_markers_when_piped() {
    let news = repo().join("examples/news/harbour-bridge");
    let o = bin()
        .arg("align")
        .arg(news.join("original.txt"))
        .arg(news.join("update.txt"))
        .env_remove("NO_COLOR")
        .output()
        .expect("align");
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains('\x1b'), "no colour into a pipe");
    assert!(
        out.contains("[B only, ")
            && out.contains("Harbour bridge to close for six weeks of repairs"),
        "{out}"
    );
    assert!(out.contains("[-says-]{+said+}"), "{out}");
    assert!(out.contains("[shared 1, "), "{out}");
}

#[test]
fn reuse_finds_story_families_and_sets_boilerplate_aside() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("reuse.jsonl");
    let o = run(&[
        "reuse",
        repo().join("examples/news").to_str().expect("utf8"),
        "-o",
        out.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).expect("out");
    let mut relations = BTreeSet::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        let (a, b) = (v["a"].as_str().expect("a"), v["b"].as_str().expect("b"));
        let story = |id: &str| id.split('/').next().unwrap_or("").to_string();
        assert_eq!(story(a), story(b), "reuse across stories: {a} {b}");
        assert!(
            !a.ends_with("follow-up.txt") && !b.ends_with("follow-up.txt"),
            "{a} {b}"
        );
        relations.insert(v["relation"].as_str().expect("relation").to_string());
    }
    assert!(text.lines().count() >= 24, "{text}");
    assert!(
        relations.contains("exact") && relations.contains("near"),
        "{relations:?}"
    );

    // A footer in 60 documents is boilerplate, not 1,770 pairs of reuse.
    let corpus = generate(&CorpusConfig {
        originals: 60,
        copied_fraction: 0.0,
        ..Default::default()
    });
    let footer = "Follow us on the usual networks and sign up to our daily newsletter for the news that matters most to you and your family every morning";
    let docs: Vec<(String, String)> = corpus
        .docs
        .iter()
        .map(|(id, t)| (id.clone(), format!("{t} {footer}")))
        .collect();
    let input = dir.path().join("site.jsonl");
    write_jsonl(&input, &docs);
    let bp = dir.path().join("boilerplate.jsonl");
    let o = run(&[
        "reuse",
        input.to_str().expect("utf8"),
        "--boilerplate",
        bp.to_str().expect("utf8"),
        "--boilerplate-docs",
        "20",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let bp = std::fs::read_to_string(&bp).expect("boilerplate");
    assert!(
        bp.contains("sign up to our daily newsletter") && bp.contains("\"documents\":60"),
        "{bp}"
    );
}

#[test]
fn compare_reports_relation_and_containment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let news = repo().join("examples/news/museum-theft/original.txt");
    let article = std::fs::read_to_string(&news).expect("article");
    // A round-up quoting the article whole inside three times as much other text.
    let corpus = generate(&CorpusConfig {
        originals: 3,
        words: (200, 201),
        copied_fraction: 0.0,
        ..Default::default()
    });
    let roundup = format!("{}\n\n{article}\n\n{}", corpus.docs[0].1, corpus.docs[1].1);
    let path = dir.path().join("roundup.txt");
    std::fs::write(&path, roundup).expect("write");
    let o = bin()
        .args(["compare", "--json"])
        .arg(&path)
        .arg(&news)
        .output()
        .expect("compare");
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["relation"], "contains", "{v}");
    assert!(
        v["containment_b_in_a"].as_f64().unwrap_or(0.0) > 0.95,
        "{v}"
    );
    assert!(v["jaccard"].as_f64().unwrap_or(1.0) < 0.4, "{v}");
}

/// Render `page` in headless Chromium: its DOM after load, and a screenshot.
fn render_in_chromium(
    browser: &Path,
    page: &Path,
    dir: &Path,
) -> (String, png::Reader<std::fs::File>) {
    let url = format!("file://{}", page.canonicalize().expect("page").display());
    let flags = [
        "--window-size=1400,1800",
        // Let the page's own script run before the DOM is taken.
        "--virtual-time-budget=10000",
    ];
    let profile = format!("--user-data-dir={}", dir.join("profile").display());
    let o = Command::new(browser)
        .args(FLAGS)
        .args(flags)
        .arg(&profile)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium");
    assert!(o.status.success(), "chromium failed: {}", stderr(&o));
    let dom = String::from_utf8_lossy(&o.stdout).into_owned();
    let shot = dir.join("shot.png");
    let o = Command::new(browser)
        .args(FLAGS)
        .args(flags)
        .arg(&profile)
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .expect("chromium");
    assert!(o.status.success(), "chromium failed: {}", stderr(&o));
    let png = png::Decoder::new(std::fs::File::open(&shot).expect("screenshot"))
        .read_info()
        .expect("png");
    (dom, png)
}

/// Pixels of each colour in an RGB(A) screenshot.
fn count_colours(mut png: png::Reader<std::fs::File>, colours: &[[u8; 3]]) -> Vec<usize> {
    let mut buf = vec![0; png.output_buffer_size()];
    let info = png.next_frame(&mut buf).expect("frame");
    let step = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("unexpected screenshot colour type {other:?}"),
    };
    let mut counts = vec![0; colours.len()];
    for px in buf[..info.buffer_size()].chunks_exact(step) {
        for (c, n) in colours.iter().zip(counts.iter_mut()) {
            if px[..3] == c[..] {
                *n += 1;
            }
        }
    }
    counts
}

#[test]
fn html_view_renders_in_a_real_browser() {
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED html_view_renders_in_a_real_browser: chromium is not installed");
        return;
    };
    let (a, b) = match (seed("000"), seed("001")) {
        (Some(a), Some(b)) => (a, b),
        _ => {
            eprintln!(
                "NOTE html_view_renders_in_a_real_browser: ../shared/seeds absent, using examples/news"
            );
            let news = repo().join("examples/news/river-flood");
            (news.join("original.txt"), news.join("update.txt"))
        }
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("page.html");
    let o = bin()
        .arg("align")
        .arg(&a)
        .arg(&b)
        .arg("--html")
        .arg(&page)
        .output()
        .expect("align");
    assert!(o.status.success(), "{}", stderr(&o));
    let (v, ta, _) = align_json(&a, &b);
    let (dom, png) = render_in_chromium(&browser, &page, dir.path());
    // Every shared passage is a highlighted, linked element in the rendered
    // page, holding the passage's text.
    let passages = v["passages"].as_array().expect("passages");
    assert!(!passages.is_empty());
    for (k, p) in passages.iter().enumerate() {
        let id = format!("id=\"a-p{}\" href=\"#b-p{}\"", k + 1, k + 1);
        let at = dom
            .find(&id)
            .unwrap_or_else(|| panic!("passage {} missing from the DOM", k + 1));
        let first_words: String = cut(&ta, &p["a"])
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        let first_words = first_words
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(
            dom[at..].contains(&first_words),
            "passage {} text {first_words:?} not rendered",
            k + 1
        );
        assert!(dom.contains(&format!("id=\"b-p{}\" href=\"#a-p{}\"", k + 1, k + 1)));
    }
    // And the highlight is painted: passage blue and one-side red are on screen.
    let counts = count_colours(png, &[[0xd8, 0xec, 0xff], [0xfd, 0xe8, 0xe8]]);
    assert!(
        counts[0] > 20_000,
        "shared passages are not highlighted: {counts:?}"
    );
    assert!(counts[1] > 2_000, "unshared text is not marked: {counts:?}");
}

/// `dedup INPUT --report` rendered in Chromium.
fn report_in_chromium(
    browser: &Path,
    input: &Path,
    dir: &Path,
) -> (String, png::Reader<std::fs::File>) {
    let page = dir.join("report.html");
    let o = bin()
        .arg("dedup")
        .arg(input)
        .arg("--report")
        .arg(&page)
        .arg("-q")
        .output()
        .expect("dedup");
    assert!(o.status.success(), "{}", stderr(&o));
    render_in_chromium(browser, &page, dir)
}

#[test]
fn report_renders_groups_in_a_real_browser() {
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED report_renders_groups_in_a_real_browser: chromium is not installed");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (input, want_a, want_b) = match (seed("000"), seed("001")) {
        (Some(a), Some(_)) => (a.parent().expect("seeds").to_path_buf(), "000_", "001_"),
        _ => {
            eprintln!(
                "NOTE report_renders_groups_in_a_real_browser: ../shared/seeds absent, using examples/news"
            );
            (
                repo().join("examples/news"),
                "river-flood/original.txt",
                "river-flood/update.txt",
            )
        }
    };
    let (dom, png) = report_in_chromium(&browser, &input, dir.path());
    // The script drew the groups: find the one holding both documents, with
    // their texts side by side and shared passages marked.
    let sections: Vec<&str> = dom.split("<section class=\"group\"").skip(1).collect();
    assert!(!sections.is_empty(), "no group rendered");
    let group = sections
        .iter()
        .find(|s| s.contains(want_a) && s.contains(want_b))
        .unwrap_or_else(|| panic!("no rendered group holds {want_a} and {want_b}"));
    assert!(group.contains("class=\"pair\""), "no side-by-side view");
    assert!(
        group.matches("<mark class=\"passage\"").count() >= 2,
        "no passages marked"
    );
    let counts = count_colours(png, &[[0xd8, 0xec, 0xff], [0x3b, 0x8e, 0xd8]]);
    assert!(
        counts[0] > 10_000 && counts[1] > 500,
        "passages or histograms not painted: {counts:?}"
    );
}

#[test]
fn report_stays_usable_with_100000_groups() {
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED report_stays_usable_with_100000_groups: chromium is not installed");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("many.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&input).expect("create"));
    for i in 0..100_000 {
        for copy in 0..2 {
            writeln!(f, "{{\"id\":\"g{i}-{copy}\",\"text\":\"notice {i} of the register: item {i} is filed under {i} and kept\"}}").expect("write");
        }
    }
    drop(f);
    let (dom, _) = report_in_chromium(&browser, &input, dir.path());
    assert!(
        dom.contains("page 1 of 5000 (100000 groups)"),
        "pager missing"
    );
    // One page of groups in the document, not a hundred thousand.
    assert_eq!(dom.matches("<section class=\"group\"").count(), 20);
}

#[test]
fn eval_scores_a_run_and_names_its_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clusters = dir.path().join("c.jsonl");
    let news = repo().join("examples/news");
    let truth = repo().join("examples/news-truth.jsonl");
    let o = run(&[
        "dedup",
        news.to_str().expect("utf8"),
        "--clusters",
        clusters.to_str().expect("utf8"),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let eval = |pred: &Path| {
        let o = bin()
            .args(["eval", "--json", "--truth"])
            .arg(&truth)
            .arg("--pred")
            .arg(pred)
            .arg("--docs")
            .arg(&news)
            .output()
            .expect("eval");
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).expect("json")
    };
    let v = eval(&clusters);
    assert_eq!(v["pairs"]["f1"], 1.0, "{v}");
    assert_eq!(v["adjusted_rand_index"], 1.0, "{v}");
    // Merge a hard negative into its story's group: eval must see it.
    let text = std::fs::read_to_string(&clusters).expect("clusters");
    let wrong = text.replacen(
        "{\"id\":\"harbour-bridge/original.txt\",\"similarity\":1.0,\"relation\":\"exact\"}",
        "{\"id\":\"harbour-bridge/original.txt\",\"similarity\":1.0,\"relation\":\"exact\"},{\"id\":\"harbour-bridge/follow-up.txt\",\"similarity\":0.01,\"relation\":\"near\"}",
        1,
    );
    assert_ne!(wrong, text);
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, wrong).expect("write");
    let v = eval(&bad);
    assert!(v["pairs"]["precision"].as_f64().unwrap_or(1.0) < 1.0, "{v}");
    assert_eq!(v["false_merges"].as_array().map(Vec::len), Some(1), "{v}");
    assert!(
        v["false_merges"][0]["b"] == "harbour-bridge/follow-up.txt",
        "{v}"
    );

    let o = run(&[
        "eval",
        "--truth",
        bad.to_str().expect("utf8"),
        "--pred",
        bad.to_str().expect("utf8"),
    ]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "a clusters file is not a truth file: {}",
        stderr(&o)
    );
}

#[test]
fn tune_recommends_a_setting_and_plots_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plot = dir.path().join("tune.svg");
    let o = bin()
        .arg("tune")
        .arg(repo().join("examples/news"))
        .arg("--truth")
        .arg(repo().join("examples/news-truth.jsonl"))
        .args([
            "--ngrams",
            "5",
            "--thresholds",
            "0.2,0.4,0.6,0.8",
            "--json",
            "--plot",
        ])
        .arg(&plot)
        .output()
        .expect("tune");
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["settings"].as_array().map(Vec::len), Some(4));
    // F1 falls at high thresholds, where later edits are no longer grouped.
    assert!(
        v["settings"][3]["recall"].as_f64().unwrap_or(1.0) < 0.5,
        "{v}"
    );
    assert_eq!(v["recommended"]["f1"], 1.0, "{v}");
    let t = v["recommended"]["threshold"].as_f64().unwrap_or(0.0);
    assert!((0.2..=0.4).contains(&t), "{v}");
    let svg = std::fs::read_to_string(&plot).expect("plot");
    assert!(
        svg.starts_with("<svg") && svg.contains("recall"),
        "not an SVG plot"
    );
}

#[test]
fn index_remembers_documents_between_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = dir.path().join("news.redb");
    let news = repo().join("examples/news");
    let ix = index.to_str().expect("utf8");
    let o = run(&["index", "create", ix, "--store-text"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["index", "create", ix]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "create must not overwrite: {}",
        stderr(&o)
    );
    // The library says what is wrong; the command line, what to do.
    assert!(
        stderr(&o).contains("already exists") && stderr(&o).contains("choose another path"),
        "{}",
        stderr(&o)
    );

    // Yesterday's stories are stored ...
    let o = bin()
        .args(["index", "add", ix])
        .arg(news.join("harbour-bridge"))
        .output()
        .expect("add");
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().all(|l| l["stored"] == true));
    let repost = lines
        .iter()
        .find(|l| l["id"] == "repost.txt")
        .expect("repost");
    assert_eq!(
        repost["matches"][0]["id"], "original.txt",
        "checked against what came before it"
    );

    // ... and today's copies are recognised, while other stories are not.
    let o = bin()
        .args(["index", "query", ix])
        .arg(news.join("harbour-bridge/update.txt"))
        .arg(news.join("river-flood/original.txt"))
        .output()
        .expect("query");
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = json_lines(&o);
    assert!(
        lines[0]["matches"]
            .as_array()
            .is_some_and(|m| m.iter().any(|x| x["id"] == "original.txt")),
        "{:?}",
        lines[0]
    );
    assert_eq!(lines[1]["matches"].as_array().map(Vec::len), Some(0));
    assert!(lines.iter().all(|l| l["stored"] == false));

    // dedup --against keeps only what the index does not hold.
    let out = dir.path().join("new");
    let o = bin()
        .arg("dedup")
        .arg(&news)
        .args(["--against", ix, "-o"])
        .arg(&out)
        .output()
        .expect("dedup");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !out.join("harbour-bridge").exists(),
        "stored stories are not new"
    );
    assert!(out.join("river-flood/original.txt").is_file());

    // Other settings than the index's own are refused.
    let o = bin()
        .args(["index", "query", ix, "--threshold", "0.8", "--ngram", "3"])
        .arg(&news)
        .output()
        .expect("query");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("threshold 0.8 (the index has 0.4), n-gram size 3 (the index has 5)"),
        "{}",
        stderr(&o)
    );

    // remove, stats, and a file that is not an index.
    let o = run(&["index", "remove", ix, "original.txt", "no-such-id"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("\"no-such-id\" is not in the index"));
    let o = run(&["index", "stats", ix]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["documents"], 4);
    assert_eq!(v["spec"]["fingerprint"]["normalization"], "norm-v1");
    let not_index = dir.path().join("x.redb");
    std::fs::write(&not_index, "not a database").expect("write");
    let o = run(&["index", "stats", not_index.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not a lookalike index"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn keep_policies_pick_by_length() {
    let dir = tempfile::tempdir().expect("tempdir");
    let news = repo().join("examples/news");
    for (policy, pick) in [("longest", true), ("shortest", false)] {
        let clusters = dir.path().join(format!("{policy}.jsonl"));
        let o = bin()
            .arg("dedup")
            .arg(&news)
            .args(["--keep", policy, "-q", "--clusters"])
            .arg(&clusters)
            .output()
            .expect("dedup");
        assert!(o.status.success(), "{}", stderr(&o));
        for line in std::fs::read_to_string(&clusters)
            .expect("clusters")
            .lines()
        {
            let v: serde_json::Value = serde_json::from_str(line).expect("json");
            let len = |id: &str| std::fs::metadata(news.join(id)).expect("member").len();
            let kept = len(v["kept"].as_str().expect("kept"));
            let lens: Vec<u64> = v["members"]
                .as_array()
                .expect("members")
                .iter()
                .map(|m| len(m["id"].as_str().expect("id")))
                .collect();
            let want = if pick {
                lens.iter().max()
            } else {
                lens.iter().min()
            };
            assert_eq!(Some(&kept), want, "{policy}: {line}");
        }
    }
}

#[test]
fn damaged_compressed_input_and_null_parquet_text_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gz = dir.path().join("broken.jsonl.gz");
    std::fs::write(&gz, b"\x1f\x8b\x08\x00this is not gzip data at all").expect("write");
    let o = run(&["dedup", gz.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("broken.jsonl.gz"), "{}", stderr(&o));

    use arrow_array::{RecordBatch, StringArray};
    use std::sync::Arc;
    let pq = dir.path().join("nulls.parquet");
    let batch = RecordBatch::try_from_iter([(
        "text",
        Arc::new(StringArray::from(vec![
            Some("a text of several words here"),
            None,
            Some("another text of words"),
        ])) as _,
    )])
    .expect("batch");
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&pq).expect("create"),
        batch.schema(),
        None,
    )
    .expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    let o = run(&["dedup", pq.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("nulls.parquet row 1: column \"text\" is null"),
        "{}",
        stderr(&o)
    );
    let o = run(&["dedup", pq.to_str().expect("utf8"), "--skip-invalid"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("2 documents"), "{}", stderr(&o));
}

fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

/// A file of an older format is upgraded the first time a command opens
/// it, and the user is told so once; it then verifies and answers.
#[test]
fn an_old_index_is_upgraded_and_the_user_told() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.redb");
    std::fs::copy(
        repo().join("crates/lookalike/tests/fixtures/index-v3.redb"),
        &path,
    )
    .expect("copy fixture");
    let p = path.to_str().expect("utf-8 path");
    let first = run(&["index", "verify", p]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("upgraded")
            && stderr(&first).contains(&format!(
                "from index format 3 to {}",
                lookalike::index::FORMAT_VERSION
            )),
        "{}",
        stderr(&first)
    );
    assert!(stderr(&first).contains("consistent (6 documents)"));
    let again = run(&["index", "stats", p]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(!stderr(&again).contains("upgraded"), "{}", stderr(&again));
    let stats: serde_json::Value = serde_json::from_slice(&again.stdout).expect("stats JSON");
    assert_eq!(stats["format"], lookalike::index::FORMAT_VERSION);
    let update = repo().join("examples/news/harbour-bridge/update.txt");
    let q = run(&["index", "query", p, update.to_str().expect("utf-8 path")]);
    assert!(q.status.success(), "{}", stderr(&q));
    assert!(String::from_utf8_lossy(&q.stdout).contains("\"id\":\"original.txt\""));
}

#[test]
fn index_news_mode_windows_prunes_and_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ix = dir.path().join("news.redb");
    let ix = ix.to_str().expect("utf8");
    assert!(run(&["index", "create", ix]).status.success());
    let story = std::fs::read_to_string(repo().join("examples/news/harbour-bridge/original.txt"))
        .expect("example");
    let stored = dir.path().join("stored.jsonl");
    std::fs::write(
        &stored,
        [
            serde_json::json!({"id": "march", "text": story, "source": "wire", "timestamp": "2026-03-01T08:00:00Z"}),
            serde_json::json!({"id": "may", "text": story, "timestamp": "2026-05-01"}),
            serde_json::json!({"id": "undated", "text": story}),
        ]
        .iter()
        .map(|v| v.to_string() + "\n")
        .collect::<String>(),
    )
    .expect("write");
    let o = run(&["index", "add", ix, stored.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = json_lines(&o);
    assert_eq!(
        lines[1]["matches"][0]["source"], "wire",
        "metadata is stored"
    );

    let query = dir.path().join("q.jsonl");
    std::fs::write(
        &query,
        serde_json::json!({"id": "new", "text": story, "timestamp": 1_778_000_000}).to_string(),
    )
    .expect("write");
    let matched = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["index", "query", ix, query.to_str().expect("utf8")];
        args.extend(extra);
        let o = run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let mut ids: Vec<String> = json_lines(&o)[0]["matches"]
            .as_array()
            .expect("matches")
            .iter()
            .map(|m| m["id"].as_str().unwrap_or_default().to_string())
            .collect();
        ids.sort();
        ids
    };
    // 1_778_000_000 is 2026-05-05: May is inside a week, March is not.
    assert_eq!(matched(&[]), ["march", "may", "undated"]);
    assert_eq!(matched(&["--window", "7d"]), ["may", "undated"]);
    assert_eq!(matched(&["--window", "1w"]), ["may", "undated"]);
    assert_eq!(matched(&["--window", "100d"]), ["march", "may", "undated"]);
    let o = run(&[
        "index",
        "query",
        ix,
        "--window",
        "soon",
        query.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "a bad span is a usage error");
    assert!(stderr(&o).contains("not a span"), "{}", stderr(&o));

    let o = run(&["index", "prune", ix, "--before", "2026-04-01"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("removed 1 documents"), "{}", stderr(&o));
    assert_eq!(matched(&[]), ["may", "undated"]);
    let o = run(&["index", "verify", ix]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("consistent (2 documents)"),
        "{}",
        stderr(&o)
    );

    // A timestamp that is not one names the file, the line and the field, and stores nothing.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"id\": \"ok\", \"text\": \"fine words here\"}\n{\"id\": \"b\", \"text\": \"x\", \"timestamp\": \"last tuesday\"}\n",
    )
    .expect("write");
    let o = run(&["index", "add", ix, bad.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("bad.jsonl:2: field \"timestamp\""),
        "{}",
        stderr(&o)
    );
    let o = run(&["index", "stats", ix]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["documents"], 2, "nothing of the failed input was stored");
}

/// An index at `path` (created with `flags`) holding `examples/news`.
fn news_index(path: &str, flags: &[&str]) {
    let o = bin()
        .args(["index", "create", path])
        .args(flags)
        .output()
        .expect("create");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = bin()
        .args(["index", "add", path])
        .arg(repo().join("examples/news"))
        .output()
        .expect("add");
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `index backup` makes a copy that verifies and answers as the original,
/// and never overwrites a file.
#[test]
fn index_backup_copies_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ix = dir.path().join("news.redb");
    let copy = dir.path().join("copy.redb");
    let (ix_s, copy_s) = (ix.to_str().expect("utf8"), copy.to_str().expect("utf8"));
    news_index(ix_s, &[]);
    let o = run(&["index", "backup", ix_s, copy_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("copied"), "{}", stderr(&o));
    let o = run(&["index", "verify", copy_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stats = |p: &str| {
        let o = run(&["index", "stats", p]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        v["documents"].clone()
    };
    assert_eq!(stats(ix_s), stats(copy_s));
    let o = run(&["index", "backup", ix_s, copy_s]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    // A backup leaves an old format as it is: refused, not upgraded first.
    let old = dir.path().join("old.redb");
    let fixture = repo().join("crates/lookalike/tests/fixtures/index-v3.redb");
    std::fs::copy(&fixture, &old).expect("copy fixture");
    let old_s = old.to_str().expect("utf8");
    let o = run(&[
        "index",
        "backup",
        old_s,
        dir.path().join("old-copy.redb").to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("format version 3"), "{}", stderr(&o));
    // Still format 3: the next open upgrades it, and says so.
    let o = run(&["index", "verify", old_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("from index format 3"), "{}", stderr(&o));
}

/// `index salvage` copies a sound index whole, reports as JSON, never
/// overwrites, and says plainly when a file holds nothing to salvage.
#[test]
fn index_salvage_copies_and_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ix = dir.path().join("news.redb");
    let copy = dir.path().join("copy.redb");
    let (ix_s, copy_s) = (ix.to_str().expect("utf8"), copy.to_str().expect("utf8"));
    news_index(ix_s, &["--store-text"]);
    let o = run(&["index", "salvage", ix_s, copy_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let stats = |p: &str| {
        let o = run(&["index", "stats", p]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        v["documents"].clone()
    };
    assert_eq!(report["copied"], stats(ix_s));
    assert_eq!(report["lost"], serde_json::json!([]));
    assert_eq!(report["checked_by_text"], true);
    assert!(run(&["index", "verify", copy_s]).status.success());
    let o = run(&["index", "salvage", ix_s, copy_s]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    // Not a database at all: nothing to salvage, and no file left behind.
    let junk = dir.path().join("junk.redb");
    std::fs::write(&junk, vec![7u8; 64 * 1024]).expect("write");
    let out = dir.path().join("out.redb");
    let o = run(&[
        "index",
        "salvage",
        junk.to_str().expect("utf8"),
        out.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("beyond salvage"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("index salvage PATH"), "{}", stderr(&o));
    assert!(!out.exists());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".lookalike"))
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}

/// `index create --judge story` fixes the story judgment in the index: it
/// says so, `index stats` shows it, and the news examples' versions still
/// find each other through it.
#[test]
fn index_create_judge_story_is_kept_in_the_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ix = dir.path().join("story.redb");
    let ix_s = ix.to_str().expect("utf8");
    let o = run(&["index", "create", ix_s, "--judge", "story"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("judging stories"), "{}", stderr(&o));
    let o = bin()
        .args(["index", "add", ix_s])
        .arg(repo().join("examples/news"))
        .output()
        .expect("add");
    assert!(o.status.success(), "{}", stderr(&o));
    let answers: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let found = answers
        .iter()
        .filter(|a| a["matches"].as_array().is_some_and(|m| !m.is_empty()))
        .count();
    assert!(found >= 8, "{found} documents found an earlier version");
    let o = run(&["index", "stats", ix_s]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["spec"]["judge"]["template_documents"], 5);
    assert!(run(&["index", "verify", ix_s]).status.success());
}
