//! Same story, or same template? The judgment of one candidate pair.
//!
//! Word 5-gram Jaccard similarity cannot tell a later edit of a story from a
//! different story poured into the same template: a weekly shipment report,
//! a central bank's notice or a site's page frame shares 40–80% of its
//! 5-grams with the next edition while reporting other facts. The story
//! judgment weighs three kinds of evidence beside the shingles, each learned
//! from the collection or read from the pair itself:
//!
//! - **Template text.** Shingles found in at least
//!   [`JudgeConfig::template_documents`] different documents of the
//!   collection (exact copies counted once) are template: site chrome, wire
//!   boilerplate, the fixed wording of a scheduled report. They stop counting
//!   as evidence; the pair is judged on its *content*, what remains. Document
//!   frequencies come from a count-min sketch ([`DocFreq`]) in bounded
//!   memory, counted in one extra pass. Without statistics (a single pair, a
//!   tiny collection) every shingle is content, and the verdict says so.
//! - **Containment.** Versions of one story keep most of the shorter text
//!   inside the longer one (a first take inside the fuller take, a correction
//!   re-issuing two paragraphs, a truncated re-send), while their Jaccard
//!   similarity may be 0.2–0.4. So the decisive figure is the containment of
//!   the shorter side's content in the other's.
//! - **Facts.** Numbers, amounts, percentages, dates and times are a
//!   template's slots. Versions of a story report the same facts (a
//!   correction changes one figure among many); template siblings report
//!   other ones. The share of the shorter side's number tokens found in the
//!   other decides when the shorter side has at least
//!   [`JudgeConfig::min_facts`] of them.
//! - **Time**, when both documents carry one: versions of a story are
//!   usually hours apart, scheduled reports days. Beyond
//!   [`JudgeConfig::max_gap_secs`] a pair is a version only when the text
//!   evidence is overwhelming (a long text, nearly the same), so a repost
//!   weeks later still counts. Missing times are no evidence either way.
//!
//! The defaults were set on 507 labelled pairs of Reuters wire stories
//! (`eval/reuters`, EVALUATION.md) before looking at any held-out data, and
//! kept to round figures rather than to the best grid point.

use serde::{Deserialize, Serialize};

use crate::normalize::normalize;
use crate::verify::intersection_size;

/// Settings of the story judgment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JudgeConfig {
    /// Share of the shorter side's content shingles that must be inside the
    /// other side. Default: 0.4 (on the Reuters pairs, 96% of the versions
    /// keep 0.4 or more of the shorter text's 5-grams, median 0.85; template
    /// siblings have a median of 0.32 before their template is removed).
    pub containment: f64,
    /// Share of the shorter side's number tokens that must appear in the
    /// other side. Default: 0.8 (one changed figure in five still counts as
    /// a correction). Whatever this share, one changed figure on each side
    /// (with 3 or more on each) always counts as a correction.
    pub facts: f64,
    /// Fewest number tokens on the side with fewer before facts are weighed.
    /// Default: 2 (one number is too little to tell a slot from a typo).
    pub min_facts: usize,
    /// Largest time between two versions of a story, in seconds, when both
    /// carry a time. Default: 3 days (on the Reuters pairs, 2 of 244
    /// versions were further apart, and 126 of 263 different stories).
    pub max_gap_secs: i64,
    /// Documents a shingle (or a fact) must appear in to be template: a
    /// fact found that often is a template's fixed value (a year, a day of
    /// the month, a standard maturity), not the story's own. Default: 5 (a
    /// story sent in more than four versions is rare on a wire; a scheduled
    /// report repeats weekly or daily).
    pub template_documents: u32,
    /// Fewest documents in a collection before its statistics are used;
    /// below it every shingle is content. Default: 20.
    pub min_collection: usize,
}

impl Default for JudgeConfig {
    fn default() -> Self {
        JudgeConfig {
            containment: 0.4,
            facts: 0.8,
            min_facts: 2,
            max_gap_secs: 3 * 24 * 3600,
            template_documents: 5,
            min_collection: 20,
        }
    }
}

/// Text evidence overwhelming enough to outweigh a long time gap: this
/// Jaccard similarity over at least [`STRONG_SHINGLES`] shingles on the
/// shorter side (a repost of a long article weeks later).
const STRONG_JACCARD: f64 = 0.9;
const STRONG_SHINGLES: usize = 40;

