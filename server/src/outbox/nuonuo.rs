//! The invoicing provider: Nuonuo's open platform (诺诺开放平台), its
//! e-invoice API as its public documentation and published SDK samples
//! describe it. Sources: the platform's API page of
//! `nuonuo.OpeMplatform.requestBillingNew` (诺税通saas请求开具发票接口, V2:
//! endpoint `https://sdk.nuonuo.com/open/v1/services`, headers
//! `X-Nuonuo-Sign`, `accessToken`, `userTax`, `method`; `senid`, `nonce`,
//! `timestamp` and `appkey` in the query string) and the public Node.js SDK
//! `arion/node-nuonuo` (the signature and the two calls' request and answer
//! shapes). What this adapter does:
//!
//! - **Issue** (开具蓝字发票, `nuonuo.OpeMplatform.requestBillingNew`): a
//!   JSON `{"order": {…}}` naming the buyer (`buyerName`, `buyerTaxNum`,
//!   `buyerPhone`, `email`), the seller (`salerTaxNum`), our `orderNo` (20
//!   characters, one per request), `invoiceDate`, `clerk`, `invoiceType` 1
//!   (a blue invoice), `invoiceLine` `pc` (数电普票, the e-fapiao of
//!   consumers), `pushMode` (e-mail 0, mobile 1, both 2) and one
//!   `invoiceDetail` line (goods name, 1 × the amount paid, tax included,
//!   the VAT rate). The answer `{"code": "E0000", "result":
//!   {"invoiceSerialNum"}}` means taken, not issued: the provider issues
//!   asynchronously.
//! - **Result** (`nuonuo.OpeMplatform.queryInvoiceResult`, by `serialNos`):
//!   `status` 2 is issued (`invoiceNo`), 20 and 21 are still being issued
//!   (asked again with the outbox's backoff), 22 and 24 failed
//!   (`failCause`).
//! - **Signature**: HMAC-SHA1 under the appSecret of
//!   `a={3rd path segment}&l={2nd}&p={1st}&k={appKey}&i={senid}&n={nonce}&t={timestamp}&f={body}`,
//!   base64, in `X-Nuonuo-Sign`.
//!
//! Not covered by what is public here: the exact error codes beyond E0000
//! (any other code is taken as a final refusal, HTTP failures and timeouts
//! as worth another attempt) and the callback (`callBackUrl`), which this
//! adapter does not use: it polls the result through the outbox instead.
//!
//! - **accessToken**: the setting when given; otherwise fetched from the
//!   platform's OAuth token endpoint (`POST https://open.nuonuo.com/accessToken`,
//!   a form `client_id` = appKey, `client_secret` = appSecret, `grant_type`
//!   `client_credentials`; the answer `{"access_token", "expires_in"}`, an
//!   error `{"error", "error_description"}`) and kept until ten minutes
//!   before it expires, for every call of every worker round.
//!
//! Nuonuo refuses a
//! second order with the same `orderNo`, which makes the issue request
//! idempotent; the outbox's key also goes in an `Idempotency-Key` header.

use super::{Delivery, Provider};
use crate::domain::invoices::{ISSUE_KIND, QUERY_KIND};
use crate::domain::webhooks::IDEMPOTENCY_HEADER;
use crate::store::outbox::OutboxMessage;
use crate::store::BoxFuture;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

/// The issue call's method name.
pub const ISSUE_METHOD: &str = "nuonuo.OpeMplatform.requestBillingNew";
/// The result query's method name.
pub const QUERY_METHOD: &str = "nuonuo.OpeMplatform.queryInvoiceResult";
/// The answer code of success.
pub const OK_CODE: &str = "E0000";

