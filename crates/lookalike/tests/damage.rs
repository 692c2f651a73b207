//! Damaged index files: copies of a 2,000-document index, each damaged one
//! way (random bytes over 4 KiB at a random place, cut short at a random
//! length, a 4 KiB page zeroed, two pages swapped), then opened, verified,
//! queried and read. Every operation must give a clean error or the answer
//! the undamaged index gives; a panic, or a wrong answer given as if all
//! were well, fails the test. Each copy is also salvaged: a clean error, or
//! a new index that verifies and holds only documents exactly as the
//! undamaged index stored them (all of them when the damage left the
//! answers whole).
//!
//! `LOOKALIKE_DAMAGE_CASES=N` runs N cases (default 500).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use lookalike::IndexProblem;
use lookalike::fingerprint::Fingerprinter;
use lookalike::index::{CheckOptions, Checked, Index, IndexSpec, NewDoc, StoredDoc};
use lookalike::synth::{Rng, Vocabulary};

const DOCUMENTS: usize = 2_000;
const PAGE: usize = 4096;

/// The corpus: documents of 60 words, every tenth an edit of the one
/// before, so queries have matches to find.
fn corpus() -> Vec<NewDoc> {
    let vocab = Vocabulary::new(5_000, 11);
    let mut rng = Rng::new(12);
    let mut docs: Vec<NewDoc> = Vec::with_capacity(DOCUMENTS);
    for i in 0..DOCUMENTS {
        let words = match docs.last() {
            Some(prev) if i % 10 == 9 => {
                let prev: Vec<String> = prev.text.split(' ').map(String::from).collect();
                vocab.edit(&mut rng, &prev, 0.05)
            }
            _ => vocab.document(&mut rng, 60),
        };
        docs.push(NewDoc {
            id: format!("doc-{i}"),
            text: words.join(" "),
            source: Some("wire".into()),
            timestamp: Some(1_700_000_000 + i as i64 * 60),
        });
    }
    docs
}

/// Queries: light edits of stored documents and new texts.
fn queries(docs: &[NewDoc]) -> Vec<NewDoc> {
    let vocab = Vocabulary::new(5_000, 11);
    let mut rng = Rng::new(13);
    (0..24)
        .map(|i| {
            let text = if i % 3 == 2 {
                vocab.document(&mut rng, 60).join(" ")
            } else {
                let base = &docs[(i * 83) % DOCUMENTS].text;
                let words: Vec<String> = base.split(' ').map(String::from).collect();
                vocab.edit(&mut rng, &words, 0.05).join(" ")
            };
            NewDoc {
                id: format!("query-{i}"),
                text,
                ..Default::default()
            }
        })
        .collect()
}

/// Everything the harness asks of an index, as one comparable value.
#[derive(Debug, PartialEq)]
struct Answers {
    matches: Vec<Checked>,
    texts: Vec<Option<String>>,
    documents: u64,
}

/// What one damaged copy did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// An operation returned an error naming the file, of this kind.
    CleanError(Option<lookalike::IndexProblem>),
    /// Every operation succeeded and agreed with the undamaged index.
    Correct,
    /// Every operation succeeded and an answer differed.
    Wrong,
    /// Something panicked.
    Panic,
    /// An error that does not name the file.
    Unnamed,
}

fn ask(path: &Path, queries: &[NewDoc]) -> Result<(Answers, Vec<String>), lookalike::Error> {
    let index = Index::open(path)?;
    let problems = index.verify()?;
    let matches = index.check_batch(queries, &CheckOptions::default())?;
    let texts = (0..DOCUMENTS)
        .step_by(97)
        .map(|i| Ok(index.get(&format!("doc-{i}"))?.and_then(|d| d.text)))
        .collect::<Result<Vec<_>, lookalike::Error>>()?;
    let documents = index.stats()?.documents;
    Ok((
        Answers {
            matches,
            texts,
            documents,
        },
        problems,
    ))
}

