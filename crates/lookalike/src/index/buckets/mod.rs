//! The LSH buckets of a persistent index, held in memory.
//!
//! Why not in the database: every document lands in one bucket per band
//! (64 at the default threshold), at random places. In redb's copy-on-write
//! B-tree, a batch of random inserts rewrites nearly every leaf page at each
//! commit, so ingest slowed to about a thousand documents a second and the
//! file grew by ~6 KB per document. The index file keeps each document's
//! band keys next to it (appended in document order, cheap to write) and
//! the bucket map is rebuilt from them on open; it is derived data, so a
//! crash can never leave it inconsistent with the documents.
//!
//! Layout: a sorted run of (band key, document) pairs, 16 bytes each, cut
//! by the keys' top bits into [`SEGMENTS`] segments, plus chains of recent
//! additions. Once the recent additions outgrow an eighth of the run they
//! are frozen (new ones start fresh chains) and merged into the run one
//! segment at a time ([`Merge`]), away from the map's lock: the lock is
//! taken only to swap a merged segment in, so lookups and insertions never
//! wait for a merge (at a million stored documents a whole-run merge took
//! about a second under the write lock, and every lookup queued behind
//! it). Besides a sorted copy of the frozen additions, a merge needs one
//! segment's worth of extra memory.
//! Amortised O(log n) per insert, no per-key allocation in the run.
//! Removed documents are not taken out: lookups return their numbers and
//! the caller skips documents that are gone; numbers are never reused, and
//! the next open drops them.

use std::sync::{Arc, RwLock};

/// Top bits of a key that choose its segment of the run.
const SEGMENT_BITS: u32 = 6;

/// Segments of the run: at a million stored documents (64 million entries)
/// each is 16 MB, the extra memory a merge needs and the work between two
/// holds of the write lock.
const SEGMENTS: usize = 1 << SEGMENT_BITS;

fn segment_of(key: u64) -> usize {
    (key >> (64 - SEGMENT_BITS)) as usize
}

/// The entries of the run whose keys share their top [`SEGMENT_BITS`].
#[derive(Debug)]
pub(crate) struct Segment {
    /// (key, document), sorted.
    sorted: Vec<(u64, u64)>,
    /// `sorted[dir[s]..dir[s + 1]]` holds every entry whose key's next bits
    /// (after the segment's) are `s`: keys are hashes, so each slice is a
    /// few entries and a lookup costs one or two cache misses, not a binary
    /// search's twenty.
    dir: Vec<u32>,
    /// `(key << SEGMENT_BITS) >> shift` is a key's directory slot.
    shift: u32,
}

impl Segment {
    /// A segment holding these entries (sorted, all of one segment).
    fn new(sorted: Vec<(u64, u64)>) -> Segment {
        // About four entries per directory slot.
        let bits = (sorted.len() / 4).max(2).ilog2().min(32);
        let shift = 64 - bits;
        let slots = 1usize << bits;
        let mut dir = Vec::with_capacity(slots + 1);
        let mut i = 0usize;
        for slot in 0..slots {
            while i < sorted.len() && (((sorted[i].0 << SEGMENT_BITS) >> shift) as usize) < slot {
                i += 1;
            }
            dir.push(i as u32);
        }
        dir.push(sorted.len() as u32);
        Segment { sorted, dir, shift }
    }

    /// Where the entries of `key` may be: the bounds of its directory slot.
    fn slot(&self, key: u64) -> (usize, usize) {
        let slot = ((key << SEGMENT_BITS) >> self.shift) as usize;
        (self.dir[slot] as usize, self.dir[slot + 1] as usize)
    }

    fn len(&self) -> usize {
        self.sorted.len()
    }
}

/// Chains of recent additions, one per slot of a table chosen by a key's
/// low bits: each node is (key, document, the slot's next older node), and
/// a slot's chain holds every key that falls in it. The table is sized for
/// the additions expected before the next merge and never grows: a hash
/// map's growth rehashes millions of entries at once, under the write lock
/// (a stall of tens of milliseconds for every lookup), and costs ~32 bytes
/// an entry where the table costs 4 a slot. A merge reads the nodes in
/// order, not chain by chain.
#[derive(Debug)]
pub(crate) struct Recent {
    /// Per slot, one past the index of its newest node (0: none). Zero is
    /// "none" so a fresh table is zeroed memory, which the allocator hands
    /// out without writing it.
    heads: Vec<u32>,
    nodes: Vec<(u64, u64, u32)>,
}

