//! The deduplication pipeline: fingerprints → exact groups → LSH buckets →
//! verified pairs → union-find groups → kept documents.
//!
//! ```
//! use lookalike::dedup::{Dedup, DedupConfig};
//! let mut d = Dedup::new(DedupConfig::default())?;
//! d.add_batch(vec![
//!     ("a".into(), "The quick brown fox jumps over the lazy dog near the river bank".into()),
//!     ("b".into(), "The quick brown fox jumps over the lazy dog near the river bank!".into()),
//!     ("c".into(), "An entirely different sentence about markets, rates and the economy".into()),
//! ]);
//! let out = d.finish()?;
//! assert_eq!(out.groups.len(), 1);
//! assert_eq!(out.kept, [true, false, true]);
//! # Ok::<(), lookalike::Error>(())
//! ```
//!
//! How candidates inside a bucket are chosen: its members are ordered by
//! input position and each of the first [`DedupConfig::representatives`]
//! (the bucket's *centres*) is paired with every later member
//! ([`crate::lsh::bucket_pairs`]). A bucket therefore costs at most
//! `members × representatives` comparisons, never `members²`. Each pair is
//! checked by [`check_candidate`]: first the signature estimate (cheap, 128
//! slots), then the exact set comparison when the estimate is within
//! [`DedupConfig::estimate_margin`] of the threshold. Groups are the connected
//! components of the pairs that pass, plus the exact-duplicate families
//! (under the story judgment, each component is then split into stars:
//! `Dedup::centred`).
//!
//! The candidate pairs depend only on each bucket's content, never on what
//! was merged before, so the groups are a pure function of the input: the
//! Spark and Ray pipelines of the Python package build the same pairs with a
//! shuffle and find the same components. Here, a pair whose two documents
//! are already in one group is skipped without comparing them: it could not
//! change a component.

use std::borrow::Cow;
use std::path::PathBuf;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cluster::{KeepPolicy, UnionFind};
use crate::fingerprint::{Fingerprint, Fingerprinter};
use crate::ids::Ids;
use crate::judge::{DocFreq, Evidence, JudgeConfig, Story};
use crate::lsh::{LshParams, bucket_pairs};
use crate::shingle::ShingleConfig;
use crate::sketch::Signature;
use crate::sketch::SketchConfig;
use crate::spill::SpillStore;
use crate::verify::jaccard;

/// How a candidate pair is confirmed before it joins a group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verification {
    /// Exact Jaccard similarity of the shingle sets (the default). Keeps each
    /// document's shingle set in memory: 8 bytes per distinct shingle.
    #[default]
    Exact,
    /// The signature estimate only: 4 bytes per slot per document, and the
    /// shingle sets are dropped. Similarities are then estimates (±0.044 at
    /// J = 0.5 with 128 slots).
    Signature,
}

/// Settings of a deduplication run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DedupConfig {
    /// Jaccard similarity of shingle sets at or above which two documents are
    /// near duplicates. Default: 0.4. README explains: on word 5-grams, a
    /// repost of a news article measures about 0.8 against its source and a
    /// later edit (a paragraph rewritten, tenses changed) about 0.5, while a
    /// different article from the same template and people measures under
    /// 0.05; 0.4 sits in that gap with room for heavier edits.
    pub threshold: f64,
    /// Shingling. Default: word 5-grams, seed 0.
    pub shingle: ShingleConfig,
    /// Sketching. Default: 128 slots, seed 0.
    pub sketch: SketchConfig,
    /// Probability that LSH proposes a pair whose similarity is exactly the
    /// threshold; bands × rows are derived from it. Default: 0.99.
    pub target_recall: f64,
    /// Bands × rows to use instead of deriving them. Default: derived.
    pub lsh: Option<LshParams>,
    /// How candidate pairs are confirmed. Default: [`Verification::Exact`].
    pub verification: Verification,
    /// Candidates whose signature estimate is more than this below the
    /// threshold are rejected without the exact comparison. Default: 0.15,
    /// over three standard errors of a 128-slot estimate at any similarity.
    pub estimate_margin: f64,
    /// Which member of a group is kept. Default: [`KeepPolicy::First`].
    pub keep: KeepPolicy,
    /// Buckets with more members than this are skipped and counted as
    /// capped: they are boilerplate shared by huge numbers of documents.
    /// Default: 10,000.
    pub bucket_cap: usize,
    /// Centres per bucket: each of a bucket's first this-many members (in
    /// input order) is compared with every later member (see the module
    /// docs). Default: 8.
    pub representatives: usize,
    /// Judge candidate pairs as stories ([`crate::judge`]): template text
    /// learned from the run's documents stops counting, and a pair joins a
    /// group when the shorter side's content is inside the other, their
    /// number tokens agree and (when both carry a time) they are close in
    /// time. `threshold` then only sets the LSH bands. Default: `None`,
    /// plain Jaccard similarity at `threshold` (the index, the service and
    /// the Spark and Ray pipelines judge that way, and all front ends must
    /// give the same groups).
    #[serde(default)]
    pub judge: Option<JudgeConfig>,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            threshold: 0.4,
            shingle: ShingleConfig::default(),
            sketch: SketchConfig::default(),
            target_recall: 0.99,
            lsh: None,
            verification: Verification::Exact,
            estimate_margin: 0.15,
            keep: KeepPolicy::First,
            bucket_cap: 10_000,
            representatives: 8,
            judge: None,
        }
    }
}

