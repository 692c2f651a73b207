//! `lookalike index ...`: a persistent index that remembers documents between
//! runs, and `dedup --against`.

use std::io::{BufWriter, Write};

use anyhow::Result;
use lookalike::fingerprint::Fingerprinter;
use lookalike::index::{CheckOptions, ExpectedSpec, Index, IndexSpec, NewDoc};

use crate::args::{CheckArgs, IndexArgs, IndexCommand, JudgeArg};
use crate::input;

/// Documents per transaction: large batches commit faster (redb fsyncs once
/// per commit) and an interrupted run loses at most the batch in flight.
const BATCH: usize = 2048;

pub fn run(args: IndexArgs) -> Result<()> {
    match args.command {
        IndexCommand::Create {
            path,
            engine,
            store_text,
            judge,
        } => {
            let fp = Fingerprinter {
                shingle: engine.shingle(),
                sketch: engine.sketch(),
            };
            let story = judge == JudgeArg::Story;
            let spec = IndexSpec::new(&fp, engine.threshold, store_text)?
                .with_judge(story.then(lookalike::judge::JudgeConfig::default));
            let index = Index::create(&path, spec)?;
            let lsh = index.spec().lsh;
            eprintln!(
                "lookalike: created {} (threshold {}, {}-{} shingles, {} bands x {} rows{}{})",
                path.display(),
                engine.threshold,
                engine.ngram,
                format!("{:?}", engine.unit).to_lowercase(),
                lsh.bands,
                lsh.rows,
                if store_text { ", texts stored" } else { "" },
                if story { ", judging stories" } else { "" }
            );
            Ok(())
        }
        IndexCommand::Add(c) => check(&c, true),
        IndexCommand::Query(c) => check(&c, false),
        IndexCommand::Remove { path, ids } => {
            let index = open(&path)?;
            let removed = index.remove(&ids)?;
            for (id, r) in ids.iter().zip(&removed) {
                if !r {
                    eprintln!("lookalike: warning: {id:?} is not in the index");
                }
            }
            eprintln!(
                "lookalike: removed {} of {} ids",
                removed.iter().filter(|r| **r).count(),
                ids.len()
            );
            Ok(())
        }
        IndexCommand::Prune {
            path,
            older_than,
            before,
        } => {
            let now = jiff::Timestamp::now().as_second();
            let cutoff = match (before, older_than) {
                (Some(t), _) => t,
                (None, Some(span)) => now.saturating_sub(span),
                (None, None) => anyhow::bail!("give --older-than SPAN or --before TIME"),
            };
            let index = open(&path)?;
            let removed = index.prune(cutoff)?;
            let cutoff_text = jiff::Timestamp::from_second(cutoff)
                .map(|t| t.to_string())
                .unwrap_or_else(|_| cutoff.to_string());
            eprintln!(
                "lookalike: removed {removed} documents published before {cutoff_text}; {} remain",
                index.stats()?.documents
            );
            Ok(())
        }
        IndexCommand::Verify { path } => {
            let index = open(&path)?;
            let problems = index.verify()?;
            for p in problems.iter().take(50) {
                eprintln!("lookalike: {}: {p}", path.display());
            }
            if !problems.is_empty() {
                return Err(lookalike::Error::index(
                    path,
                    lookalike::IndexProblem::Damaged,
                    format!(
                        "{} inconsistencies; rebuild the index from its inputs",
                        problems.len()
                    ),
                )
                .into());
            }
            eprintln!(
                "lookalike: {}: consistent ({} documents)",
                path.display(),
                index.stats()?.documents
            );
            Ok(())
        }
        IndexCommand::Backup { path, dest } => {
            // A backup leaves the file as it is: an old format is refused,
            // not upgraded first.
            let documents = Index::open_unchanged(&path)?.backup(&dest)?;
            eprintln!(
                "lookalike: copied {documents} documents of {} into {}",
                path.display(),
                dest.display()
            );
            Ok(())
        }
        IndexCommand::Salvage { path, dest } => {
            // redb may panic on a damaged page; salvage guards every read
            // and counts the entry as lost, so the panic's message would
            // only alarm.
            let hook = std::panic::take_hook();
            std::panic::set_hook(Box::new(|_| {}));
            let salvaged = lookalike::index::Index::salvage(&path, &dest);
            std::panic::set_hook(hook);
            let salvaged = salvaged.map_err(|e| match e.index_problem() {
                // Its message says what to do; the usual remedy for damage
                // (salvage) has just been tried.
                Some(lookalike::IndexProblem::Damaged) => anyhow::anyhow!("{e}"),
                _ => e.into(),
            })?;
            for line in salvaged.lost.iter().take(50) {
                eprintln!("lookalike: {}: {line}", path.display());
            }
            if salvaged.lost.len() > 50 {
                eprintln!("lookalike: ... and {} more", salvaged.lost.len() - 50);
            }
            eprintln!(
                "lookalike: copied {} documents of {} into {} ({} problems listed; checked {})",
                salvaged.copied,
                path.display(),
                dest.display(),
                salvaged.lost.len(),
                if salvaged.checked_by_text {
                    "against their stored texts"
                } else {
                    "by their records' structure: the index stores no texts"
                }
            );
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &salvaged)?;
            writeln!(out)?;
            Ok(())
        }
        IndexCommand::Stats { path } => {
            let stats = open(&path)?.stats()?;
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &stats)?;
            writeln!(out)?;
            Ok(())
        }
    }
}

