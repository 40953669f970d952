//! WeChat Pay API v3, native orders (Native 支付), as its public
//! documentation describes them (pay.weixin.qq.com, 直连商户 "Native下单",
//! "签名生成", "验证签名", "支付通知" and "证书和回调报文解密"). What this
//! adapter does:
//!
//! - **Order** (`POST /v3/pay/transactions/native`, JSON): `appid`,
//!   `mchid`, `description`, `out_trade_no`, `time_expire` (RFC 3339 in
//!   China Standard Time, `+08:00`), `notify_url`, `amount {total (fen),
//!   currency "CNY"}`. The answer `{"code_url": "weixin://wxpay/bizpayurl?pr=…"}`
//!   is what the phone shows as a QR code.
//! - **Signature** of the request: `Authorization: WECHATPAY2-SHA256-RSA2048
//!   mchid="…",nonce_str="…",signature="…",timestamp="…",serial_no="…"`,
//!   the signature being base64(RSA-SHA256 with the merchant's private key)
//!   of `POST\n{path}\n{timestamp}\n{nonce}\n{body}\n`.
//! - **Answer check**: `Wechatpay-Signature` is WeChat Pay's signature
//!   (its public key) of `{Wechatpay-Timestamp}\n{Wechatpay-Nonce}\n{body}\n`;
//!   an answer that does not verify is not trusted (another attempt).
//! - **Notification** ([`open_notification`], served at
//!   `POST /api/payments/wechat-pay/notify`): the same signature over the
//!   notification's body, a timestamp within 5 minutes, `event_type`
//!   `TRANSACTION.SUCCESS` and an `encrypt-resource` sealed with
//!   `AEAD_AES_256_GCM` under the APIv3 key (nonce and associated data in
//!   the resource); the transaction inside names `mchid`, `appid`,
//!   `out_trade_no`, `transaction_id`, `trade_state` `SUCCESS`,
//!   `success_time` and `amount.total`.
//!
//! - **Order query** (查单, `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=…`,
//!   signed like an order with an empty body, the path with its query in
//!   the signed message): the signed answer's `trade_state` — `SUCCESS`
//!   (and `REFUND`: it was paid) gives the transaction, `NOTPAY` and
//!   `USERPAYING` ask again later, `CLOSED`, `REVOKED` and `PAYERROR` say
//!   the order was closed. For a notification that never came.
//!
//! Errors: an HTTP 4xx answer `{"code", "message"}` is a refusal (429 and
//! `SYSTEM_ERROR` / `FREQUENCY_LIMITED` are worth another attempt); 5xx,
//! timeouts and unreadable or unverified answers are retried. Ordering again
//! with the same `out_trade_no` and the same parameters gives the same
//! `code_url`, which makes the order idempotent; the outbox's key also goes
//! in an `Idempotency-Key` header. Not covered: the platform certificates'
//! download (`/v3/certificates`) — WeChat Pay's public key is a file the
//! operator downloads from the merchant platform — and `Wechatpay-Serial`
//! is not matched against a key id.

use super::rsa_keys;
use super::{Delivery, Provider};
use crate::domain::qr_payments::{QueryAnswer, KIND, QUERY_KIND};
use crate::domain::webhooks::IDEMPOTENCY_HEADER;
use crate::store::outbox::OutboxMessage;
use crate::store::BoxFuture;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use std::path::PathBuf;

/// The native order's path.
pub const NATIVE_PATH: &str = "/v3/pay/transactions/native";
/// The notification path on this server.
pub const NOTIFY_PATH: &str = "/api/payments/wechat-pay/notify";
/// The order query's path, before the merchant's order number.
pub const QUERY_PATH: &str = "/v3/pay/transactions/out-trade-no/";
/// The Authorization scheme.
pub const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";
/// How far a notification's timestamp may be from now, in seconds.
pub const NOTIFY_SKEW_SECS: i64 = 300;