/// How a group member relates to the kept document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Relation {
    /// Same normalised text.
    Exact,
    /// Similar, not identical.
    Near,
    /// Under the story judgment: the member contains at least the
    /// judgment's containment share (0.4 by default) of the kept document
    /// (a fuller take of it), though their Jaccard similarity is under the
    /// threshold.
    Contains,
    /// Under the story judgment: most of the member is inside the kept
    /// document (an excerpt, a first take, a paragraph re-issued).
    #[serde(rename = "contained-in")]
    ContainedIn,
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Position of the document in input order.
    pub index: usize,
    /// Jaccard similarity to the kept document (1.0 for itself).
    pub similarity: f64,
    /// Relation to the kept document.
    pub relation: Relation,
}

/// A group of two or more documents that are copies of each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Position of the kept document.
    pub kept: usize,
    /// Every member, the kept one included, in input order.
    pub members: Vec<Member>,
}

/// Counters of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedupStats {
    /// Documents added.
    pub documents: usize,
    /// Documents without a single word (never grouped, always kept).
    pub empty: usize,
    /// Removed documents whose normalised text equals the kept one's.
    pub exact_duplicates: usize,
    /// Removed documents that are near duplicates of the kept one (under
    /// the story judgment also those containing it or contained in it).
    pub near_duplicates: usize,
    /// Groups of two or more documents.
    pub groups: usize,
    /// Documents kept.
    pub kept: usize,
    /// Candidate comparisons made inside buckets.
    pub candidates: usize,
    /// Comparisons that ran the exact set similarity.
    pub exact_comparisons: usize,
    /// Comparisons that passed and merged two groups.
    pub merges: usize,
    /// Buckets skipped for having more than `bucket_cap` members.
    pub capped_buckets: usize,
    /// Bytes of fingerprints written to disk because they outgrew the memory
    /// budget ([`Dedup::spill_over`]); 0 when they stayed in memory.
    #[serde(default)]
    pub spilled_bytes: u64,
    /// Under the story judgment ([`DedupConfig::judge`]): the documents
    /// template text was learned from (one per exact family), and whether
    /// they were enough ([`JudgeConfig::min_collection`]); below it every
    /// shingle counted as content. `None` under the plain judgment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_statistics: Option<TemplateStatistics>,
}

/// Where the story judgment's template statistics came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateStatistics {
    /// Documents counted (one per exact family).
    pub documents: usize,
    /// Whether they were used (enough documents).
    pub used: bool,
}

/// What a run decided.
#[derive(Debug, Clone)]
pub struct DedupOutcome {
    /// Document ids in input order.
    pub ids: Ids,
    /// Groups, ordered by their first member.
    pub groups: Vec<Group>,
    /// For each document in input order, whether it is kept.
    pub kept: Vec<bool>,
    /// Counters.
    pub stats: DedupStats,
}

/// A deduplication run: add documents, then [`Dedup::finish`].
#[derive(Debug)]
pub struct Dedup {
    config: DedupConfig,
    lsh: LshParams,
    fingerprinter: Fingerprinter,
    ids: Ids,
    lengths: Vec<u64>,
    /// Fingerprints while they fit the memory budget...
    fingerprints: Vec<Fingerprint>,
    /// ... and all of them once they do not.
    spill: Option<SpillStore>,
    /// Memory budget for fingerprints and where to spill beyond it.
    budget: Option<(usize, PathBuf)>,
    /// Estimated bytes held by `fingerprints`.
    held: usize,
    /// The first error writing the spill file, reported by `finish`.
    spill_error: Option<crate::Error>,
    /// With a story judgment: each document's number tokens and time.
    facts: Vec<Box<[u32]>>,
    times: Vec<Option<i64>>,
}

