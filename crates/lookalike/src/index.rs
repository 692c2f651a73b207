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
//! (see `buckets.rs` for why).
//!
//! The [`IndexSpec`] — fingerprint spec, threshold, bands × rows — is fixed
//! when the index is created; opening it with other settings is an error,
//! never a silent comparison of incomparable fingerprints. [`FORMAT_VERSION`]
//! changes whenever the layout does.

use std::path::{Path, PathBuf};

use std::sync::{Arc, Mutex, RwLock, mpsc};

use redb::{
    Database, MultimapTableDefinition, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition,
};
use serde::{Deserialize, Serialize};

use crate::buckets::{BucketMap, Merge};
use crate::dedup::Relation;
use crate::error::{Error, IndexProblem, Result};
use crate::fingerprint::{FingerprintSpec, Fingerprinter};
use crate::lsh::LshParams;
use crate::sketch::Signature;
use crate::verify::jaccard;

/// Layout version of the index file. Versions 1 and 2 kept the buckets in a
/// multimap table (and 1 had no `times` table); versions 1 to 3 stored each
/// document's signature and its 64-bit shingle hashes. They are upgraded in
/// place when opened (see [`Index::open`]).
pub const FORMAT_VERSION: u32 = 4;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const DOCS: TableDefinition<u64, &[u8]> = TableDefinition::new("docs");
const IDS: TableDefinition<&str, u64> = TableDefinition::new("ids");
/// Formats 1 and 2 only: dropped by the upgrade.
const OLD_BUCKETS: MultimapTableDefinition<u128, u64> = MultimapTableDefinition::new("buckets");
const BANDS: TableDefinition<u64, &[u8]> = TableDefinition::new("bands");
const TIMES: TableDefinition<(i64, u64), ()> = TableDefinition::new("times");

const NO_WORDS: &str = "no words: not stored";

/// Batches smaller than this are fingerprinted without the thread pool.
const SMALL_BATCH: usize = 8;

/// Documents whose stored-bucket lookups are made under one hold of the
/// buckets' read lock before a batch's turn (a writer waiting to publish
/// waits for at most this many documents' lookups).
const LOOKUP_CHUNK: usize = 64;

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

/// Seconds since the Unix epoch, now.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn read_u64(
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
}

/// Settings a caller expects an existing index to have, each `None` meaning
/// "whatever it has": [`Index::open_expecting`] refuses an index made with
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
struct StoredDocV3 {
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
mod packed_u32 {
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

/// What the index needs of one document's fingerprint.
struct Print {
    /// xxh3-128 of the normalised text.
    exact: u128,
    /// Its band keys; none for a document without words.
    keys: Vec<u64>,
    /// Its shingle set as the index compares it ([`short_shingles`]).
    shingles: Vec<u32>,
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
    /// them out while lookups and insertions go on (see `buckets.rs`).
    merges: mpsc::Sender<Merge>,
    /// Held from a writer's first lookup until its batch is in `buckets`, so
    /// the next batch sees this one's documents.
    writer: Mutex<()>,
    /// Held while a backup runs: one at a time.
    backing_up: Mutex<()>,
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

/// A failure while working on the index that is not the database's: the
/// disk, a thread, an encoding.
fn err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::index(path, IndexProblem::Storage, e.to_string())
}

/// A database error while working on the index, by its kind: damage redb
/// finds in a page, or a table missing or of another type, is damage (the
/// file cannot be trusted; retrying will not help); anything else is the
/// storage failing (the disk, no space), which may pass.
fn db_err(path: &Path, e: impl Into<redb::Error>) -> Error {
    let e: redb::Error = e.into();
    let problem = match &e {
        redb::Error::Corrupted(_)
        | redb::Error::TableDoesNotExist(_)
        | redb::Error::TableTypeMismatch { .. }
        | redb::Error::TableIsMultimap(_)
        | redb::Error::TableIsNotMultimap(_)
        | redb::Error::TypeDefinitionChanged { .. } => IndexProblem::Damaged,
        _ => IndexProblem::Storage,
    };
    Error::index(path, problem, e.to_string())
}

/// Copy every entry of table `def` from `tx` (reading the index `from`)
/// into `w` (writing the backup `to`: its failures are the storage's);
/// returns the entries copied.
fn copy_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    tx: &redb::ReadTransaction,
    w: &redb::WriteTransaction,
    def: TableDefinition<K, V>,
    from: &Path,
    to: &Path,
) -> Result<u64> {
    let source = tx.open_table(def).map_err(|e| db_err(from, e))?;
    let out = |e: &dyn std::fmt::Display| {
        Error::index(
            to,
            IndexProblem::Storage,
            format!("cannot write the backup: {e}"),
        )
    };
    let mut target = w.open_table(def).map_err(|e| out(&e))?;
    let mut n = 0;
    for r in source.iter().map_err(|e| db_err(from, e))? {
        let (k, v) = r.map_err(|e| db_err(from, e))?;
        target.insert(k.value(), v.value()).map_err(|e| out(&e))?;
        n += 1;
    }
    Ok(n)
}

/// Stored document `n` decoded; a record that does not decode is damage.
fn decode<T: serde::de::DeserializeOwned>(path: &Path, n: u64, bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| damaged(path, format!("corrupt document {n}: {e}")))
}

