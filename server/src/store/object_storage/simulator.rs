//! An S3-compatible bucket's stand-in for tests and local runs: one bucket,
//! path-style addresses (`/{bucket}/{key}`), `PUT`, `GET`, `HEAD` and
//! `DELETE` of objects, each request's AWS Signature Version 4 checked
//! against the account's keys (and the signed payload hash against the
//! body), answered the way S3 answers (ETag, Last-Modified, XML errors:
//! `SignatureDoesNotMatch`, `InvalidAccessKeyId`, `NoSuchKey`). It can be
//! told to be unavailable (503 `SlowDown` to every request) and counts what
//! it was asked.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The one bucket and the keys that may use it.
#[derive(Debug, Clone)]
pub struct S3Account {
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl Default for S3Account {
    fn default() -> Self {
        Self {
            bucket: "doorstep-photos".into(),
            region: "cn-hangzhou".into(),
            access_key_id: "AKIDDOORSTEPTEST".into(),
            secret_access_key: "doorstep-simulated-secret".into(),
        }
    }
}

#[derive(Default)]
struct Bucket {
    objects: BTreeMap<String, (Bytes, chrono::DateTime<chrono::Utc>)>,
    unavailable: bool,
    /// `METHOD key → status` of every request, in order.
    asked: Vec<String>,
}

struct Sim {
    account: S3Account,
    bucket: Mutex<Bucket>,
}

/// A running simulated bucket.
#[derive(Clone)]
pub struct S3Simulator {
    pub addr: SocketAddr,
    sim: Arc<Sim>,
}

impl S3Simulator {
    /// Starts one on a free port of 127.0.0.1.
    pub async fn start(account: S3Account) -> std::io::Result<S3Simulator> {
        let sim = Arc::new(Sim {
            account,
            bucket: Mutex::new(Bucket::default()),
        });
        let app = Router::new()
            .route("/{bucket}/{*key}", any(object))
            .with_state(sim.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(S3Simulator { addr, sim })
    }

    /// Its address, for `--s3-endpoint`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The object stored at `key`, if any.
    pub fn object(&self, key: &str) -> Option<Bytes> {
        let bucket = self.sim.bucket.lock().unwrap();
        bucket.objects.get(key).map(|(b, _)| b.clone())
    }

    /// The keys stored.
    pub fn keys(&self) -> Vec<String> {
        let bucket = self.sim.bucket.lock().unwrap();
        bucket.objects.keys().cloned().collect()
    }

    /// Every request so far, as `METHOD key → status`.
    pub fn asked(&self) -> Vec<String> {
        self.sim.bucket.lock().unwrap().asked.clone()
    }

    /// Answers 503 to everything while `unavailable`.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.sim.bucket.lock().unwrap().unavailable = unavailable;
    }
}

/// S3's error document.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [("content-type", "application/xml")], body).into_response()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Why a request's signature is refused, as S3 names it.
fn signature_problem(
    account: &S3Account,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<(StatusCode, &'static str, String)> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let denied = |m: &str| Some((StatusCode::FORBIDDEN, "AccessDenied", m.to_string()));
    let Some(auth) = header("authorization") else {
        return denied("anonymous requests are not allowed");
    };
    let Some(fields) = auth.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return denied("only AWS4-HMAC-SHA256 is accepted");
    };
    let mut credential = "";
    let mut signed = "";
    let mut signature = "";
    for part in fields.split(',') {
        let (k, v) = part.trim().split_once('=').unwrap_or(("", ""));
        match k {
            "Credential" => credential = v,
            "SignedHeaders" => signed = v,
            "Signature" => signature = v,
            _ => {}
        }
    }
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[0] != account.access_key_id {
        return Some((
            StatusCode::FORBIDDEN,
            "InvalidAccessKeyId",
            "the access key id is not one of this account's".into(),
        ));
    }
    let (date, region) = (scope[1], scope[2]);
    if region != account.region || scope[3] != "s3" || scope[4] != "aws4_request" {
        return denied("the credential's scope is not this bucket's region and service");
    }
    let payload_hash = header("x-amz-content-sha256").unwrap_or("");
    if payload_hash != "UNSIGNED-PAYLOAD" && payload_hash != hex::encode(Sha256::digest(body)) {
        return Some((
            StatusCode::BAD_REQUEST,
            "XAmzContentSHA256Mismatch",
            "the body does not hash to x-amz-content-sha256".into(),
        ));
    }
    let amz_date = header("x-amz-date").unwrap_or("");
    let mut query: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|q| !q.is_empty())
        .collect();
    query.sort_unstable();
    let canonical_query = query
        .iter()
        .map(|q| {
            if q.contains('=') {
                q.to_string()
            } else {
                format!("{q}=")
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    let canonical_headers: String = signed
        .split(';')
        .map(|name| format!("{name}:{}\n", header(name).unwrap_or("").trim()))
        .collect();
    let canonical_request = format!(
        "{method}\n{}\n{canonical_query}\n{canonical_headers}\n{signed}\n{payload_hash}",
        uri.path()
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/s3/aws4_request\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let key = [date, region, "s3", "aws4_request"].iter().fold(
        format!("AWS4{}", account.secret_access_key).into_bytes(),
        |k, part| hmac(&k, part),
    );
    if hex::encode(hmac(&key, &string_to_sign)) != signature {
        return Some((
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "the request signature we calculated does not match the signature you provided".into(),
        ));
    }
    None
}

async fn object(
    State(sim): State<Arc<Sim>>,
    Path((bucket, key)): Path<(String, String)>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 64 * 1024 * 1024).await else {
        return error(
            StatusCode::BAD_REQUEST,
            "IncompleteBody",
            "the body could not be read",
        );
    };
    let answer = answer(&sim, &parts, &bucket, &key, body);
    let mut b = sim.bucket.lock().unwrap();
    b.asked.push(format!(
        "{} {key} → {}",
        parts.method,
        answer.status().as_u16()
    ));
    answer
}

fn answer(
    sim: &Sim,
    parts: &axum::http::request::Parts,
    bucket_name: &str,
    key: &str,
    body: Bytes,
) -> Response {
    let mut bucket = sim.bucket.lock().unwrap();
    if bucket.unavailable {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "SlowDown",
            "please reduce your request rate",
        );
    }
    if bucket_name != sim.account.bucket {
        return error(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "the specified bucket does not exist",
        );
    }
    if let Some((status, code, message)) = signature_problem(
        &sim.account,
        &parts.method,
        &parts.uri,
        &parts.headers,
        &body,
    ) {
        return error(status, code, &message);
    }
    let described = |bytes: &Bytes, at: &chrono::DateTime<chrono::Utc>| {
        [
            (
                "etag",
                format!("\"{}\"", &hex::encode(Sha256::digest(bytes))[..32]),
            ),
            (
                "last-modified",
                at.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            ),
            ("content-length", bytes.len().to_string()),
            ("content-type", "application/octet-stream".to_string()),
        ]
    };
    match parts.method {
        Method::PUT => {
            let at = chrono::Utc::now();
            let etag = described(&body, &at)[0].1.clone();
            bucket.objects.insert(key.to_string(), (body, at));
            (StatusCode::OK, [("etag", etag)]).into_response()
        }
        Method::GET | Method::HEAD => match bucket.objects.get(key) {
            Some((bytes, at)) => {
                let headers = described(bytes, at);
                if parts.method == Method::HEAD {
                    (StatusCode::OK, headers).into_response()
                } else {
                    (StatusCode::OK, headers, Body::from(bytes.clone())).into_response()
                }
            }
            None if parts.method == Method::HEAD => StatusCode::NOT_FOUND.into_response(),
            None => error(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "the specified key does not exist",
            ),
        },
        Method::DELETE => {
            bucket.objects.remove(key);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "the specified method is not allowed against this resource",
        ),
    }
}
