//! The file's layout: its tables, the settings fixed at creation, the
//! record kept per document, and the in-place upgrades from older formats.

use std::path::Path;

use redb::{Database, MultimapTableDefinition, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::bands::{keys_of, pack_keys};
use super::errors::{damaged, db_err, decode, err};
use crate::error::Result;
use crate::fingerprint::{FingerprintSpec, Fingerprinter};
use crate::judge::JudgeConfig;
use crate::lsh::LshParams;
use crate::sketch::Signature;

/// Layout version of the index file. Versions 1 and 2 kept the buckets in a
/// multimap table (and 1 had no `times` table); versions 1 to 3 stored each
/// document's signature and its 64-bit shingle hashes; version 4 had no
/// `facts` table. They are upgraded in place when opened (see
/// [`Index::open`](super::Index::open)).
pub const FORMAT_VERSION: u32 = 5;

pub(super) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(super) const DOCS: TableDefinition<u64, &[u8]> = TableDefinition::new("docs");
pub(super) const IDS: TableDefinition<&str, u64> = TableDefinition::new("ids");
/// Formats 1 and 2 only: dropped by the upgrade.
pub(super) const OLD_BUCKETS: MultimapTableDefinition<u128, u64> =
    MultimapTableDefinition::new("buckets");
pub(super) const BANDS: TableDefinition<u64, &[u8]> = TableDefinition::new("bands");
pub(super) const TIMES: TableDefinition<(i64, u64), ()> = TableDefinition::new("times");
/// Each document's facts ([`crate::judge::facts`], 4 bytes each), for an
/// index that judges stories; documents without any have no entry.
pub(super) const FACTS: TableDefinition<u64, &[u8]> = TableDefinition::new("facts");

pub(super) fn read_u64(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
    p: &Path,
) -> Result<u64> {
    // A missing or short entry is damage, never 0: the next `add` would
    // write over document 0 and two ids would point at it.
    let v = meta
        .get(key)
        .map_err(|e| db_err(p, e))?
        .map(|v| v.value().to_vec())
        .ok_or_else(|| damaged(p, format!("damaged: no {key:?} entry in the metadata")))?;
    let bytes: [u8; 8] = v.as_slice().try_into().map_err(|_| {
        damaged(
            p,
            format!("damaged: the {key:?} entry is {} bytes, not 8", v.len()),
        )
    })?;
    Ok(u64::from_le_bytes(bytes))
}

/// Everything fixed when an index is created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexSpec {
    /// How documents are fingerprinted.
    pub fingerprint: FingerprintSpec,
    /// Jaccard similarity at or above which a stored document is a match.
    pub threshold: f64,
    /// Bands × rows of the buckets.
    pub lsh: LshParams,
    /// Whether document texts are stored (so matches can be aligned later).
    pub store_text: bool,
    /// Judge matches as versions of one story ([`crate::judge`]), with
    /// template statistics learned from the stored documents; `None`:
    /// plain Jaccard similarity at `threshold`. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<JudgeConfig>,
}

/// Settings a caller expects an existing index to have, each `None` meaning
/// "whatever it has": [`Index::open_expecting`](super::Index::open_expecting) refuses an index made with
/// others before it changes anything (an old format is upgraded only once
/// the settings agree), the same way for every front end.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExpectedSpec {
    /// Similarity threshold.
    pub threshold: Option<f64>,
    /// Shingle size (n).
    pub ngram: Option<usize>,
    /// Shingle unit.
    pub unit: Option<crate::shingle::Unit>,
    /// Sketch slots.
    pub slots: Option<usize>,
    /// Shingle and sketch seed.
    pub seed: Option<u64>,
    /// Whether texts are stored.
    pub store_text: Option<bool>,
    /// Whether matches are judged as stories.
    pub story: Option<bool>,
}

