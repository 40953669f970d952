//! The dispatcher web console: static HTML, CSS and plain JavaScript
//! compiled into the binary with `include_str!` (no build step, no CDN).
//! It is a client of the same JSON API as everything else; the token lives
//! in the browser's sessionStorage.

use axum::http::header;
use axum::response::IntoResponse;

pub async fn index() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        include_str!("console/index.html"),
    )
}

pub async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("console/console.js"),
    )
}

pub async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("console/console.css"),
    )
}

/// No icon: answer 204 rather than a 404 in the browser's console.
pub async fn favicon() -> axum::http::StatusCode {
    axum::http::StatusCode::NO_CONTENT
}

/// The language catalogue (an ES module the console imports).
pub async fn i18n() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("console/i18n.js"),
    )
}

/// The desk's screens (work-order editing, requests queue, search): an ES
/// module the console imports.
pub async fn screens() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("console/screens.js"),
    )
}

/// The Admin tab (phones, technicians, staff accounts): an ES module.
pub async fn admin() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("console/admin.js"),
    )
}
