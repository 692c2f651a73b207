//! `lookalike compare A B`: every figure for one pair.

use anyhow::Result;
use lookalike::corpus::{self, Document, Notice, ReadOptions, Sink, Source, SourceKind};
use lookalike::fingerprint::Fingerprinter;
use lookalike::lsh::LshParams;
use lookalike::verify::overlap;
use serde::Serialize;

use crate::args::{CompareArgs, Utf8Arg};

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
    verdict: &'static str,
}

struct One(Option<Document>);

impl Sink for One {
    fn document(&mut self, doc: Document) -> lookalike::Result<()> {
        self.0 = Some(doc);
        Ok(())
    }
    fn notice(&mut self, notice: Notice) {
        eprintln!("lookalike: warning: {notice}");
    }
}

fn read_whole(path: &std::path::Path, opts: &ReadOptions) -> Result<String> {
    let mut source = Source::open(path)?;
    if source.kind == SourceKind::Directory {
        anyhow::bail!(
            "{}: is a directory; compare takes two files",
            source.display
        );
    }
    source.kind = SourceKind::Text;
    let mut one = One(None);
    corpus::read_source(&source, opts, &mut one)?;
    Ok(one.0.map(|d| d.text).unwrap_or_default())
}

pub fn run(args: CompareArgs) -> Result<()> {
    let opts = ReadOptions {
        invalid_utf8: match args.invalid_utf8 {
            Utf8Arg::Replace => lookalike::corpus::Utf8Policy::Replace,
            Utf8Arg::Skip => lookalike::corpus::Utf8Policy::Skip,
            Utf8Arg::Fail => lookalike::corpus::Utf8Policy::Fail,
        },
        ..ReadOptions::default()
    };
    let fp = Fingerprinter {
        shingle: args.engine.shingle(),
        sketch: args.engine.sketch(),
    };
    fp.validate()?;
    let threshold = args.engine.threshold;
    let lsh = LshParams::for_threshold(threshold, args.engine.slots, 0.99)?;
    let (ta, tb) = (read_whole(&args.a, &opts)?, read_whole(&args.b, &opts)?);
    let (fa, fb) = (fp.fingerprint(&ta), fp.fingerprint(&tb));
    let o = overlap(&fa.shingles.hashes, &fb.shingles.hashes);
    let estimate = match (&fa.signature, &fb.signature) {
        (Some(x), Some(y)) => x.jaccard(y),
        _ => 0.0,
    };
    let exact = fa.exact == fb.exact && fa.signature.is_some();
    let verdict = if exact {
        "exact duplicates"
    } else if fa.signature.is_none() || fb.signature.is_none() {
        "not comparable (a document has no words)"
    } else if o.jaccard >= threshold {
        "near duplicates"
    } else {
        "different"
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
    writeln!(out)?;
    writeln!(out, "verdict at threshold {threshold}: {verdict}")?;
    Ok(())
}
