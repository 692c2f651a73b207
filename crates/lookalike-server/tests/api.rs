//! The service's router over a real index file, driven in process: every
//! answer, the limits, the token, and (property-tested) that no request body
//! whatever gets anything but a 200 or a 4xx with a JSON error, and that a
//! refused request changes nothing.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use lookalike::fingerprint::Fingerprinter;
use lookalike::index::{Index, IndexSpec};
use lookalike_server::{ApiDoc, Limits, State, router};
use proptest::prelude::*;
use serde_json::{Value, json};
use tower::ServiceExt;
use utoipa::OpenApi;

fn state(dir: &Path, token: Option<&str>, limits: Limits) -> Arc<State> {
    let spec = IndexSpec::new(&Fingerprinter::default(), 0.4, true).expect("spec");
    state_of(dir, spec, token, limits)
}

fn state_of(dir: &Path, spec: IndexSpec, token: Option<&str>, limits: Limits) -> Arc<State> {
    let path = dir.join("i.redb");
    let index = Index::create(&path, spec).expect("create");
    Arc::new(State {
        index,
        token: token.map(String::from),
        limits,
        allow_origins: Vec::new(),
        listen: "127.0.0.1:7878".parse().expect("addr"),
        backup_dir: Some(dir.join("backups")),
    })
}

fn runtime() -> tokio::runtime::Runtime {
    // As `serve` runs it: small queries are answered on the request's own
    // thread only in a runtime of several.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Send one request; returns the status and the body as JSON.
fn call(
    rt: &tokio::runtime::Runtime,
    state: &Arc<State>,
    method: Method,
    uri: &str,
    body: impl Into<Body>,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = req.body(body.into()).expect("request");
    rt.block_on(async {
        let resp = router(state.clone())
            .oneshot(req)
            .await
            .expect("infallible");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{status}: body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&bytes)
            )
        });
        (status, value)
    })
}

const STORY: &str = "The harbour bridge will close for six weeks from Monday while engineers replace the cables on its northern span, the city council said.";
const EDIT: &str = "The harbour bridge would close for six weeks from Monday while engineers replace the cables on its northern span, the city council said on Friday.";
const OTHER: &str = "Shares in the shipping company rose sharply after it said profits had doubled in the first half of the year.";

fn documents(docs: &[(&str, &str)]) -> String {
    json!({"documents": docs.iter().map(|(id, text)| json!({"id": id, "text": text})).collect::<Vec<_>>()})
        .to_string()
}

fn count(rt: &tokio::runtime::Runtime, s: &Arc<State>) -> u64 {
    let (status, v) = call(rt, s, Method::GET, "/v1/stats", Body::empty(), None);
    assert_eq!(status, StatusCode::OK);
    v["documents"].as_u64().expect("documents")
}

/// Over an index that judges stories, the service judges stories: a site's
/// pages posted one at a time stop matching other articles once 20 are
/// stored, and each light edit finds its article's page.
#[test]
fn a_story_index_is_served_with_its_judgment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = IndexSpec::new(&Fingerprinter::default(), 0.4, false)
        .expect("spec")
        .with_judge(Some(lookalike::judge::JudgeConfig::default()));
    let s = state_of(dir.path(), spec, None, Limits::default());
    let rt = runtime();
    let site = lookalike::synth::site(60, 10, 7);
    let (mut mixed, mut found) = (0, 0);
    for (i, (id, text)) in site.pages.iter().enumerate() {
        let (status, v) = call(
            &rt,
            &s,
            Method::POST,
            "/v1/documents",
            documents(&[(id, text)]),
            None,
        );
        assert_eq!(status, StatusCode::OK, "{v}");
        let articles: Vec<usize> = v["results"][0]["matches"]
            .as_array()
            .expect("matches")
            .iter()
            .filter_map(|m| {
                let id = m["id"].as_str()?;
                let j = site.pages.iter().position(|(p, _)| p == id)?;
                Some(site.article[j])
            })
            .collect();
        if i >= 20 {
            mixed += articles.iter().filter(|&&a| a != site.article[i]).count();
        }
        found += usize::from(i >= 60 && articles.contains(&site.article[i]));
    }
    assert_eq!((mixed, found), (0, 10));
    assert_eq!(count(&rt, &s), 70);
}

