//! # lookalike for Python
//!
//! The extension module `lookalike._lookalike`: thin wrappers that move Arrow
//! data in and out of the `lookalike` library through the Arrow C interface
//! (pyo3-arrow), with the GIL released while the library works. The Python
//! package (`python/lookalike`) puts friendly signatures, docstrings and the
//! Spark and Ray pipelines on top; nothing here decides anything the library
//! does not already decide.
//!
//! Integers cross as `int64` because Spark has no unsigned types: a `u32`
//! signature slot keeps its value, a `u64` hash (band key, shingle) keeps its
//! bits (two's complement), so equal hashes stay equal and sort consistently
//! within one run.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use pyo3_arrow::PyTable;
use pyo3_arrow::input::AnyRecordBatch;

use lookalike::align::AlignConfig;
use lookalike::cluster::KeepPolicy;
use lookalike::compare::CompareConfig;
use lookalike::dedup::{Dedup, DedupConfig, Relation, Verification, check_candidate};
use lookalike::fingerprint::Fingerprinter;
use lookalike::index::{CheckOptions, ExpectedSpec, Index as LibIndex, IndexSpec, NewDoc};
use lookalike::judge::{DocFreq, Evidence, JudgeConfig, Story};
use lookalike::lsh::{LshParams, bucket_pairs as lib_bucket_pairs};
use lookalike::shingle::{ShingleConfig, Unit};
use lookalike::sketch::SketchConfig;

create_exception!(
    _lookalike,
    LookalikeError,
    PyValueError,
    "An error from the lookalike library: bad settings, bad input data (the message names the row and column) or an index that cannot be used."
);

create_exception!(
    _lookalike,
    LookalikeIndexError,
    LookalikeError,
    "An index file cannot be used; the subclass says why."
);
create_exception!(
    _lookalike,
    IndexMissingError,
    LookalikeIndexError,
    "No index file at the path."
);
create_exception!(
    _lookalike,
    IndexExistsError,
    LookalikeIndexError,
    "Creating an index was refused: a file is already at the path."
);
create_exception!(
    _lookalike,
    NotAnIndexError,
    LookalikeIndexError,
    "The file is not a lookalike index."
);
create_exception!(
    _lookalike,
    IndexInUseError,
    LookalikeIndexError,
    "Another process (or another open Index) holds the index file."
);
create_exception!(
    _lookalike,
    IndexReadOnlyError,
    LookalikeIndexError,
    "The index file cannot be opened for writing."
);
create_exception!(
    _lookalike,
    IndexFormatError,
    LookalikeIndexError,
    "The index was written in a format this build does not read."
);
create_exception!(
    _lookalike,
    IndexSettingsError,
    LookalikeIndexError,
    "Settings asked for differ from those the index was created with."
);
create_exception!(
    _lookalike,
    IndexDamagedError,
    LookalikeIndexError,
    "The index file is damaged: restore it from a backup or rebuild it."
);
create_exception!(
    _lookalike,
    IndexStorageError,
    LookalikeIndexError,
    "The disk or the database failed while working on the index."
);

/// The one place where library errors become Python exceptions: index
/// problems as their own subclasses, with what to do in Python's terms.
fn lib_err(e: lookalike::Error) -> PyErr {
    use lookalike::IndexProblem as P;
    let Some(problem) = e.index_problem() else {
        return LookalikeError::new_err(e.to_string());
    };
    let with = |remedy: &str| format!("{e}; {remedy}");
    match problem {
        P::Missing => {
            IndexMissingError::new_err(with("create it with lookalike.Index.create(path)"))
        }
        P::Exists => IndexExistsError::new_err(with(
            "open it with lookalike.Index(path), or choose another path",
        )),
        P::NotAnIndex => NotAnIndexError::new_err(e.to_string()),
        P::InUse => IndexInUseError::new_err(with(
            "one process at a time: close the other lookalike.Index on it, or send the documents \
             to the `lookalike serve` that holds it",
        )),
        P::ReadOnly => IndexReadOnlyError::new_err(e.to_string()),
        P::Format => IndexFormatError::new_err(with(
            "use the lookalike that made it, or rebuild the index from its documents",
        )),
        P::Settings => IndexSettingsError::new_err(with(
            "open it without settings to use its own, or create a new index",
        )),
        P::Damaged => IndexDamagedError::new_err(e.to_string()),
        P::Storage => IndexStorageError::new_err(e.to_string()),
        _ => LookalikeIndexError::new_err(e.to_string()),
    }
}

fn input_err(message: String) -> PyErr {
    LookalikeError::new_err(message)
}

/// The shingle unit as Python spells it.
fn parse_unit(unit: &str) -> PyResult<Unit> {
    match unit {
        "words" => Ok(Unit::Words),
        "chars" => Ok(Unit::Chars),
        other => Err(input_err(format!(
            "unit must be \"words\" or \"chars\", got {other:?}"
        ))),
    }
}

/// The story judgment as Python names it: "plain" (none) or "story" (the
/// engine's defaults).
fn parse_judge(judge: &str) -> PyResult<Option<lookalike::judge::JudgeConfig>> {
    match judge {
        "plain" => Ok(None),
        "story" => Ok(Some(lookalike::judge::JudgeConfig::default())),
        other => Err(input_err(format!(
            "judge must be \"plain\" or \"story\", got {other:?}"
        ))),
    }
}

/// Settings shared by every function, as Python passes them.
struct Settings {
    config: DedupConfig,
    lsh: LshParams,
}

