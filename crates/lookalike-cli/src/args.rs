//! Command-line flags. Every default here is the library's default; the
//! help text states it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use lookalike::align::AlignConfig;
use lookalike::cluster::KeepPolicy;
use lookalike::compare::CompareConfig;
use lookalike::corpus::{ReadOptions, Utf8Policy};
use lookalike::dedup::{DedupConfig, Verification};
use lookalike::shingle::{ShingleConfig, Unit};
use lookalike::sketch::SketchConfig;

const ABOUT: &str = "Find copies, near-copies and reused passages in document collections.";

const AFTER_HELP: &str = "\
Examples:
  # Group the near-duplicate articles of a directory, one file per article:
  lookalike dedup examples/news --clusters clusters.jsonl

  # Keep one document per group of a JSON Lines corpus:
  lookalike dedup corpus.jsonl.zst -o deduped.jsonl.zst

  # How alike are two files?
  lookalike compare a.txt b.txt

Run `lookalike <command> --help` for each command's flags and defaults.";

/// The `lookalike` command line.
#[derive(Debug, Parser)]
#[command(name = "lookalike", version, about = ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Group near-duplicate documents and keep one of each group.
    #[command(after_help = DEDUP_HELP)]
    Dedup(DedupArgs),
    /// Show how alike two files are: Jaccard (estimated and exact),
    /// containment each way, and the verdict at the threshold.
    #[command(after_help = COMPARE_HELP)]
    Compare(CompareArgs),
    /// Show the passages two files share and where they differ: in the
    /// terminal, as JSON, or as an HTML page with both texts side by side.
    #[command(after_help = ALIGN_HELP)]
    Align(AlignArgs),
    /// Find every pair of documents that share a passage of N words or more,
    /// even when the documents are otherwise different.
    #[command(after_help = REUSE_HELP)]
    Reuse(ReuseArgs),
    /// Measure a grouping (`dedup --clusters`) against the truth: pairwise
    /// precision, recall, F1, adjusted Rand index, and the worst errors.
    #[command(after_help = EVAL_HELP)]
    Eval(EvalArgs),
    /// Sweep thresholds and n-gram sizes against the truth, recommend a
    /// setting, and plot precision and recall against the threshold.
    #[command(after_help = TUNE_HELP)]
    Tune(TuneArgs),
    /// A persistent index in one file: remember documents between runs and
    /// check new ones against everything seen before.
    #[command(after_help = INDEX_HELP)]
    Index(IndexArgs),
    /// Serve an index over HTTP/JSON: add, query, get, remove, align, stats.
    #[command(after_help = SERVE_HELP)]
    Serve(ServeArgs),
}

const SERVE_HELP: &str = "\
The desk: open http://127.0.0.1:7878/ in a browser to check a text, see why it
matches (the aligned view), browse and remove stored documents. Without
--token-file the page is served to this machine only; with one, it asks for
the token. Browsers may call the API only from that page unless --allow-origin
names another origin.