/// Damage found in the index's contents.
fn damaged(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::index(path, IndexProblem::Damaged, e.to_string())
}

/// Most similar first; ties by id, so the order never depends on storage.
fn sort_matches(matches: &mut [Match]) {
    matches.sort_by(|a, b| {
        b.similarity
            .total_cmp(&a.similarity)
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// Numbered matches without their numbers, most similar first.
fn ranked(numbered: Vec<(u64, Match)>) -> Vec<Match> {
    let mut matches: Vec<Match> = numbered.into_iter().map(|(_, m)| m).collect();
    sort_matches(&mut matches);
    matches
}

/// A document's band keys.
fn keys_of(lsh: &LshParams, sig: &Signature) -> Vec<u64> {
    (0..lsh.bands).map(|band| lsh.band_key(sig, band)).collect()
}

/// Band keys packed for the `bands` table (read back by `unpack_keys`).
fn pack_keys(keys: &[u64]) -> Vec<u8> {
    keys.iter().flat_map(|k| k.to_le_bytes()).collect()
}

fn unpack_keys(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
}

/// Why a file could not be opened as a database, in words that name the
/// real cause.
fn open_error(path: &Path, e: redb::DatabaseError) -> Error {
    use redb::{DatabaseError, StorageError};
    let (problem, message) = match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => (
            IndexProblem::InUse,
            "in use: another process has it open (one process at a time)".to_string(),
        ),
        DatabaseError::Storage(StorageError::Corrupted(why)) if why.contains("magic") => (
            IndexProblem::NotAnIndex,
            format!("not a lookalike index (not a database file: {why})"),
        ),
        DatabaseError::Storage(StorageError::Corrupted(why)) => (
            IndexProblem::Damaged,
            format!(
                "damaged ({why}); it cannot be read safely: restore it from a backup, or rebuild \
                 it from the documents"
            ),
        ),
        DatabaseError::Storage(StorageError::Io(io)) if io.to_string().contains("magic number") => {
            (
                IndexProblem::NotAnIndex,
                format!("not a lookalike index (not a database file: {io})"),
            )
        }
        DatabaseError::Storage(StorageError::Io(io))
            if io.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            (
                IndexProblem::Damaged,
                "damaged: the file ends early (cut short?); restore it from a backup, or rebuild \
                 it from the documents"
                    .to_string(),
            )
        }
        DatabaseError::Storage(StorageError::Io(io))
            if matches!(
                io.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            (
                IndexProblem::ReadOnly,
                format!(
                    "cannot open it for writing ({io}): an index is opened read-write, even to \
                     query it (its pages are checked and the check is committed); give this \
                     user write access, or work on a copy"
                ),
            )
        }
        DatabaseError::Storage(StorageError::Io(io)) => {
            (IndexProblem::Storage, format!("cannot read it: {io}"))
        }
        other => (
            IndexProblem::NotAnIndex,
            format!("not a lookalike index ({other})"),
        ),
    };
    Error::index(path, problem, message)
}

fn lock_err(path: &Path) -> Error {
    Error::index(
        path,
        IndexProblem::Poisoned,
        "an earlier operation panicked while holding the index; restart",
    )
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
        }
        tx.commit().map_err(|e| db_err(path, e))?;
        Index::assemble(db, path, spec, BucketMap::default(), None)
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
            // Every record was rewritten, and the database never writes in
            // place: the old pages are free but still in the file (a 6.4 GB
            // file of a million documents grew to 11 GB). Compacting gives
            // them back.
            db.compact()
                .map_err(|e| err(path, format!("upgraded, but could not compact: {e}")))?;
        }
        check_counter(&db, path)?;
        let buckets = load_buckets(&db, path, spec.lsh.bands)?;
        Index::assemble(db, path, spec, buckets, upgrade.then_some(format))
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
            upgraded_from,
        })
    }

    /// The index's spec.
    pub fn spec(&self) -> &IndexSpec {
        &self.spec
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

    /// Check documents against the index. With [`CheckOptions::store`], each
    /// is added after it is checked (so a batch is also checked against its
    /// own earlier documents) in one transaction: all of the batch is stored,
    /// or none of it, and once this returns `Ok` the batch is durable. A query
    /// (no `store`) runs in a read transaction and never waits for a writer.
    pub fn check_batch(&self, docs: &[NewDoc], opts: &CheckOptions) -> Result<Vec<Checked>> {
        use rayon::prelude::*;
        // Each document's fingerprint and band keys (none without words),
        // the keys computed once for the stored buckets, the batch's own and
        // the `bands` table. A few documents (a typical query) are done on
        // the calling thread: in the shared pool they would queue behind a
        // large batch being added, and a one-document query would wait for it.
        let print = |d: &NewDoc| {
            let f = self.fingerprinter.fingerprint(&d.text);
            Print {
                exact: f.exact,
                keys: f
                    .signature
                    .as_ref()
                    .map(|sig| keys_of(&self.spec.lsh, sig))
                    .unwrap_or_default(),
                shingles: short_shingles(&f.shingles.hashes),
            }
        };
        let prints: Vec<Print> = if docs.len() < SMALL_BATCH {
            docs.iter().map(print).collect()
        } else {
            docs.par_iter().map(print).collect()
        };
        let now = unix_now();
        let p = &self.path;
        if !opts.store {
            let tx = self.db.begin_read().map_err(|e| db_err(p, e))?;
            let docs_t = tx.open_table(DOCS).map_err(|e| db_err(p, e))?;
            let cands = self.stored_candidates(&prints)?;
            return docs
                .iter()
                .zip(&prints)
                .zip(cands)
                .map(|((d, pr), cands)| {
                    Ok(Checked {
                        id: d.id.clone(),
                        matches: ranked(self.matches(&docs_t, cands, d, pr, opts, now)?),
                        stored: false,
                        note: pr.keys.is_empty().then(|| NO_WORDS.into()),
                    })
                })
                .collect();
        }
        // Everything that depends only on the batch, on all cores before
        // the writer's turn (the one part of an ingest no other core can
        // help with): each document's record, and the matches among the
        // batch's own documents, found from their fingerprints in memory.
        let prepared: Vec<Option<Vec<u8>>> = docs
            .par_iter()
            .zip(&prints)
            .map(|(d, pr)| {
                if pr.keys.is_empty() {
                    return Ok(None);
                }
                let rec = StoredDoc {
                    id: d.id.clone(),
                    exact: pr.exact.to_le_bytes(),
                    shingles: pr.shingles.clone(),
                    source: d.source.clone(),
                    timestamp: d.timestamp,
                    text: self.spec.store_text.then(|| d.text.clone()),
                };
                postcard::to_allocvec(&rec).map(Some).map_err(|e| err(p, e))
            })
            .collect::<Result<_>>()?;
        // Every (band key, position) of the batch, sorted: the batch's own
        // pairs are read from it, and it is published in this order (see
        // the publishing below).
        let mut entries: Vec<(u64, usize)> = prints
            .iter()
            .enumerate()
            .flat_map(|(i, pr)| pr.keys.iter().map(move |&k| (k, i)))
            .collect();
        entries.par_sort_unstable();
        let own = self.batch_matches(docs, &prints, &entries, opts, now);
        // The matches with stored documents, also before the turn, against
        // every document numbered below `seen`: those are in the buckets for
        // good, and in any read transaction opened after `seen` was read
        // (they were committed before they were published).
        let seen = self.buckets.read().map_err(|_| lock_err(p))?.until;
        let early_cands = self.stored_candidates(&prints)?;
        let early: Vec<Vec<(u64, Match)>> = {
            let read = self.db.begin_read().map_err(|e| db_err(p, e))?;
            let stored_docs = read.open_table(DOCS).map_err(|e| db_err(p, e))?;
            docs.par_iter()
                .zip(&prints)
                .zip(early_cands)
                .map(|((d, pr), cands)| self.matches(&stored_docs, cands, d, pr, opts, now))
                .collect::<Result<_>>()?
        };
        let _writer = self.writer.lock().map_err(|_| lock_err(p))?;
        // Holding the writer's turn, nothing is committed until this batch
        // is, and every committed batch is published: the documents stored
        // since `seen` (usually a batch or two, still in the buckets' recent
        // chains) are checked now, and the early matches kept only if their
        // document is still stored under the same number (not removed, or
        // removed and added again, meanwhile).
        let stored_matches: Vec<Vec<Match>> = {
            let read = self.db.begin_read().map_err(|e| db_err(p, e))?;
            let stored_docs = read.open_table(DOCS).map_err(|e| db_err(p, e))?;
            let ids_now = read.open_table(IDS).map_err(|e| db_err(p, e))?;
            // Only the recent chains are read, under one short hold of the
            // lock (the database reads below are made without it).
            let newer: Vec<Vec<u64>> = {
                let buckets = self.buckets.read().map_err(|_| lock_err(p))?;
                let newer = buckets.until > seen;
                prints
                    .iter()
                    .map(|pr| {
                        let mut cands = Vec::new();
                        if newer {
                            buckets.get_all_since(&pr.keys, seen, &mut cands);
                            cands.sort_unstable();
                            cands.dedup();
                        }
                        cands
                    })
                    .collect()
            };
            docs.par_iter()
                .zip(&prints)
                .zip(early.into_par_iter().zip(newer))
                .map(|((d, pr), (early, mut cands))| {
                    let mut matches = Vec::with_capacity(early.len());
                    // Found early already: published after `seen` was read,
                    // but committed before the read transaction.
                    cands.retain(|c| !early.iter().any(|(n, _)| n == c));
                    for (n, m) in early {
                        let now_at = ids_now.get(m.id.as_str()).map_err(|e| db_err(p, e))?;
                        if now_at.map(|v| v.value()) == Some(n) {
                            matches.push(m);
                        }
                    }
                    let later = self.matches(&stored_docs, cands, d, pr, opts, now)?;
                    matches.extend(later.into_iter().map(|(_, m)| m));
                    sort_matches(&mut matches);
                    Ok(matches)
                })
                .collect::<Result<_>>()?
        };
        let tx = self.db.begin_write().map_err(|e| db_err(p, e))?;
        let mut out = Vec::with_capacity(docs.len());
        // The number each document is stored under (none if it is not).
        let mut numbers: Vec<Option<u64>> = vec![None; docs.len()];
        // One past the last number handed out.
        let next = {
            let mut meta = tx.open_table(META).map_err(|e| db_err(p, e))?;
            let mut docs_t = tx.open_table(DOCS).map_err(|e| db_err(p, e))?;
            let mut ids_t = tx.open_table(IDS).map_err(|e| db_err(p, e))?;
            let mut times = tx.open_table(TIMES).map_err(|e| db_err(p, e))?;
            let mut bands_t = tx.open_table(BANDS).map_err(|e| db_err(p, e))?;
            let mut next = read_u64(&meta, "next", p)?;
            for (i, ((d, pr), (mut matches, record))) in docs
                .iter()
                .zip(&prints)
                .zip(stored_matches.into_iter().zip(prepared))
                .enumerate()
            {
                let Some(record) = record else {
                    out.push(Checked {
                        id: d.id.clone(),
                        matches: Vec::new(),
                        stored: false,
                        note: Some(NO_WORDS.into()),
                    });
                    continue;
                };
                // ... and the batch's earlier documents that were stored.
                let before = matches.len();
                matches.extend(
                    own[i]
                        .iter()
                        .filter(|(j, _)| numbers[*j].is_some())
                        .map(|(_, m)| m.clone()),
                );
                if matches.len() > before {
                    sort_matches(&mut matches);
                }
                let mut checked = Checked {
                    id: d.id.clone(),
                    matches,
                    stored: false,
                    note: None,
                };
                if ids_t
                    .get(d.id.as_str())
                    .map_err(|e| db_err(p, e))?
                    .is_some()
                {
                    checked.note = Some("a document with this id is already stored: not stored again (remove it first to replace it)".into());
                } else {
                    docs_t
                        .insert(next, record.as_slice())
                        .map_err(|e| db_err(p, e))?;
                    ids_t
                        .insert(d.id.as_str(), next)
                        .map_err(|e| db_err(p, e))?;
                    if let Some(t) = d.timestamp {
                        times.insert((t, next), ()).map_err(|e| db_err(p, e))?;
                    }
                    bands_t
                        .insert(next, pack_keys(&pr.keys).as_slice())
                        .map_err(|e| db_err(p, e))?;
                    numbers[i] = Some(next);
                    next += 1;
                    checked.stored = true;
                }
                out.push(checked);
            }
            meta.insert("next", next.to_le_bytes().as_slice())
                .map_err(|e| db_err(p, e))?;
            next
        };
        // Published in key order (and within a key in increasing numbers,
        // as the buckets ask), so their recent additions are sorted runs end
        // to end, which their merge sorts in a few passes. Published on
        // another thread while the commit waits on the disk (about as long
        // as the publishing takes, so this takes it out of the turn). A
        // lookup meanwhile may meet this batch's numbers and skip them as
        // not stored, since no read transaction holds them yet; what it
        // relies on is the watermark, `until`, moved past the batch only
        // once the commit is done. If the commit fails, the numbers are
        // handed out again to later documents and the entries left behind
        // only cost a lookup each: every candidate is checked against its
        // stored record.
        let publish = || {
            let mut buckets = self.buckets.write().map_err(|_| lock_err(p))?;
            for &(key, i) in &entries {
                if let Some(n) = numbers[i] {
                    buckets.insert(key, n);
                }
            }
            Ok(())
        };
        let (committed, published) = std::thread::scope(|s| {
            let publisher = s.spawn(publish);
            let committed = tx.commit().map_err(|e| db_err(p, e));
            let published = publisher
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (committed, published)
        });
        committed?;
        published?;
        let merge = {
            let mut buckets = self.buckets.write().map_err(|_| lock_err(p))?;
            buckets.until = buckets.until.max(next);
            buckets.start_merge()
        };
        if let Some(merge) = merge {
            // On the merge thread; here only if that thread is gone (it
            // stops when the lock is poisoned, and then so does this).
            if let Err(mpsc::SendError(merge)) = self.merges.send(merge) {
                merge.run(&self.buckets).map_err(|_| lock_err(p))?;
            }
        }
        Ok(out)
    }

    /// For each document of a batch, the earlier documents of the batch it
    /// duplicates: (their position, the match). Pairs come from shared band
    /// keys (`entries`: every (key, position), sorted), as with stored
    /// documents, and are judged by the same rule ([`Index::judge`]), on
    /// all cores.
    fn batch_matches(
        &self,
        docs: &[NewDoc],
        prints: &[Print],
        entries: &[(u64, usize)],
        opts: &CheckOptions,
        now: i64,
    ) -> Vec<Vec<(usize, Match)>> {
        use rayon::prelude::*;
        // (later, earlier) for every two documents sharing a key.
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        for bucket in entries.chunk_by(|a, b| a.0 == b.0) {
            for (n, &(_, later)) in bucket.iter().enumerate() {
                pairs.extend(
                    bucket[..n]
                        .iter()
                        .filter(|&&(_, earlier)| earlier != later)
                        .map(|&(_, earlier)| (later, earlier)),
                );
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let judged: Vec<Option<(usize, usize, Match)>> = pairs
            .par_iter()
            .map(|&(later, earlier)| {
                let (d, f) = (&docs[later], &prints[later]);
                let (e, g) = (&docs[earlier], &prints[earlier]);
                self.judge(
                    opts,
                    d,
                    &f.shingles,
                    now,
                    e.timestamp,
                    f.exact == g.exact,
                    &g.shingles,
                )
                .map(|(similarity, relation)| {
                    let m = Match {
                        id: e.id.clone(),
                        similarity,
                        relation,
                        source: e.source.clone(),
                        timestamp: e.timestamp,
                    };
                    (later, earlier, m)
                })
            })
            .collect();
        let mut out = vec![Vec::new(); docs.len()];
        for (later, earlier, m) in judged.into_iter().flatten() {
            out[later].push((earlier, m));
        }
        out
    }

    /// For each document, the documents sharing a bucket with it under any
    /// of its keys, each once. The buckets are read a few documents at a
    /// time, so a writer waits for those lookups at most (and every reader
    /// arriving behind it waits for the writer), and on this thread, not in
    /// tasks of the shared pool: a pool thread waiting for the lock would
    /// hold up every task queued behind it.
    fn stored_candidates(&self, prints: &[Print]) -> Result<Vec<Vec<u64>>> {
        let mut out = Vec::with_capacity(prints.len());
        for chunk in prints.chunks(LOOKUP_CHUNK) {
            let buckets = self.buckets.read().map_err(|_| lock_err(&self.path))?;
            out.extend(chunk.iter().map(|pr| {
                let mut cands = Vec::new();
                buckets.get_all(&pr.keys, &mut cands);
                cands.sort_unstable();
                cands.dedup();
                cands
            }));
        }
        Ok(out)
    }

    /// Whether new document `d` (shingle set `mine`) duplicates an earlier
    /// one with this timestamp and shingle set (`exact`: the same normalised
    /// text), and how: the one rule for stored documents and for a batch's
    /// own. News mode compares only with documents no older than the window
    /// before the new one (or now); one without a timestamp has no known age
    /// and is always compared. Then an exact copy, or a near one at the
    /// index's threshold of exact Jaccard.
    #[allow(clippy::too_many_arguments)]
    fn judge(
        &self,
        opts: &CheckOptions,
        d: &NewDoc,
        mine: &[u32],
        now: i64,
        timestamp: Option<i64>,
        exact: bool,
        theirs: &[u32],
    ) -> Option<(f64, Relation)> {
        let oldest = opts
            .window
            .map(|w| d.timestamp.unwrap_or(now).saturating_sub(w));
        if let (Some(oldest), Some(t)) = (oldest, timestamp) {
            if t < oldest {
                return None;
            }
        }
        if exact {
            return Some((1.0, Relation::Exact));
        }
        let sim = jaccard(theirs, mine);
        (sim >= self.spec.threshold).then_some((sim, Relation::Near))
    }

    /// The stored candidates `d` (fingerprinted as `pr`) duplicates, with
    /// their numbers, in the
    /// candidates' order (a candidate no longer stored, one removed since
    /// the buckets were built, is skipped).
    fn matches(
        &self,
        docs_t: &impl ReadableTable<u64, &'static [u8]>,
        cands: Vec<u64>,
        d: &NewDoc,
        pr: &Print,
        opts: &CheckOptions,
        now: i64,
    ) -> Result<Vec<(u64, Match)>> {
        let p = &self.path;
        let mut matches = Vec::new();
        for c in cands {
            let Some(raw) = docs_t.get(c).map_err(|e| db_err(p, e))? else {
                continue;
            };
            let stored: StoredDoc = decode(p, c, raw.value())?;
            let exact = stored.exact == pr.exact.to_le_bytes();
            if let Some((similarity, relation)) = self.judge(
                opts,
                d,
                &pr.shingles,
                now,
                stored.timestamp,
                exact,
                &stored.shingles,
            ) {
                let m = Match {
                    id: stored.id,
                    similarity,
                    relation,
                    source: stored.source,
                    timestamp: stored.timestamp,
                };
                matches.push((c, m));
            }
        }
        Ok(matches)
    }

    /// A stored document by id.
    pub fn get(&self, id: &str) -> Result<Option<StoredDoc>> {
        let p = &self.path;
        let tx = self.db.begin_read().map_err(|e| db_err(p, e))?;
        let ids = tx.open_table(IDS).map_err(|e| db_err(p, e))?;
        let Some(n) = ids.get(id).map_err(|e| db_err(p, e))? else {
            return Ok(None);
        };
        let docs = tx.open_table(DOCS).map_err(|e| db_err(p, e))?;
        let number = n.value();
        let Some(raw) = docs.get(number).map_err(|e| db_err(p, e))? else {
            return Ok(None);
        };
        Ok(Some(decode(p, number, raw.value())?))
    }

    /// The most recently stored documents, newest first: at most `limit`,
    /// all stored before document number `before` when it is given (the
    /// `number` of the last one of a previous page). Numbers only grow, so
    /// this is the order of arrival whatever the documents' timestamps say.
    pub fn recent(&self, limit: usize, before: Option<u64>) -> Result<Vec<(u64, StoredDoc)>> {
        let p = &self.path;
        let tx = self.db.begin_read().map_err(|e| db_err(p, e))?;
        let docs = tx.open_table(DOCS).map_err(|e| db_err(p, e))?;
        let range = docs
            .range(..before.unwrap_or(u64::MAX))
            .map_err(|e| db_err(p, e))?;
        range
            .rev()
            .take(limit)
            .map(|r| {
                let (n, raw) = r.map_err(|e| db_err(p, e))?;
                let n = n.value();
                Ok((n, decode(p, n, raw.value())?))
            })
            .collect()
    }

    /// How this index fingerprints documents (fixed by its spec).
    pub fn fingerprinter(&self) -> &Fingerprinter {
        &self.fingerprinter
    }

    /// Remove documents by id; returns, per id, whether it was stored.
    pub fn remove(&self, ids: &[String]) -> Result<Vec<bool>> {
        let p = &self.path;
        let tx = self.db.begin_write().map_err(|e| db_err(p, e))?;
        let mut out = Vec::new();
        {
            let mut ids_t = tx.open_table(IDS).map_err(|e| db_err(p, e))?;
            let mut numbers = Vec::new();
            for id in ids {
                let n = ids_t.remove(id.as_str()).map_err(|e| db_err(p, e))?;
                out.push(n.is_some());
                numbers.extend(n.map(|v| v.value()));
            }
            drop(ids_t);
            self.unstore(&tx, &numbers, false)?;
        }
        tx.commit().map_err(|e| db_err(p, e))?;
        Ok(out)
    }

    /// Remove every document whose timestamp is before `cutoff` (seconds
    /// since the Unix epoch); documents without a timestamp stay. Returns how
    /// many were removed.
    pub fn prune(&self, cutoff: i64) -> Result<u64> {
        let p = &self.path;
        let tx = self.db.begin_write().map_err(|e| db_err(p, e))?;
        let numbers: Vec<u64> = {
            let times = tx.open_table(TIMES).map_err(|e| db_err(p, e))?;
            times
                .range(..(cutoff, 0))
                .map_err(|e| db_err(p, e))?
                .map(|r| r.map(|(k, _)| k.value().1).map_err(|e| db_err(p, e)))
                .collect::<Result<_>>()?
        };
        self.unstore(&tx, &numbers, true)?;
        tx.commit().map_err(|e| db_err(p, e))?;
        Ok(numbers.len() as u64)
    }

    /// Delete documents by number from `docs`, `times` and `bands` (and
    /// from `ids` when `with_ids`; `remove` has already done that).
    fn unstore(&self, tx: &redb::WriteTransaction, numbers: &[u64], with_ids: bool) -> Result<()> {
        let p = &self.path;
        let mut docs_t = tx.open_table(DOCS).map_err(|e| db_err(p, e))?;
        let mut ids_t = tx.open_table(IDS).map_err(|e| db_err(p, e))?;
        let mut bands_t = tx.open_table(BANDS).map_err(|e| db_err(p, e))?;
        let mut times = tx.open_table(TIMES).map_err(|e| db_err(p, e))?;
        for &n in numbers {
            let Some(raw) = docs_t.remove(n).map_err(|e| db_err(p, e))? else {
                continue;
            };
            let stored: StoredDoc = decode(p, n, raw.value())?;
            drop(raw);
            if with_ids {
                ids_t.remove(stored.id.as_str()).map_err(|e| db_err(p, e))?;
            }
            if let Some(t) = stored.timestamp {
                times.remove((t, n)).map_err(|e| db_err(p, e))?;
            }
            // The in-memory buckets keep the number; lookups skip it.
            bands_t.remove(n).map_err(|e| db_err(p, e))?;
        }
        Ok(())
    }

    /// Copy the index as it is now into a new index file at `dest`, and
    /// return the number of documents copied. The copy is read in one read
    /// transaction: consistent, and made while writers go on (a running
    /// `serve` keeps answering and storing; the file cannot reuse pages
    /// freed meanwhile, so it grows a little while a backup runs). It is
    /// written to a new temporary file of its own beside `dest` and moved
    /// into place only if nothing is there by then (never over a file); a
    /// failed backup leaves nothing behind. One backup at a time
    /// ([`IndexProblem::InUse`] otherwise).
    pub fn backup(&self, dest: &Path) -> Result<u64> {
        let exists = || Error::index(dest, IndexProblem::Exists, "already exists");
        if dest.exists() {
            return Err(exists());
        }
        let Ok(_one) = self.backing_up.try_lock() else {
            return Err(Error::index(
                &self.path,
                IndexProblem::InUse,
                "a backup of it is already running; wait for it to end",
            ));
        };
        // Failures on the copy's side are the storage's (a missing
        // directory, a full disk), named by the backup's path.
        let out_err = |e: &dyn std::fmt::Display| {
            Error::index(
                dest,
                IndexProblem::Storage,
                format!("cannot write the backup: {e}"),
            )
        };
        let dir = dest
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".lookalike-backup-")
            .tempfile_in(dir)
            .map_err(|e| out_err(&e))?;
        let file = tmp.as_file().try_clone().map_err(|e| out_err(&e))?;
        let p = &self.path;
        let documents = {
            let tx = self.db.begin_read().map_err(|e| db_err(p, e))?;
            let backend = redb::backends::FileBackend::new(file).map_err(|e| out_err(&e))?;
            let out = redb::Builder::new()
                .create_with_backend(backend)
                .map_err(|e| out_err(&e))?;
            let w = out.begin_write().map_err(|e| out_err(&e))?;
            copy_table(&tx, &w, META, p, dest)?;
            let documents = copy_table(&tx, &w, DOCS, p, dest)?;
            copy_table(&tx, &w, IDS, p, dest)?;
            copy_table(&tx, &w, BANDS, p, dest)?;
            copy_table(&tx, &w, TIMES, p, dest)?;
            w.commit().map_err(|e| out_err(&e))?;
            documents
        };
        tmp.persist_noclobber(dest).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                exists()
            } else {
                out_err(&e.error)
            }
        })?;
        Ok(documents)
    }

    /// Read every table and report each inconsistency between them (an
    /// empty list means the index is whole): every id names a stored
    /// document that carries that id, every document is in its buckets and
    /// (when dated) in `times`, and no bucket or time entry points nowhere.
    pub fn verify(&self) -> Result<Vec<String>> {
        let p = &self.path;
        let tx = self.db.begin_read().map_err(|e| db_err(p, e))?;
        let meta = tx.open_table(META).map_err(|e| db_err(p, e))?;
        let docs_t = tx.open_table(DOCS).map_err(|e| db_err(p, e))?;
        let ids_t = tx.open_table(IDS).map_err(|e| db_err(p, e))?;
        let times = tx.open_table(TIMES).map_err(|e| db_err(p, e))?;
        let bands_t = tx.open_table(BANDS).map_err(|e| db_err(p, e))?;
        let buckets = self.buckets.read().map_err(|_| lock_err(p))?;
        let next = read_u64(&meta, "next", p)?;
        let mut problems = Vec::new();
        let mut dated = 0u64;
        for r in docs_t.iter().map_err(|e| db_err(p, e))? {
            let (k, v) = r.map_err(|e| db_err(p, e))?;
            let n = k.value();
            if n >= next {
                problems.push(format!("document {n} is not below the next number {next}"));
            }
            let stored: StoredDoc = match postcard::from_bytes(v.value()) {
                Ok(s) => s,
                Err(e) => {
                    problems.push(format!("document {n} does not decode: {e}"));
                    continue;
                }
            };
            match ids_t.get(stored.id.as_str()).map_err(|e| db_err(p, e))? {
                Some(m) if m.value() == n => {}
                other => problems.push(format!(
                    "document {n} ({:?}) is not under its id (the id points to {:?})",
                    stored.id,
                    other.map(|m| m.value())
                )),
            }
            if let Some(t) = stored.timestamp {
                dated += 1;
                if times.get((t, n)).map_err(|e| db_err(p, e))?.is_none() {
                    problems.push(format!("document {n} is missing from the time table"));
                }
            }
            let keys: Vec<u8> = match bands_t.get(n).map_err(|e| db_err(p, e))? {
                Some(k) if k.value().len() == self.spec.lsh.bands * 8 => k.value().to_vec(),
                Some(_) => {
                    problems.push(format!("document {n} has the wrong number of band keys"));
                    continue;
                }
                None => {
                    problems.push(format!("document {n} has no band keys"));
                    continue;
                }
            };
            let mut found = Vec::new();
            for (band, key) in unpack_keys(&keys).enumerate() {
                found.clear();
                buckets.get(key, &mut found);
                if !found.contains(&n) {
                    problems.push(format!(
                        "document {n} is missing from bucket of band {band}"
                    ));
                }
            }
        }
        let n_docs = docs_t.len().map_err(|e| db_err(p, e))?;
        let n_ids = ids_t.len().map_err(|e| db_err(p, e))?;
        if n_ids != n_docs {
            problems.push(format!("{n_ids} ids but {n_docs} documents"));
        }
        let n_times = times.len().map_err(|e| db_err(p, e))?;
        if n_times != dated {
            problems.push(format!(
                "{n_times} time entries but {dated} dated documents"
            ));
        }
        let n_bands = bands_t.len().map_err(|e| db_err(p, e))?;
        if n_bands != n_docs {
            problems.push(format!("{n_bands} band-key entries but {n_docs} documents"));
        }
        Ok(problems)
    }

    /// Counts and settings.
    pub fn stats(&self) -> Result<IndexStats> {
        let p = &self.path;
        let tx = self.db.begin_read().map_err(|e| db_err(p, e))?;
        let docs = tx
            .open_table(DOCS)
            .map_err(|e| db_err(p, e))?
            .len()
            .map_err(|e| db_err(p, e))?;
        let times = tx.open_table(TIMES).map_err(|e| db_err(p, e))?;
        let first = times.first().map_err(|e| db_err(p, e))?;
        let last = times.last().map_err(|e| db_err(p, e))?;
        Ok(IndexStats {
            documents: docs,
            dated: times.len().map_err(|e| db_err(p, e))?,
            oldest: first.map(|(k, _)| k.value().0),
            newest: last.map(|(k, _)| k.value().0),
            bucket_entries: self.buckets.read().map_err(|_| lock_err(p))?.len() as u64,
            spec: self.spec.clone(),
            format: FORMAT_VERSION,
            file_bytes: std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
        })
    }
}

