//! Write a synthetic corpus with planted near duplicates as JSON Lines, for
//! the scaling figures in BENCHMARKS.md (`bench/scale`).
//!
//! `cargo run --release -p lookalike --example synth -- DOCS OUT.jsonl[.zst] [TRUTH.jsonl]`
//! writes about DOCS documents of 40 to 160 words (a Zipf vocabulary of
//! 50,000 pseudo-words; 30% of originals get one or two copies edited at
//! 0-15%) to OUT.jsonl, and the planted pairs to TRUTH.jsonl with their
//! exact Jaccard similarity on word 5-grams, measured on the texts (the
//! generator's edit rate only says what it meant to do). The corpus is
//! made in slices of 100,000 originals with their own seeds, on all threads,
//! so memory stays small at any size and every slice is reproducible. An
//! OUT ending in `.zst` is compressed (a 100 M document corpus would not fit
//! on our disk otherwise).

use std::io::Write;

use lookalike::fingerprint::Fingerprinter;
use lookalike::synth::{Corpus, CorpusConfig, generate};
use lookalike::verify::jaccard;
use rayon::prelude::*;

/// Originals per slice; each slice has its own seed.
const SLICE: usize = 100_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: synth DOCS OUT.jsonl[.zst] [TRUTH.jsonl]";
    let docs: usize = args.first().ok_or(usage)?.parse()?;
    let out = args.get(1).ok_or(usage)?;
    let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    let mut w: Box<dyn Write> = if out.ends_with(".zst") {
        Box::new(zstd::Encoder::new(file, 3)?.auto_finish())
    } else {
        Box::new(file)
    };
    let mut truth = match args.get(2) {
        Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => None,
    };
    let mut written = 0usize;
    let mut slice = 0u64;
    // Slices are made on all threads, a few at a time, and written in
    // order: the output is the same with any number of threads.
    let batch = rayon::current_num_threads().max(1) as u64;
    while written < docs {
        let made: Vec<(Corpus, Vec<f64>)> = (slice..slice + batch)
            .into_par_iter()
            .map(|s| make_slice(s, docs))
            .collect();
        for (corpus, jaccards) in made {
            if written == docs {
                break;
            }
            let base = written;
            for (i, (_, text)) in corpus.docs.iter().enumerate() {
                if written == docs {
                    break;
                }
                let line = serde_json::json!({ "id": format!("s{}", base + i), "text": text });
                writeln!(w, "{line}")?;
                written += 1;
            }
            if let Some(t) = truth.as_mut() {
                for (&(a, b, rate), similarity) in corpus.planted.iter().zip(&jaccards) {
                    if base + a.max(b) < written {
                        let line = serde_json::json!({
                            "id1": format!("s{}", base + a),
                            "id2": format!("s{}", base + b),
                            "edit_rate": rate,
                            "jaccard": similarity,
                        });
                        writeln!(t, "{line}")?;
                    }
                }
            }
        }
        slice += batch;
    }
    w.flush()?;
    drop(w);
    if let Some(mut t) = truth {
        t.flush()?;
    }
    eprintln!("wrote {written} documents to {out}");
    Ok(())
}

/// Slice `s` of the corpus and the Jaccard similarity of each planted pair,
/// measured on the texts. Every slice but a small corpus's only one makes
/// 100,000 originals; what the last one makes beyond DOCS is not written.
fn make_slice(s: u64, docs: usize) -> (Corpus, Vec<f64>) {
    // About 1.45 documents per original (30% copied, 1.5 copies each).
    let originals = SLICE.min(docs * 100 / 145 + 1);
    let corpus = generate(&CorpusConfig {
        originals,
        words: (40, 160),
        vocabulary: 50_000,
        seed: 1 + s,
        ..Default::default()
    });
    let fp = Fingerprinter::default();
    let jaccards = corpus
        .planted
        .iter()
        .map(|&(a, b, _)| {
            let (fa, fb) = (
                fp.fingerprint(&corpus.docs[a].1),
                fp.fingerprint(&corpus.docs[b].1),
            );
            jaccard(&fa.shingles.hashes, &fb.shingles.hashes)
        })
        .collect();
    (corpus, jaccards)
}
