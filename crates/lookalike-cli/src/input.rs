//! Reading inputs: whole corpora in batches (`dedup`, `reuse`), or one file
//! as one document (`compare`, `align`).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use lookalike::corpus::{
    self, Compression, Document, Notice, ReadOptions, Sink, Source, SourceKind,
};
use lookalike::{Error, Place, Record};

use crate::args::Utf8Arg;

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

/// The text of `path`, read whole whatever its name says.
pub fn read_whole(path: &std::path::Path, utf8: Utf8Arg) -> Result<String> {
    let opts = ReadOptions {
        invalid_utf8: utf8.into(),
        ..ReadOptions::default()
    };
    let mut source = Source::open(path)?;
    if source.kind == SourceKind::Directory {
        anyhow::bail!(
            "{}: is a directory; this command takes two files",
            source.display
        );
    }
    source.kind = SourceKind::Text;
    let mut one = One(None);
    corpus::read_source(&source, &opts, &mut one)?;
    Ok(one.0.map(|d| d.text).unwrap_or_default())
}

/// Fingerprint in batches of this many bytes of text, so memory holds one
/// batch of texts at a time while all cores work on it.
const BATCH_BYTES: usize = 32 << 20;
/// ... or this many documents, whichever comes first.
const BATCH_DOCS: usize = 8192;
/// Print at most this many notices of each kind; count the rest.
const MAX_NOTICES: usize = 20;

/// Run `f` on a pool of `threads` workers (0: one per core).
pub fn with_threads<T: Send>(threads: usize, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start worker threads")?;
    pool.install(f)
}

/// Describe each input; `-` (standard input) is spooled to a temporary file,
/// so that `-o` can copy the kept lines byte for byte without holding the
/// stream in memory. Keep the returned file alive while the sources are used.
pub fn open_sources(inputs: &[PathBuf]) -> Result<(Vec<Source>, Option<tempfile::NamedTempFile>)> {
    let mut spool = None;
    let mut sources = Vec::new();
    for input in inputs {
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
    Ok((sources, spool))
}

/// What reading all inputs produced, besides the documents.
pub struct ReadSummary {
    /// Bytes of text read.
    pub bytes: u64,
    /// For each document in input order: (source index, record).
    pub origins: Vec<(u32, u64)>,
    /// Notices by kind, counted.
    pub notices: HashMap<&'static str, usize>,
}

/// Tried and not kept: reading on a thread of its own, a batch ahead of
/// fingerprinting (`bash bench/run`, 2026-11-22: 1 thread 17.0 -> 16.0 s,
/// 2 threads 11.3 -> 11.6 s, +90 MB peak). Grouping, which is sequential, is
/// what keeps 2 threads from scaling; see BENCHMARKS.md.
///
/// Read every source in order, refusing duplicate ids, and hand documents
/// `(id, text)` to `on_batch` in batches. Notices are printed as they come
/// (at most a few of each kind) unless `quiet`; a progress line shows on a
/// terminal.
pub fn read_all(
    sources: &[Source],
    opts: &ReadOptions,
    quiet: bool,
    mut on_batch: impl FnMut(Vec<(String, String)>),
) -> Result<ReadSummary> {
    read_documents(sources, opts, quiet, |batch| {
        on_batch(batch.into_iter().map(|d| (d.id, d.text)).collect())
    })
}

/// [`read_all`], handing over whole [`Document`]s (with their metadata).
pub fn read_documents(
    sources: &[Source],
    opts: &ReadOptions,
    quiet: bool,
    on_batch: impl FnMut(Vec<Document>),
) -> Result<ReadSummary> {
    let progress = if std::io::stderr().is_terminal() && !quiet {
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
        on_batch,
        batch: Vec::new(),
        batch_bytes: 0,
        bytes: 0,
        source: 0,
        origins: Vec::new(),
        ids: HashMap::with_hasher(xxhash_rust::xxh3::Xxh3Builder::new()),
        sources,
        notices: HashMap::new(),
        quiet,
        progress: progress.as_ref(),
    };
    for (i, source) in sources.iter().enumerate() {
        reader.source = i;
        corpus::read_source(source, opts, &mut reader)?;
    }
    reader.flush();
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    Ok(ReadSummary {
        bytes: reader.bytes,
        origins: reader.origins,
        notices: reader.notices,
    })
}

/// Read the sources again, in the same order as [`read_all`], and hand each
/// document whose input position is marked in `wanted` to `f`. Notices were
/// reported on the first reading and are not repeated.
pub fn reread(
    sources: &[Source],
    opts: &ReadOptions,
    wanted: &[bool],
    f: impl FnMut(usize, Document),
) -> Result<()> {
    struct Pick<'a, F> {
        wanted: &'a [bool],
        next: usize,
        f: F,
    }
    impl<F: FnMut(usize, Document)> Sink for Pick<'_, F> {
        fn document(&mut self, doc: Document) -> lookalike::Result<()> {
            if self.wanted.get(self.next).copied().unwrap_or(false) {
                (self.f)(self.next, doc);
            }
            self.next += 1;
            Ok(())
        }
        fn notice(&mut self, _: Notice) {}
    }
    let mut pick = Pick { wanted, next: 0, f };
    for s in sources {
        corpus::read_source(s, opts, &mut pick)?;
    }
    Ok(())
}

