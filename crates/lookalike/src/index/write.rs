//! Adding and looking up documents: the query path (a read transaction,
//! never waiting for a writer) and the add path's phases, in order:
//! fingerprint, prepare records and the batch's own pairs, match against
//! the stored documents before the writer's turn, settle what was stored
//! meanwhile in the turn, store, then commit and publish to the buckets.

use std::sync::mpsc;

use redb::{ReadableDatabase, ReadableTable};

use super::bands::{keys_of, pack_keys};
use super::errors::{db_err, err, guard, lock_err};
use super::format::{
    BANDS, DOCS, FACTS, IDS, META, StoredDoc, TIMES, pack_facts, read_u64, short_shingles,
};
use super::matching::{Judging, Side, ranked, sort_matches};
use super::templates::Templates;
use super::{CheckOptions, Checked, Index, Match, NewDoc};
use crate::error::Result;

pub(super) const NO_WORDS: &str = "no words: not stored";

/// Batches smaller than this are fingerprinted without the thread pool.
pub(super) const SMALL_BATCH: usize = 8;

/// Seconds since the Unix epoch, now.
pub(super) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// What the index needs of one document's fingerprint.
pub(super) struct Print {
    /// xxh3-128 of the normalised text.
    pub(super) exact: u128,
    /// Its band keys; none for a document without words.
    pub(super) keys: Vec<u64>,
    /// Its shingle set as the index compares it ([`short_shingles`]).
    pub(super) shingles: Vec<u32>,
    /// Its facts, for an index that judges stories (else none).
    pub(super) facts: Vec<u32>,
}

impl Print {
    /// This fingerprint of `d` as one side of a pair.
    pub(super) fn side<'a>(&'a self, d: &NewDoc) -> Side<'a> {
        Side {
            shingles: &self.shingles,
            facts: &self.facts,
            time: d.timestamp,
        }
    }
}

/// The note of a document whose id is stored already.
const ALREADY_STORED: &str = "a document with this id is already stored: not stored again (remove it \
                              first to replace it)";

/// Every (band key, position) of a batch, sorted: the batch's own pairs are
/// read from it, and it is published in this order (see
/// `Index::commit_and_publish`).
fn batch_entries(prints: &[Print]) -> Vec<(u64, usize)> {
    use rayon::prelude::*;
    let mut entries: Vec<(u64, usize)> = prints
        .iter()
        .enumerate()
        .flat_map(|(i, pr)| pr.keys.iter().map(move |&k| (k, i)))
        .collect();
    entries.par_sort_unstable();
    entries
}

/// The matches a batch found among the stored documents before the
/// writer's turn, with their numbers, and the watermark they were found
/// under.
struct Early {
    seen: u64,
    matches: Vec<Vec<(u64, Match)>>,
}

/// What storing a batch did: each document's answer, the number it is
/// stored under (none if it is not), and one past the last number used.
struct Stored {
    checked: Vec<Checked>,
    numbers: Vec<Option<u64>>,
    next: u64,
}

impl Index {
    /// Check documents against the index: [`Index::add`] with
    /// [`CheckOptions::store`], [`Index::query`] without.
    pub fn check_batch(&self, docs: &[NewDoc], opts: &CheckOptions) -> Result<Vec<Checked>> {
        if opts.store {
            self.add(docs, opts.window)
        } else {
            self.query(docs, opts.window)
        }
    }

    /// Look documents up without storing them: the stored documents each
    /// duplicates (within `window` seconds before it, when given; see
    /// [`CheckOptions::window`]). Runs in a read transaction and never waits
    /// for a writer.
    pub fn query(&self, docs: &[NewDoc], window: Option<i64>) -> Result<Vec<Checked>> {
        guard(&self.path, || {
            let opts = CheckOptions {
                store: false,
                window,
            };
            let prints = self.fingerprint_batch(docs);
            let p = &self.path;
            let tx = self.db.begin_read().map_err(|e| db_err(p, e))?;
            let docs_t = tx.open_table(DOCS).map_err(|e| db_err(p, e))?;
            let facts_t = self.facts_table(&tx)?;
            let templates = self.read_templates()?;
            let j = Judging {
                opts: &opts,
                now: unix_now(),
                df: templates.as_ref().map(|t| &t.df),
                facts: facts_t.as_ref(),
            };
            let cands = self.candidates(&prints, templates.as_deref())?;
            docs.iter()
                .zip(&prints)
                .zip(cands)
                .map(|((d, pr), cands)| {
                    Ok(Checked {
                        id: d.id.clone(),
                        matches: ranked(self.matches(&docs_t, cands, d, pr, &j)?),
                        stored: false,
                        note: pr.keys.is_empty().then(|| NO_WORDS.into()),
                    })
                })
                .collect()
        })
    }