impl Dedup {
    /// Validate `config` and derive the LSH parameters.
    pub fn new(config: DedupConfig) -> Result<Dedup, crate::Error> {
        let fingerprinter = Fingerprinter {
            shingle: config.shingle,
            sketch: config.sketch,
        };
        fingerprinter.validate()?;
        if !(config.threshold > 0.0 && config.threshold <= 1.0) {
            return Err(crate::Error::Config(format!(
                "threshold must be greater than 0 and at most 1, got {}",
                config.threshold
            )));
        }
        if let Some(j) = &config.judge {
            let valid = (1..=255).contains(&j.template_documents)
                && j.containment > 0.0
                && j.containment <= 1.0
                && (0.0..=1.0).contains(&j.facts)
                && j.max_gap_secs >= 0;
            if !valid {
                return Err(crate::Error::Config(format!(
                    "story judgment: template_documents must be 1 to 255, containment in (0, 1], \
                     facts in [0, 1] and max_gap_secs not negative, got {j:?}"
                )));
            }
        }
        if config.judge.is_some() && config.verification == Verification::Signature {
            return Err(crate::Error::Config(
                "the story judgment needs the shingle sets: verify exactly, not by signature"
                    .into(),
            ));
        }
        if config.representatives == 0 || config.bucket_cap < 2 {
            return Err(crate::Error::Config(
                "representatives must be at least 1 and bucket_cap at least 2".into(),
            ));
        }
        let lsh = match config.lsh {
            Some(p) => {
                if p.bands == 0 || p.rows == 0 || p.bands * p.rows > config.sketch.slots {
                    return Err(crate::Error::Config(format!(
                        "{} bands × {} rows do not fit in {} sketch slots",
                        p.bands, p.rows, config.sketch.slots
                    )));
                }
                p
            }
            None => LshParams::for_threshold(
                config.threshold,
                config.sketch.slots,
                config.target_recall,
            )?,
        };
        Ok(Dedup {
            config,
            lsh,
            fingerprinter,
            ids: Ids::new(),
            lengths: Vec::new(),
            fingerprints: Vec::new(),
            spill: None,
            budget: None,
            held: 0,
            spill_error: None,
            facts: Vec::new(),
            times: Vec::new(),
        })
    }

    /// Keep fingerprints in memory up to about `budget` bytes; beyond it,
    /// move them all into a temporary file under `dir` and go on there (see
    /// [`crate::spill`]). Groups are the same either way (tested). Without
    /// this call everything stays in memory.
    pub fn spill_over(&mut self, budget: usize, dir: PathBuf) {
        self.budget = Some((budget, dir));
        self.spill_if_over();
    }

    fn spill_if_over(&mut self) {
        let Some((budget, dir)) = &self.budget else {
            return;
        };
        if self.spill.is_some() || self.held <= *budget || self.spill_error.is_some() {
            return;
        }
        let moved =
            SpillStore::create(dir, self.config.sketch.slots, self.lsh).and_then(|mut store| {
                for f in &self.fingerprints {
                    store.push(f)?;
                }
                Ok(store)
            });
        match moved {
            Ok(store) => {
                self.spill = Some(store);
                self.fingerprints = Vec::new();
                self.held = 0;
            }
            Err(e) => self.spill_error = Some(e),
        }
    }

    /// Estimated memory of one fingerprint.
    fn weight(f: &Fingerprint) -> usize {
        std::mem::size_of::<Fingerprint>()
            + f.shingles.hashes.len() * 8
            + f.signature.as_ref().map_or(0, |s| s.0.len() * 4)
    }

