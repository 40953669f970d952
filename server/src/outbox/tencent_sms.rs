//! Tencent Cloud SMS `SendSms` (API version 2021-01-11) as its public
//! documentation describes it: a JSON `POST` to the endpoint with the
//! `X-TC-Action`, `X-TC-Version`, `X-TC-Timestamp` and `X-TC-Region`
//! headers, signed with TC3-HMAC-SHA256 (canonical request → string to sign
//! → key derived from the SecretKey over date, service and `tc3_request`);
//! the body names the phone numbers, SmsSdkAppId, SignName, TemplateId, the
//! template's parameters and a SessionContext, which the provider echoes
//! back. Tencent documents no idempotency header: the outbox's key goes in
//! SessionContext and in an `Idempotency-Key` header, and the simulator
//! deduplicates on it.

use super::{Delivery, Provider};
use crate::domain::webhooks::{hmac_sha256, IDEMPOTENCY_HEADER};
use crate::store::outbox::OutboxMessage;
use crate::store::BoxFuture;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// The service name in the credential scope.
pub const SERVICE: &str = "sms";
/// The API version this adapter speaks.
pub const VERSION: &str = "2021-01-11";
/// The content type the request is signed with.
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// What a signed request carries besides its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub authorization: String,
    pub timestamp: i64,
}

/// TC3-HMAC-SHA256 over a POST to `/` of `host` with `body` at `at`.
pub fn sign(
    secret_id: &str,
    secret_key: &str,
    host: &str,
    body: &[u8],
    at: DateTime<Utc>,
) -> SignedHeaders {
    let timestamp = at.timestamp();
    let date = at.format("%Y-%m-%d").to_string();
    let canonical_request = format!(
        "POST\n/\n\ncontent-type:{CONTENT_TYPE}\nhost:{host}\n\ncontent-type;host\n{}",
        doorstep_core::canonical::sha256_hex(body)
    );
    let scope = format!("{date}/{SERVICE}/tc3_request");
    let string_to_sign = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{}",
        doorstep_core::canonical::sha256_hex(canonical_request.as_bytes())
    );
    let secret_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let secret_service = hmac_sha256(&secret_date, SERVICE.as_bytes());
    let secret_signing = hmac_sha256(&secret_service, b"tc3_request");
    let signature = hex::encode(hmac_sha256(&secret_signing, string_to_sign.as_bytes()));
    SignedHeaders {
        authorization: format!(
            "TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"
        ),
        timestamp,
    }
}

/// The host (and port, when not the scheme's default) a URL's requests
/// carry in `Host`: what the signature covers.
pub fn host_of(url: &reqwest::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    }
}

/// The SMS adapter's settings.
#[derive(Debug, Clone)]
pub struct TencentSms {
    pub endpoint: String,
    pub secret_id: Option<String>,
    pub secret_key: Option<String>,
    pub app_id: String,
    pub sign_name: String,
    pub region: String,
    pub templates: crate::providers::SmsTemplates,
    pub http: reqwest::Client,
}

/// How a Tencent error code is treated: worth another attempt (limits,
/// internal errors) or final (authentication, parameters, templates).
pub fn retryable_code(code: &str) -> bool {
    code.starts_with("InternalError")
        || code.starts_with("RequestLimitExceeded")
        || code.starts_with("LimitExceeded")
        || code == "ResourceUnavailable"
}

