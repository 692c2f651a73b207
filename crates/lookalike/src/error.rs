//! The library's error type.

use std::fmt;
use std::path::PathBuf;

/// Where in the input something happened: a file (or `<stdin>`), and the
/// line (JSON Lines) or row (Parquet) when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The file as the user named it, or `<stdin>`.
    pub path: String,
    /// 1-based line number (JSON Lines) or 0-based row (Parquet), if any.
    pub record: Option<Record>,
}

/// A position inside a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// 1-based line of a text file.
    Line(u64),
    /// 0-based row of a table.
    Row(u64),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.record {
            None => write!(f, "{}", self.path),
            Some(Record::Line(n)) => write!(f, "{}:{}", self.path, n),
            Some(Record::Row(n)) => write!(f, "{} row {}", self.path, n),
        }
    }
}

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A record of the input is not what it should be.
    #[error("{place}: {reason}")]
    InvalidRecord {
        /// Where the record is.
        place: Place,
        /// What is wrong and what to do about it.
        reason: String,
    },
    /// Two documents have the same id.
    #[error(
        "duplicate id {id:?}: first at {first}, again at {second}; ids must be unique across all inputs (choose another --id-field, or deduplicate the inputs separately)"
    )]
    DuplicateId {
        /// The id.
        id: String,
        /// Where it was first seen.
        first: Place,
        /// Where it was seen again.
        second: Place,
    },
    /// A setting is out of range or settings contradict each other.
    #[error("{0}")]
    Config(String),
    /// The index file could not be used.
    #[error("index {}: {message}", path.display())]
    Index {
        /// The index file.
        path: PathBuf,
        /// What kind of trouble: each front end says what to do about it
        /// in its own terms (the CLI its commands and exit codes, the
        /// service its status codes, Python its exception classes).
        problem: IndexProblem,
        /// What went wrong, in terms of the file (no front end's commands).
        message: String,
    },
}

/// What is wrong with an index file or the work on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum IndexProblem {
    /// No file at the path.
    Missing,
    /// Creating it was refused: a file is already there.
    Exists,
    /// The file is not a lookalike index (not a database, or no metadata).
    NotAnIndex,
    /// Another process holds the file (one process at a time).
    InUse,
    /// The file cannot be opened for writing (opening checks and commits).
    ReadOnly,
    /// Written in a format this build does not read.
    Format,
    /// Settings asked for differ from those the index was created with.
    Settings,
    /// The contents are damaged: a page, a record or the metadata.
    Damaged,
    /// The database or the disk failed while working (I/O, no space).
    Storage,
    /// An earlier operation panicked while holding the index.
    Poisoned,
}

impl IndexProblem {
    /// The problem's stable name (`in-use`, `damaged`, ...), as the
    /// service's error codes and Python's exception classes use it.
    pub fn name(self) -> &'static str {
        match self {
            IndexProblem::Missing => "missing",
            IndexProblem::Exists => "exists",
            IndexProblem::NotAnIndex => "not-an-index",
            IndexProblem::InUse => "in-use",
            IndexProblem::ReadOnly => "read-only",
            IndexProblem::Format => "format",
            IndexProblem::Settings => "settings",
            IndexProblem::Damaged => "damaged",
            IndexProblem::Storage => "storage",
            IndexProblem::Poisoned => "poisoned",
        }
    }
}

impl Error {
    /// An index error of kind `problem` on `path`.
    pub fn index(
        path: impl Into<PathBuf>,
        problem: IndexProblem,
        message: impl Into<String>,
    ) -> Error {
        Error::Index {
            path: path.into(),
            problem,
            message: message.into(),
        }
    }

    /// The index problem, when this is an index error.
    pub fn index_problem(&self) -> Option<IndexProblem> {
        match self {
            Error::Index { problem, .. } => Some(*problem),
            _ => None,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
