//! Alignment: which passages two documents share, and where they differ.
//!
//! Near-duplicate detection says "these two are alike"; alignment shows it.
//! Both texts are cut into words with their positions in the *original*
//! text, each word normalised as in [`crate::normalize`] (so curly quotes,
//! case and line wrapping do not matter). Then, like a word-level "patience
//! diff", the two word sequences are matched without an O(m·n) table over
//! whole documents:
//!
//! 1. words equal at both ends of a range are matched directly;
//! 2. *anchors* are word n-grams that occur exactly once in the range on each
//!    side (rare n-grams, as in passim's text-reuse detection); the longest
//!    chain of co-linear anchors (increasing on both sides) is found in
//!    O(k log k) by patience sorting;
//! 3. the gaps between chained anchors are aligned recursively, and a gap
//!    small enough (at most [`AlignConfig::dp_cells`] cells) is aligned
//!    exactly by a longest-common-subsequence table.
//!
//! Matched words are grouped into *passages*: runs of matches whose gaps are
//! at most [`AlignConfig::max_gap_words`] words on each side (a tense change or
//! a replaced name stays inside its passage, as an edit) and which hold at
//! least [`AlignConfig::min_passage_words`] matched words. Everything outside
//! passages is reported as unshared spans of each side.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use crate::normalize::{Fold, fold_char, normalize};
use crate::shingle::mix_window;
use crate::tokenize::{CharClass, classify, words};

/// Alignment settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlignConfig {
    /// Words per anchor n-gram. Default: 3 (single words are tried when a
    /// range has no unique 3-gram).
    pub anchor_words: usize,
    /// Matches separated by at most this many unmatched words on each side
    /// belong to one passage. Default: 4 (a changed verb phrase or name).
    pub max_gap_words: usize,
    /// A passage starts and ends with at least this many consecutive matched
    /// words, and grows only between such runs. Default: 3.
    pub min_run_words: usize,
    /// A passage holds at least this many matched words; shorter runs are
    /// chance ("the United States"). Default: 8.
    pub min_passage_words: usize,
    /// Ranges of at most this many cells (words × words) are aligned with an
    /// exact LCS table. Default: 250,000 (1 MB of table).
    pub dp_cells: usize,
}

impl Default for AlignConfig {
    fn default() -> Self {
        AlignConfig {
            anchor_words: 3,
            max_gap_words: 4,
            min_run_words: 3,
            min_passage_words: 8,
            dp_cells: 250_000,
        }
    }
}

/// A word of the original text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// Hash of the normalised word.
    pub hash: u64,
    /// Byte offsets in the original text.
    pub start: usize,
    /// End byte offset (exclusive).
    pub end: usize,
    /// Character (Unicode scalar) offsets in the original text.
    pub char_start: usize,
    /// End character offset (exclusive).
    pub char_end: usize,
}

/// Words of `text` with their places in it. A word that normalisation turns
/// into several (`½` → `1⁄2`) gives several tokens with the same place.
pub fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().enumerate().peekable();
    let mut lower = String::new();
    while let Some((ci, (bi, c))) = chars.next() {
        let class = word_class(c);
        if class == CharClass::Separator {
            continue;
        }
        let (mut end, mut char_end) = (bi + c.len_utf8(), ci + 1);
        if class == CharClass::Word {
            while let Some(&(cj, (bj, d))) = chars.peek() {
                if word_class(d) != CharClass::Word {
                    break;
                }
                end = bj + d.len_utf8();
                char_end = cj + 1;
                chars.next();
            }
        }
        let raw = &text[bi..end];
        let mut push = |w: &str| {
            out.push(Token {
                hash: xxh3_64(w.as_bytes()),
                start: bi,
                end,
                char_start: ci,
                char_end,
            })
        };
        if raw.is_ascii() {
            lower.clear();
            lower.push_str(raw);
            lower.make_ascii_lowercase();
            push(&lower);
        } else {
            let norm = normalize(raw);
            for w in words(&norm) {
                push(w);
            }
        }
    }
    out
}

/// Characters that normalisation removes (zero-width, soft hyphen) join the
/// word around them, so `ur\u{AD}ge` is one word, as it is once normalised.
fn word_class(c: char) -> CharClass {
    match classify(c) {
        CharClass::Separator if fold_char(c) == Fold::Drop => CharClass::Word,
        class => class,
    }
}