/// China Standard Time, the providers' clock.
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// `time_expire`: RFC 3339 in China Standard Time (`2026-12-02T16:05:00+08:00`).
pub fn time_expire(at: DateTime<Utc>) -> String {
    at.with_timezone(&beijing())
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The message a request's signature covers.
pub fn request_message(
    method: &str,
    path: &str,
    timestamp: i64,
    nonce: &str,
    body: &str,
) -> String {
    format!("{method}\n{path}\n{timestamp}\n{nonce}\n{body}\n")
}

/// The message an answer's or a notification's signature covers.
pub fn answer_message(timestamp: &str, nonce: &str, body: &str) -> String {
    format!("{timestamp}\n{nonce}\n{body}\n")
}

/// The Authorization header's value.
pub fn authorization(
    mchid: &str,
    nonce: &str,
    signature: &str,
    timestamp: i64,
    serial_no: &str,
) -> String {
    format!(
        r#"{SCHEME} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",timestamp="{timestamp}",serial_no="{serial_no}""#
    )
}

/// The fields of an Authorization header (`mchid`, `nonce_str`, …), or
/// `None` when it is not WeChat Pay's scheme.
pub fn parse_authorization(header: &str) -> Option<std::collections::BTreeMap<String, String>> {
    let rest = header.strip_prefix(SCHEME)?.trim();
    Some(
        rest.split(',')
            .filter_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                Some((k.trim().to_string(), v.trim().trim_matches('"').to_string()))
            })
            .collect(),
    )
}

/// Seals `plaintext` as a notification's resource (the simulator's side):
/// base64 of the AES-256-GCM ciphertext with its tag.
pub fn seal(
    key: &[u8],
    nonce: &str,
    associated_data: &str,
    plaintext: &[u8],
) -> Result<String, String> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| "the APIv3 key is not 32 bytes")?;
    if nonce.len() != 12 {
        return Err("the nonce is not 12 bytes".into());
    }
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: plaintext,
                aad: associated_data.as_bytes(),
            },
        )
        .map_err(|_| "sealing failed")?;
    Ok(base64::engine::general_purpose::STANDARD.encode(sealed))
}

/// Opens a notification's resource with the APIv3 key.
pub fn open(
    key: &[u8],
    nonce: &str,
    associated_data: &str,
    ciphertext: &str,
) -> Result<Vec<u8>, String> {
    let cipher = Aes256Gcm::new_from_slice(key)
        .map_err(|_| "the APIv3 key (DOORSTEP_WECHAT_PAY_API_V3_KEY) is not 32 bytes")?;
    if nonce.len() != 12 {
        return Err("the resource's nonce is not 12 bytes".into());
    }
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(ciphertext)
        .map_err(|_| "the resource's ciphertext is not base64")?;
    cipher
        .decrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: &sealed,
                aad: associated_data.as_bytes(),
            },
        )
        .map_err(|_| "the resource does not open with the APIv3 key".into())
}

/// The WeChat Pay adapter's settings.
#[derive(Debug, Clone)]
pub struct WechatPay {
    pub endpoint: String,
    pub mchid: Option<String>,
    pub appid: Option<String>,
    pub serial_no: Option<String>,
    pub private_key_file: Option<PathBuf>,
    pub public_key_file: Option<PathBuf>,
    pub api_v3_key: Option<String>,
    /// `DOORSTEP_PAYMENT_NOTIFY_BASE_URL`.
    pub notify_base_url: Option<String>,
    pub http: reqwest::Client,
}

/// What a checked and opened notification says was paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidTransaction {
    pub out_trade_no: String,
    pub transaction_id: String,
    /// Fen.
    pub total: i64,
    pub success_time: DateTime<Utc>,
}

/// A notification's headers.
#[derive(Debug, Clone, Default)]
pub struct NotifyHeaders {
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
    pub serial: String,
}

impl WechatPay {
    fn configured(&self) -> Result<(&str, &str, &str), String> {
        match (&self.mchid, &self.appid, &self.serial_no) {
            (Some(m), Some(a), Some(s)) if !m.is_empty() && !a.is_empty() && !s.is_empty() => {
                Ok((m, a, s))
            }
            _ => Err("no WeChat Pay merchant configured: set DOORSTEP_WECHAT_PAY_MCHID, DOORSTEP_WECHAT_PAY_APPID, DOORSTEP_WECHAT_PAY_SERIAL_NO and the key files".into()),
        }
    }

