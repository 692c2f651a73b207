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
//! Layout: one sorted run of (band key, document) pairs, 16 bytes each, plus
//! a small hash map of recent additions, merged into the run when it grows
//! past an eighth of it (amortised O(log n) per insert, no per-key
//! allocation in the run). Removed documents are not taken out: lookups
//! return their numbers and the caller skips documents that are gone;
//! numbers are never reused, and the next open drops them.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Band keys are already uniform hashes: hashing them again (SipHash, the
/// standard map's default) only costs time.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KeyIsHash(u64);

impl Hasher for KeyIsHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed here; fold anything else in anyway.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<KeyIsHash>>;

/// No next node in a chain of `recent`.
const END: u32 = u32::MAX;

/// Band keys → document numbers.
#[derive(Debug)]
pub(crate) struct BucketMap {
    /// (key, document), sorted.
    sorted: Vec<(u64, u64)>,
    /// `sorted[dir[k >> shift]..dir[(k >> shift) + 1]]` holds every entry
    /// whose key starts with those bits: keys are hashes, so each slice is a
    /// few entries and a lookup costs one or two cache misses, not a binary
    /// search's twenty.
    dir: Vec<u32>,
    shift: u32,
    /// Recent additions: key → index of its newest node; each node is
    /// (key, document, index of the next older node). No allocation per
    /// key, and the merge reads the nodes in order, not chain by chain.
    heads: KeyMap<u32>,
    nodes: Vec<(u64, u64, u32)>,
    /// One past the highest document number in `sorted` (0 when empty):
    /// documents numbered from here on are only in the recent chains.
    run_until: u64,
    /// One past the highest document number added (0 when empty).
    added: u64,
    /// The owner's watermark: every document numbered below it that is
    /// stored (committed) is in the map. Set by the owner, not by
    /// [`BucketMap::insert`]: documents may be added while their batch is
    /// still being committed, and they are not promised until it is.
    pub(crate) until: u64,
    /// Recent additions are merged once there are more than this many (and
    /// more than an eighth of the run).
    floor: usize,
}

impl Default for BucketMap {
    fn default() -> Self {
        let mut map = BucketMap {
            sorted: Vec::new(),
            dir: Vec::new(),
            shift: 0,
            heads: KeyMap::default(),
            nodes: Vec::new(),
            run_until: 0,
            added: 0,
            until: 0,
            floor: 1 << 16,
        };
        map.build_dir();
        map
    }
}

impl BucketMap {
    /// A map holding these (band key, document) pairs.
    pub(crate) fn from_entries(mut entries: Vec<(u64, u64)>) -> BucketMap {
        entries.sort_unstable();
        let until = entries.iter().map(|&(_, d)| d + 1).max().unwrap_or(0);
        let mut map = BucketMap {
            sorted: entries,
            run_until: until,
            added: until,
            until,
            ..BucketMap::default()
        };
        map.build_dir();
        map
    }

    /// Add a document under a band key. Documents come in increasing
    /// numbers, so each recent chain runs from the newest number down.
    pub(crate) fn insert(&mut self, key: u64, doc: u64) {
        self.added = self.added.max(doc + 1);
        let next = self.heads.get(&key).copied().unwrap_or(END);
        self.heads.insert(key, self.nodes.len() as u32);
        self.nodes.push((key, doc, next));
        if self.nodes.len() > (self.sorted.len() / 8).max(self.floor) {
            self.compact();
        }
    }

    /// Append every document under `key` to `out`.
    pub(crate) fn get(&self, key: u64, out: &mut Vec<u64>) {
        self.get_all(std::slice::from_ref(&key), out);
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
            .map(|&key| {
                let slot = (key >> self.shift) as usize;
                (self.dir[slot] as usize, self.dir[slot + 1] as usize)
            })
            .collect();
        for (&key, &(lo, hi)) in keys.iter().zip(&slices) {
            let run = &self.sorted[lo..hi];
            let start = run.partition_point(|&(k, _)| k < key);
            out.extend(
                run[start..]
                    .iter()
                    .take_while(|&&(k, _)| k == key)
                    .map(|&(_, d)| d),
            );
        }
        if self.nodes.is_empty() {
            return;
        }
        let heads: Vec<u32> = keys
            .iter()
            .map(|key| self.heads.get(key).copied().unwrap_or(END))
            .collect();
        for mut at in heads {
            while at != END {
                let (_, doc, next) = self.nodes[at as usize];
                out.push(doc);
                at = next;
            }
        }
    }

    /// Append every document numbered `since` or more under each of `keys`
    /// to `out`: what [`BucketMap::get_all`] finds, less the older ones.
    /// While the run holds nothing that new (no merge since), only the
    /// recent chains are read, each only down to `since`.
    pub(crate) fn get_all_since(&self, keys: &[u64], since: u64, out: &mut Vec<u64>) {
        if self.run_until > since {
            let mut all = Vec::new();
            self.get_all(keys, &mut all);
            out.extend(all.into_iter().filter(|&doc| doc >= since));
            return;
        }
        for key in keys {
            let mut at = self.heads.get(key).copied().unwrap_or(END);
            while at != END {
                let (_, doc, next) = self.nodes[at as usize];
                if doc < since {
                    break;
                }
                out.push(doc);
                at = next;
            }
        }
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.sorted.len() + self.nodes.len()
    }

