//! The dispatcher web console: static HTML, CSS and plain JavaScript
//! compiled into the binary with `include_str!` (no build step, no CDN).
//! It is a client of the same JSON API as everything else; the token lives
//! in the browser's sessionStorage. The dispatch screens (board, picker,
//! map, live updates) are ES modules under `/console/`, and the pinned
//! libraries they use (Leaflet) are copies under `console/vendor/` made by
//! `scripts/vendor-console`: every file is in the binary ([`ASSETS`]).

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

/// One file the console serves under `/console/`: its path there, its
/// content type and its bytes (compiled in).
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

macro_rules! asset {
    ($path:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            bytes: include_bytes!(concat!("console/", $path)),
        }
    };
}

/// Every file under `/console/`: the dispatch screens' modules and styles
/// and the vendored libraries (server/console-vendor/files.txt).
pub const ASSETS: &[Asset] = &[
    asset!("dispatch.css", CSS),
    asset!("day.js", JS),
    asset!("board.js", JS),
    asset!("cash.js", JS),
    asset!("picker.js", JS),
    asset!("coords.js", JS),
    asset!("map.js", JS),
    asset!("live.js", JS),
    asset!("vendor/leaflet/leaflet.js", JS),
    asset!("vendor/leaflet/leaflet.css", CSS),
];

/// `GET /console/{file}`: one of [`ASSETS`], cached by the browser for an
/// hour (a new binary brings new files; the page revalidates after that).
#[utoipa::path(
    get, path = "/console/{file}", tag = "public", security(()),
    params(("file" = String, Path, description = "A console asset's path (scripts, styles, map library)")),
    responses((status = 200, description = "The asset (cached for an hour)", content((String = "text/javascript"), (String = "text/css"))),
              (status = 404, description = "No such asset (an empty answer)"))
)]
pub async fn asset(
    axum::extract::Path(file): axum::extract::Path<String>,
) -> axum::response::Response {
    match ASSETS.iter().find(|a| a.path == file) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "private, max-age=3600"),
            ],
            a.bytes,
        )
            .into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// No icon: answer 204 rather than a 404 in the browser's console.
#[utoipa::path(
    get, path = "/favicon.ico", tag = "public", security(()),
    responses((status = 204, description = "No icon"))
)]
pub async fn favicon() -> axum::http::StatusCode {
    axum::http::StatusCode::NO_CONTENT
}

/// The language catalogue (an ES module the console imports).
#[utoipa::path(
    get, path = "/i18n.js", tag = "public", security(()),
    responses((status = 200, description = "The console's language catalogue (an ES module)", content_type = "text/javascript", body = String))
)]
pub async fn i18n() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("console/i18n.js"),
    )
}

/// The desk's screens (work-order editing, requests queue, search): an ES
/// module the console imports.
#[utoipa::path(
    get, path = "/screens.js", tag = "public", security(()),
    responses((status = 200, description = "The console's screens (an ES module)", content_type = "text/javascript", body = String))
)]
pub async fn screens() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("console/screens.js"),
    )
}

/// The Admin tab (phones, technicians, staff accounts): an ES module.
#[utoipa::path(
    get, path = "/admin.js", tag = "public", security(()),
    responses((status = 200, description = "The console's admin screens (an ES module)", content_type = "text/javascript", body = String))
)]
pub async fn admin() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("console/admin.js"),
    )
}

#[cfg(test)]
mod tests {
    use super::ASSETS;

    #[test]
    fn every_vendored_library_file_is_served_from_the_binary() {
        let manifest = include_str!("../console-vendor/files.txt");
        for line in manifest
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let copy = line
                .split_whitespace()
                .nth(1)
                .expect("manifest line: <from> <to>");
            if copy.ends_with("LICENSE") {
                continue; // kept beside the copy, not served
            }
            let path = format!("vendor/{copy}");
            assert!(
                ASSETS.iter().any(|a| a.path == path),
                "{path} is vendored but not served"
            );
        }
    }

    #[test]
    fn console_assets_carry_the_content_type_of_their_extension() {
        for a in ASSETS {
            let expected = if a.path.ends_with(".js") {
                "text/javascript; charset=utf-8"
            } else if a.path.ends_with(".css") {
                "text/css; charset=utf-8"
            } else {
                panic!("{} has no known content type", a.path)
            };
            assert_eq!(a.content_type, expected, "{}", a.path);
            assert!(!a.bytes.is_empty(), "{} is empty", a.path);
        }
    }
}