/// Open an index, telling the user when that upgraded the file in place
/// (older builds of lookalike cannot read it afterwards).
pub fn open(path: &std::path::Path) -> Result<Index> {
    open_expecting(path, &ExpectedSpec::default())
}

/// [`open`], refusing an index made with settings other than `expected`
/// (before an old format is upgraded).
pub fn open_expecting(path: &std::path::Path, expected: &ExpectedSpec) -> Result<Index> {
    let index = Index::open_expecting(path, expected)?;
    if let Some(old) = index.upgraded_from() {
        eprintln!(
            "lookalike: upgraded {} from index format {old} to {}; older versions of lookalike cannot read it now",
            path.display(),
            lookalike::index::FORMAT_VERSION
        );
    }
    Ok(index)
}

/// Add (or only look up) every document of `inputs`, printing one JSON line
/// per document: its id, the stored documents it duplicates, whether it was stored.
fn check(args: &CheckArgs, store: bool) -> Result<()> {
    let CheckArgs {
        path,
        inputs,
        read,
        expect,
        quiet,
        window,
        source_field,
        time_field,
    } = args;
    let quiet = *quiet;
    let opts = CheckOptions {
        store,
        window: *window,
    };
    let read = lookalike::corpus::ReadOptions {
        source_field: Some(source_field.clone()),
        time_field: Some(time_field.clone()),
        ..read.options()
    };
    let index = open_expecting(
        path,
        &ExpectedSpec {
            threshold: expect.threshold,
            ngram: expect.ngram,
            slots: expect.slots,
            seed: expect.seed,
            ..ExpectedSpec::default()
        },
    )?;
    let (sources, _spool) = input::open_sources(inputs)?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    let (mut n, mut dups, mut stored) = (0usize, 0usize, 0usize);
    let mut pending: Vec<NewDoc> = Vec::new();
    let mut failure = None;
    let mut flush =
        |pending: &mut Vec<NewDoc>, out: &mut BufWriter<std::io::StdoutLock>| -> Result<()> {
            for c in index.check_batch(pending, &opts)? {
                n += 1;
                dups += !c.matches.is_empty() as usize;
                stored += c.stored as usize;
                serde_json::to_writer(&mut *out, &c)?;
                out.write_all(b"\n")?;
            }
            pending.clear();
            Ok(())
        };
    input::read_documents(&sources, &read, quiet, |batch| {
        for d in batch {
            pending.push(NewDoc {
                id: d.id,
                text: d.text,
                source: d.source,
                timestamp: d.timestamp,
            });
            if pending.len() >= BATCH && failure.is_none() {
                if let Err(e) = flush(&mut pending, &mut out) {
                    failure = Some(e);
                }
            }
        }
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    flush(&mut pending, &mut out)?;
    out.flush()?;
    if !quiet {
        eprintln!(
            "lookalike: {n} documents checked against {}: {dups} duplicate a stored document{}",
            path.display(),
            if store {
                format!("; {stored} stored")
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

/// For `dedup --against`: which documents (by id) the index already holds.
pub fn held_by(
    index: &Index,
    docs: Vec<(String, String)>,
) -> Result<Vec<(String, Option<String>)>> {
    let new: Vec<NewDoc> = docs
        .into_iter()
        .map(|(id, text)| NewDoc {
            id,
            text,
            ..Default::default()
        })
        .collect();
    Ok(index
        .check_batch(&new, &CheckOptions::default())?
        .into_iter()
        .map(|c| (c.id, c.matches.into_iter().next().map(|m| m.id)))
        .collect())
}
