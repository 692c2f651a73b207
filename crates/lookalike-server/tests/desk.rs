//! The desk page's rules, driven in process: who may load the page (with
//! and without a token, from loopback or not), which browsers may call the
//! API (own origin, named origins, DNS rebinding), the headers that keep
//! the page safe, and the two endpoints the page added (the listing of
//! recent documents, compare with its aligned view).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use lookalike::fingerprint::Fingerprinter;
use lookalike::index::{CheckOptions, Index, IndexSpec, NewDoc};
use lookalike_server::{Limits, State, router};
use serde_json::{Value, json};
use tower::ServiceExt;

fn state(dir: &Path, token: Option<&str>, allow: &[&str]) -> Arc<State> {
    let spec = IndexSpec::new(&Fingerprinter::default(), 0.4, true).expect("spec");
    let index = Index::create(&dir.join("i.redb"), spec).expect("create");
    Arc::new(State {
        index,
        token: token.map(String::from),
        limits: Limits::default(),
        allow_origins: allow.iter().map(|s| s.to_string()).collect(),
        listen: "127.0.0.1:7878".parse().expect("addr"),
        backup_dir: None,
    })
}

/// One request from `peer` with these headers; the status, the headers and
/// the body.
fn send(
    state: &Arc<State>,
    method: Method,
    uri: &str,
    peer: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, HeaderMap, String) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::from(body.to_string())).expect("request");
    let peer: SocketAddr = peer.parse().expect("peer");
    req.extensions_mut().insert(ConnectInfo(peer));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let resp = router(state.clone())
            .oneshot(req)
            .await
            .expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    })
}

fn code(body: &str) -> Value {
    serde_json::from_str::<Value>(body).expect("JSON")["error"]["code"].clone()
}

const LOCAL: &str = "127.0.0.1:50000";
const REMOTE: &str = "192.168.1.20:50000";

