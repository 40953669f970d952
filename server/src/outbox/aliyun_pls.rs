//! The privacy-number provider: Alibaba Cloud 号码隐私保护 (Phone Number
//! Protection, API `Dyplsapi` version 2017-05-25), as its public API
//! reference describes it. Sources: help.aliyun.com, "BindAxb - 添加AXB号码的
//! 绑定关系" (document 400482), "UnbindSubscription - 解除已绑定的号码"
//! (document 400490) and the RPC "签名机制" (signature method, document
//! 28839 and its English versions). What this adapter does:
//!
//! - **Bind** (`Action=BindAxb`): `PoolKey`, `PhoneNoA` (the customer),
//!   `PhoneNoB` (the technician's work phone), `Expiration` (`yyyy-MM-dd
//!   HH:mm:ss`, China Standard Time), `OutOrderId` (our work order),
//!   `OutId` (our binding) and `IsRecordingEnabled=false`. The answer
//!   `{"Code": "OK", "SecretBindDTO": {"SubsId", "SecretNo"}}` is the
//!   binding and its virtual number X.
//! - **Unbind** (`Action=UnbindSubscription`): `PoolKey`, `SubsId`,
//!   `SecretNo`; `{"Code": "OK"}`.
//! - **Extend** (`Action=UpdateSubscription`, "UpdateSubscription - 更新绑定关系",
//!   document 400491): `PoolKey`, `SubsId`, `PhoneNoX` (the virtual number),
//!   `OperateType=updateExpire` and the new `Expiration`; `{"Code": "OK"}`.
//! - **Signature** (RPC style, `SignatureMethod=HMAC-SHA1`,
//!   `SignatureVersion=1.0`): the parameters (common ones — `Format=JSON`,
//!   `Version`, `AccessKeyId`, `SignatureNonce`, `Timestamp` in UTC ISO
//!   8601, `RegionId` — and the action's) sorted by name, names and values
//!   percent-encoded (RFC 3986: unreserved characters kept, space `%20`),
//!   joined with `&`; the string to sign is
//!   `POST&%2F&` + that string percent-encoded; the signature is
//!   base64(HMAC-SHA1(AccessKeySecret + "&", it)) in the `Signature`
//!   parameter. The parameters go as an `application/x-www-form-urlencoded`
//!   POST body.
//!
//! Not covered by what is public here: which error codes may succeed on a
//! later attempt. HTTP failures, timeouts and throttling (`isv.*LIMIT*`,
//! `Throttling*`, `ServiceUnavailable`, `InternalError`) are retried; any
//! other code is a refusal for a dispatcher to look at. The binding's
//! `OutId` is our binding's id, so the provider's records name it.

use super::{Delivery, Provider};
use crate::domain::privacy_numbers::{bind_reference, BIND_KIND, RENEW_KIND, UNBIND_KIND};
use crate::domain::webhooks::IDEMPOTENCY_HEADER;
use crate::store::outbox::OutboxMessage;
use crate::store::BoxFuture;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use std::collections::BTreeMap;

/// The API version of 号码隐私保护.
pub const VERSION: &str = "2017-05-25";
/// The answer code of success.
pub const OK_CODE: &str = "OK";

