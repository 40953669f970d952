//! Alipay's face-to-face payment (当面付), its precreate call (the customer
//! scans our QR code), as the public documentation of the open platform
//! describes it (opendocs.alipay.com: "alipay.trade.precreate", "自行实现签名",
//! "自行实现验签", "异步通知验签"). What this adapter does:
//!
//! - **Precreate**: a form POST to the gateway with the common parameters
//!   `app_id`, `method` `alipay.trade.precreate`, `format` `JSON`,
//!   `charset` `utf-8`, `sign_type` `RSA2`, `timestamp` (`yyyy-MM-dd
//!   HH:mm:ss`, China Standard Time), `version` `1.0`, `notify_url`, and
//!   `biz_content`, a JSON text `{out_trade_no, total_amount ("80.00", yuan
//!   from fen by the core's money words), subject, time_expire}`.
//! - **Signature** (RSA2): the non-empty parameters but `sign`, sorted by
//!   name, joined as `k=v&k=v` (raw values), signed RSA-SHA256 with the
//!   application's private key, base64, in `sign`.
//! - **Answer**: `{"alipay_trade_precreate_response": {code, msg,
//!   out_trade_no, qr_code}, "sign": …}`; the signature covers that member's
//!   exact JSON text and is checked with Alipay's public key. Code `10000`
//!   gives `qr_code`; `20000` and `ACQ.SYSTEM_ERROR` are worth another
//!   attempt; any other code is a refusal (`sub_code`, `sub_msg`).
//! - **Notification** ([`Alipay::open_notification`], served at `POST
//!   /api/payments/alipay/notify`, a form): its parameters but `sign` and
//!   `sign_type`, sorted and joined the same way, verified with Alipay's
//!   public key; `app_id` ours, `trade_status` `TRADE_SUCCESS` or
//!   `TRADE_FINISHED`; `total_amount` in yuan. The answer is the plain text
//!   `success` (else `failure`: Alipay sends it again).
//!
//! Not covered: the certificate mode (公钥证书, `app_cert_sn`) — this is the
//! public-key mode — and AES-encrypted `biz_content`. Alipay refuses a second
//! order with the same `out_trade_no` but other parameters and answers the
//! same QR code for the same ones, which makes the call idempotent.

use super::rsa_keys;
use super::{Delivery, Provider};
use crate::domain::qr_payments::KIND;
use crate::domain::webhooks::IDEMPOTENCY_HEADER;
use crate::store::outbox::OutboxMessage;
use crate::store::BoxFuture;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{json, value::RawValue, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The precreate method's name.
pub const PRECREATE: &str = "alipay.trade.precreate";
/// The answer member the signature covers.
pub const RESPONSE_MEMBER: &str = "alipay_trade_precreate_response";
/// The notification path on this server.
pub const NOTIFY_PATH: &str = "/api/payments/alipay/notify";
/// The answer code of success.
pub const OK_CODE: &str = "10000";
/// Alipay's time format (China Standard Time).
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// `yyyy-MM-dd HH:mm:ss` in China Standard Time.
pub fn beijing_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&super::wechat_pay::beijing())
        .format(TIME_FORMAT)
        .to_string()
}

/// The text an RSA2 signature covers: the non-empty parameters but those
/// in `except`, sorted by name, as `k=v&k=v`.
pub fn sign_content<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    except: &[&str],
) -> String {
    let sorted: BTreeMap<&str, &str> = params
        .into_iter()
        .filter(|(k, v)| !v.is_empty() && !except.contains(k))
        .collect();
    sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Yuan with at most two decimals as fen (`"80.00"` → 8000).
pub fn fen_of(yuan: &str) -> Option<i64> {
    doorstep_core::money::parse_yuan(yuan).ok()
}

/// The out_trade_no a notification names, if any (for the refused log).
pub fn out_trade_no_of(params: &[(String, String)]) -> Option<String> {
    params
        .iter()
        .find(|(k, _)| k == "out_trade_no")
        .map(|(_, v)| v.clone())
}

/// The Alipay adapter's settings.
#[derive(Debug, Clone)]
pub struct Alipay {
    pub gateway: String,
    pub app_id: Option<String>,
    pub private_key_file: Option<PathBuf>,
    pub public_key_file: Option<PathBuf>,
    pub notify_base_url: Option<String>,
    pub http: reqwest::Client,
}

/// What a checked notification says was paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlipayNotice {
    pub out_trade_no: String,
    pub trade_no: String,
    pub total_fen: i64,
    pub paid_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(borrow, rename = "alipay_trade_precreate_response")]
    response: &'a RawValue,
    #[serde(default)]
    sign: String,
}

