//! Salvage: copy what can still be read of a damaged index into a new one.
//!
//! A damaged file cannot be trusted as a whole, but most of its documents
//! usually can: damage hits a few pages, and each document's record, id
//! and band keys sit in their own entries. Salvage reads the source through
//! a copy (the damaged file itself is never written), takes every document
//! it can read and check, and writes them into a new index with tables
//! rebuilt from the records (ids, times) or checked (band keys). Every
//! read of the damaged copy is guarded: redb may panic on a page it cannot
//! make sense of, and that loses the entry, never the run.
//!
//! A document is copied only if its record decodes, its shingle set is
//! sorted as the index writes it, its id is not claimed by another
//! document, and its band keys are whole. With stored texts the check is
//! exact: the text is fingerprinted again and must give the record's exact
//! hash and shingle set, and the band keys are recomputed from it (so a
//! document whose keys were lost is still copied). Without texts, a record
//! whose damage keeps its structure cannot be told from a sound one.

use std::collections::{BTreeSet, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable};
use serde::Serialize;

use super::Index;
use super::bands::{keys_of, pack_keys, unpack_keys};
use super::errors::{damaged, err};
use super::format::{
    BANDS, DOCS, FACTS, FORMAT_VERSION, IDS, IndexSpec, META, StoredDoc, TIMES, pack_facts,
    short_shingles,
};
use crate::error::{Error, IndexProblem, Result};
use crate::fingerprint::Fingerprinter;

/// Documents written per transaction of the new index: bounds the memory a
/// salvage of a large index holds.
const WRITE_CHUNK: usize = 8192;

/// What [`Index::salvage`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Salvaged {
    /// Documents copied into the new index.
    pub copied: u64,
    /// Each document that could not be copied, with why ("document 17
    /// (\"a.txt\"): its record does not decode: ..."), in number order;
    /// also damage that may hide documents (a table whose listing broke
    /// off, a damaged counter).
    pub lost: Vec<String>,
    /// Whether the copied documents were checked against their stored
    /// texts (exactly), or by their records' structure only.
    pub checked_by_text: bool,
}

/// Run `f`, turning a panic inside it (redb's, on a page it cannot read)
/// into `None`.
fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

/// One document read back and checked: its number, record and band keys.
struct Sound {
    number: u64,
    record: StoredDoc,
    keys: Vec<u64>,
    /// Its facts, for an index that judges stories.
    facts: Vec<u32>,
}

impl Index {
    /// Copy every readable, consistent document of the index at `src`
    /// (damaged or not) into a new index at `dest`, under its old numbers,
    /// and report what could not be copied. `src` is never written: it is
    /// read through a copy made beside `dest`. The new index is written to
    /// a temporary file, checked (opened, its pages and tables verified) and
    /// only then moved to `dest`, which must not exist. Refused when another
    /// process holds `src` ([`IndexProblem::InUse`]), and when not even the
    /// index's settings can be read ([`IndexProblem::Damaged`]): then
    /// nothing can be salvaged, and the index must be rebuilt from the
    /// documents.
    pub fn salvage(src: &Path, dest: &Path) -> Result<Salvaged> {
        if dest.exists() {
            return Err(Error::index(dest, IndexProblem::Exists, "already exists"));
        }
        if !src.is_file() {
            return Err(Error::index(
                src,
                IndexProblem::Missing,
                "no such index file",
            ));
        }
        // A process holding the file may be writing it: a copy taken now
        // could be torn. (A read-only open takes the file's shared lock;
        // any other failure of it is left for the copy to meet.)
        if let Some(Err(redb::DatabaseError::DatabaseAlreadyOpen)) =
            guarded(|| redb::ReadOnlyDatabase::open(src).map(drop))
        {
            return Err(Error::index(
                src,
                IndexProblem::InUse,
                "in use: another process has it open; stop it first (a running `serve` can \
                 make a backup instead: POST /v1/backup)",
            ));
        }
        let out_err = |e: &dyn std::fmt::Display| {
            Error::index(dest, IndexProblem::Storage, format!("cannot write: {e}"))
        };
        let dir = dest
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let temp = |prefix: &str| {
            tempfile::Builder::new()
                .prefix(prefix)
                .tempfile_in(dir)
                .map_err(|e| out_err(&e))
        };
        let source_copy = temp(".lookalike-salvage-source-")?;
        std::fs::copy(src, source_copy.path())
            .map_err(|e| err(src, format!("cannot read it: {e}")))?;
        // Opened without the integrity check (which refuses the whole file
        // when a page is damaged); redb repairs what it can of a file not
        // closed cleanly.
        let db = match guarded(|| Database::builder().open(source_copy.path())) {
            Some(Ok(db)) => db,
            Some(Err(e)) => {
                return Err(damaged(
                    src,
                    format!(
                        "damaged beyond salvage: the database cannot be opened ({e}); rebuild \
                         the index from its documents"
                    ),
                ));
            }
            None => {
                return Err(damaged(
                    src,
                    "damaged beyond salvage: the database cannot be opened; rebuild the index \
                     from its documents",
                ));
            }
        };
        let (spec, next) = read_meta(&db, src)?;
        let mut lost = Vec::new();
        let sound = read_documents(&db, &spec, next, &mut lost);
        // Closing a damaged database may itself panic (its state is
        // written back on drop).
        guarded(|| drop(db));
        drop(source_copy);

        let out = temp(".lookalike-salvage-")?;
        let copied = write_index(out.path(), &spec, next, &sound).map_err(|e| out_err(&e))?;
        // The new index must open and verify as any index does: anything
        // else is this function's fault, and no file is left behind.
        let problems = Index::open(out.path())?.verify()?;
        if !problems.is_empty() {
            return Err(err(
                dest,
                format!(
                    "the salvaged copy does not verify ({}); this is a bug in lookalike",
                    problems.join("; ")
                ),
            ));
        }
        out.persist_noclobber(dest).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::index(dest, IndexProblem::Exists, "already exists")
            } else {
                out_err(&e.error)
            }
        })?;
        Ok(Salvaged {
            copied,
            lost,
            checked_by_text: spec.store_text,
        })
    }
}

