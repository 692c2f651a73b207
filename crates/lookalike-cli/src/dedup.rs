//! `lookalike dedup`: read inputs, run the library's pipeline, write the
//! groups, the kept documents and a summary.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use lookalike::corpus::{self, Compression, Document, Notice, Sink, Source, SourceKind};
use lookalike::dedup::{Dedup, DedupOutcome};
use lookalike::output::{self, KeptRecords};
use lookalike::{Error, Place, Record};
use serde::Serialize;

use crate::args::DedupArgs;

/// Fingerprint in batches of this many bytes of text, so memory holds one
/// batch of texts at a time while all cores work on it.
const BATCH_BYTES: usize = 32 << 20;
/// ... or this many documents, whichever comes first.
const BATCH_DOCS: usize = 8192;
/// Print at most this many notices of each run; count the rest.
const MAX_NOTICES: usize = 20;

pub fn run(args: DedupArgs) -> Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
        .context("cannot start worker threads")?;
    pool.install(|| run_in_pool(&args))
}

fn run_in_pool(args: &DedupArgs) -> Result<()> {
    let started = Instant::now();
    let mut dedup = Dedup::new(args.config())?;
    // Standard input is spooled to a temporary file, so that `-o` can copy the
    // kept lines byte for byte without holding the stream in memory.
    let mut spool = None;
    let mut sources = Vec::new();
    for input in &args.inputs {
        if input == Path::new("-") {
            if spool.is_some() {
                return Err(
                    Error::Config("`-` (standard input) may be given only once".into()).into(),
                );
            }
            let mut tmp = tempfile::NamedTempFile::new()
                .context("cannot create a temporary file for standard input")?;
            std::io::copy(&mut std::io::stdin().lock(), tmp.as_file_mut())
                .context("cannot read standard input")?;
            sources.push(Source {
                path: tmp.path().to_path_buf(),
                display: "<stdin>".into(),
                kind: SourceKind::JsonLines(Compression::None),
            });
            spool = Some(tmp);
        } else {
            sources.push(Source::open(input)?);
        }
    }
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

    let progress = if std::io::stderr().is_terminal() && !args.quiet {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Some(bar)
    } else {
        None
    };

    let mut reader = Reader {
        dedup: &mut dedup,
        batch: Vec::new(),
        batch_bytes: 0,
        bytes: 0,
        source: 0,
        origins: Vec::new(),
        ids: HashMap::new(),
        sources: &sources,
        notices: HashMap::new(),
        quiet: args.quiet,
        progress: progress.as_ref(),
        error: None,
    };
    let opts = args.read.options();
    for (i, source) in sources.iter().enumerate() {
        reader.source = i;
        corpus::read_source(source, &opts, &mut reader)?;
        if let Some(e) = reader.error.take() {
            return Err(e.into());
        }
    }
    reader.flush();
    let Reader {
        bytes,
        origins,
        notices,
        ..
    } = reader;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let outcome = dedup.finish();

    if let Some(path) = &args.clusters {
        write_clusters(path, &outcome)?;
    }
    if let Some(targets) = targets {
        let mut kept: Vec<KeptRecords> = vec![Vec::new(); sources.len()];
        for (i, &(source, record)) in origins.iter().enumerate() {
            if outcome.kept[i] {
                kept[source as usize].push((record, outcome.ids[i].clone()));
            }
        }
        for ((source, records), target) in sources.iter().zip(&kept).zip(&targets) {
            output::write_kept(source, records, target)?;
        }
    }
    drop(spool);
    if !args.quiet {
        summary(&outcome, bytes, started, &notices, args.verbose);
    }
    Ok(())
}

struct Reader<'a> {
    dedup: &'a mut Dedup,
    batch: Vec<(String, String)>,
    batch_bytes: usize,
    bytes: u64,
    source: usize,
    /// For each document in input order: (source index, record).
    origins: Vec<(u32, u64)>,
    /// Every id seen, with the document's position, to refuse duplicates.
    ids: HashMap<String, usize>,
    sources: &'a [Source],
    /// Notices by kind: how many, and whether printing stopped.
    notices: HashMap<&'static str, usize>,
    quiet: bool,
    progress: Option<&'a ProgressBar>,
    error: Option<Error>,
}

impl Reader<'_> {
    fn flush(&mut self) {
        if !self.batch.is_empty() {
            self.dedup.add_batch(std::mem::take(&mut self.batch));
            self.batch_bytes = 0;
        }
        if let Some(bar) = self.progress {
            bar.set_message(format!(
                "{} documents, {}",
                self.origins.len(),
                human_bytes(self.bytes)
            ));
        }
    }

    fn place_of(&self, index: usize) -> Place {
        let (source, record) = self.origins[index];
        let s = &self.sources[source as usize];
        Place {
            path: s.display.clone(),
            record: match s.kind {
                SourceKind::JsonLines(_) => Some(Record::Line(record)),
                SourceKind::Parquet => Some(Record::Row(record)),
                _ => None,
            },
        }
    }
}

impl Sink for Reader<'_> {
    fn document(&mut self, doc: Document) -> lookalike::Result<()> {
        let index = self.origins.len();
        self.origins.push((self.source as u32, doc.record));
        if let Some(&first) = self.ids.get(&doc.id) {
            return Err(Error::DuplicateId {
                id: doc.id,
                first: self.place_of(first),
                second: self.place_of(index),
            });
        }
        self.ids.insert(doc.id.clone(), index);
        self.bytes += doc.text.len() as u64;
        self.batch_bytes += doc.text.len();
        self.batch.push((doc.id, doc.text));
        if self.batch_bytes >= BATCH_BYTES || self.batch.len() >= BATCH_DOCS {
            self.flush();
        }
        Ok(())
    }

    fn notice(&mut self, notice: Notice) {
        let kind = match &notice {
            Notice::Binary(_) => "binary files skipped",
            Notice::Utf8Replaced(_) => "records with invalid UTF-8 replaced",
            Notice::Skipped(..) => "invalid records skipped",
            Notice::NotAFile(_) => "non-regular files skipped",
        };
        let count = self.notices.entry(kind).or_insert(0);
        *count += 1;
        if !self.quiet && *count <= MAX_NOTICES {
            let line = format!("lookalike: warning: {notice}");
            match self.progress {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
    }
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

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn summary(
    o: &DedupOutcome,
    bytes: u64,
    started: Instant,
    notices: &HashMap<&str, usize>,
    verbose: bool,
) {
    let s = &o.stats;
    let secs = started.elapsed().as_secs_f64().max(1e-6);
    let removed = s.documents - s.kept;
    eprintln!(
        "lookalike: {} documents, {} in {:.2} s ({}/s, {:.0} documents/s)",
        s.documents,
        human_bytes(bytes),
        secs,
        human_bytes((bytes as f64 / secs) as u64),
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
    if s.capped_buckets > 0 {
        eprintln!(
            "lookalike: {} LSH buckets held more than --bucket-cap documents (boilerplate) and were skipped",
            s.capped_buckets
        );
    }
    let mut kinds: Vec<_> = notices.iter().collect();
    kinds.sort();
    for (kind, n) in kinds {
        eprintln!("lookalike: {n} {kind}");
    }
    if verbose {
        eprintln!(
            "lookalike: {} candidate comparisons, {} exact comparisons, {} merges",
            s.candidates, s.exact_comparisons, s.merges
        );
    }
}
