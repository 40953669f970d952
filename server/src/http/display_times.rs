//! Times as people read them, beside the times themselves: a client that
//! shows the server's answers to a person (the console) asks with
//! `Doorstep-Display-Times: zh-CN` (or `en`), and every time in the JSON
//! answer gains its reading in the business time zone, formatted by the
//! core (`BusinessZone::annotate_times`: `received_at` → `received_at_text`
//! `12月3日 09:00`; a window's `text` and `clock_text`), the same words the
//! phone, the report and the customer's notices use. Without the header an
//! answer is unchanged.

use crate::app::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{HeaderMap, CONTENT_LENGTH, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::Response;
use doorstep_core::messages::Lang;

/// The request header naming the language the times are read in.
pub const HEADER: &str = "doorstep-display-times";

/// The language a request asks its times to be read in, if it asks.
pub fn requested(headers: &HeaderMap) -> Option<Lang> {
    let tag = headers
        .get(HEADER)?
        .to_str()
        .ok()?
        .trim()
        .to_ascii_lowercase();
    Some(if tag == "zh" || tag.starts_with("zh-") {
        Lang::ZhCn
    } else {
        Lang::En
    })
}

/// Middleware on every API route: see the module doc. Only successful JSON
/// answers are read; one that cannot be parsed is sent as it was.
pub async fn annotate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let lang = requested(req.headers());
    let res = next.run(req).await;
    let Some(lang) = lang else { return res };
    let json = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !json || !res.status().is_success() {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    state.zone.annotate_times(&mut value, lang);
    match serde_json::to_vec(&value) {
        Ok(out) => {
            parts.headers.remove(CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(out))
        }
        Err(_) => Response::from_parts(parts, Body::from(bytes)),
    }
}
