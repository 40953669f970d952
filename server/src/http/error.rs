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

/// When the request body must have arrived: put in the request's extensions
/// by the edge (`http::edge`, from `--body-timeout-secs`) and honoured by
/// [`read_body`].
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub tokio::time::Instant);

/// A refused request.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The message in Chinese, when the refusal has one (sent as
    /// `message_zh`, and as `message` to callers preferring Chinese).
    pub message_zh: Option<String>,
    /// Seconds to wait before retrying (429, 503): the `Retry-After` header
    /// and `retry_after_s` in the body.
    pub retry_after_s: Option<u64>,
    pub details: Map<String, Value>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            message_zh: None,
            retry_after_s: None,
            details: Map::new(),
        }
    }

    /// Adds the Chinese message.
    pub fn zh(mut self, message: impl Into<String>) -> Self {
        self.message_zh = Some(message.into());
        self
    }

    /// Asks the client to wait `seconds` before retrying.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(seconds.max(1));
        self
    }

    /// 400 about one field, in both languages.
    pub fn field_bilingual(field: &str, en: impl Into<String>, zh: impl Into<String>) -> Self {
        let zh = zh.into();
        Self::field(field, en).zh(format!("{field}：{zh}"))
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
        let thing = match what {
            "assignment" => "工单",
            "technician" => "技师",
            "visit" => "上门记录",
            "user" => "用户",
            "callback" => "回访",
            "enrolled device" | "device" => "已登记的手机",
            "photo" => "照片",
            "request" => "待办请求",
            _ => "记录",
        };
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no {what} with id {id:?}"),
        )
        .zh(format!("没有编号为 {id} 的{thing}。"))
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
        // Every refusal carries Chinese: its own, or the catalogue's by code.
        let zh = self
            .message_zh
            .clone()
            .unwrap_or_else(|| super::error_zh::message(self.code, &self.details));
        body.insert("message_zh".into(), json!(zh));
        if let Some(s) = self.retry_after_s {
            body.insert("retry_after_s".into(), json!(s));
        }
        body.extend(self.details);
        let mut res = (self.status, axum::Json(json!({ "error": body }))).into_response();
        if let Some(s) = self.retry_after_s {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        res
    }
}

/// Parses a JSON body with `serde_path_to_error`, so a malformed body is
/// answered with the path of the offending field (`events[3].event.visit_id`,
/// finished by `field_path` inside what serde does not follow).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    // Fast path: a plain parse (the same deserializer, so it accepts exactly
    // what the tracked parse accepts). Tracking field paths costs about a
    // third more on a 500-event push, so it only runs again to name the
    // field of a body that failed.
    let mut de = serde_json::Deserializer::from_slice(bytes);
    if let Ok(v) = T::deserialize(&mut de) {
        return match de.end() {
            Ok(()) => Ok(v),
            Err(e) => Err(trailing_input(&e)),
        };
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = if path == "." {
            "body".to_string()
        } else if inner.is_data() && bytes.len() <= super::field_path::MAX_BODY_BYTES {
            // Into what serde could not follow (an event's kind).
            serde_json::from_slice::<Value>(bytes)
                .map(|root| super::field_path::finish::<T>(&root, &path))
                .unwrap_or(path)
        } else {
            path
        };
        let text = without_values(&inner.to_string());
        let mut err = ApiError::field_bilingual(
            &field,
            text.clone(),
            format!("缺失、类型不对或无法解析（{text}）。"),
        );
        err.code = if inner.is_syntax() || inner.is_eof() {
            "malformed_json"
        } else {
            "invalid_field"
        };
        err
    })
}

/// serde's message without the value it quotes (`invalid type: string
/// "13812345678", expected …` → `invalid type: string, expected …`): a
/// refusal names the field, never echoes what was sent (a customer's phone
/// or address would reach the client's and the server's logs).
pub fn without_values(message: &str) -> String {
    for lead in ["invalid type: ", "invalid value: ", "unknown variant "] {
        let Some(rest) = message.strip_prefix(lead) else {
            continue;
        };
        let Some(expected) = rest.rfind(", expected") else {
            continue;
        };
        let kind = if lead == "unknown variant " {
            ""
        } else {
            rest[..expected].split([' ', '`', '"']).next().unwrap_or("")
        };
        let lead = lead.trim_end();
        let sep = if kind.is_empty() { "" } else { " " };
        return format!("{lead}{sep}{kind}{}", &rest[expected..]);
    }
    // A custom refusal quoting the value (`invalid trade id "…": expected …`).
    let mut out = String::with_capacity(message.len());
    let mut parts = message.split('"');
    out.push_str(parts.next().unwrap_or(""));
    while let (Some(_quoted), Some(after)) = (parts.next(), parts.next()) {
        out.push_str(after.strip_prefix(' ').unwrap_or(after));
    }
    out.replace(" :", ":")
}

/// The refusal of a body with something after its JSON value.
fn trailing_input(e: &serde_json::Error) -> ApiError {
    let mut err = ApiError::field_bilingual(
        "body",
        format!(
            "trailing input after the JSON value at line {} column {}: send exactly one JSON value",
            e.line(),
            e.column()
        ),
        format!(
            "JSON 值之后还有多余内容（第 {} 行第 {} 列）：请求体只能是一个 JSON 值。",
            e.line(),
            e.column()
        ),
    );
    err.code = "malformed_json";
    err
}

/// Whether a `Content-Type` names JSON (`application/json`, any `+json`).
fn is_json_media_type(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"))
}

/// 415 for a body that is not declared as JSON.
pub fn require_json_media_type(headers: &axum::http::HeaderMap) -> ApiResult<()> {
    if is_json_media_type(headers) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        )
        .zh("请以 JSON 发送请求体，并带上 `Content-Type: application/json`。"))
    }
}

/// A query string parsed into `T`; a bad one is refused with 400
/// `invalid_query` naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let field = e.path().to_string();
                let inner = e.into_inner().to_string();
                let mut err = ApiError::field_bilingual(
                    &field,
                    format!("bad query parameter: {inner}"),
                    format!("查询参数有误：{inner}"),
                );
                err.code = "invalid_query";
                err
            })
    }
}

/// A JSON request body, limited by the configured body limit (413 beyond it)
/// and parsed with field paths in its errors (400).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let bytes = read_body(req, state).await?;
        if !bytes.is_empty() {
            require_json_media_type(&headers)?;
        }
        parse_json(&bytes).map(ApiJson)
    }
}

/// Reads the whole body within the limit and before the body deadline the
/// edge set (`--body-timeout-secs`; 408 and the connection closed after it).
pub async fn read_body<S: Send + Sync>(req: Request, state: &S) -> ApiResult<axum::body::Bytes> {
    let deadline = req.extensions().get::<BodyDeadline>().copied();
    let read = axum::body::Bytes::from_request(req, state);
    let read = match deadline {
        Some(BodyDeadline(at)) => match tokio::time::timeout_at(at, read).await {
            Ok(r) => r,
            Err(_) => return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                "the request body did not arrive in time (see --body-timeout-secs); send it again",
            )
            .zh("请求体未能按时送达（见 --body-timeout-secs），请重新发送。")),
        },
        None => read.await,
    };
    read.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(
                    "the request body is larger than the server's body limit (see --max-body-bytes); send fewer events per batch",
                )
                .zh("请求体超过服务器上限（见 --max-body-bytes）：请减少每批的事件数。")
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    format!("the request body could not be read: {}", rejection.body_text()),
                )
            }
        })
}