#[test]
fn the_page_is_for_loopback_unless_there_is_a_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let open = state(dir.path(), None, &[]);
    for path in ["/", "/desk.js", "/desk.css"] {
        let (status, headers, body) = send(&open, Method::GET, path, LOCAL, &[], "");
        assert_eq!(status, StatusCode::OK, "{path}");
        let csp = headers["content-security-policy"].to_str().expect("csp");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("'unsafe-eval'"),
            "{csp}"
        );
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(!body.is_empty());
        let (status, _, body) = send(&open, Method::GET, path, REMOTE, &[], "");
        assert_eq!(status, StatusCode::FORBIDDEN, "{path} from another machine");
        assert!(body.contains("--token-file"), "{body}");
        // `--addr [::]:PORT` takes IPv4 too: 127.0.0.1 arrives mapped.
        for peer in ["[::ffff:127.0.0.1]:50000", "[::1]:50000"] {
            let (status, _, _) = send(&open, Method::GET, path, peer, &[], "");
            assert_eq!(status, StatusCode::OK, "{path} from {peer}");
        }
    }
    // The limits and the token requirement are written into the page.
    let (_, _, page) = send(&open, Method::GET, "/", LOCAL, &[], "");
    assert!(page.contains("data-token-required=\"false\""), "{page}");
    assert!(page.contains(&format!(
        "data-max-document=\"{}\"",
        Limits::default().max_document_bytes
    )));
    assert!(!page.contains("{{"), "every placeholder filled");
    // Inline script would be refused by the policy: the page has none.
    assert!(!page.contains("<script>"), "{page}");

    let dir = tempfile::tempdir().expect("tempdir");
    let guarded = state(dir.path(), Some("s3cret"), &[]);
    let (status, _, page) = send(&guarded, Method::GET, "/", REMOTE, &[], "");
    assert_eq!(
        status,
        StatusCode::OK,
        "with a token the page is served to all"
    );
    assert!(page.contains("data-token-required=\"true\""));
    // The page holds no secret; the API behind it still needs the token.
    let (status, _, _) = send(&guarded, Method::GET, "/v1/stats", REMOTE, &[], "");
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[test]
fn browsers_may_call_only_from_the_service_s_own_origin_or_a_named_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = state(dir.path(), None, &[]);
    let body =
        r#"{"documents": [{"id": "a", "text": "the harbour bridge will close for six weeks"}]}"#;
    let post = |s: &Arc<State>, headers: &[(&str, &str)]| {
        send(s, Method::POST, "/v1/documents", LOCAL, headers, body)
    };
    // No Origin (curl, programs): as before.
    assert_eq!(post(&s, &[]).0, StatusCode::OK);
    // The page itself.
    let own = [
        ("origin", "http://127.0.0.1:7878"),
        ("host", "127.0.0.1:7878"),
    ];
    assert_eq!(post(&s, &own).0, StatusCode::OK);
    let own = [
        ("origin", "http://localhost:7878"),
        ("host", "localhost:7878"),
    ];
    assert_eq!(post(&s, &own).0, StatusCode::OK);
    // Another site's page, a form post for instance: refused, and nothing
    // stored.
    let (status, _, err) = post(
        &s,
        &[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:7878"),
        ],
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(code(&err), json!("cross_origin"));
    assert!(err.contains("--allow-origin https://evil.example"), "{err}");
    let (status, _, err) = send(
        &s,
        Method::DELETE,
        "/v1/documents/a",
        LOCAL,
        &[("origin", "null"), ("host", "127.0.0.1:7878")],
        "",
    );
    assert_eq!(
        (status, code(&err)),
        (StatusCode::FORBIDDEN, json!("cross_origin"))
    );
    assert!(
        s.index.get("a").expect("get").is_some(),
        "a refused request removes nothing"
    );
    // DNS rebinding: a site's own name pointed at 127.0.0.1 looks
    // same-origin, but without a token only loopback names are.
    let rebound = [
        ("origin", "http://evil.example:7878"),
        ("host", "evil.example:7878"),
    ];
    assert_eq!(post(&s, &rebound).0, StatusCode::FORBIDDEN);
    // Its same-origin reads carry no Origin, but a browser marks them.
    for (path, mode) in [
        ("/v1/documents", "cors"),
        ("/v1/stats", "cors"),
        ("/", "navigate"),
    ] {
        let headers = [
            ("host", "evil.example:7878"),
            ("sec-fetch-mode", mode),
            ("sec-fetch-site", "same-origin"),
        ];
        let (status, _, body) = send(&s, Method::GET, path, LOCAL, &headers, "");
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    // An IP address or localhost cannot be rebound; programs send no such
    // headers and are not affected.
    let browser_by_ip = [("host", "127.0.0.1:7878"), ("sec-fetch-mode", "cors")];
    let (status, _, _) = send(&s, Method::GET, "/v1/stats", LOCAL, &browser_by_ip, "");
    assert_eq!(status, StatusCode::OK);
    let program = [("host", "evil.example:7878")];
    let (status, _, _) = send(&s, Method::GET, "/v1/stats", LOCAL, &program, "");
    assert_eq!(status, StatusCode::OK);
    // A cross-site request without an Origin (a navigation, an image) is
    // refused too.
    let cross = [
        ("host", "127.0.0.1:7878"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-mode", "no-cors"),
    ];
    let (status, _, _) = send(&s, Method::GET, "/v1/stats", LOCAL, &cross, "");
    assert_eq!(status, StatusCode::FORBIDDEN);
    // With a token, the service's own origin under any name is fine (the
    // token is what protects it).
    let dir2 = tempfile::tempdir().expect("tempdir");
    let t = state(dir2.path(), Some("s3cret"), &[]);
    let named = [
        ("origin", "http://desk.newsroom.example:7878"),
        ("host", "desk.newsroom.example:7878"),
        ("authorization", "Bearer s3cret"),
    ];
    assert_eq!(post(&t, &named).0, StatusCode::OK);

    // A named origin is let in, with CORS headers, preflight included.
    let dir3 = tempfile::tempdir().expect("tempdir");
    let c = state(dir3.path(), None, &["https://desk.example.org"]);
    let from = [
        ("origin", "https://desk.example.org"),
        ("host", "127.0.0.1:7878"),
    ];
    let (status, headers, _) = post(&c, &from);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://desk.example.org"
    );
    let (status, headers, _) = send(
        &c,
        Method::OPTIONS,
        "/v1/documents",
        LOCAL,
        &[
            ("origin", "https://desk.example.org"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization, content-type",
            ),
        ],
        "",
    );
    assert!(status.is_success(), "{status}");
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://desk.example.org"
    );
    // Other origins still are not.
    let (status, headers, _) = post(
        &c,
        &[
            ("origin", "https://other.example"),
            ("host", "127.0.0.1:7878"),
        ],
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!headers.contains_key("access-control-allow-origin"));
}

