//! Fingerprints: everything the engine keeps of one document.
//!
//! A fingerprint is computed once per document, in parallel, and the text can
//! be dropped afterwards: the exact-duplicate hash (xxh3-128 of the normalised
//! text), the shingle set (for exact verification) and the MinHash signature
//! (for LSH). [`FingerprintSpec`] names every choice that shapes these values;
//! it is persisted with anything stored, and data made under another spec is
//! refused rather than compared.

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_128;

use crate::normalize::{NORM_VERSION, normalize_into};
use crate::shingle::{ShingleConfig, ShingleScratch, Shingles};
use crate::sketch::{Signature, SketchConfig};

/// Scratch buffers larger than this are freed after use rather than kept.
const SCRATCH_KEEP_BYTES: usize = 16 << 20;

thread_local! {
    /// Buffers [`Fingerprinter::fingerprint`] reuses on each thread.
    static SCRATCH: std::cell::RefCell<(String, ShingleScratch)> = Default::default();
}

/// What one document reduces to.
#[derive(Debug, Clone)]
pub struct Fingerprint {
    /// xxh3-128 of the normalised text: equal for exact duplicates.
    pub exact: u128,
    /// The shingle set and the number of units.
    pub shingles: Shingles,
    /// MinHash signature; `None` when the document has no shingles.
    pub signature: Option<Signature>,
}

/// Computes fingerprints under one shingle and sketch configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fingerprinter {
    /// How text is cut into shingles.
    pub shingle: ShingleConfig,
    /// How shingle sets are sketched.
    pub sketch: SketchConfig,
}

impl Fingerprinter {
    /// Check both configurations.
    pub fn validate(&self) -> Result<(), crate::Error> {
        self.shingle.validate()?;
        self.sketch.validate()
    }

    /// Normalise, hash, shingle and sketch one document. The intermediate
    /// buffers (normalised text, word hashes, unsorted shingles) are kept per
    /// thread and reused, so a document costs one allocation: its shingle set.
    pub fn fingerprint(&self, text: &str) -> Fingerprint {
        SCRATCH.with(|scratch| {
            let (normalized, shingle_scratch) = &mut *scratch.borrow_mut();
            normalize_into(text, normalized);
            let exact = xxh3_128(normalized.as_bytes());
            let shingles = self.shingle.shingle_with(normalized, shingle_scratch);
            let signature = self.sketch.sketch(&shingles.hashes);
            // One huge document must not pin its buffers for the whole run.
            if normalized.capacity() > SCRATCH_KEEP_BYTES {
                *normalized = String::new();
                *shingle_scratch = ShingleScratch::default();
            }
            Fingerprint {
                exact,
                shingles,
                signature,
            }
        })
    }

    /// The persisted description of these settings.
    pub fn spec(&self) -> FingerprintSpec {
        FingerprintSpec {
            normalization: NORM_VERSION.to_string(),
            hash: "xxh3-64/mix-v1".to_string(),
            exact_hash: "xxh3-128".to_string(),
            sketch_method: "oph-optimal-densification-v1".to_string(),
            shingle: self.shingle,
            sketch: self.sketch,
        }
    }
}

/// Every choice that determines fingerprint values; two fingerprints are
/// comparable only under equal specs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FingerprintSpec {
    /// Normalisation policy ([`NORM_VERSION`]).
    pub normalization: String,
    /// Word hash and shingle mix.
    pub hash: String,
    /// Hash of the normalised text for exact duplicates.
    pub exact_hash: String,
    /// Sketching method.
    pub sketch_method: String,
    /// Shingle unit, n and seed.
    pub shingle: ShingleConfig,
    /// Sketch slots and seed.
    pub sketch: SketchConfig,
}
