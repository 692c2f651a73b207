//! The index's own tests: adding, querying, removing, reopening, damage
//! to its metadata, and batches against one document at a time.

use super::write::unix_now;
use super::*;
use crate::verify::jaccard;

const ADD: CheckOptions = CheckOptions {
    store: true,
    window: None,
};
const QUERY: CheckOptions = CheckOptions {
    store: false,
    window: None,
};

fn doc(id: &str, text: &str) -> NewDoc {
    NewDoc {
        id: id.into(),
        text: text.into(),
        ..Default::default()
    }
}

#[test]
fn add_query_remove_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("i.redb");
    let spec = IndexSpec::new(&Fingerprinter::default(), 0.4, true).expect("spec");
    let a = "the harbour bridge will close for six weeks from monday while engineers replace the cables";
    let b = "The harbour bridge would close for six weeks from Monday while engineers replace the cables.";
    let c =
        "shares in the shipping company rose after profits doubled in the first half of the year";
    {
        let index = Index::create(&path, spec.clone()).expect("create");
        let r = index
            .check_batch(&[doc("a", a), doc("c", c)], &ADD)
            .expect("add");
        assert!(r.iter().all(|x| x.stored && x.matches.is_empty()));
        let r = index.check_batch(&[doc("b", b)], &QUERY).expect("query");
        assert_eq!(
            r[0].matches
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>(),
            ["a"]
        );
        assert!(!r[0].stored);
        // A query stores nothing.
        assert_eq!(index.stats().expect("stats").documents, 2);
        // Adding an id twice stores it once.
        let r = index.check_batch(&[doc("a", a)], &ADD).expect("add");
        assert!(!r[0].stored && r[0].matches[0].relation == Relation::Exact);
    }
    let index = Index::open(&path).expect("reopen");
    assert_eq!(index.spec(), &spec);
    assert_eq!(
        index.get("a").expect("get").and_then(|d| d.text).as_deref(),
        Some(a)
    );
    assert_eq!(
        index.remove(&["a".into(), "zzz".into()]).expect("remove"),
        [true, false]
    );
    let r = index.check_batch(&[doc("b", b)], &QUERY).expect("query");
    assert!(
        r[0].matches.is_empty(),
        "removed documents leave no bucket behind"
    );
    // Other settings are refused.
    let other = IndexSpec::new(&Fingerprinter::default(), 0.8, true).expect("spec");
    assert!(index.check_spec(&other).is_err());
    assert!(index.verify().expect("verify").is_empty());
    assert!(
        Index::create(&path, spec).is_err(),
        "create never overwrites"
    );
}

/// A backup made while another thread keeps adding is a consistent
/// index: it verifies, holds a prefix of the additions (whole batches),
/// answers as the original did for what it holds, and never overwrites.
#[test]
fn backup_is_consistent_while_writers_go_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("live.redb");
    let spec = IndexSpec::new(&Fingerprinter::default(), 0.4, true).expect("spec");
    let index = Index::create(&path, spec).expect("create");
    let text = |i: usize| {
        format!(
            "report {i} from the valley desk on river levels in district {} and the \
             council's plan number {} for the flood defences this winter",
            i * 7,
            i * 13
        )
    };
    let batch = |b: usize| -> Vec<NewDoc> {
        (0..20)
            .map(|k| doc(&format!("d{}", b * 20 + k), &text(b * 20 + k)))
            .collect()
    };
    index.check_batch(&batch(0), &ADD).expect("add");
    let copies: Vec<(PathBuf, u64)> = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            for b in 1..30 {
                index.check_batch(&batch(b), &ADD).expect("add");
            }
        });
        let copies = (0..3)
            .map(|k| {
                let dest = dir.path().join(format!("copy-{k}.redb"));
                let n = index.backup(&dest).expect("backup");
                (dest, n)
            })
            .collect();
        writer.join().expect("writer");
        copies
    });
    for (dest, n) in &copies {
        assert!(*n >= 20 && n % 20 == 0, "{n}: whole batches only");
        let copy = Index::open(dest).expect("the copy opens");
        assert!(copy.verify().expect("verify").is_empty());
        assert_eq!(copy.stats().expect("stats").documents, *n);
        let probe = doc("probe", &text(3));
        let (a, b) = (
            index
                .check_batch(std::slice::from_ref(&probe), &QUERY)
                .expect("q"),
            copy.check_batch(std::slice::from_ref(&probe), &QUERY)
                .expect("q"),
        );
        assert_eq!(a[0].matches, b[0].matches);
    }
    let e = index.backup(&copies[0].0).expect_err("never overwrites");
    assert_eq!(e.index_problem(), Some(IndexProblem::Exists));
    let nowhere = dir.path().join("no-such-dir/copy.redb");
    let e = index.backup(&nowhere).expect_err("no directory");
    assert_eq!(e.index_problem(), Some(IndexProblem::Storage), "{e}");
    assert!(e.to_string().contains("no-such-dir"), "{e}");
    // Only the copies are left beside the index: no temporary file.
    let left = std::fs::read_dir(dir.path()).expect("dir").count();
    assert_eq!(left, 1 + copies.len(), "no temporary file left");
}