#[test]
fn add_query_get_align_delete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = state(dir.path(), None, Limits::default());
    let rt = runtime();
    let (status, v) = call(
        &rt,
        &s,
        Method::POST,
        "/v1/documents",
        documents(&[("story", STORY), ("other", OTHER), ("copy", STORY)]),
        None,
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    let results = v["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|r| r["stored"] == true));
    assert_eq!(
        results[2]["matches"][0]["id"], "story",
        "checked against its own batch"
    );
    assert_eq!(results[2]["matches"][0]["relation"], "exact");

    let (status, v) = call(
        &rt,
        &s,
        Method::POST,
        "/v1/query",
        documents(&[("edit", EDIT)]),
        None,
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    let ids: Vec<&str> = v["results"][0]["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, ["copy", "story"]);
    assert_eq!(v["results"][0]["stored"], false);
    assert_eq!(count(&rt, &s), 3, "a query stores nothing");

    let (status, v) = call(
        &rt,
        &s,
        Method::GET,
        "/v1/documents/story",
        Body::empty(),
        None,
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["text"], STORY);

    let (status, v) = call(
        &rt,
        &s,
        Method::POST,
        "/v1/align",
        json!({"a": {"id": "story"}, "b": {"text": EDIT}}).to_string(),
        None,
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    let p = &v["passages"][0];
    let start = p["b"]["byte_start"].as_u64().expect("offset") as usize;
    let end = p["b"]["byte_end"].as_u64().expect("offset") as usize;
    assert!(EDIT[start..end].contains("six weeks from Monday"), "{v}");

    let (status, _) = call(
        &rt,
        &s,
        Method::DELETE,
        "/v1/documents/story",
        Body::empty(),
        None,
    );
    assert_eq!(status, StatusCode::OK);
    let (status, v) = call(
        &rt,
        &s,
        Method::DELETE,
        "/v1/documents/story",
        Body::empty(),
        None,
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "not_found");
    let (status, v) = call(
        &rt,
        &s,
        Method::POST,
        "/v1/align",
        json!({"a": {"id": "story"}, "b": {"text": EDIT}}).to_string(),
        None,
    );
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (StatusCode::NOT_FOUND, Some("a.id"))
    );
    assert!(s.index.verify().expect("verify").is_empty());
}

#[test]
fn limits_and_errors_name_what_to_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limits = Limits {
        max_body_bytes: 4096,
        max_document_bytes: 200,
        max_batch: 3,
        ..Limits::default()
    };
    let s = state(dir.path(), None, limits);
    let rt = runtime();
    let long = "word ".repeat(100);
    let bad_utf8 = b"{\"documents\": [{\"id\": \"a\", \"text\": \"\xff\xfe\"}]}".to_vec();
    let post = |uri: &str, body: Vec<u8>| (Method::POST, uri.to_string(), body);
    // (request, status, code, field): each refusal names what to fix.
    type Case<'a> = (
        (Method, String, Vec<u8>),
        StatusCode,
        &'a str,
        Option<&'a str>,
    );
    let cases: Vec<Case> = vec![
        (
            post("/v1/documents", vec![b'x'; 10_000]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            None,
        ),
        (
            post(
                "/v1/documents",
                documents(&[("a", OTHER), ("b", &long)]).into(),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            Some("documents[1].text"),
        ),
        (
            post(
                "/v1/documents",
                documents(&[("a", "x"), ("b", "y"), ("c", "z"), ("d", "w")]).into(),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            Some("documents"),
        ),
        (
            post("/v1/documents", bad_utf8),
            StatusCode::BAD_REQUEST,
            "invalid_json",
            Some("documents[0].text"),
        ),
        (
            post(
                "/v1/documents",
                json!({"documents": [{"id": "a", "text": "x", "timestamp": "soon"}]})
                    .to_string()
                    .into(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("documents[0].timestamp"),
        ),
        (
            post(
                "/v1/documents",
                json!({"documents": [{"id": "", "text": "x"}]})
                    .to_string()
                    .into(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("documents[0].id"),
        ),
        (
            post(
                "/v1/documents",
                json!({"documents": [], "window": "-3d"}).to_string().into(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("window"),
        ),
        (
            post(
                "/v1/align",
                json!({"a": {"text": "x", "id": "y"}, "b": {"text": "z"}})
                    .to_string()
                    .into(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("a"),
        ),
        (
            (Method::GET, "/v2/nothing".into(), Vec::new()),
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        ),
        (
            (Method::PATCH, "/v1/documents/a".into(), Vec::new()),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            None,
        ),
    ];
    for ((method, uri, body), status, code, field) in cases {
        let (got, v) = call(&rt, &s, method.clone(), &uri, body, None);
        assert_eq!(
            (
                got,
                v["error"]["code"].as_str(),
                v["error"]["field"].as_str()
            ),
            (status, Some(code), field),
            "{method} {uri}: {v}"
        );
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    assert_eq!(count(&rt, &s), 0, "nothing refused was stored");
}

#[test]
fn a_token_guards_v1_but_not_health() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = state(dir.path(), Some("s3cret"), Limits::default());
    let rt = runtime();
    for token in [None, Some("wrong"), Some("s3cre"), Some("s3cret2")] {
        let (status, v) = call(&rt, &s, Method::GET, "/v1/stats", Body::empty(), token);
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized")),
            "{token:?}"
        );
    }
    let (status, _) = call(
        &rt,
        &s,
        Method::GET,
        "/v1/stats",
        Body::empty(),
        Some("s3cret"),
    );
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&rt, &s, Method::GET, "/healthz", Body::empty(), None);
    assert_eq!(status, StatusCode::OK);
}

/// `openapi.json` is part of the interface: a change to it must be a
/// deliberate one. Run with `UPDATE_SNAPSHOTS=1` to accept a change.
#[test]
fn openapi_matches_its_snapshot() {
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json");
    let now = ApiDoc::openapi().to_pretty_json().expect("json") + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snapshot, &now).expect("write snapshot");
    }
    let then = std::fs::read_to_string(&snapshot).unwrap_or_default();
    assert!(
        then == now,
        "openapi.json changed; if that is intended, rerun with UPDATE_SNAPSHOTS=1 and commit {}",
        snapshot.display()
    );
    // Every route the router serves is described.
    let v: Value = serde_json::from_str(&now).expect("json");
    for p in [
        "/v1/documents",
        "/v1/query",
        "/v1/documents/{id}",
        "/v1/align",
        "/v1/compare",
        "/v1/stats",
        "/healthz",
        "/openapi.json",
    ] {
        assert!(v["paths"][p].is_object(), "{p} is not described");
    }
}

/// Arbitrary JSON, nested a few levels, with the keys requests use.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("documents".to_string()),
        Just("id".to_string()),
        Just("text".to_string()),
        Just("timestamp".to_string()),
        Just("source".to_string()),
        Just("window".to_string()),
        "[a-z]{1,6}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        json_value().prop_map(|v| json!({"documents": [v]}).to_string().into_bytes()),
        // A valid batch, cut short or with a byte changed.
        (0usize..120, any::<u8>()).prop_map(|(at, b)| {
            let mut body = documents(&[("a", STORY), ("b", OTHER)]).into_bytes();
            let at = at.min(body.len() - 1);
            body[at] = b;
            body
        }),
        (0usize..120).prop_map(|at| {
            let body = documents(&[("a", STORY)]).into_bytes();
            body[..at.min(body.len())].to_vec()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_body_gets_a_result_or_a_json_4xx_and_refusals_change_nothing(b in body(), endpoint in 0usize..3) {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = state(dir.path(), None, Limits::default());
        let rt = runtime();
        let uri = ["/v1/documents", "/v1/query", "/v1/align"][endpoint];
        let (status, v) = call(&rt, &s, Method::POST, uri, b, None);
        if status == StatusCode::OK {
            if endpoint == 0 {
                let stored = v["results"].as_array().map_or(0, |r| r.iter().filter(|x| x["stored"] == true).count());
                prop_assert_eq!(count(&rt, &s), stored as u64);
            }
        } else {
            prop_assert!(status.is_client_error(), "{} {}", status, v);
            prop_assert!(v["error"]["code"].is_string(), "{}", v);
            prop_assert!(v["error"]["message"].is_string(), "{}", v);
            prop_assert_eq!(count(&rt, &s), 0);
        }
        prop_assert!(s.index.verify().expect("verify").is_empty());
    }
}

/// `POST /v1/backup` copies the index into `--backup-dir` while the
/// service runs; a name is a plain file name, an existing file is 409, and
/// without `--backup-dir` backups are off (403).
#[test]
fn backup_copies_the_index_into_the_backup_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("backups")).expect("mkdir");
    let rt = runtime();
    let s = state(dir.path(), None, Limits::default());
    let (status, _) = call(
        &rt,
        &s,
        Method::POST,
        "/v1/documents",
        documents(&[("story", STORY)]),
        None,
    );
    assert_eq!(status, StatusCode::OK);
    let ask = |name: &str| {
        call(
            &rt,
            &s,
            Method::POST,
            "/v1/backup",
            json!({ "name": name }).to_string(),
            None,
        )
    };
    let (status, body) = ask("nightly.redb");
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["documents"], 1);
    let copy = Index::open(&dir.path().join("backups/nightly.redb")).expect("the copy opens");
    assert!(copy.get("story").expect("get").is_some());
    let (status, body) = ask("nightly.redb");
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "exists");
    for bad in ["../escape.redb", "/tmp/x.redb", ".hidden", "", "a/b"] {
        let (status, body) = ask(bad);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}: {body}");
        assert_eq!(body["error"]["field"], "name");
    }
    let off = Arc::new(State {
        index: Index::create(
            &dir.path().join("other.redb"),
            IndexSpec::new(&Fingerprinter::default(), 0.4, true).expect("spec"),
        )
        .expect("create"),
        token: None,
        limits: Limits::default(),
        allow_origins: Vec::new(),
        listen: "127.0.0.1:7878".parse().expect("addr"),
        backup_dir: None,
    });
    let (status, body) = call(
        &rt,
        &off,
        Method::POST,
        "/v1/backup",
        json!({ "name": "x.redb" }).to_string(),
        None,
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "backups_off");
}
