//! A load generator for `lookalike serve` over loopback: clients that add and
//! query batches of synthetic news-length documents, recording every
//! acknowledged id, every error and every latency. Used by the bounded load
//! test (`tests/serve.rs`) and by the benchmark (`examples/serve_load.rs`).

#![allow(dead_code)]

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lookalike::synth::{Rng, Vocabulary};
use serde_json::{Value, json};

/// What to send.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Concurrent clients.
    pub clients: usize,
    /// How long to run.
    pub duration: Duration,
    /// Fraction of requests that add (the rest query).
    pub add_fraction: f64,
    /// Documents per add request.
    pub add_batch: usize,
    /// Documents per query request.
    pub query_batch: usize,
    /// Words per document.
    pub words: usize,
    /// Ids are `{prefix}-{client}-{n}`.
    pub prefix: String,
    /// Seed of the texts.
    pub seed: u64,
    /// Stop each client at its first error (the crash harness kills the
    /// server under them); otherwise record errors and go on.
    pub stop_on_error: bool,
}

/// What happened.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Ids acknowledged as stored (the response arrived with `stored: true`).
    pub acked: Vec<String>,
    /// Add requests answered 200, and their latencies.
    pub add_latencies: Vec<Duration>,
    /// Query requests answered 200, and their latencies.
    pub query_latencies: Vec<Duration>,
    /// Every failure: status or transport error.
    pub errors: Vec<String>,
    /// Wall time.
    pub elapsed: Duration,
}

/// A deterministic document of `words` words.
pub fn text(vocab: &Vocabulary, rng: &mut Rng, words: usize) -> String {
    vocab.document(rng, words).join(" ")
}

/// POST a JSON body; the parsed answer, or what went wrong.
pub fn post(agent: &ureq::Agent, url: &str, body: &Value) -> Result<Value, String> {
    post_raw(agent, url, body.to_string())
}

/// POST a body already written as JSON.
pub fn post_raw(agent: &ureq::Agent, url: &str, body: String) -> Result<Value, String> {
    let mut resp = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body)
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let text = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("{status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
}

/// An agent that reports 4xx/5xx as responses, not errors.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// Run the clients until the duration is over.
pub fn run(config: &LoadConfig) -> LoadReport {
    let vocab = Vocabulary::new(20_000, config.seed);
    let report = Mutex::new(LoadReport::default());
    let start = Instant::now();
    std::thread::scope(|scope| {
        for client in 0..config.clients {
            let (vocab, report) = (&vocab, &report);
            scope.spawn(move || {
                let agent = agent();
                let mut rng = Rng::new(config.seed ^ (client as u64 + 1).wrapping_mul(0x9e37));
                let mut n = 0usize;
                // Texts this client added lately: half the queried documents
                // repeat one, so queries find matches as in real traffic.
                let mut recent: Vec<String> = Vec::new();
                while start.elapsed() < config.duration {
                    let add = rng.unit() < config.add_fraction;
                    let size = if add {
                        config.add_batch
                    } else {
                        config.query_batch
                    };
                    let docs: Vec<Value> = (0..size)
                        .map(|_| {
                            n += 1;
                            let t = if !add && !recent.is_empty() && rng.unit() < 0.5 {
                                recent[rng.below(recent.len() as u64) as usize].clone()
                            } else {
                                text(vocab, &mut rng, config.words)
                            };
                            if add {
                                if recent.len() == 64 {
                                    recent.swap_remove(rng.below(64) as usize);
                                }
                                recent.push(t.clone());
                            }
                            json!({"id": format!("{}-{client}-{n}", config.prefix), "text": t})
                        })
                        .collect();
                    let ids: Vec<String> = docs
                        .iter()
                        .filter_map(|d| d["id"].as_str().map(String::from))
                        .collect();
                    let url = format!(
                        "{}/v1/{}",
                        config.base,
                        if add { "documents" } else { "query" }
                    );
                    let t0 = Instant::now();
                    let answer = post(&agent, &url, &json!({ "documents": docs }));
                    let took = t0.elapsed();
                    let mut r = report.lock().unwrap_or_else(|e| e.into_inner());
                    match answer {
                        Ok(v) => {
                            if add {
                                r.add_latencies.push(took);
                                for (id, res) in ids
                                    .iter()
                                    .zip(v["results"].as_array().map(Vec::as_slice).unwrap_or(&[]))
                                {
                                    if res["stored"] == true {
                                        r.acked.push(id.clone());
                                    }
                                }
                            } else {
                                r.query_latencies.push(took);
                            }
                        }
                        Err(e) => {
                            r.errors.push(e);
                            if config.stop_on_error {
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
    let mut r = report.into_inner().unwrap_or_else(|e| e.into_inner());
    r.elapsed = start.elapsed();
    r
}

/// The q-quantile of some latencies (sorts them).
pub fn quantile(v: &mut [Duration], q: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort_unstable();
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// What a fill did.
#[derive(Debug, Default)]
pub struct FillReport {
    /// Documents acknowledged as stored.
    pub stored: usize,
    /// Every failure: status or transport error.
    pub errors: Vec<String>,
    /// Wall time of the sending alone.
    pub elapsed: Duration,
}

/// Add `total` new documents in batches of `batch` from `clients` clients.
/// Every request body is written before the clock starts, so the time is the
/// service's, not the generator's: on a small machine the two share the
/// cores, and writing 300-word texts and their JSON took most of a core.
pub fn fill(
    base: &str,
    total: usize,
    batch: usize,
    clients: usize,
    words: usize,
    seed: u64,
) -> FillReport {
    let vocab = Vocabulary::new(20_000, seed);
    let stored = std::sync::atomic::AtomicUsize::new(0);
    let errors = Mutex::new(Vec::new());
    let ready = std::sync::Barrier::new(clients + 1);
    let elapsed = std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(clients);
        for client in 0..clients {
            let (vocab, stored, errors, ready) = (&vocab, &stored, &errors, &ready);
            handles.push(scope.spawn(move || {
                let mut rng = Rng::new(seed ^ (client as u64 + 1).wrapping_mul(0x51_7cc1));
                let share = total / clients + usize::from(client < total % clients);
                let mut bodies = Vec::with_capacity(share.div_ceil(batch.max(1)));
                let mut n = 0;
                while n < share {
                    let size = batch.min(share - n);
                    let docs: Vec<Value> = (0..size)
                        .map(|i| json!({"id": format!("fill-{client}-{}", n + i), "text": text(vocab, &mut rng, words)}))
                        .collect();
                    n += size;
                    bodies.push(json!({ "documents": docs }).to_string());
                }
                let agent = agent();
                let url = format!("{base}/v1/documents");
                ready.wait();
                for body in bodies {
                    match post_raw(&agent, &url, body) {
                        Ok(v) => {
                            let ok = v["results"]
                                .as_array()
                                .map_or(0, |r| r.iter().filter(|x| x["stored"] == true).count());
                            stored.fetch_add(ok, std::sync::atomic::Ordering::Relaxed);
                        }
                        Err(e) => errors.lock().unwrap_or_else(|e| e.into_inner()).push(e),
                    }
                }
            }));
        }
        ready.wait();
        let start = Instant::now();
        for h in handles {
            if h.join().is_err() {
                errors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push("a client panicked".into());
            }
        }
        start.elapsed()
    });
    FillReport {
        stored: stored.into_inner(),
        errors: errors.into_inner().unwrap_or_else(|e| e.into_inner()),
        elapsed,
    }
}
