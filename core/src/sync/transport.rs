//! The one HTTP exchange sync needs, behind a trait: send a request, get
//! the status, headers and body back (or a network failure). The protocol
//! (what to send, what an answer means) stays in `SyncClient`; the transport
//! only moves bytes.
//!
//! Two implementations: [`ReqwestTransport`] (feature `http`: the CLI, the
//! end-to-end tests and benches, any desktop use) and, in `doorstep-ffi`,
//! the phone's own HTTP stack (OkHttp / `HttpURLConnection` on Android,
//! `URLSession` on iOS) implemented in the shell — the design of Mozilla's
//! viaduct. The phone then honours the platform's proxies, user-installed
//! certificates and network policy, and the native library carries no HTTP
//! or TLS stack of its own.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A request to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET` or `POST`; `HEAD` and `PUT` for photo uploads (a body goes with `POST` and `PUT`).
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The whole exchange must finish within this.
    pub timeout: Duration,
}

/// What came back. The body is as it came off the wire (a gzip body is
/// decoded by the client, so byte counts are the wire's).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The longest `Retry-After` honoured (a larger one is taken as this).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60 * 60);

impl HttpResponse {
    /// How long the server asked the client to wait (`Retry-After` in
    /// seconds, as this server sends it on 429 and 503), at most
    /// [`MAX_RETRY_AFTER`]. An HTTP-date or a malformed value is ignored
    /// (the backoff alone decides then).
    pub fn retry_after(&self) -> Option<Duration> {
        let seconds: u64 = self.header("retry-after")?.trim().parse().ok()?;
        Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A boxed future, as transports return it.
pub type TransportFuture<'a> =
    Pin<Box<dyn Future<Output = Result<HttpResponse, String>> + Send + 'a>>;

/// Moves one request and its answer. `Err` is a network failure in words
/// (no connection, timeout, TLS refused, connection dropped); any HTTP status
/// is an `Ok` answer for the client to interpret.
pub trait Transport: Send + Sync {
    fn send(&self, request: HttpRequest) -> TransportFuture<'_>;

    /// The sync was cancelled: abort the requests in flight if the stack can
    /// (a platform request runs on its own thread and would otherwise go on
    /// until its timeout). Dropping the future already stops the waiting.
    fn cancel(&self) {}
}

#[cfg(feature = "http")]
pub use reqwest_transport::ReqwestTransport;

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(retry_after: &str) -> HttpResponse {
        HttpResponse {
            status: 503,
            headers: vec![("Retry-After".into(), retry_after.into())],
            body: vec![],
        }
    }

    #[test]
    fn retry_after_is_read_in_seconds_capped_and_ignored_when_not_a_number() {
        assert_eq!(answer("7").retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(answer(" 0 ").retry_after(), Some(Duration::ZERO));
        assert_eq!(answer("999999").retry_after(), Some(MAX_RETRY_AFTER));
        assert_eq!(answer("Wed, 21 Oct 2026 07:28:00 GMT").retry_after(), None);
        assert_eq!(HttpResponse::default().retry_after(), None);
    }
}

#[cfg(feature = "http")]
mod reqwest_transport {
    use super::{HttpRequest, HttpResponse, Transport, TransportFuture};

    /// [`Transport`] over reqwest (HTTP/1.1; HTTPS with feature `tls`).
    #[derive(Debug, Clone)]
    pub struct ReqwestTransport {
        http: reqwest::Client,
    }

    impl ReqwestTransport {
        /// With reqwest's default TLS setup. Responses are not decoded by
        /// reqwest: the sync client reads `Content-Encoding` itself.
        pub fn new() -> Result<Self, String> {
            let http = reqwest::Client::builder()
                .no_gzip()
                .connect_timeout(std::time::Duration::from_secs(10))
                .build()
                .map_err(|e| e.to_string())?;
            Ok(Self { http })
        }
    }

    impl Transport for ReqwestTransport {
        fn send(&self, request: HttpRequest) -> TransportFuture<'_> {
            Box::pin(async move {
                let method = reqwest::Method::from_bytes(request.method.as_bytes())
                    .map_err(|e| e.to_string())?;
                let mut req = self
                    .http
                    .request(method, &request.url)
                    .timeout(request.timeout)
                    .body(request.body);
                for (k, v) in &request.headers {
                    req = req.header(k.as_str(), v.as_str());
                }
                let res = req.send().await.map_err(|e| e.to_string())?;
                let status = res.status().as_u16();
                let headers = res
                    .headers()
                    .iter()
                    .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
                    .collect();
                let body = res.bytes().await.map_err(|e| e.to_string())?.to_vec();
                Ok(HttpResponse {
                    status,
                    headers,
                    body,
                })
            })
        }
    }
}
