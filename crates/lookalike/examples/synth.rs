//! Write a synthetic corpus with planted near duplicates as JSON Lines, for
//! the scaling figures in BENCHMARKS.md (`bench/scale`).
//!
//! `cargo run --release -p lookalike --example synth -- DOCS OUT.jsonl [TRUTH.jsonl]`
//! writes about DOCS documents of 40 to 160 words (a Zipf vocabulary of
//! 50,000 pseudo-words; 30% of originals get one or two copies edited at
//! 0-15%) to OUT.jsonl, and the planted pairs to TRUTH.jsonl with their
//! exact Jaccard similarity on word 5-grams, measured on the texts (the
//! generator's edit rate only says what it meant to do). The corpus is
//! made in slices of 100,000 originals with their own seeds, so memory stays
//! small at any size and every slice is reproducible.

use std::io::Write;

use lookalike::fingerprint::Fingerprinter;
use lookalike::synth::{CorpusConfig, generate};
use lookalike::verify::jaccard;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: synth DOCS OUT.jsonl [TRUTH.jsonl]";
    let docs: usize = args.first().ok_or(usage)?.parse()?;
    let out = args.get(1).ok_or(usage)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    let mut truth = match args.get(2) {
        Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => None,
    };
    const SLICE: usize = 100_000;
    let mut written = 0usize;
    let mut slice = 0u64;
    while written < docs {
        // About 1.45 documents per original (30% copied, 1.5 copies each).
        let originals = SLICE.min((docs - written) * 100 / 145 + 1);
        let corpus = generate(&CorpusConfig {
            originals,
            words: (40, 160),
            vocabulary: 50_000,
            seed: 1 + slice,
            ..Default::default()
        });
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
            let fp = Fingerprinter::default();
            for &(a, b, rate) in &corpus.planted {
                if base + a.max(b) < written {
                    let (fa, fb) = (
                        fp.fingerprint(&corpus.docs[a].1),
                        fp.fingerprint(&corpus.docs[b].1),
                    );
                    let line = serde_json::json!({
                        "id1": format!("s{}", base + a),
                        "id2": format!("s{}", base + b),
                        "edit_rate": rate,
                        "jaccard": jaccard(&fa.shingles.hashes, &fb.shingles.hashes),
                    });
                    writeln!(t, "{line}")?;
                }
            }
        }
        slice += 1;
    }
    w.flush()?;
    if let Some(mut t) = truth {
        t.flush()?;
    }
    eprintln!("wrote {written} documents to {out}");
    Ok(())
}
