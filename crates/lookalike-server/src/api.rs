//! The routes, their request and response bodies, and the OpenAPI document
//! that describes them (served at `/openapi.json`, snapshot-tested).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State as Shared};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use lookalike::align::{AlignConfig, Passage, Span};
use lookalike::compare::{CompareConfig, Comparison};
use lookalike::index::{CheckOptions, Checked, IndexStats, NewDoc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::error::{ApiError, ErrorBody, json_errors};
use crate::{State, desk};

/// The service's routes over shared state.
pub fn router(state: Arc<State>) -> Router {
    let v1 = Router::new()
        .route("/v1/documents", post(add_documents).get(recent_documents))
        .route("/v1/query", post(query_documents))
        .route(
            "/v1/documents/{id}",
            get(get_document).delete(delete_document),
        )
        .route("/v1/align", post(align))
        .route("/v1/compare", post(compare))
        .route("/v1/stats", get(stats))
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize));
    // A backup takes as long as copying the index does: outside the
    // request timeout (a 408 would hide whether the copy was made).
    let untimed = Router::new()
        .route("/v1/backup", post(backup))
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize))
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes));
    let desk = Router::new()
        .route("/", get(desk::page))
        .route("/desk.js", get(desk::script))
        .route("/desk.css", get(desk::style))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            desk::loopback_unless_token,
        ));
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi))
        .merge(v1)
        .merge(desk)
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.limits.timeout,
        ))
        .merge(untimed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            desk::same_origin_only,
        ))
        .layer(middleware::from_fn(json_errors));
    // Outside the origin check, so a named origin's preflight is answered.
    let router = if state.allow_origins.is_empty() {
        router
    } else {
        router.layer(cors(&state.allow_origins))
    };
    router.with_state(state)
}

/// CORS for the origins named by `--allow-origin`: their pages may send the
/// token and JSON bodies.
fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use axum::http::{HeaderValue, Method};
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    tower_http::cors::CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
}

/// With a token configured, `/v1` needs `Authorization: Bearer <token>`,
/// compared in constant time so response times do not leak it.
async fn authorize(Shared(state): Shared<Arc<State>>, req: Request, next: Next) -> Response {
    use axum::response::IntoResponse;
    if let Some(token) = &state.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
            .unwrap_or_default();
        if !bool::from(given.ct_eq(token.as_bytes())) {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or wrong bearer token: send Authorization: Bearer <the token in the service's --token-file>",
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// Decode a JSON body, naming the offending field when the JSON is valid but
/// the request is not.
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let err = if inner.is_syntax() || inner.is_eof() {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("the body is not valid JSON (UTF-8): {inner}"),
            )
        } else {
            ApiError::invalid(format!("{inner}"))
        };
        if path == "." { err } else { err.at(path) }
    })?;
    de.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("trailing characters after the JSON body: {e}"),
        )
    })?;
    Ok(value)
}

fn body_or_error(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|r| {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(
                "the request body is over the limit; send smaller batches or raise --max-body",
            )
        } else {
            ApiError::new(status, "invalid_request", r.body_text())
        }
    })
}

/// Queries of at most this many documents run on the request's own thread.
const INLINE_QUERY: usize = 4;

/// Run index work on the blocking pool; a library error is the index failing.
async fn blocking<T: Send + 'static, E: Into<ApiError>>(
    state: &Arc<State>,
    f: impl FnOnce(&State) -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || f(&state).map_err(Into::into))
        .await
        .map_err(|e| ApiError::internal(format!("the task failed: {e}")))?
}

/// A text over `--max-document` is refused, naming the field that holds it.
fn check_size(limits: &crate::Limits, text: &str, field: String) -> Result<(), ApiError> {
    if text.len() > limits.max_document_bytes {
        return Err(ApiError::too_large(format!(
            "the text is {} bytes; the limit is {} (--max-document)",
            text.len(),
            limits.max_document_bytes
        ))
        .at(field));
    }
    Ok(())
}

/// A timestamp: seconds since 1970, or an RFC 3339 date-time or date string.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TimeIn {
    /// Seconds since 1970-01-01T00:00:00Z.
    Seconds(i64),
    /// `2013-05-07T09:30:00Z` or `2013-05-07` (midnight UTC).
    Text(String),
}

