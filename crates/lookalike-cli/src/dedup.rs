//! `lookalike dedup`: read inputs, run the library's pipeline, write the
//! groups, the kept documents and a summary.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use lookalike::Error;
use lookalike::corpus::{ReadOptions, Source};
use lookalike::dedup::{Dedup, DedupOutcome};
use lookalike::output::{self, KeptRecords};
use lookalike::report::RunSummary;
use serde::Serialize;

use crate::args::DedupArgs;
use crate::input;

pub fn run(args: DedupArgs) -> Result<()> {
    input::with_threads(args.threads, || run_in_pool(&args))
}

fn run_in_pool(args: &DedupArgs) -> Result<()> {
    let started = Instant::now();
    let mut dedup = Dedup::new(args.config())?;
    dedup.spill_over(
        args.memory.0,
        args.spill_dir.clone().unwrap_or_else(std::env::temp_dir),
    );
    let (sources, spool) = input::open_sources(&args.inputs)?;
    let targets = match &args.output {
        Some(out) => Some(output::plan(&sources, out)?),
        None => None,
    };
    if args.verbose {
        let lsh = dedup.lsh();
        eprintln!(
            "lookalike: LSH {} bands x {} rows; a pair at the threshold {} becomes a candidate with probability {:.4}",
            lsh.bands,
            lsh.rows,
            args.engine.threshold,
            lsh.probability(args.engine.threshold)
        );
        let spec = lookalike::fingerprint::Fingerprinter {
            shingle: args.engine.shingle(),
            sketch: args.engine.sketch(),
        }
        .spec();
        eprintln!(
            "lookalike: fingerprint spec {}",
            serde_json::to_string(&spec)?
        );
    }

    let mut opts = args.read.options();
    opts.time_field.clone_from(&args.time_field);
    if args.time_field.is_some() && args.judge == crate::args::JudgeArg::Plain && !args.quiet {
        eprintln!(
            "lookalike: note: --time-field is evidence for --judge story only; the plain judgment ignores times"
        );
    }
    let read = input::read_documents(&sources, &opts, args.quiet, |batch| {
        dedup.add_timed_batch(
            batch
                .into_iter()
                .map(|d| (d.id, d.text, d.timestamp))
                .collect(),
        )
    })?;
    let lengths = args.report.as_ref().map(|_| dedup.lengths().to_vec());
    let lsh = dedup.lsh();
    let mut outcome = dedup.finish()?;
    let held = match &args.against {
        Some(index) => against(index, &sources, &opts, &mut outcome)?,
        None => 0,
    };

    if let Some(path) = &args.clusters {
        write_clusters(path, &outcome)?;
    }
    if let Some(targets) = targets {
        let mut kept: Vec<KeptRecords> = vec![Vec::new(); sources.len()];
        for (i, &(source, record)) in read.origins.iter().enumerate() {
            if outcome.kept[i] {
                kept[source as usize].push((record, &outcome.ids[i]));
            }
        }
        for ((source, records), target) in sources.iter().zip(&kept).zip(&targets) {
            output::write_kept(source, records, target)?;
        }
    }
    if let (Some(path), Some(lengths)) = (&args.report, lengths) {
        let texts = report_texts(&sources, &opts, &outcome, &lengths, args.report_text_budget)?;
        let summary = RunSummary {
            command: std::env::args().collect::<Vec<_>>().join(" "),
            bytes: read.bytes,
            seconds: started.elapsed().as_secs_f64(),
            settings: vec![
                (
                    "threshold (Jaccard)".into(),
                    args.engine.threshold.to_string(),
                ),
                (
                    "shingles".into(),
                    format!("{} {:?}", args.engine.ngram, args.engine.unit).to_lowercase(),
                ),
                (
                    "LSH bands x rows".into(),
                    format!("{} x {}", lsh.bands, lsh.rows),
                ),
                ("keep".into(), format!("{:?}", args.keep).to_lowercase()),
            ],
        };
        std::fs::write(path, lookalike::report::html(&outcome, &texts, &summary))
            .map_err(|e| Error::io(path, e))?;
    }
    drop(spool);
    if !args.quiet {
        summary(&outcome, read.bytes, started, args.verbose);
        if let Some(index) = &args.against {
            eprintln!(
                "lookalike: {held} kept documents were already in {}: removed",
                index.display()
            );
        }
        input::print_notice_counts(&read.notices);
    }
    Ok(())
}

#[derive(Serialize)]
struct ClusterLine<'a> {
    cluster: usize,
    kept: &'a str,
    members: Vec<MemberLine<'a>>,
}

#[derive(Serialize)]
struct MemberLine<'a> {
    id: &'a str,
    similarity: f64,
    relation: lookalike::dedup::Relation,
}

