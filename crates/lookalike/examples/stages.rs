//! Throughput of each fingerprinting stage on one thread, on real text.
//!
//! `cargo run --release -p lookalike --example stages -- CORPUS.jsonl [MB] [REPEAT] [ONLY]`
//! reads the first MB megabytes (default 200) of texts from a JSON Lines file
//! (field `text`) into memory, then times each stage over all of them REPEAT
//! times (default 5) and prints the median in MB/s of input text. ONLY, a
//! word, runs just the stages whose names start with it (for a profiler). `bench/run`
//! records its output in BENCHMARKS.md (the ≥ 1 GB/s per core target).

use std::io::BufRead;
use std::time::Instant;

use lookalike::fingerprint::Fingerprinter;
use lookalike::normalize::normalize;
use lookalike::shingle::ShingleConfig;
use lookalike::sketch::SketchConfig;
use lookalike::tokenize::{for_each_word, words};
use xxhash_rust::xxh3::xxh3_64_with_seed;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .ok_or("usage: stages CORPUS.jsonl [MB] [REPEAT]")?;
    let limit: usize = args.get(1).map_or(Ok(200), |s| s.parse())? * 1_000_000;
    let repeat: usize = args.get(2).map_or(Ok(5), |s| s.parse())?;
    let only = args.get(3).cloned().unwrap_or_default();
    let mut texts = Vec::new();
    let mut bytes = 0;
    for line in std::io::BufReader::new(std::fs::File::open(path)?).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)?;
        let text = v["text"].as_str().unwrap_or_default().to_string();
        bytes += text.len();
        texts.push(text);
        if bytes >= limit {
            break;
        }
    }
    let ascii = texts.iter().filter(|t| t.is_ascii()).count();
    println!(
        "{} documents, {:.0} MB of text, {:.0}% of documents pure ASCII; median of {repeat} runs, 1 thread",
        texts.len(),
        bytes as f64 / 1e6,
        100.0 * ascii as f64 / texts.len().max(1) as f64
    );
    println!("\n| stage | MB/s of input text |\n|---|---|");
    let normalized: Vec<String> = texts.iter().map(|t| normalize(t)).collect();
    let shingler = ShingleConfig::default();
    let sketch = SketchConfig::default();
    let sets: Vec<Vec<u64>> = normalized
        .iter()
        .map(|t| shingler.shingle(t).hashes)
        .collect();
    let fp = Fingerprinter::default();
    let stage = |name: &str, f: &dyn Fn() -> usize| {
        if !name.starts_with(&only) {
            return;
        }
        let mut times: Vec<f64> = (0..repeat)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(f());
                start.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let t = times[times.len() / 2];
        println!("| {name} | {:.0} |", bytes as f64 / 1e6 / t);
    };
    stage("normalise", &|| {
        texts.iter().map(|t| normalize(t).len()).sum()
    });
    stage(
        "tokenise, character by character (normalised text)",
        &|| normalized.iter().map(|t| words(t).count()).sum(),
    );
    stage("tokenise, 64 bytes at a time (normalised text)", &|| {
        let mut n = 0;
        for t in &normalized {
            for_each_word(t, |_| n += 1);
        }
        n
    });
    stage("tokenise and hash words (normalised text)", &|| {
        let mut n = 0u64;
        for t in &normalized {
            for_each_word(t, |w| n ^= xxh3_64_with_seed(w.as_bytes(), 0));
        }
        n as usize
    });
    stage("shingle: hash words, mix, sort (normalised text)", &|| {
        normalized
            .iter()
            .map(|t| shingler.shingle(t).hashes.len())
            .sum()
    });
    stage("sketch (shingle sets)", &|| {
        sets.iter()
            .map(|s| sketch.sketch(s).map_or(0, |g| g.0.len()))
            .sum()
    });
    stage("fingerprint: all of the above", &|| {
        texts
            .iter()
            .map(|t| fp.fingerprint(t).shingles.hashes.len())
            .sum()
    });
    Ok(())
}
