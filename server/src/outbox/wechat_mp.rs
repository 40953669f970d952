//! Customer notices by WeChat: the Official Account's template messages
//! (微信公众号模板消息), as WeChat's public documentation describes them
//! (developers.weixin.qq.com, "获取 Access token" and "模板消息接口"). What
//! this adapter does:
//!
//! - **access_token**: `GET {endpoint}/cgi-bin/token?grant_type=client_credential&appid=…&secret=…`
//!   answers `{"access_token", "expires_in"}` (7 200 s), or
//!   `{"errcode", "errmsg"}`. It is kept until five minutes before it
//!   expires, for every notice of every worker round, and dropped when a
//!   send says it is invalid or expired (40001, 42001, 40014).
//! - **Send**: `POST {endpoint}/cgi-bin/message/template/send?access_token=…`
//!   with `{"touser": openid, "template_id", "data": {keyword: {"value"}}}`:
//!   the notice's variables, in their order, under the template's keywords
//!   (`DOORSTEP_WECHAT_TEMPLATES`, e.g. `thing1|time2|phone_number3`; by
//!   default the variables' own names). `{"errcode": 0, "msgid"}` is
//!   delivered (the msgid kept as the reference).
//!
//! Errors: -1 (system busy), 45009 (the daily limit) and an expired token
//! are worth another attempt, as are HTTP failures and timeouts; any other
//! code is final — 43004 (the customer unfollowed the account), 40003 (an
//! openid that is not this account's), 40037 (no such template) — and the
//! notice becomes a dead letter saying so. WeChat documents no idempotency
//! key: the outbox delivers each notice once per key; the key also goes in
//! an `Idempotency-Key` header.

use super::{Delivery, Provider};
use crate::domain::notices::NoticeMoment;
use crate::domain::webhooks::IDEMPOTENCY_HEADER;
use crate::providers::WechatTemplates;
use crate::store::outbox::OutboxMessage;
use crate::store::BoxFuture;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The token path.
pub const TOKEN_PATH: &str = "/cgi-bin/token";
/// The template message path.
pub const SEND_PATH: &str = "/cgi-bin/message/template/send";
/// How long before its expiry a token is fetched anew, in seconds.
pub const TOKEN_MARGIN_SECS: i64 = 300;

/// The adapter's settings and its kept token.
#[derive(Debug, Clone)]
pub struct WechatMp {
    pub endpoint: String,
    pub appid: Option<String>,
    pub appsecret: Option<String>,
    pub templates: WechatTemplates,
    /// The token and when it expires (Unix s).
    pub token: Arc<tokio::sync::Mutex<Option<(String, i64)>>>,
    pub http: reqwest::Client,
}

/// The codes that say the token itself is bad: fetch a new one and try again.
fn token_code(code: i64) -> bool {
    matches!(code, 40001 | 42001 | 40014)
}

/// What an answer's `errcode` means for the notice.
pub fn read_send_answer(v: &Value) -> Delivery {
    let code = v["errcode"].as_i64().unwrap_or(-2);
    let message = v["errmsg"].as_str().unwrap_or_default();
    match code {
        0 => Delivery::Delivered {
            reference: v["msgid"].as_i64().map(|id| id.to_string()),
        },
        -1 | 45009 => Delivery::Retry(format!("WeChat is busy: {code} {message}")),
        c if token_code(c) => Delivery::Retry(format!("WeChat's access_token: {code} {message}")),
        -2 => Delivery::Retry("WeChat's answer has no errcode".into()),
        43004 => Delivery::Refused(format!(
            "the customer does not follow the account (43004 {message}): call or text instead"
        )),
        _ => Delivery::Refused(format!("WeChat refused: {code} {message}")),
    }
}

/// The template's `data`: each variable's value under its keyword.
pub fn template_data(
    moment: NoticeMoment,
    keys: &[String],
    params: &[Value],
) -> Map<String, Value> {
    moment
        .variables()
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let key = keys.get(i).cloned().unwrap_or_else(|| (*name).to_string());
            let value = params.get(i).and_then(Value::as_str).unwrap_or_default();
            (key, json!({ "value": value }))
        })
        .collect()
}

