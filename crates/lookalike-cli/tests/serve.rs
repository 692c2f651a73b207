//! `lookalike serve` as a user runs it: the real binary on loopback. Graceful
//! SIGTERM, the SIGKILL crash harness (the server and `index add`, 50 kills
//! each: nothing acknowledged is lost, the index stays whole), and a bounded
//! load test with zero errors.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use lookalike::index::Index;
use lookalike::synth::{Rng, Vocabulary};
use serde_json::json;
use support::load;
use support::server::{Server, bin, create_index};

/// Every acknowledged id is in the index, and its tables agree.
fn assert_whole(index: &Path, acked: &[String], when: &str) {
    let ix = Index::open(index).unwrap_or_else(|e| panic!("{when}: reopen: {e}"));
    let problems = ix.verify().expect("verify");
    assert!(problems.is_empty(), "{when}: {problems:?}");
    for id in acked {
        assert!(
            ix.get(id).expect("get").is_some(),
            "{when}: acknowledged {id} is lost"
        );
    }
}

#[test]
fn serves_over_loopback_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ix = dir.path().join("news.redb");
    create_index(&ix, &["--store-text"]);
    let token = dir.path().join("token");
    std::fs::write(&token, "let-me-in\n").expect("write");
    let mut server = Server::start(&ix, &["--token-file", token.to_str().expect("utf8")]);
    let agent = load::agent();

    // The token is required on /v1, and health needs none.
    let r = agent
        .get(format!("{}/v1/stats", server.base))
        .call()
        .expect("call");
    assert_eq!(r.status(), 401);
    let r = agent
        .get(format!("{}/healthz", server.base))
        .call()
        .expect("call");
    assert_eq!(r.status(), 200);

    // A large batch in flight when SIGTERM arrives is finished and answered.
    let vocab = Vocabulary::new(5_000, 1);
    let mut rng = Rng::new(1);
    let docs: Vec<_> = (0..3_000)
        .map(|i| json!({"id": format!("d{i}"), "text": load::text(&vocab, &mut rng, 300)}))
        .collect();
    let url = format!("{}/v1/documents", server.base);
    let in_flight = std::thread::spawn(move || {
        let mut resp = agent
            .post(&url)
            .header("authorization", "Bearer let-me-in")
            .header("content-type", "application/json")
            .send(json!({ "documents": docs }).to_string())
            .expect("the request in flight is answered");
        let status = resp.status();
        let body: serde_json::Value =
            serde_json::from_str(&resp.body_mut().read_to_string().expect("body")).expect("json");
        (status, body)
    });
    std::thread::sleep(Duration::from_millis(300));
    let term = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    let (status, body) = in_flight.join().expect("client");
    assert_eq!(status, 200, "{body}");
    let exit = server.child.wait().expect("wait");
    assert!(exit.success(), "exit {exit:?}: {}", server.log());
    std::thread::sleep(Duration::from_millis(100));
    assert!(server.log().contains("closed cleanly"), "{}", server.log());
    let acked: Vec<String> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["stored"] == true)
        .filter_map(|r| r["id"].as_str().map(String::from))
        .collect();
    assert_eq!(acked.len(), 3_000);
    assert_whole(&ix, &acked, "after SIGTERM");
}

/// A second process cannot use an index the service holds, and is told
/// why in words that name the cause (not "not a lookalike index").
#[test]
fn a_second_process_is_told_the_index_is_in_use() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ix = dir.path().join("held.redb");
    create_index(&ix, &[]);
    let _server = Server::start(&ix, &[]);
    let o = bin()
        .args(["index", "stats"])
        .arg(&ix)
        .output()
        .expect("run lookalike");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("in use") && err.contains("lookalike serve"),
        "{err}"
    );
    assert!(!err.contains("not a lookalike index"), "{err}");
}

/// How many times each crash harness kills its process.
const KILLS: usize = 50;

