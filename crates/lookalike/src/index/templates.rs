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
//! Size: two counters per shingle, sized for four times the shingles
//! counted when the statistics were last built (at least
//! [`MIN_SHINGLES`]), at most [`crate::judge::TEMPLATE_MEMORY`]. When the
//! collection outgrows that, the statistics are counted again from the
//! stored documents at the new size: each document is counted a constant
//! number of times on average over the life of the index.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable};

use super::errors::{db_err, decode};
use super::format::{DOCS, FACTS, StoredDoc, unpack_facts};
use crate::error::Result;
use crate::judge::DocFreq;

/// Fewest shingles the statistics are sized for: 4 MiB of counters, so a
/// young index does not count itself again every few batches.
pub(super) const MIN_SHINGLES: usize = 1 << 21;

/// A short shingle ([`super::short_shingles`]) as the judgment hashes it:
/// the top 32 bits of the original hash, in place, so sorted sets stay
/// sorted and the sketch's partitions (by top bits) are the same.
pub(super) fn widen(shingles: &[u32]) -> Vec<u64> {
    shingles.iter().map(|&s| u64::from(s) << 32).collect()
}

/// The statistics and what they were sized for.
pub(super) struct Templates {
    /// Document frequencies of shingles and facts.
    pub(super) df: DocFreq,
    /// Shingles counted so far (with repeats across documents).
    shingles: usize,
    /// Shingles the sketch was sized for; past it, it is rebuilt larger.
    sized_for: usize,
}

impl Templates {
    /// Statistics of no documents yet, for a new index.
    pub(super) fn empty() -> Templates {
        Templates::sized(0)
    }

    /// Statistics sized for a collection of `shingles` shingles.
    fn sized(shingles: usize) -> Templates {
        let sized_for = shingles.saturating_mul(4).max(MIN_SHINGLES);
        Templates {
            df: DocFreq::for_collection(sized_for),
            shingles: 0,
            sized_for,
        }
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
            && DocFreq::for_collection(self.shingles.saturating_mul(4))
                .parts()
                .0
                .len()
                > self.df.parts().0.len()
    }

    /// The statistics of every document stored in `db` (as a read
    /// transaction sees it), sized for them.
    pub(super) fn load(db: &Database, path: &Path) -> Result<Templates> {
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
}
