//! Writing the kept documents in the form they came in.
//!
//! - a directory: the kept files, copied byte for byte, at the same relative
//!   paths under the output directory;
//! - JSON Lines: every kept line byte for byte (compressed when the output
//!   name ends in `.gz` or `.zst`);
//! - Parquet: the kept rows with all their columns;
//! - a single text file: copied when kept.
//!
//! With one input, `out` is the output itself. With several, `out` is a
//! directory holding one output per input, named after the input's file name.
//! An output is never allowed to be one of the inputs.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::corpus::{Compression, Source, SourceKind};
use crate::error::{Error, Result};

/// The kept documents of one source: `(record, id)` as read
/// ([`crate::corpus::Document::record`] and `id`), in reading order.
pub type KeptRecords<'a> = Vec<(u64, &'a str)>;

/// Where each source's kept documents go. Checked before any work is done so
/// a bad output path fails fast.
pub fn plan(sources: &[Source], out: &Path) -> Result<Vec<PathBuf>> {
    let targets: Vec<PathBuf> = if sources.len() == 1 {
        vec![out.to_path_buf()]
    } else {
        let mut seen = std::collections::HashMap::new();
        let mut targets = Vec::new();
        for s in sources {
            let name = s
                .path
                .file_name()
                .map(|n| n.to_os_string())
                .unwrap_or_else(|| "stdin.jsonl".into());
            if let Some(prev) = seen.insert(name.clone(), s.display.clone()) {
                return Err(Error::Config(format!(
                    "inputs {prev} and {} would both be written to {}; give them different names or deduplicate them separately",
                    s.display,
                    out.join(&name).display()
                )));
            }
            targets.push(out.join(name));
        }
        targets
    };
    for (s, t) in sources.iter().zip(&targets) {
        if same_file(&s.path, t) || (s.kind == SourceKind::Directory && t.starts_with(&s.path)) {
            return Err(Error::Config(format!(
                "output {} would overwrite or sit inside input {}; choose another -o",
                t.display(),
                s.display
            )));
        }
    }
    Ok(targets)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Write the kept documents of `source` to `target`.
pub fn write_kept(source: &Source, kept: &KeptRecords<'_>, target: &Path) -> Result<()> {
    match source.kind {
        SourceKind::Directory => {
            std::fs::create_dir_all(target).map_err(|e| Error::io(target, e))?;
            for (_, id) in kept {
                let from = source.path.join(id);
                let to = target.join(id);
                if let Some(parent) = to.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                }
                std::fs::copy(&from, &to).map_err(|e| Error::io(&from, e))?;
            }
            Ok(())
        }
        SourceKind::Text => {
            if !kept.is_empty() {
                create_parent(target)?;
                std::fs::copy(&source.path, target).map_err(|e| Error::io(&source.path, e))?;
            }
            Ok(())
        }
        SourceKind::JsonLines(c) => write_json_lines(source, c, kept, target),
        #[cfg(feature = "parquet")]
        SourceKind::Parquet => parquet_io::write(source, kept, target),
        #[cfg(not(feature = "parquet"))]
        SourceKind::Parquet => Err(Error::Config("this build has no Parquet support".into())),
    }
}

fn create_parent(target: &Path) -> Result<()> {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => {
            std::fs::create_dir_all(p).map_err(|e| Error::io(p, e))
        }
        _ => Ok(()),
    }
}

fn write_json_lines(
    source: &Source,
    c: Compression,
    kept: &KeptRecords<'_>,
    target: &Path,
) -> Result<()> {
    let file = File::open(&source.path).map_err(|e| Error::io(&source.path, e))?;
    let reader: Box<dyn Read> = match c {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(file)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::new(file).map_err(|e| Error::io(&source.path, e))?,
        ),
    };
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    create_parent(target)?;
    let out = File::create(target).map_err(|e| Error::io(target, e))?;
    let io = |e| Error::io(target, e);
    let mut writer: Box<dyn Write> = match Compression::from_path(target) {
        Compression::None => Box::new(BufWriter::new(out)),
        Compression::Gzip => Box::new(flate2::write::GzEncoder::new(
            BufWriter::new(out),
            flate2::Compression::default(),
        )),
        Compression::Zstd => Box::new(
            zstd::stream::write::Encoder::new(BufWriter::new(out), 3)
                .map_err(io)?
                .auto_finish(),
        ),
    };
    let mut wanted = kept.iter().map(|(r, _)| *r).peekable();
    let mut line = Vec::new();
    let mut number = 0u64;
    while wanted.peek().is_some() {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io(&source.path, e))?;
        if n == 0 {
            return Err(Error::Config(format!(
                "{} changed while it was being deduplicated (it is shorter now); nothing was lost from it, but {} is incomplete",
                source.display,
                target.display()
            )));
        }
        number += 1;
        if wanted.peek() == Some(&number) {
            writer.write_all(&line).map_err(io)?;
            wanted.next();
        }
    }
    writer.flush().map_err(io)?;
    Ok(())
}