/// The most number tokens kept per document: facts beyond them add little
/// and would cost memory at scale.
pub const MAX_FACTS: usize = 64;

/// The number tokens ("facts") of a text: every white-space separated piece
/// of its normalised form that holds a digit, stripped of the punctuation
/// around it, so that 5.90, 350,000 and 1986/87 are one fact each; hashed
/// to 32 bits, sorted, duplicates kept (a figure reported twice is two
/// facts). At most [`MAX_FACTS`], the first ones.
pub fn facts(text: &str) -> Vec<u32> {
    let normalized = normalize(text);
    let mut out = Vec::new();
    for piece in normalized.split_whitespace() {
        let piece = piece.trim_matches(|c: char| !c.is_alphanumeric());
        if piece.bytes().any(|b| b.is_ascii_digit()) {
            out.push(xxhash_rust::xxh3::xxh3_64(piece.as_bytes()) as u32);
            if out.len() == MAX_FACTS {
                break;
            }
        }
    }
    out.sort_unstable();
    out
}

/// The key under which a fact is counted in a [`DocFreq`], apart from any
/// shingle hash.
fn fact_key(fact: u32) -> u64 {
    crate::shingle::fmix64(u64::from(fact) ^ 0xfac7_0000_0000_0000)
}

/// Size of the intersection of two sorted multisets (duplicates matched one
/// to one).
fn multiset_intersection(a: &[u32], b: &[u32]) -> usize {
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

/// Document frequencies of shingles in bounded memory: a count-min sketch of
/// saturating one-byte counters, each shingle counted in two counters of
/// one 64-byte block (a blocked sketch: one cache miss per shingle, where
/// two independent rows cost two, and counting was the larger part of the
/// statistics pass). A shingle's count is at least its true document
/// frequency; with two counters per shingle counted, a shingle of one
/// document reads 5 or more with probability about 0.04% (two counters of
/// Poisson(1) noise, each at least 4; blocks add a little correlation).
/// Counts depend only on the multiset of shingle sets added, never on the
/// order or the thread count.
#[derive(Debug, Clone)]
pub struct DocFreq {
    counts: Vec<u8>,
    /// log2 of the number of counters.
    bits: u32,
    documents: usize,
}

/// Partitions of the counters by a shingle's top bits, so that counting can
/// run on several threads, each owning its counters, with counts identical
/// to one thread's.
const PARTITION_BITS: u32 = 6;

/// Counters per block: one cache line.
const BLOCK_BITS: u32 = 6;

impl DocFreq {
    /// A sketch of `2^bits` counters (`bits` clamped to 12..=31).
    pub fn with_bits(bits: u32) -> DocFreq {
        let bits = bits.clamp(PARTITION_BITS + BLOCK_BITS, 31);
        DocFreq {
            counts: vec![0; 1 << bits],
            bits,
            documents: 0,
        }
    }

    /// A sketch sized for `shingles` shingles in all (two counters each),
    /// within `max_bytes` of memory.
    pub fn for_shingles(shingles: usize, max_bytes: usize) -> DocFreq {
        let want = (2 * shingles.max(1)).next_power_of_two().trailing_zeros();
        let cap = max_bytes.max(1).ilog2();
        DocFreq::with_bits(want.min(cap))
    }

    /// The two counters of shingle `h`: a block in the partition named by
    /// the top bits of `h`, two places in it.
    fn slots(&self, h: u64) -> [usize; 2] {
        let low = self.bits - PARTITION_BITS;
        let base = ((h >> (64 - PARTITION_BITS)) as usize) << low;
        let x = crate::shingle::fmix64(h) as usize;
        let block = (x >> (2 * BLOCK_BITS)) & ((1usize << (low - BLOCK_BITS)) - 1);
        let at = base | (block << BLOCK_BITS);
        let mask = (1usize << BLOCK_BITS) - 1;
        let (i, j) = (x & mask, (x >> BLOCK_BITS) & mask);
        // Two different places, so one shingle never counts twice in one.
        let j = if i == j { j ^ 1 } else { j };
        [at | i, at | j]
    }

    /// Count each document's distinct shingles once. `sets` yields sorted,
    /// deduplicated shingle sets; each thread of the current rayon pool
    /// walks them all and counts the shingles of its own partitions, so no
    /// two threads touch one counter.
    pub fn add_all<'a, I>(&mut self, sets: impl Fn() -> I + Sync)
    where
        I: Iterator<Item = &'a [u64]>,
    {
        use rayon::prelude::*;
        let groups = rayon::current_num_threads()
            .next_power_of_two()
            .min(1 << PARTITION_BITS);
        let group_bits = groups.trailing_zeros();
        let chunk = self.counts.len() >> group_bits;
        let probe = DocFreq {
            counts: Vec::new(),
            bits: self.bits,
            documents: 0,
        };
        self.counts
            .par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(g, counts)| {
                let lo = g * chunk;
                for set in sets() {
                    for &h in set {
                        let group = if group_bits == 0 {
                            0
                        } else {
                            (h >> (64 - group_bits)) as usize
                        };
                        if group != g {
                            continue;
                        }
                        for s in probe.slots(h) {
                            counts[s - lo] = counts[s - lo].saturating_add(1);
                        }
                    }
                }
            });
        self.documents += sets().count();
    }

    /// Count key `h` once in each of its two counters.
    fn bump(&mut self, h: u64) {
        for s in self.slots(h) {
            self.counts[s] = self.counts[s].saturating_add(1);
        }
    }

    /// Count one document's distinct shingles (sorted, deduplicated).
    pub fn add(&mut self, set: &[u64]) {
        for &h in set {
            self.bump(h);
        }
        self.documents += 1;
    }

    /// Count one document's facts ([`facts`]), each distinct fact once: a
    /// figure found in many documents (a year, a day of the month, a fixed
    /// maturity) is a template's, not a story's.
    pub fn add_facts(&mut self, facts: &[u32]) {
        let mut last = None;
        for &f in facts {
            if last != Some(f) {
                self.bump(fact_key(f));
                last = Some(f);
            }
        }
    }

    /// At least the number of documents counted that hold `h` (saturating
    /// at 255).
    pub fn count(&self, h: u64) -> u32 {
        let [s0, s1] = self.slots(h);
        u32::from(self.counts[s0].min(self.counts[s1]))
    }

    /// Documents counted.
    pub fn documents(&self) -> usize {
        self.documents
    }

    /// A sketch sized for a collection of `shingles` shingles in all, as
    /// every front sizes it: two counters a shingle, at most
    /// [`TEMPLATE_MEMORY`]. Sketches to be merged ([`DocFreq::merge`]) must
    /// be made with the same `shingles`.
    pub fn for_collection(shingles: usize) -> DocFreq {
        DocFreq::for_shingles(shingles, TEMPLATE_MEMORY)
    }

    /// Count one document: its distinct shingles (sorted, deduplicated) and
    /// its facts.
    pub fn add_document(&mut self, set: &[u64], facts: &[u32]) {
        self.add(set);
        self.add_facts(facts);
    }

    /// Add the counts of `other`, a sketch of other documents of the same
    /// size: the result is the sketch of both collections (saturating
    /// additions commute, so partial sketches of a cluster's partitions
    /// merge in any order to the sketch one process would count).
    pub fn merge(&mut self, other: &DocFreq) -> Result<(), crate::Error> {
        if other.bits != self.bits {
            return Err(crate::Error::Config(format!(
                "template statistics of 2^{} and 2^{} counters cannot be merged: size both \
                 from the same collection",
                self.bits, other.bits
            )));
        }
        for (c, &o) in self.counts.iter_mut().zip(&other.counts) {
            *c = c.saturating_add(o);
        }
        self.documents += other.documents;
        Ok(())
    }

    /// The counters and the number of documents counted, to ship a sketch
    /// to another process ([`DocFreq::from_parts`] reads them back).
    pub fn parts(&self) -> (&[u8], usize) {
        (&self.counts, self.documents)
    }

    /// A sketch from [`DocFreq::parts`]: `counts` must be a power of two of
    /// 2^12 to 2^31 counters.
    pub fn from_parts(counts: Vec<u8>, documents: usize) -> Result<DocFreq, crate::Error> {
        let n = counts.len();
        if !n.is_power_of_two() || !(PARTITION_BITS + BLOCK_BITS..=31).contains(&n.trailing_zeros())
        {
            return Err(crate::Error::Config(format!(
                "template statistics of {n} counters: expected a power of two from 2^12 to 2^31 \
                 (were they cut short on the way?)"
            )));
        }
        Ok(DocFreq {
            bits: n.trailing_zeros(),
            counts,
            documents,
        })
    }
}

