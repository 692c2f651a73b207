//! Salvage of sound and deliberately damaged indexes.

use redb::Database;

use super::super::format::{BANDS, DOCS, IDS, StoredDoc};
use super::super::{Index, IndexSpec, NewDoc};
use crate::error::IndexProblem;
use crate::fingerprint::Fingerprinter;

fn doc(id: &str, text: &str) -> NewDoc {
    NewDoc {
        id: id.into(),
        text: text.into(),
        ..Default::default()
    }
}

/// Ten documents of their own words, each long enough to have band keys.
fn salvage_corpus() -> Vec<NewDoc> {
    (0..10)
        .map(|i| {
            let words: Vec<String> = (0..40).map(|w| format!("w{i}x{w}")).collect();
            NewDoc {
                id: format!("d{i}"),
                text: words.join(" "),
                source: Some("wire".into()),
                timestamp: (i % 2 == 0).then_some(1_700_000_000 + i),
            }
        })
        .collect()
}

/// Every stored document by number, as `recent` reads them.
fn all_stored(index: &Index) -> Vec<(u64, StoredDoc)> {
    index.recent(usize::MAX, None).expect("recent")
}

/// A whole index is copied as it is: every document under its number, the
/// same answers, the same counter (a removed document's number is not
/// handed out again).
#[test]
fn salvage_copies_a_whole_index_as_it_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, dest) = (dir.path().join("src.redb"), dir.path().join("dest.redb"));
    let spec = IndexSpec::new(&Fingerprinter::default(), 0.4, true).expect("spec");
    let corpus = salvage_corpus();
    let before = {
        let index = Index::create(&src, spec).expect("create");
        index.add(&corpus, None).expect("add");
        index.remove(&["d9".into()]).expect("remove");
        all_stored(&index)
    };
    let original = std::fs::read(&src).expect("read");
    let salvaged = Index::salvage(&src, &dest).expect("salvage");
    assert_eq!(salvaged.copied, 9);
    assert!(salvaged.lost.is_empty(), "{:?}", salvaged.lost);
    assert!(salvaged.checked_by_text);
    assert_eq!(
        std::fs::read(&src).expect("read"),
        original,
        "the source is never written"
    );
    let copy = Index::open(&dest).expect("open");
    assert_eq!(all_stored(&copy), before);
    assert!(copy.verify().expect("verify").is_empty());
    let again = copy.add(&corpus[9..], None).expect("add");
    assert!(again[0].stored);
    assert_eq!(
        all_stored(&copy)[0].0,
        10,
        "numbers go on from the old counter"
    );
    let e = Index::salvage(&src, &dest).expect_err("dest exists");
    assert_eq!(e.index_problem(), Some(IndexProblem::Exists));
    let e = Index::salvage(&dir.path().join("none.redb"), &dir.path().join("x.redb"))
        .expect_err("no source");
    assert_eq!(e.index_problem(), Some(IndexProblem::Missing));
}

/// Documents whose entries are damaged are left out and named, the rest
/// copied: without texts, by their records' structure and band keys; with
/// texts, by fingerprinting the text again (so lost band keys are made
/// again, and a record that no longer matches its text is left out).
#[test]
fn salvage_leaves_out_exactly_the_damaged_documents() {
    for store_text in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (src, dest) = (dir.path().join("src.redb"), dir.path().join("dest.redb"));
        let spec = IndexSpec::new(&Fingerprinter::default(), 0.4, store_text).expect("spec");
        let before = {
            let index = Index::create(&src, spec).expect("create");
            index.add(&salvage_corpus(), None).expect("add");
            all_stored(&index)
        };
        {
            let db = Database::open(&src).expect("db");
            let tx = db.begin_write().expect("tx");
            {
                let mut docs = tx.open_table(DOCS).expect("docs");
                docs.insert(1, [0xff_u8; 9].as_slice()).expect("garbage");
                let mut rec = before.iter().find(|(n, _)| *n == 2).expect("2").1.clone();
                rec.shingles.swap(0, 1);
                docs.insert(2, postcard::to_allocvec(&rec).expect("enc").as_slice())
                    .expect("unsorted");
                let mut bands = tx.open_table(BANDS).expect("bands");
                bands.remove(3).expect("keys lost");
                bands.insert(4, [1_u8; 5].as_slice()).expect("keys cut");
                let mut ids = tx.open_table(IDS).expect("ids");
                ids.insert("d5", 6).expect("id elsewhere");
                if store_text {
                    let mut rec = before.iter().find(|(n, _)| *n == 7).expect("7").1.clone();
                    rec.text = Some("another text altogether, of other words".into());
                    docs.insert(7, postcard::to_allocvec(&rec).expect("enc").as_slice())
                        .expect("wrong text");
                }
            }
            tx.commit().expect("commit");
        }
        let salvaged = Index::salvage(&src, &dest).expect("salvage");
        let lost: Vec<u64> = salvaged
            .lost
            .iter()
            .map(|l| {
                l.strip_prefix("document ")
                    .and_then(|r| r.split(' ').next())
                    .and_then(|n| n.trim_end_matches(':').parse().ok())
                    .unwrap_or_else(|| panic!("{l}"))
            })
            .collect();
        // Keys lost or cut are made again from a stored text.
        let expected: Vec<u64> = if store_text {
            vec![1, 2, 5, 7]
        } else {
            vec![1, 2, 3, 4, 5]
        };
        assert_eq!(lost, expected, "{store_text}: {:?}", salvaged.lost);
        assert_eq!(salvaged.copied, 10 - expected.len() as u64);
        let copy = Index::open(&dest).expect("open");
        assert!(copy.verify().expect("verify").is_empty());
        let kept: Vec<(u64, StoredDoc)> = before
            .into_iter()
            .filter(|(n, _)| !expected.contains(n))
            .collect();
        assert_eq!(all_stored(&copy), kept, "{store_text}");
        // The copy answers: each kept document finds itself.
        for (_, d) in &kept {
            if let Some(text) = &d.text {
                let hit = copy.query(&[doc("q", text)], None).expect("query");
                assert_eq!(hit[0].matches[0].id, d.id);
            }
        }
    }
}