fn add(s: &Arc<State>, docs: &[(&str, &str)]) {
    let docs: Vec<NewDoc> = docs
        .iter()
        .map(|(id, text)| NewDoc {
            id: id.to_string(),
            text: text.to_string(),
            ..Default::default()
        })
        .collect();
    s.index
        .check_batch(
            &docs,
            &CheckOptions {
                store: true,
                window: None,
            },
        )
        .expect("add");
}

#[test]
fn recent_documents_page_newest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = state(dir.path(), None, &[]);
    let texts: Vec<(String, String)> = (0..7)
        .map(|i| {
            (
                format!("d{i}"),
                format!("story {i}: {}", "word ".repeat(300)),
            )
        })
        .collect();
    let pairs: Vec<(&str, &str)> = texts
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    add(&s, &pairs);
    let mut seen = Vec::new();
    let mut uri = "/v1/documents?limit=3".to_string();
    loop {
        let (status, _, body) = send(&s, Method::GET, &uri, LOCAL, &[], "");
        assert_eq!(status, StatusCode::OK, "{body}");
        let v: Value = serde_json::from_str(&body).expect("JSON");
        for d in v["documents"].as_array().expect("documents") {
            seen.push(d["id"].as_str().expect("id").to_string());
            let preview = d["preview"].as_str().expect("preview");
            assert!(preview.chars().count() <= 200, "previews are short");
        }
        match v["next_before"].as_u64() {
            Some(n) => uri = format!("/v1/documents?limit=3&before={n}"),
            None => break,
        }
    }
    assert_eq!(seen, ["d6", "d5", "d4", "d3", "d2", "d1", "d0"]);
    for bad in [
        "limit=0",
        "limit=1001",
        "limit=x",
        "before=-1",
        "colour=red",
    ] {
        let (status, _, body) = send(
            &s,
            Method::GET,
            &format!("/v1/documents?{bad}"),
            LOCAL,
            &[],
            "",
        );
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(code(&body), json!("invalid_request"), "{bad}");
    }
}

#[test]
fn compare_gives_the_figures_and_an_escaped_view() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = state(dir.path(), None, &[]);
    let stored = "The harbour <bridge> will close for six weeks from Monday while engineers replace the cables on its northern span.";
    add(&s, &[("story", stored)]);
    let edit = "The harbour <bridge> will close for seven weeks from Monday while engineers replace the cables on its northern span.";
    let req = json!({"a": {"text": edit, "name": "new <one>"}, "b": {"id": "story"}, "view": true});
    let (status, _, body) = send(
        &s,
        Method::POST,
        "/v1/compare",
        LOCAL,
        &[],
        &req.to_string(),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).expect("JSON");
    let direct = lookalike::compare::CompareConfig {
        threshold: 0.4,
        ..Default::default()
    }
    .compare(edit, stored)
    .expect("compare");
    assert_eq!(v["figures"]["jaccard"], json!(direct.jaccard));
    assert_eq!(v["figures"]["story"]["story"], json!("same"));
    let view = v["view"].as_str().expect("view");
    assert!(
        view.contains("harbour &lt;bridge&gt;") && !view.contains("<bridge>"),
        "{view}"
    );
    assert!(view.contains("new &lt;one&gt;"), "{view}");
    assert!(view.contains("<span class=\"edit\">seven</span>"), "{view}");
    assert!(
        view.contains("href=\"about:srcdoc#b-p1\""),
        "links stay in the frame: {view}"
    );
    assert!(!view.contains("href=\"#"), "{view}");
    // Without `view`, figures only; a missing id is a 404 naming the field.
    let req = json!({"a": {"text": edit}, "b": {"id": "story"}});
    let (_, _, body) = send(
        &s,
        Method::POST,
        "/v1/compare",
        LOCAL,
        &[],
        &req.to_string(),
    );
    assert!(serde_json::from_str::<Value>(&body).expect("JSON")["view"].is_null());
    let req = json!({"a": {"text": edit}, "b": {"id": "nope"}});
    let (status, _, body) = send(
        &s,
        Method::POST,
        "/v1/compare",
        LOCAL,
        &[],
        &req.to_string(),
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("\"field\":\"b.id\""), "{body}");
}