impl Alipay {
    fn app_id(&self) -> Result<&str, String> {
        self.app_id
            .as_deref()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                "no Alipay application configured: set DOORSTEP_ALIPAY_APP_ID and the key files"
                    .into()
            })
    }

    /// The precreate's parameters (without `sign`) for an outbox payload.
    pub fn params(
        &self,
        p: &Value,
        app_id: &str,
        notify_url: &str,
        now: DateTime<Utc>,
    ) -> Vec<(String, String)> {
        let expires = crate::time::from_ms(p["expires_at"].as_i64().unwrap_or(0));
        let biz = json!({
            "out_trade_no": p["out_trade_no"].as_str().unwrap_or_default(),
            "total_amount": doorstep_core::money::yuan_digits(p["amount"].as_i64().unwrap_or(0)),
            "subject": p["subject"].as_str().unwrap_or_default(),
            "time_expire": beijing_time(expires),
        });
        [
            ("app_id", app_id.to_string()),
            ("method", PRECREATE.into()),
            ("format", "JSON".into()),
            ("charset", "utf-8".into()),
            ("sign_type", "RSA2".into()),
            ("timestamp", beijing_time(now)),
            ("version", "1.0".into()),
            ("notify_url", notify_url.into()),
            ("biz_content", biz.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    async fn send(&self, m: &OutboxMessage) -> Delivery {
        if m.kind != KIND {
            return Delivery::Refused(format!("not a QR payment message: {}", m.kind));
        }
        let app_id = match self.app_id() {
            Ok(a) => a,
            Err(e) => return Delivery::Refused(e),
        };
        let Some(base) = self.notify_base_url.as_deref().filter(|u| !u.is_empty()) else {
            return Delivery::Refused(
                "DOORSTEP_PAYMENT_NOTIFY_BASE_URL is not set: the provider could not tell us of the payment".into(),
            );
        };
        let notify_url = format!("{}{NOTIFY_PATH}", base.trim_end_matches('/'));
        let key = match rsa_keys::private_key_file(
            self.private_key_file.as_deref(),
            "DOORSTEP_ALIPAY_PRIVATE_KEY_FILE",
        ) {
            Ok(k) => k,
            Err(e) => return Delivery::Refused(e),
        };
        let alipay_key = match rsa_keys::public_key_file(
            self.public_key_file.as_deref(),
            "DOORSTEP_ALIPAY_PUBLIC_KEY_FILE",
        ) {
            Ok(k) => k,
            Err(e) => return Delivery::Refused(e),
        };
        let mut params = self.params(&m.payload, app_id, &notify_url, Utc::now());
        let content = sign_content(
            params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &["sign"],
        );
        params.push(("sign".into(), rsa_keys::sign(&key, content.as_bytes())));
        let answer = match self
            .http
            .post(&self.gateway)
            .header(IDEMPOTENCY_HEADER, &m.idempotency_key)
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(serde_urlencoded::to_string(&params).unwrap_or_default())
            .send()
            .await
        {
            Ok(a) => a,
            Err(e) => return Delivery::Retry(format!("Alipay unreachable: {e}")),
        };
        let status = answer.status();
        if !status.is_success() {
            return Delivery::Retry(format!("Alipay answered HTTP {}", status.as_u16()));
        }
        let text = match answer.text().await {
            Ok(t) => t,
            Err(e) => return Delivery::Retry(format!("Alipay's answer unreadable: {e}")),
        };
        read_answer(&text, |member, sign| {
            rsa_keys::verify(&alipay_key, member.as_bytes(), sign)
        })
    }

    /// Checks a notification (see the module's text); `Err` says why it is
    /// refused.
    pub fn open_notification(&self, params: &[(String, String)]) -> Result<AlipayNotice, String> {
        let app_id = self.app_id()?;
        let alipay_key = rsa_keys::public_key_file(
            self.public_key_file.as_deref(),
            "DOORSTEP_ALIPAY_PUBLIC_KEY_FILE",
        )?;
        let get = |k: &str| {
            params
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default()
        };
        let content = sign_content(
            params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &["sign", "sign_type"],
        );
        if !rsa_keys::verify(&alipay_key, content.as_bytes(), get("sign")) {
            return Err("sign does not verify with Alipay's public key".into());
        }
        if get("app_id") != app_id {
            return Err(format!("app_id {} is not ours", get("app_id")));
        }
        let status = get("trade_status");
        if status != "TRADE_SUCCESS" && status != "TRADE_FINISHED" {
            return Err(format!("trade_status {status} is not a payment"));
        }
        let total_fen = fen_of(get("total_amount"))
            .ok_or_else(|| format!("total_amount {:?} is not an amount", get("total_amount")))?;
        let paid_at = NaiveDateTime::parse_from_str(get("gmt_payment"), TIME_FORMAT)
            .ok()
            .and_then(|t| {
                super::wechat_pay::beijing()
                    .from_local_datetime(&t)
                    .single()
            })
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(Utc::now);
        if get("out_trade_no").is_empty() || get("trade_no").is_empty() {
            return Err("the notification names no out_trade_no or trade_no".into());
        }
        Ok(AlipayNotice {
            out_trade_no: get("out_trade_no").into(),
            trade_no: get("trade_no").into(),
            total_fen,
            paid_at,
        })
    }
}

/// What a precreate answer means, given how to check the member's signature.
pub fn read_answer(text: &str, verifies: impl Fn(&str, &str) -> bool) -> Delivery {
    let Ok(answer) = serde_json::from_str::<Answer>(text) else {
        return Delivery::Retry("Alipay's answer is not a precreate answer".into());
    };
    let member = answer.response.get();
    let r: Value = serde_json::from_str(member).unwrap_or(Value::Null);
    let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
    let code = s("code");
    if code == OK_CODE {
        if !verifies(member, &answer.sign) {
            return Delivery::Retry("Alipay's answer does not verify with its public key".into());
        }
        return match r["qr_code"].as_str() {
            Some(q) if !q.is_empty() => Delivery::Delivered {
                reference: Some(q.into()),
            },
            _ => Delivery::Retry("Alipay answered without a qr_code".into()),
        };
    }
    let why = format!("{code} {} {} {}", s("msg"), s("sub_code"), s("sub_msg"));
    if code == "20000" || s("sub_code") == "ACQ.SYSTEM_ERROR" {
        Delivery::Retry(format!("Alipay: {why}"))
    } else {
        Delivery::Refused(format!("Alipay refused: {why}"))
    }
}

impl Provider for Alipay {
    fn name(&self) -> &'static str {
        "alipay"
    }

    fn deliver<'a>(&'a self, message: &'a OutboxMessage) -> BoxFuture<'a, Delivery> {
        Box::pin(self.send(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_text_is_the_sorted_non_empty_parameters_but_sign() {
        let params = [
            ("sign", "x"),
            ("method", PRECREATE),
            ("app_id", "2021000000000000"),
            ("empty", ""),
            ("biz_content", "{\"a\":1}"),
        ];
        assert_eq!(
            sign_content(params, &["sign"]),
            "app_id=2021000000000000&biz_content={\"a\":1}&method=alipay.trade.precreate"
        );
    }

    #[test]
    fn amounts_go_as_yuan_and_come_back_as_fen() {
        assert_eq!(doorstep_core::money::yuan_digits(8000), "80.00");
        assert_eq!(fen_of("80.00"), Some(8000));
        assert_eq!(fen_of("0.05"), Some(5));
        assert_eq!(fen_of("eighty"), None);
    }

    #[test]
    fn the_answer_signature_covers_the_members_exact_text() {
        let text = r#"{"alipay_trade_precreate_response":{"code":"10000","msg":"Success","out_trade_no":"DS1","qr_code":"https://qr.alipay.com/x"},"sign":"S"}"#;
        let seen = std::cell::RefCell::new(String::new());
        let d = read_answer(text, |member, sign| {
            *seen.borrow_mut() = member.to_string();
            sign == "S"
        });
        assert_eq!(
            d,
            Delivery::Delivered {
                reference: Some("https://qr.alipay.com/x".into())
            }
        );
        assert_eq!(
            *seen.borrow(),
            r#"{"code":"10000","msg":"Success","out_trade_no":"DS1","qr_code":"https://qr.alipay.com/x"}"#
        );
        assert!(matches!(
            read_answer(text, |_, _| false),
            Delivery::Retry(_)
        ));
        let refused = r#"{"alipay_trade_precreate_response":{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TOTAL_FEE_EXCEED","sub_msg":"x"},"sign":"S"}"#;
        assert!(
            matches!(read_answer(refused, |_, _| true), Delivery::Refused(e) if e.contains("ACQ.TOTAL_FEE_EXCEED"))
        );
    }
}