/// Parquet input and output (feature `parquet`).
#[cfg(feature = "parquet")]
pub(crate) mod parquet_io {
    use std::fs::File;
    use std::path::Path;

    use arrow_array::{
        Array, ArrayRef, BooleanArray, LargeStringArray, RecordBatch, StringArray, StringViewArray,
        cast::AsArray, types,
    };
    use arrow_schema::DataType;
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::ProjectionMask;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use crate::corpus::{Document, Notice, ReadOptions, Sink, Source};
    use crate::error::{Error, Place, Record, Result};

    fn err(source: &Source, e: impl std::fmt::Display) -> Error {
        Error::InvalidRecord {
            place: Place {
                path: source.display.clone(),
                record: None,
            },
            reason: format!("cannot read as Parquet: {e}"),
        }
    }

    fn builder(source: &Source) -> Result<ParquetRecordBatchReaderBuilder<File>> {
        let file = File::open(&source.path).map_err(|e| Error::io(&source.path, e))?;
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| err(source, e))
    }

    /// The string value of row `i` of a text-like column; `None` when null.
    fn string_at(col: &ArrayRef, i: usize) -> Option<String> {
        if col.is_null(i) {
            return None;
        }
        let any = col.as_any();
        if let Some(a) = any.downcast_ref::<StringArray>() {
            Some(a.value(i).to_string())
        } else if let Some(a) = any.downcast_ref::<LargeStringArray>() {
            Some(a.value(i).to_string())
        } else {
            any.downcast_ref::<StringViewArray>()
                .map(|a| a.value(i).to_string())
        }
    }

    fn id_at(col: &ArrayRef, i: usize) -> Option<String> {
        if col.is_null(i) {
            return None;
        }
        match col.data_type() {
            DataType::Int64 => Some(col.as_primitive::<types::Int64Type>().value(i).to_string()),
            DataType::Int32 => Some(col.as_primitive::<types::Int32Type>().value(i).to_string()),
            DataType::UInt64 => Some(col.as_primitive::<types::UInt64Type>().value(i).to_string()),
            DataType::UInt32 => Some(col.as_primitive::<types::UInt32Type>().value(i).to_string()),
            _ => string_at(col, i),
        }
    }

    /// Seconds since the Unix epoch from row `i` of an integer (seconds),
    /// timestamp, date or string column, as every front end reads a time
    /// column (`lookalike::time::arrow_time`); `None` when null.
    pub fn time_at(col: &ArrayRef, i: usize) -> std::result::Result<Option<i64>, String> {
        use arrow_schema::TimeUnit;
        if col.is_null(i) {
            return Ok(None);
        }
        Ok(Some(match col.data_type() {
            DataType::Int64 => col.as_primitive::<types::Int64Type>().value(i),
            DataType::Int32 => col.as_primitive::<types::Int32Type>().value(i) as i64,
            DataType::Timestamp(unit, _) => {
                let per_second = match unit {
                    TimeUnit::Second => 1,
                    TimeUnit::Millisecond => 1_000,
                    TimeUnit::Microsecond => 1_000_000,
                    TimeUnit::Nanosecond => 1_000_000_000,
                };
                let v = match unit {
                    TimeUnit::Second => col.as_primitive::<types::TimestampSecondType>().value(i),
                    TimeUnit::Millisecond => col
                        .as_primitive::<types::TimestampMillisecondType>()
                        .value(i),
                    TimeUnit::Microsecond => col
                        .as_primitive::<types::TimestampMicrosecondType>()
                        .value(i),
                    TimeUnit::Nanosecond => col
                        .as_primitive::<types::TimestampNanosecondType>()
                        .value(i),
                };
                v.div_euclid(per_second)
            }
            DataType::Date32 => {
                i64::from(col.as_primitive::<types::Date32Type>().value(i)) * 86_400
            }
            dt if is_text(dt) => {
                crate::time::parse_timestamp(&string_at(col, i).unwrap_or_default())?
            }
            other => {
                return Err(format!(
                    "time column is {other}; expected integers (seconds), timestamps, dates or strings"
                ));
            }
        }))
    }

    fn is_text(dt: &DataType) -> bool {
        matches!(
            dt,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        )
    }

    pub(crate) fn read(source: &Source, opts: &ReadOptions, sink: &mut dyn Sink) -> Result<()> {
        let b = builder(source)?;
        let schema = b.schema().clone();
        let Ok(text_idx) = schema.index_of(&opts.text_field) else {
            let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(Error::Config(format!(
                "{}: no column {:?} (columns: {}); choose the text column with --text-field",
                source.display,
                opts.text_field,
                names.join(", ")
            )));
        };
        if !is_text(schema.field(text_idx).data_type()) {
            return Err(Error::Config(format!(
                "{}: column {:?} is {}, expected a string column",
                source.display,
                opts.text_field,
                schema.field(text_idx).data_type()
            )));
        }
        let id_idx = schema.index_of(&opts.id_field).ok();
        let named = |f: &Option<String>| -> Result<Option<usize>> {
            match f {
                None => Ok(None),
                Some(name) => schema.index_of(name).map(Some).map_err(|_| {
                    Error::Config(format!(
                        "{}: no column {name:?} for the document metadata; name an existing column or leave the flag out",
                        source.display
                    ))
                }),
            }
        };
        let source_idx = named(&opts.source_field)?;
        let time_idx = named(&opts.time_field)?;
        let mut roots: Vec<usize> = [Some(text_idx), id_idx, source_idx, time_idx]
            .into_iter()
            .flatten()
            .collect();
        roots.sort_unstable();
        roots.dedup();
        let mask = ProjectionMask::roots(b.parquet_schema(), roots.clone());
        let reader = b
            .with_projection(mask)
            .build()
            .map_err(|e| err(source, e))?;
        // After projection, columns come in schema order.
        let at = |i: usize| roots.iter().position(|r| *r == i).unwrap_or(0);
        let text_col = at(text_idx);
        let id_col = id_idx.map(at);
        let source_col = source_idx.map(at);
        let time_col = time_idx.map(at);
        let mut row = 0u64;
        for batch in reader {
            let batch = batch.map_err(|e| err(source, e))?;
            let texts = batch.column(text_col);
            for i in 0..batch.num_rows() {
                let place = Place {
                    path: source.display.clone(),
                    record: Some(Record::Row(row)),
                };
                match string_at(texts, i) {
                    Some(text) => {
                        let id = id_col
                            .and_then(|c| id_at(batch.column(c), i))
                            .unwrap_or_else(|| row.to_string());
                        let timestamp = match time_col {
                            Some(c) => time_at(batch.column(c), i).map_err(|reason| {
                                Error::InvalidRecord {
                                    place: place.clone(),
                                    reason,
                                }
                            })?,
                            None => None,
                        };
                        sink.document(Document {
                            id,
                            text,
                            record: row,
                            source: source_col.and_then(|c| string_at(batch.column(c), i)),
                            timestamp,
                        })?;
                    }
                    None if opts.skip_invalid => sink.notice(Notice::Skipped(
                        place,
                        format!("{:?} is null", opts.text_field),
                    )),
                    None => {
                        return Err(Error::InvalidRecord {
                            place,
                            reason: format!(
                                "column {:?} is null (use --skip-invalid to skip such rows)",
                                opts.text_field
                            ),
                        });
                    }
                }
                row += 1;
            }
        }
        Ok(())
    }

    pub(crate) fn write(
        source: &Source,
        kept: &super::KeptRecords<'_>,
        target: &Path,
    ) -> Result<()> {
        let b = builder(source)?;
        let schema = b.schema().clone();
        let reader = b.build().map_err(|e| err(source, e))?;
        super::create_parent(target)?;
        let out = File::create(target).map_err(|e| Error::io(target, e))?;
        let werr = |e: parquet::errors::ParquetError| Error::io(target, std::io::Error::other(e));
        let mut writer = ArrowWriter::try_new(out, schema, None).map_err(werr)?;
        let mut wanted = kept.iter().map(|(r, _)| *r).peekable();
        let mut row = 0u64;
        for batch in reader {
            let batch: RecordBatch = batch.map_err(|e| err(source, e))?;
            let mask: BooleanArray = (0..batch.num_rows() as u64)
                .map(|i| {
                    let keep = wanted.peek() == Some(&(row + i));
                    if keep {
                        wanted.next();
                    }
                    Some(keep)
                })
                .collect();
            row += batch.num_rows() as u64;
            let filtered = arrow_select::filter::filter_record_batch(&batch, &mask)
                .map_err(|e| Error::io(target, std::io::Error::other(e)))?;
            if filtered.num_rows() > 0 {
                writer.write(&filtered).map_err(werr)?;
            }
        }
        writer.close().map_err(werr)?;
        Ok(())
    }
}