    /// Check documents and store each after it is checked (so a batch is
    /// also checked against its own earlier documents), in one transaction:
    /// all of the batch is stored, or none of it, and once this returns `Ok`
    /// the batch is durable. The phases, in order: fingerprint; prepare the
    /// records and find the batch's own pairs; match against the stored
    /// documents; then, in the writer's turn (one batch at a time), settle
    /// the documents stored meanwhile, store, and commit and publish to the
    /// buckets. Everything before the turn runs on all cores while another
    /// batch holds it.
    pub fn add(&self, docs: &[NewDoc], window: Option<i64>) -> Result<Vec<Checked>> {
        guard(&self.path, || {
            let opts = CheckOptions {
                store: true,
                window,
            };
            let now = unix_now();
            let prints = self.fingerprint_batch(docs);
            let records = self.records(docs, &prints)?;
            let entries = batch_entries(&prints);
            if self.templates.is_some() {
                return self.add_judged(docs, &prints, records, &entries, &opts, now);
            }
            let j = Judging {
                opts: &opts,
                now,
                df: None,
                facts: None,
            };
            let own = self.batch_matches(docs, &prints, &entries, &[], &j);
            let early = self.early_matches(docs, &prints, &j)?;
            let _writer = self.writer.lock().map_err(|_| lock_err(&self.path))?;
            let stored_matches = self.settle(docs, &prints, early, &j)?;
            let tx = self.db.begin_write().map_err(|e| db_err(&self.path, e))?;
            let stored = self.store(&tx, docs, &prints, stored_matches, records, &own)?;
            self.commit_and_publish(tx, &entries, &stored)?;
            Ok(stored.checked)
        })
    }