fn write_clusters(path: &PathBuf, outcome: &DedupOutcome) -> Result<()> {
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = BufWriter::new(file);
    for (n, g) in outcome.groups.iter().enumerate() {
        let line = ClusterLine {
            cluster: n,
            kept: &outcome.ids[g.kept],
            members: g
                .members
                .iter()
                .map(|m| MemberLine {
                    id: &outcome.ids[m.index],
                    // Four decimals: enough to rank, stable across platforms.
                    similarity: (m.similarity * 10_000.0).round() / 10_000.0,
                    relation: m.relation,
                })
                .collect(),
        };
        serde_json::to_writer(&mut w, &line)?;
        w.write_all(b"\n").map_err(|e| Error::io(path, e))?;
    }
    w.flush().map_err(|e| Error::io(path, e))?;
    Ok(())
}

fn summary(o: &DedupOutcome, bytes: u64, started: Instant, verbose: bool) {
    let s = &o.stats;
    let secs = started.elapsed().as_secs_f64().max(1e-6);
    let removed = s.documents - s.kept;
    eprintln!(
        "lookalike: {} documents, {} in {:.2} s ({}/s, {:.0} documents/s)",
        s.documents,
        input::human_bytes(bytes),
        secs,
        input::human_bytes((bytes as f64 / secs) as u64),
        s.documents as f64 / secs
    );
    eprintln!(
        "lookalike: {} groups; removed {} ({} exact, {} near duplicates); kept {}",
        s.groups, removed, s.exact_duplicates, s.near_duplicates, s.kept
    );
    if s.empty > 0 {
        eprintln!(
            "lookalike: {} documents have no words: kept, never grouped",
            s.empty
        );
    }
    if s.spilled_bytes > 0 {
        eprintln!(
            "lookalike: fingerprints outgrew --memory and were kept on disk ({} MB, removed at the end)",
            s.spilled_bytes / 1_000_000
        );
    }
    if s.capped_buckets > 0 {
        eprintln!(
            "lookalike: {} LSH buckets held more than --bucket-cap documents (boilerplate) and were skipped",
            s.capped_buckets
        );
    }
    match s.template_statistics {
        Some(t) if t.used => eprintln!(
            "lookalike: story judgment: template text learned from {} documents",
            t.documents
        ),
        Some(t) => eprintln!(
            "lookalike: story judgment: {} documents are too few to learn template text from; every shingle counted as content",
            t.documents
        ),
        None => {}
    }
    if verbose {
        eprintln!(
            "lookalike: {} candidate comparisons, {} exact comparisons, {} merges",
            s.candidates, s.exact_comparisons, s.merges
        );
    }
}

/// The texts of grouped documents for the report, largest groups first, until
/// `budget` bytes: read the inputs a second time rather than keep every text
/// in memory through the run.
fn report_texts(
    sources: &[Source],
    opts: &ReadOptions,
    outcome: &DedupOutcome,
    lengths: &[u64],
    budget: u64,
) -> Result<HashMap<usize, String>> {
    let mut order: Vec<&lookalike::dedup::Group> = outcome.groups.iter().collect();
    order.sort_by_key(|g| std::cmp::Reverse(g.members.len()));
    let mut wanted = vec![false; outcome.ids.len()];
    let mut used = 0u64;
    'groups: for g in order {
        for m in &g.members {
            if used + lengths[m.index] > budget {
                break 'groups;
            }
            used += lengths[m.index];
            wanted[m.index] = true;
        }
    }
    let mut texts = HashMap::new();
    input::reread(sources, opts, &wanted, |i, doc| {
        texts.insert(i, doc.text);
    })?;
    Ok(texts)
}

/// Mark as removed the kept documents that `index` already holds; returns
/// how many. Reads the inputs again for their texts, a batch at a time.
fn against(
    index: &std::path::Path,
    sources: &[Source],
    opts: &ReadOptions,
    outcome: &mut DedupOutcome,
) -> Result<usize> {
    // Opened once, before any work, so a missing or mismatched index fails
    // first (and its buckets are loaded once, not for every batch).
    let index = crate::index::open(index)?;
    let mut held = Vec::new();
    let mut failure = None;
    let mut batch: Vec<(usize, String, String)> = Vec::new();
    let mut flush = |batch: &mut Vec<(usize, String, String)>| {
        if batch.is_empty() || failure.is_some() {
            return;
        }
        let positions: Vec<usize> = batch.iter().map(|b| b.0).collect();
        let docs = batch.drain(..).map(|(_, id, text)| (id, text)).collect();
        match crate::index::held_by(&index, docs) {
            Ok(found) => held.extend(
                positions
                    .into_iter()
                    .zip(found)
                    .filter(|(_, (_, m))| m.is_some())
                    .map(|(p, _)| p),
            ),
            Err(e) => failure = Some(e),
        }
    };
    input::reread(sources, opts, &outcome.kept, |i, doc| {
        batch.push((i, doc.id, doc.text));
        if batch.len() >= 2048 {
            flush(&mut batch);
        }
    })?;
    flush(&mut batch);
    if let Some(e) = failure {
        return Err(e);
    }
    for &i in &held {
        outcome.kept[i] = false;
    }
    outcome.stats.kept -= held.len();
    Ok(held.len())
}