impl TencentSms {
    async fn send(&self, m: &OutboxMessage) -> Delivery {
        let (Some(id), Some(key)) = (&self.secret_id, &self.secret_key) else {
            return Delivery::Refused(
                "no SMS provider configured: set DOORSTEP_SMS_SECRET_ID and DOORSTEP_SMS_SECRET_KEY"
                    .into(),
            );
        };
        let p = &m.payload;
        let moment = p["moment"].as_str().unwrap_or_default();
        let lang = p["language"].as_str().unwrap_or("zh-CN");
        let Some(template) = self.templates.id(moment, lang) else {
            return Delivery::Refused(format!(
                "no SMS template registered for {moment} ({lang}): set DOORSTEP_SMS_TEMPLATES"
            ));
        };
        let url = match reqwest::Url::parse(&self.endpoint) {
            Ok(u) => u,
            Err(e) => return Delivery::Refused(format!("DOORSTEP_SMS_ENDPOINT is not a URL: {e}")),
        };
        let body = json!({
            "PhoneNumberSet": [p["address"]],
            "SmsSdkAppId": self.app_id,
            "SignName": self.sign_name,
            "TemplateId": template,
            "TemplateParamSet": p["params"],
            "SessionContext": m.idempotency_key,
        })
        .to_string();
        let signed = sign(id, key, &host_of(&url), body.as_bytes(), Utc::now());
        let answer = self
            .http
            .post(url)
            .header("Authorization", signed.authorization)
            .header("Content-Type", CONTENT_TYPE)
            .header("X-TC-Action", "SendSms")
            .header("X-TC-Version", VERSION)
            .header("X-TC-Timestamp", signed.timestamp.to_string())
            .header("X-TC-Region", &self.region)
            .header(IDEMPOTENCY_HEADER, &m.idempotency_key)
            .body(body)
            .send()
            .await;
        let res = match answer {
            Ok(r) => r,
            Err(e) => return Delivery::Retry(format!("SMS provider unreachable: {e}")),
        };
        let status = res.status();
        if !status.is_success() {
            return Delivery::Retry(format!("SMS provider answered HTTP {}", status.as_u16()));
        }
        let json: Value = match res.json().await {
            Ok(v) => v,
            Err(e) => return Delivery::Retry(format!("SMS provider's answer unreadable: {e}")),
        };
        read_answer(&json["Response"])
    }
}

/// What a `SendSms` answer means for the message.
pub fn read_answer(response: &Value) -> Delivery {
    if let Some(code) = response["Error"]["Code"].as_str() {
        let message = response["Error"]["Message"].as_str().unwrap_or_default();
        let text = format!("SMS provider refused: {code}: {message}");
        return if retryable_code(code) {
            Delivery::Retry(text)
        } else {
            Delivery::Refused(text)
        };
    }
    let status = &response["SendStatusSet"][0];
    match status["Code"].as_str() {
        Some("Ok") => Delivery::Delivered {
            reference: status["SerialNo"].as_str().map(String::from),
        },
        Some(code) => {
            let text = format!(
                "SMS not sent: {code}: {}",
                status["Message"].as_str().unwrap_or_default()
            );
            if retryable_code(code) {
                Delivery::Retry(text)
            } else {
                Delivery::Refused(text)
            }
        }
        None => Delivery::Retry("SMS provider's answer has no send status".into()),
    }
}

impl Provider for TencentSms {
    fn name(&self) -> &'static str {
        "tencent_sms"
    }

    fn deliver<'a>(&'a self, message: &'a OutboxMessage) -> BoxFuture<'a, Delivery> {
        Box::pin(self.send(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// The Authorization header names the credential scope (UTC date,
    /// service, `tc3_request`) and the signed headers, and the signature
    /// covers the body and the key.
    #[test]
    fn a_tc3_signature_names_its_scope_and_covers_body_and_key() {
        let at = Utc.with_ymd_and_hms(2019, 2, 25, 8, 44, 0).unwrap();
        let a = sign("AKID", "key", "sms.tencentcloudapi.com", b"{}", at);
        let b = sign("AKID", "key", "sms.tencentcloudapi.com", b"{ }", at);
        let c = sign("AKID", "other", "sms.tencentcloudapi.com", b"{}", at);
        assert_eq!(a.timestamp, 1_551_084_240);
        assert!(a.authorization.starts_with(
            "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/sms/tc3_request, SignedHeaders=content-type;host, Signature="
        ));
        assert_ne!(a, b, "the body is signed");
        assert_ne!(a, c, "the key is signed");
    }

    #[test]
    fn a_limit_is_retried_and_a_bad_template_is_final() {
        let limit = json!({"SendStatusSet": [{"Code": "LimitExceeded.PhoneNumberThirtySecondLimit", "Message": "x"}]});
        assert!(matches!(read_answer(&limit), Delivery::Retry(_)));
        let auth = json!({"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "x"}});
        assert!(matches!(read_answer(&auth), Delivery::Refused(_)));
        let ok = json!({"SendStatusSet": [{"Code": "Ok", "SerialNo": "2640:1"}]});
        assert_eq!(
            read_answer(&ok),
            Delivery::Delivered {
                reference: Some("2640:1".into())
            }
        );
    }
}
