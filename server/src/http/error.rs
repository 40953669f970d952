//! API errors: one JSON shape for every refusal,
//! `{"error": {"code", "message", ...details}}`, with the HTTP status that
//! fits. Messages say what was wrong and what would be accepted; they never
//! carry customer data (names, phones, addresses) — only ids, field paths
//! and limits. Storage failures are logged and answered with a generic 500.
//!
//! This is the HTTP edge: store and domain code fail with
//! [`Failure`], mapped here to a status and body.

use crate::failure::Failure;
use crate::store::DbError;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

/// A refused request.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Map<String, Value>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Map::new(),
        }
    }

    /// Adds a detail field to the error body.
    pub fn with(mut self, key: &str, value: impl serde::Serialize) -> Self {
        self.details.insert(
            key.to_string(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        self
    }

    /// 400 about one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            format!("{field}: {message}"),
        )
        .with("field", field)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no {what} with id {id:?}"),
        )
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    pub fn internal(context: &str) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the server failed while {context}; the request was not applied, retry later"),
        )
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        tracing::error!(error = %e, "storage failure");
        ApiError::internal("using its database")
    }
}

impl From<Failure> for ApiError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Storage(e) => e.into(),
            Failure::InvalidField { field, message } => ApiError::field(&field, message),
            Failure::NotFound { what, id } => ApiError::not_found(what, &id),
            Failure::Conflict {
                code,
                message,
                details,
            } => {
                let mut e = ApiError::conflict(code, message);
                e.details = details;
                e
            }
            Failure::Unauthorized(message) => ApiError::unauthorized(message),
            Failure::Forbidden(message) => ApiError::forbidden(message),
            Failure::Internal { context } => ApiError::internal(&context),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("code".into(), json!(self.code));
        body.insert("message".into(), json!(self.message));
        body.extend(self.details);
        (self.status, axum::Json(json!({ "error": body }))).into_response()
    }
}

/// Parses a JSON body with `serde_path_to_error`, so a malformed body is
/// answered with the path of the offending field (`events[3].event.visit_id`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    // Fast path: a plain parse (the same deserializer, so it accepts exactly
    // what the tracked parse accepts). Tracking field paths costs about a
    // third more on a 500-event push, so it only runs again to name the
    // field of a body that failed.
    if let Ok(v) = T::deserialize(&mut serde_json::Deserializer::from_slice(bytes)) {
        return Ok(v);
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = if path == "." {
            "body".to_string()
        } else {
            path
        };
        let mut err = ApiError::field(&field, inner.to_string());
        err.code = if inner.is_syntax() || inner.is_eof() {
            "malformed_json"
        } else {
            "invalid_field"
        };
        err
    })
}

/// A JSON request body, limited by the configured body limit (413 beyond it)
/// and parsed with field paths in its errors (400).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Reads the whole body within the limit.
pub async fn read_body<S: Send + Sync>(req: Request, state: &S) -> ApiResult<axum::body::Bytes> {
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(
                    "the request body is larger than the server's body limit (see --max-body-bytes); send fewer events per batch",
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    format!("the request body could not be read: {}", rejection.body_text()),
                )
            }
        })
}
