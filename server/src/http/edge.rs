//! The edge every request and response passes: load shedding (503 +
//! `Retry-After` beyond `--max-in-flight-requests`, `/healthz` exempt), the
//! body read deadline handed to the body readers, one JSON error shape for
//! every refusal — the framework's own too (query and path rejections, 404,
//! 405, 413, 415, timeouts) — in the caller's language (`Accept-Language`),
//! and the security headers on every response, pages and API alike.

use crate::app::AppState;
use crate::http::error::{ApiError, BodyDeadline};
use crate::map_tiles::{image_source, policy_with_images_from};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::sync::LazyLock;
use std::time::Duration;
use tokio::time::Instant;

/// The policy of every response: everything from this origin only, no
/// inline script, no framing, no plugins. The one inline style allowed is
/// the service report's own, by its SHA-256, so the report stays one
/// self-contained page, styled also where the console opens it as a `blob:`
/// document (which inherits the console's policy).
pub fn content_security_policy() -> &'static str {
    static POLICY: LazyLock<String> = LazyLock::new(|| {
        format!(
            "default-src 'self'; script-src 'self'; style-src 'self' '{}'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            crate::report::html::style_source()
        )
    });
    POLICY.as_str()
}

/// Seconds a client is asked to wait when the server sheds load.
pub const OVERLOADED_RETRY_AFTER_S: u64 = 1;

/// The middleware: see the module doc.
pub async fn edge(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let chinese = prefers_chinese(req.headers());
    let is_page = !path.starts_with("/api/") && path != "/healthz";
    let _in_flight = if path == "/healthz" {
        None
    } else {
        match state.guard.in_flight.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                let res = overloaded().into_response();
                return finish(res, chinese, is_page).await;
            }
        }
    };
    let timeout = Duration::from_secs(state.config.body_timeout_secs);
    req.extensions_mut()
        .insert(BodyDeadline(Instant::now() + timeout));
    let res = next.run(req).await;
    let mut res = finish(res, chinese, is_page).await;
    // The console's map loads its tiles from the configured host only.
    if is_page {
        if let Some(source) = state.config.map_tiles.as_deref().and_then(image_source) {
            let policy = policy_with_images_from(content_security_policy(), &source);
            if let Ok(v) = HeaderValue::from_str(&policy) {
                res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
        }
    }
    res
}

/// 503 `overloaded` with `Retry-After`.
pub fn overloaded() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        format!(
            "the server is busy; nothing was applied: retry after {OVERLOADED_RETRY_AFTER_S} s"
        ),
    )
    .zh(format!(
        "服务器繁忙，本次请求未执行：请 {OVERLOADED_RETRY_AFTER_S} 秒后重试。"
    ))
    .retry_after(OVERLOADED_RETRY_AFTER_S)
}

async fn finish(res: Response, chinese: bool, is_page: bool) -> Response {
    // A page a handler made for a refusal (the customer's expired or
    // unknown report link) stays the page it is.
    let handler_page = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let refused = res.status().is_client_error() || res.status().is_server_error();
    let mut res = if refused && !handler_page {
        as_json_error(res, chinese).await
    } else {
        res
    };
    secure(res.headers_mut(), is_page);
    res
}

/// Whether `Accept-Language` ranks Chinese above English (first listed
/// wins; weights are rarely used by browsers in another order).
pub fn prefers_chinese(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut best: Option<(f32, bool)> = None;
    for part in value.split(',') {
        let mut bits = part.trim().split(';');
        let tag = bits.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = bits
            .find_map(|b| b.trim().strip_prefix("q=").and_then(|q| q.parse().ok()))
            .unwrap_or(1.0f32);
        let zh = tag == "zh" || tag.starts_with("zh-");
        if zh || tag == "en" || tag.starts_with("en-") {
            match best {
                Some((bq, _)) if bq >= q => {}
                _ => best = Some((q, zh)),
            }
        }
    }
    best.is_some_and(|(_, zh)| zh)
}

/// The code of a refusal the framework (not a handler) produced.
fn framework_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        413 => "too_large",
        415 => "unsupported_media_type",
        422 => "invalid_field",
        429 => "rate_limited",
        500 => "internal",
        503 => "overloaded",
        _ => "http_error",
    }
}

/// What the framework's refusal means, in English and Chinese.
fn framework_message(status: StatusCode, text: &str) -> (String, String) {
    let detail = text.trim();
    let (en, zh) = match status.as_u16() {
        404 => (
            "no such endpoint: see docs/API.md for the routes".to_string(),
            "没有这个接口：路由见 docs/API.md。".to_string(),
        ),
        405 => (
            "this endpoint does not take that method; the Allow header lists those it takes"
                .to_string(),
            "该接口不接受此方法；可用方法见响应头 Allow。".to_string(),
        ),
        413 => (
            "the request body is larger than the server's body limit (see --max-body-bytes)"
                .to_string(),
            "请求体超过服务器上限（见 --max-body-bytes）。".to_string(),
        ),
        408 => (
            "the request took too long to arrive; send it again".to_string(),
            "请求未能及时送达，请重新发送。".to_string(),
        ),
        _ => (
            format!("the request was refused ({status})"),
            format!("请求被拒绝（{status}）。"),
        ),
    };
    if detail.is_empty() {
        (en, zh)
    } else {
        (format!("{en}: {detail}"), format!("{zh}（{detail}）"))
    }
}

/// Rewrites a refusal into the one JSON shape; a handler's JSON refusal
/// keeps its body, with `message` in Chinese when the caller prefers it.
async fn as_json_error(res: Response, chinese: bool) -> Response {
    let (mut parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let parsed: Option<Value> = if is_json {
        serde_json::from_slice(&bytes)
            .ok()
            .filter(|v: &Value| v["error"]["code"].is_string())
    } else {
        None
    };
    let mut body = match parsed {
        Some(v) => v,
        None => {
            let text = String::from_utf8_lossy(&bytes);
            let (en, zh) = framework_message(parts.status, &text);
            let status = parts.status;
            let mut e = ApiError::new(status, framework_code(status), en).zh(zh);
            if status == StatusCode::SERVICE_UNAVAILABLE {
                e = e.retry_after(OVERLOADED_RETRY_AFTER_S);
            }
            let fresh = e.into_response();
            for (name, value) in fresh.headers() {
                if name != header::CONTENT_LENGTH {
                    parts.headers.insert(name.clone(), value.clone());
                }
            }
            let bytes = axum::body::to_bytes(fresh.into_body(), 64 * 1024)
                .await
                .unwrap_or_default();
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        }
    };
    if chinese {
        if let Some(zh) = body["error"]["message_zh"].as_str().map(str::to_string) {
            body["error"]["message"] = Value::String(zh);
        }
    }
    let out = serde_json::to_vec(&body).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(out))
}

/// The security headers: on every response; `Cache-Control: no-store` on
/// API answers (pages keep the browser's default caching).
pub fn secure(headers: &mut HeaderMap, is_page: bool) {
    let set = |headers: &mut HeaderMap, name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        content_security_policy(),
    );
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    if !is_page {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn chinese_is_chosen_when_ranked_above_english() {
        assert!(prefers_chinese(&accept("zh-CN,zh;q=0.9,en;q=0.8")));
        assert!(prefers_chinese(&accept("en;q=0.5, zh-Hans")));
        assert!(!prefers_chinese(&accept("en-US,en;q=0.9,zh-CN;q=0.8")));
        assert!(!prefers_chinese(&accept("fr")));
        assert!(!prefers_chinese(&HeaderMap::new()));
    }
}
