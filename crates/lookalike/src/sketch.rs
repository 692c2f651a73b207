//! MinHash sketches by one-permutation hashing with optimal densification.
//!
//! Classic MinHash hashes every shingle `k` times (k = 128: 128 hashes per
//! shingle). One-permutation hashing (Li, Owen, Zhang 2012) hashes each
//! shingle once, uses the hash to pick one of `k` bins and keeps the minimum
//! per bin: O(1) per shingle. Documents with few shingles leave bins empty;
//! *optimal densification* (Shrivastava, ICML 2017) fills each empty bin `i`
//! from the first non-empty bin on a probe sequence that depends only on `i`
//! and the attempt number, so two documents fill the bin from the same place.
//! The probability that slot `i` of two sketches is equal is then exactly the
//! Jaccard similarity of the two shingle sets, which is what LSH needs; the
//! fraction of equal slots is an unbiased estimate (a test over thousands of
//! pairs checks it against exact Jaccard).
//!
//! Bins are contiguous ranges of the 64-bit hash space (multiply-shift), so
//! the minimum within a bin is the minimum of the hash itself; a slot keeps
//! the top 32 bits of the position inside its bin.

use serde::{Deserialize, Serialize};

use crate::shingle::fmix64;

/// Sketch parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SketchConfig {
    /// Number of slots (k). Default: 128. The estimate's standard error is
    /// `sqrt(J(1-J)/k)`: 0.044 at J = 0.5 with 128 slots.
    pub slots: usize,
    /// Seed of the bin hash. Default: 0. Persisted in the fingerprint spec.
    pub seed: u64,
}

impl Default for SketchConfig {
    fn default() -> Self {
        SketchConfig {
            slots: 128,
            seed: 0,
        }
    }
}

/// A MinHash signature: `slots` values, compared slot by slot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Signature(pub Box<[u32]>);

impl Signature {
    /// Fraction of equal slots: the estimate of Jaccard similarity.
    pub fn jaccard(&self, other: &Signature) -> f64 {
        Signature::estimate(&self.0, &other.0)
    }

    /// Fraction of equal slots of two signatures given as slices; 0.0 when
    /// they are empty or of different lengths (different sketch settings).
    pub fn estimate(a: &[u32], b: &[u32]) -> f64 {
        if a.is_empty() || a.len() != b.len() {
            return 0.0;
        }
        let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
        equal as f64 / a.len() as f64
    }
}

impl SketchConfig {
    /// Check the configuration: 1 to 4096 slots.
    pub fn validate(&self) -> Result<(), crate::Error> {
        if self.slots == 0 || self.slots > 4096 {
            return Err(crate::Error::Config(format!(
                "sketch size must be between 1 and 4096 slots, got {}",
                self.slots
            )));
        }
        Ok(())
    }

    /// Sketch a set of shingle hashes. Returns `None` for an empty set: a
    /// document without shingles has nothing to compare.
    pub fn sketch(&self, shingles: &[u64]) -> Option<Signature> {
        if shingles.is_empty() {
            return None;
        }
        let k = self.slots;
        const EMPTY: u64 = u64::MAX;
        let mut bins = vec![EMPTY; k];
        let salt = fmix64(self.seed ^ 0x6A09_E667_F3BC_C908);
        for &s in shingles {
            let h = fmix64(s ^ salt);
            let wide = (h as u128) * (k as u128);
            let bin = (wide >> 64) as usize;
            let pos = (wide as u64 >> 32) as u32 as u64;
            if pos < bins[bin] {
                bins[bin] = pos;
            }
        }
        let mut out = vec![0u32; k];
        for i in 0..k {
            out[i] = if bins[i] != EMPTY {
                bins[i] as u32
            } else {
                bins[self.densify_source(&bins, i)] as u32
            };
        }
        Some(Signature(out.into_boxed_slice()))
    }

    /// The non-empty bin that empty bin `i` copies: the first non-empty bin
    /// on a pseudo-random probe sequence seeded by `i` alone. At least one
    /// bin is non-empty, and every probe is uniform over all bins, so the
    /// loop ends (expected `k / filled` probes).
    fn densify_source(&self, bins: &[u64], i: usize) -> usize {
        let k = bins.len() as u128;
        let mut attempt = 1u64;
        loop {
            let h = fmix64(
                (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    ^ attempt.wrapping_mul(0xD1B5_4A32_D192_ED03)
                    ^ self.seed,
            );
            let j = (((h as u128) * k) >> 64) as usize;
            if bins[j] != u64::MAX {
                return j;
            }
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::jaccard;

    /// A small deterministic generator so the test needs no extra crate.
    struct SplitMix(u64);
    impl SplitMix {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            fmix64(self.0)
        }
    }

    fn set(mut v: Vec<u64>) -> Vec<u64> {
        v.sort_unstable();
        v.dedup();
        v
    }

    #[test]
    fn identical_sets_have_identical_signatures() {
        let c = SketchConfig::default();
        let a: Vec<u64> = (0..50).map(fmix64).collect();
        assert_eq!(c.sketch(&set(a.clone())), c.sketch(&set(a)));
        assert!(c.sketch(&[]).is_none());
    }

    #[test]
    fn estimate_is_unbiased_over_thousands_of_pairs() {
        // Pairs of sets of very different sizes (5 to 2,000 shingles, so many
        // sketches need densification) and similarities across [0, 1].
        let c = SketchConfig::default();
        let mut rng = SplitMix(7);
        let (mut sum_err, mut sum_sq, mut n) = (0.0f64, 0.0f64, 0usize);
        let mut worst_z = 0.0f64;
        for _ in 0..4000 {
            let size = 5 + (rng.next() % 2000) as usize;
            let shared = (rng.next() % (size as u64 + 1)) as usize;
            let common: Vec<u64> = (0..shared).map(|_| rng.next()).collect();
            let mut a = common.clone();
            let mut b = common;
            a.extend((0..size - shared).map(|_| rng.next()));
            b.extend((0..size - shared).map(|_| rng.next()));
            let (a, b) = (set(a), set(b));
            let exact = jaccard(&a, &b);
            let (Some(sa), Some(sb)) = (c.sketch(&a), c.sketch(&b)) else {
                panic!("non-empty sets must sketch")
            };
            let est = sa.jaccard(&sb);
            let err = est - exact;
            sum_err += err;
            sum_sq += err * err;
            n += 1;
            let sd = (exact * (1.0 - exact) / 128.0).sqrt().max(1e-3);
            worst_z = worst_z.max(err.abs() / sd);
        }
        let bias = sum_err / n as f64;
        let rmse = (sum_sq / n as f64).sqrt();
        // Mean error of 4,000 estimates with sd <= 0.044 each: |bias| > 0.004
        // is more than five standard errors away from an unbiased estimator.
        assert!(bias.abs() < 0.004, "bias {bias}");
        // An unbiased estimator's RMSE is at most sqrt(0.25/128) = 0.044.
        assert!(rmse < 0.045, "rmse {rmse}");
        assert!(
            worst_z < 6.0,
            "an estimate {worst_z} standard deviations away"
        );
    }

    #[test]
    fn golden_vector() {
        let c = SketchConfig { slots: 8, seed: 0 };
        let sig = c.sketch(&[1, 2, 3]).map(|s| s.0.to_vec());
        assert_eq!(
            sig,
            Some(vec![
                3118416164, 1302477123, 1302477123, 1302477123, 3118416164, 3118416164, 2561816621,
                3118416164
            ])
        );
    }
}