#[allow(clippy::too_many_arguments)]
fn settings(
    threshold: f64,
    ngram: usize,
    unit: &str,
    slots: usize,
    seed: u64,
    keep: &str,
    verification: &str,
    representatives: usize,
    bucket_cap: usize,
) -> PyResult<Settings> {
    let unit = parse_unit(unit)?;
    let keep = match keep {
        "first" => KeepPolicy::First,
        "longest" => KeepPolicy::Longest,
        "shortest" => KeepPolicy::Shortest,
        other => {
            return Err(input_err(format!(
                "keep must be \"first\", \"longest\" or \"shortest\", got {other:?}"
            )));
        }
    };
    let verification = match verification {
        "exact" => Verification::Exact,
        "signature" => Verification::Signature,
        other => {
            return Err(input_err(format!(
                "verification must be \"exact\" or \"signature\", got {other:?}"
            )));
        }
    };
    let config = DedupConfig {
        threshold,
        shingle: ShingleConfig {
            unit,
            n: ngram,
            seed,
        },
        sketch: SketchConfig { slots, seed },
        keep,
        verification,
        representatives,
        bucket_cap,
        ..DedupConfig::default()
    };
    // Dedup::new validates every setting and derives bands × rows.
    let lsh = Dedup::new(config.clone()).map_err(lib_err)?.lsh();
    Ok(Settings { config, lsh })
}

/// Read a whole Arrow input (table, batch or stream) while holding the GIL:
/// a stream exported by Python may call back into Python.
fn read_batches(data: AnyRecordBatch) -> PyResult<(Vec<RecordBatch>, Arc<Schema>)> {
    let reader = data.into_reader()?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| input_err(format!("cannot read the Arrow input: {e}")))?;
    Ok((batches, schema))
}

/// The strings of column `name`, with a message naming the column and row
/// for a missing column, another type or a null.
fn strings(batch: &RecordBatch, name: &str, first_row: usize) -> PyResult<Vec<String>> {
    text_values(column(batch, name)?, name)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            v.map(str::to_string).ok_or_else(|| {
                input_err(format!(
                    "row {}: column {name:?} is null: give every row a text (an empty string is kept and never grouped)",
                    first_row + i
                ))
            })
        })
        .collect()
}

/// The values of a text column of any of Arrow's three string types, nulls
/// as `None`; another type is an error naming the column.
fn text_values<'a>(col: &'a ArrayRef, name: &str) -> PyResult<Vec<Option<&'a str>>> {
    Ok(match col.data_type() {
        DataType::Utf8 => col.as_string::<i32>().iter().collect(),
        DataType::LargeUtf8 => col.as_string::<i64>().iter().collect(),
        DataType::Utf8View => col.as_string_view().iter().collect(),
        other => {
            return Err(input_err(format!(
                "column {name:?} holds {other}, not text: pass the name of a string column"
            )));
        }
    })
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> PyResult<&'a ArrayRef> {
    batch.column_by_name(name).ok_or_else(|| {
        let have: Vec<&str> = batch
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        input_err(format!(
            "no column {name:?}; the columns are {have:?}: name the right one"
        ))
    })
}

/// Column `name` as `list<int64>`, with a message naming it otherwise.
fn int_lists<'a>(
    batch: &'a RecordBatch,
    name: &str,
) -> PyResult<&'a arrow_array::GenericListArray<i32>> {
    let col = column(batch, name)?;
    let list = col
        .as_list_opt::<i32>()
        .filter(|l| l.values().data_type() == &DataType::Int64);
    list.ok_or_else(|| {
        input_err(format!(
            "column {name:?} holds {}, not list<int64>",
            col.data_type()
        ))
    })
}

fn list_values(list: &arrow_array::GenericListArray<i32>, i: usize) -> Vec<i64> {
    if list.is_null(i) {
        return Vec::new();
    }
    list.value(i).as_primitive::<Int64Type>().values().to_vec()
}

fn list_field(name: &str) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new("item", DataType::Int64, true))),
        true,
    )
}

/// `batch` with `extra` columns appended.
fn append(batch: &RecordBatch, extra: Vec<(Field, ArrayRef)>) -> PyResult<RecordBatch> {
    let mut fields: Vec<Field> = batch
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns = batch.columns().to_vec();
    for (f, c) in extra {
        fields.push(f);
        columns.push(c);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| input_err(format!("cannot build the output: {e}")))
}

fn table_out(
    py: Python<'_>,
    batches: Vec<RecordBatch>,
    schema: Arc<Schema>,
) -> PyResult<Py<PyAny>> {
    let schema = batches.first().map(|b| b.schema()).unwrap_or(schema);
    Ok(PyTable::try_new(batches, schema)?
        .into_pyarrow(py)?
        .unbind())
}

/// Which per-document columns [`fingerprint`] appends.
const OUTPUTS: [&str; 7] = [
    "length",
    "exact",
    "shingles",
    "signature",
    "band_hashes",
    "facts",
    "time",
];