/// One document to add or look up.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentIn {
    /// Its id, unique in the index (non-empty).
    pub id: String,
    /// Its text.
    pub text: String,
    /// Where it came from.
    #[serde(default)]
    pub source: Option<String>,
    /// When it was published.
    #[serde(default)]
    pub timestamp: Option<TimeIn>,
}

/// A batch of documents.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentsRequest {
    /// The documents, checked (and for `POST /v1/documents` stored) in order.
    pub documents: Vec<DocumentIn>,
    /// News mode: compare only with stored documents published at most this
    /// long before each new one, e.g. `7d`, `36h`.
    #[serde(default)]
    pub window: Option<String>,
}

/// Per document, the stored documents it duplicates.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckResponse {
    /// One result per document, in the order sent.
    pub results: Vec<Checked>,
}

fn validate(
    state: &State,
    req: DocumentsRequest,
    store: bool,
) -> Result<(Vec<NewDoc>, CheckOptions), ApiError> {
    let limits = &state.limits;
    if req.documents.len() > limits.max_batch {
        return Err(ApiError::too_large(format!(
            "{} documents in one batch; the limit is {} (--max-batch): split the batch",
            req.documents.len(),
            limits.max_batch
        ))
        .at("documents"));
    }
    let window = match &req.window {
        Some(w) => {
            Some(lookalike::time::parse_span(w).map_err(|e| ApiError::invalid(e).at("window"))?)
        }
        None => None,
    };
    let mut docs = Vec::with_capacity(req.documents.len());
    for (i, d) in req.documents.into_iter().enumerate() {
        if d.id.is_empty() {
            return Err(
                ApiError::invalid("an id must not be empty").at(format!("documents[{i}].id"))
            );
        }
        check_size(limits, &d.text, format!("documents[{i}].text"))?;
        let timestamp = match d.timestamp {
            None => None,
            Some(TimeIn::Seconds(s)) => Some(s),
            Some(TimeIn::Text(t)) => Some(
                lookalike::time::parse_timestamp(&t)
                    .map_err(|e| ApiError::invalid(e).at(format!("documents[{i}].timestamp")))?,
            ),
        };
        docs.push(NewDoc {
            id: d.id,
            text: d.text,
            source: d.source,
            timestamp,
        });
    }
    Ok((docs, CheckOptions { store, window }))
}

async fn check(
    state: Arc<State>,
    body: Result<Bytes, BytesRejection>,
    store: bool,
) -> Result<Json<CheckResponse>, ApiError> {
    let body = body_or_error(body)?;
    let req: DocumentsRequest = decode(&body)?;
    let (docs, opts) = validate(&state, req, store)?;
    let multi_thread = tokio::runtime::Handle::current().runtime_flavor()
        == tokio::runtime::RuntimeFlavor::MultiThread;
    let results = if !store && docs.len() <= INLINE_QUERY && multi_thread {
        // A query of a document or two is well under a millisecond of
        // work, less than the two thread wake-ups of the blocking pool
        // cost when the cores are busy with batches being added (measured:
        // most of the slowest queries' time under mixed traffic was spent
        // waiting for them). It runs here, and the runtime moves this
        // thread's other tasks to another worker meanwhile (a runtime of
        // one thread has no other worker, so there it goes to the pool).
        tokio::task::block_in_place(|| state.index.check_batch(&docs, &opts))?
    } else {
        blocking(&state, move |s| s.index.check_batch(&docs, &opts)).await?
    };
    Ok(Json(CheckResponse { results }))
}

