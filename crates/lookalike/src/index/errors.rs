//! The index's failures by kind ([`IndexProblem`]), each naming the file.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use crate::error::{Error, IndexProblem, Result};

/// A failure while working on the index that is not the database's: the
/// disk, a thread, an encoding.
pub(super) fn err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::index(path, IndexProblem::Storage, e.to_string())
}

/// A database error while working on the index, by its kind: damage redb
/// finds in a page, or a table missing or of another type, is damage (the
/// file cannot be trusted; retrying will not help); anything else is the
/// storage failing (the disk, no space), which may pass.
pub(super) fn db_err(path: &Path, e: impl Into<redb::Error>) -> Error {
    let e: redb::Error = e.into();
    let problem = match &e {
        redb::Error::Corrupted(_)
        | redb::Error::TableDoesNotExist(_)
        | redb::Error::TableTypeMismatch { .. }
        | redb::Error::TableIsMultimap(_)
        | redb::Error::TableIsNotMultimap(_)
        | redb::Error::TypeDefinitionChanged { .. } => IndexProblem::Damaged,
        _ => IndexProblem::Storage,
    };
    Error::index(path, problem, e.to_string())
}

/// Stored document `n` decoded; a record that does not decode is damage.
pub(super) fn decode<T: serde::de::DeserializeOwned>(
    path: &Path,
    n: u64,
    bytes: &[u8],
) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| damaged(path, format!("corrupt document {n}: {e}")))
}

/// Damage found in the index's contents.
pub(super) fn damaged(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::index(path, IndexProblem::Damaged, e.to_string())
}

/// Why a file could not be opened as a database, in words that name the
/// real cause.
pub(super) fn open_error(path: &Path, e: redb::DatabaseError) -> Error {
    use redb::{DatabaseError, StorageError};
    let (problem, message) = match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => (
            IndexProblem::InUse,
            "in use: another process has it open (one process at a time)".to_string(),
        ),
        DatabaseError::Storage(StorageError::Corrupted(why)) if why.contains("magic") => (
            IndexProblem::NotAnIndex,
            format!("not a lookalike index (not a database file: {why})"),
        ),
        DatabaseError::Storage(StorageError::Corrupted(why)) => (
            IndexProblem::Damaged,
            format!(
                "damaged ({why}); it cannot be read safely: restore it from a backup, or rebuild \
                 it from the documents"
            ),
        ),
        DatabaseError::Storage(StorageError::Io(io)) if io.to_string().contains("magic number") => {
            (
                IndexProblem::NotAnIndex,
                format!("not a lookalike index (not a database file: {io})"),
            )
        }
        DatabaseError::Storage(StorageError::Io(io))
            if io.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            (
                IndexProblem::Damaged,
                "damaged: the file ends early (cut short?); restore it from a backup, or rebuild \
                 it from the documents"
                    .to_string(),
            )
        }
        DatabaseError::Storage(StorageError::Io(io))
            if matches!(
                io.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            (
                IndexProblem::ReadOnly,
                format!(
                    "cannot open it for writing ({io}): an index is opened read-write, even to \
                     query it (its pages are checked and the check is committed); give this \
                     user write access, or work on a copy"
                ),
            )
        }
        DatabaseError::Storage(StorageError::Io(io)) => {
            (IndexProblem::Storage, format!("cannot read it: {io}"))
        }
        other => (
            IndexProblem::NotAnIndex,
            format!("not a lookalike index ({other})"),
        ),
    };
    Error::index(path, problem, message)
}

pub(super) fn lock_err(path: &Path) -> Error {
    Error::index(
        path,
        IndexProblem::Poisoned,
        "an earlier operation panicked while holding the index; restart",
    )
}

/// Run `f`, a read or write of the open index: a panic inside it (redb
/// meeting a page damaged after the file was opened and every page's
/// checksum checked) becomes damage naming the file, never a crash of the
/// process that holds it. A writer's turn cut short this way leaves its
/// lock poisoned, so later writes are refused ([`IndexProblem::Poisoned`])
/// until the index is opened again, and checked.
pub(super) fn guard<T>(path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(damaged(
            path,
            "damaged while open: a page of it could not be read; close it and open it again \
             (opening checks every page)",
        ))
    })
}
