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
//! | `bands` | document number → its band keys (u64 little-endian each) |
//! | `times` | (timestamp, document number) → () — for `--window` and `prune` |
//!
//! The LSH buckets themselves live in memory, rebuilt from `bands` on open
//! (see `buckets/` for why).
//!
//! The [`IndexSpec`] — fingerprint spec, threshold, bands × rows — is fixed
//! when the index is created; opening it with other settings is an error,
//! never a silent comparison of incomparable fingerprints. [`FORMAT_VERSION`]
//! changes whenever the layout does.

mod bands;
mod buckets;
mod errors;
mod format;
mod maintenance;
mod matching;
mod salvage;
mod templates;
mod write;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, mpsc};

use redb::{Database, ReadableDatabase};
use serde::Serialize;

use crate::dedup::Relation;
use crate::error::{Error, IndexProblem, Result};
use crate::fingerprint::Fingerprinter;
use buckets::{BucketMap, Merge};

use bands::load_buckets;
use errors::{damaged, db_err, err, open_error};
use format::{BANDS, DOCS, FACTS, IDS, META, TIMES, check_counter, upgrade};
pub use format::{ExpectedSpec, FORMAT_VERSION, IndexSpec, StoredDoc, short_shingles};
pub use salvage::Salvaged;
use templates::Templates;

/// How [`Index::check_batch`] treats a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// Store each document after checking it (`index add`); otherwise only
    /// look up (`index query`). Default: false.
    pub store: bool,
    /// News mode: compare only with stored documents whose timestamp is at
    /// most this many seconds before the new document's (or before now, when
    /// the new one has none). Stored documents without a timestamp are always
    /// compared. Default: none (compare with everything).
    pub window: Option<i64>,
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Match {
    /// The stored document's id.
    pub id: String,
    /// Exact Jaccard similarity of the shingle sets.
    pub similarity: f64,
    /// Exact (same normalised text) or near.
    pub relation: Relation,
    /// Where the stored document came from, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The stored document's timestamp (seconds since the Unix epoch), if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
}

/// The answer for one new document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IndexStats {
    /// Documents stored.
    pub documents: u64,
    /// How many of them carry a timestamp.
    pub dated: u64,
    /// The oldest timestamp stored (seconds since the Unix epoch).
    pub oldest: Option<i64>,
    /// The newest timestamp stored.
    pub newest: Option<i64>,
    /// Entries in the in-memory buckets (16 bytes each; one per document
    /// and band, plus removed documents' until the index is reopened).
    pub bucket_entries: u64,
    /// The spec: how documents are fingerprinted and compared.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
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
    buckets: Arc<RwLock<BucketMap>>,
    /// Hands the buckets' merges to a thread of their own, which carries
    /// them out while lookups and insertions go on (see `buckets/`).
    merges: mpsc::Sender<Merge>,
    /// Held from a writer's first lookup until its batch is in `buckets`, so
    /// the next batch sees this one's documents.
    writer: Mutex<()>,
    /// Held while a backup runs: one at a time.
    backing_up: Mutex<()>,
    /// The template statistics, for an index that judges stories
    /// (`templates.rs`).
    templates: Option<RwLock<Templates>>,
    /// The format the file had, when opening it upgraded it.
    upgraded_from: Option<u32>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("path", &self.path)
            .field("spec", &self.spec)
            .finish()
    }
}

impl Index {
    /// Create a new index file; refuses to overwrite an existing file.
    pub fn create(path: &Path, spec: IndexSpec) -> Result<Index> {
        if path.exists() {
            return Err(Error::index(path, IndexProblem::Exists, "already exists"));
        }
        let db = Database::create(path).map_err(|e| db_err(path, e))?;
        let tx = db.begin_write().map_err(|e| db_err(path, e))?;
        {
            let mut meta = tx.open_table(META).map_err(|e| db_err(path, e))?;
            let spec_json = serde_json::to_vec(&spec).map_err(|e| err(path, e))?;
            meta.insert("format", FORMAT_VERSION.to_le_bytes().as_slice())
                .map_err(|e| db_err(path, e))?;
            meta.insert("spec", spec_json.as_slice())
                .map_err(|e| db_err(path, e))?;
            meta.insert("next", 0u64.to_le_bytes().as_slice())
                .map_err(|e| db_err(path, e))?;
            tx.open_table(DOCS).map_err(|e| db_err(path, e))?;
            tx.open_table(IDS).map_err(|e| db_err(path, e))?;
            tx.open_table(BANDS).map_err(|e| db_err(path, e))?;
            tx.open_table(TIMES).map_err(|e| db_err(path, e))?;
            tx.open_table(FACTS).map_err(|e| db_err(path, e))?;
        }
        tx.commit().map_err(|e| db_err(path, e))?;
        let templates = spec.judge.map(|_| Templates::empty());
        Index::assemble(db, path, spec, BucketMap::default(), templates, None)
    }

    /// Open an existing index. Its format version must be this build's or
    /// an older one (upgraded in place).
    pub fn open(path: &Path) -> Result<Index> {
        Index::open_expecting(path, &ExpectedSpec::default())
    }

    /// Open an existing index, refusing it ([`IndexProblem::Settings`])
    /// when it was made with settings other than `expected` says, before
    /// anything in the file changes.
    pub fn open_expecting(path: &Path, expected: &ExpectedSpec) -> Result<Index> {
        Index::open_with(path, expected, true)
    }

    /// Open an existing index of this build's format only: an older one is
    /// refused ([`IndexProblem::Format`]) rather than upgraded, for work
    /// that must leave the file as it is (a backup before an upgrade).
    pub fn open_unchanged(path: &Path) -> Result<Index> {
        Index::open_with(path, &ExpectedSpec::default(), false)
    }

