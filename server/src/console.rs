//! The dispatcher web console: static HTML, CSS and plain JavaScript
//! compiled into the binary with `include_str!` (no build step, no CDN).
//! It is a client of the same JSON API as everything else; the token lives
//! in the browser's sessionStorage.

use axum::http::header;
use axum::response::IntoResponse;

#[utoipa::path(
    get, path = "/", tag = "public", security(()),
    responses((status = 200, description = "The dispatch console", content_type = "text/html", body = String))
)]
pub async fn index() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        include_str!("console/index.html"),
    )
}

#[utoipa::path(
    get, path = "/console.js", tag = "public", security(()),
    responses((status = 200, description = "The console script", content_type = "text/javascript", body = String))
)]
pub async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("console/console.js"),
    )
}

#[utoipa::path(
    get, path = "/console.css", tag = "public", security(()),
    responses((status = 200, description = "The console style sheet", content_type = "text/css", body = String))
)]
pub async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("console/console.css"),
    )
}

/// No icon: answer 204 rather than a 404 in the browser's console.
#[utoipa::path(
    get, path = "/favicon.ico", tag = "public", security(()),
    responses((status = 204, description = "No icon"))
)]
pub async fn favicon() -> axum::http::StatusCode {
    axum::http::StatusCode::NO_CONTENT
}
