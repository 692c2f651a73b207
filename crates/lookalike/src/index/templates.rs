//! The template statistics of an index that judges stories: how many stored
//! documents hold each shingle and each fact, in a count-min sketch
//! ([`DocFreq`]), so that text recurring across the collection (a site's
//! frame, a wire's boilerplate, a scheduled report's fixed wording) stops
//! counting as evidence that two documents are versions of one story.
//!
//! The statistics are derived data, like the buckets: rebuilt from the
//! stored documents (their shingle sets and the `facts` table) when the
//! index is opened, then grown by every batch stored, in the writer's turn
//! and before the batch is judged, so a batch is judged with statistics
//! that count it (as `dedup` judges a collection with statistics that
//! count all of it). So they can never disagree with the documents after a
//! crash. Removing a document does not take it out of the counts (a
//! count-min sketch cannot); the next open counts only what is stored.
//!
//! Size: two counters per shingle, sized for twice the shingles
//! counted when the statistics were last built (at least
//! [`MIN_SHINGLES`]), at most [`crate::judge::TEMPLATE_MEMORY`]. When the
//! collection outgrows that, the statistics are counted again from the
//! stored documents at the new size: each document is counted a constant
//! number of times on average over the life of the index.

use std::collections::HashMap;
use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable};

use super::errors::{db_err, decode};
use super::format::{DOCS, FACTS, StoredDoc, unpack_facts};
use crate::error::Result;
use crate::judge::{DocFreq, JudgeConfig};

/// Fewest shingles the statistics are sized for: 4 MiB of counters, so a
/// young index does not count itself again every few batches.
pub(super) const MIN_SHINGLES: usize = 1 << 21;

/// A short shingle ([`super::short_shingles`]) as the judgment hashes it:
/// the top 32 bits of the original hash, in place, so sorted sets stay
/// sorted and the sketch's partitions (by top bits) are the same.
pub(super) fn widen(shingles: &[u32]) -> Vec<u64> {
    shingles.iter().map(|&s| u64::from(s) << 32).collect()
}

/// The statistics and what they were sized for, and the stored documents'
/// containment keys.
pub(super) struct Templates {
    /// Document frequencies of shingles and facts.
    pub(super) df: DocFreq,
    /// Shingles counted so far (with repeats across documents).
    shingles: usize,
    /// Shingles the sketch was sized for; past it, it is rebuilt larger.
    sized_for: usize,
    /// Containment keys of the stored documents: each one's
    /// [`crate::judge::CONTAINMENT_KEYS`] smallest content shingles
    /// ([`JudgeConfig::containment_keys`]), key → documents. A document
    /// whose shingles hold enough of a stored one's keys
    /// ([`JudgeConfig::holds_enough`]) is a candidate beside LSH's: a fuller
    /// take arriving after its first take, which a Jaccard similarity far
    /// under the threshold hides from the buckets. (The other way round, an
    /// excerpt arriving after its fuller story, would need every stored
    /// shingle indexed: not found by the index.) About 200 bytes a
    /// document.
    keys: HashMap<u32, Vec<u64>>,
    /// How many keys each stored document has.
    key_count: HashMap<u64, usize>,
    /// Whether the keys were chosen with statistics in use; once the
    /// statistics come into use, they are chosen again (before, every
    /// shingle is content, and a site's frame would be every page's keys).
    keyed_with_statistics: bool,
}

impl Templates {
    /// Statistics of no documents yet, for a new index.
    pub(super) fn empty() -> Templates {
        Templates::sized(0)
    }

    /// Statistics sized for a collection of `shingles` shingles.
    fn sized(shingles: usize) -> Templates {
        let sized_for = shingles.saturating_mul(2).max(MIN_SHINGLES);
        Templates {
            df: DocFreq::for_collection(sized_for),
            shingles: 0,
            sized_for,
            keys: HashMap::new(),
            key_count: HashMap::new(),
            keyed_with_statistics: false,
        }
    }