impl ExpectedSpec {
    /// What differs between these expectations and `spec`, one phrase each
    /// ("threshold 0.8 (the index has 0.4)"); empty when they agree.
    pub fn differences(&self, spec: &IndexSpec) -> Vec<String> {
        let shingle = &spec.fingerprint.shingle;
        let mut wrong = Vec::new();
        let mut check = |asked: Option<String>, has: String, what: &str| {
            if let Some(asked) = asked.filter(|a| *a != has) {
                wrong.push(format!("{what} {asked} (the index has {has})"));
            }
        };
        check(
            self.threshold.map(|t| t.to_string()),
            spec.threshold.to_string(),
            "threshold",
        );
        check(
            self.ngram.map(|n| n.to_string()),
            shingle.n.to_string(),
            "n-gram size",
        );
        check(
            self.unit.map(|u| format!("{u:?}").to_lowercase()),
            format!("{:?}", shingle.unit).to_lowercase(),
            "unit",
        );
        check(
            self.slots.map(|k| k.to_string()),
            spec.fingerprint.sketch.slots.to_string(),
            "slots",
        );
        check(
            self.seed.map(|s| s.to_string()),
            shingle.seed.to_string(),
            "seed",
        );
        check(
            self.store_text.map(|b| b.to_string()),
            spec.store_text.to_string(),
            "store_text",
        );
        let judge = |story: bool| if story { "story" } else { "plain" }.to_string();
        check(self.story.map(judge), judge(spec.judge.is_some()), "judge");
        wrong
    }
}

impl IndexSpec {
    /// The spec for these settings, with bands × rows derived as `dedup` does.
    pub fn new(
        fingerprinter: &Fingerprinter,
        threshold: f64,
        store_text: bool,
    ) -> Result<IndexSpec> {
        fingerprinter.validate()?;
        Ok(IndexSpec {
            fingerprint: fingerprinter.spec(),
            threshold,
            lsh: LshParams::for_threshold(threshold, fingerprinter.sketch.slots, 0.99)?,
            store_text,
            judge: None,
        })
    }

    /// This spec, judging matches as stories with `judge` (or not).
    pub fn with_judge(self, judge: Option<JudgeConfig>) -> IndexSpec {
        IndexSpec { judge, ..self }
    }
}

/// What the index keeps of one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDoc {
    /// Its id.
    pub id: String,
    /// xxh3-128 of the normalised text, little-endian.
    pub exact: [u8; 16],
    /// Its shingle set as the index compares it ([`short_shingles`]),
    /// written as 4 bytes each.
    #[serde(with = "packed_u32")]
    pub shingles: Vec<u32>,
    /// Where it came from, if known.
    pub source: Option<String>,
    /// When it was published (seconds since the Unix epoch), if known.
    pub timestamp: Option<i64>,
    /// Its text, when the index stores texts.
    pub text: Option<String>,
}

/// A stored document as formats 1 to 3 wrote it (read only to upgrade).
#[derive(Deserialize)]
pub(super) struct StoredDocV3 {
    id: String,
    exact: [u8; 16],
    signature: Vec<u32>,
    shingles: Vec<u64>,
    source: Option<String>,
    timestamp: Option<i64>,
    text: Option<String>,
}

/// A shingle set as an index stores and compares it: the top 32 bits of
/// each (sorted) 64-bit shingle hash, sorted and deduplicated. Half the
/// size, and written as fixed 4 bytes where postcard's variable-length
/// integers took about 9 for a random 64-bit hash: a 300-word document's
/// record fell from ~3.5 KB (one 4 KB page of the database each) to
/// ~1.3 KB, and a 300,000-document fill ran about 1.25× faster
/// (BENCHMARKS.md, "Runs 9 and 10"). Two different shingles share their
/// top 32 bits with odds of one in four billion, so similarities move by
/// less than 1e-3 for news-length documents (tested).
pub fn short_shingles(hashes: &[u64]) -> Vec<u32> {
    let mut short: Vec<u32> = hashes.iter().map(|&h| (h >> 32) as u32).collect();
    short.dedup();
    short
}