/// `recent` pages through documents newest first, skipping removed
/// ones, and its pages put together are the order of arrival reversed.
#[test]
fn recent_pages_newest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("i.redb");
    let spec = IndexSpec::new(&Fingerprinter::default(), 0.4, false).expect("spec");
    let index = Index::create(&path, spec).expect("create");
    let ids: Vec<String> = (0..23).map(|i| format!("d{i}")).collect();
    for chunk in ids.chunks(5) {
        let batch: Vec<NewDoc> = chunk
            .iter()
            .map(|id| {
                doc(
                    id,
                    &format!("story {id} about the harbour bridge and its cables"),
                )
            })
            .collect();
        index.check_batch(&batch, &ADD).expect("add");
    }
    index.remove(&["d7".into(), "d22".into()]).expect("remove");
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).rev().collect();
    expected.retain(|id| *id != "d7" && *id != "d22");
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = index.recent(4, before).expect("recent");
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 4);
        before = page.last().map(|(n, _)| *n);
        seen.extend(page.into_iter().map(|(_, d)| d.id));
    }
    assert_eq!(seen, expected);
    assert!(index.recent(0, None).expect("recent").is_empty());
}

/// Short sets keep each hash's top 32 bits, sorted and deduplicated,
/// and compare as the full sets do (up to rare collisions).
#[test]
fn short_shingle_sets_compare_as_the_full_ones() {
    use crate::synth::{Rng, Vocabulary};
    let vocab = Vocabulary::new(2_000, 3);
    let mut rng = Rng::new(5);
    let fp = Fingerprinter::default();
    for _ in 0..50 {
        let a = vocab.document(&mut rng, 200);
        let b = vocab.edit(&mut rng, &a, 0.05);
        let (fa, fb) = (fp.fingerprint(&a.join(" ")), fp.fingerprint(&b.join(" ")));
        let (sa, sb) = (
            short_shingles(&fa.shingles.hashes),
            short_shingles(&fb.shingles.hashes),
        );
        assert!(sa.windows(2).all(|w| w[0] < w[1]));
        assert!(sa.iter().all(|&x| {
            fa.shingles
                .hashes
                .binary_search_by_key(&x, |&h| (h >> 32) as u32)
                .is_ok()
        }));
        let full = jaccard(&fa.shingles.hashes, &fb.shingles.hashes);
        assert!((jaccard(&sa, &sb) - full).abs() < 1e-3, "{full}");
    }
    // Hashes sharing their top bits become one.
    assert_eq!(short_shingles(&[1, 2, 5 << 32, (5 << 32) | 9]), vec![0, 5]);
}