impl Recent {
    /// Chains for about `expected` additions.
    fn new(expected: usize) -> Recent {
        Recent {
            heads: vec![0; expected.max(64).next_power_of_two()],
            nodes: Vec::new(),
        }
    }

    fn slot(&self, key: u64) -> usize {
        key as usize & (self.heads.len() - 1)
    }

    fn insert(&mut self, key: u64, doc: u64) {
        let slot = self.slot(key);
        let next = self.heads[slot];
        self.nodes.push((key, doc, next));
        self.heads[slot] = self.nodes.len() as u32;
    }

    /// Where the chain of `key`'s slot starts.
    fn head(&self, key: u64) -> u32 {
        self.heads[self.slot(key)]
    }

    /// Append the documents under `key` in the chain starting at `at` (a
    /// [`Recent::head`]), newest first, down to (not below) `since`. Each
    /// key's documents come in decreasing numbers along a chain (they are
    /// added in increasing numbers), so the first one below `since` ends
    /// the walk; other keys' nodes are passed over.
    fn walk(&self, mut at: u32, key: u64, since: u64, out: &mut Vec<u64>) {
        while at != 0 {
            let (k, doc, next) = self.nodes[at as usize - 1];
            if k == key {
                if doc < since {
                    break;
                }
                out.push(doc);
            }
            at = next;
        }
    }
}

/// How many recent additions a run of `run` entries takes before a merge:
/// an eighth of it, and at least `floor`.
fn due(run: usize, floor: usize) -> usize {
    (run / 8).max(floor)
}

/// Band keys → document numbers.
#[derive(Debug)]
pub(crate) struct BucketMap {
    /// The run, [`SEGMENTS`] segments in key order. Shared so a merge can
    /// read one while the map's lock is free.
    segments: Vec<Arc<Segment>>,
    /// Entries in `segments`.
    run_len: usize,
    /// Additions since the last merge began.
    recent: Recent,
    /// The additions a merge in progress is carrying into the run, and how
    /// many segments (from the first) hold them already: a lookup reads
    /// these chains only for keys of the later segments.
    merging: Option<Arc<Recent>>,
    merged: usize,
    /// Entries of `merging` not in the run yet.
    pending: usize,
    /// Every document numbered from here on is only in `recent` (the run
    /// and `merging` hold none of them).
    run_until: u64,
    /// One past the highest document number added (0 when empty).
    added: u64,
    /// The owner's watermark: every document numbered below it that is
    /// stored (committed) is in the map. Set by the owner, not by
    /// [`BucketMap::insert`]: documents may be added while their batch is
    /// still being committed, and they are not promised until it is.
    pub(crate) until: u64,
    /// A merge begins once the recent additions are more than this many
    /// (and more than an eighth of the run).
    pub(crate) floor: usize,
}

impl Default for BucketMap {
    fn default() -> Self {
        BucketMap::from_entries(Vec::new())
    }
}

impl BucketMap {
    /// A map holding these (band key, document) pairs.
    pub(crate) fn from_entries(entries: impl IntoIterator<Item = (u64, u64)>) -> BucketMap {
        use rayon::prelude::*;
        let mut parts: Vec<Vec<(u64, u64)>> = vec![Vec::new(); SEGMENTS];
        let mut until = 0;
        for (key, doc) in entries {
            parts[segment_of(key)].push((key, doc));
            until = until.max(doc + 1);
        }
        let segments: Vec<Arc<Segment>> = parts
            .into_par_iter()
            .map(|mut part| {
                part.sort_unstable();
                part.shrink_to_fit();
                Arc::new(Segment::new(part))
            })
            .collect();
        let run_len = segments.iter().map(|s| s.len()).sum();
        let floor = 1 << 16;
        BucketMap {
            run_len,
            segments,
            recent: Recent::new(due(run_len, floor)),
            merging: None,
            merged: 0,
            pending: 0,
            run_until: until,
            added: until,
            until,
            floor,
        }
    }