/// The most memory the template statistics of one collection take: 256
/// MiB, room for about 128 million shingles at the sketch's intended
/// accuracy; beyond that, counts grow noisier and more shingles read as
/// template.
pub const TEMPLATE_MEMORY: usize = 256 << 20;

/// Content shingles per document indexed to find texts contained in others
/// ([`JudgeConfig::containment_keys`]): of 16 keys, a text contained at 40%
/// shows the 7 the rule needs with probability about 0.47, at 70% about
/// 0.99.
pub const CONTAINMENT_KEYS: usize = 16;

/// Centres a member of a split component is compared with before it starts
/// a group of its own ([`stars`]): the cost stays linear in the component's
/// size.
pub const CENTRES: usize = 8;

/// Group integrity under the story judgment: a group holds because its
/// members are versions of one document, not because a chain of pairs links
/// them (A~B and B~C while A and C are different stories, or pages joined
/// through one copy of their template). `members` (index and exact hash, in
/// input order) are split into stars: each joins the first of at most
/// [`CENTRES`] centres it is a version of (`same(centre, centre data,
/// member, member data)`; exact copies of a star's member always join that
/// star), else starts a star of its own as its centre. So every member is a
/// version of its star's first member, and the split depends only on the
/// members. `load` gives a member's data, asked once per member that is not
/// an exact copy; only the first [`CENTRES`] centres' data are kept.
pub fn stars<T>(
    members: impl IntoIterator<Item = (usize, u128)>,
    mut load: impl FnMut(usize) -> Result<T, crate::Error>,
    same: impl Fn(usize, &T, usize, &T) -> bool,
) -> Result<Vec<Vec<usize>>, crate::Error> {
    let mut centres: Vec<T> = Vec::new();
    let mut stars: Vec<Vec<usize>> = Vec::new();
    let mut by_exact: std::collections::HashMap<u128, usize> = std::collections::HashMap::new();
    for (m, exact) in members {
        if let Some(&k) = by_exact.get(&exact) {
            stars[k].push(m);
            continue;
        }
        let data = load(m)?;
        let home = centres
            .iter()
            .enumerate()
            .position(|(k, c)| same(stars[k][0], c, m, &data));
        match home {
            Some(k) => {
                by_exact.insert(exact, k);
                stars[k].push(m);
            }
            None => {
                by_exact.insert(exact, stars.len());
                stars.push(vec![m]);
                if centres.len() < CENTRES {
                    centres.push(data);
                }
            }
        }
    }
    Ok(stars)
}

