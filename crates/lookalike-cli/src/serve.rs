//! `lookalike serve`: the HTTP service over an index (`lookalike-server`).

use std::time::Duration;

use anyhow::{Context, Result};
use lookalike_server::{Config, Limits};

use crate::args::ServeArgs;

pub fn run(args: ServeArgs) -> Result<()> {
    let token = match &args.token_file {
        Some(f) => {
            let t = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read the token file {}", f.display()))?;
            let t = t.trim().to_string();
            if t.is_empty() {
                return Err(lookalike::Error::Config(format!(
                    "{} is empty; put the token in it",
                    f.display()
                ))
                .into());
            }
            Some(t)
        }
        None => None,
    };
    if token.is_none() && !args.addr.ip().to_canonical().is_loopback() {
        eprintln!(
            "lookalike: warning: listening on {} without --token-file: anyone who can reach it can add and remove documents",
            args.addr
        );
    }
    if let Some(dir) = args.backup_dir.as_ref().filter(|d| !d.is_dir()) {
        return Err(anyhow::anyhow!(
            "--backup-dir {}: not a directory; create it first",
            dir.display()
        ));
    }
    let index = crate::index::open(&args.index)?;
    let config = Config {
        addr: args.addr,
        token,
        limits: Limits {
            max_body_bytes: args.max_body,
            max_document_bytes: args.max_document,
            max_batch: args.max_batch,
            timeout: Duration::from_secs(args.timeout.max(1) as u64),
        },
        allow_origins: args.allow_origins,
        backup_dir: args.backup_dir,
    };
    let name = args.index.display().to_string();
    lookalike_server::run(index, config, |addr| {
        eprintln!("lookalike: serving {name} on http://{addr}");
        eprintln!("lookalike: the desk page for people: http://{addr}/");
    })?;
    eprintln!("lookalike: stopped; {name} closed cleanly");
    Ok(())
}