    /// Phase 1: each document's fingerprint and band keys (none without
    /// words), the keys computed once for the stored buckets, the batch's
    /// own and the `bands` table. A few documents (a typical query) are done
    /// on the calling thread: in the shared pool they would queue behind a
    /// large batch being added, and a one-document query would wait for it.
    fn fingerprint_batch(&self, docs: &[NewDoc]) -> Vec<Print> {
        use rayon::prelude::*;
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
                facts: if self.spec.judge.is_some() {
                    crate::judge::facts(&d.text)
                } else {
                    Vec::new()
                },
            }
        };
        if docs.len() < SMALL_BATCH {
            docs.iter().map(print).collect()
        } else {
            docs.par_iter().map(print).collect()
        }
    }

    /// Phase 2: each document's record as stored (none for a document
    /// without words), on all cores before the writer's turn (the one part
    /// of an ingest no other core can help with).
    fn records(&self, docs: &[NewDoc], prints: &[Print]) -> Result<Vec<Option<Vec<u8>>>> {
        use rayon::prelude::*;
        docs.par_iter()
            .zip(prints)
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
                postcard::to_allocvec(&rec)
                    .map(Some)
                    .map_err(|e| err(&self.path, e))
            })
            .collect()
    }

    /// Phase 3: the matches with stored documents, before the turn, against
    /// every document numbered below the buckets' watermark as read now
    /// (`seen`): those are in the buckets for good, and in any read
    /// transaction opened after `seen` was read (they were committed before
    /// they were published).
    fn early_matches(&self, docs: &[NewDoc], prints: &[Print], j: &Judging<'_>) -> Result<Early> {
        use rayon::prelude::*;
        let p = &self.path;
        let seen = self.buckets.read().map_err(|_| lock_err(p))?.until;
        let cands = self.stored_candidates(prints)?;
        let read = self.db.begin_read().map_err(|e| db_err(p, e))?;
        let stored_docs = read.open_table(DOCS).map_err(|e| db_err(p, e))?;
        let matches = docs
            .par_iter()
            .zip(prints)
            .zip(cands)
            .map(|((d, pr), cands)| self.matches(&stored_docs, cands, d, pr, j))
            .collect::<Result<_>>()?;
        Ok(Early { seen, matches })
    }

    /// Phase 4, in the writer's turn: nothing is committed until this batch
    /// is, and every committed batch is published. The documents stored
    /// since `seen` (usually a batch or two, still in the buckets' recent
    /// chains) are checked now, and the early matches kept only if their
    /// document is still stored under the same number (not removed, or
    /// removed and added again, meanwhile).
    fn settle(
        &self,
        docs: &[NewDoc],
        prints: &[Print],
        early: Early,
        j: &Judging<'_>,
    ) -> Result<Vec<Vec<Match>>> {
        use rayon::prelude::*;
        let p = &self.path;
        let Early { seen, matches } = early;
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
            .zip(prints)
            .zip(matches.into_par_iter().zip(newer))
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
                let later = self.matches(&stored_docs, cands, d, pr, j)?;
                matches.extend(later.into_iter().map(|(_, m)| m));
                sort_matches(&mut matches);
                Ok(matches)
            })
            .collect()
    }

    /// Phase 5, in the writer's turn: each document with words and an id
    /// not yet stored is written under the next number, with its id, time
    /// and band keys; its answer gets the batch's earlier stored documents
    /// it duplicates (`own`) beside the stored ones.
    fn store(
        &self,
        tx: &redb::WriteTransaction,
        docs: &[NewDoc],
        prints: &[Print],
        stored_matches: Vec<Vec<Match>>,
        records: Vec<Option<Vec<u8>>>,
        own: &[Vec<(usize, Match)>],
    ) -> Result<Stored> {
        let p = &self.path;
        let mut checked = Vec::with_capacity(docs.len());
        let mut numbers: Vec<Option<u64>> = vec![None; docs.len()];
        let mut meta = tx.open_table(META).map_err(|e| db_err(p, e))?;
        let mut docs_t = tx.open_table(DOCS).map_err(|e| db_err(p, e))?;
        let mut ids_t = tx.open_table(IDS).map_err(|e| db_err(p, e))?;
        let mut times = tx.open_table(TIMES).map_err(|e| db_err(p, e))?;
        let mut bands_t = tx.open_table(BANDS).map_err(|e| db_err(p, e))?;
        let mut facts_t = tx.open_table(FACTS).map_err(|e| db_err(p, e))?;
        let mut next = read_u64(&meta, "next", p)?;
        for (i, ((d, pr), (mut matches, record))) in docs
            .iter()
            .zip(prints)
            .zip(stored_matches.into_iter().zip(records))
            .enumerate()
        {
            let Some(record) = record else {
                checked.push(Checked {
                    id: d.id.clone(),
                    matches: Vec::new(),
                    stored: false,
                    note: Some(NO_WORDS.into()),
                });
                continue;
            };
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
            let mut answer = Checked {
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
                answer.note = Some(ALREADY_STORED.into());
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
                if !pr.facts.is_empty() {
                    facts_t
                        .insert(next, pack_facts(&pr.facts).as_slice())
                        .map_err(|e| db_err(p, e))?;
                }
                numbers[i] = Some(next);
                next += 1;
                answer.stored = true;
            }
            checked.push(answer);
        }
        meta.insert("next", next.to_le_bytes().as_slice())
            .map_err(|e| db_err(p, e))?;
        Ok(Stored {
            checked,
            numbers,
            next,
        })
    }

    /// The `facts` table as `tx` sees it, for an index that judges
    /// stories.
    fn facts_table(
        &self,
        tx: &redb::ReadTransaction,
    ) -> Result<Option<redb::ReadOnlyTable<u64, &'static [u8]>>> {
        self.templates
            .as_ref()
            .map(|_| tx.open_table(FACTS).map_err(|e| db_err(&self.path, e)))
            .transpose()
    }

    /// The template statistics, held for reading, for an index that judges
    /// stories.
    fn read_templates(&self) -> Result<Option<std::sync::RwLockReadGuard<'_, Templates>>> {
        self.templates
            .as_ref()
            .map(|t| t.read().map_err(|_| lock_err(&self.path)))
            .transpose()
    }

    /// Adding to an index that judges stories: the phases of
    /// [`Index::add`], but everything from the matching on in the writer's
    /// turn, since the batch is judged with template statistics that count
    /// it (a site's pages added in one batch must not be judged as if
    /// their frame were their own text). The batch is counted first (each
    /// normalised text once), the statistics counted again from the stored
    /// documents when the collection has outgrown them, and counted again
    /// if the commit fails (they would count a batch not stored).
    fn add_judged(
        &self,
        docs: &[NewDoc],
        prints: &[Print],
        records: Vec<Option<Vec<u8>>>,
        entries: &[(u64, usize)],
        opts: &CheckOptions,
        now: i64,
    ) -> Result<Vec<Checked>> {
        let p = &self.path;
        let (Some(templates), Some(judge)) = (&self.templates, &self.spec.judge) else {
            return Err(err(p, "the index does not judge stories"));
        };
        let _writer = self.writer.lock().map_err(|_| lock_err(p))?;
        {
            let mut t = templates.write().map_err(|_| lock_err(p))?;
            if t.outgrown() || t.stale_keys(judge) {
                *t = Templates::load(&self.db, p, judge)?;
            }
            let mut seen = std::collections::HashSet::new();
            for pr in prints {
                if !pr.keys.is_empty() && seen.insert(pr.exact) {
                    t.add(&pr.shingles, &pr.facts);
                }
            }
        }
        let (own, stored_matches) = {
            let t = templates.read().map_err(|_| lock_err(p))?;
            let read = self.db.begin_read().map_err(|e| db_err(p, e))?;
            let stored_docs = read.open_table(DOCS).map_err(|e| db_err(p, e))?;
            let facts_t = self.facts_table(&read)?;
            let j = Judging {
                opts,
                now,
                df: Some(&t.df),
                facts: facts_t.as_ref(),
            };
            let sets: Vec<&[u32]> = prints.iter().map(|pr| pr.shingles.as_slice()).collect();
            let contained = t.batch_contained(judge, &sets);
            let own = self.batch_matches(docs, prints, entries, &contained, &j);
            let cands = self.candidates(prints, Some(&t))?;
            let stored: Vec<Vec<Match>> = docs
                .iter()
                .zip(prints)
                .zip(cands)
                .map(|((d, pr), cands)| Ok(ranked(self.matches(&stored_docs, cands, d, pr, &j)?)))
                .collect::<Result<_>>()?;
            (own, stored)
        };
        let written = (|| {
            let tx = self.db.begin_write().map_err(|e| db_err(p, e))?;
            let stored = self.store(&tx, docs, prints, stored_matches, records, &own)?;
            self.commit_and_publish(tx, entries, &stored)?;
            Ok(stored)
        })();
        match written {
            Ok(stored) => {
                let mut t = templates.write().map_err(|_| lock_err(p))?;
                for (pr, n) in prints.iter().zip(&stored.numbers) {
                    if let Some(n) = n {
                        t.index_keys(judge, *n, &pr.shingles);
                    }
                }
                Ok(stored.checked)
            }
            Err(e) => {
                if let (Ok(mut t), Ok(fresh)) =
                    (templates.write(), Templates::load(&self.db, p, judge))
                {
                    *t = fresh;
                }
                Err(e)
            }
        }
    }

    /// Phase 6, in the writer's turn: commit, and publish the stored
    /// documents to the buckets in key order (and within a key in
    /// increasing numbers, as the buckets ask), so their recent additions
    /// are sorted runs end to end, which their merge sorts in a few passes.
    /// Published on another thread while the commit waits on the disk
    /// (about as long as the publishing takes, so this takes it out of the
    /// turn). A lookup meanwhile may meet this batch's numbers and skip them
    /// as not stored, since no read transaction holds them yet; what it
    /// relies on is the watermark, `until`, moved past the batch only once
    /// the commit is done. If the commit fails, the numbers are handed out
    /// again to later documents and the entries left behind only cost a
    /// lookup each: every candidate is checked against its stored record.
    fn commit_and_publish(
        &self,
        tx: redb::WriteTransaction,
        entries: &[(u64, usize)],
        stored: &Stored,
    ) -> Result<()> {
        let p = &self.path;
        let publish = || {
            let mut buckets = self.buckets.write().map_err(|_| lock_err(p))?;
            for &(key, i) in entries {
                if let Some(n) = stored.numbers[i] {
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
            buckets.until = buckets.until.max(stored.next);
            buckets.start_merge()
        };
        if let Some(merge) = merge {
            // On the merge thread; here only if that thread is gone (it
            // stops when the lock is poisoned, and then so does this).
            if let Err(mpsc::SendError(merge)) = self.merges.send(merge) {
                merge.run(&self.buckets).map_err(|_| lock_err(p))?;
            }
        }
        Ok(())
    }
}