impl WechatMp {
    /// The access_token: kept, or fetched with the AppID and AppSecret.
    async fn access_token(&self, appid: &str, secret: &str) -> Result<String, Delivery> {
        let mut kept = self.token.lock().await;
        let now = chrono::Utc::now().timestamp();
        if let Some((t, expires)) = kept.as_ref() {
            if *expires - TOKEN_MARGIN_SECS > now {
                return Ok(t.clone());
            }
        }
        let mut url = reqwest::Url::parse(&format!(
            "{}{TOKEN_PATH}",
            self.endpoint.trim_end_matches('/')
        ))
        .map_err(|e| Delivery::Refused(format!("DOORSTEP_WECHAT_ENDPOINT is not a URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("grant_type", "client_credential")
            .append_pair("appid", appid)
            .append_pair("secret", secret);
        let answer = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| Delivery::Retry(format!("WeChat unreachable: {e}")))?;
        if !answer.status().is_success() {
            return Err(Delivery::Retry(format!(
                "WeChat answered HTTP {}",
                answer.status().as_u16()
            )));
        }
        let v: Value = answer.json().await.unwrap_or(Value::Null);
        match v["access_token"].as_str() {
            Some(t) if !t.is_empty() => {
                let expires_in = v["expires_in"].as_i64().unwrap_or(7200);
                *kept = Some((t.to_string(), now + expires_in));
                Ok(t.to_string())
            }
            _ => Err(match v["errcode"].as_i64() {
                Some(-1) => Delivery::Retry("WeChat is busy issuing the access_token".into()),
                Some(code) => Delivery::Refused(format!(
                    "WeChat refused the AppID and AppSecret: {code} {}",
                    v["errmsg"].as_str().unwrap_or_default()
                )),
                None => Delivery::Retry("WeChat's token answer is unreadable".into()),
            }),
        }
    }

    async fn send(&self, m: &OutboxMessage) -> Delivery {
        let (Some(appid), Some(secret)) = (&self.appid, &self.appsecret) else {
            return Delivery::Refused(
                "no WeChat Official Account configured: set DOORSTEP_WECHAT_APPID and DOORSTEP_WECHAT_APPSECRET"
                    .into(),
            );
        };
        let p = &m.payload;
        let lang = p["language"].as_str().unwrap_or("zh-CN");
        let Some(moment) = serde_json::from_value::<NoticeMoment>(p["moment"].clone()).ok() else {
            return Delivery::Refused(format!("not a notice moment: {}", p["moment"]));
        };
        let Some(template) = self.templates.get(moment.as_str(), lang) else {
            return Delivery::Refused(format!(
                "no WeChat template registered for {} ({lang}): set DOORSTEP_WECHAT_TEMPLATES",
                moment.as_str()
            ));
        };
        let token = match self.access_token(appid, secret).await {
            Ok(t) => t,
            Err(d) => return d,
        };
        let params = p["params"].as_array().cloned().unwrap_or_default();
        let body = json!({
            "touser": p["address"],
            "template_id": template.id,
            "data": template_data(moment, &template.keys, &params),
        });
        let mut url = match reqwest::Url::parse(&format!(
            "{}{SEND_PATH}",
            self.endpoint.trim_end_matches('/')
        )) {
            Ok(u) => u,
            Err(e) => {
                return Delivery::Refused(format!("DOORSTEP_WECHAT_ENDPOINT is not a URL: {e}"))
            }
        };
        url.query_pairs_mut().append_pair("access_token", &token);
        let answer = match self
            .http
            .post(url)
            .header(IDEMPOTENCY_HEADER, &m.idempotency_key)
            .json(&body)
            .send()
            .await
        {
            Ok(a) => a,
            Err(e) => return Delivery::Retry(format!("WeChat unreachable: {e}")),
        };
        if !answer.status().is_success() {
            return Delivery::Retry(format!("WeChat answered HTTP {}", answer.status().as_u16()));
        }
        let v: Value = answer.json().await.unwrap_or(Value::Null);
        if v["errcode"].as_i64().is_some_and(token_code) {
            // Fetched anew on the next attempt.
            *self.token.lock().await = None;
        }
        read_send_answer(&v)
    }
}

impl Provider for WechatMp {
    fn name(&self) -> &'static str {
        "wechat_mp"
    }

    fn deliver<'a>(&'a self, message: &'a OutboxMessage) -> BoxFuture<'a, Delivery> {
        Box::pin(self.send(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_delivered_retried_or_refused_by_errcode() {
        assert!(matches!(
            read_send_answer(&json!({"errcode": 0, "errmsg": "ok", "msgid": 200228332})),
            Delivery::Delivered { reference: Some(r) } if r == "200228332"
        ));
        for busy in [-1, 45009, 40001, 42001] {
            assert!(
                matches!(
                    read_send_answer(&json!({"errcode": busy, "errmsg": "x"})),
                    Delivery::Retry(_)
                ),
                "{busy}"
            );
        }
        for last in [43004, 40003, 40037] {
            assert!(
                matches!(
                    read_send_answer(&json!({"errcode": last, "errmsg": "x"})),
                    Delivery::Refused(_)
                ),
                "{last}"
            );
        }
        assert!(matches!(read_send_answer(&Value::Null), Delivery::Retry(_)));
    }

    #[test]
    fn the_variables_go_under_the_templates_keywords_in_order() {
        let params = [json!("王磊"), json!("10:30"), json!("400 820 1234")];
        let keys: Vec<String> = ["thing1", "time2", "phone_number3"]
            .map(String::from)
            .to_vec();
        let data = template_data(NoticeMoment::OnTheWay, &keys, &params);
        assert_eq!(data["thing1"]["value"], "王磊");
        assert_eq!(data["time2"]["value"], "10:30");
        assert_eq!(data["phone_number3"]["value"], "400 820 1234");
        let plain = template_data(NoticeMoment::OnTheWay, &[], &params);
        assert_eq!(plain["technician"]["value"], "王磊");
        assert_eq!(plain["eta"]["value"], "10:30");
        assert_eq!(plain.len(), 3);
    }
}