/// The settings and the document counter (`None` when it is unreadable).
/// Without readable settings nothing can be salvaged: the documents'
/// fingerprints cannot be compared with anything.
fn read_meta(db: &Database, src: &Path) -> Result<(IndexSpec, Option<u64>)> {
    let beyond = |why: String| {
        damaged(
            src,
            format!("damaged beyond salvage: {why}; rebuild the index from its documents"),
        )
    };
    let read = guarded(|| -> std::result::Result<_, String> {
        let tx = db.begin_read().map_err(|e| e.to_string())?;
        let meta = tx.open_table(META).map_err(|e| e.to_string())?;
        let get = |key: &str| -> std::result::Result<Option<Vec<u8>>, String> {
            Ok(meta
                .get(key)
                .map_err(|e| e.to_string())?
                .map(|v| v.value().to_vec()))
        };
        Ok((get("format")?, get("spec")?, get("next").ok().flatten()))
    })
    .unwrap_or_else(|| Err("its metadata cannot be read".into()))
    .map_err(|e| beyond(format!("its metadata cannot be read ({e})")))?;
    let (format, spec, next) = read;
    let format = format
        .and_then(|f| <[u8; 4]>::try_from(f.as_slice()).ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| beyond("its format entry is lost".into()))?;
    if format != FORMAT_VERSION {
        return Err(Error::index(
            src,
            IndexProblem::Format,
            format!(
                "format version {format}: salvage reads version {FORMAT_VERSION} only (open an \
                 older index with this lookalike first, which upgrades it)"
            ),
        ));
    }
    let spec: IndexSpec = spec
        .and_then(|s| serde_json::from_slice(&s).ok())
        .ok_or_else(|| beyond("its settings entry is lost".into()))?;
    let next = next
        .and_then(|n| <[u8; 8]>::try_from(n.as_slice()).ok())
        .map(u64::from_le_bytes);
    Ok((spec, next))
}

/// The numbers of the entries of a table keyed by document number (or,
/// for `ids`, pointing to one), as far as its listing can be read; a
/// listing that breaks off is noted in `lost`.
fn listed(db: &Database, table: &str, lost: &mut Vec<String>) -> BTreeSet<u64> {
    let mut numbers = BTreeSet::new();
    let complete = guarded(|| -> std::result::Result<(), String> {
        let tx = db.begin_read().map_err(|e| e.to_string())?;
        let mut add = |n: u64| {
            numbers.insert(n);
        };
        match table {
            "ids" => {
                let t = tx.open_table(IDS).map_err(|e| e.to_string())?;
                for r in t.iter().map_err(|e| e.to_string())? {
                    add(r.map_err(|e| e.to_string())?.1.value());
                }
            }
            "bands" => {
                let t = tx.open_table(BANDS).map_err(|e| e.to_string())?;
                for r in t.iter().map_err(|e| e.to_string())? {
                    add(r.map_err(|e| e.to_string())?.0.value());
                }
            }
            _ => {
                let t = tx.open_table(DOCS).map_err(|e| e.to_string())?;
                for r in t.iter().map_err(|e| e.to_string())? {
                    add(r.map_err(|e| e.to_string())?.0.value());
                }
            }
        }
        Ok(())
    });
    match complete {
        Some(Ok(())) => {}
        Some(Err(e)) => lost.push(format!(
            "the {table} table could not be read to its end ({e}): documents listed only there \
             past the damage may be missing"
        )),
        None => lost.push(format!(
            "the {table} table could not be read to its end: documents listed only there past \
             the damage may be missing"
        )),
    }
    numbers
}

