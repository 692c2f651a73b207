//! Frozen index files: an index written by an earlier build must open and
//! answer the same way, or the format version must change.
//!
//! `fixtures/index-v1.redb` was made by format version 1 with
//! `lookalike index create index-v1.redb --store-text` and
//! `lookalike index add index-v1.redb harbour-bridge` (in `examples/news`).
//! `fixtures/index-v3.redb` was made the same way by format version 3, then
//! given one more document, with a source and a timestamp, through
//! `index add index-v3.redb -` (a JSON Lines record on standard input).
//! `fixtures/index-v4.redb` was made the same way by format version 4 (the
//! dated note through `index add index-v4.redb - --source-field source
//! --time-field timestamp`). `fixtures/index-v5.redb` was made the same way
//! by format version 5, created with `--judge story` (so its `facts` table
//! and its spec's story settings are frozen too).
//! Never regenerate them: add a new fixture for a new format version (a
//! test fails until the current version has one).
//! Opening one upgrades it in place (format 2 added the `times` table,
//! format 3 replaced the bucket table by per-document band keys, format 4
//! stores short shingle sets and no signature, format 5 added the `facts`
//! table), so the tests work on a copy.

use std::path::{Path, PathBuf};

use lookalike::index::{CheckOptions, FORMAT_VERSION, Index, NewDoc};

fn here() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of a fixture in a fresh directory.
fn copy_of(name: &str, dir: &tempfile::TempDir) -> PathBuf {
    let copy = dir.path().join(name);
    std::fs::copy(here().join("tests/fixtures").join(name), &copy).expect("copy fixture");
    copy
}

fn example(name: &str) -> String {
    std::fs::read_to_string(here().join("../../examples/news/harbour-bridge").join(name))
        .expect("example")
}

/// The checks every upgraded fixture must pass: whole, the texts kept, and
/// today's fingerprints comparing with the stored ones at the similarity
/// they always had (the later edit against its original).
fn opens_whole_and_matches(index: &Index, documents: u64) {
    let stats = index.stats().expect("stats");
    // verify() reads the `times` and `bands` tables, which format 1 lacked,
    // and checks every document against the buckets rebuilt from `bands`.
    assert!(
        index.verify().expect("verify").is_empty(),
        "whole after the upgrade"
    );
    assert_eq!(stats.documents, documents);
    assert_eq!(stats.format, FORMAT_VERSION);
    assert_eq!(stats.spec.fingerprint.normalization, "norm-v1");
    let stored = index.get("original.txt").expect("get").expect("stored");
    assert_eq!(
        stored.text.as_deref(),
        Some(example("original.txt").as_str())
    );
    let r = index
        .check_batch(
            &[NewDoc {
                id: "new".into(),
                text: example("update.txt"),
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

#[test]
fn format_v1_fixture_opens_and_matches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = Index::open(&copy_of("index-v1.redb", &dir)).expect("a format-1 index opens");
    assert_eq!(index.upgraded_from(), Some(1));
    opens_whole_and_matches(&index, 5);
}

#[test]
fn format_v3_fixture_opens_and_matches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy_of("index-v3.redb", &dir);
    let index = Index::open(&path).expect("a format-3 index opens");
    assert_eq!(index.upgraded_from(), Some(3));
    opens_whole_and_matches(&index, 6);
    let dated = index.get("dated-note").expect("get").expect("stored");
    assert_eq!(dated.source.as_deref(), Some("harbour-desk"));
    assert_eq!(dated.timestamp, Some(1_710_144_000));
    assert_eq!(index.stats().expect("stats").dated, 1);
    // Upgraded once: it opens again as it is, and still takes documents.
    drop(index);
    let index = Index::open(&path).expect("reopens");
    assert_eq!(index.upgraded_from(), None);
    opens_whole_and_matches(&index, 6);
    let add = CheckOptions {
        store: true,
        window: None,
    };
    let r = index
        .check_batch(
            &[NewDoc {
                id: "repost-again".into(),
                text: example("repost.txt"),
                ..Default::default()
            }],
            &add,
        )
        .expect("add");
    assert!(r[0].stored);
    assert!(r[0].matches.iter().any(|m| m.id == "repost.txt"));
    assert!(index.verify().expect("verify").is_empty());
}

#[test]
fn format_v4_fixture_opens_as_it_is_and_matches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy_of("index-v4.redb", &dir);
    let index = Index::open(&path).expect("a format-4 index opens");
    let upgraded = index.upgraded_from();
    assert!(
        FORMAT_VERSION == 4 && upgraded.is_none() || upgraded == Some(4),
        "format 4 is read as it is, or upgraded once the format moves on"
    );
    opens_whole_and_matches(&index, 6);
    let dated = index.get("dated-note").expect("get").expect("stored");
    assert_eq!(dated.source.as_deref(), Some("harbour-desk"));
    assert_eq!(dated.timestamp, Some(1_710_144_000));
}

#[test]
fn format_v5_fixture_opens_as_it_is_and_judges_stories() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy_of("index-v5.redb", &dir);
    let index = Index::open(&path).expect("a format-5 index opens");
    let upgraded = index.upgraded_from();
    assert!(
        FORMAT_VERSION == 5 && upgraded.is_none() || upgraded == Some(5),
        "format 5 is read as it is, or upgraded once the format moves on"
    );
    assert!(index.spec().judge.is_some(), "made with --judge story");
    opens_whole_and_matches(&index, 6);
    let dated = index.get("dated-note").expect("get").expect("stored");
    assert_eq!(dated.source.as_deref(), Some("harbour-desk"));
    assert_eq!(dated.timestamp, Some(1_710_144_000));
}

/// The format version cannot move on without a frozen fixture of the
/// version it moves to (made by `index create` and `index add` as above).
#[test]
fn the_current_format_has_a_frozen_fixture() {
    let fixture = here()
        .join("tests/fixtures")
        .join(format!("index-v{FORMAT_VERSION}.redb"));
    assert!(
        fixture.is_file(),
        "no fixture for format {FORMAT_VERSION}: make {} with this build (see the top of this file)",
        fixture.display()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let index =
        Index::open(&copy_of(&format!("index-v{FORMAT_VERSION}.redb"), &dir)).expect("opens");
    assert_eq!(index.upgraded_from(), None);
    assert_eq!(index.stats().expect("stats").format, FORMAT_VERSION);
}
