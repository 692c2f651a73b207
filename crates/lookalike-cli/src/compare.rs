//! `lookalike compare A B`: every figure for one pair.

use anyhow::Result;
use lookalike::fingerprint::Fingerprinter;
use lookalike::lsh::LshParams;
use lookalike::verify::overlap;
use serde::Serialize;

use lookalike::align::AlignConfig;
use lookalike::verify::{PairRelation, RelationConfig};

use crate::args::CompareArgs;
use crate::input::read_whole;

#[derive(Serialize)]
struct Side {
    path: String,
    bytes: usize,
    units: usize,
    shingles: usize,
}

#[derive(Serialize)]
struct Report {
    a: Side,
    b: Side,
    jaccard: f64,
    jaccard_estimate: f64,
    containment_a_in_b: f64,
    containment_b_in_a: f64,
    exact_duplicate: bool,
    threshold: f64,
    lsh_bands: usize,
    lsh_rows: usize,
    lsh_candidate_probability: f64,
    relation: PairRelation,
    shared_passages: usize,
    longest_passage_words: usize,
    verdict: &'static str,
}

pub fn run(args: CompareArgs) -> Result<()> {
    let fp = Fingerprinter {
        shingle: args.engine.shingle(),
        sketch: args.engine.sketch(),
    };
    fp.validate()?;
    let threshold = args.engine.threshold;
    let lsh = LshParams::for_threshold(threshold, args.engine.slots, 0.99)?;
    let (ta, tb) = (
        read_whole(&args.a, args.invalid_utf8)?,
        read_whole(&args.b, args.invalid_utf8)?,
    );
    let (fa, fb) = (fp.fingerprint(&ta), fp.fingerprint(&tb));
    let o = overlap(&fa.shingles.hashes, &fb.shingles.hashes);
    let estimate = match (&fa.signature, &fb.signature) {
        (Some(x), Some(y)) => x.jaccard(y),
        _ => 0.0,
    };
    let exact = fa.exact == fb.exact && fa.signature.is_some();
    let alignment = AlignConfig::default().align(&ta, &tb);
    let longest = alignment
        .passages
        .iter()
        .map(|p| p.matched_words)
        .max()
        .unwrap_or(0);
    let relation = RelationConfig {
        threshold,
        containment: args.containment,
    }
    .relate(exact, &o, !alignment.passages.is_empty());
    let verdict = match relation {
        PairRelation::Exact => "exact duplicates",
        PairRelation::Near => "near duplicates",
        PairRelation::Contains => "A contains most of B",
        PairRelation::ContainedIn => "most of A is inside B",
        PairRelation::SharesPassages => "they share passages, not most of either",
        PairRelation::Different => "different",
    };
    let side = |path: &std::path::Path, text: &str, f: &lookalike::fingerprint::Fingerprint| Side {
        path: path.display().to_string(),
        bytes: text.len(),
        units: f.shingles.units,
        shingles: f.shingles.hashes.len(),
    };
    let report = Report {
        a: side(&args.a, &ta, &fa),
        b: side(&args.b, &tb, &fb),
        jaccard: o.jaccard,
        jaccard_estimate: estimate,
        containment_a_in_b: o.a_in_b,
        containment_b_in_a: o.b_in_a,
        exact_duplicate: exact,
        threshold,
        lsh_bands: lsh.bands,
        lsh_rows: lsh.rows,
        lsh_candidate_probability: lsh.probability(o.jaccard),
        relation,
        shared_passages: alignment.passages.len(),
        longest_passage_words: longest,
        verdict,
    };
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
        return Ok(());
    }
    let unit = match args.engine.unit {
        crate::args::UnitArg::Words => "words",
        crate::args::UnitArg::Chars => "chars",
    };
    let n = args.engine.ngram;
    for (label, s) in [("A", &report.a), ("B", &report.b)] {
        writeln!(
            out,
            "{label}  {}  ({} bytes, {} {unit}, {} distinct {n}-gram shingles)",
            s.path, s.bytes, s.units, s.shingles
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "  Jaccard similarity (exact)      {:.3}",
        report.jaccard
    )?;
    writeln!(
        out,
        "  Jaccard similarity (MinHash)    {:.3}   ({} slots)",
        report.jaccard_estimate, args.engine.slots
    )?;
    writeln!(
        out,
        "  containment of A in B           {:.3}",
        report.containment_a_in_b
    )?;
    writeln!(
        out,
        "  containment of B in A           {:.3}",
        report.containment_b_in_a
    )?;
    writeln!(
        out,
        "  LSH candidate probability       {:.3}   ({} bands x {} rows)",
        report.lsh_candidate_probability, lsh.bands, lsh.rows
    )?;
    writeln!(
        out,
        "  shared passages                 {}   (longest {} words; `lookalike align` shows them)",
        report.shared_passages, longest
    )?;
    writeln!(out)?;
    writeln!(out, "verdict at threshold {threshold}: {verdict}")?;
    Ok(())
}