#[test]
#[ignore = "heavy: scripts/test runs it in a step of its own (cargo test -- --ignored)"]
fn sigkill_during_ingest_never_loses_an_acknowledged_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ix = dir.path().join("crash.redb");
    // Threshold 0.8 (21 bands) keeps the 50 consistency checks quick.
    create_index(&ix, &["--threshold", "0.8"]);
    let mut rng = Rng::new(7);
    let mut acked: Vec<String> = Vec::new();
    for round in 0..KILLS {
        let server = Server::start(&ix, &[]);
        let config = load::LoadConfig {
            base: server.base.clone(),
            clients: 2,
            duration: Duration::from_secs(3600),
            add_fraction: 0.8,
            add_batch: 20,
            query_batch: 5,
            words: 60,
            prefix: format!("r{round}"),
            seed: round as u64,
            stop_on_error: true,
        };
        // The clients run until the server dies under them.
        let clients = std::thread::spawn(move || load::run(&config));
        std::thread::sleep(Duration::from_millis(30 + rng.below(250)));
        drop(server); // SIGKILL, then reap.
        let report = clients.join().expect("clients");
        acked.extend(report.acked);
        assert_whole(&ix, &acked, &format!("server kill {round}"));
    }
    assert!(
        acked.len() > KILLS * 20,
        "the harness must ingest something: {} acknowledged",
        acked.len()
    );
}

#[test]
#[ignore = "heavy: scripts/test runs it in a step of its own (cargo test -- --ignored)"]
fn sigkill_during_index_add_never_loses_a_printed_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ix = dir.path().join("crash.redb");
    create_index(&ix, &["--threshold", "0.8"]);
    let vocab = Vocabulary::new(5_000, 3);
    let mut rng = Rng::new(3);
    let input: PathBuf = dir.path().join("in.jsonl");
    let lines: String = (0..40_000)
        .map(|i| {
            json!({"id": format!("d{i}"), "text": load::text(&vocab, &mut rng, 40)}).to_string()
                + "\n"
        })
        .collect();
    std::fs::write(&input, lines).expect("write");
    let mut acked: Vec<String> = Vec::new();
    for round in 0..KILLS {
        let mut child = bin()
            .args(["index", "add", "--quiet"])
            .arg(&ix)
            .arg(&input)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn index add");
        let stdout = child.stdout.take().expect("stdout");
        // A printed line is an acknowledgement: it is written after its
        // batch commits. Stored now, or stored by an earlier round.
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
                .filter_map(|v| v["id"].as_str().map(String::from))
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(20 + rng.below(400)));
        let _ = child.kill();
        let _ = child.wait();
        acked.extend(reader.join().expect("reader"));
        assert_whole(&ix, &acked, &format!("index add kill {round}"));
    }
}

#[test]
#[ignore = "heavy: scripts/test runs it in a step of its own (cargo test -- --ignored)"]
fn eight_clients_of_mixed_traffic_see_no_error() {
    let seconds: u64 = std::env::var("LOOKALIKE_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().expect("tempdir");
    let ix = dir.path().join("load.redb");
    create_index(&ix, &[]);
    let server = Server::start(&ix, &[]);
    let config = load::LoadConfig {
        base: server.base.clone(),
        clients: 8,
        duration: Duration::from_secs(seconds),
        add_fraction: 0.3,
        add_batch: 50,
        query_batch: 10,
        words: 300,
        prefix: "load".into(),
        seed: 11,
        stop_on_error: false,
    };
    let mut report = load::run(&config);
    assert!(
        report.errors.is_empty(),
        "{:?}",
        &report.errors[..report.errors.len().min(5)]
    );
    assert!(!report.add_latencies.is_empty() && !report.query_latencies.is_empty());
    eprintln!(
        "load: {} adds, {} queries in {:?}; query p50 {:?} p99 {:?}; add p99 {:?}",
        report.add_latencies.len(),
        report.query_latencies.len(),
        report.elapsed,
        load::quantile(&mut report.query_latencies, 0.5),
        load::quantile(&mut report.query_latencies, 0.99),
        load::quantile(&mut report.add_latencies, 0.99),
    );
    drop(server);
    assert_whole(&ix, &report.acked, "after the load");
}

#[test]
fn a_request_slower_than_the_timeout_gets_a_json_408() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().expect("tempdir");
    let ix = dir.path().join("t.redb");
    create_index(&ix, &[]);
    let server = Server::start(&ix, &["--timeout", "1s"]);
    let addr = server.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    // Promise a body and send only part of it: the request can never finish.
    stream
        .write_all(
            b"POST /v1/documents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"documents\": [",
        )
        .expect("write");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut answer = String::new();
    let mut buf = [0u8; 4096];
    while !answer.contains("}}") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    let stats = load::agent()
        .get(format!("{}/v1/stats", server.base))
        .call()
        .expect("the service is still up")
        .body_mut()
        .read_to_string()
        .expect("body");
    assert!(stats.contains("\"documents\":0"), "{stats}");
}