/// Append fingerprint columns (any of `length`, `exact`, `shingles`,
/// `signature`, `band_hashes`, `facts`, `time`, in that order) to every row
/// of `data`. `facts` are the story judgment's number tokens
/// (`lookalike::judge::facts`, u32 values as int64); `time` is
/// `time_column` read as `timestamps` reads it (null without one).
#[pyfunction]
#[pyo3(signature = (data, text_column, outputs, threshold, ngram, unit, slots, seed, time_column=None))]
#[allow(clippy::too_many_arguments)]
fn fingerprint(
    py: Python<'_>,
    data: AnyRecordBatch,
    text_column: &str,
    outputs: Vec<String>,
    threshold: f64,
    ngram: usize,
    unit: &str,
    slots: usize,
    seed: u64,
    time_column: Option<&str>,
) -> PyResult<Py<PyAny>> {
    for o in &outputs {
        if !OUTPUTS.contains(&o.as_str()) {
            return Err(input_err(format!(
                "unknown output {o:?}; known: {OUTPUTS:?}"
            )));
        }
    }
    let s = settings(
        threshold, ngram, unit, slots, seed, "first", "exact", 8, 10_000,
    )?;
    let fp = Fingerprinter {
        shingle: s.config.shingle,
        sketch: s.config.sketch,
    };
    let (batches, schema) = read_batches(data)?;
    let mut row = 0;
    let mut texts = Vec::with_capacity(batches.len());
    let mut times = Vec::with_capacity(batches.len());
    for b in &batches {
        texts.push(strings(b, text_column, row)?);
        times.push(match time_column {
            Some(name) => timestamps(b, name, row)?.ok_or_else(|| {
                input_err(format!("time_column {name:?} is not a column of the data"))
            })?,
            None => vec![None; b.num_rows()],
        });
        row += b.num_rows();
    }
    let want = |name: &str| outputs.iter().any(|o| o == name);
    let out = py.detach(|| {
        batches
            .iter()
            .zip(texts)
            .zip(times)
            .map(|((b, texts), times)| {
                let n = texts.len();
                let mut length = Int64Builder::with_capacity(n);
                let mut exact = BinaryBuilder::new();
                let mut shingles = ListBuilder::new(Int64Builder::new());
                let mut signature = ListBuilder::new(Int64Builder::new());
                let mut bands = ListBuilder::new(Int64Builder::new());
                let mut facts = ListBuilder::new(Int64Builder::new());
                for t in &texts {
                    if want("facts") {
                        facts.append_value(
                            lookalike::judge::facts(t)
                                .into_iter()
                                .map(|f| Some(i64::from(f))),
                        );
                    }
                    let f = fp.fingerprint(t);
                    length.append_value(t.len() as i64);
                    exact.append_value(f.exact.to_le_bytes());
                    shingles.append_value(f.shingles.hashes.iter().map(|&h| Some(h as i64)));
                    match &f.signature {
                        Some(sig) => {
                            signature.append_value(sig.0.iter().map(|&v| Some(v as i64)));
                            bands.append_value(
                                (0..s.lsh.bands).map(|band| Some(s.lsh.band_key(sig, band) as i64)),
                            );
                        }
                        None => {
                            signature.append_null();
                            bands.append_null();
                        }
                    }
                }
                let mut extra: Vec<(Field, ArrayRef)> = Vec::new();
                if want("length") {
                    extra.push((
                        Field::new("length", DataType::Int64, false),
                        Arc::new(length.finish()),
                    ));
                }
                if want("exact") {
                    extra.push((
                        Field::new("exact", DataType::Binary, false),
                        Arc::new(exact.finish()),
                    ));
                }
                if want("shingles") {
                    extra.push((list_field("shingles"), Arc::new(shingles.finish())));
                }
                if want("signature") {
                    extra.push((list_field("signature"), Arc::new(signature.finish())));
                }
                if want("band_hashes") {
                    extra.push((list_field("band_hashes"), Arc::new(bands.finish())));
                }
                if want("facts") {
                    extra.push((list_field("facts"), Arc::new(facts.finish())));
                }
                if want("time") {
                    extra.push((
                        Field::new("time", DataType::Int64, true),
                        Arc::new(Int64Array::from(times)),
                    ));
                }
                append(b, extra)
            })
            .collect::<PyResult<Vec<_>>>()
    })?;
    table_out(py, out, empty_schema_with(&schema, &outputs))
}

/// The output schema of [`fingerprint`] for an input with no batches.
fn empty_schema_with(schema: &Arc<Schema>, outputs: &[String]) -> Arc<Schema> {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    for name in OUTPUTS {
        if outputs.iter().any(|o| o == name) {
            fields.push(match name {
                "length" => Field::new("length", DataType::Int64, false),
                "exact" => Field::new("exact", DataType::Binary, false),
                "time" => Field::new("time", DataType::Int64, true),
                other => list_field(other),
            });
        }
    }
    Arc::new(Schema::new(fields))
}

/// Bands × rows derived from the settings, as `(bands, rows)`.
#[pyfunction]
#[pyo3(signature = (threshold, slots))]
fn lsh_params(threshold: f64, slots: usize) -> PyResult<(usize, usize)> {
    let s = settings(threshold, 5, "words", slots, 0, "first", "exact", 8, 10_000)?;
    Ok((s.lsh.bands, s.lsh.rows))
}