/// Check a batch against the index and store it.
#[utoipa::path(post, path = "/v1/documents", tag = "documents",
    description = "Check each document against everything stored before it (its own batch included), then store it. The batch is stored in one transaction and is durable when the response arrives. A document whose id is already stored is checked but not stored again (its result says so).",
    request_body = DocumentsRequest,
    responses(
        (status = 200, description = "Stored; per document, its duplicates", body = CheckResponse),
        (status = 400, description = "Malformed JSON or an invalid field; nothing stored", body = ErrorBody),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 413, description = "Body, batch or a document over the limit; nothing stored", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn add_documents(
    Shared(state): Shared<Arc<State>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CheckResponse>, ApiError> {
    check(state, body, true).await
}

/// Check a batch against the index; store nothing.
#[utoipa::path(post, path = "/v1/query", tag = "documents",
    request_body = DocumentsRequest,
    responses(
        (status = 200, description = "Per document, its duplicates", body = CheckResponse),
        (status = 400, description = "Malformed JSON or an invalid field", body = ErrorBody),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 413, description = "Body, batch or a document over the limit", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn query_documents(
    Shared(state): Shared<Arc<State>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CheckResponse>, ApiError> {
    check(state, body, false).await
}

/// A stored document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentOut {
    /// Its id.
    pub id: String,
    /// Where it came from, if known.
    pub source: Option<String>,
    /// When it was published (seconds since 1970), if known.
    pub timestamp: Option<i64>,
    /// Its text, when the index stores texts.
    pub text: Option<String>,
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no document {id:?} in the index"),
    )
}

/// A stored document by id.
#[utoipa::path(get, path = "/v1/documents/{id}", tag = "documents",
    params(("id" = String, Path, description = "The document's id")),
    responses(
        (status = 200, description = "The document", body = DocumentOut),
        (status = 404, description = "No such document", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn get_document(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
) -> Result<Json<DocumentOut>, ApiError> {
    let key = id.clone();
    match blocking(&state, move |s| s.index.get(&key)).await? {
        Some(d) => Ok(Json(DocumentOut {
            id: d.id,
            source: d.source,
            timestamp: d.timestamp,
            text: d.text,
        })),
        None => Err(not_found(&id)),
    }
}

/// The answer to a removal.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Removed {
    /// The id.
    pub id: String,
    /// Always true (a missing id is a 404).
    pub removed: bool,
}

/// Remove a stored document.
#[utoipa::path(delete, path = "/v1/documents/{id}", tag = "documents",
    params(("id" = String, Path, description = "The document's id")),
    responses(
        (status = 200, description = "Removed (durable)", body = Removed),
        (status = 404, description = "No such document", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn delete_document(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
) -> Result<Json<Removed>, ApiError> {
    let key = id.clone();
    let removed = blocking(&state, move |s| s.index.remove(&[key])).await?;
    if removed.first().copied().unwrap_or(false) {
        Ok(Json(Removed { id, removed: true }))
    } else {
        Err(not_found(&id))
    }
}

/// Most documents one page of `GET /v1/documents` lists.
const MAX_PAGE: usize = 1_000;

/// Characters of a stored text shown in a listing.
const PREVIEW_CHARS: usize = 200;

/// A page of the listing.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RecentParams {
    /// How many documents, at most 1,000. Default 20.
    #[serde(default)]
    pub limit: Option<usize>,
    /// Only documents stored before this one (`next_before` of the
    /// previous page).
    #[serde(default)]
    pub before: Option<u64>,
}

/// A stored document in a listing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentSummary {
    /// Its id.
    pub id: String,
    /// Its place in the order of arrival (grows with every document stored).
    pub number: u64,
    /// Where it came from, if known.
    pub source: Option<String>,
    /// When it was published (seconds since 1970), if known.
    pub timestamp: Option<i64>,
    /// The start of its text, when the index stores texts.
    pub preview: Option<String>,
}

/// The most recently stored documents.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecentResponse {
    /// Newest first.
    pub documents: Vec<DocumentSummary>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<u64>,
}

/// The most recently stored documents, newest first (order of arrival).
#[utoipa::path(get, path = "/v1/documents", tag = "documents",
    params(RecentParams),
    responses(
        (status = 200, description = "A page of documents", body = RecentResponse),
        (status = 400, description = "A malformed parameter", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn recent_documents(
    Shared(state): Shared<Arc<State>>,
    params: Result<Query<RecentParams>, QueryRejection>,
) -> Result<Json<RecentResponse>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::invalid(e.body_text()))?;
    let limit = params.limit.unwrap_or(20);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::invalid(format!("limit must be 1 to {MAX_PAGE}")).at("limit"));
    }
    let page = blocking(&state, move |s| s.index.recent(limit, params.before)).await?;
    let next_before = if page.len() == limit {
        page.last().map(|(n, _)| *n)
    } else {
        None
    };
    let documents = page
        .into_iter()
        .map(|(number, d)| DocumentSummary {
            id: d.id,
            number,
            source: d.source,
            timestamp: d.timestamp,
            preview: d.text.map(|t| t.chars().take(PREVIEW_CHARS).collect()),
        })
        .collect();
    Ok(Json(RecentResponse {
        documents,
        next_before,
    }))
}

/// One side of an alignment: a text, or the id of a document stored with
/// its text.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlignSide {
    /// The text itself.
    #[serde(default)]
    pub text: Option<String>,
    /// Or the id of a stored document (the index must store texts).
    #[serde(default)]
    pub id: Option<String>,
    /// What to call it in an aligned view. Default: its id, or `A`/`B`.
    #[serde(default)]
    pub name: Option<String>,
}