/// Every document that can be read and checked, in number order; what
/// cannot goes into `lost`. The numbers looked at are those any table
/// lists, and every number below the counter (so documents in a part of
/// the tree whose listing broke off are still found by lookup), unless the
/// counter is unreadable or implausible.
fn read_documents(
    db: &Database,
    spec: &IndexSpec,
    next: Option<u64>,
    lost: &mut Vec<String>,
) -> Vec<Sound> {
    let mut numbers = listed(db, "docs", lost);
    // Numbers another table names: a document missing under one of them
    // was stored and is lost. A damaged page of those tables may name any
    // number, so the counter bounds them when it is plausible.
    let mut named = listed(db, "ids", lost);
    named.extend(listed(db, "bands", lost));
    let highest = numbers.last().map_or(0, |&n| n + 1);
    match next {
        // Removed documents leave gaps, so the counter may be well above
        // the last document listed; a counter far beyond it is damage.
        Some(next) if next >= highest && next <= highest.saturating_mul(2) + (1 << 20) => {
            named.retain(|&n| n < next);
            numbers.extend(0..next);
        }
        Some(next) => lost.push(format!(
            "the document counter is damaged ({next}, with documents up to {highest}): only \
             listed documents were looked at"
        )),
        None => lost
            .push("the document counter is lost: only listed documents were looked at".to_string()),
    }
    numbers.extend(&named);
    let fingerprinter = Fingerprinter {
        shingle: spec.fingerprint.shingle,
        sketch: spec.fingerprint.sketch,
    };
    let mut sound: Vec<Sound> = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    let numbers: Vec<u64> = numbers.into_iter().collect();
    // A read transaction per chunk: a panic inside one loses that chunk's
    // transaction only, and the next chunk opens its own.
    for chunk in numbers.chunks(1024) {
        let mut tx = None;
        renew(db, &mut tx);
        for &n in chunk {
            let Some(t) = tx.as_ref() else {
                lost.push(format!("document {n}: cannot be read"));
                renew(db, &mut tx);
                continue;
            };
            match guarded(|| read_one(t, n, spec, &fingerprinter)) {
                Some(Ok(Some(doc))) => {
                    if ids.insert(doc.record.id.clone()) {
                        sound.push(doc);
                    } else {
                        lost.push(format!(
                            "document {n} ({:?}): another document has its id",
                            doc.record.id
                        ));
                    }
                }
                Some(Ok(None)) if named.contains(&n) => {
                    lost.push(format!("document {n}: listed, but its record is lost"));
                }
                Some(Ok(None)) => {}
                Some(Err(why)) => lost.push(format!("document {n}: {why}")),
                None => {
                    lost.push(format!("document {n}: its page cannot be read"));
                    // The transaction may be left in any state by the panic.
                    renew(db, &mut tx);
                }
            }
        }
        if let Some(t) = tx {
            guarded(|| drop(t));
        }
    }
    sound
}

/// A new read transaction in place of `tx`, the old one dropped under
/// guard (ending a transaction a panic left behind may panic too); `None`
/// when none can be begun.
fn renew(db: &Database, tx: &mut Option<redb::ReadTransaction>) {
    if let Some(old) = tx.take() {
        guarded(|| drop(old));
    }
    *tx = guarded(|| db.begin_read().ok()).flatten();
}