/// A stretch of one text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Span {
    /// Character offset of the start in the original text.
    pub start: usize,
    /// Character offset of the end (exclusive).
    pub end: usize,
    /// Byte offset of the start in the original (UTF-8) text.
    pub byte_start: usize,
    /// Byte offset of the end (exclusive).
    pub byte_end: usize,
    /// Number of words.
    pub words: usize,
    /// Index of the first word among the text's words.
    pub word: usize,
}

/// A difference inside a passage: words of A replaced by words of B (either
/// side may be empty: a deletion or an insertion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Edit {
    /// The words of A (an empty span where B inserts).
    pub a: Span,
    /// The words of B (an empty span where A's words were deleted).
    pub b: Span,
}

/// A passage the two texts share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Passage {
    /// The passage in A.
    pub a: Span,
    /// The passage in B.
    pub b: Span,
    /// Words matched one to one inside it.
    pub matched_words: usize,
    /// The small differences inside it, in order.
    pub edits: Vec<Edit>,
}

/// The alignment of two texts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alignment {
    /// Shared passages, in order (increasing in both texts).
    pub passages: Vec<Passage>,
    /// Stretches of A outside every passage.
    pub a_unshared: Vec<Span>,
    /// Stretches of B outside every passage.
    pub b_unshared: Vec<Span>,
    /// Words of A.
    pub a_words: usize,
    /// Words of B.
    pub b_words: usize,
    /// Fraction of A's words inside passages.
    pub a_coverage: f64,
    /// Fraction of B's words inside passages.
    pub b_coverage: f64,
}

/// One side of an [`AlignmentView`].
#[derive(Debug, Clone, Serialize)]
pub struct SideView<'a> {
    /// Where the text came from, when the caller names it. Left out of the
    /// JSON when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<&'a str>,
    /// Words of the side.
    pub words: usize,
    /// Fraction of its words inside passages.
    pub coverage: f64,
    /// Stretches outside every passage.
    pub unshared: &'a [Span],
}

/// An alignment as `lookalike align --json`, the service and the Python
/// package show it: each side's words, coverage and unshared spans, then the
/// passages.
#[derive(Debug, Clone, Serialize)]
pub struct AlignmentView<'a> {
    /// Side A.
    pub a: SideView<'a>,
    /// Side B.
    pub b: SideView<'a>,
    /// Shared passages, in order.
    pub passages: &'a [Passage],
}

impl Alignment {
    /// The serialisable view of this alignment, each side named by `paths`
    /// when given.
    pub fn view<'a>(&'a self, paths: (Option<&'a str>, Option<&'a str>)) -> AlignmentView<'a> {
        AlignmentView {
            a: SideView {
                path: paths.0,
                words: self.a_words,
                coverage: self.a_coverage,
                unshared: &self.a_unshared,
            },
            b: SideView {
                path: paths.1,
                words: self.b_words,
                coverage: self.b_coverage,
                unshared: &self.b_unshared,
            },
            passages: &self.passages,
        }
    }
}

impl AlignConfig {
    /// Align two texts.
    pub fn align(&self, a: &str, b: &str) -> Alignment {
        let (ta, tb) = (tokens(a), tokens(b));
        self.align_tokens(&ta, &tb)
    }

