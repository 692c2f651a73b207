//! Synthetic corpora with planted near duplicates, for tests and benchmarks.
//!
//! Words are drawn from a Zipf distribution over a fixed vocabulary of
//! pronounceable pseudo-words, so shingle statistics resemble prose: a few
//! very frequent words, a long tail, and 5-grams that are almost all unique.
//! Each planted copy is its original with a chosen fraction of word positions
//! edited (substituted, deleted or followed by an inserted word), which spreads
//! the copies' Jaccard similarities over the whole range. The true similarity
//! of any pair is for the caller to measure: a test must not trust the
//! generator's intent, only what the texts contain.
//!
//! Everything is a pure function of the seed.

use crate::shingle::fmix64;

/// A deterministic random source (SplitMix64): tiny, fast, good enough to
/// generate text, and with no dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        fmix64(self.0)
    }

    /// A uniform number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A vocabulary with Zipf-distributed word frequencies.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    words: Vec<String>,
    /// Cumulative weights, for sampling by binary search.
    cumulative: Vec<f64>,
}

impl Vocabulary {
    /// `size` distinct pseudo-words with Zipf exponent 1.
    pub fn new(size: usize, seed: u64) -> Vocabulary {
        const ONSETS: [&str; 16] = [
            "b", "c", "d", "f", "g", "h", "l", "m", "n", "p", "r", "s", "t", "v", "w", "st",
        ];
        const VOWELS: [&str; 6] = ["a", "e", "i", "o", "u", "ea"];
        let mut rng = Rng::new(seed);
        let mut seen = std::collections::HashSet::new();
        let mut words = Vec::with_capacity(size);
        while words.len() < size.max(1) {
            let syllables = 1 + rng.below(3) + (words.len() > 200) as u64;
            let mut w = String::new();
            for _ in 0..syllables {
                w.push_str(ONSETS[rng.below(16) as usize]);
                w.push_str(VOWELS[rng.below(6) as usize]);
            }
            if rng.below(2) == 0 {
                w.push_str(ONSETS[rng.below(15) as usize]);
            }
            if seen.insert(w.clone()) {
                words.push(w);
            }
        }
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        Vocabulary { words, cumulative }
    }

    /// One word, drawn by frequency.
    pub fn sample<'a>(&'a self, rng: &mut Rng) -> &'a str {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = rng.unit() * total;
        let i = self.cumulative.partition_point(|&c| c < x);
        &self.words[i.min(self.words.len() - 1)]
    }

    /// A document of `len` words with sentence punctuation.
    pub fn document(&self, rng: &mut Rng, len: usize) -> Vec<String> {
        let mut out = Vec::with_capacity(len);
        let mut sentence = 0;
        for _ in 0..len {
            let mut w = self.sample(rng).to_string();
            if sentence == 0 {
                // Capitalise the first word of a sentence.
                let mut c = w.chars();
                if let Some(f) = c.next() {
                    w = f.to_uppercase().chain(c).collect();
                }
            }
            sentence += 1;
            if sentence > 8 && rng.below(6) == 0 {
                w.push('.');
                sentence = 0;
            }
            out.push(w);
        }
        out
    }

    /// A copy of `words` with about `rate` of its positions edited.
    pub fn edit(&self, rng: &mut Rng, words: &[String], rate: f64) -> Vec<String> {
        let mut out = Vec::with_capacity(words.len() + 8);
        for w in words {
            if rng.unit() >= rate {
                out.push(w.clone());
                continue;
            }
            match rng.below(3) {
                0 => out.push(self.sample(rng).to_string()),
                1 => {}
                _ => {
                    out.push(w.clone());
                    out.push(self.sample(rng).to_string());
                }
            }
        }
        out
    }
}

/// A synthetic corpus: documents `(id, text)` and the planted copies.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    /// Documents in order, ids `d0`, `d1`, ...
    pub docs: Vec<(String, String)>,
    /// `(original, copy)` positions of every planted copy, with its edit rate.
    pub planted: Vec<(usize, usize, f64)>,
}

/// Settings of [`generate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CorpusConfig {
    /// Number of original documents. Default: 1,000.
    pub originals: usize,
    /// Words per original: uniform in this range. Default: 80..400.
    pub words: (usize, usize),
    /// Fraction of originals that get copies. Default: 0.3.
    pub copied_fraction: f64,
    /// Copies per copied original: uniform in 1..=this. Default: 2.
    pub max_copies: usize,
    /// Edit rate of a copy: uniform in this range. Default: 0.0..0.15.
    pub edit_rate: (f64, f64),
    /// Vocabulary size. Default: 20,000.
    pub vocabulary: usize,
    /// Seed. Default: 1.
    pub seed: u64,
}