/// X-Nuonuo-Sign of a request to `path` (`/open/v1/services`) with `body`.
pub fn sign(
    path: &str,
    app_secret: &str,
    app_key: &str,
    senid: &str,
    nonce: &str,
    timestamp: i64,
    body: &str,
) -> String {
    let pieces: Vec<&str> = path.split('/').collect();
    let piece = |i: usize| pieces.get(i).copied().unwrap_or_default();
    let text = format!(
        "a={}&l={}&p={}&k={app_key}&i={senid}&n={nonce}&t={timestamp}&f={body}",
        piece(3),
        piece(2),
        piece(1)
    );
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(app_secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The invoicing adapter's settings.
#[derive(Debug, Clone)]
pub struct Nuonuo {
    pub endpoint: String,
    pub app_key: Option<String>,
    pub app_secret: Option<String>,
    /// A token the operator set; none: fetched from `token_endpoint`.
    pub access_token: Option<String>,
    pub token_endpoint: String,
    /// The fetched token and when it expires (Unix s).
    pub token_cache: std::sync::Arc<tokio::sync::Mutex<Option<(String, i64)>>>,
    pub seller_tax_number: String,
    pub clerk: String,
    pub item_name: String,
    pub tax_rate: String,
    pub zone: doorstep_core::business_time::BusinessZone,
    pub http: reqwest::Client,
}

/// How long before its expiry a fetched accessToken is fetched anew, in seconds.
pub const TOKEN_MARGIN_SECS: i64 = 600;

/// What the token endpoint's answer means: the token and its lifetime in
/// seconds, or why not (a bad app key or secret is a refusal; a server
/// error or an unreadable answer, another attempt).
pub fn read_token_answer(status: u16, v: &Value) -> Result<(String, i64), Delivery> {
    match (status, v["access_token"].as_str()) {
        (200, Some(t)) if !t.is_empty() => {
            Ok((t.to_string(), v["expires_in"].as_i64().unwrap_or(0)))
        }
        (500..=599, _) => Err(Delivery::Retry(format!(
            "the invoicing token endpoint answered HTTP {status}"
        ))),
        (_, _) if v["error"].is_string() => Err(Delivery::Refused(format!(
            "the invoicing provider refused the app key and secret: {} {}",
            v["error"].as_str().unwrap_or_default(),
            v["error_description"].as_str().unwrap_or_default()
        ))),
        _ => Err(Delivery::Retry(format!(
            "the invoicing token endpoint answered HTTP {status} without a token"
        ))),
    }
}

/// Fen as yuan with two decimals (`12345` → `123.45`, the core's words).
pub fn yuan(fen: i64) -> String {
    doorstep_core::money::yuan_digits(fen)
}

/// `pushMode`: where the provider sends the invoice (0 e-mail, 1 mobile, 2 both).
pub fn push_mode(email: bool, phone: bool) -> &'static str {
    match (email, phone) {
        (true, true) => "2",
        (true, false) => "0",
        _ => "1",
    }
}

impl Nuonuo {
    /// The issue request's `content` for an outbox payload.
    pub fn issue_content(&self, p: &Value, at: chrono::DateTime<chrono::Utc>) -> Value {
        let amount = yuan(p["amount"].as_i64().unwrap_or(0));
        let text = |k: &str| p[k].as_str().unwrap_or_default().to_string();
        json!({ "order": {
            "buyerName": text("title"),
            "buyerTaxNum": text("tax_number"),
            "buyerPhone": text("phone"),
            "email": text("email"),
            "salerTaxNum": self.seller_tax_number,
            "orderNo": text("order_no"),
            "invoiceDate": self.zone.local(at).format("%Y-%m-%d %H:%M:%S").to_string(),
            "clerk": self.clerk,
            "invoiceType": "1",
            "invoiceLine": "pc",
            "pushMode": push_mode(p["email"].is_string(), p["phone"].is_string()),
            "invoiceDetail": [{
                "goodsName": self.item_name,
                "num": "1",
                "price": amount,
                "taxIncludedAmount": amount,
                "withTaxFlag": "1",
                "taxRate": self.tax_rate,
            }],
        }})
    }

    async fn call(
        &self,
        m: &OutboxMessage,
        method: &str,
        content: &Value,
    ) -> Result<Value, Delivery> {
        let (Some(key), Some(secret)) = (&self.app_key, &self.app_secret) else {
            return Err(Delivery::Refused(
                "no invoicing provider configured: set DOORSTEP_INVOICE_APP_KEY and DOORSTEP_INVOICE_APP_SECRET"
                    .into(),
            ));
        };
        let token = self.token(key, secret).await?;
        let mut url = reqwest::Url::parse(&self.endpoint).map_err(|e| {
            Delivery::Refused(format!("DOORSTEP_INVOICE_ENDPOINT is not a URL: {e}"))
        })?;
        let body = content.to_string();
        let senid = hex::encode(rand::random::<[u8; 16]>());
        let nonce = (rand::random::<u32>() % 90_000_000 + 10_000_000).to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let signature = sign(url.path(), secret, key, &senid, &nonce, timestamp, &body);
        url.query_pairs_mut()
            .append_pair("senid", &senid)
            .append_pair("nonce", &nonce)
            .append_pair("timestamp", &timestamp.to_string())
            .append_pair("appkey", key);
        let answer = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header("X-Nuonuo-Sign", signature)
            .header("accessToken", token.as_str())
            .header("userTax", &self.seller_tax_number)
            .header("method", method)
            .header(IDEMPOTENCY_HEADER, &m.idempotency_key)
            .body(body)
            .send()
            .await
            .map_err(|e| Delivery::Retry(format!("invoicing provider unreachable: {e}")))?;
        let status = answer.status();
        if !status.is_success() {
            return Err(Delivery::Retry(format!(
                "invoicing provider answered HTTP {}",
                status.as_u16()
            )));
        }
        answer
            .json()
            .await
            .map_err(|e| Delivery::Retry(format!("invoicing provider's answer unreadable: {e}")))
    }

    /// The accessToken: the setting, or the one fetched and kept (see the
    /// module's text).
    async fn token(&self, key: &str, secret: &str) -> Result<String, Delivery> {
        if let Some(t) = self.access_token.as_deref().filter(|t| !t.is_empty()) {
            return Ok(t.to_string());
        }
        let mut cache = self.token_cache.lock().await;
        let now = chrono::Utc::now().timestamp();
        if let Some((t, expires)) = cache.as_ref() {
            if *expires - TOKEN_MARGIN_SECS > now {
                return Ok(t.clone());
            }
        }
        let answer = self
            .http
            .post(&self.token_endpoint)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(
                serde_urlencoded::to_string([
                    ("client_id", key),
                    ("client_secret", secret),
                    ("grant_type", "client_credentials"),
                ])
                .unwrap_or_default(),
            )
            .send()
            .await
            .map_err(|e| {
                Delivery::Retry(format!("the invoicing token endpoint is unreachable: {e}"))
            })?;
        let status = answer.status();
        let v: Value = answer.json().await.unwrap_or(Value::Null);
        let (fetched, expires_in) = read_token_answer(status.as_u16(), &v)?;
        *cache = Some((fetched.clone(), now + expires_in));
        Ok(fetched)
    }

    async fn send(&self, m: &OutboxMessage) -> Delivery {
        let (method, content) = match m.kind.as_str() {
            ISSUE_KIND => (
                ISSUE_METHOD,
                self.issue_content(&m.payload, chrono::Utc::now()),
            ),
            QUERY_KIND => (
                QUERY_METHOD,
                json!({ "serialNos": [m.payload["serial"]], "isOfferInvoiceDetail": "0" }),
            ),
            other => return Delivery::Refused(format!("not an invoice message: {other}")),
        };
        match self.call(m, method, &content).await {
            Err(d) => d,
            Ok(answer) if m.kind == ISSUE_KIND => read_issue_answer(&answer),
            Ok(answer) => read_query_answer(&answer),
        }
    }
}

/// What an issue answer means: taken (with its serial number) or refused.
pub fn read_issue_answer(answer: &Value) -> Delivery {
    let code = answer["code"].as_str().unwrap_or_default();
    let describe = answer["describe"].as_str().unwrap_or_default();
    if code != OK_CODE {
        return Delivery::Refused(format!("invoicing provider refused: {code}: {describe}"));
    }
    match answer["result"]["invoiceSerialNum"].as_str() {
        Some(serial) if !serial.is_empty() => Delivery::Delivered {
            reference: Some(serial.to_string()),
        },
        _ => Delivery::Retry("invoicing provider's answer has no serial number".into()),
    }
}

/// What a result query's answer means: issued (with the invoice number),
/// still being issued (ask again), or failed.
pub fn read_query_answer(answer: &Value) -> Delivery {
    let code = answer["code"].as_str().unwrap_or_default();
    if code != OK_CODE {
        let describe = answer["describe"].as_str().unwrap_or_default();
        return Delivery::Retry(format!("invoice result not available: {code}: {describe}"));
    }
    let invoice = &answer["result"][0];
    let status = invoice["status"].as_str().unwrap_or_default();
    let message = invoice["statusMsg"].as_str().unwrap_or_default();
    match status {
        "2" => match invoice["invoiceNo"].as_str() {
            Some(no) if !no.is_empty() => Delivery::Delivered {
                reference: Some(no.to_string()),
            },
            _ => Delivery::Retry("invoice issued without a number yet".into()),
        },
        "20" | "21" => Delivery::Retry(format!("invoice still being issued: {status} {message}")),
        "22" | "24" => Delivery::Refused(format!(
            "invoice not issued: {status} {message}: {}",
            invoice["failCause"].as_str().unwrap_or_default()
        )),
        "" => Delivery::Retry("the provider does not know this invoice yet".into()),
        other => Delivery::Refused(format!("invoice in an unexpected state: {other} {message}")),
    }
}

impl Provider for Nuonuo {
    fn name(&self) -> &'static str {
        "nuonuo"
    }

    fn deliver<'a>(&'a self, message: &'a OutboxMessage) -> BoxFuture<'a, Delivery> {
        Box::pin(self.send(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_path_key_senid_nonce_time_and_body() {
        let s = |path, secret, body| {
            sign(
                path,
                secret,
                "SD63236305",
                "a".repeat(32).as_str(),
                "12345678",
                1_658_300_000,
                body,
            )
        };
        let base = s("/open/v1/services", "secret", "{}");
        // base64 of a 20-byte HMAC-SHA1.
        assert_eq!(base.len(), 28);
        assert_ne!(base, s("/open/v2/services", "secret", "{}"));
        assert_ne!(base, s("/open/v1/services", "other", "{}"));
        assert_ne!(base, s("/open/v1/services", "secret", "{ }"));
        assert_eq!(base, s("/open/v1/services", "secret", "{}"));
    }

    #[test]
    fn amounts_go_as_yuan_with_two_decimals() {
        assert_eq!(yuan(12345), "123.45");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(20000), "200.00");
    }

    #[test]
    fn an_issued_result_carries_the_number_and_issuing_is_asked_again() {
        let issued = json!({"code": "E0000", "result": [{"status": "2", "invoiceNo": "24312000000012345678"}]});
        assert_eq!(
            read_query_answer(&issued),
            Delivery::Delivered {
                reference: Some("24312000000012345678".into())
            }
        );
        let issuing = json!({"code": "E0000", "result": [{"status": "20", "statusMsg": "开票中"}]});
        assert!(matches!(read_query_answer(&issuing), Delivery::Retry(_)));
        let failed =
            json!({"code": "E0000", "result": [{"status": "22", "failCause": "税号有误"}]});
        assert!(
            matches!(read_query_answer(&failed), Delivery::Refused(e) if e.contains("税号有误"))
        );
        let taken = json!({"code": "E0000", "describe": "开票提交成功", "result": {"invoiceSerialNum": "22072015162002023723"}});
        assert_eq!(
            read_issue_answer(&taken),
            Delivery::Delivered {
                reference: Some("22072015162002023723".into())
            }
        );
        let refused = json!({"code": "E9106", "describe": "参数错误"});
        assert!(matches!(read_issue_answer(&refused), Delivery::Refused(_)));
    }

    #[test]
    fn a_token_answer_gives_the_token_a_bad_secret_is_refused_an_outage_retried() {
        let ok = json!({"access_token": "tok", "expires_in": 86400});
        assert!(matches!(read_token_answer(200, &ok), Ok((t, 86400)) if t == "tok"));
        let bad = json!({"error": "invalid_client", "error_description": "wrong secret"});
        assert!(
            matches!(read_token_answer(400, &bad), Err(Delivery::Refused(e)) if e.contains("invalid_client"))
        );
        assert!(matches!(
            read_token_answer(503, &Value::Null),
            Err(Delivery::Retry(_))
        ));
        assert!(matches!(
            read_token_answer(200, &json!({})),
            Err(Delivery::Retry(_))
        ));
        assert!(matches!(
            read_token_answer(200, &json!({"access_token": ""})),
            Err(Delivery::Retry(_))
        ));
    }
}