    /// Add a document under a band key. Documents come in increasing
    /// numbers, so each recent chain runs from the newest number down.
    pub(crate) fn insert(&mut self, key: u64, doc: u64) {
        self.added = self.added.max(doc + 1);
        self.recent.insert(key, doc);
    }

    /// Append every document under `key` to `out`.
    pub(crate) fn get(&self, key: u64, out: &mut Vec<u64>) {
        self.get_all(std::slice::from_ref(&key), out);
    }

    /// Whether the chains being merged still hold `key`'s entries.
    fn unmerged(&self, key: u64) -> Option<&Recent> {
        self.merging
            .as_deref()
            .filter(|_| segment_of(key) >= self.merged)
    }

    /// Append every document under each of `keys` to `out`: the same as
    /// `get` for each key in turn, in stages. A document's band keys land at
    /// random places in a map far larger than the caches, so each `get` is a
    /// few cache misses, each waiting on the one before. Here every stage's
    /// loads (directory slots, then the start of each slice, then the recent
    /// chains' heads) are independent of each other, and the processor
    /// keeps many of them in flight at once.
    pub(crate) fn get_all(&self, keys: &[u64], out: &mut Vec<u64>) {
        let slices: Vec<(usize, usize)> = keys
            .iter()
            .map(|&key| self.segments[segment_of(key)].slot(key))
            .collect();
        for (&key, &(lo, hi)) in keys.iter().zip(&slices) {
            let run = &self.segments[segment_of(key)].sorted[lo..hi];
            let start = run.partition_point(|&(k, _)| k < key);
            out.extend(
                run[start..]
                    .iter()
                    .take_while(|&&(k, _)| k == key)
                    .map(|&(_, d)| d),
            );
        }
        if self.merging.is_some() {
            let heads: Vec<(&Recent, u64, u32)> = keys
                .iter()
                .filter_map(|&key| self.unmerged(key).map(|r| (r, key, r.head(key))))
                .collect();
            for (chains, key, at) in heads {
                chains.walk(at, key, 0, out);
            }
        }
        if self.recent.nodes.is_empty() {
            return;
        }
        let heads: Vec<u32> = keys.iter().map(|&key| self.recent.head(key)).collect();
        for (&key, at) in keys.iter().zip(heads) {
            self.recent.walk(at, key, 0, out);
        }
    }

    /// Append every document numbered `since` or more under each of `keys`
    /// to `out`: what [`BucketMap::get_all`] finds, less the older ones.
    /// While the run and a merge in progress hold nothing that new, only
    /// the recent chains are read, each only down to `since`.
    pub(crate) fn get_all_since(&self, keys: &[u64], since: u64, out: &mut Vec<u64>) {
        if self.run_until > since {
            let mut all = Vec::new();
            self.get_all(keys, &mut all);
            out.extend(all.into_iter().filter(|&doc| doc >= since));
            return;
        }
        for &key in keys {
            self.recent.walk(self.recent.head(key), key, since, out);
        }
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.run_len + self.pending + self.recent.nodes.len()
    }

    /// Freeze the recent additions for a merge, if they are due one and no
    /// merge is in progress. The caller carries the merge out
    /// ([`Merge::run`], or [`BucketMap::merge_now`] holding the map alone).
    pub(crate) fn start_merge(&mut self) -> Option<Merge> {
        let held = self.run_len + self.pending;
        if self.recent.nodes.len() <= due(held, self.floor) || self.merging.is_some() {
            return None;
        }
        let next = Recent::new(due(held + self.recent.nodes.len(), self.floor));
        let frozen = Arc::new(std::mem::replace(&mut self.recent, next));
        self.merging = Some(Arc::clone(&frozen));
        self.merged = 0;
        self.pending = frozen.nodes.len();
        self.run_until = self.added;
        Some(Merge {
            frozen,
            entries: Vec::new(),
            next: 0,
            at: 0,
        })
    }

