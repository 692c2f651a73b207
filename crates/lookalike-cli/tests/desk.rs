//! The desk page (`GET /` of `lookalike serve`) as its users meet it: a real
//! `serve` on loopback, driven in real headless Chromium with the keyboard
//! and the mouse. Check a text, see why it matches, store one, find it among
//! the recent documents, remove it; a stored document full of markup shown
//! as text; the token asked for and kept for the tab only; the service's
//! limits respected; a phone-width window still usable.
//!
//! Screenshots go to `$CARGO_TARGET_TMPDIR/desk/`; with
//! `LOOKALIKE_SCREENSHOTS=DIR` (an absolute path) they are also copied to
//! DIR; the README's pictures were made so:
//! `LOOKALIKE_SCREENSHOTS=$PWD/docs cargo test --release -p lookalike-cli --test desk`.

mod support;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use support::browser::{Browser, chromium};
use support::server::{Server, create_index};

/// An article, and a later edit of it: a changed figure, a new closing
/// paragraph, one sentence reworded. Written for these tests.
const STORY: &str = "The harbour bridge will close for six weeks from Monday while engineers \
replace the cables that hold up its northern span, the city council said on Thursday.\n\n\
Traffic will be sent over the old river crossing, adding about twenty minutes to the morning \
journey for most commuters, according to the council's own estimate.\n\n\
The work was brought forward after an inspection in the spring found corrosion in four of the \
twelve main cables. Officials said the bridge remained safe but that waiting another winter \
would raise the cost of the repair.";

const EDIT: &str = "The harbour bridge will close for seven weeks from Monday while engineers \
replace the cables that hold up its northern span, the city council said on Thursday.\n\n\
Traffic will be sent over the old river crossing, adding about twenty minutes to the morning \
journey for most commuters, according to the council's own estimate.\n\n\
The work was brought forward after an inspection in the spring found corrosion in four of the \
twelve main cables. Officials said the bridge remained safe but that waiting another winter \
would raise the cost of the repair.\n\n\
Ferry operators said they would add early sailings for the duration of the closure.";

const OTHER: &str = "The school board voted on Tuesday to keep the library open on Saturdays \
through the summer, reversing a plan announced last month to close it at weekends to save money.";

/// A stored document written to run script if a page ever parsed it.
const HOSTILE: &str = "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"> \
Breaking: the <b>mayor</b> resigns & the council meets tonight to choose who runs the city until the election.";

fn post(base: &str, path: &str, body: Value) -> Value {
    ureq::post(format!("{base}{path}"))
        .send_json(body)
        .expect("request")
        .body_mut()
        .read_json()
        .expect("JSON")
}

fn status_of(base: &str, path: &str) -> u16 {
    match ureq::get(format!("{base}{path}")).call() {
        Ok(r) => r.status().as_u16(),
        Err(ureq::Error::StatusCode(s)) => s,
        Err(e) => panic!("{e}"),
    }
}

fn store(base: &str, docs: &[(&str, &str)]) {
    let documents: Vec<Value> = docs
        .iter()
        .map(|(id, text)| json!({"id": id, "text": text, "source": "wire", "timestamp": "2026-11-30T08:00:00Z"}))
        .collect();
    let r = post(base, "/v1/documents", json!({"documents": documents}));
    assert!(
        r["results"]
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x["stored"] == json!(true))),
        "{r}"
    );
}

fn shots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("desk");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// A screenshot of the viewport; checked to be a real picture (not one
/// colour), and copied to `LOOKALIKE_SCREENSHOTS` when set. Returns its
/// pixels as RGB.
fn screenshot(b: &mut Browser, name: &str) -> Vec<[u8; 3]> {
    let path = shots().join(name);
    let png = b.screenshot(&path);
    let mut reader = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .expect("png");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("frame");
    let step = info.color_type.samples();
    let pixels: Vec<[u8; 3]> = buf[..info.buffer_size()]
        .chunks(step)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    let unlike_first = pixels.iter().filter(|p| **p != pixels[0]).count();
    assert!(
        unlike_first > 1000,
        "{name}: the screenshot is nearly one colour"
    );
    if let Some(dir) = std::env::var_os("LOOKALIKE_SCREENSHOTS") {
        std::fs::copy(&path, Path::new(&dir).join(name)).expect("copy screenshot");
    }
    pixels
}

