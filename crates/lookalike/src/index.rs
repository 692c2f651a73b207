//! A persistent, incremental index of fingerprints in one file, on the
//! embedded database redb (ACID, crash-safe, one writer and many readers).
//!
//! Documents arrive over time; each is checked against everything stored
//! before, then remembered. The file holds:
//!
//! | table | key → value |
//! |---|---|
//! | `meta` | `"format"` → format version; `"spec"` → [`IndexSpec`] as JSON; `"next"` → next document number |
//! | `docs` | document number → [`StoredDoc`] (postcard) |
//! | `ids` | id → document number |
//! | `buckets` | band << 64 \| band key → document numbers (multimap) |
//!
//! The [`IndexSpec`] — fingerprint spec, threshold, bands × rows — is fixed
//! when the index is created; opening it with other settings is an error,
//! never a silent comparison of incomparable fingerprints. [`FORMAT_VERSION`]
//! changes whenever the layout does.

use std::path::{Path, PathBuf};

use redb::{
    Database, MultimapTableDefinition, ReadableDatabase, ReadableMultimapTable, ReadableTable,
    ReadableTableMetadata, TableDefinition,
};
use serde::{Deserialize, Serialize};

use crate::dedup::Relation;
use crate::error::{Error, Result};
use crate::fingerprint::{Fingerprint, FingerprintSpec, Fingerprinter};
use crate::lsh::LshParams;
use crate::sketch::Signature;
use crate::verify::jaccard;

/// Layout version of the index file.
pub const FORMAT_VERSION: u32 = 1;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const DOCS: TableDefinition<u64, &[u8]> = TableDefinition::new("docs");
const IDS: TableDefinition<&str, u64> = TableDefinition::new("ids");
const BUCKETS: MultimapTableDefinition<u128, u64> = MultimapTableDefinition::new("buckets");

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
        })
    }
}

/// What the index keeps of one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDoc {
    /// Its id.
    pub id: String,
    /// xxh3-128 of the normalised text, little-endian.
    pub exact: [u8; 16],
    /// MinHash signature.
    pub signature: Vec<u32>,
    /// Sorted shingle set, for exact verification.
    pub shingles: Vec<u64>,
    /// Where it came from, if known.
    pub source: Option<String>,
    /// When it was published (seconds since the Unix epoch), if known.
    pub timestamp: Option<i64>,
    /// Its text, when the index stores texts.
    pub text: Option<String>,
}

/// A document to add or look up.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewDoc {
    /// Its id (unique in the index).
    pub id: String,
    /// Its text.
    pub text: String,
    /// Where it came from.
    pub source: Option<String>,
    /// When it was published (seconds since the Unix epoch).
    pub timestamp: Option<i64>,
}

/// A stored document that a new one duplicates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// The stored document's id.
    pub id: String,
    /// Exact Jaccard similarity of the shingle sets.
    pub similarity: f64,
    /// Exact (same normalised text) or near.
    pub relation: Relation,
}

/// The answer for one new document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checked {
    /// The new document's id.
    pub id: String,
    /// Stored documents it duplicates, most similar first.
    pub matches: Vec<Match>,
    /// Whether it was stored now (`add` only; false for a query, an id
    /// already stored, or a document without words).
    pub stored: bool,
    /// Why it was not stored, when it was not.
    pub note: Option<String>,
}

/// Counts of an index.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexStats {
    /// Documents stored.
    pub documents: u64,
    /// The spec.
    pub spec: IndexSpec,
    /// Format version of the file.
    pub format: u32,
    /// Size of the file in bytes.
    pub file_bytes: u64,
}

/// An open index.
pub struct Index {
    db: Database,
    path: PathBuf,
    spec: IndexSpec,
    fingerprinter: Fingerprinter,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("path", &self.path)
            .field("spec", &self.spec)
            .finish()
    }
}