    /// The notify_url orders carry.
    pub fn notify_url(&self) -> Result<String, String> {
        self.notify_base_url
            .as_deref()
            .filter(|u| !u.is_empty())
            .map(|u| format!("{}{NOTIFY_PATH}", u.trim_end_matches('/')))
            .ok_or_else(|| "DOORSTEP_PAYMENT_NOTIFY_BASE_URL is not set: the provider could not tell us of the payment".into())
    }

    /// The native order's body for an outbox payload.
    pub fn order_body(&self, p: &Value, mchid: &str, appid: &str, notify_url: &str) -> Value {
        let expires = crate::time::from_ms(p["expires_at"].as_i64().unwrap_or(0));
        json!({
            "appid": appid,
            "mchid": mchid,
            "description": p["subject"].as_str().unwrap_or_default(),
            "out_trade_no": p["out_trade_no"].as_str().unwrap_or_default(),
            "time_expire": time_expire(expires),
            "notify_url": notify_url,
            "amount": { "total": p["amount"].as_i64().unwrap_or(0), "currency": "CNY" },
        })
    }

    /// The order query's path and query for an order number.
    pub fn query_path(out_trade_no: &str, mchid: &str) -> String {
        format!("{QUERY_PATH}{out_trade_no}?mchid={mchid}")
    }

    /// Asks WeChat Pay whether the order `m` names was paid (查单).
    async fn query(&self, m: &OutboxMessage) -> Delivery {
        let (mchid, _, serial_no) = match self.configured() {
            Ok(c) => c,
            Err(e) => return Delivery::Refused(e),
        };
        let (key, platform) = match self.keys() {
            Ok(k) => k,
            Err(e) => return Delivery::Refused(e),
        };
        let out_trade_no = m.payload["out_trade_no"].as_str().unwrap_or_default();
        let path = Self::query_path(out_trade_no, mchid);
        let nonce = hex::encode_upper(rand::random::<[u8; 16]>());
        let timestamp = Utc::now().timestamp();
        let signature = rsa_keys::sign(
            &key,
            request_message("GET", &path, timestamp, &nonce, "").as_bytes(),
        );
        let url = format!("{}{path}", self.endpoint.trim_end_matches('/'));
        let answer = match self
            .http
            .get(url)
            .header("Accept", "application/json")
            .header("User-Agent", "doorstep-server")
            .header(
                "Authorization",
                authorization(mchid, &nonce, &signature, timestamp, serial_no),
            )
            .send()
            .await
        {
            Ok(a) => a,
            Err(e) => return Delivery::Retry(format!("WeChat Pay unreachable: {e}")),
        };
        let status = answer.status().as_u16();
        let (ts, nonce, sig) = signature_headers(answer.headers());
        let text = match answer.text().await {
            Ok(t) => t,
            Err(e) => return Delivery::Retry(format!("WeChat Pay's answer unreadable: {e}")),
        };
        read_query_answer(status, &text, mchid, out_trade_no, |body| {
            rsa_keys::verify(
                &platform,
                answer_message(&ts, &nonce, body).as_bytes(),
                &sig,
            )
        })
    }

    /// The merchant's private key and WeChat Pay's public key.
    fn keys(&self) -> Result<(RsaPrivateKey, RsaPublicKey), String> {
        Ok((
            rsa_keys::private_key_file(
                self.private_key_file.as_deref(),
                "DOORSTEP_WECHAT_PAY_PRIVATE_KEY_FILE",
            )?,
            rsa_keys::public_key_file(
                self.public_key_file.as_deref(),
                "DOORSTEP_WECHAT_PAY_PUBLIC_KEY_FILE",
            )?,
        ))
    }