    /// Whether the stored documents' keys must be chosen again ([`Templates::load`]):
    /// they were chosen without statistics, which are in use now.
    pub(super) fn stale_keys(&self, judge: &JudgeConfig) -> bool {
        !self.keyed_with_statistics && judge.statistics(Some(&self.df)).is_some()
    }

    /// A document's containment keys, with the statistics as they are.
    pub(super) fn keys_of(&self, judge: &JudgeConfig, shingles: &[u32]) -> Vec<u32> {
        judge
            .containment_keys(Some(&self.df), &widen(shingles))
            .map(|h| (h >> 32) as u32)
            .collect()
    }

    /// Index stored document `n`'s containment keys.
    pub(super) fn index_keys(&mut self, judge: &JudgeConfig, n: u64, shingles: &[u32]) {
        let keys = self.keys_of(judge, shingles);
        if keys.is_empty() {
            return;
        }
        self.key_count.insert(n, keys.len());
        for k in keys {
            self.keys.entry(k).or_default().push(n);
        }
    }

    /// Containment pairs within a batch (its documents' shingle sets, in
    /// order): `(later, earlier)` where the later one holds enough of the
    /// earlier one's keys, as [`Templates::contained`] finds them among
    /// the stored documents (so a batch answers as its documents one at a
    /// time would).
    pub(super) fn batch_contained(
        &self,
        judge: &JudgeConfig,
        sets: &[&[u32]],
    ) -> Vec<(usize, usize)> {
        let mut keys: HashMap<u32, Vec<usize>> = HashMap::new();
        let mut count = vec![0usize; sets.len()];
        for (i, set) in sets.iter().enumerate() {
            let k = self.keys_of(judge, set);
            count[i] = k.len();
            for key in k {
                keys.entry(key).or_default().push(i);
            }
        }
        let mut pairs = Vec::new();
        for (later, set) in sets.iter().enumerate() {
            let mut held: HashMap<usize, usize> = HashMap::new();
            for s in *set {
                for &earlier in keys.get(s).into_iter().flatten() {
                    if earlier < later {
                        *held.entry(earlier).or_default() += 1;
                    }
                }
            }
            pairs.extend(
                held.into_iter()
                    .filter(|&(e, h)| judge.holds_enough(h, count[e]))
                    .map(|(e, _)| (later, e)),
            );
        }
        pairs.sort_unstable();
        pairs
    }

    /// The stored documents whose keys `shingles` hold enough of (texts
    /// contained in this one), sorted.
    pub(super) fn contained(&self, judge: &JudgeConfig, shingles: &[u32]) -> Vec<u64> {
        let mut held: HashMap<u64, usize> = HashMap::new();
        for s in shingles {
            for &n in self.keys.get(s).into_iter().flatten() {
                *held.entry(n).or_default() += 1;
            }
        }
        let mut out: Vec<u64> = held
            .into_iter()
            .filter(|&(n, h)| judge.holds_enough(h, self.key_count.get(&n).copied().unwrap_or(0)))
            .map(|(n, _)| n)
            .collect();
        out.sort_unstable();
        out
    }

    /// Count one document.
    pub(super) fn add(&mut self, shingles: &[u32], facts: &[u32]) {
        self.df.add_document(&widen(shingles), facts);
        self.shingles += shingles.len();
    }

    /// Whether the collection has outgrown the sketch (and a larger one is
    /// possible): then [`Templates::load`] counts it again.
    pub(super) fn outgrown(&self) -> bool {
        self.shingles > self.sized_for
            && DocFreq::for_collection(self.shingles.saturating_mul(2))
                .parts()
                .0
                .len()
                > self.df.parts().0.len()
    }

