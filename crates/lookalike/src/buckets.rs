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
//! Layout: 256 shards by the keys' top bits, each one sorted run of (band
//! key, document) pairs, 16 bytes each, plus a small hash map of recent
//! additions, merged into the run when it grows past a sixteenth to an
//! eighth of it (amortised O(log n) per insert, no per-key allocation in the
//! run; the shards merge at different times, each a 256th of the work). Removed documents are not taken out: lookups
//! return their numbers and the caller skips documents that are gone;
//! numbers are never reused, and the next open drops them.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Band keys are already uniform hashes: hashing them again (SipHash, the
/// standard map's default) only costs time. Only their halves are swapped:
/// the map takes a tag from the hash's top bits, and the keys of one shard
/// share theirs, so every slot would look like a match.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KeyIsHash(u64);

impl Hasher for KeyIsHash {
    fn finish(&self) -> u64 {
        self.0.rotate_left(32)
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

/// A band key's top bits pick its shard. Each shard merges its recent
/// additions on its own, so a merge moves a 256th of the map: at a million
/// stored documents a few megabytes, about a millisecond, where merging
/// the whole map held every lookup and the writer for up to a second.
const SHARD_BITS: u32 = 8;
const SHARDS: usize = 1 << SHARD_BITS;

/// Band keys → document numbers.
#[derive(Debug)]
pub(crate) struct BucketMap {
    shards: Vec<Shard>,
    /// One past the highest document number added (0 when empty).
    added: u64,
    /// The owner's watermark: every document numbered below it that is
    /// stored (committed) is in the map. Set by the owner, not by
    /// [`BucketMap::insert`]: documents may be added while their batch is
    /// still being committed, and they are not promised until it is.
    pub(crate) until: u64,
    /// A shard's recent additions are merged once there are more than this
    /// many (and more than its share of its run, see [`Shard::share`]).
    floor: usize,
}

/// The entries whose keys start with one shard's bits.
#[derive(Debug, Default)]
struct Shard {
    /// (key, document), sorted.
    sorted: Vec<(u64, u64)>,
    /// `sorted[dir[slot]..dir[slot + 1]]` holds every entry whose key's
    /// bits after the shard's give that slot ([`Shard::slot`]): keys are
    /// hashes, so each slice is a few entries and a lookup costs one or two
    /// cache misses, not a binary search's twenty.
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
    /// Recent additions are merged when they pass `share`/2048 of the run
    /// (between a sixteenth and an eighth). It differs from shard to shard:
    /// shards fill at the same pace, and with one share they would all
    /// merge at the same insert.
    share: usize,
}

impl Default for BucketMap {
    fn default() -> Self {
        BucketMap::from_entries(Vec::new())
    }
}

impl BucketMap {
    /// A map holding these (band key, document) pairs.
    pub(crate) fn from_entries(mut entries: Vec<(u64, u64)>) -> BucketMap {
        entries.sort_unstable();
        let until = entries.iter().map(|&(_, d)| d + 1).max().unwrap_or(0);
        // Split from the back, each tail cut off and the rest shrunk, so
        // the map never holds a second copy of a million documents' keys.
        let mut shards: Vec<Shard> = Vec::with_capacity(SHARDS);
        for s in (0..SHARDS).rev() {
            let lo = entries.partition_point(|&(k, _)| shard_of(k) < s);
            let sorted = entries.split_off(lo);
            entries.shrink_to_fit();
            shards.push(Shard::new(s, sorted, until));
        }
        shards.reverse();
        BucketMap {
            shards,
            added: until,
            until,
            floor: (1 << 16) / SHARDS,
        }
    }

    /// Add a document under a band key. Documents come in increasing
    /// numbers, so each recent chain runs from the newest number down.
    pub(crate) fn insert(&mut self, key: u64, doc: u64) {
        self.added = self.added.max(doc + 1);
        let shard = &mut self.shards[shard_of(key)];
        shard.insert(key, doc);
        if shard.nodes.len() > (shard.sorted.len() * shard.share / 2048).max(self.floor) {
            shard.compact(self.added);
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
                let shard = &self.shards[shard_of(key)];
                let slot = shard.slot(key);
                (shard.dir[slot] as usize, shard.dir[slot + 1] as usize)
            })
            .collect();
        for (&key, &(lo, hi)) in keys.iter().zip(&slices) {
            let run = &self.shards[shard_of(key)].sorted[lo..hi];
            let start = run.partition_point(|&(k, _)| k < key);
            out.extend(
                run[start..]
                    .iter()
                    .take_while(|&&(k, _)| k == key)
                    .map(|&(_, d)| d),
            );
        }
        let heads: Vec<u32> = keys
            .iter()
            .map(|key| {
                let shard = &self.shards[shard_of(*key)];
                if shard.nodes.is_empty() {
                    END
                } else {
                    shard.heads.get(key).copied().unwrap_or(END)
                }
            })
            .collect();
        for (key, mut at) in keys.iter().zip(heads) {
            let nodes = &self.shards[shard_of(*key)].nodes;
            while at != END {
                let (_, doc, next) = nodes[at as usize];
                out.push(doc);
                at = next;
            }
        }
    }

    /// Append every document numbered `since` or more under each of `keys`
    /// to `out`: what [`BucketMap::get_all`] finds, less the older ones.
    /// Where a shard's run holds nothing that new (no merge since), only its
    /// recent chains are read, each only down to `since`.
    pub(crate) fn get_all_since(&self, keys: &[u64], since: u64, out: &mut Vec<u64>) {
        for &key in keys {
            let shard = &self.shards[shard_of(key)];
            if shard.run_until > since {
                let from = out.len();
                self.get(key, out);
                let mut kept = from;
                for i in from..out.len() {
                    if out[i] >= since {
                        out[kept] = out[i];
                        kept += 1;
                    }
                }
                out.truncate(kept);
                continue;
            }
            let mut at = shard.heads.get(&key).copied().unwrap_or(END);
            while at != END {
                let (_, doc, next) = shard.nodes[at as usize];
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
        self.shards
            .iter()
            .map(|s| s.sorted.len() + s.nodes.len())
            .sum()
    }
}

/// The shard of a key.
fn shard_of(key: u64) -> usize {
    (key >> (64 - SHARD_BITS)) as usize
}

/// The directory slot of a key in a shard whose directory has `64 - shift`
/// bits: the key's bits after the shard's.
fn slot(key: u64, shift: u32) -> usize {
    ((key << SHARD_BITS) >> shift) as usize
}

impl Shard {
    /// Shard number `s`, holding these sorted entries (numbered below
    /// `until`).
    fn new(s: usize, sorted: Vec<(u64, u64)>, until: u64) -> Shard {
        let share = 128 + s * 128 / SHARDS;
        let mut shard = Shard {
            sorted,
            run_until: until,
            share,
            ..Shard::default()
        };
        shard.build_dir();
        shard
    }

    /// The directory slot of a key: its bits after the shard's.
    fn slot(&self, key: u64) -> usize {
        slot(key, self.shift)
    }

    fn insert(&mut self, key: u64, doc: u64) {
        let next = self.heads.get(&key).copied().unwrap_or(END);
        self.heads.insert(key, self.nodes.len() as u32);
        self.nodes.push((key, doc, next));
    }

    /// Merge the recent additions into the sorted run (sorting only them);
    /// `added` is one past the highest number added to the map.
    fn compact(&mut self, added: u64) {
        // An adaptive merge sort: the index adds each batch in key order, so
        // the nodes are sorted runs end to end, merged in a few passes. On
        // this thread: a shard is small, and the buckets' lock is held.
        let mut recent: Vec<(u64, u64)> = self.nodes.iter().map(|&(k, d, _)| (k, d)).collect();
        recent.sort();
        self.heads.clear();
        self.nodes.clear();
        self.run_until = added;
        // Merged from the back into the run's own buffer, grown in place
        // (and only by what it needs: a shard's spare room, times 256, would
        // be a lot of memory). Equal entries keep the forward merge's order
        // (run first).
        let old = self.sorted.len();
        self.sorted.reserve_exact(recent.len());
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
            for (at, start) in self.dir.iter_mut().enumerate() {
                while before < recent.len() && slot(recent[before].0, self.shift) < at {
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
            while i < self.sorted.len() && self.slot(self.sorted[i].0) < slot {
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
            map.floor = 4; // merge often
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
            map.floor = 4; // merge often
            let mut plain: HashMap<u64, Vec<u64>> = HashMap::new();
            for (k, d) in start.iter().chain(&more) {
                plain.entry(*k).or_default().push(*d);
            }
            for (k, d) in &more {
                map.insert(*k, *d);
            }
            prop_assert_eq!(map.len(), start.len() + more.len());
            // The directory kept up across merges is the one built afresh.
            for shard in &mut map.shards {
                let kept = (shard.shift, shard.dir.clone());
                shard.build_dir();
                prop_assert_eq!(kept, (shard.shift, shard.dir.clone()));
            }
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