fn err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Index {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn band_key(band: usize, key: u64) -> u128 {
    ((band as u128) << 64) | key as u128
}

impl Index {
    /// Create a new index file; refuses to overwrite an existing file.
    pub fn create(path: &Path, spec: IndexSpec) -> Result<Index> {
        if path.exists() {
            return Err(err(
                path,
                "already exists; open it with `index add`/`index query`, or choose another path",
            ));
        }
        let fingerprinter = Fingerprinter {
            shingle: spec.fingerprint.shingle,
            sketch: spec.fingerprint.sketch,
        };
        let db = Database::create(path).map_err(|e| err(path, e))?;
        let tx = db.begin_write().map_err(|e| err(path, e))?;
        {
            let mut meta = tx.open_table(META).map_err(|e| err(path, e))?;
            let spec_json = serde_json::to_vec(&spec).map_err(|e| err(path, e))?;
            meta.insert("format", FORMAT_VERSION.to_le_bytes().as_slice())
                .map_err(|e| err(path, e))?;
            meta.insert("spec", spec_json.as_slice())
                .map_err(|e| err(path, e))?;
            meta.insert("next", 0u64.to_le_bytes().as_slice())
                .map_err(|e| err(path, e))?;
            tx.open_table(DOCS).map_err(|e| err(path, e))?;
            tx.open_table(IDS).map_err(|e| err(path, e))?;
            tx.open_multimap_table(BUCKETS).map_err(|e| err(path, e))?;
        }
        tx.commit().map_err(|e| err(path, e))?;
        Ok(Index {
            db,
            path: path.to_path_buf(),
            spec,
            fingerprinter,
        })
    }

    /// Open an existing index. Its format version must be this build's.
    pub fn open(path: &Path) -> Result<Index> {
        if !path.is_file() {
            return Err(err(
                path,
                "no such index file; create it with `lookalike index create`",
            ));
        }
        let db =
            Database::open(path).map_err(|e| err(path, format!("not a lookalike index ({e})")))?;
        let (format, spec) = {
            let tx = db.begin_read().map_err(|e| err(path, e))?;
            let meta = tx
                .open_table(META)
                .map_err(|e| err(path, format!("not a lookalike index ({e})")))?;
            let get = |k: &str| -> Result<Vec<u8>> {
                Ok(meta
                    .get(k)
                    .map_err(|e| err(path, e))?
                    .ok_or_else(|| err(path, format!("not a lookalike index (no {k:?} entry)")))?
                    .value()
                    .to_vec())
            };
            let f = get("format")?;
            let format = u32::from_le_bytes(
                f.as_slice()
                    .try_into()
                    .map_err(|_| err(path, "corrupt format entry"))?,
            );
            (format, get("spec")?)
        };
        if format != FORMAT_VERSION {
            return Err(err(
                path,
                format!(
                    "format version {format}; this lookalike reads version {FORMAT_VERSION}: rebuild the index, or use the lookalike that made it"
                ),
            ));
        }
        let spec: IndexSpec =
            serde_json::from_slice(&spec).map_err(|e| err(path, format!("corrupt spec: {e}")))?;
        let fingerprinter = Fingerprinter {
            shingle: spec.fingerprint.shingle,
            sketch: spec.fingerprint.sketch,
        };
        Ok(Index {
            db,
            path: path.to_path_buf(),
            spec,
            fingerprinter,
        })
    }

    /// The index's spec.
    pub fn spec(&self) -> &IndexSpec {
        &self.spec
    }

    /// Refuse settings other than the index's own.
    pub fn check(&self, requested: &IndexSpec) -> Result<()> {
        if requested.fingerprint != self.spec.fingerprint
            || requested.threshold != self.spec.threshold
        {
            return Err(err(
                &self.path,
                format!(
                    "was made with other settings ({}); drop the settings flags to use the index's own, or create a new index",
                    serde_json::to_string(&self.spec).unwrap_or_default()
                ),
            ));
        }
        Ok(())
    }

    /// Check documents against the index; with `store`, add each afterwards
    /// (so a batch is also checked against its own earlier documents). One
    /// transaction: all of the batch is stored, or none of it.
    pub fn check_batch(&self, docs: &[NewDoc], store: bool) -> Result<Vec<Checked>> {
        use rayon::prelude::*;
        let prints: Vec<Fingerprint> = docs
            .par_iter()
            .map(|d| self.fingerprinter.fingerprint(&d.text))
            .collect();
        let p = &self.path;
        let tx = self.db.begin_write().map_err(|e| err(p, e))?;
        let mut out = Vec::with_capacity(docs.len());
        {
            let mut meta = tx.open_table(META).map_err(|e| err(p, e))?;
            let mut docs_t = tx.open_table(DOCS).map_err(|e| err(p, e))?;
            let mut ids_t = tx.open_table(IDS).map_err(|e| err(p, e))?;
            let mut buckets = tx.open_multimap_table(BUCKETS).map_err(|e| err(p, e))?;
            let mut next = {
                let v = meta
                    .get("next")
                    .map_err(|e| err(p, e))?
                    .map(|v| v.value().to_vec())
                    .unwrap_or_default();
                u64::from_le_bytes(v.as_slice().try_into().unwrap_or([0; 8]))
            };
            for (d, f) in docs.iter().zip(&prints) {
                let Some(sig) = &f.signature else {
                    out.push(Checked {
                        id: d.id.clone(),
                        matches: Vec::new(),
                        stored: false,
                        note: Some("no words: not stored".into()),
                    });
                    continue;
                };
                // Candidates from every band, each verified on exact Jaccard.
                let mut cands: Vec<u64> = Vec::new();
                for band in 0..self.spec.lsh.bands {
                    let key = band_key(band, self.spec.lsh.band_key(sig, band));
                    for v in buckets.get(key).map_err(|e| err(p, e))? {
                        cands.push(v.map_err(|e| err(p, e))?.value());
                    }
                }
                cands.sort_unstable();
                cands.dedup();
                let mut matches = Vec::new();
                for c in cands {
                    let Some(raw) = docs_t.get(c).map_err(|e| err(p, e))? else {
                        continue;
                    };
                    let stored: StoredDoc = postcard::from_bytes(raw.value())
                        .map_err(|e| err(p, format!("corrupt document {c}: {e}")))?;
                    let exact = stored.exact == f.exact.to_le_bytes();
                    let sim = if exact {
                        1.0
                    } else {
                        jaccard(&stored.shingles, &f.shingles.hashes)
                    };
                    if exact || sim >= self.spec.threshold {
                        matches.push(Match {
                            id: stored.id,
                            similarity: sim,
                            relation: if exact {
                                Relation::Exact
                            } else {
                                Relation::Near
                            },
                        });
                    }
                }
                matches.sort_by(|a, b| {
                    b.similarity
                        .total_cmp(&a.similarity)
                        .then_with(|| a.id.cmp(&b.id))
                });
                let mut checked = Checked {
                    id: d.id.clone(),
                    matches,
                    stored: false,
                    note: None,
                };
                if store {
                    if ids_t.get(d.id.as_str()).map_err(|e| err(p, e))?.is_some() {
                        checked.note = Some("a document with this id is already stored: not stored again (remove it first to replace it)".into());
                    } else {
                        let rec = StoredDoc {
                            id: d.id.clone(),
                            exact: f.exact.to_le_bytes(),
                            signature: sig.0.to_vec(),
                            shingles: f.shingles.hashes.clone(),
                            source: d.source.clone(),
                            timestamp: d.timestamp,
                            text: self.spec.store_text.then(|| d.text.clone()),
                        };
                        let bytes = postcard::to_allocvec(&rec).map_err(|e| err(p, e))?;
                        docs_t
                            .insert(next, bytes.as_slice())
                            .map_err(|e| err(p, e))?;
                        ids_t.insert(d.id.as_str(), next).map_err(|e| err(p, e))?;
                        for band in 0..self.spec.lsh.bands {
                            buckets
                                .insert(band_key(band, self.spec.lsh.band_key(sig, band)), next)
                                .map_err(|e| err(p, e))?;
                        }
                        next += 1;
                        checked.stored = true;
                    }
                }
                out.push(checked);
            }
            meta.insert("next", next.to_le_bytes().as_slice())
                .map_err(|e| err(p, e))?;
        }
        if store {
            tx.commit().map_err(|e| err(p, e))?;
        } else {
            tx.abort().map_err(|e| err(p, e))?;
        }
        Ok(out)
    }

    /// A stored document by id.
    pub fn get(&self, id: &str) -> Result<Option<StoredDoc>> {
        let p = &self.path;
        let tx = self.db.begin_read().map_err(|e| err(p, e))?;
        let ids = tx.open_table(IDS).map_err(|e| err(p, e))?;
        let Some(n) = ids.get(id).map_err(|e| err(p, e))? else {
            return Ok(None);
        };
        let docs = tx.open_table(DOCS).map_err(|e| err(p, e))?;
        let Some(raw) = docs.get(n.value()).map_err(|e| err(p, e))? else {
            return Ok(None);
        };
        Ok(Some(
            postcard::from_bytes(raw.value()).map_err(|e| err(p, e))?,
        ))
    }

    /// Remove documents by id; returns, per id, whether it was stored.
    pub fn remove(&self, ids: &[String]) -> Result<Vec<bool>> {
        let p = &self.path;
        let tx = self.db.begin_write().map_err(|e| err(p, e))?;
        let mut out = Vec::new();
        {
            let mut docs_t = tx.open_table(DOCS).map_err(|e| err(p, e))?;
            let mut ids_t = tx.open_table(IDS).map_err(|e| err(p, e))?;
            let mut buckets = tx.open_multimap_table(BUCKETS).map_err(|e| err(p, e))?;
            for id in ids {
                let Some(n) = ids_t
                    .remove(id.as_str())
                    .map_err(|e| err(p, e))?
                    .map(|v| v.value())
                else {
                    out.push(false);
                    continue;
                };
                if let Some(raw) = docs_t.remove(n).map_err(|e| err(p, e))? {
                    let stored: StoredDoc =
                        postcard::from_bytes(raw.value()).map_err(|e| err(p, e))?;
                    let sig = Signature(stored.signature.into_boxed_slice());
                    for band in 0..self.spec.lsh.bands {
                        buckets
                            .remove(band_key(band, self.spec.lsh.band_key(&sig, band)), n)
                            .map_err(|e| err(p, e))?;
                    }
                }
                out.push(true);
            }
        }
        tx.commit().map_err(|e| err(p, e))?;
        Ok(out)
    }

    /// Counts and settings.
    pub fn stats(&self) -> Result<IndexStats> {
        let p = &self.path;
        let tx = self.db.begin_read().map_err(|e| err(p, e))?;
        let docs = tx
            .open_table(DOCS)
            .map_err(|e| err(p, e))?
            .len()
            .map_err(|e| err(p, e))?;
        Ok(IndexStats {
            documents: docs,
            spec: self.spec.clone(),
            format: FORMAT_VERSION,
            file_bytes: std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let c = "shares in the shipping company rose after profits doubled in the first half of the year";
        {
            let index = Index::create(&path, spec.clone()).expect("create");
            let r = index
                .check_batch(&[doc("a", a), doc("c", c)], true)
                .expect("add");
            assert!(r.iter().all(|x| x.stored && x.matches.is_empty()));
            let r = index.check_batch(&[doc("b", b)], false).expect("query");
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
            let r = index.check_batch(&[doc("a", a)], true).expect("add");
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
        let r = index.check_batch(&[doc("b", b)], false).expect("query");
        assert!(
            r[0].matches.is_empty(),
            "removed documents leave no bucket behind"
        );
        // Other settings are refused.
        let other = IndexSpec::new(&Fingerprinter::default(), 0.8, true).expect("spec");
        assert!(index.check(&other).is_err());
        assert!(
            Index::create(&path, spec).is_err(),
            "create never overwrites"
        );
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
}