/// A record round-trips, its shingles packed 4 bytes each, and a packed
/// list cut mid-number is an error, not a panic.
#[test]
fn records_pack_shingles_in_four_bytes() {
    let rec = StoredDoc {
        id: "a".into(),
        exact: [7; 16],
        shingles: vec![1, u32::MAX, 0x8000_0000],
        source: Some("wire".into()),
        timestamp: Some(-5),
        text: None,
    };
    let bytes = postcard::to_allocvec(&rec).expect("encode");
    let back: StoredDoc = postcard::from_bytes(&bytes).expect("decode");
    assert_eq!(back, rec);
    let mut bare = rec.clone();
    bare.shingles.clear();
    let grown = bytes.len() - postcard::to_allocvec(&bare).expect("encode").len();
    assert_eq!(grown, 12);
    // The length byte of the packed list (after the id and the hash)
    // says 11: not a whole number of u32s.
    let mut cut = bytes.clone();
    assert_eq!(cut[2 + 16], 12);
    cut[2 + 16] = 11;
    assert!(postcard::from_bytes::<StoredDoc>(&cut).is_err());
}

/// Metadata or band keys that are missing or the wrong size are damage,
/// reported as such, never read as zeros or cut short.
#[test]
fn damaged_metadata_and_keys_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = IndexSpec::new(&Fingerprinter::default(), 0.4, false).expect("spec");
    let text = "the harbour bridge will close for six weeks from monday while engineers work";
    let damaged = |name: &str, harm: &dyn Fn(&redb::WriteTransaction)| {
        let path = dir.path().join(name);
        {
            let index = Index::create(&path, spec.clone()).expect("create");
            index.check_batch(&[doc("a", text)], &ADD).expect("add");
        }
        let db = Database::open(&path).expect("db");
        let tx = db.begin_write().expect("tx");
        harm(&tx);
        tx.commit().expect("commit");
        drop(db);
        path
    };
    let no_next = damaged("no-next.redb", &|tx| {
        tx.open_table(META)
            .expect("meta")
            .remove("next")
            .expect("remove");
    });
    let e = Index::open(&no_next).expect_err("no counter");
    assert!(e.to_string().contains("damaged: no \"next\" entry"), "{e}");
    let low_next = damaged("low-next.redb", &|tx| {
        let mut meta = tx.open_table(META).expect("meta");
        meta.insert("next", 0u64.to_le_bytes().as_slice())
            .expect("insert");
    });
    let e = Index::open(&low_next).expect_err("a counter at a stored number");
    assert!(
        e.to_string()
            .contains("document 0 is stored but the next number is 0"),
        "{e}"
    );
    let short_next = damaged("short-next.redb", &|tx| {
        let mut meta = tx.open_table(META).expect("meta");
        meta.insert("next", [1u8, 0, 0].as_slice()).expect("insert");
    });
    let e = Index::open(&short_next).expect_err("short counter");
    assert!(e.to_string().contains("3 bytes, not 8"), "{e}");
    let short_keys = damaged("short-keys.redb", &|tx| {
        let mut bands = tx.open_table(BANDS).expect("bands");
        bands.insert(0u64, [0u8; 12].as_slice()).expect("insert");
    });
    let e = Index::open(&short_keys).expect_err("short keys");
    assert!(e.to_string().contains("12 bytes of band keys"), "{e}");
}

#[test]
fn refuses_files_that_are_not_indexes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("not.redb");
    std::fs::write(&path, b"hello").expect("write");
    let e = Index::open(&path)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("not a lookalike index"), "{e}");
    assert!(Index::open(&dir.path().join("missing")).is_err());
}

fn dated(id: &str, text: &str, t: i64) -> NewDoc {
    NewDoc {
        timestamp: Some(t),
        source: Some("wire".into()),
        ..doc(id, text)
    }
}

