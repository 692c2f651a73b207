//! Reading documents from directories, JSON Lines and Parquet.
//!
//! | input | one document is | id |
//! |---|---|---|
//! | a directory | every regular file below it | the path relative to the directory, `/`-separated |
//! | `*.jsonl`, `*.ndjson` (also `.gz`, `.zst`) | one JSON object per line | field `id_field`; the line number when absent |
//! | `*.parquet` | one row | column `id_field`; the row number when absent |
//! | any other file | the whole file | the path as given |
//!
//! Policies (all documented on [`ReadOptions`]):
//! - a malformed record is an error naming the file and line, unless
//!   `skip_invalid` is set: then it is skipped and reported as a [`Notice`];
//! - invalid UTF-8 is replaced by U+FFFD and reported, or skipped, or an
//!   error ([`Utf8Policy`]);
//! - a file in a directory that holds a NUL byte in its first 8 KiB is binary:
//!   skipped with a notice;
//! - blank lines in JSON Lines are ignored.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Place, Record, Result};

/// What to do with bytes that are not valid UTF-8.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Utf8Policy {
    /// Replace each invalid sequence with U+FFFD and report the place (default):
    /// one bad byte should not cost a whole document.
    #[default]
    Replace,
    /// Skip the record (or file) and report it.
    Skip,
    /// Stop with an error naming the place.
    Fail,
}

/// How inputs are read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadOptions {
    /// Field (JSON) or column (Parquet) holding the text. Default: `text`.
    pub text_field: String,
    /// Field or column holding the id. Default: `id`; when a record has none,
    /// its line number (JSON Lines, from 1) or row number (Parquet, from 0).
    pub id_field: String,
    /// Skip malformed records, reporting each, instead of stopping at the
    /// first. Default: false.
    pub skip_invalid: bool,
    /// What to do with invalid UTF-8. Default: [`Utf8Policy::Replace`].
    pub invalid_utf8: Utf8Policy,
    /// Field or column naming where a document came from, read into
    /// [`Document::source`] when set. Default: none (not read).
    pub source_field: Option<String>,
    /// Field or column holding when a document was published, read into
    /// [`Document::timestamp`] when set: seconds since the Unix epoch, or an
    /// RFC 3339 date-time (`2013-05-07T09:30:00Z`), or a date (`2013-05-07`,
    /// midnight UTC). Default: none (not read).
    pub time_field: Option<String>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            text_field: "text".into(),
            id_field: "id".into(),
            skip_invalid: false,
            invalid_utf8: Utf8Policy::Replace,
            source_field: None,
            time_field: None,
        }
    }
}

/// Compression of a JSON Lines file, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain text.
    None,
    /// gzip (`.gz`).
    Gzip,
    /// Zstandard (`.zst`).
    Zstd,
}

impl Compression {
    /// The compression a file name announces.
    pub fn from_path(path: &Path) -> Compression {
        match path.extension().and_then(|e| e.to_str()) {
            Some("gz") => Compression::Gzip,
            Some("zst") | Some("zstd") => Compression::Zstd,
            _ => Compression::None,
        }
    }
}

/// The kind of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A directory: one document per regular file.
    Directory,
    /// JSON Lines: one document per line.
    JsonLines(Compression),
    /// Parquet: one document per row.
    Parquet,
    /// Any other file: one document.
    Text,
}

/// One input as named by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The path to read.
    pub path: PathBuf,
    /// How the user should see it named in messages (`<stdin>` for standard
    /// input spooled to a temporary file).
    pub display: String,
    /// What it holds.
    pub kind: SourceKind,
}

impl Source {
    /// Describe the input at `path`, by whether it is a directory and by its
    /// file name (`.jsonl`/`.ndjson` with optional `.gz`/`.zst`, `.parquet`).
    pub fn open(path: &Path) -> Result<Source> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        let kind = if meta.is_dir() {
            SourceKind::Directory
        } else {
            Self::kind_from_name(path)
        };
        Ok(Source {
            path: path.to_path_buf(),
            display: path.display().to_string(),
            kind,
        })
    }

    /// The kind a file name announces (never [`SourceKind::Directory`]).
    pub fn kind_from_name(path: &Path) -> SourceKind {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let stem = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".zst"))
            .or_else(|| name.strip_suffix(".zstd"))
            .unwrap_or(&name);
        if stem.ends_with(".jsonl") || stem.ends_with(".ndjson") {
            SourceKind::JsonLines(Compression::from_path(path))
        } else if name.ends_with(".parquet") {
            SourceKind::Parquet
        } else {
            SourceKind::Text
        }
    }
}