    async fn send(&self, m: &OutboxMessage) -> Delivery {
        if m.kind == QUERY_KIND {
            return self.query(m).await;
        }
        if m.kind != KIND {
            return Delivery::Refused(format!("not a QR payment message: {}", m.kind));
        }
        let (mchid, appid, serial_no) = match self.configured() {
            Ok(c) => c,
            Err(e) => return Delivery::Refused(e),
        };
        let notify_url = match self.notify_url() {
            Ok(u) => u,
            Err(e) => return Delivery::Refused(e),
        };
        let (key, platform) = match self.keys() {
            Ok(k) => k,
            Err(e) => return Delivery::Refused(e),
        };
        let body = self
            .order_body(&m.payload, mchid, appid, &notify_url)
            .to_string();
        let nonce = hex::encode_upper(rand::random::<[u8; 16]>());
        let timestamp = Utc::now().timestamp();
        let signature = rsa_keys::sign(
            &key,
            request_message("POST", NATIVE_PATH, timestamp, &nonce, &body).as_bytes(),
        );
        let url = format!("{}{NATIVE_PATH}", self.endpoint.trim_end_matches('/'));
        let answer = match self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .header("User-Agent", "doorstep-server")
            .header(
                "Authorization",
                authorization(mchid, &nonce, &signature, timestamp, serial_no),
            )
            .header(IDEMPOTENCY_HEADER, &m.idempotency_key)
            .body(body)
            .send()
            .await
        {
            Ok(a) => a,
            Err(e) => return Delivery::Retry(format!("WeChat Pay unreachable: {e}")),
        };
        let status = answer.status();
        let (ts, nonce, sig) = signature_headers(answer.headers());
        let text = match answer.text().await {
            Ok(t) => t,
            Err(e) => return Delivery::Retry(format!("WeChat Pay's answer unreadable: {e}")),
        };
        read_answer(status.as_u16(), &text, |body| {
            rsa_keys::verify(
                &platform,
                answer_message(&ts, &nonce, body).as_bytes(),
                &sig,
            )
        })
    }

    /// Checks and opens a notification (see the module's text); `Err` says
    /// why it is refused.
    pub fn open_notification(
        &self,
        headers: &NotifyHeaders,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<PaidTransaction, String> {
        let (mchid, appid, _) = self.configured()?;
        let platform = rsa_keys::public_key_file(
            self.public_key_file.as_deref(),
            "DOORSTEP_WECHAT_PAY_PUBLIC_KEY_FILE",
        )?;
        let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8")?;
        let ts: i64 = headers
            .timestamp
            .parse()
            .map_err(|_| "Wechatpay-Timestamp is not a Unix time")?;
        if (now.timestamp() - ts).abs() > NOTIFY_SKEW_SECS {
            return Err(format!(
                "Wechatpay-Timestamp {ts} is more than {NOTIFY_SKEW_SECS} s from now"
            ));
        }
        if !rsa_keys::verify(
            &platform,
            answer_message(&headers.timestamp, &headers.nonce, text).as_bytes(),
            &headers.signature,
        ) {
            return Err("Wechatpay-Signature does not verify with WeChat Pay's public key".into());
        }
        let n: Value = serde_json::from_str(text).map_err(|_| "the body is not JSON")?;
        if n["event_type"] != "TRANSACTION.SUCCESS" {
            return Err(format!(
                "event_type {} is not TRANSACTION.SUCCESS",
                n["event_type"]
            ));
        }
        let r = &n["resource"];
        if n["resource_type"] != "encrypt-resource" || r["algorithm"] != "AEAD_AES_256_GCM" {
            return Err("the resource is not an AEAD_AES_256_GCM encrypt-resource".into());
        }
        let key = self
            .api_v3_key
            .as_deref()
            .ok_or("DOORSTEP_WECHAT_PAY_API_V3_KEY is not set")?;
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let plain = open(
            key.as_bytes(),
            &s(&r["nonce"]),
            &s(&r["associated_data"]),
            &s(&r["ciphertext"]),
        )?;
        let t: Value = serde_json::from_slice(&plain).map_err(|_| "the transaction is not JSON")?;
        if t["mchid"] != mchid || t["appid"] != appid {
            return Err("the transaction is for another merchant or app".into());
        }
        if t["trade_state"] != "SUCCESS" {
            return Err(format!("trade_state {} is not SUCCESS", t["trade_state"]));
        }
        let success_time = DateTime::parse_from_rfc3339(&s(&t["success_time"]))
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now);
        let out_trade_no = s(&t["out_trade_no"]);
        let transaction_id = s(&t["transaction_id"]);
        if out_trade_no.is_empty() || transaction_id.is_empty() {
            return Err("the transaction names no out_trade_no or transaction_id".into());
        }
        Ok(PaidTransaction {
            out_trade_no,
            transaction_id,
            total: t["amount"]["total"]
                .as_i64()
                .ok_or("the transaction has no amount.total")?,
            success_time,
        })
    }
}

