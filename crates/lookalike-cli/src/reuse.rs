//! `lookalike reuse`: every pair of documents sharing a passage of N words.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use anyhow::Result;
use lookalike::Error;
use lookalike::align::Passage;
use lookalike::reuse::ReuseConfig;
use lookalike::verify::PairRelation;
use serde::Serialize;

use crate::args::ReuseArgs;
use crate::input;

#[derive(Serialize)]
struct PairLine<'a> {
    a: &'a str,
    b: &'a str,
    relation: PairRelation,
    jaccard: f64,
    containment_a_in_b: f64,
    containment_b_in_a: f64,
    passages: &'a [Passage],
}

pub fn run(args: ReuseArgs) -> Result<()> {
    input::with_threads(args.threads, || run_in_pool(&args))
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn run_in_pool(args: &ReuseArgs) -> Result<()> {
    let started = Instant::now();
    let (sources, _spool) = input::open_sources(&args.inputs)?;
    let mut docs: Vec<(String, String)> = Vec::new();
    let read = input::read_all(&sources, &args.read.options(), args.quiet, |batch| {
        docs.extend(batch)
    })?;
    let config = ReuseConfig {
        min_words: args.min_words,
        boilerplate_docs: args.boilerplate_docs,
        ..ReuseConfig::default()
    };
    let texts: Vec<&str> = docs.iter().map(|d| d.1.as_str()).collect();
    let outcome = config.find(&texts);

    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).map_err(|e| Error::io(path, e))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    for p in &outcome.pairs {
        let line = PairLine {
            a: &docs[p.a].0,
            b: &docs[p.b].0,
            relation: p.relation,
            jaccard: round(p.jaccard),
            containment_a_in_b: round(p.containment_a_in_b),
            containment_b_in_a: round(p.containment_b_in_a),
            passages: &p.passages,
        };
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    if let Some(path) = &args.boilerplate {
        let mut w = BufWriter::new(File::create(path).map_err(|e| Error::io(path, e))?);
        for b in &outcome.boilerplate {
            serde_json::to_writer(&mut w, b)?;
            w.write_all(b"\n").map_err(|e| Error::io(path, e))?;
        }
        w.flush().map_err(|e| Error::io(path, e))?;
    }
    if !args.quiet {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "lookalike: {} documents, {} in {:.2} s; {} candidate pairs aligned, {} pairs share a passage of {}+ words",
            docs.len(),
            input::human_bytes(read.bytes),
            secs,
            outcome.candidates,
            outcome.pairs.len(),
            args.min_words
        );
        if !outcome.boilerplate.is_empty() {
            eprintln!(
                "lookalike: {} boilerplate passages (in more than {} documents each) set aside{}",
                outcome.boilerplate.len(),
                args.boilerplate_docs,
                if args.boilerplate.is_some() {
                    ""
                } else {
                    "; --boilerplate FILE lists them"
                }
            );
            for b in outcome.boilerplate.iter().take(3) {
                let snippet: String = b.text.chars().take(70).collect();
                eprintln!("lookalike:   {} documents: {snippet:?}", b.documents);
            }
        }
        input::print_notice_counts(&read.notices);
    }
    Ok(())
}