/// One document read from a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Its id.
    pub id: String,
    /// Its text.
    pub text: String,
    /// Which record of the source it is: the line number for JSON Lines, the
    /// row for Parquet, 0 for directories and single files (their id names
    /// the file).
    pub record: u64,
    /// Where it came from, when [`ReadOptions::source_field`] is set and the
    /// record has it.
    pub source: Option<String>,
    /// When it was published (seconds since the Unix epoch), when
    /// [`ReadOptions::time_field`] is set and the record has it.
    pub timestamp: Option<i64>,
}

/// Something worth telling the user that did not stop the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A file in a directory looked binary and was skipped.
    Binary(Place),
    /// Invalid UTF-8 was replaced with U+FFFD.
    Utf8Replaced(Place),
    /// A record was skipped, and why.
    Skipped(Place, String),
    /// A directory entry was not a regular file (a link, a socket) and was skipped.
    NotAFile(Place),
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::Binary(p) => write!(f, "{p}: looks binary (NUL byte), skipped"),
            Notice::Utf8Replaced(p) => {
                write!(
                    f,
                    "{p}: invalid UTF-8 replaced with U+FFFD (use --invalid-utf8 skip|fail to change)"
                )
            }
            Notice::Skipped(p, why) => write!(f, "{p}: skipped: {why}"),
            Notice::NotAFile(p) => {
                write!(f, "{p}: not a regular file (link or special file), skipped")
            }
        }
    }
}

/// Receives what a source yields.
pub trait Sink {
    /// One document; an error stops reading.
    fn document(&mut self, doc: Document) -> Result<()>;
    /// A notice.
    fn notice(&mut self, notice: Notice);
}

/// Read every document of `source`, in a deterministic order (directories
/// sorted by path).
pub fn read_source(source: &Source, opts: &ReadOptions, sink: &mut dyn Sink) -> Result<()> {
    match source.kind {
        SourceKind::Directory => read_directory(source, opts, sink),
        SourceKind::JsonLines(c) => {
            let file = File::open(&source.path).map_err(|e| Error::io(&source.path, e))?;
            let reader: Box<dyn Read> = match c {
                Compression::None => Box::new(file),
                Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(file)),
                Compression::Zstd => Box::new(
                    zstd::stream::read::Decoder::new(file)
                        .map_err(|e| Error::io(&source.path, e))?,
                ),
            };
            read_json_lines(
                &source.display,
                BufReader::with_capacity(1 << 20, reader),
                opts,
                sink,
            )
        }
        #[cfg(feature = "parquet")]
        SourceKind::Parquet => crate::output::parquet_io::read(source, opts, sink),
        #[cfg(not(feature = "parquet"))]
        SourceKind::Parquet => Err(Error::Config(format!(
            "{}: this build has no Parquet support (feature `parquet`)",
            source.display
        ))),
        SourceKind::Text => {
            let bytes = std::fs::read(&source.path).map_err(|e| Error::io(&source.path, e))?;
            let place = Place {
                path: source.display.clone(),
                record: None,
            };
            if let Some(text) = decode(bytes, &place, opts, sink)? {
                sink.document(Document {
                    id: source.display.clone(),
                    text,
                    record: 0,
                    source: None,
                    timestamp: None,
                })?;
            }
            Ok(())
        }
    }
}

