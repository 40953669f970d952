//! Outbound webhooks and integrators' keys: the signature (HMAC-SHA256 over
//! `timestamp.body`, sent as `Doorstep-Signature: t=<unix seconds>,v1=<hex>`),
//! each endpoint's signing secret (derived from the server's webhook key, an
//! environment variable, so no secret is stored), the body an event is sent
//! as, and API keys (random, stored as SHA-256, scoped, revocable).

use crate::store::integrations::IntegrationEvent;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// The header carrying the timestamp and signature.
pub const SIGNATURE_HEADER: &str = "Doorstep-Signature";
/// The header carrying the idempotency key (the same on every attempt).
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// How far a receiver should accept a signature's timestamp from its clock.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

/// The scopes an API key may carry.
pub const SCOPES: [&str; 1] = ["feed:read"];

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// An endpoint's signing secret: HMAC of its id under the server's webhook
/// key, shown to the integrator when the endpoint is made.
pub fn endpoint_secret(server_key: &str, endpoint_id: &str) -> String {
    format!(
        "whsec_{}",
        hex::encode(hmac_sha256(server_key.as_bytes(), endpoint_id.as_bytes()))
    )
}

/// The signature header's value for `body` sent at `timestamp` (seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(hmac_sha256(secret.as_bytes(), &message))
    )
}

/// Why a received signature is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureProblem {
    Malformed,
    Stale,
    Mismatch,
}

/// Checks a signature header as a receiver does: well formed, its time
/// within [`SIGNATURE_TOLERANCE_SECS`] of `now` (seconds), and the HMAC
/// matching (compared in constant time).
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64) -> Result<(), SignatureProblem> {
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", s)) => signature = hex::decode(s).ok(),
            _ => {}
        }
    }
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(SignatureProblem::Malformed);
    };
    if (now - timestamp).abs() > SIGNATURE_TOLERANCE_SECS {
        return Err(SignatureProblem::Stale);
    }
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(&message);
    mac.verify_slice(&signature)
        .map_err(|_| SignatureProblem::Mismatch)
}

/// The JSON an integration event is delivered and listed as.
pub fn event_body(e: &IntegrationEvent) -> Value {
    json!({
        "id": e.id,
        "type": e.event_type,
        "seq": e.feed_seq,
        "occurred_at": e.occurred_at,
        "assignment_id": e.assignment_id,
        "visit_id": e.visit_id,
        "data": e.data,
    })
}

/// Whether a webhook endpoint URL is one the worker can call: http(s), a
/// host, no credentials in it.
pub fn valid_endpoint_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !host.contains('@') && !r.chars().any(char::is_whitespace)
    }) && url.len() <= 2000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231_test_case_2() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_signature_verifies_only_for_its_body_secret_and_time() {
        let header = sign("whsec_x", 1_764_000_000, b"{\"a\":1}");
        assert_eq!(
            verify("whsec_x", &header, b"{\"a\":1}", 1_764_000_100),
            Ok(())
        );
        assert_eq!(
            verify("whsec_x", &header, b"{\"a\":2}", 1_764_000_100),
            Err(SignatureProblem::Mismatch)
        );
        assert_eq!(
            verify("whsec_y", &header, b"{\"a\":1}", 1_764_000_100),
            Err(SignatureProblem::Mismatch)
        );
        assert_eq!(
            verify("whsec_x", &header, b"{\"a\":1}", 1_764_001_000),
            Err(SignatureProblem::Stale)
        );
        assert_eq!(
            verify("whsec_x", "v1=00", b"", 0),
            Err(SignatureProblem::Malformed)
        );
    }

    #[test]
    fn each_endpoint_has_its_own_secret() {
        assert_ne!(endpoint_secret("k", "W-1"), endpoint_secret("k", "W-2"));
        assert_eq!(endpoint_secret("k", "W-1"), endpoint_secret("k", "W-1"));
    }
}