/// Salvage `copy` into `dest`: the documents copied, when every one of
/// them is exactly as the undamaged index stored it (under its number) and
/// the new index verifies; a clean error (damaged, not an index) is
/// `CleanError`, anything else a failure.
fn salvaged(
    copy: &Path,
    dest: &Path,
    stored: &std::collections::HashMap<u64, StoredDoc>,
) -> Result<u64, Outcome> {
    let report = match Index::salvage(copy, dest) {
        Ok(report) => report,
        Err(e)
            if e.to_string().contains(&copy.display().to_string())
                && matches!(
                    e.index_problem(),
                    Some(IndexProblem::Damaged | IndexProblem::NotAnIndex)
                ) =>
        {
            return Err(Outcome::CleanError(e.index_problem()));
        }
        Err(_) => return Err(Outcome::Unnamed),
    };
    let index = Index::open(dest).map_err(|_| Outcome::Wrong)?;
    if !index.verify().map_err(|_| Outcome::Wrong)?.is_empty() {
        return Err(Outcome::Wrong);
    }
    let copied = index.recent(usize::MAX, None).map_err(|_| Outcome::Wrong)?;
    let exact = copied.iter().all(|(n, d)| stored.get(n) == Some(d));
    if !exact || copied.len() as u64 != report.copied {
        return Err(Outcome::Wrong);
    }
    Ok(report.copied)
}

fn damage(pristine: &[u8], case: u64) -> Vec<u8> {
    let mut rng = Rng::new(0xda3a_6e00 + case);
    let mut bytes = pristine.to_vec();
    let len = bytes.len();
    match case % 4 {
        0 => {
            let at = rng.below((len - PAGE) as u64) as usize;
            for b in &mut bytes[at..at + PAGE] {
                *b = rng.next_u64() as u8;
            }
        }
        1 => bytes.truncate(rng.below(len as u64) as usize),
        2 => {
            let page = rng.below((len / PAGE) as u64) as usize;
            bytes[page * PAGE..(page + 1) * PAGE].fill(0);
        }
        _ => {
            let pages = len / PAGE;
            let a = rng.below(pages as u64) as usize;
            let b = (a + 1 + rng.below(pages as u64 - 1) as usize) % pages;
            for i in 0..PAGE {
                bytes.swap(a * PAGE + i, b * PAGE + i);
            }
        }
    }
    bytes
}

#[test]
#[ignore = "heavy: scripts/test runs it in a step of its own (cargo test -- --ignored)"]
fn damaged_index_files_give_a_clean_error_or_the_right_answer() {
    let cases: u64 = std::env::var("LOOKALIKE_DAMAGE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pristine.redb");
    let spec = IndexSpec::new(&Fingerprinter::default(), 0.4, true).expect("spec");
    let docs = corpus();
    {
        let index = Index::create(&path, spec).expect("create");
        let add = CheckOptions {
            store: true,
            window: None,
        };
        for batch in docs.chunks(250) {
            index.check_batch(batch, &add).expect("add");
        }
    }
    let queries = queries(&docs);
    let (reference, problems) = ask(&path, &queries).expect("the undamaged index answers");
    assert!(problems.is_empty(), "{problems:?}");
    assert!(
        reference
            .matches
            .iter()
            .filter(|c| !c.matches.is_empty())
            .count()
            >= 12,
        "the queries find matches"
    );
    let pristine = std::fs::read(&path).expect("read");
    let stored: std::collections::HashMap<u64, StoredDoc> = Index::open(&path)
        .expect("open")
        .recent(usize::MAX, None)
        .expect("recent")
        .into_iter()
        .collect();
    let mut salvaged_docs = 0u64;

    // redb's own panics print their message; keep the test's output readable.
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        if std::env::var_os("LOOKALIKE_DAMAGE_DEBUG").is_some() {
            eprintln!("PANIC {info}");
        }
    }));
    let mut tally = std::collections::BTreeMap::new();
    let mut failures = Vec::new();
    for case in 0..cases {
        let copy = dir.path().join(format!("damaged-{case}.redb"));
        std::fs::write(&copy, damage(&pristine, case)).expect("write copy");
        let outcome = match catch_unwind(AssertUnwindSafe(|| ask(&copy, &queries))) {
            Err(_) => Outcome::Panic,
            // A damaged file is damaged or not an index: never "in use",
            // "missing", a settings problem or the storage failing (which
            // the service answers with "retry later"): those would send the
            // user the wrong way.
            Ok(Err(e))
                if e.to_string().contains(&copy.display().to_string())
                    && matches!(
                        e.index_problem(),
                        Some(IndexProblem::Damaged | IndexProblem::NotAnIndex)
                    ) =>
            {
                Outcome::CleanError(e.index_problem())
            }
            // An error that does not say which file, or names the wrong
            // kind of trouble, is not a clean one.
            Ok(Err(_)) => Outcome::Unnamed,
            // Users query without running `verify` first: whatever verify
            // says, the answers must be the undamaged index's.
            Ok(Ok((answers, _))) if answers == reference => Outcome::Correct,
            Ok(Ok(_)) => Outcome::Wrong,
        };
        let dest = dir.path().join(format!("salvaged-{case}.redb"));
        let salvage = match catch_unwind(AssertUnwindSafe(|| salvaged(&copy, &dest, &stored))) {
            Err(_) => Some(Outcome::Panic),
            Ok(Err(Outcome::CleanError(_))) => {
                *tally.entry("salvage refused".to_string()).or_insert(0) += 1;
                None
            }
            Ok(Err(e)) => Some(e),
            Ok(Ok(copied)) if outcome == Outcome::Correct && copied != DOCUMENTS as u64 => {
                Some(Outcome::Wrong)
            }
            Ok(Ok(copied)) => {
                salvaged_docs += copied;
                None
            }
        };
        if let Some(bad) = salvage {
            failures.push((case, bad));
            *tally.entry(format!("salvage {bad:?}")).or_insert(0) += 1;
        }
        let _ = std::fs::remove_file(&dest);
        *tally.entry(format!("{outcome:?}")).or_insert(0) += 1;
        if matches!(outcome, Outcome::Panic | Outcome::Wrong | Outcome::Unnamed) {
            failures.push((case, outcome));
        }
        let _ = std::fs::remove_file(&copy);
    }
    std::panic::set_hook(quiet);
    eprintln!(
        "damage harness: {cases} cases: {tally:?}; salvage copied {:.1}% of the documents",
        100.0 * salvaged_docs as f64 / (cases as f64 * DOCUMENTS as f64)
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} damaged copies panicked or answered wrongly (case, outcome): {failures:?}; tally {tally:?}",
        failures.len()
    );
}

