//! Exact set similarity of shingle sets, used to verify LSH candidates.
//!
//! A bucket collision is only a hint: two documents join a group only when
//! the exact Jaccard similarity of their shingle sets reaches the threshold
//! (DESIGN-NOTES §2: merging on collisions alone is how other tools end up
//! with one false cluster of 859,091 documents). All functions take sorted,
//! deduplicated slices, as [`crate::shingle::Shingles::hashes`] provides.

/// Size of the intersection of two sorted, deduplicated sets (linear merge).
pub fn intersection_size(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// Similarity figures of one pair, from one intersection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overlap {
    /// |A ∩ B| / |A ∪ B|; 0 when both are empty.
    pub jaccard: f64,
    /// |A ∩ B| / |A|: how much of A is inside B; 0 when A is empty.
    pub a_in_b: f64,
    /// |A ∩ B| / |B|: how much of B is inside A; 0 when B is empty.
    pub b_in_a: f64,
}

/// Jaccard similarity and containment each way.
pub fn overlap(a: &[u64], b: &[u64]) -> Overlap {
    let inter = intersection_size(a, b) as f64;
    let union = (a.len() + b.len()) as f64 - inter;
    let ratio = |num: f64, den: f64| if den > 0.0 { num / den } else { 0.0 };
    Overlap {
        jaccard: ratio(inter, union),
        a_in_b: ratio(inter, a.len() as f64),
        b_in_a: ratio(inter, b.len() as f64),
    }
}

/// Jaccard similarity |A ∩ B| / |A ∪ B| of two sorted sets.
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    overlap(a, b).jaccard
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    proptest! {
        #[test]
        fn matches_hash_set_reference(a in proptest::collection::btree_set(0u64..64, 0..40),
                                      b in proptest::collection::btree_set(0u64..64, 0..40)) {
            let (va, vb): (Vec<u64>, Vec<u64>) = (a.iter().copied().collect(), b.iter().copied().collect());
            let (ha, hb): (HashSet<u64>, HashSet<u64>) = (a.into_iter().collect(), b.into_iter().collect());
            let inter = ha.intersection(&hb).count();
            let union = ha.union(&hb).count();
            let o = overlap(&va, &vb);
            prop_assert_eq!(intersection_size(&va, &vb), inter);
            let expect = if union == 0 { 0.0 } else { inter as f64 / union as f64 };
            prop_assert!((o.jaccard - expect).abs() < 1e-12);
            if !va.is_empty() { prop_assert!((o.a_in_b - inter as f64 / va.len() as f64).abs() < 1e-12); }
        }
    }
}