/// Decode bytes under the UTF-8 policy: `Ok(None)` means skipped.
fn decode(
    bytes: Vec<u8>,
    place: &Place,
    opts: &ReadOptions,
    sink: &mut dyn Sink,
) -> Result<Option<String>> {
    match String::from_utf8(bytes) {
        Ok(s) => Ok(Some(s)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            match opts.invalid_utf8 {
                Utf8Policy::Replace => {
                    sink.notice(Notice::Utf8Replaced(place.clone()));
                    Ok(Some(String::from_utf8_lossy(e.as_bytes()).into_owned()))
                }
                Utf8Policy::Skip => {
                    sink.notice(Notice::Skipped(
                        place.clone(),
                        format!("invalid UTF-8 at byte {at}"),
                    ));
                    Ok(None)
                }
                Utf8Policy::Fail => Err(Error::InvalidRecord {
                    place: place.clone(),
                    reason: format!(
                        "invalid UTF-8 at byte {at} (use --invalid-utf8 replace or skip to go on)"
                    ),
                }),
            }
        }
    }
}

fn read_directory(source: &Source, opts: &ReadOptions, sink: &mut dyn Sink) -> Result<()> {
    let walker = walkdir::WalkDir::new(&source.path)
        .follow_links(false)
        .sort_by_file_name();
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e
                .path()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| source.path.clone());
            let io = e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("file system loop"));
            Error::io(path, io)
        })?;
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(&source.path)
            .unwrap_or(entry.path())
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let place = Place {
            path: entry.path().display().to_string(),
            record: None,
        };
        if !ft.is_file() {
            sink.notice(Notice::NotAFile(place));
            continue;
        }
        let bytes = std::fs::read(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
        if bytes[..bytes.len().min(8192)].contains(&0) {
            sink.notice(Notice::Binary(place));
            continue;
        }
        if let Some(text) = decode(bytes, &place, opts, sink)? {
            sink.document(Document {
                id: rel,
                text,
                record: 0,
                source: None,
                timestamp: None,
            })?;
        }
    }
    Ok(())
}

/// Lines are parsed on all threads of the current rayon pool in chunks of
/// about this many bytes; reading them stays sequential and cheap.
const PARSE_CHUNK_BYTES: usize = 4 << 20;

