//! Exit codes, and the one place library errors meet the command line.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (also when stdout was closed early, e.g. by `head`) |
//! | 1 | a file could not be read or written, or another runtime error |
//! | 2 | the command line is wrong (unknown flag, value out of range) |
//! | 3 | the input data is invalid (malformed record, duplicate id) |

use lookalike::{Error, IndexProblem};

/// Print the error, if any, and return the process exit code.
pub fn code(result: anyhow::Result<()>) -> i32 {
    let Err(err) = result else { return 0 };
    for cause in err.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::BrokenPipe {
                return 0;
            }
        }
    }
    eprintln!("lookalike: error: {err:#}");
    let lib = err.chain().find_map(|c| c.downcast_ref::<Error>());
    if let Some(remedy) = lib.and_then(Error::index_problem).and_then(remedy) {
        eprintln!("lookalike: {remedy}");
    }
    match lib {
        Some(Error::InvalidRecord { .. } | Error::DuplicateId { .. }) => 3,
        Some(Error::Config(_)) => 2,
        Some(e) if e.index_problem() == Some(IndexProblem::Settings) => 2,
        _ => 1,
    }
}

/// What to do about an index problem, in the command line's terms (the
/// library's message says what is wrong with the file).
fn remedy(problem: IndexProblem) -> Option<&'static str> {
    Some(match problem {
        IndexProblem::Missing => "create it first: `lookalike index create PATH`",
        IndexProblem::Exists => {
            "open it with `lookalike index add`/`index query`, or choose another path"
        }
        IndexProblem::InUse => {
            "one process at a time: send the documents to the running `lookalike serve` that \
             holds it (a backup: `POST /v1/backup`), or wait until the other `lookalike index` \
             command ends"
        }
        IndexProblem::Format => {
            "use the lookalike that made it, or rebuild the index from its documents"
        }
        IndexProblem::Settings => {
            "drop the settings flags to use the index's own, or create a new index"
        }
        IndexProblem::Poisoned => "restart the command",
        IndexProblem::Damaged => {
            "copy what can still be read into a new index: `lookalike index salvage PATH NEW` \
             (or restore a backup)"
        }
        _ => return None,
    })
}