/// An answer's `Wechatpay-Timestamp`, `Wechatpay-Nonce` and `Wechatpay-Signature`.
fn signature_headers(headers: &reqwest::header::HeaderMap) -> (String, String, String) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    (
        header("Wechatpay-Timestamp"),
        header("Wechatpay-Nonce"),
        header("Wechatpay-Signature"),
    )
}

/// What an order query's answer means (see the module's text), given how
/// to check its signature; a payment found is the delivery's reference
/// ([`QueryAnswer`] as JSON).
pub fn read_query_answer(
    status: u16,
    body: &str,
    mchid: &str,
    out_trade_no: &str,
    verifies: impl Fn(&str) -> bool,
) -> Delivery {
    if status != 200 {
        return match read_answer(status, body, |_| false) {
            // An order WeChat Pay does not know yet is not paid yet.
            Delivery::Refused(e) if body.contains("ORDER_NOT_EXIST") => {
                Delivery::Retry(format!("not paid yet: {e}"))
            }
            other => other,
        };
    }
    if !verifies(body) {
        return Delivery::Retry("WeChat Pay's answer does not verify with its public key".into());
    }
    let t: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    if t["mchid"] != mchid || t["out_trade_no"] != out_trade_no {
        return Delivery::Retry("WeChat Pay answered about another order".into());
    }
    let state = t["trade_state"].as_str().unwrap_or_default();
    match state {
        "SUCCESS" | "REFUND" => {
            let (Some(transaction_id), Some(amount)) =
                (t["transaction_id"].as_str(), t["amount"]["total"].as_i64())
            else {
                return Delivery::Retry("WeChat Pay's paid order has no transaction".into());
            };
            let paid_at = DateTime::parse_from_rfc3339(t["success_time"].as_str().unwrap_or(""))
                .map(|t| t.timestamp_millis())
                .unwrap_or_else(|_| Utc::now().timestamp_millis());
            QueryAnswer::Paid {
                transaction_id: transaction_id.into(),
                amount,
                paid_at,
            }
            .delivered()
        }
        "CLOSED" | "REVOKED" | "PAYERROR" => QueryAnswer::Closed {
            state: state.into(),
        }
        .delivered(),
        _ => Delivery::Retry(format!("not paid yet: {state}")),
    }
}

/// What an order's answer means, given how to check its signature.
pub fn read_answer(status: u16, body: &str, verifies: impl Fn(&str) -> bool) -> Delivery {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = v["code"].as_str().unwrap_or_default();
    let message = v["message"].as_str().unwrap_or_default();
    match status {
        200 => {
            if !verifies(body) {
                return Delivery::Retry(
                    "WeChat Pay's answer does not verify with its public key".into(),
                );
            }
            match v["code_url"].as_str() {
                Some(u) if !u.is_empty() => Delivery::Delivered {
                    reference: Some(u.to_string()),
                },
                _ => Delivery::Retry("WeChat Pay answered without a code_url".into()),
            }
        }
        429 => Delivery::Retry(format!("WeChat Pay is limiting us: {code} {message}")),
        400..=499 if code == "SYSTEM_ERROR" || code == "FREQUENCY_LIMITED" => {
            Delivery::Retry(format!("WeChat Pay: {code} {message}"))
        }
        400..=499 => Delivery::Refused(format!("WeChat Pay refused: {code} {message}")),
        s => Delivery::Retry(format!("WeChat Pay answered HTTP {s} {code}")),
    }
}

