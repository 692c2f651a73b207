//! The buckets against a plain map of every (key, number) inserted.

use super::*;
use proptest::prelude::*;
use std::collections::HashMap;

/// Every document under each key, sorted: what a lookup must find.
fn lookup(map: &BucketMap, keys: &[u64]) -> Vec<Vec<u64>> {
    keys.iter()
        .map(|&k| {
            let mut got = Vec::new();
            map.get(k, &mut got);
            got.sort_unstable();
            got
        })
        .collect()
}

fn plain_lookup(plain: &HashMap<u64, Vec<u64>>, keys: &[u64]) -> Vec<Vec<u64>> {
    keys.iter()
        .map(|k| {
            let mut want = plain.get(k).cloned().unwrap_or_default();
            want.sort_unstable();
            want
        })
        .collect()
}

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
            start.iter().enumerate().map(|(d, &i)| (key(i), d as u64)),
        );
        map.floor = 100; // merge often
        for (n, &i) in more.iter().enumerate() {
            map.insert(key(i), (start.len() + n) as u64);
            map.merge_now();
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

    /// Against the obvious map, across merges, with hash-like keys
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
            map.merge_now();
        }
        prop_assert_eq!(map.len(), start.len() + more.len());
        let all: Vec<u64> = keys.iter().chain(&absent).copied().collect();
        prop_assert_eq!(lookup(&map, &all), plain_lookup(&plain, &all));
        // The staged lookup finds the same documents (in another order:
        // the run's for every key first, then the recent ones).
        let mut staged = Vec::new();
        map.get_all(&all, &mut staged);
        staged.sort_unstable();
        let mut one_by_one: Vec<u64> = lookup(&map, &all).concat();
        one_by_one.sort_unstable();
        prop_assert_eq!(staged, one_by_one);
    }

    /// While a merge is carried in, a segment at a time, with more
    /// documents added between its steps (as the index does, the merge
    /// holding the lock only to swap a segment), every lookup still
    /// finds each document exactly once, and so does the lookup of
    /// newer documents.
    #[test]
    fn lookups_are_whole_during_a_merge(
        keys in prop::collection::vec(any::<u64>(), 1..80),
        start in prop::collection::vec(0usize..80, 0..400),
        more in prop::collection::vec(0usize..80, 200..3_000),
        since in 0u64..3_000,
    ) {
        let key = |i: usize| keys[i % keys.len()];
        let mut map = BucketMap::from_entries(
            start.iter().enumerate().map(|(d, &i)| (key(i), d as u64)),
        );
        map.floor = 150;
        let mut plain: HashMap<u64, Vec<u64>> = HashMap::new();
        for (d, &i) in start.iter().enumerate() {
            plain.entry(key(i)).or_default().push(d as u64);
        }
        let mut merge: Option<Merge> = None;
        let mut merges = 0;
        for (n, &i) in more.iter().enumerate() {
            let doc = (start.len() + n) as u64;
            map.insert(key(i), doc);
            plain.entry(key(i)).or_default().push(doc);
            if merge.is_none() {
                merge = map.start_merge();
                merges += usize::from(merge.is_some());
            }
            // One segment merged every few additions.
            if let Some(m) = merge.as_mut().filter(|_| n % 3 == 0) {
                let s = m.next_segment().expect("a merge in progress has segments left");
                let merged = m.merge_segment(&map.segment(s));
                map.swap_segment(m, s, merged);
                if m.next_segment().is_none() {
                    merge = None;
                }
            }
            if n % 41 == 0 {
                prop_assert_eq!(lookup(&map, &keys), plain_lookup(&plain, &keys));
                prop_assert_eq!(map.len(), start.len() + n + 1);
                let mut newer = Vec::new();
                map.get_all_since(&keys, since, &mut newer);
                newer.sort_unstable();
                let mut want: Vec<u64> = plain_lookup(&plain, &keys)
                    .concat()
                    .into_iter()
                    .filter(|&d| d >= since)
                    .collect();
                want.sort_unstable();
                prop_assert_eq!(newer, want);
            }
        }
        prop_assert!(merges > 0 || more.len() <= 150);
    }
}

/// Merges carried out by their own thread while others insert and
/// look up under the lock, as the index runs them: nothing is lost or
/// doubled.
#[test]
fn merges_on_another_thread_lose_nothing() {
    let map = RwLock::new(BucketMap::default());
    map.write().expect("lock").floor = 500;
    let key = |d: u64| (d % 997).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let docs = 40_000u64;
    let mut merges = 0;
    std::thread::scope(|scope| {
        let mut running: Option<std::thread::ScopedJoinHandle<'_, Result<(), Poisoned>>> = None;
        for d in 0..docs {
            // A batch's worth of insertions under one hold of the lock.
            let merge = {
                let mut m = map.write().expect("lock");
                m.insert(key(d), d);
                if d % 50 != 49 {
                    continue;
                }
                m.start_merge()
            };
            // Every so often the merge in progress is waited for, so
            // that however the threads are scheduled, merges keep
            // starting (and run alongside the insertions between).
            if d % 2_000 == 1_999 {
                if let Some(h) = running.take() {
                    h.join().expect("merge thread").expect("merge");
                }
            }
            if let Some(merge) = merge {
                if let Some(h) = running.take() {
                    h.join().expect("merge thread").expect("merge");
                }
                merges += 1;
                let map = &map;
                running = Some(scope.spawn(move || merge.run(map)));
            }
            if d % 1_000 == 999 {
                let mut got = Vec::new();
                map.read().expect("lock").get(key(d), &mut got);
                got.sort_unstable();
                let want: Vec<u64> = (0..=d).filter(|&e| key(e) == key(d)).collect();
                assert_eq!(got, want, "after document {d}");
            }
        }
        if let Some(h) = running {
            h.join().expect("merge thread").expect("merge");
        }
    });
    assert!(merges >= 4, "{merges}");
    let map = map.into_inner().expect("lock");
    assert!(map.merging.is_none());
    assert_eq!(map.len() as u64, docs);
    let mut all = Vec::new();
    for k in 0..997 {
        map.get(key(k), &mut all);
    }
    all.sort_unstable();
    assert_eq!(all, (0..docs).collect::<Vec<_>>());
}
