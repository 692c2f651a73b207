//! Debian's headless Chromium, driven over the DevTools protocol (a
//! WebSocket of JSON commands): load a page, type and press keys as a
//! person would, run a script in the page to read its state, take
//! screenshots at a given window size.
//!
//! Why not a crate: `headless_chrome` generates its protocol types at build
//! time from a file it downloads, which a machine without internet access
//! (CI's) cannot do; the handful of commands the tests need are plain JSON.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// Debian's Chromium, if installed. `scripts/test` installs it and sets
/// LOOKALIKE_REQUIRE_BROWSER, so in CI a missing browser is a failure.
pub fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::var_os("PATH")?
            .to_str()?
            .split(':')
            .map(|d| Path::new(d).join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() && std::env::var_os("LOOKALIKE_REQUIRE_BROWSER").is_some() {
        panic!("chromium is not installed: `apt-get install chromium` (scripts/test does it)");
    }
    found
}

/// Flags for a quiet, reproducible headless browser.
pub const FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
];

/// How long a wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// A running browser with one tab attached.
pub struct Browser {
    child: Child,
    ws: WebSocket<TcpStream>,
    next_id: u64,
    /// The attached tab's session.
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Start the browser with a window of `width` × `height` pixels and
    /// open one blank tab.
    pub fn launch(path: &Path, width: u32, height: u32) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(path)
            .args(FLAGS)
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("--remote-debugging-port=0")
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut said = String::new();
        let url = loop {
            let Some(Ok(line)) = lines.next() else {
                panic!("chromium stopped before it listened: {said}");
            };
            if let Some(at) = line.find("ws://") {
                break line[at..].trim().to_string();
            }
            said.push_str(&line);
            said.push('\n');
        };
        // Keep reading what it prints, so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        let host = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .expect("host")
            .to_string();
        let stream = TcpStream::connect(&host).expect("connect to chromium");
        stream
            .set_read_timeout(Some(PATIENCE))
            .expect("read timeout");
        let (ws, _) = tungstenite::client(url.as_str(), stream).expect("DevTools handshake");
        let mut b = Browser {
            child,
            ws,
            next_id: 0,
            session: String::new(),
            _profile: profile,
        };
        b.new_tab();
        b
    }

    /// Open a new tab (its own `sessionStorage`) and drive it from now on.
    pub fn new_tab(&mut self) {
        let target = self.call_browser("Target.createTarget", json!({"url": "about:blank"}));
        let id = target["targetId"].as_str().expect("targetId").to_string();
        let attached = self.call_browser(
            "Target.attachToTarget",
            json!({"targetId": id, "flatten": true}),
        );
        self.session = attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_string();
        self.call("Page.enable", json!({}));
    }

    fn send(&mut self, method: &str, params: Value, session: Option<String>) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .expect("send to chromium");
        loop {
            let reply = self.ws.read().expect("read from chromium");
            let Message::Text(text) = reply else { continue };
            let v: Value = serde_json::from_str(text.as_str()).expect("DevTools JSON");
            // Events (no id) and answers to nothing we wait for are skipped.
            if v["id"].as_u64() != Some(id) {
                continue;
            }
            if let Some(e) = v.get("error") {
                panic!("{method} failed: {e}");
            }
            return v["result"].clone();
        }
    }

    fn call_browser(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, None)
    }

    /// A command to the attached tab.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let s = self.session.clone();
        self.send(method, params, Some(s))
    }

    /// Load `url` and wait until it and its scripts have loaded.
    pub fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        self.wait_for(
            "document.readyState === 'complete' && location.href !== 'about:blank'",
            &format!("{url} to load"),
        );
    }

    /// Run `js` in the page (promises awaited) and return its value.
    pub fn eval(&mut self, js: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("script failed: {js}\n{e}");
        }
        r["result"]["value"].clone()
    }

    /// Wait until `js` is true in the page; fail with what was awaited and
    /// the page's text.
    pub fn wait_for(&mut self, js: &str, what: &str) {
        let start = Instant::now();
        loop {
            if self.eval(&format!("Boolean({js})")) == json!(true) {
                return;
            }
            if start.elapsed() > PATIENCE {
                let text = self.eval("document.body ? document.body.innerText : ''");
                panic!("waited {PATIENCE:?} for {what} ({js}); the page shows:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Type text into whatever has the focus, as a keyboard would.
    pub fn type_text(&mut self, text: &str) {
        self.call("Input.insertText", json!({"text": text}));
    }

    /// Press and release a key: `Tab`, `Enter`, `Escape`, `Space`, or
    /// `Shift+Tab`.
    pub fn press(&mut self, key: &str) {
        let (shift, key) = match key.strip_prefix("Shift+") {
            Some(k) => (true, k),
            None => (false, key),
        };
        let (name, code, text) = match key {
            "Tab" => ("Tab", 9, ""),
            "Enter" => ("Enter", 13, "\r"),
            "Escape" => ("Escape", 27, ""),
            "Space" => (" ", 32, " "),
            other => panic!("no key {other} here"),
        };
        let modifiers = if shift { 8 } else { 0 };
        let mut down = json!({"type": "keyDown", "key": name, "code": if key == "Space" { "Space" } else { name },
            "windowsVirtualKeyCode": code, "modifiers": modifiers});
        if !text.is_empty() {
            down["text"] = json!(text);
        }
        self.call("Input.dispatchKeyEvent", down);
        self.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyUp", "key": name, "windowsVirtualKeyCode": code, "modifiers": modifiers}),
        );
    }

    /// Press Tab until the element `selector` has the focus (at most 60
    /// times): how a keyboard user reaches it.
    pub fn tab_to(&mut self, selector: &str) {
        let check = format!("document.activeElement === document.querySelector({selector:?})");
        for _ in 0..60 {
            if self.eval(&check) == json!(true) {
                return;
            }
            self.press("Tab");
        }
        panic!("Tab never reached {selector}");
    }

    /// Give the file input `selector` these files, as choosing them would.
    pub fn set_files(&mut self, selector: &str, files: &[&Path]) {
        let doc = self.call("DOM.getDocument", json!({}));
        let root = doc["root"]["nodeId"].clone();
        let node = self.call(
            "DOM.querySelector",
            json!({"nodeId": root, "selector": selector}),
        );
        let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        self.call(
            "DOM.setFileInputFiles",
            json!({"nodeId": node["nodeId"], "files": paths}),
        );
    }

    /// Click the left mouse button at (x, y) in the viewport's CSS pixels.
    pub fn click_at(&mut self, x: f64, y: f64) {
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }

    /// Move the mouse to (x, y) (away from what it hovered).
    pub fn move_mouse(&mut self, x: f64, y: f64) {
        self.call(
            "Input.dispatchMouseEvent",
            json!({"type": "mouseMoved", "x": x, "y": y}),
        );
    }

    /// Resize the viewport (`mobile`: a phone's, with touch metrics).
    pub fn resize(&mut self, width: u32, height: u32, mobile: bool) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
    }

    /// A PNG of the viewport, written to `path`.
    pub fn screenshot(&mut self, path: &Path) -> Vec<u8> {
        use base64::Engine;
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("data"))
            .expect("base64");
        std::fs::write(path, &png).expect("write screenshot");
        png
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