Endpoints (JSON in and out; the full description is GET /openapi.json):
  POST   /v1/documents       {\"documents\": [{\"id\", \"text\", \"source\"?, \"timestamp\"?}],
                              \"window\"?: \"7d\"}  check each, then store the batch
  POST   /v1/query           the same body; stores nothing
  GET    /v1/documents       the newest stored documents (?limit=20&before=N)
  GET    /v1/documents/{id}  a stored document (its text when the index stores texts)
  DELETE /v1/documents/{id}  remove one
  POST   /v1/align           {\"a\": {\"text\" | \"id\"}, \"b\": {...}}  the passages they share
  POST   /v1/compare         the same sides, \"view\"?: true  every figure of `compare`
                              (and the aligned view as HTML)
  GET    /v1/stats           size and settings
  GET    /healthz            liveness (no token needed)

A batch is durable when its response arrives. Errors are JSON:
  {\"error\": {\"code\": \"invalid_request\", \"message\": ..., \"field\": \"documents[2].text\"}}
SIGTERM or Ctrl-C finishes the requests in flight and closes the index cleanly.

Example:
  $ lookalike index create news.redb --store-text
  $ lookalike serve --index news.redb --addr 127.0.0.1:7878 &
  $ curl -s localhost:7878/v1/documents -d '{\"documents\": [{\"id\": \"a\", \"text\": \"...\"}]}'";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The index file (made by `lookalike index create`).
    #[arg(long, value_name = "PATH")]
    pub index: PathBuf,
    /// Address to listen on; port 0 picks a free port (printed on stderr).
    /// Loopback by default: nothing outside this machine can connect.
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "HOST:PORT")]
    pub addr: std::net::SocketAddr,
    /// Require `Authorization: Bearer <token>` on /v1, the token being this
    /// file's content (surrounding white space ignored).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Largest request body, in bytes (413 beyond).
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    pub max_body: usize,
    /// Largest text of one document, in bytes (413 beyond).
    #[arg(long, default_value_t = 8 << 20, value_name = "BYTES")]
    pub max_document: usize,
    /// Most documents in one batch (413 beyond).
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub max_batch: usize,
    /// Longest a request may take, e.g. 60s, 2m (408 beyond).
    #[arg(long, default_value = "60s", value_name = "SPAN", value_parser = lookalike::time::parse_span)]
    pub timeout: i64,
    /// Let web pages of this origin (`https://desk.example.org`) call the
    /// API from a browser (CORS). Repeat for several. By default browsers
    /// may call it only from the service's own page at `/`.
    #[arg(long = "allow-origin", value_name = "ORIGIN", value_parser = parse_origin)]
    pub allow_origins: Vec<String>,
    /// Allow `POST /v1/backup {"name": "F"}`, which copies the index into
    /// DIR/F while the service runs. Default: off.
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
}

/// An origin as browsers send it: scheme, host and maybe a port, no path.
fn parse_origin(s: &str) -> Result<String, String> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| {
            format!("{s:?} is not an origin: write it as https://host or http://host:port")
        })?;
    if rest.is_empty() || rest.contains(['/', '?', '#', ' ']) {
        return Err(format!(
            "{s:?} is not an origin: scheme, host and port only (no path or trailing slash), e.g. https://desk.example.org"
        ));
    }
    Ok(s.to_string())
}

const INDEX_HELP: &str = "\
The index is one file on the embedded database redb (crash-safe: a batch is
stored whole or not at all). Its settings (threshold, n-grams, sketch, seed)
are fixed by `index create`; the other commands use them.

