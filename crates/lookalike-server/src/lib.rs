//! The lookalike HTTP service: a persistent index (`lookalike::index`) behind
//! a small JSON API, for streams of documents that must each be checked
//! against everything seen before.
//!
//! One process owns the index file. redb gives one writer and many readers:
//! additions and removals take turns in write transactions (each batch is
//! durable before it is acknowledged), while queries, lookups and alignments
//! run in read transactions beside them. Index work runs on Tokio's blocking
//! pool so slow requests never stall the event loop.
//!
//! `lookalike serve` is a thin front end over [`run`]; tests drive
//! [`router`] directly or over loopback.

#![deny(missing_docs)]

mod api;
mod desk;
mod error;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lookalike::index::Index;

pub use api::{ApiDoc, router};
pub use error::{ApiError, ErrorBody};

/// How the service runs. Every limit has a default suited to news articles
/// and web pages; raise them for book-length documents.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on. Default `127.0.0.1:7878`: loopback, so nothing
    /// outside the machine reaches it unless told otherwise.
    pub addr: SocketAddr,
    /// When set, every `/v1` request needs `Authorization: Bearer <token>`.
    /// Default: none (fine on loopback).
    pub token: Option<String>,
    /// Limits and timeouts.
    pub limits: Limits,
    /// Web origins (`https://desk.example.org`) whose pages may call the
    /// API from a browser. Default: none: only the service's own page.
    pub allow_origins: Vec<String>,
    /// Where `POST /v1/backup` writes copies of the index. Default: none
    /// (backups through the service are off).
    pub backup_dir: Option<std::path::PathBuf>,
}

/// Sizes and times beyond which a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body in bytes (413 beyond). Default 64 MiB: a batch of
    /// a few thousand articles.
    pub max_body_bytes: usize,
    /// Largest single text in bytes (413 beyond, naming the document).
    /// Default 8 MiB: far above any article, small enough that one document
    /// cannot take the service's memory.
    pub max_document_bytes: usize,
    /// Most documents in one batch (413 beyond). Default 10,000.
    pub max_batch: usize,
    /// Longest a request may take, reading included (408 beyond). Default 60 s.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 64 << 20,
            max_document_bytes: 8 << 20,
            max_batch: 10_000,
            timeout: Duration::from_secs(60),
        }
    }
}

/// What the handlers share.
pub struct State {
    /// The open index.
    pub index: Index,
    /// The bearer token, when one is required.
    pub token: Option<String>,
    /// Limits.
    pub limits: Limits,
    /// Web origins whose pages may call the API ([`Config::allow_origins`]).
    pub allow_origins: Vec<String>,
    /// The address the service listens on (a browser's request naming it
    /// as its host is this service's own page).
    pub listen: SocketAddr,
    /// Where backups go ([`Config::backup_dir`]).
    pub backup_dir: Option<std::path::PathBuf>,
}

/// Serve `index` until SIGTERM or Ctrl-C; then finish the requests in
/// flight, close the database and return. `on_ready` is called with the
/// bound address (port 0 picks a free one) before the first request.
pub fn run(index: Index, config: Config, on_ready: impl FnOnce(SocketAddr)) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (listener, listen) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot listen on {}: {e}", config.addr))
            })?;
        let listen = listener.local_addr()?;
        io::Result::Ok((listener, listen))
    })?;
    let state = Arc::new(State {
        index,
        token: config.token,
        limits: config.limits,
        allow_origins: config.allow_origins,
        listen,
        backup_dir: config.backup_dir,
    });
    on_ready(listen);
    rt.block_on(async {
        // The peer's address reaches the handlers: the desk page is served
        // to loopback peers only when there is no token.
        let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
    })?;
    // Every handler has finished; dropping the last reference closes the
    // database file cleanly.
    drop(rt);
    match Arc::try_unwrap(state) {
        Ok(state) => drop(state.index),
        Err(_) => {
            return Err(io::Error::other(
                "requests still hold the index at shutdown",
            ));
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