/// The ten most common colours, for a failure's message.
fn common(pixels: &[[u8; 3]]) -> Vec<([u8; 3], usize)> {
    let mut counts = std::collections::HashMap::new();
    for p in pixels {
        *counts.entry(*p).or_insert(0) += 1;
    }
    let mut v: Vec<_> = counts.into_iter().collect();
    v.sort_by_key(|c| std::cmp::Reverse(c.1));
    v.truncate(10);
    v
}

fn count(pixels: &[[u8; 3]], colour: [u8; 3]) -> usize {
    pixels.iter().filter(|p| **p == colour).count()
}

/// Skip (loudly) when there is no browser; in CI there always is.
fn browser(width: u32, height: u32, test: &str) -> Option<Browser> {
    match chromium() {
        Some(path) => Some(Browser::launch(&path, width, height)),
        None => {
            eprintln!("SKIPPED {test}: chromium is not installed");
            None
        }
    }
}

fn js(s: &str) -> String {
    serde_json::to_string(s).expect("string")
}

/// Wait for the page to have started (token accepted, first loads sent).
fn wait_ready(b: &mut Browser) {
    b.wait_for(
        "document.body.dataset.ready === 'true' && document.querySelector('#stats-list dd')",
        "the desk to start",
    );
}

#[test]
fn desk_checks_explains_stores_lists_and_removes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ix = dir.path().join("desk.redb");
    create_index(&ix, &["--store-text"]);
    let server = Server::start(&ix, &[]);
    let base = server.base.clone();
    store(
        &base,
        &[
            ("harbour-1", STORY),
            ("library-3", OTHER),
            ("hostile", HOSTILE),
        ],
    );
    let Some(mut b) = browser(1360, 1000, "desk_checks_explains_stores_lists_and_removes") else {
        return;
    };
    b.goto(&format!("{base}/"));
    wait_ready(&mut b);

    // Look around: the newest first, the stats.
    b.wait_for(
        "document.querySelectorAll('#recent-body tr').length === 3",
        "three recent documents",
    );
    assert_eq!(
        b.eval("[...document.querySelectorAll('#recent-body tr')].map(r => r.dataset.id)"),
        json!(["hostile", "library-3", "harbour-1"])
    );
    assert!(
        b.eval("document.getElementById('stats-list').innerText")
            .as_str()
            .is_some_and(|t| t.contains("documents\n3") || t.contains("documents\t3")),
        "{}",
        b.eval("document.getElementById('stats-list').innerText")
    );

    // Check a text with the keyboard alone: the text box has the focus on
    // arrival; type, Tab to the button, Enter.
    assert_eq!(b.eval("document.activeElement.id"), json!("check-text"));
    b.type_text(EDIT);
    b.tab_to("#check-button");
    b.press("Enter");
    b.wait_for(
        "document.querySelector('#results-list li[data-match=\"harbour-1\"]')",
        "the edit to match the stored story",
    );
    assert_eq!(
        b.eval("document.querySelectorAll('#results-list li').length"),
        json!(1),
        "only the story matches"
    );
    // Nothing jumped while the lists, the stats and the results arrived:
    // the cumulative layout shift stays under 0.1 (the Web Vitals "good").
    let shift = b.eval(
        "new Promise(done => { let total = 0; \
           new PerformanceObserver(list => { for (const e of list.getEntries()) if (!e.hadRecentInput) total += e.value; }) \
             .observe({type: 'layout-shift', buffered: true}); \
           setTimeout(() => done(total), 300); })",
    );
    eprintln!("desk: cumulative layout shift {shift}");
    assert!(
        shift.as_f64().is_some_and(|s| s < 0.1),
        "layout shift {shift}"
    );
    let sim = b.eval("document.querySelector('#results-list li .sim').textContent");
    assert!(sim.as_str().is_some_and(|s| s.ends_with('%')), "{sim}");
    let stored_badge = b.eval("document.querySelector('#results-list .badge').textContent");
    assert_eq!(stored_badge, json!("not stored"), "a check stores nothing");

    // See why, by keyboard: figures and the aligned view (the renderer of
    // `align --html`).
    b.tab_to("#results-list li[data-match=\"harbour-1\"] button.why");
    b.press("Enter");
    b.wait_for(
        "document.getElementById('why-view').srcdoc.includes('class=\"passage\"')",
        "the aligned view",
    );
    let view = b.eval("document.getElementById('why-view').srcdoc");
    let view = view.as_str().expect("srcdoc");
    assert!(
        view.contains("replace the cables that hold up its northern span"),
        "{view}"
    );
    assert!(
        view.contains("<span class=\"edit\">seven</span>"),
        "the changed figure is marked"
    );
    assert!(
        view.contains("class=\"only\">Ferry operators"),
        "the new paragraph is marked"
    );
    assert_eq!(
        b.eval("document.getElementById('why-view').getAttribute('sandbox')"),
        json!(""),
        "the view runs no script"
    );
    // The frame shows it: the passage, linked to its counterpart.
    // The frame is drawn (sandboxed frames live in a process of their own,
    // out of the page's DOM, so the pixels are what tell): the shared
    // passage's blue and the changed word's yellow, as `align --html`
    // colours them, fill part of the screen.
    let start = std::time::Instant::now();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let pixels = screenshot(&mut b, "desk-why.png");
        let (passage, edit) = (
            count(&pixels, [0xd8, 0xec, 0xff]),
            count(&pixels, [0xff, 0xe0, 0x8a]),
        );
        if passage > 20_000 && edit > 200 {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "the aligned view is not drawn: {passage} passage and {edit} edit pixels; most common colours {:?}",
            common(&pixels)
        );
    }
    // A passage is a link to its counterpart, inside the frame: clicked, the
    // other side's passage is the target (its darker blue) and the view
    // stays (the frame does not load the page itself).
    let frame = b.eval(
        "(() => { const r = document.getElementById('why-view').getBoundingClientRect(); return [r.left, r.top]; })()",
    );
    let (fx, fy) = (
        frame[0].as_f64().expect("left"),
        frame[1].as_f64().expect("top"),
    );
    b.click_at(fx + 90.0, fy + 150.0);
    b.move_mouse(2.0, 2.0);
    let start = std::time::Instant::now();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let pixels = screenshot(&mut b, "desk-why-jump.png");
        // The target passage's darker blue, and the view's other marks
        // (the changed word, the new paragraph) still drawn.
        let target = count(&pixels, [0x9f, 0xd0, 0xff]);
        let marks = count(&pixels, [0xff, 0xe0, 0x8a]) + count(&pixels, [0xfd, 0xe8, 0xe8]);
        if target > 5_000 && marks > 200 {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "a passage link did not jump within the view: {target} target and {marks} mark pixels; {:?}",
            common(&pixels)
        );
    }
    let figures = b.eval("document.getElementById('why-figures').innerText");
    let figures = figures.as_str().expect("figures");
    assert!(figures.contains("same story"), "{figures}");
    assert!(figures.contains("shared passages"), "{figures}");
    b.eval("document.getElementById('why-close').focus()");
    b.press("Escape");
    b.wait_for(
        "document.getElementById('why').hidden",
        "Escape to close the view",
    );
    assert_eq!(
        b.eval("document.activeElement.classList.contains('why')"),
        json!(true),
        "the focus goes back to the button that opened the view"
    );

    // Store a new text under a chosen id, then find it among the recent.
    b.eval(&format!(
        "document.getElementById('check-text').value = {}; document.getElementById('check-id').value = 'desk-new'; document.getElementById('check-store').checked = true; document.getElementById('check-button').click()",
        js("Ferry operators will add early sailings while the bridge is shut, the port authority said, and fares stay the same.")
    ));
    b.wait_for(
        "document.querySelector('#results-list article[data-id=\"desk-new\"] .badge.stored')",
        "the new text to be stored",
    );
    b.wait_for(
        "document.querySelector('#recent-body tr[data-id=\"desk-new\"]')",
        "the stored text among the recent documents",
    );
    assert_eq!(
        b.eval("document.querySelector('#recent-body tr').dataset.id"),
        json!("desk-new"),
        "newest first"
    );
    assert_eq!(status_of(&base, "/v1/documents/desk-new"), 200);
    screenshot(&mut b, "desk.png");

    // Remove it: the row asks first; Cancel keeps it, Yes removes it.
    let row = "#recent-body tr[data-id=\"desk-new\"]";
    b.eval(&format!(
        "document.querySelector('{row} button[aria-label^=\"Remove\"]').click()"
    ));
    b.wait_for(
        &format!("document.querySelector('{row} button.danger')"),
        "the confirmation",
    );
    b.eval(&format!("[...document.querySelectorAll('{row} button')].find(x => x.textContent === 'Cancel').click()"));
    b.wait_for(
        &format!("!document.querySelector('{row} button.danger')"),
        "Cancel",
    );
    assert_eq!(
        status_of(&base, "/v1/documents/desk-new"),
        200,
        "Cancel removes nothing"
    );
    b.eval(&format!(
        "document.querySelector('{row} button[aria-label^=\"Remove\"]').click()"
    ));
    b.wait_for(
        &format!("document.querySelector('{row} button.danger')"),
        "the confirmation",
    );
    b.eval(&format!(
        "document.querySelector('{row} button.danger').click()"
    ));
    b.wait_for(
        &format!("!document.querySelector('{row}')"),
        "the row to go",
    );
    assert_eq!(status_of(&base, "/v1/documents/desk-new"), 404);

    // A stored document made of markup is shown as text and runs nothing:
    // in the list, by id, and in the aligned view.
    b.eval("document.getElementById('lookup-id').value = 'hostile'; document.querySelector('#lookup-form button').click()");
    b.wait_for(
        "!document.getElementById('doc-view').hidden",
        "the document by id",
    );
    assert_eq!(
        b.eval("document.getElementById('doc-text').textContent"),
        json!(HOSTILE)
    );
    assert_eq!(
        b.eval("document.getElementById('doc-text').children.length"),
        json!(0),
        "no element was made from the stored text"
    );
    b.eval(&format!(
        "document.getElementById('check-text').value = {}; document.getElementById('check-store').checked = false; document.getElementById('check-button').click()",
        js(HOSTILE)
    ));
    b.wait_for(
        "document.querySelector('#results-list li[data-match=\"hostile\"]')",
        "the hostile text to match itself",
    );
    b.eval("document.querySelector('#results-list li[data-match=\"hostile\"] button.why').click()");
    b.wait_for(
        "document.getElementById('why-view').srcdoc.includes('&lt;/script&gt;&lt;img src=x')",
        "the escaped view",
    );
    let view = b.eval("document.getElementById('why-view').srcdoc");
    let view = view.as_str().expect("srcdoc");
    assert!(
        !view.contains("<script") && !view.contains("<img") && !view.contains("<b>"),
        "{view}"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(b.eval("typeof window.__pwned"), json!("undefined"));
    assert_eq!(
        b.eval("document.querySelectorAll('script').length"),
        json!(1),
        "only the page's own script"
    );

    // A phone-width window: nothing wider than the screen, and a check
    // still works.
    b.resize(390, 844, true);
    b.goto(&format!("{base}/"));
    wait_ready(&mut b);
    assert_eq!(
        b.eval("document.documentElement.scrollWidth <= window.innerWidth"),
        json!(true),
        "no sideways scrolling at 390 px"
    );
    let fits = b.eval(
        "(() => { const r = document.getElementById('check-button').getBoundingClientRect(); \
         const t = document.getElementById('check-text').getBoundingClientRect(); \
         return r.right <= window.innerWidth && r.width > 40 && t.width > 300; })()",
    );
    assert_eq!(fits, json!(true));
    b.type_text(EDIT);
    b.tab_to("#check-button");
    b.press("Enter");
    b.wait_for(
        "document.querySelector('#results-list li[data-match=\"harbour-1\"]')",
        "a check at phone width",
    );
    screenshot(&mut b, "desk-phone.png");
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

#[test]
fn desk_asks_for_the_token_and_keeps_it_for_the_tab() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ix = dir.path().join("desk.redb");
    create_index(&ix, &["--store-text"]);
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret-desk-token\n").expect("token");
    let server = Server::start(&ix, &["--token-file", token.to_str().expect("utf8")]);
    let Some(mut b) = browser(
        1200,
        900,
        "desk_asks_for_the_token_and_keeps_it_for_the_tab",
    ) else {
        return;
    };
    let page = format!("{}/", server.base);
    b.goto(&page);
    b.wait_for(
        "!document.getElementById('token-panel').hidden",
        "the token form",
    );
    assert_eq!(
        b.eval("document.getElementById('desk').hidden"),
        json!(true)
    );
    assert_eq!(b.eval("document.activeElement.id"), json!("token-input"));

    // A wrong token is refused, and the page says so.
    b.type_text("not-the-token");
    b.press("Enter");
    b.wait_for(
        "document.getElementById('token-error').textContent.includes('refused')",
        "the wrong token to be refused",
    );
    assert_eq!(
        b.eval("document.getElementById('desk').hidden"),
        json!(true)
    );
    assert_eq!(
        b.eval("sessionStorage.length"),
        json!(0),
        "a refused token is not kept"
    );

    // The right one opens the desk; it is kept in this tab only.
    b.eval("document.getElementById('token-input').focus()");
    b.type_text("s3cret-desk-token");
    b.press("Enter");
    wait_ready(&mut b);
    assert_eq!(
        b.eval("sessionStorage.getItem('lookalike-token')"),
        json!("s3cret-desk-token")
    );
    assert_eq!(b.eval("localStorage.length"), json!(0));
    b.type_text(STORY);
    b.tab_to("#check-button");
    b.press("Enter");
    b.wait_for(
        "document.querySelector('#results-list article')",
        "a check with the token",
    );
    // Another tab asks again.
    b.new_tab();
    b.goto(&page);
    b.wait_for(
        "!document.getElementById('token-panel').hidden",
        "the token form in a new tab",
    );
}