#[test]
fn window_and_prune_follow_timestamps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("i.redb");
    let spec = IndexSpec::new(&Fingerprinter::default(), 0.4, false).expect("spec");
    let index = Index::create(&path, spec).expect("create");
    let story = "the harbour bridge will close for six weeks from monday while engineers replace the cables";
    let day = 86_400;
    index
        .check_batch(
            &[
                dated("old", story, 0),
                dated("recent", story, 9 * day),
                doc("undated", story),
            ],
            &ADD,
        )
        .expect("add");
    let ids = |window: Option<i64>| -> Vec<String> {
        let opts = CheckOptions {
            store: false,
            window,
        };
        index
            .check_batch(&[dated("new", story, 10 * day)], &opts)
            .expect("query")[0]
            .matches
            .iter()
            .map(|m| m.id.clone())
            .collect()
    };
    assert_eq!(ids(None), ["old", "recent", "undated"]);
    assert_eq!(
        ids(Some(7 * day)),
        ["recent", "undated"],
        "old is outside 7 days"
    );
    assert_eq!(
        ids(Some(10 * day)),
        ["old", "recent", "undated"],
        "the edge is inside"
    );
    let stats = index.stats().expect("stats");
    assert_eq!(
        (stats.dated, stats.oldest, stats.newest),
        (2, Some(0), Some(9 * day))
    );
    assert_eq!(index.prune(9 * day).expect("prune"), 1);
    assert!(index.get("old").expect("get").is_none());
    assert!(
        index.get("undated").expect("get").is_some(),
        "undated stays"
    );
    assert_eq!(ids(None), ["recent", "undated"]);
    assert!(index.verify().expect("verify").is_empty());
    let m = &index
        .check_batch(&[doc("q", story)], &QUERY)
        .expect("query")[0]
        .matches;
    assert_eq!(m[0].source.as_deref(), Some("wire"), "metadata comes back");
}

/// A stream with copies, exact repeats, reused ids and timestamps, added
/// in batches of many sizes: every answer is the one the same stream gets
/// one document per batch (where every match goes through the stored
/// buckets, none through a batch's own), and every earlier stored
/// document well above the threshold is found.
#[test]
fn batches_answer_as_one_document_at_a_time() {
    use crate::synth::{Rng, Vocabulary};
    let vocab = Vocabulary::new(3_000, 7);
    let mut rng = Rng::new(11);
    let day = 86_400;
    let mut stream: Vec<NewDoc> = Vec::new();
    for n in 0..240 {
        let timestamp = (rng.unit() < 0.8).then(|| rng.below(30) as i64 * day);
        let words = if n > 0 && rng.unit() < 0.6 {
            // Often a recent one, so batches hold pairs of their own.
            let back = if rng.unit() < 0.5 { n.min(10) } else { n };
            let src = &stream[n - 1 - rng.below(back as u64) as usize];
            let words: Vec<String> = src.text.split(' ').map(String::from).collect();
            let rate = [0.0, 0.02, 0.1, 0.3][rng.below(4) as usize];
            vocab.edit(&mut rng, &words, rate)
        } else {
            let len = 40 + rng.below(80) as usize;
            vocab.document(&mut rng, len)
        };
        // Now and then an id already used: checked, not stored again.
        let id = if n > 0 && rng.unit() < 0.1 {
            stream[rng.below(n as u64) as usize].id.clone()
        } else {
            format!("d{n}")
        };
        stream.push(NewDoc {
            id,
            text: words.join(" "),
            source: None,
            timestamp,
        });
    }
    let fp = Fingerprinter::default();
    for window in [None, Some(5 * day)] {
        let opts = CheckOptions {
            store: true,
            window,
        };
        let run = |sizes: &mut dyn FnMut() -> usize| -> Vec<Checked> {
            let dir = tempfile::tempdir().expect("tempdir");
            let spec = IndexSpec::new(&fp, 0.4, false).expect("spec");
            let index = Index::create(&dir.path().join("i.redb"), spec).expect("create");
            let mut out = Vec::new();
            let mut at = 0;
            while at < stream.len() {
                let end = (at + sizes()).min(stream.len());
                out.extend(index.check_batch(&stream[at..end], &opts).expect("add"));
                at = end;
            }
            assert!(index.verify().expect("verify").is_empty());
            out
        };
        let mut size_rng = Rng::new(5);
        let batched = run(&mut || 1 + size_rng.below(60) as usize);
        let single = run(&mut || 1);
        assert_eq!(batched.len(), single.len());
        for (i, (b, one)) in batched.iter().zip(&single).enumerate() {
            assert_eq!(b, one, "document {i}, window {window:?}");
        }
        // Completeness: every stored earlier document in the window at
        // Jaccard >= 0.6 is among the matches (LSH misses such a pair
        // with probability (1 - 0.6^2)^64, about 1e-12).
        let prints: Vec<_> = stream.iter().map(|d| fp.fingerprint(&d.text)).collect();
        let mut stored: Vec<usize> = Vec::new();
        for (i, r) in batched.iter().enumerate() {
            for &j in &stored {
                let sim = jaccard(&prints[i].shingles.hashes, &prints[j].shingles.hashes);
                let oldest = window.map(|w| stream[i].timestamp.unwrap_or_else(unix_now) - w);
                let in_window = match (oldest, stream[j].timestamp) {
                    (Some(o), Some(t)) => t >= o,
                    _ => true,
                };
                if in_window && sim >= 0.6 {
                    assert!(
                        r.matches.iter().any(|m| m.id == stream[j].id),
                        "document {i} misses stored {j} at {sim:.2}"
                    );
                }
            }
            if r.stored {
                stored.push(i);
            }
        }
        // The stream is not trivial: many documents have matches (71
        // without the window and 49 with it, for these seeds).
        let with_matches = batched.iter().filter(|r| !r.matches.is_empty()).count();
        assert!(with_matches > 40, "{with_matches}");
    }
}