impl Default for CorpusConfig {
    fn default() -> Self {
        CorpusConfig {
            originals: 1000,
            words: (80, 400),
            copied_fraction: 0.3,
            max_copies: 2,
            edit_rate: (0.0, 0.15),
            vocabulary: 20_000,
            seed: 1,
        }
    }
}

/// Generate a corpus; copies are shuffled among the originals.
pub fn generate(config: &CorpusConfig) -> Corpus {
    let mut rng = Rng::new(config.seed);
    let vocab = Vocabulary::new(config.vocabulary, config.seed ^ 0x5EED);
    let mut texts: Vec<Vec<String>> = Vec::new();
    let mut planted = Vec::new();
    for _ in 0..config.originals {
        let span = (config.words.1.saturating_sub(config.words.0)).max(1) as u64;
        let len = config.words.0 + rng.below(span) as usize;
        let original = vocab.document(&mut rng, len);
        let at = texts.len();
        texts.push(original);
        if rng.unit() < config.copied_fraction {
            let copies = 1 + rng.below(config.max_copies.max(1) as u64) as usize;
            for _ in 0..copies {
                let rate =
                    config.edit_rate.0 + rng.unit() * (config.edit_rate.1 - config.edit_rate.0);
                let copy = vocab.edit(&mut rng, &texts[at], rate);
                planted.push((at, texts.len(), rate));
                texts.push(copy);
            }
        }
    }
    // Shuffle (Fisher–Yates) so copies do not sit next to their originals.
    let n = texts.len();
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    let mut position = vec![0; n];
    for (new, &old) in order.iter().enumerate() {
        position[old] = new;
    }
    let docs = order
        .iter()
        .enumerate()
        .map(|(new, &old)| (format!("d{new}"), texts[old].join(" ")))
        .collect();
    let planted = planted
        .into_iter()
        .map(|(a, b, r)| (position[a], position[b], r))
        .collect();
    Corpus { docs, planted }
}

/// A generated web site: every page a different article of 60 to 140
/// words inside one frame (a 60-word header, a dated byline, a "most read"
/// box of six of sixteen headlines, a 120-word footer: the frame is most
/// of each page), followed by light edits (3% of the words) of some of the
/// articles in the same frame.
#[derive(Debug, Clone)]
pub struct Site {
    /// `(id, text)` of every page: the articles' pages, then the copies.
    pub pages: Vec<(String, String)>,
    /// The article each page carries: a page's own position for the
    /// articles, the original's for the copies.
    pub article: Vec<usize>,
}

/// A site of `articles` pages and `copies` edited copies (of articles
/// 0, 7, 14, ... in turn), a pure function of `seed`.
pub fn site(articles: usize, copies: usize, seed: u64) -> Site {
    let vocab = Vocabulary::new(5000, seed ^ 0x517E);
    let mut rng = Rng::new(seed);
    let header = vocab.document(&mut rng, 60).join(" ");
    let footer = vocab.document(&mut rng, 120).join(" ");
    let boxes: Vec<String> = (0..16)
        .map(|_| vocab.document(&mut rng, 8).join(" "))
        .collect();
    let page = |rng: &mut Rng, body: &[String]| {
        let day = 1 + rng.below(28);
        let most_read: Vec<&str> = (0..6)
            .map(|_| boxes[rng.below(16) as usize].as_str())
            .collect();
        format!(
            "{header}\nPublished {day} March 2026\n{}\nMost read: {}\n{footer}",
            body.join(" "),
            most_read.join(" | ")
        )
    };
    let mut pages = Vec::new();
    let mut article = Vec::new();
    let mut bodies = Vec::new();
    for i in 0..articles {
        let len = 60 + rng.below(80) as usize;
        let body = vocab.document(&mut rng, len);
        pages.push((format!("page-{i}"), page(&mut rng, &body)));
        article.push(i);
        bodies.push(body);
    }
    // Copies need an article to copy.
    let copies = if articles == 0 { 0 } else { copies };
    for k in 0..copies {
        let i = (k * 7) % articles;
        let edited = vocab.edit(&mut rng, &bodies[i], 0.03);
        pages.push((format!("copy-{k}"), page(&mut rng, &edited)));
        article.push(i);
    }
    Site { pages, article }
}