#[test]
fn desk_respects_the_limits_and_reads_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ix = dir.path().join("desk.redb");
    create_index(&ix, &["--store-text"]);
    let server = Server::start(&ix, &["--max-document", "400", "--max-batch", "2"]);
    let base = server.base.clone();
    let Some(mut b) = browser(1200, 900, "desk_respects_the_limits_and_reads_files") else {
        return;
    };
    b.goto(&format!("{base}/"));
    wait_ready(&mut b);

    // A text over --max-document is refused by the page, naming the limit;
    // nothing is sent.
    b.eval(&format!(
        "document.getElementById('check-text').value = {}; document.getElementById('check-store').checked = true; document.getElementById('check-button').click()",
        js(STORY)
    ));
    b.wait_for(
        "document.getElementById('check-status').textContent.includes('--max-document')",
        "the size refusal",
    );
    assert_eq!(
        b.eval("document.getElementById('check-status').classList.contains('problem')"),
        json!(true)
    );
    let stats: Value = ureq::get(format!("{base}/v1/stats"))
        .call()
        .expect("stats")
        .body_mut()
        .read_json()
        .expect("JSON");
    assert_eq!(stats["documents"], json!(0), "nothing was sent");

    // Five JSON Lines and an HTML page, chosen as files: sent in batches of
    // two (--max-batch) and all stored; the page's script is not text.
    let lines: Vec<String> = (0..5)
        .map(|i| {
            json!({"id": format!("line-{i}"), "text": format!("Story number {i}: the {} ferry sailed late on day {i} because of fog over the estuary.", ["first", "second", "third", "fourth", "fifth"][i]), "source": "file"})
                .to_string()
        })
        .collect();
    let jsonl = dir.path().join("batch.jsonl");
    std::fs::write(&jsonl, lines.join("\n") + "\n").expect("jsonl");
    let html = dir.path().join("page.html");
    std::fs::write(
        &html,
        "<html><head><title>x</title><script>document.title = 'ran'</script></head><body><h1>Fog closes the estuary</h1><p>Ferries were held in port all morning.</p></body></html>",
    )
    .expect("html");
    b.set_files("#check-file", &[&jsonl, &html]);
    b.wait_for(
        "document.getElementById('file-summary').textContent.startsWith('6 documents from 2 files')",
        "the files to be read",
    );
    b.eval("document.getElementById('check-button').click()");
    b.wait_for(
        "document.querySelectorAll('#results-list .badge.stored').length === 6",
        "six documents stored",
    );
    let stored: Value = ureq::get(format!("{base}/v1/documents/page.html"))
        .call()
        .expect("get")
        .body_mut()
        .read_json()
        .expect("JSON");
    let text = stored["text"].as_str().expect("text");
    assert!(
        text.contains("Fog closes the estuary") && text.contains("held in port"),
        "{text}"
    );
    assert!(!text.contains("document.title"), "{text}");

    // The service's own JSON errors are shown as sentences naming the field.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        json!({"id": "when", "text": "A short note.", "timestamp": "next Tuesday"}).to_string(),
    )
    .expect("bad");
    b.set_files("#check-file", &[&bad]);
    b.wait_for(
        "document.getElementById('file-summary').textContent.startsWith('1 document ')",
        "the bad file to be read",
    );
    b.eval("document.getElementById('check-button').click()");
    b.wait_for(
        "document.getElementById('check-status').textContent.includes('documents[0].timestamp')",
        "the service's error, with its field",
    );
    // And a line that is not JSON is refused by the page with its line.
    let broken = dir.path().join("broken.jsonl");
    std::fs::write(&broken, "{\"id\": \"ok\", \"text\": \"fine\"}\n{not json\n").expect("broken");
    b.set_files("#check-file", &[&broken]);
    b.wait_for(
        "document.getElementById('check-status').textContent.includes('broken.jsonl, line 2')",
        "the line that is not JSON",
    );
}