/// Upgrade a file of format `from` (1 to 3) in one transaction: for formats
/// 1 and 2, build `times` (format 1 had none) and `bands` from the stored
/// documents and drop the old bucket table; for all, rewrite each document
/// in today's layout (its shingle set short, no signature).
fn upgrade(db: &Database, path: &Path, lsh: &LshParams, from: u32) -> Result<()> {
    let tx = db.begin_write().map_err(|e| db_err(path, e))?;
    {
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

/// The bucket map, from every document's band keys.
/// The counter of document numbers must be present and above every stored
/// number: checked on open, so a damaged counter is found before the first
/// `add` would write over a stored document.
fn check_counter(db: &Database, path: &Path) -> Result<()> {
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

fn load_buckets(db: &Database, path: &Path, band_count: usize) -> Result<BucketMap> {
    let tx = db.begin_read().map_err(|e| db_err(path, e))?;
    let bands = tx.open_table(BANDS).map_err(|e| db_err(path, e))?;
    // Streamed into the map, which sorts them by segment: a list of every
    // entry first would double the memory it takes to open.
    let mut failed = None;
    let entries = bands
        .iter()
        .map_err(|e| db_err(path, e))?
        .map_while(|r| match r {
            // A document's keys are 8 bytes for each band; any other length
            // is damage (`chunks_exact` would drop the rest silently).
            Ok((k, v)) if v.value().len() != band_count * 8 => {
                failed = Some(damaged(
                    path,
                    format!(
                        "damaged: document {} has {} bytes of band keys, not {}",
                        k.value(),
                        v.value().len(),
                        band_count * 8
                    ),
                ));
                None
            }
            Ok((k, v)) => Some((k.value(), unpack_keys(v.value()).collect::<Vec<_>>())),
            Err(e) => {
                failed = Some(db_err(path, e));
                None
            }
        })
        .flat_map(|(n, keys)| keys.into_iter().map(move |key| (key, n)));
    let map = BucketMap::from_entries(entries);
    match failed {
        Some(e) => Err(e),
        None => Ok(map),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let c = "shares in the shipping company rose after profits doubled in the first half of the year";
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
}