/// What one side of a pair brings: its shingle set (sorted, deduplicated),
/// its facts ([`facts`]) and its time, when known (seconds since 1970).
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// Sorted, deduplicated shingle hashes.
    pub shingles: &'a [u64],
    /// Sorted number-token hashes ([`facts`]).
    pub facts: &'a [u32],
    /// Publication time, seconds since 1970.
    pub time: Option<i64>,
}

/// What the judgment decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Story {
    /// Versions of one story: a repost, an edit, a correction, a take.
    Same,
    /// Much shared text, but it is template, or the facts or times differ:
    /// the same template with other facts.
    Template,
    /// Too little in common to say more.
    Different,
}

/// Every figure behind a [`Story`] verdict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Verdict {
    /// The decision.
    pub story: Story,
    /// Jaccard similarity of the whole shingle sets.
    pub jaccard: f64,
    /// Jaccard similarity of the content (template shingles removed).
    pub content_jaccard: f64,
    /// Share of the shorter side's content inside the other side.
    pub content_containment: f64,
    /// Share of A's shingles that are template.
    pub template_share_a: f64,
    /// Share of B's shingles that are template.
    pub template_share_b: f64,
    /// Whether collection statistics were used (false: every shingle was
    /// taken as content).
    pub statistics: bool,
    /// Share of the side with fewer facts' number tokens found in the other;
    /// `None` when that side has fewer than [`JudgeConfig::min_facts`].
    pub facts_agreement: Option<f64>,
    /// Facts of A not in B and of B not in A (counts).
    pub differing_facts: (usize, usize),
    /// Seconds between the two, when both carry a time.
    pub time_gap_secs: Option<i64>,
}