    /// Document `i`'s fingerprint, from memory or read back from disk.
    fn fingerprint(&self, i: usize) -> crate::Result<Cow<'_, Fingerprint>> {
        match &self.spill {
            Some(store) => store.get(i).map(Cow::Owned),
            None => Ok(Cow::Borrowed(&self.fingerprints[i])),
        }
    }

    /// Run `f` where fingerprints are best read: on the spill store's
    /// reading threads once spilled, on the current pool otherwise.
    fn reading<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.spill {
            Some(store) => store.reading(f),
            None => f(),
        }
    }

    fn exact(&self, i: usize) -> u128 {
        match &self.spill {
            Some(store) => store.exact(i),
            None => self.fingerprints[i].exact,
        }
    }

    fn has_signature(&self, i: usize) -> bool {
        match &self.spill {
            Some(store) => store.has_signature(i),
            None => self.fingerprints[i].signature.is_some(),
        }
    }

    /// The bands × rows in use.
    pub fn lsh(&self) -> LshParams {
        self.lsh
    }

    /// The settings in use.
    pub fn config(&self) -> &DedupConfig {
        &self.config
    }

    /// Number of documents added so far.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no document was added yet.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Add documents `(id, text)`, fingerprinting them in parallel on the
    /// current rayon pool. The texts are dropped once fingerprinted. An error
    /// writing spilled fingerprints is kept and returned by [`Dedup::finish`].
    pub fn add_batch(&mut self, docs: Vec<(String, String)>) {
        self.add_timed_batch(
            docs.into_iter()
                .map(|(id, text)| (id, text, None))
                .collect(),
        );
    }

    /// [`Dedup::add_batch`] with each document's publication time (seconds
    /// since 1970), evidence for a story judgment ([`DedupConfig::judge`]);
    /// ignored without one.
    pub fn add_timed_batch(&mut self, docs: Vec<(String, String, Option<i64>)>) {
        let fp = self.fingerprinter;
        let judging = self.config.judge.is_some();
        let drop_sets = self.config.verification == Verification::Signature;
        let prints: Vec<(u64, Fingerprint, Box<[u32]>)> = docs
            .par_iter()
            .map(|(_, text, _)| {
                let mut f = fp.fingerprint(text);
                if drop_sets {
                    f.shingles.hashes = Vec::new();
                }
                let facts = if judging {
                    crate::judge::facts(text).into_boxed_slice()
                } else {
                    Box::default()
                };
                (text.len() as u64, f, facts)
            })
            .collect();
        for ((id, _, time), (len, f, facts)) in docs.into_iter().zip(prints) {
            self.ids.push(&id);
            self.lengths.push(len);
            if judging {
                self.facts.push(facts);
                self.times.push(time);
            }
            match &mut self.spill {
                Some(store) if self.spill_error.is_none() => {
                    if let Err(e) = store.push(&f) {
                        self.spill_error = Some(e);
                    }
                }
                Some(_) => {}
                None => {
                    self.held += Self::weight(&f);
                    self.fingerprints.push(f);
                }
            }
        }
        self.spill_if_over();
    }

    /// Similarity of documents `a` and `b` as the configured verification
    /// measures it.
    fn similarity(&self, a: usize, b: usize) -> crate::Result<f64> {
        let (fa, fb) = (self.fingerprint(a)?, self.fingerprint(b)?);
        Ok(match self.config.verification {
            Verification::Exact => jaccard(&fa.shingles.hashes, &fb.shingles.hashes),
            Verification::Signature => match (&fa.signature, &fb.signature) {
                (Some(x), Some(y)) => x.jaccard(y),
                _ => 0.0,
            },
        })
    }

    /// How member `i`, not an exact copy, relates to the kept document:
    /// `Near`, or under the story judgment, when their Jaccard similarity
    /// is under `threshold`, which one holds the other.
    fn relation(&self, kept: usize, i: usize, threshold: f64) -> crate::Result<Relation> {
        let Some(judge) = &self.config.judge else {
            return Ok(Relation::Near);
        };
        let (fk, fi) = (self.fingerprint(kept)?, self.fingerprint(i)?);
        let o = crate::verify::overlap(&fi.shingles.hashes, &fk.shingles.hashes);
        Ok(if o.jaccard >= threshold {
            Relation::Near
        } else if o.a_in_b >= judge.containment && o.a_in_b >= o.b_in_a {
            Relation::ContainedIn
        } else if o.b_in_a >= judge.containment {
            Relation::Contains
        } else {
            Relation::Near
        })
    }

    /// Group the documents and decide which are kept. Fails only when
    /// fingerprints spilled to disk could not be written or read back.
    pub fn finish(mut self) -> Result<DedupOutcome, crate::Error> {
        let (groups, kept, stats) = self.group(self.config.threshold, self.lsh)?;
        Ok(DedupOutcome {
            ids: std::mem::take(&mut self.ids),
            groups,
            kept,
            stats,
        })
    }

    /// Group the same documents at another threshold, without
    /// fingerprinting them again (for tuning). Bands × rows are derived for
    /// that threshold unless the configuration fixes them.
    pub fn outcome_at(&mut self, threshold: f64) -> Result<DedupOutcome, crate::Error> {
        let lsh = match self.config.lsh {
            Some(p) => p,
            None => LshParams::for_threshold(
                threshold,
                self.config.sketch.slots,
                self.config.target_recall,
            )?,
        };
        let (groups, kept, stats) = self.group(threshold, lsh)?;
        Ok(DedupOutcome {
            ids: self.ids.clone(),
            groups,
            kept,
            stats,
        })
    }

    /// Length in bytes of each document's original text, in input order.
    pub fn lengths(&self) -> &[u64] {
        &self.lengths
    }

    /// Fingerprints in input order; `None` once they were spilled to disk.
    pub fn fingerprints(&self) -> Option<&[Fingerprint]> {
        self.spill.is_none().then_some(&self.fingerprints[..])
    }

    fn group(
        &mut self,
        threshold: f64,
        lsh: LshParams,
    ) -> Result<(Vec<Group>, Vec<bool>, DedupStats), crate::Error> {
        if let Some(e) = self.spill_error.take() {
            return Err(e);
        }
        if let Some(store) = &mut self.spill {
            store.seal()?;
            if store.lsh() != lsh {
                return Err(crate::Error::Config(format!(
                    "fingerprints spilled to disk carry band keys for {} bands × {} rows only; \
                     grouping with other bands needs them in memory (raise the memory budget)",
                    store.lsh().bands,
                    store.lsh().rows
                )));
            }
        }
        self.group_sealed(threshold, lsh)
    }

    fn group_sealed(
        &self,
        threshold: f64,
        lsh: LshParams,
    ) -> Result<(Vec<Group>, Vec<bool>, DedupStats), crate::Error> {
        let n = self.ids.len();
        let mut stats = DedupStats {
            documents: n,
            ..Default::default()
        };
        let mut uf = UnionFind::new(n);

        // 1. Exact duplicates: same normalised text. Only the first of each
        //    exact family goes on to LSH. Sorting positions by (hash,
        //    position) finds the families in 4 bytes a document, where a
        //    hash map would take ten times that at 100 million documents.
        let mut lsh_members: Vec<u32> = (0..n as u32)
            .filter(|&i| self.has_signature(i as usize))
            .collect();
        stats.empty = n - lsh_members.len();
        lsh_members.par_sort_unstable_by_key(|&i| (self.exact(i as usize), i));
        lsh_members.dedup_by(|later, first| {
            let same = self.exact(*later as usize) == self.exact(*first as usize);
            if same {
                uf.union(*first as usize, *later as usize);
            }
            same
        });
        // Ascending positions, so spilled band keys are read in one pass.
        lsh_members.par_sort_unstable();
        let doc_freq = match self.config.judge {
            Some(_) => Some(self.doc_freq(&lsh_members)?),
            None => None,
        };
        let doc_freq = doc_freq.as_ref();
        if let (Some(judge), Some(df)) = (&self.config.judge, doc_freq) {
            stats.template_statistics = Some(TemplateStatistics {
                documents: df.documents(),
                used: df.documents() >= judge.min_collection,
            });
        }

        // 2. LSH one band at a time, so memory holds one band's keys. Sorting
        //    (key, position) puts each bucket's members in input order.
        let mut keys: Vec<(u64, u32)> = Vec::new();
        let mut pending: Vec<(u32, u32)> = Vec::with_capacity(CHECK_CHUNK);
        // Past the memory budget, a band's (key, position) pairs are sorted
        // in runs of at most a budget's worth and merged from disk.
        let run = self
            .budget
            .as_ref()
            .map_or(usize::MAX, |(budget, _)| (budget / 16).max(MIN_RUN));
        for band in 0..lsh.bands {
            let mut visit = |bucket: &[(u64, u32)]| -> Result<(), crate::Error> {
                if bucket.len() < 2 {
                    return Ok(());
                }
                if bucket.len() > self.config.bucket_cap {
                    stats.capped_buckets += 1;
                    return Ok(());
                }
                for (i, j) in bucket_pairs(bucket.len(), self.config.representatives) {
                    let (a, b) = (bucket[i].1, bucket[j].1);
                    if uf.find(a as usize) == uf.find(b as usize) {
                        continue;
                    }
                    pending.push((a, b));
                    if pending.len() >= CHECK_CHUNK {
                        self.check_and_merge(
                            &mut pending,
                            threshold,
                            doc_freq,
                            &mut uf,
                            &mut stats,
                        )?;
                    }
                }
                Ok(())
            };
            match &self.spill {
                Some(store) => {
                    store.band_buckets(band, &lsh_members, run, &mut visit)?;
                }
                None => {
                    keys.clear();
                    keys.par_extend(lsh_members.par_iter().filter_map(|&i| {
                        let sig = self.fingerprints[i as usize].signature.as_ref()?;
                        Some((lsh.band_key(sig, band), i))
                    }));
                    keys.par_sort_unstable();
                    for bucket in keys.chunk_by(|x, y| x.0 == y.0) {
                        visit(bucket)?;
                    }
                }
            }
            self.check_and_merge(&mut pending, threshold, doc_freq, &mut uf, &mut stats)?;
        }
        if let Some(judge) = &self.config.judge {
            self.merge_contained(judge, doc_freq, &lsh_members, &mut uf, &mut stats)?;
        }

        // One band's keys take 16 bytes a document: freed before the groups.
        drop((keys, pending, lsh_members));

        // 3. Groups, kept members and each member's relation to the kept one.
        //    The similarities to the kept member are computed on all threads.
        let mut groups = uf.groups();
        if let Some(judge) = &self.config.judge {
            groups = self.reading(|| self.centred(judge, doc_freq, groups))?;
        }
        let groups: Vec<Group> = self.reading(|| {
            groups
                .into_par_iter()
                .map(|members| {
                    let keep = self.config.keep.choose(&members, |i| self.lengths[i]);
                    let exact_kept = self.exact(keep);
                    let members = members
                        .into_iter()
                        .map(|i| {
                            let exact = self.exact(i) == exact_kept;
                            Ok(Member {
                                index: i,
                                similarity: if exact {
                                    1.0
                                } else {
                                    self.similarity(keep, i)?
                                },
                                relation: if exact {
                                    Relation::Exact
                                } else {
                                    self.relation(keep, i, threshold)?
                                },
                            })
                        })
                        .collect::<Result<_, crate::Error>>()?;
                    Ok(Group {
                        kept: keep,
                        members,
                    })
                })
                .collect::<Result<_, crate::Error>>()
        })?;
        let mut kept = vec![true; n];
        for g in &groups {
            for m in g.members.iter().filter(|m| m.index != g.kept) {
                kept[m.index] = false;
                match m.relation {
                    Relation::Exact => stats.exact_duplicates += 1,
                    _ => stats.near_duplicates += 1,
                }
            }
        }
        stats.groups = groups.len();
        stats.kept = kept.iter().filter(|&&k| k).count();
        stats.spilled_bytes = self.spill.as_ref().map_or(0, |s| s.bytes());
        Ok((groups, kept, stats))
    }
}