    /// Segment `s` of the run.
    fn segment(&self, s: usize) -> Arc<Segment> {
        Arc::clone(&self.segments[s])
    }

    /// Put segment `s` merged by `merge` in place of the one it was merged
    /// from; the merge is over after the last one.
    fn swap_segment(&mut self, merge: &Merge, s: usize, merged: Segment) {
        debug_assert_eq!(self.merged, s);
        let moved = merged.len() - self.segments[s].len();
        self.run_len += moved;
        self.pending -= moved;
        self.segments[s] = Arc::new(merged);
        self.merged = s + 1;
        if merge.next == SEGMENTS {
            self.merging = None;
            self.merged = 0;
        }
    }

    /// Start a merge if one is due and carry it out at once (for a caller
    /// holding the map alone).
    #[cfg(test)]
    pub(crate) fn merge_now(&mut self) {
        if let Some(mut merge) = self.start_merge() {
            while let Some(s) = merge.next_segment() {
                let merged = merge.merge_segment(&self.segment(s));
                self.swap_segment(&merge, s, merged);
            }
        }
    }
}

/// A merge of frozen recent additions into the run, segment by segment.
#[derive(Debug)]
pub(crate) struct Merge {
    frozen: Arc<Recent>,
    /// The frozen entries, sorted (made by the first segment's merge).
    entries: Vec<(u64, u64)>,
    /// The segment merged next.
    next: usize,
    /// Where its entries start in `entries`.
    at: usize,
}

impl Merge {
    /// The segment to merge next, if any are left.
    fn next_segment(&self) -> Option<usize> {
        (self.next < SEGMENTS).then_some(self.next)
    }

    /// The next segment (`old`, as the run holds it) with the frozen
    /// entries of its keys merged in.
    fn merge_segment(&mut self, old: &Segment) -> Segment {
        use rayon::prelude::*;
        if self.next == 0 {
            // Sorted on all cores (at a million stored documents the frozen
            // additions are millions of entries), by an adaptive merge
            // sort: the index adds each batch in key order, so the nodes
            // are a few dozen sorted runs end to end, merged in a few
            // passes instead of sorted from scratch.
            self.entries = self.frozen.nodes.iter().map(|&(k, d, _)| (k, d)).collect();
            self.entries.par_sort();
        }
        let s = self.next;
        let rest = &self.entries[self.at..];
        let take = rest.partition_point(|&(k, _)| segment_of(k) == s);
        let (new, run) = (&rest[..take], &old.sorted);
        self.at += take;
        self.next += 1;
        // Equal entries keep the run's first.
        let mut sorted = Vec::with_capacity(run.len() + new.len());
        let (mut i, mut j) = (0, 0);
        while i < run.len() && j < new.len() {
            if new[j] < run[i] {
                sorted.push(new[j]);
                j += 1;
            } else {
                sorted.push(run[i]);
                i += 1;
            }
        }
        sorted.extend_from_slice(&run[i..]);
        sorted.extend_from_slice(&new[j..]);
        Segment::new(sorted)
    }

    /// Carry the merge out against the map behind `lock`, holding the lock
    /// only to read a segment's handle and to swap the merged one in. Only
    /// a merge changes the run, and one runs at a time, so a segment read
    /// is still the map's when its merge is swapped in. Call it from a
    /// thread of its own, not a task of the shared pool: it waits for the
    /// lock, whose holders may need the pool.
    pub(crate) fn run(mut self, lock: &RwLock<BucketMap>) -> Result<(), Poisoned> {
        while let Some(s) = self.next_segment() {
            let old = lock.read().map_err(|_| Poisoned)?.segment(s);
            let merged = self.merge_segment(&old);
            lock.write()
                .map_err(|_| Poisoned)?
                .swap_segment(&self, s, merged);
            // The old segment's memory goes with the last handle, this one.
        }
        Ok(())
    }
}

/// The map's lock was poisoned by a panic while it was held.
#[derive(Debug)]
pub(crate) struct Poisoned;

#[cfg(test)]
mod tests;