/// One operation on an open index, its answer dropped.
type Op<'a> = Box<dyn Fn() -> Result<(), lookalike::Error> + 'a>;

/// Damage done to the file while a process holds it open (the checks on
/// open cannot see it): every operation gives a clean error naming the
/// file or an answer, and no panic reaches the caller.
#[test]
fn damage_while_open_is_an_error_never_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = IndexSpec::new(&Fingerprinter::default(), 0.4, true).expect("spec");
    let docs = corpus();
    let queries = queries(&docs);
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut tally = std::collections::BTreeMap::new();
    let mut escaped = Vec::new();
    for case in 0..8u64 {
        let path = dir.path().join(format!("open-{case}.redb"));
        let index = Index::create(&path, spec.clone()).expect("create");
        for batch in docs.chunks(500) {
            index.add(batch, None).expect("add");
        }
        drop(index);
        let index = Index::open(&path).expect("open");
        // Everything past the first pages overwritten (`case` picks the
        // bytes), under the open index.
        let mut bytes = std::fs::read(&path).expect("read");
        let mut rng = Rng::new(0x0e4e_d000 + case);
        for b in &mut bytes[8 * PAGE..] {
            *b = if case % 2 == 0 {
                0
            } else {
                rng.next_u64() as u8
            };
        }
        std::fs::write(&path, &bytes).expect("write");
        let ops: Vec<(&str, Op)> = vec![
            ("query", Box::new(|| index.query(&queries, None).map(drop))),
            ("get", Box::new(|| index.get("doc-1234").map(drop))),
            ("recent", Box::new(|| index.recent(50, None).map(drop))),
            ("verify", Box::new(|| index.verify().map(drop))),
            ("stats", Box::new(|| index.stats().map(drop))),
            ("add", Box::new(|| index.add(&queries, None).map(drop))),
            (
                "remove",
                Box::new(|| index.remove(&["doc-7".into()]).map(drop)),
            ),
        ];
        for (name, op) in ops {
            let outcome = match catch_unwind(AssertUnwindSafe(op)) {
                Err(_) => {
                    escaped.push((case, name));
                    "panic"
                }
                Ok(Ok(())) => "answered",
                Ok(Err(e)) if e.to_string().contains(&path.display().to_string()) => "clean error",
                Ok(Err(_)) => {
                    escaped.push((case, name));
                    "unnamed error"
                }
            };
            *tally.entry(format!("{name}: {outcome}")).or_insert(0) += 1;
        }
    }
    std::panic::set_hook(quiet);
    eprintln!("damage while open: {tally:?}");
    assert!(escaped.is_empty(), "{escaped:?}; {tally:?}");
}