impl Dedup {
    /// Document frequencies of the shingles of `members` (one per exact
    /// family), counted on all threads.
    fn doc_freq(&self, members: &[u32]) -> Result<DocFreq, crate::Error> {
        if self.spill.is_some() {
            // Spilled sets are read back one at a time.
            let mut total = 0;
            for &i in members {
                total += self.fingerprint(i as usize)?.shingles.hashes.len();
            }
            let mut df = DocFreq::for_collection(total);
            for &i in members {
                df.add_document(
                    &self.fingerprint(i as usize)?.shingles.hashes,
                    &self.facts[i as usize],
                );
            }
            return Ok(df);
        }
        let sets = || {
            members
                .iter()
                .map(|&i| self.fingerprints[i as usize].shingles.hashes.as_slice())
        };
        let mut df = DocFreq::for_collection(sets().map(<[u64]>::len).sum());
        df.add_all(sets);
        for &i in members {
            df.add_facts(&self.facts[i as usize]);
        }
        Ok(df)
    }

    /// A candidate pair under the story judgment: `Some(1.0)` when the two
    /// are versions of one story, `Some(0.0)` when judged otherwise, `None`
    /// when the signature rules out both enough similarity and enough
    /// containment (no exact comparison made):
    /// [`JudgeConfig::judge_candidate`].
    fn judge_pair(
        &self,
        judge: &JudgeConfig,
        doc_freq: Option<&DocFreq>,
        threshold: f64,
        (a, fa): (u32, &Fingerprint),
        (b, fb): (u32, &Fingerprint),
    ) -> Option<f64> {
        let (sa, sb) = (fa.signature.as_ref()?, fb.signature.as_ref()?);
        let same = judge.judge_candidate(
            doc_freq,
            threshold,
            self.config.estimate_margin,
            (&sa.0, self.evidence(a as usize, &fa.shingles.hashes)),
            (&sb.0, self.evidence(b as usize, &fb.shingles.hashes)),
        )?;
        Some(if same { 1.0 } else { 0.0 })
    }

