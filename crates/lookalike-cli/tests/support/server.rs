//! A real `lookalike serve` on loopback, for the service's and the desk
//! page's tests.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// The binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lookalike"))
}

pub fn create_index(path: &Path, extra: &[&str]) {
    let o = bin()
        .args(["index", "create"])
        .arg(path)
        .args(extra)
        .output()
        .expect("run lookalike");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A running `lookalike serve`, its address, and everything it printed.
pub struct Server {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    pub fn start(index: &Path, extra: &[&str]) -> Server {
        let mut child = bin()
            .args(["serve", "--addr", "127.0.0.1:0", "--index"])
            .arg(index)
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn lookalike serve");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut log = String::new();
        let base = loop {
            let Some(Ok(line)) = lines.next() else {
                panic!("lookalike serve stopped before listening: {log}");
            };
            log.push_str(&line);
            log.push('\n');
            if let Some(at) = line.find("http://") {
                break line[at..].trim().to_string();
            }
        };
        let log = Arc::new(Mutex::new(log));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let mut l = sink.lock().unwrap_or_else(|e| e.into_inner());
                l.push_str(&line);
                l.push('\n');
            }
        });
        Server { child, base, log }
    }

    /// Everything it printed so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