/// Two texts to align.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlignRequest {
    /// The first text.
    pub a: AlignSide,
    /// The second text.
    pub b: AlignSide,
    /// Shortest passage reported, in matched words. Default 8.
    #[serde(default)]
    pub min_words: Option<usize>,
}

/// One side of an alignment's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlignedSide {
    /// Words in the text.
    pub words: usize,
    /// Fraction of its words inside shared passages.
    pub coverage: f64,
    /// Stretches outside every passage.
    pub unshared: Vec<Span>,
}

/// The passages two texts share (offsets into the texts as sent or stored).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlignResponse {
    /// The first text.
    pub a: AlignedSide,
    /// The second text.
    pub b: AlignedSide,
    /// Shared passages, in order in both texts.
    pub passages: Vec<Passage>,
}

fn side_text(state: &State, side: AlignSide, name: &str) -> Result<String, ApiError> {
    match (side.text, side.id) {
        (Some(t), None) => {
            check_size(&state.limits, &t, format!("{name}.text"))?;
            Ok(t)
        }
        (None, Some(id)) => {
            let doc = state
                .index
                .get(&id)?
                .ok_or_else(|| not_found(&id).at(format!("{name}.id")))?;
            doc.text.ok_or_else(|| {
                ApiError::invalid(format!(
                    "{id:?} is stored without its text; create the index with --store-text, or send the text"
                ))
                .at(format!("{name}.id"))
            })
        }
        _ => Err(ApiError::invalid("give exactly one of text and id").at(name.to_string())),
    }
}

/// Align two texts (or stored documents): the passages they share.
#[utoipa::path(post, path = "/v1/align", tag = "align",
    request_body = AlignRequest,
    responses(
        (status = 200, description = "The shared passages and unshared spans", body = AlignResponse),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 404, description = "A stored id that is not there", body = ErrorBody),
        (status = 413, description = "A text over the limit", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn align(
    Shared(state): Shared<Arc<State>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AlignResponse>, ApiError> {
    let body = body_or_error(body)?;
    let req: AlignRequest = decode(&body)?;
    let config = AlignConfig {
        min_passage_words: req
            .min_words
            .unwrap_or(AlignConfig::default().min_passage_words),
        ..AlignConfig::default()
    };
    let result = blocking(&state, move |s| -> Result<AlignResponse, ApiError> {
        let a = side_text(s, req.a, "a")?;
        let b = side_text(s, req.b, "b")?;
        let al = config.align(&a, &b);
        Ok(AlignResponse {
            a: AlignedSide {
                words: al.a_words,
                coverage: al.a_coverage,
                unshared: al.a_unshared,
            },
            b: AlignedSide {
                words: al.b_words,
                coverage: al.b_coverage,
                unshared: al.b_unshared,
            },
            passages: al.passages,
        })
    })
    .await?;
    Ok(Json(result))
}

/// Two texts to compare.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompareRequest {
    /// The first text.
    pub a: AlignSide,
    /// The second text.
    pub b: AlignSide,
    /// Also render the aligned view (the page `lookalike align --html`
    /// writes). Default false.
    #[serde(default)]
    pub view: bool,
}

/// Every figure for one pair, judged with the index's settings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompareResponse {
    /// The figures of `lookalike compare --json`.
    #[schema(value_type = Object)]
    pub figures: Comparison,
    /// With `view`: a self-contained HTML page of the two texts side by
    /// side, shared passages highlighted and linked, differences marked.
    /// Every text in it is escaped. Made for a sandboxed frame's `srcdoc`:
    /// its links to the other side are `about:srcdoc#b-p1`.
    pub view: Option<String>,
}

