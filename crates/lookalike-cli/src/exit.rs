//! Exit codes, and the one place library errors meet the command line.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (also when stdout was closed early, e.g. by `head`) |
//! | 1 | a file could not be read or written, or another runtime error |
//! | 2 | the command line is wrong (unknown flag, value out of range) |
//! | 3 | the input data is invalid (malformed record, duplicate id) |

use lookalike::Error;

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
    match err.downcast_ref::<Error>() {
        Some(Error::InvalidRecord { .. } | Error::DuplicateId { .. }) => 3,
        Some(Error::Config(_)) => 2,
        _ => 1,
    }
}
