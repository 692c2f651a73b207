//! How a new document is judged against earlier ones: candidates from the
//! buckets (stored documents) or from shared band keys (the batch's own),
//! and the one rule that decides a match, for queries and additions alike.

use redb::ReadableTable;

use super::errors::{db_err, decode, lock_err};
use super::format::{StoredDoc, unpack_facts};
use super::templates::{Templates, widen};
use super::write::Print;
use super::{CheckOptions, Index, Match, NewDoc};
use crate::dedup::Relation;
use crate::error::Result;
use crate::judge::{DocFreq, Evidence, Story};
use crate::verify::{intersection_size, jaccard};

/// What judging a new document against earlier ones needs besides the two
/// documents.
pub(super) struct Judging<'a> {
    /// The window and whether to store.
    pub(super) opts: &'a CheckOptions,
    /// Now, for the window of a document without a time.
    pub(super) now: i64,
    /// The template statistics, for an index that judges stories.
    pub(super) df: Option<&'a DocFreq>,
    /// The `facts` table, for an index that judges stories.
    pub(super) facts: Option<&'a redb::ReadOnlyTable<u64, &'static [u8]>>,
}

/// One side of a pair as the rule sees it.
#[derive(Clone, Copy)]
pub(super) struct Side<'a> {
    /// Its shingle set as the index keeps it.
    pub(super) shingles: &'a [u32],
    /// Its facts (empty unless the index judges stories).
    pub(super) facts: &'a [u32],
    /// Its time, when known.
    pub(super) time: Option<i64>,
}

/// Documents whose stored-bucket lookups are made under one hold of the
/// buckets' read lock before a batch's turn (a writer waiting to publish
/// waits for at most this many documents' lookups).
pub(super) const LOOKUP_CHUNK: usize = 64;