    /// The statistics of every document stored in `db` (as a read
    /// transaction sees it), sized for them.
    pub(super) fn load(db: &Database, path: &Path, judge: &JudgeConfig) -> Result<Templates> {
        let tx = db.begin_read().map_err(|e| db_err(path, e))?;
        let docs = tx.open_table(DOCS).map_err(|e| db_err(path, e))?;
        let facts = tx.open_table(FACTS).map_err(|e| db_err(path, e))?;
        // Sized from the stored shingles, counted in a first pass over the
        // records.
        let mut total = 0usize;
        for r in docs.iter().map_err(|e| db_err(path, e))? {
            let (k, v) = r.map_err(|e| db_err(path, e))?;
            let doc: StoredDoc = decode(path, k.value(), v.value())?;
            total += doc.shingles.len();
        }
        let mut templates = Templates::sized(total);
        for r in docs.iter().map_err(|e| db_err(path, e))? {
            let (k, v) = r.map_err(|e| db_err(path, e))?;
            let n = k.value();
            let doc: StoredDoc = decode(path, n, v.value())?;
            let f = match facts.get(n).map_err(|e| db_err(path, e))? {
                Some(raw) => unpack_facts(path, n, raw.value())?,
                None => Vec::new(),
            };
            templates.add(&doc.shingles, &f);
        }
        // The keys, chosen with the statistics of everything stored.
        for r in docs.iter().map_err(|e| db_err(path, e))? {
            let (k, v) = r.map_err(|e| db_err(path, e))?;
            let n = k.value();
            let doc: StoredDoc = decode(path, n, v.value())?;
            templates.index_keys(judge, n, &doc.shingles);
        }
        templates.keyed_with_statistics = judge.statistics(Some(&templates.df)).is_some();
        Ok(templates)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Checked, Index, IndexSpec, NewDoc};
    use crate::fingerprint::Fingerprinter;
    use crate::judge::JudgeConfig;

    /// The site's pages as documents.
    fn pages(site: &crate::synth::Site) -> Vec<NewDoc> {
        site.pages
            .iter()
            .map(|(id, text)| NewDoc {
                id: id.clone(),
                text: text.clone(),
                ..NewDoc::default()
            })
            .collect()
    }

    /// Of the answers (page `i` answered `answers[i]`) from `from` on:
    /// matches between pages of different articles, and copies that found
    /// their article's page.
    fn tally(site: &crate::synth::Site, answers: &[Checked], from: usize) -> (usize, usize) {
        let at = |id: &str| site.pages.iter().position(|(p, _)| p == id);
        let mut mixed = 0;
        let mut found = 0;
        for (i, c) in answers.iter().enumerate().skip(from) {
            let articles: Vec<usize> = c
                .matches
                .iter()
                .filter_map(|m| at(&m.id))
                .map(|j| site.article[j])
                .collect();
            mixed += articles.iter().filter(|&&a| a != site.article[i]).count();
            let copy = site.pages[i].0.starts_with("copy-");
            found += usize::from(copy && articles.contains(&site.article[i]));
        }
        (mixed, found)
    }