/// The candidate pairs of buckets: for each row, the `members` list (int64
/// positions in input order, any order inside the list) becomes the pairs
/// `(a, b)` of `lookalike.lsh::bucket_pairs` (each of the first `representatives`
/// members with every later one). Rows of more than `bucket_cap` members
/// are skipped; the second value returned counts them.
#[pyfunction]
#[pyo3(signature = (data, members_column, representatives, bucket_cap))]
fn bucket_pairs(
    py: Python<'_>,
    data: AnyRecordBatch,
    members_column: &str,
    representatives: usize,
    bucket_cap: usize,
) -> PyResult<(Py<PyAny>, usize)> {
    let (batches, _) = read_batches(data)?;
    let mut a = Int64Builder::new();
    let mut b = Int64Builder::new();
    let mut capped = 0;
    for batch in &batches {
        let lists = int_lists(batch, members_column)?;
        for i in 0..lists.len() {
            let mut m = list_values(lists, i);
            m.sort_unstable();
            m.dedup();
            if m.len() > bucket_cap {
                capped += 1;
                continue;
            }
            for (x, y) in lib_bucket_pairs(m.len(), representatives) {
                a.append_value(m[x]);
                b.append_value(m[y]);
            }
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Int64, false),
        Field::new("b", DataType::Int64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![Arc::new(a.finish()), Arc::new(b.finish())];
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| input_err(format!("cannot build the pairs: {e}")))?;
    Ok((table_out(py, vec![batch], schema)?, capped))
}

/// Check candidate pairs: columns `signature_a`, `shingles_a`,
/// `signature_b`, `shingles_b` (list<int64>) give each side; appends
/// `similarity` (float64; null when the signature estimate rejected the
/// pair without the exact comparison). A pair passes when similarity ≥
/// threshold: `lookalike::dedup::check_candidate`, as `dedup` checks it.
#[pyfunction]
#[pyo3(signature = (data, threshold, margin, verification))]
fn check_pairs(
    py: Python<'_>,
    data: AnyRecordBatch,
    threshold: f64,
    margin: f64,
    verification: &str,
) -> PyResult<Py<PyAny>> {
    let s = settings(
        threshold,
        5,
        "words",
        128,
        0,
        "first",
        verification,
        8,
        10_000,
    )?;
    let (batches, schema) = read_batches(data)?;
    let mut out = Vec::with_capacity(batches.len());
    for batch in &batches {
        let cols = [
            int_lists(batch, "signature_a")?,
            int_lists(batch, "shingles_a")?,
            int_lists(batch, "signature_b")?,
            int_lists(batch, "shingles_b")?,
        ];
        let mut sim = Float64Builder::with_capacity(batch.num_rows());
        py.detach(|| {
            for i in 0..batch.num_rows() {
                let side = |sig: usize, set: usize| {
                    let slots: Vec<u32> = list_values(cols[sig], i)
                        .iter()
                        .map(|&v| v as u32)
                        .collect();
                    let hashes: Vec<u64> = list_values(cols[set], i)
                        .iter()
                        .map(|&v| v as u64)
                        .collect();
                    (slots, hashes)
                };
                let (sa, ha) = side(0, 1);
                let (sb, hb) = side(2, 3);
                let checked = check_candidate(
                    s.config.verification,
                    threshold,
                    margin,
                    (&sa, &ha),
                    (&sb, &hb),
                );
                sim.append_option(checked);
            }
        });
        out.push(append(
            batch,
            vec![(
                Field::new("similarity", DataType::Float64, true),
                Arc::new(sim.finish()),
            )],
        )?);
    }
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("similarity", DataType::Float64, true));
    table_out(py, out, Arc::new(Schema::new(fields)))
}

/// The story judgment's template statistics for the Spark and Ray
/// pipelines: a `lookalike::judge::DocFreq` counted per partition
/// ([`Templates::count`]), merged in any order ([`Templates::merge`]) and
/// shipped to every task (pickled as its counters).
#[pyclass(module = "lookalike._lookalike", frozen)]
struct Templates {
    df: DocFreq,
}

#[pymethods]
impl Templates {
    #[new]
    fn new(counts: &[u8], documents: usize) -> PyResult<Self> {
        Ok(Templates {
            df: DocFreq::from_parts(counts.to_vec(), documents).map_err(lib_err)?,
        })
    }

    /// Count the rows of `data`, one document each (the first of each
    /// exact family only): columns `shingles` and `facts` (list<int64>).
    /// `shingles_total` is the number of shingles of the whole collection,
    /// so that every partition's sketch has the size one process's would.
    #[staticmethod]
    fn count(py: Python<'_>, data: AnyRecordBatch, shingles_total: usize) -> PyResult<Templates> {
        let (batches, _) = read_batches(data)?;
        let mut df = DocFreq::for_collection(shingles_total);
        for batch in &batches {
            let (shingles, facts) = (int_lists(batch, "shingles")?, int_lists(batch, "facts")?);
            py.detach(|| {
                for i in 0..batch.num_rows() {
                    df.add_document(&u64s(shingles, i), &u32s(facts, i));
                }
            });
        }
        Ok(Templates { df })
    }

    /// The statistics of both collections.
    fn merge(&self, other: &Templates) -> PyResult<Templates> {
        let mut df = self.df.clone();
        df.merge(&other.df).map_err(lib_err)?;
        Ok(Templates { df })
    }

    /// Documents counted.
    #[getter]
    fn documents(&self) -> usize {
        self.df.documents()
    }

    /// The counters, as bytes (`Templates(counts, documents)` reads them
    /// back).
    #[getter]
    fn counts<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.df.parts().0)
    }

    /// Pickled as its counters: `Templates(counts, documents)`.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let (counts, documents) = slf.get().df.parts();
        Ok((
            slf.get_type().into_any(),
            (PyBytes::new(slf.py(), counts), documents),
        ))
    }
}

/// What `__reduce__` returns: the class and its constructor's arguments.
type Reduced<'py> = (Bound<'py, PyAny>, (Bound<'py, PyBytes>, usize));

/// The u64 hashes of row `i` of a list<int64> column (bits kept).
fn u64s(list: &arrow_array::GenericListArray<i32>, i: usize) -> Vec<u64> {
    list_values(list, i).into_iter().map(|v| v as u64).collect()
}

/// The u32 values of row `i` of a list<int64> column.
fn u32s(list: &arrow_array::GenericListArray<i32>, i: usize) -> Vec<u32> {
    list_values(list, i).into_iter().map(|v| v as u32).collect()
}

/// An optional int64 column's value at row `i`.
fn optional_i64(batch: &RecordBatch, name: &str) -> PyResult<Vec<Option<i64>>> {
    let col = column(batch, name)?;
    let ints = col.as_primitive_opt::<Int64Type>().ok_or_else(|| {
        input_err(format!(
            "column {name:?} holds {}, not int64",
            col.data_type()
        ))
    })?;
    Ok((0..ints.len())
        .map(|i| (!ints.is_null(i)).then(|| ints.value(i)))
        .collect())
}

/// An int64 column without nulls, with an error naming the column and row.
fn required_i64(batch: &RecordBatch, name: &str) -> PyResult<Vec<i64>> {
    optional_i64(batch, name)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| v.ok_or_else(|| input_err(format!("row {i}: column {name:?} is null"))))
        .collect()
}

