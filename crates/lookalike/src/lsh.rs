//! Locality-sensitive hashing: banding MinHash signatures into buckets.
//!
//! A signature of `k` slots is cut into `b` bands of `r` rows (b·r ≤ k); two
//! documents become candidates when all `r` slots of any band are equal. For
//! a pair of Jaccard similarity `J` that happens with probability
//! `1 - (1 - J^r)^b` ([`LshParams::probability`]).
//!
//! The bands and rows are derived from the user's threshold for *recall at the
//! threshold* ([`LshParams::for_threshold`]): the largest `r` (fewest false
//! candidates) whose probability at the threshold still reaches the target
//! recall. Verification then removes the false candidates. DESIGN-NOTES §2:
//! the usual false-positive/false-negative balance (9×13 at 0.8) finds only
//! about 40% of pairs at the threshold itself; 21×6 finds 99.8%.

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::sketch::Signature;

/// Bands × rows of an LSH index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LshParams {
    /// Number of bands (b).
    pub bands: usize,
    /// Slots per band (r).
    pub rows: usize,
}

impl LshParams {
    /// Probability that a pair of Jaccard similarity `j` shares a bucket.
    pub fn probability(&self, j: f64) -> f64 {
        1.0 - (1.0 - j.powi(self.rows as i32)).powi(self.bands as i32)
    }

    /// Choose bands × rows for `slots` slots so that pairs at `threshold`
    /// become candidates with probability at least `target_recall`, with as
    /// many rows per band as that allows (fewer false candidates).
    pub fn for_threshold(
        threshold: f64,
        slots: usize,
        target_recall: f64,
    ) -> Result<LshParams, crate::Error> {
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(crate::Error::Config(format!(
                "threshold must be in (0, 1], got {threshold}"
            )));
        }
        if !(target_recall > 0.0 && target_recall < 1.0) {
            return Err(crate::Error::Config(format!(
                "target recall must be in (0, 1), got {target_recall}"
            )));
        }
        for rows in (1..=slots).rev() {
            let p = LshParams {
                bands: slots / rows,
                rows,
            };
            if p.probability(threshold) >= target_recall {
                return Ok(p);
            }
        }
        Ok(LshParams {
            bands: slots,
            rows: 1,
        })
    }

    /// The bucket key of band `band` of `sig`. Keys of different bands are
    /// hashed with different seeds and are only ever compared within a band.
    pub fn band_key(&self, sig: &Signature, band: usize) -> u64 {
        let values = &sig.0[band * self.rows..(band + 1) * self.rows];
        let mut stack = [0u8; 64];
        let mut heap = Vec::new();
        let bytes: &mut [u8] = if values.len() * 4 <= stack.len() {
            &mut stack[..values.len() * 4]
        } else {
            heap.resize(values.len() * 4, 0);
            &mut heap
        };
        for (chunk, v) in bytes.chunks_exact_mut(4).zip(values) {
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        xxh3_64_with_seed(bytes, band as u64)
    }
}

/// The candidate pairs of a bucket of `members` documents ordered by input
/// position, as pairs of positions `(i, j)` in the bucket with `i < j`: each
/// of the first `centres` members paired with every member after it. At most
/// `centres × members` pairs, never `members²`; with `centres ≥ members - 1`
/// every pair. The pairs depend on the bucket alone, so a shuffle that
/// gathers a bucket's members anywhere (Spark, Ray) produces exactly these.
pub fn bucket_pairs(members: usize, centres: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..centres.min(members)).flat_map(move |i| (i + 1..members).map(move |j| (i, j)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_parameters_reach_the_target_recall() {
        for &t in &[0.3, 0.5, 0.7, 0.8, 0.9, 0.95] {
            let p = LshParams::for_threshold(t, 128, 0.99).expect("valid");
            assert!(p.bands * p.rows <= 128);
            assert!(p.probability(t) >= 0.99, "{t}: {p:?}");
            // One more row per band would miss the target: r is the largest.
            let tighter = LshParams {
                bands: 128 / (p.rows + 1),
                rows: p.rows + 1,
            };
            assert!(tighter.probability(t) < 0.99, "{t}: {p:?}");
        }
        assert_eq!(
            LshParams::for_threshold(0.8, 128, 0.99).ok(),
            Some(LshParams { bands: 21, rows: 6 })
        );
    }

    #[test]
    fn bucket_pairs_pair_each_centre_with_every_later_member() {
        let pairs: Vec<_> = bucket_pairs(4, 2).collect();
        assert_eq!(pairs, [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3)]);
        let all: Vec<_> = bucket_pairs(3, 8).collect();
        assert_eq!(all, [(0, 1), (0, 2), (1, 2)]);
        assert_eq!(bucket_pairs(1, 8).count(), 0);
        assert_eq!(bucket_pairs(0, 8).count(), 0);
    }

    #[test]
    fn rejects_bad_thresholds() {
        assert!(LshParams::for_threshold(0.0, 128, 0.99).is_err());
        assert!(LshParams::for_threshold(1.5, 128, 0.99).is_err());
        assert!(LshParams::for_threshold(f64::NAN, 128, 0.99).is_err());
    }
}
