//! Micro-benchmarks of each stage of the engine, on synthetic text from
//! [`lookalike::synth`] (English-like word frequencies, planted copies).
//!
//! `cargo bench -p lookalike --bench stages` times them; CI only compiles
//! and runs each once (`cargo test --benches`), so no test depends on the
//! speed of a shared machine. Throughputs are per byte of input text, per
//! shingle or per pair, as each group says.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

use lookalike::cluster::UnionFind;
use lookalike::lsh::LshParams;
use lookalike::normalize::normalize;
use lookalike::shingle::{ShingleConfig, sort_hashes};
use lookalike::sketch::SketchConfig;
use lookalike::synth::{CorpusConfig, generate};
use lookalike::tokenize::{for_each_word, for_each_word_portable, words};
use lookalike::verify::jaccard;

/// About 4 MB of text in 10,000 documents, with some capitals, line breaks
/// and curly quotes so normalisation has work to do.
fn corpus() -> Vec<String> {
    let c = generate(&CorpusConfig {
        originals: 7_000,
        ..Default::default()
    });
    c.docs
        .into_iter()
        .enumerate()
        .map(|(i, (_, t))| match i % 4 {
            0 => t.replacen(' ', "\n", 8),
            1 => format!("\u{201C}{t}\u{201D}"),
            2 => t.to_uppercase(),
            _ => t,
        })
        .collect()
}

fn bytes(texts: &[String]) -> u64 {
    texts.iter().map(|t| t.len() as u64).sum()
}

fn text_stages(c: &mut Criterion) {
    let texts = corpus();
    let normalized: Vec<String> = texts.iter().map(|t| normalize(t)).collect();
    let mut g = c.benchmark_group("text");
    g.throughput(Throughput::Bytes(bytes(&texts)));
    g.bench_function("normalise", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|t| normalize(black_box(t)).len())
                .sum::<usize>()
        })
    });
    g.throughput(Throughput::Bytes(bytes(&normalized)));
    g.bench_function("tokenise/char_by_char", |b| {
        b.iter(|| {
            normalized
                .iter()
                .map(|t| words(black_box(t)).count())
                .sum::<usize>()
        })
    });
    g.bench_function("tokenise/blocks_portable", |b| {
        b.iter(|| {
            let mut n = 0;
            for t in &normalized {
                for_each_word_portable(black_box(t), |_| n += 1);
            }
            n
        })
    });
    g.bench_function("tokenise/blocks_dispatched", |b| {
        b.iter(|| {
            let mut n = 0;
            for t in &normalized {
                for_each_word(black_box(t), |_| n += 1);
            }
            n
        })
    });
    let shingler = ShingleConfig::default();
    g.bench_function("shingle", |b| {
        b.iter(|| {
            normalized
                .iter()
                .map(|t| shingler.shingle(black_box(t)).hashes.len())
                .sum::<usize>()
        })
    });
    g.finish();
}

fn set_stages(c: &mut Criterion) {
    let texts = corpus();
    let shingler = ShingleConfig::default();
    let sets: Vec<Vec<u64>> = texts
        .iter()
        .map(|t| shingler.shingle(&normalize(t)).hashes)
        .collect();
    let shingles: u64 = sets.iter().map(|s| s.len() as u64).sum();
    let mut g = c.benchmark_group("sets");
    g.throughput(Throughput::Elements(shingles));
    let (mut out, mut counts) = (Vec::new(), Vec::new());
    g.bench_function("sort/buckets", |b| {
        b.iter(|| {
            for s in &sets {
                sort_hashes(black_box(s), &mut out, &mut counts);
            }
        })
    });
    g.bench_function("sort/sort_unstable", |b| {
        b.iter_batched_ref(
            || sets.clone(),
            |sets| sets.iter_mut().for_each(|s| s.sort_unstable()),
            BatchSize::LargeInput,
        )
    });
    let sketch = SketchConfig::default();
    g.bench_function("sketch", |b| {
        b.iter(|| {
            sets.iter()
                .filter_map(|s| sketch.sketch(black_box(s)))
                .count()
        })
    });
    // Pairs of neighbours: a mix of unrelated documents and planted copies.
    g.throughput(Throughput::Elements(
        sets.windows(2)
            .map(|w| (w[0].len() + w[1].len()) as u64)
            .sum(),
    ));
    g.bench_function("verify/jaccard", |b| {
        b.iter(|| {
            sets.windows(2)
                .map(|w| jaccard(black_box(&w[0]), black_box(&w[1])))
                .sum::<f64>()
        })
    });
    g.finish();

    let signatures: Vec<_> = sets.iter().filter_map(|s| sketch.sketch(s)).collect();
    let lsh = LshParams { bands: 21, rows: 6 };
    let mut g = c.benchmark_group("bucket");
    g.throughput(Throughput::Elements((signatures.len() * lsh.bands) as u64));
    g.bench_function("band_keys_and_sort", |b| {
        b.iter(|| {
            let mut keys = Vec::with_capacity(signatures.len());
            for band in 0..lsh.bands {
                keys.clear();
                keys.extend(
                    signatures
                        .iter()
                        .enumerate()
                        .map(|(i, s)| (lsh.band_key(s, band), i as u32)),
                );
                keys.sort_unstable();
            }
            keys.len()
        })
    });
    g.finish();
}

fn union_find(c: &mut Criterion) {
    // A million random unions over a million elements, then the groups.
    let n = 1_000_000;
    let mut rng = lookalike::synth::Rng::new(7);
    let edges: Vec<(usize, usize)> = (0..n)
        .map(|_| (rng.below(n as u64) as usize, rng.below(n as u64) as usize))
        .collect();
    let mut g = c.benchmark_group("cluster");
    g.throughput(Throughput::Elements(edges.len() as u64));
    g.bench_function("union_find", |b| {
        b.iter(|| {
            let mut uf = UnionFind::new(n);
            for &(a, b) in &edges {
                uf.union(a, b);
            }
            uf.groups().len()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = text_stages, set_stages, union_find
}
criterion_main!(benches);
