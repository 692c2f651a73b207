//! Frozen index files: an index written by an earlier build must open and
//! answer the same way, or the format version must change.
//!
//! `fixtures/index-v1.redb` was made by format version 1 with
//! `lookalike index create index-v1.redb --store-text` and
//! `lookalike index add index-v1.redb harbour-bridge` (in `examples/news`).
//! Never regenerate it: add a new fixture for a new format version.
//! Opening it upgrades it in place (format 2 added the `times` table, format
//! 3 replaced the bucket table by per-document band keys), so the test works
//! on a copy.

use std::path::Path;

use lookalike::index::{CheckOptions, Index, NewDoc};

#[test]
fn format_v1_fixture_opens_and_matches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let copy = dir.path().join("index-v1.redb");
    std::fs::copy(here.join("tests/fixtures/index-v1.redb"), &copy).expect("copy fixture");
    let index = Index::open(&copy).expect("a format-1 index opens");
    let stats = index.stats().expect("stats");
    // verify() reads the `times` and `bands` tables, which format 1 lacked,
    // and checks every document against the buckets rebuilt from `bands`.
    assert!(
        index.verify().expect("verify").is_empty(),
        "whole after the upgrade"
    );
    assert_eq!(stats.documents, 5);
    assert_eq!(stats.spec.fingerprint.normalization, "norm-v1");
    let stored = index.get("original.txt").expect("get").expect("stored");
    let original =
        std::fs::read_to_string(here.join("../../examples/news/harbour-bridge/original.txt"))
            .expect("example");
    assert_eq!(stored.text.as_deref(), Some(original.as_str()));
    // Today's fingerprints must still compare with the stored ones: the
    // later edit matches its original at the similarity it always had.
    let update =
        std::fs::read_to_string(here.join("../../examples/news/harbour-bridge/update.txt"))
            .expect("example");
    let r = index
        .check_batch(
            &[NewDoc {
                id: "new".into(),
                text: update,
                ..Default::default()
            }],
            &CheckOptions::default(),
        )
        .expect("query");
    let m = r[0]
        .matches
        .iter()
        .find(|m| m.id == "original.txt")
        .expect("matches its original");
    assert!((m.similarity - 0.4974).abs() < 1e-3, "{}", m.similarity);
}