/// Each row's containment keys (`JudgeConfig::containment_keys` with the
/// default judgment): rows `(key, <position_column>)`, from columns
/// `shingles` and `position_column` (int64).
#[pyfunction]
#[pyo3(signature = (data, position_column, templates))]
fn containment_keys(
    py: Python<'_>,
    data: AnyRecordBatch,
    position_column: &str,
    templates: Option<&Templates>,
) -> PyResult<Py<PyAny>> {
    let judge = JudgeConfig::default();
    let df = templates.map(|t| &t.df);
    let (batches, _) = read_batches(data)?;
    let mut key = Int64Builder::new();
    let mut pos = Int64Builder::new();
    for batch in &batches {
        let shingles = int_lists(batch, "shingles")?;
        let positions = required_i64(batch, position_column)?;
        for (i, p) in positions.into_iter().enumerate() {
            let set = u64s(shingles, i);
            for h in judge.containment_keys(df, &set) {
                key.append_value(h as i64);
                pos.append_value(p);
            }
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("key", DataType::Int64, false),
        Field::new(position_column, DataType::Int64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![Arc::new(key.finish()), Arc::new(pos.finish())];
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| input_err(format!("cannot build the keys: {e}")))?;
    table_out(py, vec![batch], schema)
}

/// Whether a row holding `held` of another row's `keys` containment keys is
/// a candidate pair (`JudgeConfig::holds_enough`): appends `enough` (bool)
/// to `data`, which has int64 columns `held` and `keys`.
#[pyfunction]
fn holds_enough(py: Python<'_>, data: AnyRecordBatch) -> PyResult<Py<PyAny>> {
    let judge = JudgeConfig::default();
    let (batches, schema) = read_batches(data)?;
    let mut out = Vec::with_capacity(batches.len());
    for batch in &batches {
        let held = required_i64(batch, "held")?;
        let keys = required_i64(batch, "keys")?;
        let mut enough = BooleanBuilder::with_capacity(batch.num_rows());
        for (i, (h, k)) in held.into_iter().zip(keys).enumerate() {
            let (Ok(h), Ok(k)) = (usize::try_from(h), usize::try_from(k)) else {
                return Err(input_err(format!(
                    "row {i}: \"held\" and \"keys\" must not be negative"
                )));
            };
            enough.append_value(judge.holds_enough(h, k));
        }
        out.push(append(
            batch,
            vec![(
                Field::new("enough", DataType::Boolean, false),
                Arc::new(enough.finish()),
            )],
        )?);
    }
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("enough", DataType::Boolean, false));
    table_out(py, out, Arc::new(Schema::new(fields)))
}

/// One side of a pair for the story judgment, read from row `i` of the
/// columns named with `suffix` (`shingles_a`, `facts_a`, `time_a`, ...).
struct Side {
    signature: Vec<u32>,
    shingles: Vec<u64>,
    facts: Vec<u32>,
    time: Option<i64>,
}

impl Side {
    fn evidence(&self) -> Evidence<'_> {
        Evidence {
            shingles: &self.shingles,
            facts: &self.facts,
            time: self.time,
        }
    }
}

/// The columns of one side of the pairs [`judge_pairs`] reads.
struct SideColumns<'a> {
    signature: &'a arrow_array::GenericListArray<i32>,
    shingles: &'a arrow_array::GenericListArray<i32>,
    facts: &'a arrow_array::GenericListArray<i32>,
    time: Vec<Option<i64>>,
}

impl<'a> SideColumns<'a> {
    /// The columns named with `suffix` (`signature_a`, ...).
    fn read(batch: &'a RecordBatch, suffix: &str) -> PyResult<SideColumns<'a>> {
        Ok(SideColumns {
            signature: int_lists(batch, &format!("signature_{suffix}"))?,
            shingles: int_lists(batch, &format!("shingles_{suffix}"))?,
            facts: int_lists(batch, &format!("facts_{suffix}"))?,
            time: optional_i64(batch, &format!("time_{suffix}"))?,
        })
    }

    fn side(&self, i: usize) -> Side {
        Side {
            signature: u32s(self.signature, i),
            shingles: u64s(self.shingles, i),
            facts: u32s(self.facts, i),
            time: self.time[i],
        }
    }
}

/// Judge candidate pairs as stories (`dedup --judge story`): columns `a`,
/// `b`, `lsh` (bool: proposed by LSH, so the signature estimate may rule
/// it out first; otherwise proposed by containment and judged on its sets),
/// and per side `signature_`, `shingles_`, `facts_` (list<int64>) and
/// `time_` (int64, nullable). Appends `same` (bool).
#[pyfunction]
#[pyo3(signature = (data, templates, threshold, margin))]
fn judge_pairs(
    py: Python<'_>,
    data: AnyRecordBatch,
    templates: Option<&Templates>,
    threshold: f64,
    margin: f64,
) -> PyResult<Py<PyAny>> {
    settings(threshold, 5, "words", 128, 0, "first", "exact", 8, 10_000)?;
    let judge = JudgeConfig::default();
    let df = templates.map(|t| &t.df);
    let (batches, schema) = read_batches(data)?;
    let mut out = Vec::with_capacity(batches.len());
    for batch in &batches {
        let lsh = column(batch, "lsh")?
            .as_boolean_opt()
            .filter(|l| l.null_count() == 0)
            .ok_or_else(|| input_err("column \"lsh\" must be bool, without nulls".to_string()))?
            .clone();
        let (ca, cb) = (
            SideColumns::read(batch, "a")?,
            SideColumns::read(batch, "b")?,
        );
        let mut same = BooleanBuilder::with_capacity(batch.num_rows());
        py.detach(|| {
            for i in 0..batch.num_rows() {
                let (a, b) = (ca.side(i), cb.side(i));
                let verdict = if lsh.value(i) {
                    judge
                        .judge_candidate(
                            df,
                            threshold,
                            margin,
                            (&a.signature, a.evidence()),
                            (&b.signature, b.evidence()),
                        )
                        .unwrap_or(false)
                } else {
                    judge.judge(df, a.evidence(), b.evidence()).story == Story::Same
                };
                same.append_value(verdict);
            }
        });
        out.push(append(
            batch,
            vec![(
                Field::new("same", DataType::Boolean, false),
                Arc::new(same.finish()),
            )],
        )?);
    }
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("same", DataType::Boolean, false));
    table_out(py, out, Arc::new(Schema::new(fields)))
}

