//! # lookalike
//!
//! Find copies, near-copies and reused passages in document collections.
//!
//! # Brief overview
//!
//! Each document goes through the same stages, one module each:
//!
//! | stage | module | what it does |
//! |---|---|---|
//! | normalise | [`normalize`] | policy `norm-v1`: NFKC, case fold, quotes/dashes/spaces folded, white space collapsed |
//! | tokenise | [`tokenize`] | words, with a fast ASCII path |
//! | shingle | [`shingle`] | word (or character) n-grams as 64-bit hashes |
//! | sketch | [`sketch`] | MinHash by one-permutation hashing with optimal densification |
//! | fingerprint | [`fingerprint`] | all of the above for one document, and the persisted spec |
//! | LSH | [`lsh`] | bands × rows derived from the threshold for recall at the threshold |
//! | verify | [`verify`] | exact Jaccard and containment of shingle sets |
//! | compare | [`compare`] | every figure for one pair, and how the two relate |
//! | group | [`cluster`] | union-find and the keep policy |
//! | pipeline | [`dedup`] | the stages put together |
//! | remember | [`index`] | a persistent, incremental index in one redb file |
//! | measure | [`eval`] | pairwise precision, recall, F1 and ARI against the truth |
//! | align | [`align`] | shared passages of two texts, with offsets into the originals |
//! | show | [`render`] | an alignment as terminal text or a self-contained HTML page |
//! | report | [`report`] | the HTML report of a dedup run |
//! | reuse | [`reuse`] | pairs sharing passages across a corpus (winnowing, boilerplate) |
//! | input/output | [`corpus`], [`output`] | directories, JSON Lines (plain, gzip, zstd), Parquet |
//! | test data | [`synth`] | synthetic corpora with planted near duplicates |
//! | beyond memory | [`spill`] | fingerprints in a temporary file past a memory budget |
//!
//! # Example
//!
//! ```
//! use lookalike::dedup::{Dedup, DedupConfig};
//! let mut run = Dedup::new(DedupConfig::default())?;
//! run.add_batch(vec![
//!     ("first".into(), "Kerry arrives in Moscow for talks on Syria with President Putin.".into()),
//!     ("repost".into(), "KERRY arrives in Moscow for talks on Syria with President Putin".into()),
//! ]);
//! let outcome = run.finish()?;
//! assert_eq!(outcome.kept, [true, false]);
//! # Ok::<(), lookalike::Error>(())
//! ```
#![deny(missing_docs)]

pub mod align;
pub mod cluster;
pub mod compare;
pub mod corpus;
pub mod dedup;
mod error;
pub mod eval;
pub mod fingerprint;
pub mod ids;
pub mod index;
pub mod judge;
pub mod lsh;
pub mod normalize;
pub mod output;
pub mod render;
pub mod report;
pub mod reuse;
pub mod shingle;
pub mod sketch;
pub mod spill;
pub mod synth;
pub mod time;
pub mod tokenize;
pub mod verify;

pub use error::{Error, IndexProblem, Place, Record, Result};