/// Most similar first; ties by id, so the order never depends on storage.
pub(super) fn sort_matches(matches: &mut [Match]) {
    matches.sort_by(|a, b| {
        b.similarity
            .total_cmp(&a.similarity)
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// Numbered matches without their numbers, most similar first.
pub(super) fn ranked(numbered: Vec<(u64, Match)>) -> Vec<Match> {
    let mut matches: Vec<Match> = numbered.into_iter().map(|(_, m)| m).collect();
    sort_matches(&mut matches);
    matches
}

impl Index {
    /// For each document of a batch, the earlier documents of the batch it
    /// duplicates: (their position, the match). Pairs come from shared band
    /// keys (`entries`: every (key, position), sorted), as with stored
    /// documents, and from `contained` ((later, earlier) pairs by
    /// containment keys, for an index that judges stories), and are judged
    /// by the same rule ([`Index::judge`]), on
    /// all cores.
    pub(super) fn batch_matches(
        &self,
        docs: &[NewDoc],
        prints: &[Print],
        entries: &[(u64, usize)],
        contained: &[(usize, usize)],
        j: &Judging<'_>,
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
        pairs.extend_from_slice(contained);
        pairs.sort_unstable();
        pairs.dedup();
        let judged: Vec<Option<(usize, usize, Match)>> = pairs
            .par_iter()
            .map(|&(later, earlier)| {
                let (d, f) = (&docs[later], &prints[later]);
                let (e, g) = (&docs[earlier], &prints[earlier]);
                self.judge(j, d, f.side(d), g.side(e), f.exact == g.exact)
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

    /// For each document, its stored candidates: those of the buckets
    /// ([`Index::stored_candidates`]) and, for an index that judges stories
    /// (`templates`), the stored texts it contains
    /// ([`Templates::contained`]), each once, sorted.
    pub(super) fn candidates(
        &self,
        prints: &[Print],
        templates: Option<&Templates>,
    ) -> Result<Vec<Vec<u64>>> {
        let mut cands = self.stored_candidates(prints)?;
        if let (Some(t), Some(judge)) = (templates, &self.spec.judge) {
            for (c, pr) in cands.iter_mut().zip(prints) {
                c.extend(t.contained(judge, &pr.shingles));
                c.sort_unstable();
                c.dedup();
            }
        }
        Ok(cands)
    }

    /// For each document, the documents sharing a bucket with it under any
    /// of its keys, each once. The buckets are read a few documents at a
    /// time, so a writer waits for those lookups at most (and every reader
    /// arriving behind it waits for the writer), and on this thread, not in
    /// tasks of the shared pool: a pool thread waiting for the lock would
    /// hold up every task queued behind it.
    pub(super) fn stored_candidates(&self, prints: &[Print]) -> Result<Vec<Vec<u64>>> {
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

    /// Whether new document `d` (`mine`) duplicates an earlier one
    /// (`theirs`; `exact`: the same normalised text), and how: the one rule
    /// for stored documents and for a batch's own. News mode compares only
    /// with documents no older than the window before the new one (or now);
    /// one without a timestamp has no known age and is always compared.
    /// Then an exact copy; then, for an index that judges stories, versions
    /// of one story by [`crate::judge`] with the index's template
    /// statistics (related `near` at the threshold's Jaccard similarity,
    /// else by which holds the other); else a near copy at the index's
    /// threshold of exact Jaccard.
    fn judge(
        &self,
        j: &Judging<'_>,
        d: &NewDoc,
        mine: Side<'_>,
        theirs: Side<'_>,
        exact: bool,
    ) -> Option<(f64, Relation)> {
        let oldest = j
            .opts
            .window
            .map(|w| d.timestamp.unwrap_or(j.now).saturating_sub(w));
        if let (Some(oldest), Some(t)) = (oldest, theirs.time) {
            if t < oldest {
                return None;
            }
        }
        if exact {
            return Some((1.0, Relation::Exact));
        }
        let Some(judge) = &self.spec.judge else {
            let sim = jaccard(theirs.shingles, mine.shingles);
            return (sim >= self.spec.threshold).then_some((sim, Relation::Near));
        };
        let (a, b) = (widen(mine.shingles), widen(theirs.shingles));
        let verdict = judge.judge(
            j.df,
            Evidence {
                shingles: &a,
                facts: mine.facts,
                time: mine.time,
            },
            Evidence {
                shingles: &b,
                facts: theirs.facts,
                time: theirs.time,
            },
        );
        if verdict.story != Story::Same {
            return None;
        }
        let inter = intersection_size(&a, &b) as f64;
        let (mine_in, theirs_in) = (inter / a.len().max(1) as f64, inter / b.len().max(1) as f64);
        let relation = if verdict.jaccard >= self.spec.threshold {
            Relation::Near
        } else if mine_in >= judge.containment && mine_in >= theirs_in {
            Relation::ContainedIn
        } else if theirs_in >= judge.containment {
            Relation::Contains
        } else {
            Relation::Near
        };
        Some((verdict.jaccard, relation))
    }

    /// The stored candidates `d` (fingerprinted as `pr`) duplicates, with
    /// their numbers, in the
    /// candidates' order (a candidate no longer stored, one removed since
    /// the buckets were built, is skipped).
    pub(super) fn matches(
        &self,
        docs_t: &impl ReadableTable<u64, &'static [u8]>,
        cands: Vec<u64>,
        d: &NewDoc,
        pr: &Print,
        j: &Judging<'_>,
    ) -> Result<Vec<(u64, Match)>> {
        let p = &self.path;
        let mut matches = Vec::new();
        for c in cands {
            let Some(raw) = docs_t.get(c).map_err(|e| db_err(p, e))? else {
                continue;
            };
            let stored: StoredDoc = decode(p, c, raw.value())?;
            let exact = stored.exact == pr.exact.to_le_bytes();
            let facts = match j.facts {
                Some(t) => match t.get(c).map_err(|e| db_err(p, e))? {
                    Some(raw) => unpack_facts(p, c, raw.value())?,
                    None => Vec::new(),
                },
                None => Vec::new(),
            };
            let theirs = Side {
                shingles: &stored.shingles,
                facts: &facts,
                time: stored.timestamp,
            };
            if let Some((similarity, relation)) = self.judge(j, d, pr.side(d), theirs, exact) {
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
}