/// One summary line per kind of notice.
pub fn print_notice_counts(notices: &HashMap<&str, usize>) {
    let mut kinds: Vec<_> = notices.iter().collect();
    kinds.sort();
    for (kind, n) in kinds {
        eprintln!("lookalike: {n} {kind}");
    }
}

struct Reader<'a, F> {
    on_batch: F,
    batch: Vec<Document>,
    batch_bytes: usize,
    bytes: u64,
    source: usize,
    /// For each document in input order: (source index, record).
    origins: Vec<(u32, u64)>,
    /// Every id seen, to refuse duplicates: 64 bits of the id's xxh3-128
    /// hash as the key, 32 more bits and the document's position as the
    /// value. Sixteen bytes an entry (plus the table's slack) instead of a
    /// second copy of every id, which matters at 100 million documents; two
    /// different ids agree on 96 hash bits with probability about
    /// n² / 2⁹⁷, 10⁻¹³ for a hundred million documents.
    ids: HashMap<u64, (u32, u32), xxhash_rust::xxh3::Xxh3Builder>,
    sources: &'a [Source],
    /// Notices by kind: how many, and whether printing stopped.
    notices: HashMap<&'static str, usize>,
    quiet: bool,
    progress: Option<&'a ProgressBar>,
}

impl<F: FnMut(Vec<Document>)> Reader<'_, F> {
    fn flush(&mut self) {
        if !self.batch.is_empty() {
            (self.on_batch)(std::mem::take(&mut self.batch));
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

    /// Where document `index` came from; `id` names the file in a directory.
    fn place_of(&self, index: usize, id: &str) -> Place {
        let (source, record) = self.origins[index];
        let s = &self.sources[source as usize];
        Place {
            path: match s.kind {
                SourceKind::Directory => format!("{}/{id}", s.display.trim_end_matches('/')),
                _ => s.display.clone(),
            },
            record: match s.kind {
                SourceKind::JsonLines(_) => Some(Record::Line(record)),
                SourceKind::Parquet => Some(Record::Row(record)),
                _ => None,
            },
        }
    }
}

impl<F: FnMut(Vec<Document>)> Sink for Reader<'_, F> {
    fn document(&mut self, doc: Document) -> lookalike::Result<()> {
        let index = self.origins.len();
        self.origins.push((self.source as u32, doc.record));
        let hash = xxhash_rust::xxh3::xxh3_128(doc.id.as_bytes());
        let (key, check) = (hash as u64, (hash >> 64) as u32);
        let position = u32::try_from(index).map_err(|_| {
            Error::Config(format!(
                "more than {} documents in one run: split the input",
                u32::MAX
            ))
        })?;
        match self.ids.get(&key) {
            Some(&(seen, first)) if seen == check => {
                return Err(Error::DuplicateId {
                    first: self.place_of(first as usize, &doc.id),
                    second: self.place_of(index, &doc.id),
                    id: doc.id,
                });
            }
            // A different id with the same 64-bit key (about n² / 2⁶⁵
            // times a run: 3 × 10⁻⁴ at 100 million documents) is not a
            // duplicate. Only the first is remembered, so a later duplicate
            // of this second id would go unnoticed.
            Some(_) => {}
            None => {
                self.ids.insert(key, (check, position));
            }
        }
        self.bytes += doc.text.len() as u64;
        self.batch_bytes += doc.text.len();
        self.batch.push(doc);
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

pub fn human_bytes(b: u64) -> String {
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
