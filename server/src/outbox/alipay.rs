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
//! - **Order query** (查单, `alipay.trade.query`, `biz_content`
//!   `{out_trade_no}`, signed the same way; answer member
//!   `alipay_trade_query_response`): `trade_status` `TRADE_SUCCESS` or
//!   `TRADE_FINISHED` gives the trade (`trade_no`, `total_amount`,
//!   `send_pay_date`), `WAIT_BUYER_PAY` — or `ACQ.TRADE_NOT_EXIST`: a
//!   precreated trade exists only once the customer scanned it — asks again
//!   later, `TRADE_CLOSED` says the order was closed. For a notification
//!   that never came.
//!
//! Not covered: the certificate mode (公钥证书, `app_cert_sn`) — this is the
//! public-key mode — and AES-encrypted `biz_content`. Alipay refuses a second
//! order with the same `out_trade_no` but other parameters and answers the
//! same QR code for the same ones, which makes the call idempotent.

use super::rsa_keys;
use super::{Delivery, Provider};
use crate::domain::qr_payments::{QueryAnswer, KIND, QUERY_KIND};
use crate::domain::webhooks::IDEMPOTENCY_HEADER;
use crate::store::outbox::OutboxMessage;
use crate::store::BoxFuture;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::{json, value::RawValue, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The precreate method's name.
pub const PRECREATE: &str = "alipay.trade.precreate";
/// The answer member the signature covers.
pub const RESPONSE_MEMBER: &str = "alipay_trade_precreate_response";
/// The order query's method name.
pub const QUERY: &str = "alipay.trade.query";
/// The order query's answer member.
pub const QUERY_RESPONSE_MEMBER: &str = "alipay_trade_query_response";
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

/// An answer's member `name` as sent (the signed text) and its `sign`.
fn member_of<'a>(text: &'a str, name: &str) -> Option<(&'a str, String)> {
    let members: BTreeMap<String, &'a RawValue> = serde_json::from_str(text).ok()?;
    let member = members.get(name)?.get();
    let sign = members
        .get("sign")
        .and_then(|s| serde_json::from_str::<String>(s.get()).ok())
        .unwrap_or_default();
    Some((member, sign))
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

    /// The order query's parameters (without `sign`).
    pub fn query_params(
        &self,
        out_trade_no: &str,
        app_id: &str,
        now: DateTime<Utc>,
    ) -> Vec<(String, String)> {
        [
            ("app_id", app_id.to_string()),
            ("method", QUERY.into()),
            ("format", "JSON".into()),
            ("charset", "utf-8".into()),
            ("sign_type", "RSA2".into()),
            ("timestamp", beijing_time(now)),
            ("version", "1.0".into()),
            (
                "biz_content",
                json!({ "out_trade_no": out_trade_no }).to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Asks Alipay whether the order `m` names was paid (查单).
    async fn query(&self, m: &OutboxMessage) -> Delivery {
        let app_id = match self.app_id() {
            Ok(a) => a,
            Err(e) => return Delivery::Refused(e),
        };
        let out_trade_no = m.payload["out_trade_no"].as_str().unwrap_or_default();
        let params = self.query_params(out_trade_no, app_id, Utc::now());
        let text = match self.call(params, None).await {
            Ok(t) => t,
            Err(d) => return d,
        };
        let alipay_key = match self.alipay_key() {
            Ok(k) => k,
            Err(e) => return Delivery::Refused(e),
        };
        read_query_answer(&text, out_trade_no, |member, sign| {
            rsa_keys::verify(&alipay_key, member.as_bytes(), sign)
        })
    }

    /// Alipay's public key.
    fn alipay_key(&self) -> Result<rsa::RsaPublicKey, String> {
        rsa_keys::public_key_file(
            self.public_key_file.as_deref(),
            "DOORSTEP_ALIPAY_PUBLIC_KEY_FILE",
        )
    }

    /// Signs `params` and posts them to the gateway (with the outbox's
    /// idempotency key, when given); the answer's text, or the delivery
    /// outcome when there is none to read.
    async fn call(
        &self,
        mut params: Vec<(String, String)>,
        idempotency_key: Option<&str>,
    ) -> Result<String, Delivery> {
        let key = rsa_keys::private_key_file(
            self.private_key_file.as_deref(),
            "DOORSTEP_ALIPAY_PRIVATE_KEY_FILE",
        )
        .map_err(Delivery::Refused)?;
        let content = sign_content(
            params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &["sign"],
        );
        params.push(("sign".into(), rsa_keys::sign(&key, content.as_bytes())));
        let mut request = self.http.post(&self.gateway).header(
            "Content-Type",
            "application/x-www-form-urlencoded;charset=utf-8",
        );
        if let Some(key) = idempotency_key {
            request = request.header(IDEMPOTENCY_HEADER, key);
        }
        let answer = request
            .body(serde_urlencoded::to_string(&params).unwrap_or_default())
            .send()
            .await
            .map_err(|e| Delivery::Retry(format!("Alipay unreachable: {e}")))?;
        let status = answer.status();
        if !status.is_success() {
            return Err(Delivery::Retry(format!(
                "Alipay answered HTTP {}",
                status.as_u16()
            )));
        }
        answer
            .text()
            .await
            .map_err(|e| Delivery::Retry(format!("Alipay's answer unreadable: {e}")))
    }

    async fn send(&self, m: &OutboxMessage) -> Delivery {
        if m.kind == QUERY_KIND {
            return self.query(m).await;
        }
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
        let alipay_key = match self.alipay_key() {
            Ok(k) => k,
            Err(e) => return Delivery::Refused(e),
        };
        let params = self.params(&m.payload, app_id, &notify_url, Utc::now());
        let text = match self.call(params, Some(&m.idempotency_key)).await {
            Ok(t) => t,
            Err(d) => return d,
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
    let Some((member, sign)) = member_of(text, RESPONSE_MEMBER) else {
        return Delivery::Retry("Alipay's answer is not a precreate answer".into());
    };
    let r: Value = serde_json::from_str(member).unwrap_or(Value::Null);
    let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
    let code = s("code");
    if code == OK_CODE {
        if !verifies(member, &sign) {
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

/// What an order query's answer means (see the module's text), given how
/// to check the member's signature; a payment found is the delivery's
/// reference ([`QueryAnswer`] as JSON).
pub fn read_query_answer(
    text: &str,
    out_trade_no: &str,
    verifies: impl Fn(&str, &str) -> bool,
) -> Delivery {
    let Some((member, sign)) = member_of(text, QUERY_RESPONSE_MEMBER) else {
        return Delivery::Retry("Alipay's answer is not a query answer".into());
    };
    let r: Value = serde_json::from_str(member).unwrap_or(Value::Null);
    let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
    let code = s("code");
    if code != OK_CODE {
        let why = format!("{code} {} {} {}", s("msg"), s("sub_code"), s("sub_msg"));
        return if s("sub_code") == "ACQ.TRADE_NOT_EXIST" {
            Delivery::Retry(format!("not paid yet (not scanned): {why}"))
        } else if code == "20000" || s("sub_code") == "ACQ.SYSTEM_ERROR" {
            Delivery::Retry(format!("Alipay: {why}"))
        } else {
            Delivery::Refused(format!("Alipay refused the query: {why}"))
        };
    }
    if !verifies(member, &sign) {
        return Delivery::Retry("Alipay's answer does not verify with its public key".into());
    }
    if s("out_trade_no") != out_trade_no {
        return Delivery::Retry("Alipay answered about another order".into());
    }
    match s("trade_status").as_str() {
        "TRADE_SUCCESS" | "TRADE_FINISHED" => {
            let Some(amount) = fen_of(&s("total_amount")) else {
                return Delivery::Retry(format!(
                    "Alipay's total_amount {:?} is not an amount",
                    s("total_amount")
                ));
            };
            if s("trade_no").is_empty() {
                return Delivery::Retry("Alipay's paid trade has no trade_no".into());
            }
            let paid_at = NaiveDateTime::parse_from_str(&s("send_pay_date"), TIME_FORMAT)
                .ok()
                .and_then(|t| {
                    super::wechat_pay::beijing()
                        .from_local_datetime(&t)
                        .single()
                })
                .map_or_else(|| Utc::now().timestamp_millis(), |t| t.timestamp_millis());
            QueryAnswer::Paid {
                transaction_id: s("trade_no"),
                amount,
                paid_at,
            }
            .delivered()
        }
        "TRADE_CLOSED" => QueryAnswer::Closed {
            state: "TRADE_CLOSED".into(),
        }
        .delivered(),
        other => Delivery::Retry(format!("not paid yet: {other}")),
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

    #[test]
    fn an_order_query_finds_a_trade_asks_again_until_scanned_and_sees_a_closed_one() {
        let answer =
            |member: Value| format!(r#"{{"{QUERY_RESPONSE_MEMBER}":{member},"sign":"c2ln"}}"#);
        let paid = |status: &str| {
            answer(
                json!({"code": "10000", "msg": "Success", "out_trade_no": "DS1",
                          "trade_no": "2026120222001", "trade_status": status,
                          "total_amount": "80.00", "send_pay_date": "2026-12-02 16:05:00"}),
            )
        };
        let found = |d: Delivery| match d {
            Delivery::Delivered { reference: Some(r) } => {
                serde_json::from_str::<QueryAnswer>(&r).unwrap()
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            found(read_query_answer(
                &paid("TRADE_SUCCESS"),
                "DS1",
                |_, sign| sign == "c2ln"
            )),
            QueryAnswer::Paid {
                transaction_id: "2026120222001".into(),
                amount: 8000,
                paid_at: 1_796_198_700_000,
            }
        );
        let ok = |_: &str, _: &str| true;
        assert!(matches!(
            read_query_answer(&paid("TRADE_FINISHED"), "DS1", ok),
            Delivery::Delivered { .. }
        ));
        assert!(matches!(
            read_query_answer(&paid("WAIT_BUYER_PAY"), "DS1", ok),
            Delivery::Retry(_)
        ));
        assert_eq!(
            found(read_query_answer(&paid("TRADE_CLOSED"), "DS1", ok)),
            QueryAnswer::Closed {
                state: "TRADE_CLOSED".into()
            }
        );
        assert!(matches!(
            read_query_answer(&paid("TRADE_SUCCESS"), "DS2", ok),
            Delivery::Retry(_)
        ));
        assert!(matches!(
            read_query_answer(&paid("TRADE_SUCCESS"), "DS1", |_, _| false),
            Delivery::Retry(_)
        ));
        let not_scanned = answer(json!({"code": "40004", "msg": "Business Failed",
                                        "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在"}));
        assert!(matches!(
            read_query_answer(&not_scanned, "DS1", ok),
            Delivery::Retry(_)
        ));
        let refused = answer(json!({"code": "40004", "msg": "Business Failed",
                                    "sub_code": "ACQ.INVALID_PARAMETER", "sub_msg": "参数无效"}));
        assert!(matches!(
            read_query_answer(&refused, "DS1", ok),
            Delivery::Refused(_)
        ));
        assert!(matches!(
            read_query_answer("{}", "DS1", ok),
            Delivery::Retry(_)
        ));
    }
}