`add` and `query` print one JSON line per document:
  {\"id\": ID, \"matches\": [{\"id\": STORED_ID, \"similarity\": J,
   \"relation\": \"exact\" | \"near\"}], \"stored\": true|false, \"note\": ...}

Example:
  $ lookalike index create news.redb --store-text
  $ lookalike index add news.redb examples/news
  $ lookalike index query news.redb today.jsonl
  $ lookalike dedup today.jsonl --against news.redb -o new.jsonl";

/// Documents to check against an index (`index add`, `index query`).
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The index file.
    pub path: PathBuf,
    /// Files or directories; `-` reads JSON Lines from stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Print nothing on stderr but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// News mode: compare only with stored documents published at most this
    /// long before each new one (by the time field; before now for a new
    /// document without one), e.g. 7d, 36h, 2w. Stored documents without a
    /// timestamp are always compared. Default: compare with everything.
    #[arg(long, value_name = "SPAN", value_parser = lookalike::time::parse_span)]
    pub window: Option<i64>,
    /// JSON field / Parquet column naming where a document came from (stored,
    /// and reported with matches).
    #[arg(long, default_value = "source", value_name = "F")]
    pub source_field: String,
    /// JSON field / Parquet column with the publication time: seconds since
    /// 1970, an RFC 3339 date-time (2013-05-07T09:30:00Z) or a date (2013-05-07).
    #[arg(long, default_value = "timestamp", value_name = "F")]
    pub time_field: String,
    #[command(flatten)]
    pub expect: ExpectArgs,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// Settings a command expects the index to have; given ones must match.
#[derive(Debug, Clone, Args)]
pub struct ExpectArgs {
    /// Fail unless the index was made with this threshold.
    #[arg(long, value_name = "T")]
    pub threshold: Option<f64>,
    /// Fail unless the index was made with this n-gram size.
    #[arg(long, value_name = "N")]
    pub ngram: Option<usize>,
    /// Fail unless the index was made with this sketch size.
    #[arg(long, value_name = "K")]
    pub slots: Option<usize>,
    /// Fail unless the index was made with this seed.
    #[arg(long)]
    pub seed: Option<u64>,
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    #[command(subcommand)]
    pub command: IndexCommand,
}

#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Create an index file with these settings.
    Create {
        /// The index file to create (never overwritten).
        path: PathBuf,
        /// Also store each document's text, so matches can be aligned later.
        #[arg(long)]
        store_text: bool,
        /// How a stored document is judged a match, fixed for the index:
        /// `plain`, Jaccard similarity at --threshold; or `story`, versions
        /// of one story as `dedup --judge story` judges them, with template
        /// statistics learned from the documents stored (used from the 20th
        /// on; the stored documents' times are the --time-field evidence).
        /// Beside the buckets, each stored document's containment keys
        /// find it when a fuller version arrives later; an excerpt arriving
        /// after its fuller story is not found (`dedup --judge story` finds
        /// both).
        #[arg(long, value_enum, default_value_t = JudgeArg::Plain)]
        judge: JudgeArg,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Check documents against the index, then store them.
    Add(CheckArgs),
    /// Check documents against the index; store nothing.
    Query(CheckArgs),
    /// Remove documents by id.
    Remove {
        /// The index file.
        path: PathBuf,
        /// Ids to remove.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Print the index's size and settings as JSON.
    Stats {
        /// The index file.
        path: PathBuf,
    },
    /// Remove documents published before a time (by their timestamp);
    /// documents without one stay.
    Prune {
        /// The index file.
        path: PathBuf,
        /// Remove documents older than this span before now, e.g. 30d.
        #[arg(long, value_name = "SPAN", value_parser = lookalike::time::parse_span, required_unless_present = "before", conflicts_with = "before")]
        older_than: Option<i64>,
        /// Remove documents published before this time (RFC 3339 or a date).
        #[arg(long, value_name = "TIME", value_parser = lookalike::time::parse_timestamp)]
        before: Option<i64>,
    },
    /// Read the whole index and check that its tables agree; exit 1 if not.
    Verify {
        /// The index file.
        path: PathBuf,
    },
    /// Copy the index into a new file, consistent as of one moment. While
    /// `lookalike serve` holds the index, ask the service instead
    /// (`POST /v1/backup`, with `serve --backup-dir`).
    Backup {
        /// The index file.
        path: PathBuf,
        /// The new file (refused if it exists).
        dest: PathBuf,
    },
    /// Copy every document that can still be read and checked from a
    /// damaged index into a new one, and report the rest. The damaged file
    /// is only read. Prints the report as JSON on stdout (`copied`, `lost`:
    /// one line per document left out and why); exits 0 once the new index
    /// is written, whatever was lost.
    Salvage {
        /// The damaged index file.
        path: PathBuf,
        /// The new file (refused if it exists).
        dest: PathBuf,
    },
}

const EVAL_HELP: &str = "\
Truth (JSON Lines), either a clustering of every document:
  {\"id\": \"a.txt\", \"cluster\": 3}
or labelled pairs:
  {\"id1\": \"src\", \"id2\": \"answer\", \"label\": \"cut\"}
Pair labels count as copies except non, none, negative, no, false, 0,
different and unrelated (or list the positive ones with --positive).

Prediction: the --clusters file of `lookalike dedup`; a document in no group
is alone.

Scores are over pairs of documents: precision is the share of pairs grouped
together that belong together, recall the share of pairs that belong together
that were grouped. The adjusted Rand index (clusterings only) is 1 for a
perfect grouping and about 0 for a random one.

Example:
  $ lookalike dedup examples/news --clusters clusters.jsonl
  $ lookalike eval --truth examples/news-truth.jsonl --pred clusters.jsonl --docs examples/news";

const TUNE_HELP: &str = "\
Reads and fingerprints the inputs once per n-gram size, then groups them at
every threshold, scoring each setting as `eval` does. The recommended setting
has the best F1, in the middle of the widest range of thresholds reaching it
(the most room on both sides for data unlike the truth set).

Example:
  $ lookalike tune examples/news --truth examples/news-truth.jsonl --plot tune.svg";

const REUSE_HELP: &str = "\
How it works: each document is reduced to winnowed fingerprints of its word
5-grams (any shared run of 12 equal words is sure to leave one in common); an
index from fingerprint to documents proposes candidate pairs, and each is
aligned as `lookalike align` does. Fingerprints found in more than
--boilerplate-docs documents (a site footer, a licence block) are boilerplate:
they propose nothing and are reported apart.

Output (JSON Lines, one line per pair, to -o or stdout):
  {\"a\": ID, \"b\": ID, \"relation\": \"exact\" | \"near\" | \"contains\" |
   \"contained-in\" | \"shares-passages\", \"jaccard\", \"containment_a_in_b\",
   \"containment_b_in_a\", \"passages\": [{\"a\": SPAN, \"b\": SPAN,
   \"matched_words\", \"edits\"}]}
SPAN as in `lookalike align --help`. A is the document that came first.

Example:
  $ lookalike reuse examples/news -o reuse.jsonl";

const ALIGN_HELP: &str = "\
How it works: both texts are cut into words (normalised as for dedup, with
their places in the original text kept), matched like a word-level diff that
anchors on word 3-grams found once in each text, and the matches grouped into
passages; differences of up to --max-gap words inside a passage are shown as
edits. Everything outside passages is unshared.

Terminal view: `[A only, N words]` and `[B only, N words]` mark text in one
file only; `[shared K, N words]` a passage, with its character offsets; inside
it `[-words of A-]{+words of B+}` mark the edits. Colour when stdout is a
terminal and NO_COLOR is unset.

JSON (--json): {\"a\": {\"path\", \"words\", \"coverage\", \"unshared\": [SPAN]},
 \"b\": {...}, \"passages\": [{\"a\": SPAN, \"b\": SPAN, \"matched_words\": N,
 \"edits\": [{\"a\": SPAN, \"b\": SPAN}]}]}, where SPAN is {\"start\", \"end\"
 (character offsets into the original file), \"byte_start\", \"byte_end\",
 \"words\"}. Coverage is the fraction of a side's words inside passages.

Example:
  $ lookalike align examples/news/river-flood/original.txt examples/news/river-flood/update.txt --html flood.html";

const DEDUP_HELP: &str = "\
Inputs:
  DIRECTORY           every regular file below it is one document; its id is the
                      path relative to the directory. Binary files are skipped.
  *.jsonl, *.ndjson   one JSON object per line (also .gz and .zst); text in
                      --text-field, id in --id-field (the line number if absent).
  *.parquet           one row per document, same two columns.
  -                   JSON Lines on standard input.
  any other file      one document.

How it decides: texts are normalised (norm-v1: Unicode NFKC, case folded, curly
quotes, dashes and spaces folded, line breaks ignored), cut into word 5-grams,
sketched with 128-slot MinHash and bucketed by LSH. Every candidate pair is then
verified on its exact Jaccard similarity; pairs at or above --threshold are
grouped (transitively), and one member per group is kept (--keep).

Outputs:
  --clusters FILE     JSON Lines, one line per group of two or more:
                      {\"cluster\": 0, \"kept\": \"a\", \"members\": [{\"id\": \"a\",
                      \"similarity\": 1.0, \"relation\": \"exact\"}, ...]}
  -o OUT              the kept documents in the form they came in.
  --report FILE.html  a page to look at: figures, histograms, every group with
                      the kept document beside each member.
  stderr              a summary; warnings for skipped input.

Exit codes: 0 success, 1 I/O error, 2 bad command line, 3 invalid input data.

Example (the articles written for this project, in the repository):
  $ lookalike dedup examples/news --clusters clusters.jsonl -o kept/
  lookalike: 39 documents, 27.8 KB in 0.00 s (9.2 MB/s, 12949 documents/s)
  lookalike: 8 groups; removed 18 (2 exact, 16 near duplicates); kept 21
  lookalike: 1 documents have no words: kept, never grouped
  $ head -c 150 clusters.jsonl
  {\"cluster\":0,\"kept\":\"ferry-aground/original.txt\",\"members\":[{\"id\":
  \"ferry-aground/original.txt\",\"similarity\":1.0,\"relation\":\"exact\"},...";

const COMPARE_HELP: &str = "\
Both files are read whole, as one document each, and measured with the same
normalisation and shingles as `dedup`.

Example:
  $ lookalike compare examples/news/river-flood/original.txt examples/news/river-flood/update.txt
  A  examples/news/river-flood/original.txt  (798 bytes, 144 words, 140 distinct 5-gram shingles)
  B  examples/news/river-flood/update.txt  (876 bytes, 158 words, 154 distinct 5-gram shingles)
    Jaccard similarity (exact)      0.523
    ...
  verdict at threshold 0.4: near duplicates";

/// How documents are fingerprinted and compared (shared by all commands).
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// Jaccard similarity of word n-gram sets at or above which two documents
    /// are near duplicates (0 < T <= 1). 0.4 groups reposts and edited
    /// versions of one article (about 0.8 and 0.5) and leaves apart different
    /// articles on the same topic (under 0.05); use 0.7-0.8 for training-corpus
    /// cleaning where only light edits should count.
    #[arg(long, short = 't', default_value_t = DedupConfig::default().threshold, value_name = "T")]
    pub threshold: f64,
    /// Shingle size: units per n-gram.
    #[arg(long, default_value_t = ShingleConfig::default().n, value_name = "N")]
    pub ngram: usize,
    /// Shingle unit: words, or characters for text written without spaces.
    #[arg(long, value_enum, default_value_t = UnitArg::Words)]
    pub unit: UnitArg,
    /// MinHash sketch size (slots per signature).
    #[arg(long, default_value_t = SketchConfig::default().slots, value_name = "K")]
    pub slots: usize,
    /// Seed of all hashes; fingerprints made with different seeds do not compare.
    #[arg(long, default_value_t = ShingleConfig::default().seed)]
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum UnitArg {
    Words,
    Chars,
}

impl EngineArgs {
    pub fn shingle(&self) -> ShingleConfig {
        ShingleConfig {
            unit: match self.unit {
                UnitArg::Words => Unit::Words,
                UnitArg::Chars => Unit::Chars,
            },
            n: self.ngram,
            seed: self.seed,
        }
    }

    pub fn sketch(&self) -> SketchConfig {
        SketchConfig {
            slots: self.slots,
            seed: self.seed,
        }
    }
}

/// How inputs are read.
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    /// JSON field / Parquet column holding the text.
    #[arg(long, default_value = "text", value_name = "F")]
    pub text_field: String,
    /// JSON field / Parquet column holding the id (line or row number when absent).
    #[arg(long, default_value = "id", value_name = "F")]
    pub id_field: String,
    /// Skip malformed records (each is reported) instead of stopping at the first.
    #[arg(long)]
    pub skip_invalid: bool,
    /// What to do with invalid UTF-8: replace bad bytes with U+FFFD and warn,
    /// skip the record or file, or fail.
    #[arg(long, value_enum, default_value_t = Utf8Arg::Replace)]
    pub invalid_utf8: Utf8Arg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Utf8Arg {
    Replace,
    Skip,
    Fail,
}

impl From<Utf8Arg> for Utf8Policy {
    fn from(arg: Utf8Arg) -> Utf8Policy {
        match arg {
            Utf8Arg::Replace => Utf8Policy::Replace,
            Utf8Arg::Skip => Utf8Policy::Skip,
            Utf8Arg::Fail => Utf8Policy::Fail,
        }
    }
}

impl ReadArgs {
    pub fn options(&self) -> ReadOptions {
        ReadOptions {
            text_field: self.text_field.clone(),
            id_field: self.id_field.clone(),
            skip_invalid: self.skip_invalid,
            invalid_utf8: self.invalid_utf8.into(),
            source_field: None,
            time_field: None,
        }
    }
}

/// `--judge`: how candidate pairs are judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JudgeArg {
    /// Jaccard similarity of shingle sets at the threshold.
    Plain,
    /// Same story, not only same template (lookalike::judge).
    Story,
}

#[derive(Debug, Args)]
pub struct DedupArgs {
    /// Files or directories to deduplicate together; `-` reads JSON Lines from stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Write the kept documents here, in the form they came in (a directory for a
    /// directory input or for several inputs). Without it, only the report is written.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Write the groups here as JSON Lines (see below).
    #[arg(long, value_name = "FILE")]
    pub clusters: Option<PathBuf>,
    /// Also remove documents that this index (`lookalike index create`)
    /// already holds: keep only what is new.
    #[arg(long, value_name = "INDEX")]
    pub against: Option<PathBuf>,
    /// Write an HTML report of the run here: figures, histograms, and every
    /// group with the kept document beside each member, shared passages
    /// highlighted (one self-contained page).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Most bytes of document text the report embeds (largest groups first);
    /// groups past it list their members without the side-by-side view.
    #[arg(long, default_value_t = 20_000_000, value_name = "BYTES")]
    pub report_text_budget: u64,
    /// Which member of each group is kept: the first in input order, the
    /// longest or the shortest (ties go to the first).
    #[arg(long, value_enum, default_value_t = KeepArg::First)]
    pub keep: KeepArg,
    /// How candidate pairs are verified: exact Jaccard of shingle sets, or the
    /// signature estimate alone (less memory, estimated similarities).
    #[arg(long, value_enum, default_value_t = VerifyArg::Exact)]
    pub verify: VerifyArg,
    /// Skip LSH buckets with more members than this (boilerplate); the summary counts them.
    #[arg(long, default_value_t = DedupConfig::default().bucket_cap, value_name = "N")]
    pub bucket_cap: usize,
    /// How a candidate pair is judged: `plain`, Jaccard similarity at
    /// --threshold; or `story`, versions of one story (text recurring in 5 or
    /// more documents is template and does not count; the shorter side's
    /// content must be 40% inside the other, its numbers 80% found there,
    /// and with --time-field both within 3 days), which tells a later edit
    /// from the same template with other facts. Spark and Ray apply it too
    /// (`judge="story"`), and so does an index created with `index create
    /// --judge story` (and the service over it).
    #[arg(long, value_enum, default_value_t = JudgeArg::Plain)]
    pub judge: JudgeArg,
    /// With --judge story: the field of each JSON Lines record (or Parquet
    /// column) holding its publication time (seconds since 1970, RFC 3339 or
    /// a date). Default: none.
    #[arg(long, value_name = "F")]
    pub time_field: Option<String>,
    /// Memory for fingerprints (about 1.5 KB for a 100-word document, half
    /// that with --verify signature). Beyond it they move to a temporary
    /// file and the run goes on from disk with the same result, more slowly.
    /// Bytes, or a number with K, M, G or T (powers of 1024).
    #[arg(long, default_value = "8G", value_name = "SIZE", value_parser = parse_size)]
    pub memory: ByteSize,
    /// Where the temporary file of --memory goes (default: the system's
    /// temporary directory, $TMPDIR or /tmp). It is removed at the end.
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
    /// Worker threads; 0 uses every core. The result does not depend on it.
    #[arg(long, short = 'j', default_value_t = 0, value_name = "N")]
    pub threads: usize,
    /// Print the derived LSH bands × rows and the work counters.
    #[arg(long, short)]
    pub verbose: bool,
    /// Print nothing but errors.
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// A size in bytes, as `--memory` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub usize);

/// `123`, `512M`, `8G`, `1.5G`: bytes, or a number times a power of 1024.
pub fn parse_size(s: &str) -> Result<ByteSize, String> {
    let t = s.trim();
    let (number, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&t[..i], t[i..].to_ascii_uppercase()),
        None => (t, String::new()),
    };
    let scale: f64 = match unit.trim_end_matches(['B', 'I']).trim_end_matches('I') {
        "" => 1.0,
        "K" => 1024.0,
        "M" => 1024f64.powi(2),
        "G" => 1024f64.powi(3),
        "T" => 1024f64.powi(4),
        _ => return Err(format!("{s:?}: unknown unit; write e.g. 512M or 8G")),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a size; write e.g. 512M or 8G"))?;
    if !(value.is_finite() && value >= 0.0) {
        return Err(format!("{s:?} is not a size; write e.g. 512M or 8G"));
    }
    Ok(ByteSize((value * scale).min(usize::MAX as f64) as usize))
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeepArg {
    First,
    Longest,
    Shortest,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VerifyArg {
    Exact,
    Signature,
}

impl DedupArgs {
    pub fn config(&self) -> DedupConfig {
        DedupConfig {
            threshold: self.engine.threshold,
            shingle: self.engine.shingle(),
            sketch: self.engine.sketch(),
            keep: match self.keep {
                KeepArg::First => KeepPolicy::First,
                KeepArg::Longest => KeepPolicy::Longest,
                KeepArg::Shortest => KeepPolicy::Shortest,
            },
            verification: match self.verify {
                VerifyArg::Exact => Verification::Exact,
                VerifyArg::Signature => Verification::Signature,
            },
            bucket_cap: self.bucket_cap,
            judge: match self.judge {
                JudgeArg::Plain => None,
                JudgeArg::Story => Some(lookalike::judge::JudgeConfig::default()),
            },
            ..DedupConfig::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The truth (JSON Lines: {id, cluster} or {id1, id2, label}).
    #[arg(long, value_name = "FILE")]
    pub truth: PathBuf,
    /// The prediction: a `dedup --clusters` file.
    #[arg(long, value_name = "FILE")]
    pub pred: PathBuf,
    /// The documents, to show Jaccard similarities beside the errors.
    #[arg(long, value_name = "INPUT", num_args = 1..)]
    pub docs: Vec<PathBuf>,
    /// Pair labels that mean "copy", comma-separated (default: all but the negative ones).
    #[arg(long, value_name = "LABELS")]
    pub positive: Option<String>,
    /// How many of the worst false merges and misses to show.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub errors: usize,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args)]
pub struct TuneArgs {
    /// Files or directories holding the documents of the truth.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// The truth (JSON Lines: {id, cluster} or {id1, id2, label}).
    #[arg(long, value_name = "FILE")]
    pub truth: PathBuf,
    /// Thresholds to try: FROM:TO:STEP or a comma-separated list.
    #[arg(long, default_value = "0.1:0.95:0.05", value_name = "LIST")]
    pub thresholds: String,
    /// N-gram sizes to try, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "3,4,5",
        value_name = "LIST"
    )]
    pub ngrams: Vec<usize>,
    /// Write a plot of precision, recall and F1 against the threshold (SVG).
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Pair labels that mean "copy", comma-separated (default: all but the negative ones).
    #[arg(long, value_name = "LABELS")]
    pub positive: Option<String>,
    /// Print the table as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args)]
pub struct ReuseArgs {
    /// Files or directories to search together; `-` reads JSON Lines from stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Shortest shared passage reported, in matched words (15: about a
    /// sentence; long enough that independent texts on one topic do not
    /// share it, short enough to catch lightly rewritten copies).
    #[arg(long, default_value_t = 15, value_name = "N")]
    pub min_words: usize,
    /// Write the pairs here (JSON Lines) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the boilerplate passages here (JSON Lines: documents, text).
    #[arg(long, value_name = "FILE")]
    pub boilerplate: Option<PathBuf>,
    /// Text found in more documents than this is boilerplate, not reuse.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub boilerplate_docs: usize,
    /// Worker threads; 0 uses every core.
    #[arg(long, short = 'j', default_value_t = 0, value_name = "N")]
    pub threads: usize,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args)]
pub struct AlignArgs {
    /// First file (read whole, as one document).
    pub a: PathBuf,
    /// Second file.
    pub b: PathBuf,
    /// Print the alignment as JSON (schema below).
    #[arg(long, conflicts_with = "show")]
    pub json: bool,
    /// Write a self-contained HTML page with both texts side by side.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// With --html, print the terminal view as well.
    #[arg(long)]
    pub show: bool,
    /// Fewest matched words that make a passage.
    #[arg(long, default_value_t = AlignConfig::default().min_passage_words, value_name = "N")]
    pub min_words: usize,
    /// Most differing words (on each side) that a passage bridges as an edit.
    #[arg(long, default_value_t = AlignConfig::default().max_gap_words, value_name = "N")]
    pub max_gap: usize,
    /// What to do with invalid UTF-8.
    #[arg(long, value_enum, default_value_t = Utf8Arg::Replace)]
    pub invalid_utf8: Utf8Arg,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// First file (read whole, as one document).
    pub a: PathBuf,
    /// Second file.
    pub b: PathBuf,
    /// Print the figures as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Containment (of the smaller document in the larger) from which one
    /// "contains" the other.
    #[arg(long, default_value_t = CompareConfig::default().containment, value_name = "C")]
    pub containment: f64,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// What to do with invalid UTF-8.
    #[arg(long, value_enum, default_value_t = Utf8Arg::Replace)]
    pub invalid_utf8: Utf8Arg,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        let mib = 1024 * 1024;
        assert_eq!(parse_size("123"), Ok(ByteSize(123)));
        assert_eq!(parse_size("512M"), Ok(ByteSize(512 * mib)));
        assert_eq!(parse_size("8G"), Ok(ByteSize(8 * 1024 * mib)));
        assert_eq!(parse_size("8GiB"), Ok(ByteSize(8 * 1024 * mib)));
        assert_eq!(parse_size("1.5g"), Ok(ByteSize(1536 * mib)));
        assert_eq!(parse_size("64kb"), Ok(ByteSize(64 * 1024)));
        for bad in ["lots", "-1G", "8X", "", "G"] {
            assert!(parse_size(bad).is_err(), "{bad:?} should be refused");
        }
    }
    #[test]
    fn origins_are_scheme_host_and_port() {
        for ok in ["https://desk.example.org", "http://127.0.0.1:8080"] {
            assert_eq!(parse_origin(ok).as_deref(), Ok(ok));
        }
        for bad in [
            "desk.example.org",
            "https://",
            "https://desk.example.org/",
            "ftp://x",
            "http://a b",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }
}