/// The exact hashes of a column as [`fingerprint`] gives them (16 bytes) or
/// as hex text (Ray's shuffle keys); only their equality matters.
fn exact_hashes(col: &ArrayRef) -> PyResult<Vec<u128>> {
    let bad = |i: usize| {
        input_err(format!(
            "row {i}: column \"exact\" must hold 16 bytes (or 32 hex digits), not null"
        ))
    };
    if let Some(b) = col.as_binary_opt::<i32>() {
        return b
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let bytes: [u8; 16] = v.and_then(|v| v.try_into().ok()).ok_or_else(|| bad(i))?;
                Ok(u128::from_le_bytes(bytes))
            })
            .collect();
    }
    text_values(col, "exact")?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            v.filter(|h| h.len() == 32)
                .and_then(|h| u128::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad(i))
        })
        .collect()
}

/// Split connected components into stars (`lookalike::judge::stars`, as
/// `dedup --judge story` splits them): rows of whole components, columns
/// `label` (the component), `_pos`, `exact` (binary, or hex text),
/// `shingles`, `facts`
/// (list<int64>) and `time` (int64, nullable), in any order. Returns
/// `(_pos, _root)`: the first member of each row's star.
#[pyfunction]
#[pyo3(signature = (data, templates))]
fn stars(
    py: Python<'_>,
    data: AnyRecordBatch,
    templates: Option<&Templates>,
) -> PyResult<Py<PyAny>> {
    let judge = JudgeConfig::default();
    let df = templates.map(|t| &t.df);
    let (batches, _) = read_batches(data)?;
    let mut rows: Vec<(i64, i64, u128, Side)> = Vec::new();
    for batch in &batches {
        let labels = optional_i64(batch, "label")?;
        let positions = optional_i64(batch, "_pos")?;
        let times = optional_i64(batch, "time")?;
        let exact = exact_hashes(column(batch, "exact")?)?;
        let (shingles, facts) = (int_lists(batch, "shingles")?, int_lists(batch, "facts")?);
        for i in 0..batch.num_rows() {
            let (Some(label), Some(pos)) = (labels[i], positions[i]) else {
                return Err(input_err(format!(
                    "row {i}: label and _pos must not be null"
                )));
            };
            rows.push((
                label,
                pos,
                exact[i],
                Side {
                    signature: Vec::new(),
                    shingles: u64s(shingles, i),
                    facts: u32s(facts, i),
                    time: times[i],
                },
            ));
        }
    }
    let mut pos_out = Int64Builder::new();
    let mut root_out = Int64Builder::new();
    py.detach(|| -> PyResult<()> {
        rows.sort_unstable_by_key(|r| (r.0, r.1));
        for component in rows.chunk_by(|x, y| x.0 == y.0) {
            let split = lookalike::judge::stars(
                component.iter().enumerate().map(|(k, r)| (k, r.2)),
                |k| Ok(&component[k].3),
                |c, sc, m, sm| {
                    let _ = (c, m);
                    judge.judge(df, sc.evidence(), sm.evidence()).story == Story::Same
                },
            )
            .map_err(lib_err)?;
            for star in split {
                let root = component[star[0]].1;
                for k in star {
                    pos_out.append_value(component[k].1);
                    root_out.append_value(root);
                }
            }
        }
        Ok(())
    })?;
    let schema = Arc::new(Schema::new(vec![
        Field::new("_pos", DataType::Int64, false),
        Field::new("_root", DataType::Int64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![Arc::new(pos_out.finish()), Arc::new(root_out.finish())];
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| input_err(format!("cannot build the stars: {e}")))?;
    table_out(py, vec![batch], schema)
}

/// Deduplicate the rows of `data`: per row, `group` (the position of the
/// group's first row; its own position when it has no duplicate), `kept`,
/// `similarity` to the kept row and `relation` ("exact", "near", or null
/// for rows without duplicates).
#[pyfunction]
#[pyo3(signature = (data, text_column, threshold, ngram, unit, slots, seed, keep, verification, representatives, bucket_cap, judge, time_column))]
#[allow(clippy::too_many_arguments)]
fn dedup(
    py: Python<'_>,
    data: AnyRecordBatch,
    text_column: &str,
    threshold: f64,
    ngram: usize,
    unit: &str,
    slots: usize,
    seed: u64,
    keep: &str,
    verification: &str,
    representatives: usize,
    bucket_cap: usize,
    judge: &str,
    time_column: Option<&str>,
) -> PyResult<(Py<PyAny>, String)> {
    let mut s = settings(
        threshold,
        ngram,
        unit,
        slots,
        seed,
        keep,
        verification,
        representatives,
        bucket_cap,
    )?;
    s.config.judge = parse_judge(judge)?;
    let (batches, _) = read_batches(data)?;
    let mut docs = Vec::new();
    for b in &batches {
        let first = docs.len();
        let times = match time_column {
            Some(name) => Some(timestamps(b, name, first)?.ok_or_else(|| {
                input_err(format!("time_column {name:?} is not a column of the data"))
            })?),
            None => None,
        };
        for (i, t) in strings(b, text_column, first)?.into_iter().enumerate() {
            let time = times.as_ref().and_then(|ts| ts[i]);
            docs.push((docs.len().to_string(), t, time));
        }
    }
    let outcome = py.detach(|| -> Result<_, lookalike::Error> {
        let mut run = Dedup::new(s.config)?;
        run.add_timed_batch(docs);
        run.finish()
    });
    let outcome = outcome.map_err(lib_err)?;
    let n = outcome.kept.len();
    let mut group: Vec<i64> = (0..n as i64).collect();
    let mut similarity = vec![1.0f64; n];
    let mut relation: Vec<Option<&str>> = vec![None; n];
    for g in &outcome.groups {
        let first = g.members[0].index as i64;
        for m in &g.members {
            group[m.index] = first;
            similarity[m.index] = m.similarity;
            relation[m.index] = Some(match m.relation {
                Relation::Exact => "exact",
                Relation::Near => "near",
                Relation::Contains => "contains",
                Relation::ContainedIn => "contained-in",
            });
        }
    }
    let mut kept = BooleanBuilder::with_capacity(n);
    kept.append_slice(&outcome.kept);
    let mut rel = StringBuilder::new();
    for r in relation {
        rel.append_option(r);
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("group", DataType::Int64, false),
        Field::new("kept", DataType::Boolean, false),
        Field::new("similarity", DataType::Float64, false),
        Field::new("relation", DataType::Utf8, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(group)),
        Arc::new(kept.finish()),
        Arc::new(arrow_array::Float64Array::from(similarity)),
        Arc::new(rel.finish()),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| input_err(format!("cannot build the output: {e}")))?;
    let stats = serde_json::to_string(&outcome.stats).unwrap_or_default();
    Ok((table_out(py, vec![batch], schema)?, stats))
}

/// Every figure for one pair, as JSON (the fields of `lookalike compare
/// --json`).
#[pyfunction]
#[pyo3(signature = (a, b, threshold, containment, ngram, unit, slots, seed))]
#[allow(clippy::too_many_arguments)]
fn compare(
    py: Python<'_>,
    a: &str,
    b: &str,
    threshold: f64,
    containment: f64,
    ngram: usize,
    unit: &str,
    slots: usize,
    seed: u64,
) -> PyResult<String> {
    let s = settings(
        threshold, ngram, unit, slots, seed, "first", "exact", 8, 10_000,
    )?;
    let config = CompareConfig {
        fingerprinter: Fingerprinter {
            shingle: s.config.shingle,
            sketch: s.config.sketch,
        },
        threshold,
        containment,
    };
    let c = py.detach(|| config.compare(a, b)).map_err(lib_err)?;
    serde_json::to_string(&c).map_err(|e| input_err(e.to_string()))
}

/// The passages two texts share, as JSON (the fields of `lookalike align
/// --json`).
#[pyfunction]
#[pyo3(signature = (a, b, min_words, max_gap))]
fn align(py: Python<'_>, a: &str, b: &str, min_words: usize, max_gap: usize) -> PyResult<String> {
    let config = AlignConfig {
        min_passage_words: min_words,
        max_gap_words: max_gap,
        ..AlignConfig::default()
    };
    let al = py.detach(|| config.align(a, b));
    serde_json::to_string(&al.view((None, None))).map_err(|e| input_err(e.to_string()))
}

/// A persistent index file, the same one `lookalike index` uses.
#[pyclass(frozen, module = "lookalike._lookalike")]
struct Index {
    inner: LibIndex,
}

#[pymethods]
impl Index {
    /// Open an existing index, or create one when `create` is true. When
    /// opening, the settings named in `given` must be the index's own
    /// (`Index::open_expecting`: refused before an old format is upgraded).
    #[new]
    #[pyo3(signature = (path, create, threshold, ngram, unit, slots, seed, store_text, judge, given))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: std::path::PathBuf,
        create: bool,
        threshold: f64,
        ngram: usize,
        unit: &str,
        slots: usize,
        seed: u64,
        store_text: bool,
        judge: &str,
        given: Vec<String>,
    ) -> PyResult<Index> {
        let judge = parse_judge(judge)?;
        let inner = if create {
            let s = settings(
                threshold, ngram, unit, slots, seed, "first", "exact", 8, 10_000,
            )?;
            let fp = Fingerprinter {
                shingle: s.config.shingle,
                sketch: s.config.sketch,
            };
            let spec = IndexSpec::new(&fp, threshold, store_text)
                .map_err(lib_err)?
                .with_judge(judge);
            py.detach(|| LibIndex::create(&path, spec))
        } else {
            let named = |k: &str| given.iter().any(|g| g == k);
            let unit = parse_unit(unit)?;
            let expected = ExpectedSpec {
                threshold: named("threshold").then_some(threshold),
                ngram: named("ngram").then_some(ngram),
                unit: named("unit").then_some(unit),
                slots: named("slots").then_some(slots),
                seed: named("seed").then_some(seed),
                store_text: named("store_text").then_some(store_text),
                story: named("judge").then_some(judge.is_some()),
            };
            py.detach(|| LibIndex::open_expecting(&path, &expected))
        };
        Ok(Index {
            inner: inner.map_err(lib_err)?,
        })
    }

    /// Check (and with `store`, store) the rows of `data`; JSON list of
    /// the answers, one per row.
    #[pyo3(signature = (data, text_column, id_column, source_column, time_column, store, window))]
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        py: Python<'_>,
        data: AnyRecordBatch,
        text_column: &str,
        id_column: &str,
        source_column: &str,
        time_column: &str,
        store: bool,
        window: Option<&str>,
    ) -> PyResult<String> {
        let window = window
            .map(lookalike::time::parse_span)
            .transpose()
            .map_err(|e| input_err(format!("window: {e}")))?;
        let (batches, _) = read_batches(data)?;
        let mut docs = Vec::new();
        for b in &batches {
            let first = docs.len();
            let texts = strings(b, text_column, first)?;
            let ids = strings(b, id_column, first)?;
            let sources = match b.column_by_name(source_column) {
                Some(_) => Some(optional_strings(b, source_column)?),
                None => None,
            };
            let times = timestamps(b, time_column, first)?;
            for (i, (text, id)) in texts.into_iter().zip(ids).enumerate() {
                docs.push(NewDoc {
                    id,
                    text,
                    source: sources.as_ref().and_then(|s| s[i].clone()),
                    timestamp: times.as_ref().and_then(|t| t[i]),
                });
            }
        }
        let opts = CheckOptions { store, window };
        let checked = py
            .detach(|| self.inner.check_batch(&docs, &opts))
            .map_err(lib_err)?;
        serde_json::to_string(&checked).map_err(|e| input_err(e.to_string()))
    }

    /// Forget documents by id; for each, whether it was stored.
    fn remove(&self, py: Python<'_>, ids: Vec<String>) -> PyResult<Vec<bool>> {
        py.detach(|| self.inner.remove(&ids)).map_err(lib_err)
    }

    /// A stored document as JSON, or None.
    fn get(&self, py: Python<'_>, id: &str) -> PyResult<Option<String>> {
        let doc = py.detach(|| self.inner.get(id)).map_err(lib_err)?;
        // What a person wants of a stored document (as `GET
        // /v1/documents/{id}` gives it), not the record's packed fields.
        Ok(doc.map(|d| {
            serde_json::json!({
                "id": d.id,
                "source": d.source,
                "timestamp": d.timestamp,
                "text": d.text,
            })
            .to_string()
        }))
    }

    /// The format the file had when opening it upgraded it in place.
    #[getter]
    fn upgraded_from(&self) -> Option<u32> {
        self.inner.upgraded_from()
    }

    /// Counts and the spec, as JSON.
    fn stats(&self, py: Python<'_>) -> PyResult<String> {
        let st = py.detach(|| self.inner.stats()).map_err(lib_err)?;
        serde_json::to_string(&st).map_err(|e| input_err(e.to_string()))
    }

    /// Read the whole file and cross-check its tables; the problems found.
    fn verify(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        py.detach(|| self.inner.verify()).map_err(lib_err)
    }
}

/// An optional string column: nulls stay None.
fn optional_strings(batch: &RecordBatch, name: &str) -> PyResult<Vec<Option<String>>> {
    Ok(text_values(column(batch, name)?, name)?
        .into_iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

/// The time column, when present, read as the CLI reads a Parquet time
/// column (`lookalike::time::arrow_time`): integer seconds since 1970,
/// Arrow timestamps (naive ones as UTC), dates (midnight UTC), or text
/// (RFC 3339 or a date). Nulls stay None.
fn timestamps(
    batch: &RecordBatch,
    name: &str,
    first_row: usize,
) -> PyResult<Option<Vec<Option<i64>>>> {
    let Some(col) = batch.column_by_name(name) else {
        return Ok(None);
    };
    (0..col.len())
        .map(|i| {
            lookalike::time::arrow_time(col, i)
                .map_err(|e| input_err(format!("row {}: column {name:?}: {e}", first_row + i)))
        })
        .collect::<PyResult<Vec<_>>>()
        .map(Some)
}

/// The library's defaults as JSON: the one source of the package's keyword
/// defaults (and of Spark's and Ray's), so no front can drift from the
/// engine (tested against every function's signature and the CLI's help).
#[pyfunction]
fn defaults() -> PyResult<String> {
    let d = DedupConfig::default();
    let v = serde_json::json!({
        "threshold": d.threshold,
        "ngram": d.shingle.n,
        "unit": d.shingle.unit,
        "slots": d.sketch.slots,
        "seed": d.shingle.seed,
        "keep": d.keep,
        "verification": d.verification,
        "representatives": d.representatives,
        "bucket_cap": d.bucket_cap,
        "judge": if d.judge.is_some() { "story" } else { "plain" },
        "containment": CompareConfig::default().containment,
        "min_words": AlignConfig::default().min_passage_words,
        "max_gap": AlignConfig::default().max_gap_words,
    });
    Ok(v.to_string())
}

#[pymodule]
fn _lookalike(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("LookalikeError", m.py().get_type::<LookalikeError>())?;
    m.add(
        "LookalikeIndexError",
        m.py().get_type::<LookalikeIndexError>(),
    )?;
    m.add("IndexMissingError", m.py().get_type::<IndexMissingError>())?;
    m.add("IndexExistsError", m.py().get_type::<IndexExistsError>())?;
    m.add("NotAnIndexError", m.py().get_type::<NotAnIndexError>())?;
    m.add("IndexInUseError", m.py().get_type::<IndexInUseError>())?;
    m.add(
        "IndexReadOnlyError",
        m.py().get_type::<IndexReadOnlyError>(),
    )?;
    m.add("IndexFormatError", m.py().get_type::<IndexFormatError>())?;
    m.add(
        "IndexSettingsError",
        m.py().get_type::<IndexSettingsError>(),
    )?;
    m.add("IndexDamagedError", m.py().get_type::<IndexDamagedError>())?;
    m.add("IndexStorageError", m.py().get_type::<IndexStorageError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(fingerprint, m)?)?;
    m.add_function(wrap_pyfunction!(lsh_params, m)?)?;
    m.add_function(wrap_pyfunction!(bucket_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(check_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(dedup, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(align, m)?)?;
    m.add_function(wrap_pyfunction!(defaults, m)?)?;
    m.add_function(wrap_pyfunction!(containment_keys, m)?)?;
    m.add_function(wrap_pyfunction!(holds_enough, m)?)?;
    m.add_function(wrap_pyfunction!(judge_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(stars, m)?)?;
    m.add_class::<Templates>()?;
    m.add_class::<Index>()?;
    Ok(())
}