/// Read JSON Lines from any buffered reader; `display` names it in messages.
///
/// Lines are read a chunk at a time (about `PARSE_CHUNK_BYTES`, 4 MB) and parsed
/// in parallel, then handed to `sink` in line order, so notices, documents
/// and the first error come out exactly as a line-by-line reading would give
/// them, with any number of threads (a test compares the two).
pub fn read_json_lines(
    display: &str,
    mut reader: impl BufRead,
    opts: &ReadOptions,
    sink: &mut dyn Sink,
) -> Result<()> {
    use rayon::prelude::*;

    let mut buf: Vec<u8> = Vec::new();
    // (line number, start, end) of each non-blank line in `buf`.
    let mut lines: Vec<(u64, usize, usize)> = Vec::new();
    let mut number = 0u64;
    loop {
        buf.clear();
        lines.clear();
        let mut at_end = false;
        // A read error (a truncated gzip stream, say) is returned after the
        // lines before it have gone to the sink, as line by line.
        let mut failed = None;
        while buf.len() < PARSE_CHUNK_BYTES {
            let start = buf.len();
            let n = match reader.read_until(b'\n', &mut buf) {
                Ok(n) => n,
                Err(e) => {
                    buf.truncate(start);
                    failed = Some(Error::io(display, e));
                    break;
                }
            };
            if n == 0 {
                at_end = true;
                break;
            }
            number += 1;
            if buf[start..].iter().all(u8::is_ascii_whitespace) {
                buf.truncate(start);
            } else {
                lines.push((number, start, buf.len()));
            }
        }
        // `None`: the line is not valid UTF-8, for `decode` and its policy.
        let parsed: Vec<Option<Result<Document, String>>> = lines
            .par_iter()
            .map(|&(number, start, end)| {
                let text = std::str::from_utf8(&buf[start..end]).ok()?;
                Some(parse_record(text, number, opts))
            })
            .collect();
        for (&(number, start, end), parsed) in lines.iter().zip(parsed) {
            let place = Place {
                path: display.to_string(),
                record: Some(Record::Line(number)),
            };
            let result = match parsed {
                Some(result) => result,
                None => match decode(buf[start..end].to_vec(), &place, opts, sink)? {
                    Some(text) => parse_record(&text, number, opts),
                    None => continue,
                },
            };
            match result {
                Ok(doc) => sink.document(doc)?,
                Err(reason) if opts.skip_invalid => sink.notice(Notice::Skipped(place, reason)),
                Err(reason) => {
                    return Err(Error::InvalidRecord {
                        place,
                        reason: format!(
                            "{reason} (use --skip-invalid to skip such lines and go on)"
                        ),
                    });
                }
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        if at_end {
            return Ok(());
        }
    }
}

/// Parse one JSON Lines record, or say what is wrong.
fn parse_record(line: &str, number: u64, opts: &ReadOptions) -> Result<Document, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(mut map) = value else {
        return Err(format!("expected a JSON object, found {}", kind_of(&value)));
    };
    let text = match map.remove(&opts.text_field) {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(format!(
                "field {:?} is {}, expected a string",
                opts.text_field,
                kind_of(&other)
            ));
        }
        None => {
            return Err(format!(
                "missing field {:?} (choose the text field with --text-field)",
                opts.text_field
            ));
        }
    };
    let id = match map.remove(&opts.id_field) {
        Some(Value::String(s)) => s,
        Some(Value::Number(n)) => n.to_string(),
        None | Some(Value::Null) => number.to_string(),
        Some(other) => {
            return Err(format!(
                "field {:?} is {}, expected a string or a number",
                opts.id_field,
                kind_of(&other)
            ));
        }
    };
    let source = match opts.source_field.as_ref().map(|f| (f, map.remove(f))) {
        None | Some((_, None | Some(Value::Null))) => None,
        Some((_, Some(Value::String(s)))) => Some(s),
        Some((f, Some(other))) => {
            return Err(format!(
                "field {f:?} is {}, expected a string",
                kind_of(&other)
            ));
        }
    };
    let timestamp = match opts.time_field.as_ref().map(|f| (f, map.remove(f))) {
        None | Some((_, None | Some(Value::Null))) => None,
        Some((f, Some(Value::Number(n)))) => Some(
            n.as_i64()
                .ok_or_else(|| format!("field {f:?} is {n}, expected whole seconds since 1970"))?,
        ),
        Some((f, Some(Value::String(s)))) => {
            Some(crate::time::parse_timestamp(&s).map_err(|e| format!("field {f:?}: {e}"))?)
        }
        Some((f, Some(other))) => {
            return Err(format!(
                "field {f:?} is {}, expected a timestamp string or a number",
                kind_of(&other)
            ));
        }
    };
    Ok(Document {
        id,
        text,
        record: number,
        source,
        timestamp,
    })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect {
        docs: Vec<Document>,
        notices: Vec<Notice>,
    }
    impl Sink for Collect {
        fn document(&mut self, doc: Document) -> Result<()> {
            self.docs.push(doc);
            Ok(())
        }
        fn notice(&mut self, n: Notice) {
            self.notices.push(n);
        }
    }

    fn read(input: &[u8], opts: &ReadOptions) -> (Result<()>, Collect) {
        let mut c = Collect::default();
        let r = read_json_lines("in.jsonl", input, opts, &mut c);
        (r, c)
    }

    #[test]
    fn json_lines_ids_and_blank_lines() {
        let (r, c) = read(
            b"{\"id\":\"a\",\"text\":\"x\"}\n\n{\"text\":\"y\"}\r\n{\"id\":7,\"text\":\"z\"}",
            &ReadOptions::default(),
        );
        assert!(r.is_ok());
        let ids: Vec<_> = c.docs.iter().map(|d| (d.id.as_str(), d.record)).collect();
        assert_eq!(ids, [("a", 1), ("3", 3), ("7", 4)]);
    }

    #[test]
    fn chunks_keep_line_order_numbers_and_the_first_error() {
        // Enough lines for several parse chunks, a bad line deep inside and
        // a blank one; documents, numbers and the error come out in order.
        let filler = "word ".repeat(200);
        let mut input = Vec::new();
        let total = 3 * PARSE_CHUNK_BYTES / filler.len() + 10;
        let bad = total - 7;
        for i in 1..=total {
            if i == bad {
                input.extend_from_slice(b"{\"text\": oops}\n");
            } else if i == 5 {
                input.extend_from_slice(b"   \n");
            } else {
                input.extend_from_slice(
                    format!("{{\"id\":\"d{i}\",\"text\":\"{filler}\"}}\n").as_bytes(),
                );
            }
        }
        let (r, c) = read(&input, &ReadOptions::default());
        let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.starts_with(&format!("in.jsonl:{bad}:")), "{msg}");
        let want: Vec<u64> = (1..bad as u64).filter(|&i| i != 5).collect();
        assert_eq!(c.docs.iter().map(|d| d.record).collect::<Vec<_>>(), want);
        assert!(c.docs.iter().all(|d| d.id == format!("d{}", d.record)));

        let skip = ReadOptions {
            skip_invalid: true,
            ..ReadOptions::default()
        };
        let (r, c) = read(&input, &skip);
        assert!(r.is_ok());
        assert_eq!(c.docs.len(), total - 2);
        assert!(c.docs.windows(2).all(|w| w[0].record < w[1].record));
        assert!(
            matches!(&c.notices[..], [Notice::Skipped(p, _)] if p.record == Some(Record::Line(bad as u64)))
        );
    }

    #[test]
    fn malformed_line_names_file_and_line() {
        let (r, _) = read(
            b"{\"text\":\"ok\"}\n{\"text\": oops}\n",
            &ReadOptions::default(),
        );
        let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.starts_with("in.jsonl:2: invalid JSON"), "{msg}");
        assert!(msg.contains("--skip-invalid"), "{msg}");
    }

    #[test]
    fn skip_invalid_goes_on_and_reports() {
        let opts = ReadOptions {
            skip_invalid: true,
            ..Default::default()
        };
        let (r, c) = read(
            b"[1]\n{\"text\":5}\n{\"id\":\"k\"}\n{\"text\":\"fine\"}\n",
            &opts,
        );
        assert!(r.is_ok());
        assert_eq!(c.docs.len(), 1);
        assert_eq!(c.notices.len(), 3);
        let all: String = c.notices.iter().map(|n| n.to_string() + "\n").collect();
        assert!(
            all.contains("in.jsonl:1: skipped: expected a JSON object, found an array"),
            "{all}"
        );
        assert!(
            all.contains("in.jsonl:2: skipped: field \"text\" is a number"),
            "{all}"
        );
        assert!(
            all.contains("in.jsonl:3: skipped: missing field \"text\""),
            "{all}"
        );
    }

    #[test]
    fn invalid_utf8_policies() {
        let input = b"{\"text\":\"caf\xE9\"}\n";
        let (r, c) = read(input, &ReadOptions::default());
        assert!(r.is_ok());
        assert_eq!(c.docs[0].text, "caf\u{FFFD}");
        assert!(matches!(c.notices[0], Notice::Utf8Replaced(_)));
        let skip = ReadOptions {
            invalid_utf8: Utf8Policy::Skip,
            ..Default::default()
        };
        let (r, c) = read(input, &skip);
        assert!(r.is_ok() && c.docs.is_empty() && c.notices.len() == 1);
        let fail = ReadOptions {
            invalid_utf8: Utf8Policy::Fail,
            ..Default::default()
        };
        let (r, _) = read(input, &fail);
        assert!(
            r.err()
                .map(|e| e.to_string())
                .unwrap_or_default()
                .starts_with("in.jsonl:1: invalid UTF-8")
        );
    }

    #[test]
    fn kinds_from_names() {
        assert_eq!(
            Source::kind_from_name(Path::new("a.jsonl.zst")),
            SourceKind::JsonLines(Compression::Zstd)
        );
        assert_eq!(
            Source::kind_from_name(Path::new("a.NDJSON.gz")),
            SourceKind::JsonLines(Compression::Gzip)
        );
        assert_eq!(
            Source::kind_from_name(Path::new("a.parquet")),
            SourceKind::Parquet
        );
        assert_eq!(Source::kind_from_name(Path::new("a.txt")), SourceKind::Text);
    }
}