/// Serde for a `Vec<u32>` as one byte string, 4 little-endian bytes each
/// (postcard would write each number with a variable length).
pub(super) mod packed_u32 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &[u32], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        s.serialize_bytes(&bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
        let bytes: &[u8] = Deserialize::deserialize(d)?;
        if bytes.len() % 4 != 0 {
            return Err(D::Error::custom(
                "a packed u32 list whose length is not a multiple of 4",
            ));
        }
        Ok(bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}

/// Upgrade a file of format `from` (1 to 4) in one transaction: for formats
/// 1 and 2, build `times` (format 1 had none) and `bands` from the stored
/// documents and drop the old bucket table; for 1 to 3, rewrite each
/// document in today's layout (its shingle set short, no signature); for
/// all, add the `facts` table (empty: the indexes of those formats did not
/// judge stories).
pub(super) fn upgrade(db: &Database, path: &Path, lsh: &LshParams, from: u32) -> Result<()> {
    let tx = db.begin_write().map_err(|e| db_err(path, e))?;
    tx.open_table(FACTS).map_err(|e| db_err(path, e))?;
    if from < 4 {
        let mut docs = tx.open_table(DOCS).map_err(|e| db_err(path, e))?;
        let mut times = tx.open_table(TIMES).map_err(|e| db_err(path, e))?;
        let mut bands = tx.open_table(BANDS).map_err(|e| db_err(path, e))?;
        // A few thousand documents at a time: the table cannot be written
        // while it is being read, and all of it at once may not fit in
        // memory.
        let mut start = 0u64;
        loop {
            let chunk: Vec<(u64, StoredDocV3)> = docs
                .range(start..)
                .map_err(|e| db_err(path, e))?
                .take(4096)
                .map(|r| {
                    let (k, v) = r.map_err(|e| db_err(path, e))?;
                    let n = k.value();
                    Ok((n, decode(path, n, v.value())?))
                })
                .collect::<Result<_>>()?;
            let Some(&(last, _)) = chunk.last() else {
                break;
            };
            start = last + 1;
            for (n, old) in chunk {
                if from < 3 {
                    if let Some(t) = old.timestamp {
                        times.insert((t, n), ()).map_err(|e| db_err(path, e))?;
                    }
                    let sig = Signature(old.signature.into_boxed_slice());
                    bands
                        .insert(n, pack_keys(&keys_of(lsh, &sig)).as_slice())
                        .map_err(|e| db_err(path, e))?;
                }
                let new = StoredDoc {
                    id: old.id,
                    exact: old.exact,
                    shingles: short_shingles(&old.shingles),
                    source: old.source,
                    timestamp: old.timestamp,
                    text: old.text,
                };
                let rec = postcard::to_allocvec(&new).map_err(|e| err(path, e))?;
                docs.insert(n, rec.as_slice())
                    .map_err(|e| db_err(path, e))?;
            }
        }
    }
    {
        let mut meta = tx.open_table(META).map_err(|e| db_err(path, e))?;
        meta.insert("format", FORMAT_VERSION.to_le_bytes().as_slice())
            .map_err(|e| db_err(path, e))?;
    }
    if from < 3 {
        tx.delete_multimap_table(OLD_BUCKETS)
            .map_err(|e| db_err(path, e))?;
    }
    tx.commit().map_err(|e| db_err(path, e))
}

/// The counter of document numbers must be present and above every stored
/// number: checked on open, so a damaged counter is found before the first
/// `add` would write over a stored document.
pub(super) fn check_counter(db: &Database, path: &Path) -> Result<()> {
    let tx = db.begin_read().map_err(|e| db_err(path, e))?;
    let meta = tx.open_table(META).map_err(|e| db_err(path, e))?;
    let next = read_u64(&meta, "next", path)?;
    let docs = tx.open_table(DOCS).map_err(|e| db_err(path, e))?;
    if let Some((last, _)) = docs.last().map_err(|e| db_err(path, e))? {
        let last = last.value();
        if last >= next {
            return Err(damaged(
                path,
                format!(
                    "damaged: document {last} is stored but the next number is {next}; restore it from a backup, or rebuild it from the documents"
                ),
            ));
        }
    }
    Ok(())
}

/// Facts packed for the `facts` table, 4 little-endian bytes each.
pub(super) fn pack_facts(facts: &[u32]) -> Vec<u8> {
    facts.iter().flat_map(|f| f.to_le_bytes()).collect()
}

/// Facts read back from the `facts` table; a length that is not a whole
/// number of facts is damage.
pub(super) fn unpack_facts(path: &Path, n: u64, bytes: &[u8]) -> Result<Vec<u32>> {
    if bytes.len() % 4 != 0 {
        return Err(damaged(
            path,
            format!("damaged: document {n} has {} bytes of facts", bytes.len()),
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}
