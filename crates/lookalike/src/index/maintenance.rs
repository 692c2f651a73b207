//! Everything but adding and looking up: reading stored documents,
//! removal and pruning, backup, verification and counts.

use std::path::Path;

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::bands::unpack_keys;
use super::errors::{db_err, decode, guard, lock_err};
use super::format::{
    BANDS, DOCS, FACTS, FORMAT_VERSION, IDS, META, StoredDoc, TIMES, read_u64, unpack_facts,
};
use super::{Index, IndexStats};
use crate::error::{Error, IndexProblem, Result};

/// Copy every entry of table `def` from `tx` (reading the index `from`)
/// into `w` (writing the backup `to`: its failures are the storage's);
/// returns the entries copied.
pub(super) fn copy_table<K: redb::Key + 'static, V: redb::Value + 'static>(
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

impl Index {
    /// A stored document by id.
    pub fn get(&self, id: &str) -> Result<Option<StoredDoc>> {
        guard(&self.path, || {
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
        })
    }

    /// The most recently stored documents, newest first: at most `limit`,
    /// all stored before document number `before` when it is given (the
    /// `number` of the last one of a previous page). Numbers only grow, so
    /// this is the order of arrival whatever the documents' timestamps say.
    pub fn recent(&self, limit: usize, before: Option<u64>) -> Result<Vec<(u64, StoredDoc)>> {
        guard(&self.path, || {
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
        })
    }

    /// Remove documents by id; returns, per id, whether it was stored.
    pub fn remove(&self, ids: &[String]) -> Result<Vec<bool>> {
        guard(&self.path, || {
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
        })
    }

    /// Remove every document whose timestamp is before `cutoff` (seconds
    /// since the Unix epoch); documents without a timestamp stay. Returns how
    /// many were removed.
    pub fn prune(&self, cutoff: i64) -> Result<u64> {
        guard(&self.path, || {
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
        })
    }

    /// Delete documents by number from `docs`, `times` and `bands` (and
    /// from `ids` when `with_ids`; `remove` has already done that).
    pub(super) fn unstore(
        &self,
        tx: &redb::WriteTransaction,
        numbers: &[u64],
        with_ids: bool,
    ) -> Result<()> {
        let p = &self.path;
        let mut docs_t = tx.open_table(DOCS).map_err(|e| db_err(p, e))?;
        let mut ids_t = tx.open_table(IDS).map_err(|e| db_err(p, e))?;
        let mut bands_t = tx.open_table(BANDS).map_err(|e| db_err(p, e))?;
        let mut times = tx.open_table(TIMES).map_err(|e| db_err(p, e))?;
        let mut facts = tx.open_table(FACTS).map_err(|e| db_err(p, e))?;
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
            facts.remove(n).map_err(|e| db_err(p, e))?;
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
        guard(&self.path, || {
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
                copy_table(&tx, &w, FACTS, p, dest)?;
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
        })
    }

    /// Read every table and report each inconsistency between them (an
    /// empty list means the index is whole): every id names a stored
    /// document that carries that id, every document is in its buckets and
    /// (when dated) in `times`, and no bucket or time entry points nowhere.
    pub fn verify(&self) -> Result<Vec<String>> {
        guard(&self.path, || {
            let p = &self.path;
            let tx = self.db.begin_read().map_err(|e| db_err(p, e))?;
            let meta = tx.open_table(META).map_err(|e| db_err(p, e))?;
            let docs_t = tx.open_table(DOCS).map_err(|e| db_err(p, e))?;
            let ids_t = tx.open_table(IDS).map_err(|e| db_err(p, e))?;
            let times = tx.open_table(TIMES).map_err(|e| db_err(p, e))?;
            let bands_t = tx.open_table(BANDS).map_err(|e| db_err(p, e))?;
            let facts = tx.open_table(FACTS).map_err(|e| db_err(p, e))?;
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
            // Facts belong to stored documents, in whole numbers of facts.
            for r in facts.iter().map_err(|e| db_err(p, e))? {
                let (k, v) = r.map_err(|e| db_err(p, e))?;
                let n = k.value();
                if docs_t.get(n).map_err(|e| db_err(p, e))?.is_none() {
                    problems.push(format!("facts of document {n}, which is not stored"));
                } else if unpack_facts(p, n, v.value()).is_err() {
                    problems.push(format!("the facts of document {n} are cut short"));
                }
            }
            Ok(problems)
        })
    }

    /// Counts and settings.
    pub fn stats(&self) -> Result<IndexStats> {
        guard(&self.path, || {
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
        })
    }
}
