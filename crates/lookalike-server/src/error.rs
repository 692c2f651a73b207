//! Every error the service returns is JSON:
//! `{"error": {"code": "...", "message": "...", "field": "documents[3].text"}}`,
//! with a stable machine-readable `code` and a message a person can act on.

use axum::Json;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code: `invalid_json`, `invalid_request`, `payload_too_large`,
    /// `unauthorized`, `not_found`, `method_not_allowed`, `request_timeout`,
    /// `unsupported_media_type`, `backups_off` (403), `exists` (409: a
    /// backup's file is there already), `busy` (409: a backup is running), `index_unavailable` (503: the disk
    /// or the database failed; retry later), `index_damaged` (500: damage
    /// found in the index file), `internal`.
    pub code: &'static str,
    /// What went wrong and what to do.
    pub message: String,
    /// The JSON path of the offending field, when one is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error on its way to becoming a response.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The body.
    pub body: ErrorBody,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                error: ErrorDetail {
                    code,
                    message: message.into(),
                    field: None,
                },
            },
        }
    }

    /// Blame a field.
    pub fn at(mut self, field: impl Into<String>) -> ApiError {
        self.body.error.field = Some(field.into());
        self
    }

    /// 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 413 `payload_too_large`.
    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    /// 500 `internal`: the index failed (disk, corruption).
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

/// The library's errors reach the service only from the index itself:
/// request problems are caught before it is called. Each kind of index
/// trouble gets its own status and code: the disk failing may pass (503
/// `index_unavailable`, retry later); damage found in the file will not
/// (500 `index_damaged`: restore or rebuild it); anything else, a poisoned
/// lock included (only a restart clears it), is 500 `internal`.
impl From<lookalike::Error> for ApiError {
    fn from(e: lookalike::Error) -> ApiError {
        use lookalike::IndexProblem;
        match e.index_problem() {
            Some(IndexProblem::Exists) => {
                ApiError::new(StatusCode::CONFLICT, "exists", e.to_string())
            }
            Some(IndexProblem::InUse) => ApiError::new(StatusCode::CONFLICT, "busy", e.to_string()),
            Some(IndexProblem::Poisoned) => ApiError::internal(format!(
                "{e}: the service must be restarted (a lock stays poisoned)"
            )),
            Some(IndexProblem::Storage) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "index_unavailable",
                format!("{e}; the request may be retried later"),
            ),
            Some(IndexProblem::Damaged) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "index_damaged",
                format!("{e}; the service's operator must restore or rebuild the index"),
            ),
            _ => ApiError::internal(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// Turn the bare error responses that routing and the limit and timeout
/// layers produce (an unknown path, a wrong method, a body over the limit,
/// a request that took too long) into the same JSON errors as the handlers'.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no such endpoint; see GET /openapi.json"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this endpoint does not take that method; see GET /openapi.json",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "the request body is over the limit; send smaller batches or raise --max-body",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "request_timeout",
            "the request took longer than the limit; send smaller batches or raise --timeout (a batch being added may still have been stored: query its ids)",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "send the body as JSON (Content-Type: application/json)",
        ),
        s if s.is_client_error() => ("invalid_request", "the request was refused"),
        _ => ("internal", "the service failed; see its log"),
    };
    ApiError::new(status, code, message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookalike::IndexProblem;

    /// Index trouble that may pass is 503, damage 500 with its own code,
    /// anything else 500 `internal`.
    #[test]
    fn index_problems_get_their_own_status() {
        let of = |p| ApiError::from(lookalike::Error::index("x.redb", p, "why"));
        let storage = of(IndexProblem::Storage);
        assert_eq!(storage.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(storage.body.error.code, "index_unavailable");
        let damaged = of(IndexProblem::Damaged);
        assert_eq!(damaged.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(damaged.body.error.code, "index_damaged");
        assert!(damaged.body.error.message.contains("x.redb: why"));
        let other = ApiError::from(lookalike::Error::Config("bad".into()));
        assert_eq!(other.body.error.code, "internal");
        let poisoned = of(IndexProblem::Poisoned);
        assert_eq!(poisoned.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(poisoned.body.error.message.contains("restarted"));
    }
}
