//! Text reuse across a corpus: every pair of documents that share a passage
//! of at least [`ReuseConfig::min_words`] words, however different the rest.
//!
//! Whole-document similarity misses a 150-word quotation inside a 3,000-word
//! article. Here each document is reduced to *winnowed* fingerprints
//! (Schleimer, Wilkerson and Aiken, SIGMOD 2003): of the hashes of its word
//! k-grams, the smallest in every window of `w` consecutive ones. Winnowing
//! guarantees that two texts sharing a run of `w + k - 1` equal words share at
//! least one fingerprint, while keeping about `2 / (w + 1)` of the k-grams.
//!
//! An inverted index from fingerprint to documents proposes candidate pairs.
//! A fingerprint found in more than [`ReuseConfig::boilerplate_docs`]
//! documents is *boilerplate* (a site footer, a licence block, "No
//! comments:"): it proposes no pairs — so it never drives quadratic work — and
//! it is reported separately. Each candidate pair is then aligned
//! ([`crate::align`]) and reported when a passage of `min_words` words or more
//! holds at least one fingerprint that is not boilerplate.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::align::{AlignConfig, Passage, Token, tokens};
use crate::fingerprint::Fingerprinter;
use crate::normalize::normalize;
use crate::shingle::mix_window;
use crate::verify::{PairRelation, RelationConfig, overlap};

/// Settings of a reuse search.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReuseConfig {
    /// Shortest passage reported, in matched words. Default: 15 (about a
    /// sentence). On the Clough & Stevenson corpus, light rewrites of a source
    /// keep a passage of 15+ matched words in 17 of 19 answers, and answers
    /// written independently share none of 8+ (EVALUATION.md).
    pub min_words: usize,
    /// Words per fingerprinted k-gram. Default: 5.
    pub kgram: usize,
    /// Any shared run of at least this many equal words is sure to make its
    /// pair a candidate (sets the winnowing window to `guarantee - kgram + 1`).
    /// Default: 12, so passages with small edits every dozen words are found.
    pub guarantee_words: usize,
    /// A fingerprint in more documents than this is boilerplate. Default: 50.
    pub boilerplate_docs: usize,
    /// How candidate pairs are aligned. Default: [`AlignConfig::default`].
    pub align: AlignConfig,
    /// Thresholds for each pair's relation. Default: [`RelationConfig::default`].
    pub relation: RelationConfig,
}

impl Default for ReuseConfig {
    fn default() -> Self {
        ReuseConfig {
            min_words: 15,
            kgram: 5,
            guarantee_words: 12,
            boilerplate_docs: 50,
            align: AlignConfig::default(),
            relation: RelationConfig::default(),
        }
    }
}

/// One pair of documents that share passages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReusePair {
    /// Position of the first document (the earlier in input order).
    pub a: usize,
    /// Position of the second.
    pub b: usize,
    /// How the two relate as wholes.
    pub relation: PairRelation,
    /// Jaccard similarity of their word 5-gram sets.
    pub jaccard: f64,
    /// Share of A's 5-grams found in B.
    pub containment_a_in_b: f64,
    /// Share of B's 5-grams found in A.
    pub containment_b_in_a: f64,
    /// The shared passages of at least `min_words` words.
    pub passages: Vec<Passage>,
}

/// Text shared by so many documents that it is boilerplate, not reuse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Boilerplate {
    /// Number of documents holding it.
    pub documents: usize,
    /// The text, as it first appeared.
    pub text: String,
}

/// What a reuse search found.
#[derive(Debug, Clone, Default)]
pub struct ReuseOutcome {
    /// Pairs with shared passages, ordered by `(a, b)`.
    pub pairs: Vec<ReusePair>,
    /// Boilerplate, most widespread first.
    pub boilerplate: Vec<Boilerplate>,
    /// Candidate pairs aligned.
    pub candidates: usize,
}

/// Winnowed fingerprints of a token sequence: `(hash, position of k-gram)`.
pub fn winnow(hashes: &[u64], k: usize, window: usize) -> Vec<(u64, usize)> {
    if hashes.is_empty() {
        return Vec::new();
    }
    let grams: Vec<u64> = if hashes.len() < k {
        vec![mix_window(hashes)]
    } else {
        hashes.windows(k).map(mix_window).collect()
    };
    let w = window.max(1);
    let mut out: Vec<(u64, usize)> = Vec::new();
    if grams.len() <= w {
        if let Some((i, &h)) = grams
            .iter()
            .enumerate()
            .min_by_key(|&(i, &h)| (h, std::cmp::Reverse(i)))
        {
            out.push((h, i));
        }
        return out;
    }
    // The rightmost minimum of each window; a fingerprint is recorded once
    // even when it stays the minimum of several windows.
    let mut deque: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    for i in 0..grams.len() {
        while deque.back().is_some_and(|&j| grams[j] >= grams[i]) {
            deque.pop_back();
        }
        deque.push_back(i);
        if deque.front().is_some_and(|&j| j + w <= i) {
            deque.pop_front();
        }
        if i + 1 >= w {
            if let Some(&m) = deque.front() {
                if out.last().is_none_or(|&(_, p)| p != m) {
                    out.push((grams[m], m));
                }
            }
        }
    }
    out
}