    /// Align two token sequences made by [`tokens`].
    pub fn align_tokens(&self, ta: &[Token], tb: &[Token]) -> Alignment {
        let ha: Vec<u64> = ta.iter().map(|t| t.hash).collect();
        let hb: Vec<u64> = tb.iter().map(|t| t.hash).collect();
        let matches = self.match_words(&ha, &hb);
        // Solid runs: at least `min_run_words` consecutive matches on one
        // diagonal. Passages grow from solid runs only, so a stray shared
        // word ("of", "is") never stretches a passage's ends.
        let mut solid: Vec<(usize, usize)> = Vec::new(); // match index ranges
        let mut k = 0;
        while k < matches.len() {
            let mut e = k + 1;
            while e < matches.len()
                && matches[e].0 == matches[e - 1].0 + 1
                && matches[e].1 == matches[e - 1].1 + 1
            {
                e += 1;
            }
            if e - k >= self.min_run_words.max(1) {
                solid.push((k, e));
            }
            k = e;
        }
        let mut passages = Vec::new();
        let mut covered_a = Vec::new();
        let mut covered_b = Vec::new();
        let mut r = 0;
        while r < solid.len() {
            let (first, mut last) = solid[r];
            r += 1;
            while r < solid.len() {
                let (next, next_end) = solid[r];
                let (end_a, end_b) = matches[last - 1];
                let (start_a, start_b) = matches[next];
                if start_a - end_a - 1 > self.max_gap_words
                    || start_b - end_b - 1 > self.max_gap_words
                {
                    break;
                }
                last = next_end;
                r += 1;
            }
            let run = &matches[first..last];
            if run.len() < self.min_passage_words.max(1) {
                continue;
            }
            let (first, last) = (run[0], run[run.len() - 1]);
            let edits = run
                .windows(2)
                .filter(|w| w[1].0 > w[0].0 + 1 || w[1].1 > w[0].1 + 1)
                .map(|w| Edit {
                    a: span(ta, w[0].0 + 1, w[1].0),
                    b: span(tb, w[0].1 + 1, w[1].1),
                })
                .collect();
            covered_a.push((first.0, last.0 + 1));
            covered_b.push((first.1, last.1 + 1));
            passages.push(Passage {
                a: span(ta, first.0, last.0 + 1),
                b: span(tb, first.1, last.1 + 1),
                matched_words: run.len(),
                edits,
            });
        }
        let words_in = |c: &[(usize, usize)]| c.iter().map(|(s, e)| e - s).sum::<usize>();
        let ratio = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
        Alignment {
            a_coverage: ratio(words_in(&covered_a), ta.len()),
            b_coverage: ratio(words_in(&covered_b), tb.len()),
            a_unshared: uncovered(ta, &covered_a),
            b_unshared: uncovered(tb, &covered_b),
            a_words: ta.len(),
            b_words: tb.len(),
            passages,
        }
    }

    /// Pairs `(i, j)` of equal words, increasing in both `i` and `j`.
    pub fn match_words(&self, a: &[u64], b: &[u64]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut stack = vec![(0, a.len(), 0, b.len())];
        while let Some((mut a0, mut a1, mut b0, mut b1)) = stack.pop() {
            while a0 < a1 && b0 < b1 && a[a0] == b[b0] {
                out.push((a0, b0));
                a0 += 1;
                b0 += 1;
            }
            while a0 < a1 && b0 < b1 && a[a1 - 1] == b[b1 - 1] {
                a1 -= 1;
                b1 -= 1;
                out.push((a1, b1));
            }
            if a0 == a1 || b0 == b1 {
                continue;
            }
            if (a1 - a0).saturating_mul(b1 - b0) <= self.dp_cells {
                lcs(&a[a0..a1], &b[b0..b1], a0, b0, &mut out);
                continue;
            }
            // Anchors: n-grams unique in this range on both sides.
            let mut chain = Vec::new();
            let mut n_used = 0;
            for n in [self.anchor_words.max(1), 1] {
                chain = unique_chain(&a[a0..a1], &b[b0..b1], n);
                n_used = n;
                if !chain.is_empty() {
                    break;
                }
            }
            // Walk the chain; matched anchors split the range into gaps.
            let (mut ca, mut cb) = (a0, b0);
            for (i, j) in chain {
                let (i, j) = (i + a0, j + b0);
                if i < ca || j < cb {
                    continue; // overlaps the previous anchor off its diagonal
                }
                stack.push((ca, i, cb, j));
                for d in 0..n_used {
                    out.push((i + d, j + d));
                }
                ca = i + n_used;
                cb = j + n_used;
            }
            if (ca, cb) != (a0, b0) {
                stack.push((ca, a1, cb, b1));
            }
            // No anchor in a range too large for the table: nothing matched.
        }
        out.sort_unstable();
        out
    }
}