    /// Merge the recent additions into the sorted run (sorting only them).
    fn compact(&mut self) {
        use rayon::prelude::*;
        // Sorted on all cores (at a million stored documents the recent
        // additions are millions of entries), by an adaptive merge sort:
        // the index adds each batch in key order, so the nodes are a few
        // dozen sorted runs end to end, merged in a few passes instead of
        // sorted from scratch.
        let mut recent: Vec<(u64, u64)> = self.nodes.iter().map(|&(k, d, _)| (k, d)).collect();
        recent.par_sort();
        self.heads.clear();
        self.nodes.clear();
        self.run_until = self.added;
        // Merged from the back into the run's own buffer, grown in place:
        // a second copy of the run (1 GB at a million stored documents)
        // would double the peak memory and fault in fresh pages at every
        // merge. Equal entries keep the forward merge's order (run first).
        let old = self.sorted.len();
        self.sorted.resize(old + recent.len(), (0, 0));
        let (mut i, mut j) = (old, recent.len());
        while j > 0 {
            let w = i + j - 1;
            if i > 0 && self.sorted[i - 1] > recent[j - 1] {
                self.sorted[w] = self.sorted[i - 1];
                i -= 1;
            } else {
                self.sorted[w] = recent[j - 1];
                j -= 1;
            }
        }
        if self.dir_bits() == 64 - self.shift {
            // Same directory resolution: each slot's start moves by the
            // recent entries before it, counted without reading the run.
            let mut before = 0usize;
            for (slot, start) in self.dir.iter_mut().enumerate() {
                while before < recent.len() && ((recent[before].0 >> self.shift) as usize) < slot {
                    before += 1;
                }
                *start += before as u32;
            }
        } else {
            self.build_dir();
        }
    }

    /// Directory bits for the run's size: about four entries per slot.
    fn dir_bits(&self) -> u32 {
        (self.sorted.len() / 4).max(2).ilog2().min(32)
    }

    /// The directory of the run, from scratch.
    fn build_dir(&mut self) {
        let bits = self.dir_bits();
        self.shift = 64 - bits;
        let slots = 1usize << bits;
        let mut dir = Vec::with_capacity(slots + 1);
        let mut i = 0usize;
        for slot in 0..slots {
            while i < self.sorted.len() && ((self.sorted[i].0 >> self.shift) as usize) < slot {
                i += 1;
            }
            dir.push(i as u32);
        }
        dir.push(self.sorted.len() as u32);
        self.dir = dir;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The lookup of newer documents finds what the full lookup finds
        /// at or above `since`, before and after merges, for documents
        /// added in increasing numbers (as the index adds them).
        #[test]
        fn newer_lookup_is_the_full_lookup_filtered(
            keys in prop::collection::vec(any::<u64>(), 1..40),
            start in prop::collection::vec(0usize..40, 0..200),
            more in prop::collection::vec(0usize..40, 0..1_500),
            sinces in prop::collection::vec(0u64..2_000, 1..8),
        ) {
            let key = |i: usize| keys[i % keys.len()];
            let mut map = BucketMap::from_entries(
                start.iter().enumerate().map(|(d, &i)| (key(i), d as u64)).collect(),
            );
            map.floor = 100; // merge often
            for (n, &i) in more.iter().enumerate() {
                map.insert(key(i), (start.len() + n) as u64);
                if n % 97 == 0 {
                    for &since in &sinces {
                        let mut all = Vec::new();
                        map.get_all(&keys, &mut all);
                        all.retain(|&d| d >= since);
                        all.sort_unstable();
                        let mut newer = Vec::new();
                        map.get_all_since(&keys, since, &mut newer);
                        newer.sort_unstable();
                        prop_assert_eq!(newer, all);
                    }
                }
            }
            prop_assert_eq!(map.added, (start.len() + more.len()) as u64);
        }

        /// Against the obvious map, across compactions, with hash-like keys
        /// spread over the whole range and keys shared by many documents.
        #[test]
        fn finds_what_a_plain_map_finds(
            keys in prop::collection::vec(any::<u64>(), 1..60),
            absent in prop::collection::vec(any::<u64>(), 0..20),
            start in prop::collection::vec((0usize..60, 0u64..1000), 0..300),
            more in prop::collection::vec((0usize..60, 1000u64..2000), 0..2_000),
            empty_start in any::<bool>(),
        ) {
            let key = |i: usize| keys[i % keys.len()];
            let start: Vec<(u64, u64)> = start.iter().map(|&(i, d)| (key(i), d)).collect();
            let more: Vec<(u64, u64)> = more.iter().map(|&(i, d)| (key(i), d)).collect();
            let mut map = if empty_start {
                BucketMap::default()
            } else {
                BucketMap::from_entries(start.clone())
            };
            let start = if empty_start { Vec::new() } else { start };
            map.floor = 100; // merge often
            let mut plain: HashMap<u64, Vec<u64>> = HashMap::new();
            for (k, d) in start.iter().chain(&more) {
                plain.entry(*k).or_default().push(*d);
            }
            for (k, d) in &more {
                map.insert(*k, *d);
            }
            prop_assert_eq!(map.len(), start.len() + more.len());
            // The directory kept up across merges is the one built afresh.
            let kept = (map.shift, map.dir.clone());
            map.build_dir();
            prop_assert_eq!(kept, (map.shift, map.dir.clone()));
            let mut one_by_one: Vec<u64> = Vec::new();
            for k in keys.iter().chain(&absent) {
                let mut got = Vec::new();
                map.get(*k, &mut got);
                one_by_one.extend(&got);
                got.sort_unstable();
                let mut want = plain.get(k).cloned().unwrap_or_default();
                want.sort_unstable();
                prop_assert_eq!(got, want);
            }
            // The staged lookup finds the same documents (in another order:
            // the run's for every key first, then the recent ones).
            let all: Vec<u64> = keys.iter().chain(&absent).copied().collect();
            let mut staged = Vec::new();
            map.get_all(&all, &mut staged);
            staged.sort_unstable();
            one_by_one.sort_unstable();
            prop_assert_eq!(staged, one_by_one);
        }
    }
}