impl ReuseConfig {
    /// Find every pair of `texts` that share a passage of `min_words` words.
    pub fn find(&self, texts: &[&str]) -> ReuseOutcome {
        let k = self.kgram.max(1);
        let window = self.guarantee_words.saturating_sub(k) + 1;
        let toks: Vec<Vec<Token>> = texts.par_iter().map(|t| tokens(t)).collect();
        let prints: Vec<Vec<(u64, usize)>> = toks
            .par_iter()
            .map(|t| {
                let h: Vec<u64> = t.iter().map(|t| t.hash).collect();
                winnow(&h, k, window)
            })
            .collect();
        // Inverted index: fingerprint -> documents (each once).
        let mut index: HashMap<u64, Vec<u32>> = HashMap::new();
        for (d, fp) in prints.iter().enumerate() {
            for &(h, _) in fp {
                let docs = index.entry(h).or_default();
                if docs.last() != Some(&(d as u32)) {
                    docs.push(d as u32);
                }
            }
        }
        // A fingerprint is boilerplate where it is widespread, and also next to
        // widespread ones: which k-gram wins a window at the edge of a footer
        // depends on the words around it, so edge fingerprints are rarer than
        // the footer itself and would otherwise pair its documents up.
        let widespread = |h: &u64| {
            index
                .get(h)
                .is_some_and(|d| d.len() > self.boilerplate_docs)
        };
        let reach = window + k;
        let boiler: Vec<Vec<bool>> = prints
            .par_iter()
            .map(|fp| {
                let wide: Vec<usize> = fp
                    .iter()
                    .filter(|(h, _)| widespread(h))
                    .map(|&(_, p)| p)
                    .collect();
                fp.iter()
                    .map(|&(_, p)| {
                        let i = wide.partition_point(|&q| q + reach < p);
                        wide.get(i).is_some_and(|&q| q <= p + reach)
                    })
                    .collect()
            })
            .collect();
        let mut postings: HashMap<u64, Vec<u32>> = HashMap::new();
        for (d, fp) in prints.iter().enumerate() {
            for (x, &(h, _)) in fp.iter().enumerate() {
                if !boiler[d][x] {
                    let docs = postings.entry(h).or_default();
                    if docs.last() != Some(&(d as u32)) {
                        docs.push(d as u32);
                    }
                }
            }
        }
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for docs in postings.values() {
            if docs.len() < 2 || docs.len() > self.boilerplate_docs {
                continue;
            }
            for (x, &a) in docs.iter().enumerate() {
                for &b in &docs[x + 1..] {
                    pairs.push((a, b));
                }
            }
        }
        pairs.par_sort_unstable();
        pairs.dedup();
        let candidates = pairs.len();

        let fingerprinter = Fingerprinter::default();
        let shingles: Vec<Vec<u64>> = texts
            .par_iter()
            .map(|t| fingerprinter.shingle.shingle(&normalize(t)).hashes)
            .collect();
        let found: Vec<ReusePair> = pairs
            .par_iter()
            .filter_map(|&(a, b)| {
                let (a, b) = (a as usize, b as usize);
                let al = self.align.align_tokens(&toks[a], &toks[b]);
                let passages: Vec<Passage> = al
                    .passages
                    .into_iter()
                    .filter(|p| p.matched_words >= self.min_words)
                    .filter(|p| {
                        // At least one fingerprint of A inside it is not boilerplate.
                        let (s, e) = (p.a.word, p.a.word + p.a.words);
                        prints[a]
                            .iter()
                            .zip(&boiler[a])
                            .any(|(&(_, pos), &b)| pos >= s && pos + k <= e && !b)
                    })
                    .collect();
                if passages.is_empty() {
                    return None;
                }
                let o = overlap(&shingles[a], &shingles[b]);
                let exact = normalize(texts[a]) == normalize(texts[b]);
                Some(ReusePair {
                    a,
                    b,
                    relation: self.relation.relate(exact, &o, true),
                    jaccard: o.jaccard,
                    containment_a_in_b: o.a_in_b,
                    containment_b_in_a: o.b_in_a,
                    passages,
                })
            })
            .collect();

        // Boilerplate: in each document, widespread fingerprints no more than
        // a window apart form one run (a footer, a licence). Runs are grouped
        // by their most widespread fingerprint, which every copy of the same
        // boilerplate holds; the longest text seen stands for the group.
        let df = |h: &u64| index.get(h).map_or(0, Vec::len);
        let mut seen: HashMap<u64, (usize, String)> = HashMap::new();
        for (d, fp) in prints.iter().enumerate() {
            // (first word, end word, key fingerprint)
            let mut runs: Vec<(usize, usize, u64)> = Vec::new();
            for &(h, pos) in fp.iter().filter(|(h, _)| widespread(h)) {
                match runs.last_mut() {
                    Some(run) if pos <= run.1 + window => {
                        run.1 = run.1.max(pos + k);
                        if (df(&h), std::cmp::Reverse(h)) > (df(&run.2), std::cmp::Reverse(run.2)) {
                            run.2 = h;
                        }
                    }
                    _ => runs.push((pos, pos + k, h)),
                }
            }
            let t = &toks[d];
            for (s, e, key) in runs {
                let (bs, be) = (t[s].start, t[(e - 1).min(t.len() - 1)].end);
                let text = texts[d].get(bs..be).unwrap_or("");
                let entry = seen.entry(key).or_insert((0, String::new()));
                entry.0 += 1;
                if text.len() > entry.1.len() {
                    entry.1 = text.to_string();
                }
            }
        }
        let mut boilerplate: Vec<Boilerplate> = seen
            .into_values()
            .map(|(documents, text)| Boilerplate { documents, text })
            .filter(|b| b.documents > 1)
            .collect();
        boilerplate.sort_by(|x, y| {
            y.documents
                .cmp(&x.documents)
                .then_with(|| x.text.cmp(&y.text))
        });
        ReuseOutcome {
            pairs: found,
            boilerplate,
            candidates,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{Rng, Vocabulary};

    #[test]
    fn winnowing_guarantee() {
        // Any run of `window + k - 1` equal hashes shares a fingerprint.
        let mut rng = Rng::new(9);
        let (k, w) = (5, 8);
        for _ in 0..200 {
            let shared: Vec<u64> = (0..w + k - 1).map(|_| rng.next_u64()).collect();
            let mut a: Vec<u64> = (0..rng.below(50)).map(|_| rng.next_u64()).collect();
            let mut b: Vec<u64> = (0..rng.below(50)).map(|_| rng.next_u64()).collect();
            a.extend(&shared);
            b.extend(&shared);
            a.extend((0..rng.below(50)).map(|_| rng.next_u64()));
            let fa: std::collections::HashSet<u64> =
                winnow(&a, k, w).into_iter().map(|x| x.0).collect();
            assert!(winnow(&b, k, w).iter().any(|x| fa.contains(&x.0)));
        }
    }

    #[test]
    fn finds_a_quotation_and_sets_boilerplate_aside() {
        let mut rng = Rng::new(11);
        let v = Vocabulary::new(20_000, 11);
        let footer = v.document(&mut rng, 40).join(" ");
        let quote = v.document(&mut rng, 60).join(" ");
        let mut texts: Vec<String> = (0..80)
            .map(|_| format!("{} {}", v.document(&mut rng, 300).join(" "), footer))
            .collect();
        // Document 3 quotes 60 words inside 3,000; document 70 quotes them too.
        texts[3] = format!(
            "{} {} {}",
            v.document(&mut rng, 1500).join(" "),
            quote,
            v.document(&mut rng, 1500).join(" ")
        );
        texts[70] = format!(
            "{} {} {}",
            v.document(&mut rng, 100).join(" "),
            quote,
            footer
        );
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let out = ReuseConfig::default().find(&refs);
        let pairs: Vec<(usize, usize)> = out.pairs.iter().map(|p| (p.a, p.b)).collect();
        assert_eq!(pairs, [(3, 70)]);
        assert!(out.pairs[0].passages[0].matched_words >= 60);
        assert_eq!(out.pairs[0].relation, PairRelation::SharesPassages);
        // The footer is in 79 documents: boilerplate, not 3,081 pairs of reuse.
        assert!(
            out.boilerplate
                .iter()
                .any(|b| b.documents >= 70 && footer.contains(b.text.as_str()))
        );
        assert!(out.candidates < 10, "{}", out.candidates);
    }
}