/// Writers racing: every two stored documents well above the threshold
/// are matched exactly once, by whichever was stored second, whatever
/// was committed between a batch's early lookups and its turn.
#[test]
fn concurrent_batches_match_each_pair_once() {
    use crate::synth::{Rng, Vocabulary};
    let vocab = Vocabulary::new(3_000, 3);
    let mut rng = Rng::new(17);
    let bases: Vec<Vec<String>> = (0..40).map(|_| vocab.document(&mut rng, 80)).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let fp = Fingerprinter::default();
    let spec = IndexSpec::new(&fp, 0.4, false).expect("spec");
    let index = Index::create(&dir.path().join("i.redb"), spec).expect("create");
    // Merges every few batches, on the merge thread, during the race.
    index.buckets.write().expect("lock").floor = 2_000;
    let results: Vec<(NewDoc, Checked)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let (index, vocab, bases) = (&index, &vocab, &bases);
                scope.spawn(move || {
                    let mut rng = Rng::new(100 + t);
                    let mut out = Vec::new();
                    for b in 0..25 {
                        let size = 8 + rng.below(12) as usize;
                        let batch: Vec<NewDoc> = (0..size)
                            .map(|i| {
                                let base = &bases[rng.below(bases.len() as u64) as usize];
                                let rate = [0.0, 0.01, 0.03][rng.below(3) as usize];
                                doc(
                                    &format!("t{t}-{b}-{i}"),
                                    &vocab.edit(&mut rng, base, rate).join(" "),
                                )
                            })
                            .collect();
                        let r = index.check_batch(&batch, &ADD).expect("add");
                        out.extend(batch.into_iter().zip(r));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    assert!(index.verify().expect("verify").is_empty());
    let prints: Vec<_> = results
        .iter()
        .map(|(d, _)| fp.fingerprint(&d.text))
        .collect();
    let lists = |a: usize, b: usize| {
        results[a]
            .1
            .matches
            .iter()
            .filter(|m| m.id == results[b].0.id)
            .count()
    };
    let mut pairs = 0;
    for a in 0..results.len() {
        assert!(results[a].1.stored);
        for b in a + 1..results.len() {
            let sim = jaccard(&prints[a].shingles.hashes, &prints[b].shingles.hashes);
            if sim >= 0.6 {
                pairs += 1;
                assert_eq!(
                    lists(a, b) + lists(b, a),
                    1,
                    "{} and {} at {sim:.2}",
                    results[a].0.id,
                    results[b].0.id
                );
            }
        }
    }
    assert!(pairs > 1_000, "{pairs}");
}
