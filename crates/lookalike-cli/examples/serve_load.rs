//! Load generator for `lookalike serve`, used by `bench/serve` for the
//! figures in BENCHMARKS.md. Prints one JSON object.
//!
//!   serve_load fill --base http://127.0.0.1:PORT --docs 1000000
//!   serve_load load --base http://127.0.0.1:PORT --clients 8 --seconds 30

#[path = "../tests/support/load.rs"]
mod load;

use std::time::Duration;

use clap::{Parser, Subcommand};
use serde_json::json;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Add new documents in batches as fast as the service takes them.
    Fill {
        #[arg(long)]
        base: String,
        /// Documents to add.
        #[arg(long, default_value_t = 1_000_000)]
        docs: usize,
        /// Documents per request.
        #[arg(long, default_value_t = 1_000)]
        batch: usize,
        /// Concurrent clients.
        #[arg(long, default_value_t = 2)]
        clients: usize,
        /// Words per document.
        #[arg(long, default_value_t = 300)]
        words: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Mixed traffic for a while; latency quantiles per kind of request.
    Load(LoadArgs),
}

#[derive(clap::Args)]
struct LoadArgs {
    #[arg(long)]
    base: String,
    #[arg(long, default_value_t = 8)]
    clients: usize,
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Share of requests that add (the rest query).
    #[arg(long, default_value_t = 0.3)]
    add_fraction: f64,
    /// Documents per add request.
    #[arg(long, default_value_t = 100)]
    add_batch: usize,
    /// Documents per query request.
    #[arg(long, default_value_t = 1)]
    query_batch: usize,
    /// Words per document.
    #[arg(long, default_value_t = 300)]
    words: usize,
    /// Prefix of the ids added (distinct per run).
    #[arg(long, default_value = "load")]
    prefix: String,
    #[arg(long, default_value_t = 2)]
    seed: u64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    match Cli::parse().command {
        Mode::Fill {
            base,
            docs,
            batch,
            clients,
            words,
            seed,
        } => {
            let r = load::fill(&base, docs, batch, clients, words, seed);
            let (stored, s) = (r.stored, r.elapsed.as_secs_f64());
            println!(
                "{}",
                json!({"mode": "fill", "docs": docs, "stored": stored, "errors": r.errors.len(),
                       "first_error": r.errors.first(),
                       "seconds": s, "docs_per_second": stored as f64 / s, "batch": batch,
                       "clients": clients, "words": words})
            );
        }
        Mode::Load(a) => {
            let (clients, add_fraction, add_batch, query_batch) =
                (a.clients, a.add_fraction, a.add_batch, a.query_batch);
            let config = load::LoadConfig {
                base: a.base,
                clients,
                duration: Duration::from_secs(a.seconds),
                add_fraction,
                add_batch,
                query_batch,
                words: a.words,
                prefix: a.prefix,
                seed: a.seed,
                stop_on_error: false,
            };
            let mut r = load::run(&config);
            let s = r.elapsed.as_secs_f64();
            let (adds, queries) = (r.add_latencies.len(), r.query_latencies.len());
            println!(
                "{}",
                json!({"mode": "load", "clients": clients, "seconds": s, "errors": r.errors.len(),
                       "first_error": r.errors.first(),
                       "add_fraction": add_fraction, "add_batch": add_batch, "query_batch": query_batch,
                       "adds": adds, "queries": queries,
                       "added_docs_per_second": r.acked.len() as f64 / s,
                       "queries_per_second": queries as f64 / s,
                       "query_ms": {"p50": ms(load::quantile(&mut r.query_latencies, 0.5)),
                                    "p99": ms(load::quantile(&mut r.query_latencies, 0.99))},
                       "add_ms": {"p50": ms(load::quantile(&mut r.add_latencies, 0.5)),
                                  "p99": ms(load::quantile(&mut r.add_latencies, 0.99))}})
            );
        }
    }
}