    /// Pages of one site, each a different article in one frame, added to
    /// an index that judges stories one at a time, in batches, or all at
    /// once: once the index holds enough documents for statistics, no page
    /// matches another article, and every light edit finds its article's
    /// page; reopened, the statistics are counted again from the stored
    /// documents and queries answer the same. An index judging by plain
    /// Jaccard is fooled by the frame.
    #[test]
    fn a_story_index_learns_a_sites_frame_as_its_pages_arrive() {
        let site = crate::synth::site(120, 20, 5);
        let docs = pages(&site);
        let enough = JudgeConfig::default().min_collection;
        let spec = IndexSpec::new(&Fingerprinter::default(), 0.4, false).expect("spec");
        let story = spec.clone().with_judge(Some(JudgeConfig::default()));
        let dir = tempfile::tempdir().expect("tempdir");
        for batch in [1, 16, docs.len()] {
            let path = dir.path().join(format!("story-{batch}.redb"));
            let index = Index::create(&path, story.clone()).expect("create");
            let mut answers = Vec::new();
            for chunk in docs.chunks(batch) {
                answers.extend(index.add(chunk, None).expect("add"));
            }
            // Judged with statistics: from the first batch that brings the
            // index to `enough` documents.
            let from = (enough.div_ceil(batch) - 1) * batch;
            assert_eq!(tally(&site, &answers, from), (0, 20), "batches of {batch}");
            drop(index);
            let index = Index::open(&path).expect("reopen");
            let copies = &docs[120..];
            let again = index.query(copies, None).expect("query");
            for (k, c) in again.iter().enumerate() {
                let original = format!("page-{}", site.article[120 + k]);
                assert!(
                    c.matches.iter().any(|m| m.id == original),
                    "batches of {batch}, reopened: {} finds {original}",
                    c.id
                );
                for m in &c.matches {
                    let j = docs.iter().position(|d| d.id == m.id).expect("stored");
                    assert_eq!(
                        site.article[j],
                        site.article[120 + k],
                        "{} ~ {}",
                        c.id,
                        m.id
                    );
                }
            }
        }
        let path = dir.path().join("plain.redb");
        let index = Index::create(&path, spec).expect("create");
        let answers = index.add(&docs, None).expect("add");
        assert!(
            tally(&site, &answers, 0).0 > 0,
            "the frame should fool plain Jaccard"
        );
    }

    /// A first take (the opening 300 words of a 3,000-word story) stored
    /// among unrelated stories, then the fuller story: the index finds the
    /// first take through its containment keys (a Jaccard similarity of
    /// 0.1, which the buckets do not propose here: the test fails without
    /// the keys), as `contains`, whether the two arrive in two batches or
    /// in one, and again after reopening (the keys chosen again from the
    /// stored documents); a plain index does not.
    #[test]
    fn a_story_index_finds_a_first_take_when_the_fuller_story_arrives() {
        use crate::dedup::Relation;
        use crate::synth::{Rng, Vocabulary};
        let vocab = Vocabulary::new(20_000, 11);
        let mut rng = Rng::new(8);
        let doc = |id: &str, text: String| NewDoc {
            id: id.into(),
            text,
            ..NewDoc::default()
        };
        let others: Vec<NewDoc> = (0..40)
            .map(|i| {
                doc(
                    &format!("other-{i}"),
                    vocab.document(&mut rng, 200).join(" "),
                )
            })
            .collect();
        let story = vocab.document(&mut rng, 3000);
        let take = doc("first-take", story[..300].join(" "));
        let full = doc("full", story.join(" "));
        let spec = IndexSpec::new(&Fingerprinter::default(), 0.4, false).expect("spec");
        let judged = spec.clone().with_judge(Some(JudgeConfig::default()));
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, spec, together) in [
            ("apart", &judged, false),
            ("together", &judged, true),
            ("plain", &spec, false),
        ] {
            let index = Index::create(&dir.path().join(name), spec.clone()).expect("create");
            index.add(&others, None).expect("add");
            let answer = if together {
                index.add(&[take.clone(), full.clone()], None).expect("add")[1].clone()
            } else {
                index.add(std::slice::from_ref(&take), None).expect("add");
                index.add(std::slice::from_ref(&full), None).expect("add")[0].clone()
            };
            let found: Vec<(&str, Relation)> = answer
                .matches
                .iter()
                .map(|m| (m.id.as_str(), m.relation))
                .collect();
            if name == "plain" {
                assert!(found.is_empty(), "{found:?}");
                continue;
            }
            assert_eq!(found, [("first-take", Relation::Contains)], "{name}");
            drop(index);
            let index = Index::open(&dir.path().join(name)).expect("reopen");
            let again = index
                .query(std::slice::from_ref(&full), None)
                .expect("query");
            let ids: Vec<&str> = again[0].matches.iter().map(|m| m.id.as_str()).collect();
            assert!(ids.contains(&"first-take"), "{name}, reopened: {ids:?}");
        }
    }
}