    /// `f` of each member's fingerprint, on all threads (the spill store's
    /// reading threads once spilled), the results concatenated in member
    /// order.
    fn flat_map_members<T: Send>(
        &self,
        members: &[u32],
        f: impl Fn(u32, &Fingerprint) -> Vec<T> + Sync,
    ) -> Result<Vec<T>, crate::Error> {
        let parts = self.reading(|| {
            members
                .par_iter()
                .map(|&i| Ok(f(i, &*self.fingerprint(i as usize)?)))
                .collect::<Result<Vec<Vec<T>>, crate::Error>>()
        })?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// Candidates by containment, for the story judgment: a short text
    /// inside a long one (a first take, an excerpt) has a Jaccard
    /// similarity far under the threshold, and LSH seldom proposes it. Each
    /// document's [`CONTAINMENT_KEYS`] smallest content shingles (below the
    /// template frequency) are indexed; a document whose shingles hold at
    /// least the judgment's containment share of another's keys is paired
    /// with it, and the pair is judged on its exact sets. The keys are a
    /// uniform sample of each content set, so a text contained at share c
    /// finds about c of its keys in the container.
    fn merge_contained(
        &self,
        judge: &JudgeConfig,
        doc_freq: Option<&DocFreq>,
        members: &[u32],
        uf: &mut UnionFind,
        stats: &mut DedupStats,
    ) -> Result<(), crate::Error> {
        use std::collections::HashMap;
        // Keys of each member: (shingle, member) sorted by shingle.
        let mut keys: Vec<(u64, u32)> = self.flat_map_members(members, |i, f| {
            judge
                .containment_keys(doc_freq, &f.shingles.hashes)
                .map(|h| (h, i))
                .collect()
        })?;
        keys.par_sort_unstable();
        let mut key_count: HashMap<u32, usize> = HashMap::new();
        for &(_, i) in &keys {
            *key_count.entry(i).or_default() += 1;
        }
        // A directory on the keys' top bits finds a shingle's postings in
        // two memory reads (a binary search took most of the pass).
        let dir_bits = keys.len().max(2).next_power_of_two().trailing_zeros();
        let mut dir = vec![0u32; (1usize << dir_bits) + 1];
        for &(k, _) in &keys {
            dir[(k >> (64 - dir_bits)) as usize + 1] += 1;
        }
        for d in 1..dir.len() {
            dir[d] += dir[d - 1];
        }
        // And a bit per key's hash, 8 bits a key: most shingles are no
        // document's key, and one test in a small bitset turns them away.
        let seen_bits = (dir_bits + 3).max(6);
        let mut seen = vec![0u64; 1usize << (seen_bits - 6)];
        let bit = |k: u64| (crate::shingle::fmix64(k) >> (64 - seen_bits)) as usize;
        for &(k, _) in &keys {
            seen[bit(k) >> 6] |= 1 << (bit(k) & 63);
        }
        let postings = |h: u64| {
            let d = if seen[bit(h) >> 6] & (1 << (bit(h) & 63)) == 0 {
                usize::MAX
            } else {
                (h >> (64 - dir_bits)) as usize
            };
            let range = dir
                .get(d)
                .zip(dir.get(d.wrapping_add(1)))
                .map_or(0..0, |(&lo, &hi)| lo as usize..hi as usize);
            keys[range].iter().filter(move |&&(k, _)| k == h)
        };
        // For each member, the members whose keys it holds enough of.
        let mut pairs: Vec<(u32, u32)> = self.flat_map_members(members, |b, f| {
            let mut held: HashMap<u32, usize> = HashMap::new();
            for &h in &f.shingles.hashes {
                for &(_, a) in postings(h) {
                    if a != b {
                        *held.entry(a).or_default() += 1;
                    }
                }
            }
            held.into_iter()
                .filter(|&(a, n)| judge.holds_enough(n, key_count[&a]))
                .map(|(a, _)| (a.min(b), a.max(b)))
                .collect()
        })?;
        pairs.par_sort_unstable();
        pairs.dedup();
        pairs.retain(|&(a, b)| uf.find(a as usize) != uf.find(b as usize));
        let same: Vec<bool> = self.reading(|| {
            pairs
                .par_iter()
                .map(|&(a, b)| {
                    let (fa, fb) = (self.fingerprint(a as usize)?, self.fingerprint(b as usize)?);
                    Ok(self.same_story(judge, doc_freq, (a as usize, &fa), (b as usize, &fb)))
                })
                .collect::<Result<_, crate::Error>>()
        })?;
        stats.candidates += pairs.len();
        stats.exact_comparisons += pairs.len();
        for (&(a, b), same) in pairs.iter().zip(same) {
            if same && uf.union(a as usize, b as usize) {
                stats.merges += 1;
            }
        }
        Ok(())
    }

    /// What document `i` brings to a judgment, with its shingle set.
    fn evidence<'a>(&'a self, i: usize, shingles: &'a [u64]) -> Evidence<'a> {
        Evidence {
            shingles,
            facts: &self.facts[i],
            time: self.times[i],
        }
    }

    /// Whether documents `a` and `b` are versions of one story.
    fn same_story(
        &self,
        judge: &JudgeConfig,
        doc_freq: Option<&DocFreq>,
        (a, fa): (usize, &Fingerprint),
        (b, fb): (usize, &Fingerprint),
    ) -> bool {
        let verdict = judge.judge(
            doc_freq,
            self.evidence(a, &fa.shingles.hashes),
            self.evidence(b, &fb.shingles.hashes),
        );
        verdict.story == Story::Same
    }

    /// Group integrity under the story judgment: each connected component
    /// is split into stars ([`crate::judge::stars`]), so every member is a
    /// version of its group's first member.
    fn centred(
        &self,
        judge: &JudgeConfig,
        doc_freq: Option<&DocFreq>,
        groups: Vec<Vec<usize>>,
    ) -> Result<Vec<Vec<usize>>, crate::Error> {
        let split: Vec<Vec<Vec<usize>>> = groups
            .into_par_iter()
            .map(|members| {
                if members.len() < 3 {
                    return Ok(vec![members]);
                }
                crate::judge::stars(
                    members.into_iter().map(|m| (m, self.exact(m))),
                    |m| self.fingerprint(m),
                    |c, fc, m, fm| self.same_story(judge, doc_freq, (c, fc), (m, fm)),
                )
            })
            .collect::<Result<_, crate::Error>>()?;
        let mut out: Vec<Vec<usize>> = split
            .into_iter()
            .flatten()
            .filter(|g| g.len() > 1)
            .collect();
        // Groups ordered by their first member, as union-find gives them.
        out.sort_unstable_by_key(|g| g[0]);
        Ok(out)
    }

    /// Check `pairs` on all threads, then merge the passing ones in order.
    /// Which pairs are checked depends on the groups when the chunk was
    /// gathered, never on the thread count, so counts and groups are the
    /// same with any number of threads (a test checks it).
    fn check_and_merge(
        &self,
        pairs: &mut Vec<(u32, u32)>,
        threshold: f64,
        doc_freq: Option<&DocFreq>,
        uf: &mut UnionFind,
        stats: &mut DedupStats,
    ) -> Result<(), crate::Error> {
        let checked: Vec<Option<f64>> = self.reading(|| {
            pairs
                .par_iter()
                .map(|&(a, b)| {
                    let (fa, fb) = (self.fingerprint(a as usize)?, self.fingerprint(b as usize)?);
                    let (Some(sa), Some(sb)) = (&fa.signature, &fb.signature) else {
                        return Ok(None);
                    };
                    if let Some(judge) = &self.config.judge {
                        return Ok(self.judge_pair(judge, doc_freq, threshold, (a, &fa), (b, &fb)));
                    }
                    Ok(check_candidate(
                        self.config.verification,
                        threshold,
                        self.config.estimate_margin,
                        (&sa.0, &fa.shingles.hashes),
                        (&sb.0, &fb.shingles.hashes),
                    ))
                })
                .collect::<Result<_, crate::Error>>()
        })?;
        stats.candidates += pairs.len();
        for (&(a, b), sim) in pairs.iter().zip(checked) {
            let Some(sim) = sim else { continue };
            if self.config.verification == Verification::Exact {
                stats.exact_comparisons += 1;
            }
            let pass = match self.config.judge {
                Some(_) => sim > 0.5,
                None => sim >= threshold,
            };
            if pass && uf.union(a as usize, b as usize) {
                stats.merges += 1;
            }
        }
        pairs.clear();
        Ok(())
    }
}

/// The fewest (key, position) pairs sorted in one run when a band's pairs
/// are sorted on disk: a tiny budget must not make a file per pair.
const MIN_RUN: usize = 1024;

/// Candidate pairs gathered before they are checked in parallel: large
/// enough to keep every thread busy, small enough that pairs made redundant
/// by a merge in the same chunk cost little.
const CHECK_CHUNK: usize = 16_384;

/// Check one candidate pair given each side's signature slots and sorted
/// shingle set: `None` when the signature estimate is more than `margin`
/// below `threshold` (rejected without the exact comparison), otherwise the
/// similarity as `verification` measures it (the caller compares it with the
/// threshold). This is the one definition of a passing pair, shared by
/// [`Dedup`] and by the distributed pipelines of the Python package.
pub fn check_candidate(
    verification: Verification,
    threshold: f64,
    margin: f64,
    a: (&[u32], &[u64]),
    b: (&[u32], &[u64]),
) -> Option<f64> {
    let estimate = Signature::estimate(a.0, b.0);
    if estimate < threshold - margin {
        return None;
    }
    Some(match verification {
        Verification::Exact => jaccard(a.1, b.1),
        Verification::Signature => estimate,
    })
}