/// Document `n` read and checked: `None` when no document has this number
/// (removed, or never stored), `Err` with why it cannot be copied.
fn read_one(
    tx: &redb::ReadTransaction,
    n: u64,
    spec: &IndexSpec,
    fingerprinter: &Fingerprinter,
) -> std::result::Result<Option<Sound>, String> {
    let s = |e: &dyn std::fmt::Display| e.to_string();
    let docs = tx.open_table(DOCS).map_err(|e| s(&e))?;
    let Some(raw) = docs
        .get(n)
        .map_err(|e| format!("its record cannot be read ({e})"))?
    else {
        return Ok(None);
    };
    let record: StoredDoc = postcard::from_bytes(raw.value())
        .map_err(|e| format!("its record does not decode ({e})"))?;
    let named = |why: &str| format!("({:?}): {why}", record.id);
    if record.shingles.is_empty() || !record.shingles.windows(2).all(|w| w[0] < w[1]) {
        return Err(named("its shingle set is damaged"));
    }
    // The id must not point elsewhere (that document is the id's own); an
    // unreadable ids table is rebuilt from the records, so it is no reason
    // to lose the document.
    let points_to = guarded(|| {
        let ids = tx.open_table(IDS).ok()?;
        let m = ids.get(record.id.as_str()).ok()??;
        Some(m.value())
    })
    .flatten();
    if let Some(m) = points_to.filter(|&m| m != n) {
        return Err(named(&format!("its id points to document {m}")));
    }
    let stored_keys = || -> std::result::Result<Vec<u64>, String> {
        let bands = tx.open_table(BANDS).map_err(|e| s(&e))?;
        match bands.get(n) {
            Ok(Some(k)) if k.value().len() == spec.lsh.bands * 8 => {
                Ok(unpack_keys(k.value()).collect())
            }
            Ok(Some(_)) => Err("its band keys are damaged".into()),
            Ok(None) => Err("its band keys are lost".into()),
            Err(e) => Err(format!("its band keys cannot be read ({e})")),
        }
    };
    let facts = if spec.judge.is_none() {
        Vec::new()
    } else if let Some(text) = &record.text {
        crate::judge::facts(text)
    } else {
        let read = guarded(|| -> std::result::Result<Vec<u32>, String> {
            let facts = tx.open_table(FACTS).map_err(|e| s(&e))?;
            match facts.get(n).map_err(|e| s(&e))? {
                Some(raw) if raw.value().len() % 4 == 0 => Ok(raw
                    .value()
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect()),
                Some(_) => Err("cut short".into()),
                None => Ok(Vec::new()),
            }
        });
        match read {
            Some(Ok(f)) => f,
            Some(Err(why)) => return Err(named(&format!("its facts are damaged ({why})"))),
            None => return Err(named("its facts cannot be read")),
        }
    };
    let keys = match &record.text {
        Some(text) => {
            let f = fingerprinter.fingerprint(text);
            if f.exact.to_le_bytes() != record.exact
                || short_shingles(&f.shingles.hashes) != record.shingles
            {
                return Err(named("its record does not match its text"));
            }
            let Some(sig) = f.signature else {
                return Err(named("its text has no words"));
            };
            keys_of(&spec.lsh, &sig)
        }
        None => guarded(stored_keys)
            .unwrap_or_else(|| Err("its band keys cannot be read".into()))
            .map_err(|why| named(&why))?,
    };
    Ok(Some(Sound {
        number: n,
        record,
        keys,
        facts,
    }))
}

/// Write the new index at `path` (an empty file): its metadata, then the
/// documents under their old numbers, a chunk per transaction. Returns how
/// many documents were written.
fn write_index(
    path: &Path,
    spec: &IndexSpec,
    next: Option<u64>,
    sound: &[Sound],
) -> std::result::Result<u64, Box<dyn std::error::Error>> {
    let db = Database::create(path)?;
    let next = sound
        .last()
        .map_or(0, |d| d.number + 1)
        .max(next.unwrap_or(0));
    let tx = db.begin_write()?;
    {
        let mut meta = tx.open_table(META)?;
        meta.insert("format", FORMAT_VERSION.to_le_bytes().as_slice())?;
        meta.insert("spec", serde_json::to_vec(spec)?.as_slice())?;
        meta.insert("next", next.to_le_bytes().as_slice())?;
        tx.open_table(DOCS)?;
        tx.open_table(IDS)?;
        tx.open_table(BANDS)?;
        tx.open_table(TIMES)?;
        tx.open_table(FACTS)?;
    }
    tx.commit()?;
    for chunk in sound.chunks(WRITE_CHUNK) {
        let tx = db.begin_write()?;
        {
            let mut docs = tx.open_table(DOCS)?;
            let mut ids = tx.open_table(IDS)?;
            let mut bands = tx.open_table(BANDS)?;
            let mut times = tx.open_table(TIMES)?;
            let mut facts = tx.open_table(FACTS)?;
            for d in chunk {
                let n = d.number;
                docs.insert(n, postcard::to_allocvec(&d.record)?.as_slice())?;
                ids.insert(d.record.id.as_str(), n)?;
                bands.insert(n, pack_keys(&d.keys).as_slice())?;
                if let Some(t) = d.record.timestamp {
                    times.insert((t, n), ())?;
                }
                if !d.facts.is_empty() {
                    facts.insert(n, pack_facts(&d.facts).as_slice())?;
                }
            }
        }
        tx.commit()?;
    }
    Ok(sound.len() as u64)
}

#[cfg(test)]
mod tests;