/// Compare two texts (or stored documents) with the index's fingerprint
/// settings and threshold: similarity with and without template text,
/// containment, the relation, the story verdict, and optionally the
/// aligned view.
#[utoipa::path(post, path = "/v1/compare", tag = "align",
    request_body = CompareRequest,
    responses(
        (status = 200, description = "The figures (and the view)", body = CompareResponse),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 404, description = "A stored id that is not there", body = ErrorBody),
        (status = 413, description = "A text over the limit", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn compare(
    Shared(state): Shared<Arc<State>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CompareResponse>, ApiError> {
    let body = body_or_error(body)?;
    let req: CompareRequest = decode(&body)?;
    let result = blocking(&state, move |s| -> Result<CompareResponse, ApiError> {
        let name = |side: &AlignSide, default: &str| {
            side.name
                .clone()
                .or_else(|| side.id.clone())
                .unwrap_or_else(|| default.to_string())
        };
        let (a_name, b_name) = (name(&req.a, "A"), name(&req.b, "B"));
        let a = side_text(s, req.a, "a")?;
        let b = side_text(s, req.b, "b")?;
        let config = CompareConfig {
            fingerprinter: *s.index.fingerprinter(),
            threshold: s.index.spec().threshold,
            ..CompareConfig::default()
        };
        let (figures, al) = config
            .compare_aligned(&a, &b)
            .map_err(|e| ApiError::invalid(e.to_string()))?;
        let view = req.view.then(|| {
            // Shown as a frame's `srcdoc`, whose links resolve against the
            // embedding page: `#b-p1` would load the page into the frame.
            // `about:srcdoc#b-p1` stays in the frame. (Texts are escaped,
            // so `href="#` can only be the renderer's own links.)
            lookalike::render::html(&a_name, &a, &b_name, &b, &al)
                .replace("href=\"#", "href=\"about:srcdoc#")
        });
        Ok(CompareResponse { figures, view })
    })
    .await?;
    Ok(Json(result))
}

/// A backup to make: a file name in the service's `--backup-dir`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupRequest {
    /// A plain file name (letters, digits, `.`, `-`, `_`; not starting
    /// with `.`), made in the directory the operator gave `serve` with
    /// `--backup-dir`; an existing file is never overwritten (409).
    pub name: String,
}

/// A backup made.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BackupResponse {
    /// Where the copy is, on the service's machine.
    pub path: String,
    /// Documents copied.
    pub documents: u64,
}

/// Copy the index, consistent as of one moment, while the service goes on
/// answering and storing (`lookalike::index::Index::backup`). Off unless
/// the service was started with `--backup-dir`: a request names only a
/// file inside it, never a path.
#[utoipa::path(post, path = "/v1/backup", tag = "index",
    request_body = BackupRequest,
    responses((status = 200, description = "The copy", body = BackupResponse),
        (status = 400, description = "Not a plain file name", body = ErrorBody),
        (status = 403, description = "Backups are off (no --backup-dir)", body = ErrorBody),
        (status = 409, description = "A file of that name exists, or a backup is running", body = ErrorBody)),
    security(("bearer" = [])))]
async fn backup(
    Shared(state): Shared<Arc<State>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<BackupResponse>, ApiError> {
    let body = body_or_error(body)?;
    let req: BackupRequest = decode(&body)?;
    let Some(dir) = state.backup_dir.clone() else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "backups_off",
            "backups are off: start the service with --backup-dir DIR to allow them",
        ));
    };
    let plain = !req.name.is_empty()
        && !req.name.starts_with('.')
        && req.name.len() <= 255
        && req
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !plain {
        return Err(ApiError::invalid(
            "name must be a plain file name: letters, digits, '.', '-' and '_', not starting with '.'",
        )
        .at("name"));
    }
    let dest = dir.join(&req.name);
    let documents = blocking(&state, {
        let dest = dest.clone();
        move |s| s.index.backup(&dest)
    })
    .await?;
    Ok(Json(BackupResponse {
        path: dest.display().to_string(),
        documents,
    }))
}

/// Size and settings of the index.
#[utoipa::path(get, path = "/v1/stats", tag = "index",
    responses((status = 200, description = "Counts and the fingerprint spec", body = IndexStats)),
    security(("bearer" = [])))]
async fn stats(Shared(state): Shared<Arc<State>>) -> Result<Json<IndexStats>, ApiError> {
    Ok(Json(blocking(&state, |s| s.index.stats()).await?))
}

/// Liveness.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// Whether the service is up (no token needed).
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses((status = 200, description = "Up", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "service",
    responses((status = 200, description = "The OpenAPI 3.1 description of the API")))]
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI description of the service.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "lookalike",
        description = "Check streams of documents against a persistent index of everything seen before: copies, near-copies and the passages they share. Every error is JSON: {\"error\": {\"code\", \"message\", \"field\"?}}."
    ),
    paths(add_documents, query_documents, recent_documents, get_document, delete_document, align, compare, stats, backup, healthz, openapi),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