impl JudgeConfig {
    /// The statistics the judgment uses: none below
    /// [`JudgeConfig::min_collection`] documents.
    pub fn statistics<'a>(&self, df: Option<&'a DocFreq>) -> Option<&'a DocFreq> {
        df.filter(|d| d.documents() >= self.min_collection)
    }

    /// Whether shingle `h` is content (below the template frequency), with
    /// the statistics `df` (every shingle is content without them).
    pub fn is_content(&self, df: Option<&DocFreq>, h: u64) -> bool {
        self.statistics(df)
            .is_none_or(|df| df.count(h) < self.template_documents)
    }

    /// A document's containment keys: its [`CONTAINMENT_KEYS`] smallest
    /// content shingles, a uniform sample of its content, so that a text
    /// contained at share c in another finds about c of its keys there.
    pub fn containment_keys<'a>(
        &'a self,
        df: Option<&'a DocFreq>,
        shingles: &'a [u64],
    ) -> impl Iterator<Item = u64> + 'a {
        shingles
            .iter()
            .copied()
            .filter(move |&h| self.is_content(df, h))
            .take(CONTAINMENT_KEYS)
    }

    /// Whether a document holding `held` of another's `keys` containment
    /// keys makes a candidate pair with it: the judgment's containment
    /// share of them, and at least two.
    pub fn holds_enough(&self, held: usize, keys: usize) -> bool {
        held as f64 >= self.containment * keys as f64 && held >= 2
    }

    /// A candidate pair proposed by LSH: `None` when the signature estimate
    /// (the slots of `a.0` and `b.0`) rules out both a Jaccard similarity of
    /// `threshold` and the judgment's containment by more than `margin`
    /// (no exact comparison made), else whether the two are versions of
    /// one story.
    pub fn judge_candidate(
        &self,
        df: Option<&DocFreq>,
        threshold: f64,
        margin: f64,
        a: (&[u32], Evidence<'_>),
        b: (&[u32], Evidence<'_>),
    ) -> Option<bool> {
        let estimate = crate::sketch::Signature::estimate(a.0, b.0);
        let (na, nb) = (a.1.shingles.len() as f64, b.1.shingles.len() as f64);
        // Containment of the smaller side implied by the Jaccard estimate:
        // |A ∩ B| = J (|A| + |B|) / (1 + J).
        let contained = estimate * (na + nb) / ((1.0 + estimate) * na.min(nb).max(1.0));
        if estimate < threshold - margin && contained < self.containment - margin {
            return None;
        }
        Some(self.judge(df, a.1, b.1).story == Story::Same)
    }

    /// Judge one pair. `df` gives the collection's document frequencies; it
    /// is ignored (plain similarity, said in [`Verdict::statistics`]) when
    /// absent or when it counted fewer than [`JudgeConfig::min_collection`]
    /// documents.
    pub fn judge(&self, df: Option<&DocFreq>, a: Evidence<'_>, b: Evidence<'_>) -> Verdict {
        let df = self.statistics(df);
        let inter = intersection_size(a.shingles, b.shingles);
        let union = a.shingles.len() + b.shingles.len() - inter;
        let jaccard = ratio(inter, union);
        // Content: shingles below the template frequency. A side made of
        // template alone keeps its whole set (a page with nothing of its
        // own is judged as it is).
        // Content: shingles below the template frequency. When either side
        // is template alone, both are judged whole (its whole set against
        // the other's content would share nothing by construction).
        let (content_a, content_b): (Vec<u64>, Vec<u64>) = match df {
            Some(df) => {
                let content = |s: &[u64]| -> Vec<u64> {
                    s.iter()
                        .copied()
                        .filter(|&h| df.count(h) < self.template_documents)
                        .collect()
                };
                (content(a.shingles), content(b.shingles))
            }
            None => (Vec::new(), Vec::new()),
        };
        let whole = df.is_none() || content_a.is_empty() || content_b.is_empty();
        let (sa, sb): (&[u64], &[u64]) = if whole {
            (a.shingles, b.shingles)
        } else {
            (&content_a, &content_b)
        };
        let share = |content: &[u64], all: &[u64]| {
            if df.is_some() {
                1.0 - ratio(content.len(), all.len())
            } else {
                0.0
            }
        };
        let cinter = intersection_size(sa, sb);
        let cunion = sa.len() + sb.len() - cinter;
        let content_jaccard = ratio(cinter, cunion);
        let content_containment = ratio(cinter, sa.len().min(sb.len()));

        // Facts common in the collection are template slots' fixed values.
        let (fa, fb);
        let (facts_a, facts_b): (&[u32], &[u32]) = match df {
            Some(df) => {
                let rare = |f: &[u32]| -> Vec<u32> {
                    f.iter()
                        .copied()
                        .filter(|&x| df.count(fact_key(x)) < self.template_documents)
                        .collect()
                };
                fa = rare(a.facts);
                fb = rare(b.facts);
                (&fa, &fb)
            }
            None => (a.facts, b.facts),
        };
        let shared_facts = multiset_intersection(facts_a, facts_b);
        let fewer = facts_a.len().min(facts_b.len());
        let facts_agreement = (fewer >= self.min_facts.max(1)).then(|| ratio(shared_facts, fewer));
        let time_gap_secs = match (a.time, b.time) {
            (Some(x), Some(y)) => Some(i64::try_from(x.abs_diff(y)).unwrap_or(i64::MAX)),
            _ => None,
        };

        let shares_content = content_containment >= self.containment;
        // One changed figure is a correction however few the figures are,
        // once there are enough of them to tell (3 or more on each side).
        let one_fix = facts_a.len().min(facts_b.len()) >= 3
            && facts_a.len() - shared_facts <= 1
            && facts_b.len() - shared_facts <= 1;
        let facts_agree = facts_agreement.is_none_or(|f| f >= self.facts) || one_fix;
        let strong =
            jaccard >= STRONG_JACCARD && a.shingles.len().min(b.shingles.len()) >= STRONG_SHINGLES;
        let close_in_time = time_gap_secs.is_none_or(|g| g <= self.max_gap_secs) || strong;
        let whole_containment = ratio(inter, a.shingles.len().min(b.shingles.len()));
        let story = if shares_content && facts_agree && close_in_time {
            Story::Same
        } else if shares_content || whole_containment >= self.containment {
            // Much in common, but it is template text, or the facts or the
            // times say these are two editions of a recurring item.
            Story::Template
        } else {
            Story::Different
        };
        Verdict {
            story,
            jaccard,
            content_jaccard,
            content_containment,
            template_share_a: share(&content_a, a.shingles),
            template_share_b: share(&content_b, b.shingles),
            statistics: df.is_some(),
            facts_agreement,
            differing_facts: (facts_a.len() - shared_facts, facts_b.len() - shared_facts),
            time_gap_secs,
        }
    }
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shingle::ShingleConfig;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn shingles(text: &str) -> Vec<u64> {
        ShingleConfig::default().shingle(&normalize(text)).hashes
    }

    fn ev<'a>(s: &'a [u64], f: &'a [u32], t: Option<i64>) -> Evidence<'a> {
        Evidence {
            shingles: s,
            facts: f,
            time: t,
        }
    }

    proptest! {
        /// The sketch never counts less than the truth, counts the same on
        /// any number of threads, and on a sketch as wide as the shingles
        /// rarely counts more.
        #[test]
        fn doc_freq_bounds_the_truth(sets in proptest::collection::vec(
            proptest::collection::btree_set(0u64..3000, 0..60), 0..40)) {
            let sets: Vec<Vec<u64>> = sets.into_iter()
                .map(|s| s.into_iter().map(crate::shingle::fmix64).collect::<std::collections::BTreeSet<_>>().into_iter().collect())
                .collect();
            let mut truth: HashMap<u64, u32> = HashMap::new();
            let mut one = DocFreq::with_bits(13);
            for s in &sets {
                one.add(s);
                for &h in s { *truth.entry(h).or_default() += 1; }
            }
            for threads in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a test thread pool");
                let mut many = DocFreq::with_bits(13);
                pool.install(|| many.add_all(|| sets.iter().map(|s| s.as_slice())));
                prop_assert_eq!(&many.counts, &one.counts);
                prop_assert_eq!(many.documents(), sets.len());
            }
            // Partial sketches of any split merge to the one sketch, and
            // survive the trip through their parts.
            let cut = sets.len() / 3;
            let (mut left, mut right) = (DocFreq::with_bits(13), DocFreq::with_bits(13));
            sets[..cut].iter().for_each(|s| left.add(s));
            sets[cut..].iter().for_each(|s| right.add(s));
            right.merge(&left).expect("same size");
            let (counts, documents) = right.parts();
            let back = DocFreq::from_parts(counts.to_vec(), documents).expect("valid parts");
            prop_assert_eq!(&back.counts, &one.counts);
            prop_assert_eq!(back.documents(), sets.len());
            let mut over = 0;
            for (&h, &n) in &truth {
                prop_assert!(one.count(h) >= n.min(255));
                over += usize::from(one.count(h) > n);
            }
            prop_assert!(over * 10 <= truth.len().max(10), "{over} of {} over-counted", truth.len());
        }
    }

    #[test]
    fn sketches_of_other_sizes_are_refused() {
        let mut a = DocFreq::with_bits(13);
        assert!(a.merge(&DocFreq::with_bits(14)).is_err());
        assert!(DocFreq::from_parts(vec![0; 3000], 1).is_err());
        assert!(DocFreq::from_parts(vec![0; 1 << 11], 1).is_err());
    }

    /// Members join the first centre they are a version of; exact copies
    /// join their original's star; a member like none starts its own.
    #[test]
    fn stars_split_chains_at_their_centres() {
        // Members 0..5 as numbers: "same" when within 2 of each other, so
        // 0~2, 2~4 chain but 0 and 4 are apart.
        let members = [(0, 10), (1, 11), (2, 12), (3, 10), (4, 14), (5, 15)];
        let split = stars(
            members.iter().copied().map(|(m, e)| (m, e as u128)),
            |m| Ok(m as i32),
            |_, &c, _, &m| (c - m).abs() <= 2,
        )
        .expect("no load error");
        assert_eq!(split, vec![vec![0, 1, 2, 3], vec![4, 5]]);
    }

    #[test]
    fn facts_are_number_tokens() {
        let f = facts("Rates rose to 5.90 pct from 5.75 pct on March 4, 1987; 5.90 again.");
        assert_eq!(f.len(), 5, "5.90, 5.75, 4, 1987, 5.90");
        assert_eq!(
            multiset_intersection(&f, &facts("(5.90) and 5.90; and 1987.")),
            3
        );
    }

    /// A correction changing one figure among many is a version; a report
    /// with other figures throughout is a template sibling.
    #[test]
    fn slots_decide_between_correction_and_template() {
        let base = "The bank board adjusted the rates on its short term discount notes as follows \
            thirty day notes {a} pct from {b} pct sixty day notes {c} pct from {d} pct ninety day \
            notes {e} pct from {f} pct the board said in a statement issued in Washington";
        let fill = |v: [&str; 6]| {
            base.replace("{a}", v[0])
                .replace("{b}", v[1])
                .replace("{c}", v[2])
                .replace("{d}", v[3])
                .replace("{e}", v[4])
                .replace("{f}", v[5])
        };
        let one = fill(["5.00", "5.90", "5.10", "5.95", "5.20", "6.00"]);
        let corrected = fill(["5.00", "5.90", "5.10", "5.95", "5.25", "6.00"]);
        let next_week = fill(["5.40", "5.00", "5.55", "5.10", "5.60", "5.20"]);
        let j = JudgeConfig::default();
        let (s1, s2, s3) = (shingles(&one), shingles(&corrected), shingles(&next_week));
        let (f1, f2, f3) = (facts(&one), facts(&corrected), facts(&next_week));
        let v = j.judge(None, ev(&s1, &f1, None), ev(&s2, &f2, None));
        assert_eq!(v.story, Story::Same, "{v:?}");
        assert_eq!(v.differing_facts, (1, 1));
        let v = j.judge(None, ev(&s1, &f1, None), ev(&s3, &f3, None));
        assert_eq!(v.story, Story::Template, "{v:?}");
        assert!(!v.statistics);
    }

    /// With few figures, one changed is still a correction (3 of 4 agree:
    /// under the 0.8 share), two changed are another edition.
    #[test]
    fn one_changed_figure_among_few_is_a_correction() {
        let text = |a: &str, b: &str| {
            format!(
                "The central bank added reserves through {a} billion dlrs of customer \
                 repurchase agreements when the funds rate was {b} pct against 6.25 pct \
                 at the close, and dealers had expected about 2.5 billion dlrs"
            )
        };
        let j = JudgeConfig::default();
        let judge = |x: &str, y: &str| {
            let (sx, sy) = (shingles(x), shingles(y));
            let (fx, fy) = (facts(x), facts(y));
            j.judge(None, ev(&sx, &fx, None), ev(&sy, &fy, None))
        };
        let v = judge(&text("1.5", "6.125"), &text("1.5", "6.1875"));
        assert_eq!((v.story, v.differing_facts), (Story::Same, (1, 1)), "{v:?}");
        let v = judge(&text("1.5", "6.125"), &text("2.0", "6.1875"));
        assert_eq!(v.story, Story::Template, "{v:?}");
    }

    /// A page that is template alone beside a light edit of it: both are
    /// judged whole, not the page's whole set against the edit's content
    /// (which share nothing by construction).
    #[test]
    fn a_template_only_page_is_judged_whole() {
        let page = "Home News Sport Weather Contact us Subscribe to our newsletter for the \
            latest headlines from the valley delivered every morning to your inbox and \
            follow us on social media for breaking news and weather warnings";
        let s = shingles(page);
        let mut df = DocFreq::with_bits(16);
        for _ in 0..30 {
            df.add(&s);
        }
        let edited = shingles(&page.replace("every morning", "each morning"));
        let j = JudgeConfig::default();
        let v = j.judge(Some(&df), ev(&s, &[], None), ev(&edited, &[], None));
        assert_eq!(v.story, Story::Same, "{v:?}");
        assert!(v.template_share_a > 0.99, "{v:?}");
    }

    #[test]
    fn a_long_gap_needs_overwhelming_text() {
        let text = "Exporters reported sales of corn to unknown destinations for delivery in the \
            current marketing year, the agriculture department said";
        let s = shingles(text);
        let j = JudgeConfig::default();
        let day = 24 * 3600;
        assert_eq!(
            j.judge(None, ev(&s, &[], Some(0)), ev(&s, &[], Some(day)))
                .story,
            Story::Same
        );
        assert_eq!(
            j.judge(None, ev(&s, &[], Some(0)), ev(&s, &[], Some(30 * day)))
                .story,
            Story::Template
        );
        assert_eq!(
            j.judge(None, ev(&s, &[], None), ev(&s, &[], Some(30 * day)))
                .story,
            Story::Same
        );
    }

    /// Pages of one site: the shared frame is learned as template, so two
    /// different articles in it are not the same story, while a light edit
    /// of one article still is.
    #[test]
    fn a_learned_template_stops_counting() {
        let frame_top = "Home News Sport Weather Contact us Subscribe to our newsletter for the \
            latest headlines from the valley delivered every morning to your inbox";
        let frame_bottom = "Related stories Most read Follow us on social media Copyright the \
            valley gazette all rights reserved terms of use privacy policy cookies";
        let bodies: Vec<String> = (0..30)
            .map(|i| {
                format!(
                    "Article {} about item{} and item{} in district{} where residents met \
                the council{} to discuss plan{} for the winter season",
                    i,
                    i,
                    i * 7,
                    i * 3,
                    i,
                    i * 11
                )
            })
            .collect();
        let pages: Vec<String> = bodies
            .iter()
            .map(|b| format!("{frame_top} {b} {frame_bottom}"))
            .collect();
        let sets: Vec<Vec<u64>> = pages.iter().map(|p| shingles(p)).collect();
        let mut df = DocFreq::with_bits(16);
        for s in &sets {
            df.add(s);
        }
        let j = JudgeConfig::default();
        let plain = j.judge(None, ev(&sets[0], &[], None), ev(&sets[1], &[], None));
        assert!(plain.jaccard > 0.4, "the frame dominates: {plain:?}");
        let v = j.judge(Some(&df), ev(&sets[0], &[], None), ev(&sets[1], &[], None));
        assert_ne!(v.story, Story::Same, "{v:?}");
        assert!(v.template_share_a > 0.5 && v.statistics);
        let edited = pages[0].replace("to discuss", "to debate");
        let se = shingles(&edited);
        let v = j.judge(Some(&df), ev(&sets[0], &[], None), ev(&se, &[], None));
        assert_eq!(v.story, Story::Same, "{v:?}");
    }
}