/// Percent-encoding of Alibaba Cloud's RPC signature: every byte but
/// `A-Z a-z 0-9 - _ . ~` as `%XY` (upper-case hex).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The canonicalized query string: parameters sorted, encoded, joined.
pub fn canonical_query(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .filter(|(k, _)| k.as_str() != "Signature")
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The `Signature` of a request with `params` sent with `method` (GET or POST).
pub fn sign(method: &str, params: &BTreeMap<String, String>, access_key_secret: &str) -> String {
    let to_sign = format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonical_query(params))
    );
    let mut mac =
        <Hmac<sha1::Sha1> as Mac>::new_from_slice(format!("{access_key_secret}&").as_bytes())
            .expect("HMAC takes a key of any length");
    mac.update(to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The adapter's settings.
#[derive(Debug, Clone)]
pub struct AliyunPls {
    pub endpoint: String,
    pub access_key_id: Option<String>,
    pub access_key_secret: Option<String>,
    pub region: String,
    pub http: reqwest::Client,
}

/// The error codes another attempt may cure.
fn transient(code: &str) -> bool {
    code.contains("LIMIT")
        || code.starts_with("Throttling")
        || code == "ServiceUnavailable"
        || code.starts_with("InternalError")
}

impl AliyunPls {
    /// The action's parameters for an outbox message.
    pub fn action_params(m: &OutboxMessage) -> Result<BTreeMap<String, String>, Delivery> {
        let p = &m.payload;
        let text = |k: &str| p[k].as_str().unwrap_or_default().to_string();
        let mut params = BTreeMap::new();
        params.insert("PoolKey".into(), text("pool_key"));
        // `Expiration`: China Standard Time, `yyyy-MM-dd HH:mm:ss`.
        let expiration = || {
            let expires = p["expires_at"].as_i64().unwrap_or_default();
            let at = chrono::DateTime::from_timestamp_millis(expires).unwrap_or_default()
                + chrono::Duration::hours(8);
            at.format("%Y-%m-%d %H:%M:%S").to_string()
        };
        match m.kind.as_str() {
            BIND_KIND => {
                params.insert("Action".into(), "BindAxb".into());
                params.insert("PhoneNoA".into(), text("phone_a"));
                params.insert("PhoneNoB".into(), text("phone_b"));
                params.insert("Expiration".into(), expiration());
                params.insert("OutOrderId".into(), text("out_order_id"));
                params.insert("OutId".into(), text("binding_id"));
                params.insert("IsRecordingEnabled".into(), "false".into());
            }
            UNBIND_KIND => {
                params.insert("Action".into(), "UnbindSubscription".into());
                params.insert("SubsId".into(), text("subs_id"));
                params.insert("SecretNo".into(), text("secret_no"));
            }
            RENEW_KIND => {
                params.insert("Action".into(), "UpdateSubscription".into());
                params.insert("SubsId".into(), text("subs_id"));
                params.insert("PhoneNoX".into(), text("secret_no"));
                params.insert("OperateType".into(), "updateExpire".into());
                params.insert("Expiration".into(), expiration());
            }
            other => {
                return Err(Delivery::Refused(format!(
                    "not a privacy-number message: {other}"
                )))
            }
        }
        Ok(params)
    }

    async fn send(&self, m: &OutboxMessage) -> Delivery {
        let (Some(id), Some(secret)) = (&self.access_key_id, &self.access_key_secret) else {
            return Delivery::Refused(
                "no privacy-number provider configured: set DOORSTEP_PRIVACY_ACCESS_KEY_ID and DOORSTEP_PRIVACY_ACCESS_KEY_SECRET".into(),
            );
        };
        let mut params = match Self::action_params(m) {
            Ok(p) => p,
            Err(d) => return d,
        };
        params.insert("Format".into(), "JSON".into());
        params.insert("Version".into(), VERSION.into());
        params.insert("AccessKeyId".into(), id.clone());
        params.insert("SignatureMethod".into(), "HMAC-SHA1".into());
        params.insert("SignatureVersion".into(), "1.0".into());
        params.insert(
            "SignatureNonce".into(),
            hex::encode(rand::random::<[u8; 16]>()),
        );
        params.insert(
            "Timestamp".into(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        );
        params.insert("RegionId".into(), self.region.clone());
        let signature = sign("POST", &params, secret);
        let body = format!(
            "{}&Signature={}",
            canonical_query(&params),
            percent_encode(&signature)
        );
        let answer = match self
            .http
            .post(&self.endpoint)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header(IDEMPOTENCY_HEADER, &m.idempotency_key)
            .body(body)
            .send()
            .await
        {
            Ok(a) => a,
            Err(e) => return Delivery::Retry(format!("privacy-number provider unreachable: {e}")),
        };
        let status = answer.status();
        let json: Value = answer.json().await.unwrap_or(Value::Null);
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Delivery::Retry(format!(
                "privacy-number provider answered HTTP {}",
                status.as_u16()
            ));
        }
        read_answer(&m.kind, &json)
    }
}

/// What an answer means: bound (with `SubsId` and `SecretNo`), unbound,
/// worth another attempt, or refused.
pub fn read_answer(kind: &str, answer: &Value) -> Delivery {
    let code = answer["Code"].as_str().unwrap_or_default();
    let message = answer["Message"].as_str().unwrap_or_default();
    if code != OK_CODE {
        let what = format!("privacy-number provider: {code}: {message}");
        return if code.is_empty() || transient(code) {
            Delivery::Retry(what)
        } else {
            Delivery::Refused(what)
        };
    }
    if kind != BIND_KIND {
        return Delivery::Delivered { reference: None };
    }
    let dto = &answer["SecretBindDTO"];
    match (dto["SubsId"].as_str(), dto["SecretNo"].as_str()) {
        (Some(s), Some(x)) if !s.is_empty() && !x.is_empty() => Delivery::Delivered {
            reference: Some(bind_reference(s, x)),
        },
        _ => Delivery::Retry("privacy-number provider answered OK without SecretBindDTO".into()),
    }
}

impl Provider for AliyunPls {
    fn name(&self) -> &'static str {
        "aliyun_pls"
    }

    fn deliver<'a>(&'a self, message: &'a OutboxMessage) -> BoxFuture<'a, Delivery> {
        Box::pin(self.send(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The worked example of Alibaba Cloud's RPC signature documentation
    /// (signature method, "签名机制"): DescribeRegions signed with the
    /// AccessKey `testid` / `testsecret`.
    #[test]
    fn the_signature_matches_alibaba_clouds_documented_example() {
        let params: BTreeMap<String, String> = [
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("Format", "XML"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Version", "2014-05-26"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            canonical_query(&params),
            "AccessKeyId=testid&Action=DescribeRegions&Format=XML&SignatureMethod=HMAC-SHA1&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0&Timestamp=2016-02-23T12%3A46%3A24Z&Version=2014-05-26"
        );
        assert_eq!(
            sign("GET", &params, "testsecret"),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
        assert_ne!(
            sign("POST", &params, "testsecret"),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("a b*c~d+é"), "a%20b%2Ac~d%2B%C3%A9");
        assert_eq!(
            percent_encode("2021-09-05 12:00:00"),
            "2021-09-05%2012%3A00%3A00"
        );
    }

    #[test]
    fn answers_are_read_as_bound_retried_or_refused() {
        let ok = json!({"Code": "OK", "Message": "OK", "RequestId": "r",
            "SecretBindDTO": {"SubsId": "1000000123", "SecretNo": "17000000001", "Extension": "130"}});
        assert_eq!(
            read_answer(BIND_KIND, &ok),
            Delivery::Delivered {
                reference: Some(bind_reference("1000000123", "17000000001"))
            }
        );
        let limited = json!({"Code": "isv.DAY_LIMIT_CONTROL", "Message": "触发日发送限额"});
        assert!(matches!(
            read_answer(BIND_KIND, &limited),
            Delivery::Retry(_)
        ));
        let refused = json!({"Code": "isv.NO_AVAILABLE_NUMBER", "Message": "无可用号码"});
        assert!(matches!(
            read_answer(BIND_KIND, &refused),
            Delivery::Refused(_)
        ));
        let unbound = json!({"Code": "OK", "Message": "OK", "ChargeId": "true"});
        assert_eq!(
            read_answer(UNBIND_KIND, &unbound),
            Delivery::Delivered { reference: None }
        );
    }
}
