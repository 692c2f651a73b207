//! Exact set similarity of shingle sets, used to verify LSH candidates.
//!
//! A bucket collision is only a hint: two documents join a group only when
//! the exact Jaccard similarity of their shingle sets reaches the threshold
//! (DESIGN-NOTES §2: merging on collisions alone is how other tools end up
//! with one false cluster of 859,091 documents). All functions take sorted,
//! deduplicated slices, as [`crate::shingle::Shingles::hashes`] provides (or
//! the 32-bit sets a persistent index stores).

/// Size of the intersection of two sorted, deduplicated sets (linear merge).
///
/// The merge steps without branching on the comparison: shingle hashes are
/// random, so which side advances is a coin toss the processor mispredicts
/// half the time, and verifying candidate pairs was the largest single cost
/// of a deduplication run at threshold 0.8. Each step advances the smaller
/// side, or both when equal, by adding the comparison results. Tested
/// against a hash set.
pub fn intersection_size<T: Ord + Copy>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        n += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
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
pub fn overlap<T: Ord + Copy>(a: &[T], b: &[T]) -> Overlap {
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
pub fn jaccard<T: Ord + Copy>(a: &[T], b: &[T]) -> f64 {
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
            check_against_hash_sets(a, b)?;
        }

        #[test]
        fn matches_hash_set_reference_on_wide_values(
            a in proptest::collection::btree_set(proptest::prelude::any::<u64>(), 0..300),
            b in proptest::collection::btree_set(proptest::prelude::any::<u64>(), 0..300),
            shared in proptest::collection::btree_set(proptest::prelude::any::<u64>(), 0..300),
        ) {
            let a = a.into_iter().chain(shared.iter().copied()).collect();
            let b = b.into_iter().chain(shared).collect();
            check_against_hash_sets(a, b)?;
        }
    }

    fn check_against_hash_sets(
        a: std::collections::BTreeSet<u64>,
        b: std::collections::BTreeSet<u64>,
    ) -> Result<(), TestCaseError> {
        let (va, vb): (Vec<u64>, Vec<u64>) =
            (a.iter().copied().collect(), b.iter().copied().collect());
        let (ha, hb): (HashSet<u64>, HashSet<u64>) =
            (a.into_iter().collect(), b.into_iter().collect());
        let inter = ha.intersection(&hb).count();
        let union = ha.union(&hb).count();
        let o = overlap(&va, &vb);
        prop_assert_eq!(intersection_size(&va, &vb), inter);
        let expect = if union == 0 {
            0.0
        } else {
            inter as f64 / union as f64
        };
        prop_assert!((o.jaccard - expect).abs() < 1e-12);
        if !va.is_empty() {
            prop_assert!((o.a_in_b - inter as f64 / va.len() as f64).abs() < 1e-12);
        }
        Ok(())
    }
}

/// How two documents relate, from the most to the least alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PairRelation {
    /// Same normalised text.
    Exact,
    /// Jaccard similarity at or above the threshold.
    Near,
    /// Most of B is inside A (an excerpt of A, an abridged copy, or B
    /// wrapped in A's template): containment of B in A at or above the
    /// containment threshold.
    Contains,
    /// Most of A is inside B.
    ContainedIn,
    /// They share at least one passage, but not most of either.
    SharesPassages,
    /// Nothing worth reporting.
    Different,
}

/// Thresholds that decide a [`PairRelation`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RelationConfig {
    /// Jaccard similarity for [`PairRelation::Near`]. Default: 0.4 (as dedup).
    pub threshold: f64,
    /// Containment for [`PairRelation::Contains`] / [`PairRelation::ContainedIn`].
    /// Default: 0.5 ("most of it").
    pub containment: f64,
}

impl Default for RelationConfig {
    fn default() -> Self {
        RelationConfig {
            threshold: 0.4,
            containment: 0.5,
        }
    }
}

impl RelationConfig {
    /// Classify a pair: `exact` when the normalised texts are equal,
    /// `overlap` of the shingle sets, `shares_passage` when an alignment found
    /// at least one passage.
    pub fn relate(&self, exact: bool, o: &Overlap, shares_passage: bool) -> PairRelation {
        if exact {
            PairRelation::Exact
        } else if o.jaccard >= self.threshold {
            PairRelation::Near
        } else if o.b_in_a >= self.containment && o.b_in_a >= o.a_in_b {
            PairRelation::Contains
        } else if o.a_in_b >= self.containment {
            PairRelation::ContainedIn
        } else if shares_passage {
            PairRelation::SharesPassages
        } else {
            PairRelation::Different
        }
    }
}

#[cfg(test)]
mod relation_tests {
    use super::*;

    #[test]
    fn relations() {
        let r = RelationConfig::default();
        let o = |jaccard, a_in_b, b_in_a| Overlap {
            jaccard,
            a_in_b,
            b_in_a,
        };
        assert_eq!(r.relate(true, &o(1.0, 1.0, 1.0), true), PairRelation::Exact);
        assert_eq!(r.relate(false, &o(0.6, 0.7, 0.8), true), PairRelation::Near);
        assert_eq!(
            r.relate(false, &o(0.1, 0.1, 0.9), true),
            PairRelation::Contains
        );
        assert_eq!(
            r.relate(false, &o(0.1, 0.9, 0.1), true),
            PairRelation::ContainedIn
        );
        assert_eq!(
            r.relate(false, &o(0.05, 0.1, 0.1), true),
            PairRelation::SharesPassages
        );
        assert_eq!(
            r.relate(false, &o(0.0, 0.0, 0.0), false),
            PairRelation::Different
        );
    }
}