/// A span over tokens `s..e` (an empty one at the place of token `s`).
fn span(t: &[Token], s: usize, e: usize) -> Span {
    if s < e {
        Span {
            start: t[s].char_start,
            end: t[e - 1].char_end,
            byte_start: t[s].start,
            byte_end: t[e - 1].end,
            words: e - s,
            word: s,
        }
    } else {
        let (c, b) = match t.get(s) {
            Some(tok) => (tok.char_start, tok.start),
            None => t.last().map_or((0, 0), |tok| (tok.char_end, tok.end)),
        };
        Span {
            start: c,
            end: c,
            byte_start: b,
            byte_end: b,
            words: 0,
            word: s,
        }
    }
}

/// Spans of tokens outside the sorted, disjoint `covered` ranges.
fn uncovered(t: &[Token], covered: &[(usize, usize)]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut at = 0;
    for &(s, e) in covered.iter().chain(std::iter::once(&(t.len(), t.len()))) {
        if s > at {
            out.push(span(t, at, s));
        }
        at = at.max(e);
    }
    out
}

/// Exact longest common subsequence of two short ranges, by table.
fn lcs(a: &[u64], b: &[u64], a_off: usize, b_off: usize, out: &mut Vec<(usize, usize)>) {
    let (m, n) = (a.len(), b.len());
    let w = n + 1;
    let mut t = vec![0u32; (m + 1) * w];
    for i in (0..m).rev() {
        for j in (0..n).rev() {
            t[i * w + j] = if a[i] == b[j] {
                t[(i + 1) * w + j + 1] + 1
            } else {
                t[(i + 1) * w + j].max(t[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < m && j < n {
        if a[i] == b[j] {
            out.push((a_off + i, b_off + j));
            i += 1;
            j += 1;
        } else if t[(i + 1) * w + j] >= t[i * w + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
}

/// The longest chain of n-grams that occur exactly once in `a` and once in
/// `b`, increasing on both sides (patience sorting), as `(i, j)` starts.
fn unique_chain(a: &[u64], b: &[u64], n: usize) -> Vec<(usize, usize)> {
    if a.len() < n || b.len() < n {
        return Vec::new();
    }
    let grams = |s: &[u64]| -> Vec<u64> { s.windows(n).map(mix_window).collect() };
    let (ga, gb) = (grams(a), grams(b));
    // hash -> (count in a, position in a, count in b, position in b)
    let mut seen: HashMap<u64, (u32, usize, u32, usize)> = HashMap::with_capacity(ga.len());
    for (i, &g) in ga.iter().enumerate() {
        let e = seen.entry(g).or_insert((0, i, 0, 0));
        e.0 += 1;
    }
    for (j, &g) in gb.iter().enumerate() {
        if let Some(e) = seen.get_mut(&g) {
            e.2 += 1;
            e.3 = j;
        }
    }
    let mut pairs: Vec<(usize, usize)> = seen
        .values()
        .filter(|e| e.0 == 1 && e.2 == 1)
        .map(|e| (e.1, e.3))
        .collect();
    pairs.sort_unstable();
    longest_increasing(&pairs)
}

/// Longest subsequence of `pairs` (sorted by `.0`) strictly increasing in `.1`.
fn longest_increasing(pairs: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut tails: Vec<usize> = Vec::new(); // index into pairs of each pile's top
    let mut prev: Vec<Option<usize>> = vec![None; pairs.len()];
    for (k, &(_, j)) in pairs.iter().enumerate() {
        let pile = tails.partition_point(|&t| pairs[t].1 < j);
        if pile > 0 {
            prev[k] = Some(tails[pile - 1]);
        }
        if pile == tails.len() {
            tails.push(k);
        } else {
            tails[pile] = k;
        }
    }
    let mut out = Vec::with_capacity(tails.len());
    let mut at = tails.last().copied();
    while let Some(k) = at {
        out.push(pairs[k]);
        at = prev[k];
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{Rng, Vocabulary};
    use proptest::prelude::*;

    fn lcs_len(a: &[u64], b: &[u64]) -> usize {
        let mut out = Vec::new();
        lcs(a, b, 0, 0, &mut out);
        out.len()
    }

    #[test]
    fn offsets_point_into_the_original_text() {
        let a = "“Arming the rebels – that’s an option,” said Mr Hagel.";
        let t = tokens(a);
        let words: Vec<&str> = t.iter().map(|t| &a[t.start..t.end]).collect();
        assert_eq!(
            words,
            [
                "Arming", "the", "rebels", "that", "s", "an", "option", "said", "Mr", "Hagel"
            ]
        );
        let chars: Vec<char> = a.chars().collect();
        let first: String = chars[t[0].char_start..t[0].char_end].iter().collect();
        assert_eq!(first, "Arming");
        assert_eq!(tokens("ur\u{AD}ge").len(), 1);
    }

    #[test]
    fn shared_passages_and_unshared_spans() {
        let a = "Breaking news. The harbour bridge will close for six weeks from Monday while engineers replace the cables. Traders are worried.";
        let b = "The harbour bridge would close for six weeks from Monday while engineers replace the cables.\nCoastline Daily";
        let al = AlignConfig::default().align(a, b);
        assert_eq!(al.passages.len(), 1);
        let p = &al.passages[0];
        assert_eq!(
            &a[p.a.byte_start..p.a.byte_end],
            "The harbour bridge will close for six weeks from Monday while engineers replace the cables"
        );
        assert_eq!(p.edits.len(), 1);
        assert_eq!(&a[p.edits[0].a.byte_start..p.edits[0].a.byte_end], "will");
        assert_eq!(&b[p.edits[0].b.byte_start..p.edits[0].b.byte_end], "would");
        let a_only: Vec<&str> = al
            .a_unshared
            .iter()
            .map(|s| &a[s.byte_start..s.byte_end])
            .collect();
        assert_eq!(a_only, ["Breaking news", "Traders are worried"]);
        let b_only: Vec<&str> = al
            .b_unshared
            .iter()
            .map(|s| &b[s.byte_start..s.byte_end])
            .collect();
        assert_eq!(b_only, ["Coastline Daily"]);
    }

    #[test]
    fn unrelated_texts_share_nothing() {
        let mut rng = Rng::new(3);
        let v = Vocabulary::new(5000, 3);
        let (a, b) = (
            v.document(&mut rng, 800).join(" "),
            v.document(&mut rng, 800).join(" "),
        );
        assert!(AlignConfig::default().align(&a, &b).passages.is_empty());
    }

    #[test]
    fn anchors_find_a_passage_quoted_in_a_long_text() {
        // 150 words quoted inside 3,000: too large for the table at once.
        let mut rng = Rng::new(5);
        let v = Vocabulary::new(20_000, 5);
        let quote = v.document(&mut rng, 150);
        let mut long = v.document(&mut rng, 1500);
        long.extend(quote.iter().cloned());
        long.extend(v.document(&mut rng, 1500));
        let mut short = v.document(&mut rng, 400);
        short.extend(quote.iter().cloned());
        let al = AlignConfig::default().align(&long.join(" "), &short.join(" "));
        let best = al
            .passages
            .iter()
            .map(|p| p.matched_words)
            .max()
            .unwrap_or(0);
        assert!(best >= 150, "{best}");
    }

    proptest! {
        /// On texts small enough for the exact table, the anchored alignment
        /// matches as many words as the longest common subsequence, less at
        /// most a few per anchor (the chain may pick a worse diagonal).
        #[test]
        fn close_to_the_exact_lcs_on_small_texts(
            a in proptest::collection::vec(0u64..12, 0..120),
            edits in proptest::collection::vec((0usize..120, 0u64..14, 0u8..3), 0..30),
        ) {
            let mut b = a.clone();
            for (pos, w, op) in edits {
                let pos = pos.min(b.len());
                match op {
                    0 if pos < b.len() => { b[pos] = w; }
                    1 if pos < b.len() => { b.remove(pos); }
                    _ => b.insert(pos, w),
                }
            }
            let exact = lcs_len(&a, &b);
            // Force the anchor path with a tiny table limit.
            let cfg = AlignConfig { dp_cells: 16, ..AlignConfig::default() };
            let m = cfg.match_words(&a, &b);
            for w in m.windows(2) {
                prop_assert!(w[0].0 < w[1].0 && w[0].1 < w[1].1);
            }
            for &(i, j) in &m { prop_assert_eq!(a[i], b[j]); }
            prop_assert!(m.len() <= exact);
            // With the table allowed, the result is the exact LCS.
            let full = AlignConfig::default().match_words(&a, &b);
            prop_assert_eq!(full.len(), exact);
        }
    }
}
