//! Every figure for one pair of documents: similarity, containment, the LSH
//! odds of the pair, shared passages and the relation they add up to. The
//! `lookalike compare` command and the Python package's `compare` print this.
//!
//! ```
//! use lookalike::compare::CompareConfig;
//! let c = CompareConfig::default().compare(
//!     "Kerry arrives in Moscow for talks on Syria with President Putin today.",
//!     "KERRY arrives in Moscow for talks on Syria with President Putin today.",
//! )?;
//! assert!(c.exact_duplicate);
//! # Ok::<(), lookalike::Error>(())
//! ```

use serde::Serialize;

use crate::align::AlignConfig;
use crate::fingerprint::{Fingerprint, Fingerprinter};
use crate::judge::{Evidence, JudgeConfig, Verdict, facts};
use crate::lsh::LshParams;
use crate::verify::{PairRelation, RelationConfig, overlap};

/// Settings of a comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompareConfig {
    /// Shingles and sketch. Default: word 5-grams, 128 slots, seeds 0.
    pub fingerprinter: Fingerprinter,
    /// Near-duplicate threshold on exact Jaccard. Default: 0.4.
    pub threshold: f64,
    /// Containment at or above which one text is said to contain the other.
    /// Default: 0.5.
    pub containment: f64,
}

impl Default for CompareConfig {
    fn default() -> Self {
        CompareConfig {
            fingerprinter: Fingerprinter::default(),
            threshold: 0.4,
            containment: 0.5,
        }
    }
}

/// The figures of one side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideFigures {
    /// Where the text came from, when the caller names it (the CLI: its
    /// path). Default: none, and left out of the JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Bytes of the original text.
    pub bytes: usize,
    /// Words (or characters) after normalisation.
    pub units: usize,
    /// Distinct shingles.
    pub shingles: usize,
}

/// Every figure for one pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Side A.
    pub a: SideFigures,
    /// Side B.
    pub b: SideFigures,
    /// Exact Jaccard similarity of the shingle sets.
    pub jaccard: f64,
    /// The MinHash estimate of it.
    pub jaccard_estimate: f64,
    /// Share of A's shingles found in B.
    pub containment_a_in_b: f64,
    /// Share of B's shingles found in A.
    pub containment_b_in_a: f64,
    /// Same normalised text (and at least one word).
    pub exact_duplicate: bool,
    /// The threshold the relation was judged at.
    pub threshold: f64,
    /// LSH bands derived from the threshold.
    pub lsh_bands: usize,
    /// LSH rows per band.
    pub lsh_rows: usize,
    /// Probability that LSH proposes this pair.
    pub lsh_candidate_probability: f64,
    /// How the two relate.
    pub relation: PairRelation,
    /// Passages found by alignment.
    pub shared_passages: usize,
    /// Matched words of the longest passage.
    pub longest_passage_words: usize,
    /// The relation in words.
    pub verdict: &'static str,
    /// Same story or same template ([`crate::judge`], default settings, no
    /// times): a single pair has no collection to learn template text
    /// from, so every shingle counts as content and `story.statistics` is
    /// false; the number tokens still tell a correction from another
    /// edition of a template.
    pub story: Verdict,
}

impl CompareConfig {
    /// Compare two texts.
    pub fn compare(&self, a: &str, b: &str) -> Result<Comparison, crate::Error> {
        Ok(self.compare_aligned(a, b)?.0)
    }

    /// Compare two texts, and hand back the alignment the figures came
    /// from (for a view of it, without aligning the pair twice).
    pub fn compare_aligned(
        &self,
        a: &str,
        b: &str,
    ) -> Result<(Comparison, crate::align::Alignment), crate::Error> {
        self.fingerprinter.validate()?;
        let lsh = LshParams::for_threshold(self.threshold, self.fingerprinter.sketch.slots, 0.99)?;
        let fp = &self.fingerprinter;
        let (fa, fb) = (fp.fingerprint(a), fp.fingerprint(b));
        let o = overlap(&fa.shingles.hashes, &fb.shingles.hashes);
        let estimate = match (&fa.signature, &fb.signature) {
            (Some(x), Some(y)) => x.jaccard(y),
            _ => 0.0,
        };
        let exact = fa.exact == fb.exact && fa.signature.is_some();
        let alignment = AlignConfig::default().align(a, b);
        let longest = alignment
            .passages
            .iter()
            .map(|p| p.matched_words)
            .max()
            .unwrap_or(0);
        let relation = RelationConfig {
            threshold: self.threshold,
            containment: self.containment,
        }
        .relate(exact, &o, !alignment.passages.is_empty());
        let verdict = match relation {
            PairRelation::Exact => "exact duplicates",
            PairRelation::Near => "near duplicates",
            PairRelation::Contains => "A contains most of B",
            PairRelation::ContainedIn => "most of A is inside B",
            PairRelation::SharesPassages => "they share passages, not most of either",
            PairRelation::Different => "different",
        };
        let (facts_a, facts_b) = (facts(a), facts(b));
        fn evidence<'a>(f: &'a Fingerprint, facts: &'a [u32]) -> Evidence<'a> {
            Evidence {
                shingles: &f.shingles.hashes,
                facts,
                time: None,
            }
        }
        let story =
            JudgeConfig::default().judge(None, evidence(&fa, &facts_a), evidence(&fb, &facts_b));
        let side = |text: &str, f: &Fingerprint| SideFigures {
            path: None,
            bytes: text.len(),
            units: f.shingles.units,
            shingles: f.shingles.hashes.len(),
        };
        let comparison = Comparison {
            a: side(a, &fa),
            b: side(b, &fb),
            jaccard: o.jaccard,
            jaccard_estimate: estimate,
            containment_a_in_b: o.a_in_b,
            containment_b_in_a: o.b_in_a,
            exact_duplicate: exact,
            threshold: self.threshold,
            lsh_bands: lsh.bands,
            lsh_rows: lsh.rows,
            lsh_candidate_probability: lsh.probability(o.jaccard),
            relation,
            shared_passages: alignment.passages.len(),
            longest_passage_words: longest,
            verdict,
            story,
        };
        Ok((comparison, alignment))
    }
}