impl Provider for WechatPay {
    fn name(&self) -> &'static str {
        "wechat_pay"
    }

    fn deliver<'a>(&'a self, message: &'a OutboxMessage) -> BoxFuture<'a, Delivery> {
        Box::pin(self.send(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_expire_is_rfc3339_in_china_standard_time() {
        let at = DateTime::parse_from_rfc3339("2026-12-02T08:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(time_expire(at), "2026-12-02T16:05:00+08:00");
    }

    #[test]
    fn the_authorization_header_reads_back() {
        let h = authorization("1900000001", "N0NCE", "c2ln", 1_700_000_000, "5157F09E");
        assert!(h.starts_with("WECHATPAY2-SHA256-RSA2048 mchid=\"1900000001\""));
        let f = parse_authorization(&h).unwrap();
        assert_eq!(f["nonce_str"], "N0NCE");
        assert_eq!(f["signature"], "c2ln");
        assert_eq!(f["timestamp"], "1700000000");
        assert_eq!(f["serial_no"], "5157F09E");
        assert!(parse_authorization("Bearer x").is_none());
    }

    #[test]
    fn a_sealed_resource_opens_with_its_key_and_associated_data_only() {
        let key = b"0123456789abcdef0123456789abcdef";
        let sealed = seal(key, "abcdefghijkl", "transaction", b"{\"a\":1}").unwrap();
        assert_eq!(
            open(key, "abcdefghijkl", "transaction", &sealed).unwrap(),
            b"{\"a\":1}"
        );
        assert!(open(key, "abcdefghijkl", "other", &sealed).is_err());
        assert!(open(
            b"0123456789abcdef0123456789abcdeX",
            "abcdefghijkl",
            "transaction",
            &sealed
        )
        .is_err());
    }

    #[test]
    fn an_unverified_answer_is_retried_and_a_4xx_refused() {
        let ok = r#"{"code_url":"weixin://wxpay/bizpayurl?pr=abc"}"#;
        assert_eq!(
            read_answer(200, ok, |_| true),
            Delivery::Delivered {
                reference: Some("weixin://wxpay/bizpayurl?pr=abc".into())
            }
        );
        assert!(matches!(
            read_answer(200, ok, |_| false),
            Delivery::Retry(_)
        ));
        assert!(matches!(
            read_answer(400, r#"{"code":"PARAM_ERROR","message":"x"}"#, |_| true),
            Delivery::Refused(e) if e.contains("PARAM_ERROR")
        ));
        assert!(matches!(read_answer(503, "", |_| true), Delivery::Retry(_)));
        assert!(matches!(read_answer(429, "", |_| true), Delivery::Retry(_)));
    }

    #[test]
    fn an_order_query_finds_a_payment_asks_again_while_unpaid_and_sees_a_closed_order() {
        let answer = |state: &str| {
            json!({"mchid": "1900000109", "out_trade_no": "DS1", "trade_state": state,
                   "transaction_id": "4200001", "success_time": "2026-12-02T16:05:00+08:00",
                   "amount": {"total": 8000}})
            .to_string()
        };
        let read = |body: &str, verified: bool| {
            read_query_answer(200, body, "1900000109", "DS1", |_| verified)
        };
        let found = |d: Delivery| match d {
            Delivery::Delivered { reference: Some(r) } => {
                serde_json::from_str::<QueryAnswer>(&r).unwrap()
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            found(read(&answer("SUCCESS"), true)),
            QueryAnswer::Paid {
                transaction_id: "4200001".into(),
                amount: 8000,
                paid_at: 1_796_198_700_000,
            }
        );
        assert!(matches!(
            read(&answer("REFUND"), true),
            Delivery::Delivered { .. }
        ));
        for waiting in ["NOTPAY", "USERPAYING"] {
            assert!(
                matches!(read(&answer(waiting), true), Delivery::Retry(e) if e.contains(waiting))
            );
        }
        for closed in ["CLOSED", "REVOKED", "PAYERROR"] {
            assert_eq!(
                found(read(&answer(closed), true)),
                QueryAnswer::Closed {
                    state: closed.into()
                }
            );
        }
        // Not trusted: unsigned, or about another order or merchant.
        assert!(matches!(
            read(&answer("SUCCESS"), false),
            Delivery::Retry(_)
        ));
        let other = answer("SUCCESS").replace("DS1", "DS2");
        assert!(matches!(read(&other, true), Delivery::Retry(_)));
        let merchant = answer("SUCCESS").replace("1900000109", "1900000110");
        assert!(matches!(read(&merchant, true), Delivery::Retry(_)));
        // An order WeChat Pay does not know yet is asked again.
        let missing = r#"{"code":"ORDER_NOT_EXIST","message":"订单不存在"}"#;
        assert!(matches!(
            read_query_answer(404, missing, "1900000109", "DS1", |_| true),
            Delivery::Retry(_)
        ));
        let bad = r#"{"code":"PARAM_ERROR","message":"参数错误"}"#;
        assert!(matches!(
            read_query_answer(400, bad, "1900000109", "DS1", |_| true),
            Delivery::Refused(_)
        ));
    }
}