    fn open_with(path: &Path, expected: &ExpectedSpec, may_upgrade: bool) -> Result<Index> {
        if !path.is_file() {
            return Err(Error::index(
                path,
                IndexProblem::Missing,
                "no such index file",
            ));
        }
        // redb trusts a plain open's file and may panic on a page damaged
        // outside it; checking every page's checksum first turns damage into
        // an error, at the cost of reading the file once more (loading the
        // buckets below reads most of it anyway).
        let mut db = Database::builder()
            .set_check_integrity_on_open(true)
            .open(path)
            .map_err(|e| open_error(path, e))?;
        let (format, spec) = {
            let tx = db.begin_read().map_err(|e| db_err(path, e))?;
            let meta = tx.open_table(META).map_err(|e| {
                Error::index(
                    path,
                    IndexProblem::NotAnIndex,
                    format!("not a lookalike index ({e})"),
                )
            })?;
            let get = |k: &str| -> Result<Vec<u8>> {
                Ok(meta
                    .get(k)
                    .map_err(|e| db_err(path, e))?
                    .ok_or_else(|| {
                        Error::index(
                            path,
                            IndexProblem::NotAnIndex,
                            format!("not a lookalike index (no {k:?} entry)"),
                        )
                    })?
                    .value()
                    .to_vec())
            };
            let f = get("format")?;
            let format = u32::from_le_bytes(
                f.as_slice()
                    .try_into()
                    .map_err(|_| damaged(path, "damaged: the format entry is not 4 bytes"))?,
            );
            (format, get("spec")?)
        };
        let upgrade = (1..FORMAT_VERSION).contains(&format);
        if upgrade && !may_upgrade {
            return Err(Error::index(
                path,
                IndexProblem::Format,
                format!(
                    "format version {format}: opening it with this lookalike upgrades it to \
                     {FORMAT_VERSION} in place; to keep a copy in the old format, copy the file \
                     while no process has it open"
                ),
            ));
        }
        if !upgrade && format != FORMAT_VERSION {
            return Err(Error::index(
                path,
                IndexProblem::Format,
                format!(
                    "format version {format}; this lookalike reads versions 1 to {FORMAT_VERSION}"
                ),
            ));
        }
        let spec: IndexSpec = serde_json::from_slice(&spec)
            .map_err(|e| damaged(path, format!("damaged settings entry: {e}")))?;
        let wrong = expected.differences(&spec);
        if !wrong.is_empty() {
            return Err(Error::index(
                path,
                IndexProblem::Settings,
                format!("was made with other settings: {}", wrong.join(", ")),
            ));
        }
        if upgrade {
            self::upgrade(&db, path, &spec.lsh, format)?;
            // Below format 4 every record was rewritten, and the database
            // never writes in place: the old pages are free but still in
            // the file (a 6.4 GB file of a million documents grew to 11 GB).
            // Compacting gives them back.
            if format < 4 {
                db.compact()
                    .map_err(|e| err(path, format!("upgraded, but could not compact: {e}")))?;
            }
        }
        check_counter(&db, path)?;
        let buckets = load_buckets(&db, path, spec.lsh.bands)?;
        let templates = match &spec.judge {
            Some(judge) => Some(Templates::load(&db, path, judge)?),
            None => None,
        };
        Index::assemble(
            db,
            path,
            spec,
            buckets,
            templates,
            upgrade.then_some(format),
        )
    }

    /// The format version the file had when this [`Index::open`] upgraded
    /// it in place (`None`: it was already of [`FORMAT_VERSION`]).
    pub fn upgraded_from(&self) -> Option<u32> {
        self.upgraded_from
    }

    /// An open index over `db`, with its buckets and their merge thread.
    fn assemble(
        db: Database,
        path: &Path,
        spec: IndexSpec,
        buckets: BucketMap,
        templates: Option<Templates>,
        upgraded_from: Option<u32>,
    ) -> Result<Index> {
        let fingerprinter = Fingerprinter {
            shingle: spec.fingerprint.shingle,
            sketch: spec.fingerprint.sketch,
        };
        let buckets = Arc::new(RwLock::new(buckets));
        // The thread ends when the index is dropped (its queue closes).
        let (merges, queue) = mpsc::channel::<Merge>();
        let map = Arc::clone(&buckets);
        std::thread::Builder::new()
            .name("lookalike-merge".into())
            .spawn(move || {
                for merge in queue {
                    if merge.run(&map).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| err(path, format!("cannot start a thread: {e}")))?;
        Ok(Index {
            db,
            path: path.to_path_buf(),
            spec,
            fingerprinter,
            buckets,
            merges,
            writer: Mutex::new(()),
            backing_up: Mutex::new(()),
            templates: templates.map(RwLock::new),
            upgraded_from,
        })
    }

    /// The index's spec.
    pub fn spec(&self) -> &IndexSpec {
        &self.spec
    }

    /// How this index fingerprints documents (fixed by its spec).
    pub fn fingerprinter(&self) -> &Fingerprinter {
        &self.fingerprinter
    }

    /// Refuse settings other than the index's own.
    pub fn check_spec(&self, requested: &IndexSpec) -> Result<()> {
        if requested.fingerprint != self.spec.fingerprint
            || requested.threshold != self.spec.threshold
        {
            return Err(Error::index(
                &self.path,
                IndexProblem::Settings,
                format!(
                    "was made with other settings ({})",
                    serde_json::to_string(&self.spec).unwrap_or_default()
                ),
            ));
        }
        Ok(())
    }
}
