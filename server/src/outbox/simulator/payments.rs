//! The QR payment providers' stand-in (part of the simulator): WeChat Pay's
//! native order (`POST /v3/pay/transactions/native`, its Authorization
//! signature checked with the merchant's public key, answered signed with
//! the platform key) and Alipay's gateway (`POST /gateway.do`,
//! `alipay.trade.precreate`, RSA2 checked with the application's public
//! key, the answer member signed with Alipay's key). Both deduplicate on
//! `out_trade_no` (the same QR link again) and fail, stall or slow down as
//! the behaviour says. "The customer pays" (`POST /_sim/wechat-pay/pay`,
//! `POST /_sim/alipay/pay`, `{"out_trade_no", "forge"?}`) sends the
//! provider's signed (for WeChat Pay, encrypted) notification to the
//! order's notify_url; `forge` sends a forged one instead: `wrong_key`
//! (signed with a key that is not the provider's), `tampered_amount`
//! (another amount, properly signed), `stale_timestamp` (WeChat Pay: ten
//! minutes old); `lost_notification` takes the payment but sends nothing,
//! as when a notification is lost; an order can be closed at the provider
//! unpaid ([`super::Simulator::close_order`]). The order query (查单) answers what
//! was paid: WeChat Pay's `GET /v3/pay/transactions/out-trade-no/{no}`
//! (signature checked, answer signed) and the gateway's
//! `alipay.trade.query` (`ACQ.TRADE_NOT_EXIST` until paid, as for a
//! precreated trade nobody scanned). The keys are test-only PEM texts
//! (`server/test-keys`, [`WechatPayAccount::from_key_dir`]).

use super::{fate_of, header, lock, Fate, Shared, SimState};
use crate::outbox::alipay::{self, RESPONSE_MEMBER};
use crate::outbox::rsa_keys;
use crate::outbox::wechat_pay::{self, NATIVE_PATH};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// The simulated WeChat Pay merchant account (PEM texts, test-only keys).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WechatPayAccount {
    pub mchid: String,
    pub appid: String,
    /// The platform key's serial (Wechatpay-Serial).
    pub platform_serial: String,
    /// 32 bytes.
    pub api_v3_key: String,
    pub merchant_public_key: String,
    pub platform_private_key: String,
    /// Signs forged notifications.
    pub forger_private_key: String,
}

/// The simulated Alipay application (PEM texts, test-only keys).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlipayAccount {
    pub app_id: String,
    pub app_public_key: String,
    pub alipay_private_key: String,
    pub forger_private_key: String,
}

fn read(dir: &Path, name: &str) -> std::io::Result<String> {
    std::fs::read_to_string(dir.join(name))
}

impl WechatPayAccount {
    /// The merchant of the committed test keys in `dir` (`server/test-keys`).
    pub fn from_key_dir(dir: &Path) -> std::io::Result<WechatPayAccount> {
        Ok(WechatPayAccount {
            mchid: "1900000001".into(),
            appid: "wxd0000000000sim1".into(),
            platform_serial: "5157F09EFDC096DE15EBE81A47057A72SIM".into(),
            api_v3_key: "doorstep-simulated-apiv3-key-32b".into(),
            merchant_public_key: read(dir, "wechat-pay-merchant.pub.pem")?,
            platform_private_key: read(dir, "wechat-pay-platform.pem")?,
            forger_private_key: read(dir, "forger.pem")?,
        })
    }
}

impl AlipayAccount {
    /// The application of the committed test keys in `dir`.
    pub fn from_key_dir(dir: &Path) -> std::io::Result<AlipayAccount> {
        Ok(AlipayAccount {
            app_id: "2021000000000001".into(),
            app_public_key: read(dir, "alipay-app.pub.pem")?,
            alipay_private_key: read(dir, "alipay-platform.pem")?,
            forger_private_key: read(dir, "forger.pem")?,
        })
    }
}

/// One order request (WeChat Pay native or Alipay precreate) as received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QrOrderRequest {
    /// `wechat_pay` or `alipay`.
    pub provider: String,
    pub idempotency_key: String,
    pub out_trade_no: String,
    /// Fen.
    pub amount: i64,
    pub description: String,
    pub time_expire: String,
    pub notify_url: String,
    pub signature_valid: bool,
    /// `created`, `duplicate` (same out_trade_no: the same link), `failed`
    /// (503) or `refused` (bad signature or parameters).
    pub outcome: String,
    pub code_url: Option<String>,
}

/// One notification the simulator sent ("the customer paid").
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QrNotificationSent {
    pub provider: String,
    pub out_trade_no: String,
    /// The forgery, if it was one.
    pub forge: Option<Forgery>,
    pub transaction_id: String,
    /// The server's answer.
    pub status: u16,
    pub answer: String,
}

/// One order query (查单) the simulator answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QrQuery {
    pub provider: String,
    pub out_trade_no: String,
    pub signature_valid: bool,
    /// The state answered (`SUCCESS`, `NOTPAY`, `TRADE_NOT_EXIST`, …).
    pub answered: String,
}

/// A payment the simulator took.
#[derive(Debug, Clone)]
pub(super) struct Taken {
    pub transaction_id: String,
    /// Fen.
    pub amount: i64,
    pub at: chrono::DateTime<Utc>,
}

/// A forged notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Forgery {
    /// Signed with a key that is not the provider's.
    WrongKey,
    /// Another amount than the order's, properly signed.
    TamperedAmount,
    /// Ten minutes old (WeChat Pay's timestamp), properly signed.
    StaleTimestamp,
}

/// The payment providers' part of the simulator's state.
#[derive(Default)]
pub(super) struct PaymentState {
    pub wechat: Option<WechatPayAccount>,
    pub alipay: Option<AlipayAccount>,
    /// Orders created, by out_trade_no.
    pub orders: BTreeMap<String, QrOrderRequest>,
    /// Transactions, by out_trade_no (one per order, however often notified).
    pub transactions: BTreeMap<String, String>,
    /// The payments taken, by out_trade_no (what the order query answers).
    pub taken: BTreeMap<String, Taken>,
    /// Orders closed at the provider unpaid (the query answers them closed).
    pub closed: std::collections::BTreeSet<String>,
}

/// "The customer pays" request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PayRequest {
    pub out_trade_no: String,
    #[serde(default)]
    pub forge: Option<Forgery>,
    /// The payment is taken but its notification is lost (never sent).
    #[serde(default)]
    pub lost_notification: bool,
}

fn wechat_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}

fn code_url_for(provider: &str) -> String {
    let token = hex::encode(rand::random::<[u8; 8]>());
    match provider {
        "alipay" => format!("https://qr.alipay.com/sim{token}"),
        _ => format!("weixin://wxpay/bizpayurl?pr=sim{token}"),
    }
}

/// Records an order; returns its QR link (the same for a known out_trade_no).
fn take_order(s: &mut SimState, mut record: QrOrderRequest) -> String {
    let known = s
        .payments
        .orders
        .get(&record.out_trade_no)
        .and_then(|o| o.code_url.clone());
    let code_url = match known {
        Some(u) => {
            record.outcome = "duplicate".into();
            u
        }
        None => {
            let u = code_url_for(&record.provider);
            record.outcome = "created".into();
            record.code_url = Some(u.clone());
            s.payments
                .orders
                .insert(record.out_trade_no.clone(), record.clone());
            u
        }
    };
    record.code_url = Some(code_url.clone());
    s.received.qr_orders.push(record);
    code_url
}

/// WeChat Pay's `POST /v3/pay/transactions/native`.
pub(super) async fn wechat_native(
    State(sim): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let text = String::from_utf8_lossy(&body).to_string();
    let order: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let Some(account) = lock(&sim.state).payments.wechat.clone() else {
        return wechat_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SYSTEM_ERROR",
            "the simulator has no WeChat Pay account",
        );
    };
    let signature_valid = merchant_signed(&account, &headers, "POST", NATIVE_PATH, &text)
        && order["mchid"] == account.mchid.as_str()
        && order["appid"] == account.appid.as_str();
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let mut record = QrOrderRequest {
        provider: "wechat_pay".into(),
        idempotency_key: header(&headers, crate::domain::webhooks::IDEMPOTENCY_HEADER).into(),
        out_trade_no: s(&order["out_trade_no"]),
        amount: order["amount"]["total"].as_i64().unwrap_or(0),
        description: s(&order["description"]),
        time_expire: s(&order["time_expire"]),
        notify_url: s(&order["notify_url"]),
        signature_valid,
        outcome: String::new(),
        code_url: None,
    };
    // Drawn and recorded under one lock: recorded in the order of fates.
    let (fate, code_url) = {
        let mut state = lock(&sim.state);
        let fate = fate_of(&mut state);
        if let Fate::Fail = fate {
            record.outcome = "failed".into();
            state.received.qr_orders.push(record);
            return wechat_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "SYSTEM_ERROR",
                "simulated outage",
            );
        }
        if !signature_valid {
            record.outcome = "refused".into();
            state.received.qr_orders.push(record);
            return wechat_error(StatusCode::UNAUTHORIZED, "SIGN_ERROR", "签名错误");
        }
        if record.amount <= 0 || record.out_trade_no.is_empty() || record.notify_url.is_empty() {
            record.outcome = "refused".into();
            state.received.qr_orders.push(record);
            return wechat_error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "参数错误");
        }
        (fate, take_order(&mut state, record))
    };
    fate.wait().await;
    signed_answer(&account, json!({ "code_url": code_url }))
}

/// Whether a request carries the merchant's valid Authorization signature
/// over `method`, `path` (with its query) and `body`, for this merchant.
fn merchant_signed(
    account: &WechatPayAccount,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    body: &str,
) -> bool {
    let auth =
        wechat_pay::parse_authorization(header(headers, "Authorization")).unwrap_or_default();
    let field = |k: &str| auth.get(k).cloned().unwrap_or_default();
    rsa_keys::public_key(&account.merchant_public_key)
        .map(|key| {
            rsa_keys::verify(
                &key,
                wechat_pay::request_message(
                    method,
                    path,
                    field("timestamp").parse().unwrap_or(0),
                    &field("nonce_str"),
                    body,
                )
                .as_bytes(),
                &field("signature"),
            )
        })
        .unwrap_or(false)
        && field("mchid") == account.mchid
}

/// A 200 answer of `body`, signed with the platform key as WeChat Pay signs.
fn signed_answer(account: &WechatPayAccount, body: Value) -> Response {
    signed_wechat(
        account,
        &account.platform_private_key,
        Utc::now().timestamp(),
        body.to_string(),
    )
    .map(|(h, body)| {
        let mut res = (StatusCode::OK, body).into_response();
        for (k, v) in h {
            if let Ok(v) = v.parse() {
                res.headers_mut().insert(k, v);
            }
        }
        res.headers_mut().insert(
            "Content-Type",
            "application/json".parse().expect("a header value"),
        );
        res
    })
    .unwrap_or_else(|e| wechat_error(StatusCode::INTERNAL_SERVER_ERROR, "SYSTEM_ERROR", &e))
}

/// Headers to send, by name.
type Headers = Vec<(&'static str, String)>;

/// `body` with WeChat Pay's signature headers, signed with `key_pem`.
fn signed_wechat(
    account: &WechatPayAccount,
    key_pem: &str,
    timestamp: i64,
    body: String,
) -> Result<(Headers, String), String> {
    let key = rsa_keys::private_key(key_pem)?;
    let nonce = hex::encode_upper(rand::random::<[u8; 16]>());
    let signature = rsa_keys::sign(
        &key,
        wechat_pay::answer_message(&timestamp.to_string(), &nonce, &body).as_bytes(),
    );
    Ok((
        vec![
            ("Wechatpay-Timestamp", timestamp.to_string()),
            ("Wechatpay-Nonce", nonce),
            ("Wechatpay-Signature", signature),
            ("Wechatpay-Serial", account.platform_serial.clone()),
        ],
        body,
    ))
}

/// Alipay's gateway (`alipay.trade.precreate`).
pub(super) async fn alipay_gateway(
    State(sim): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let Some(account) = lock(&sim.state).payments.alipay.clone() else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the simulator has no Alipay account",
        )
            .into_response();
    };
    let content = alipay::sign_content(
        params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &["sign"],
    );
    let signature_valid = rsa_keys::public_key(&account.app_public_key)
        .map(|key| rsa_keys::verify(&key, content.as_bytes(), &get("sign")))
        .unwrap_or(false)
        && get("app_id") == account.app_id
        && get("sign_type") == "RSA2"
        && get("charset") == "utf-8"
        && get("format") == "JSON"
        && get("version") == "1.0";
    let biz: Value = serde_json::from_str(&get("biz_content")).unwrap_or(Value::Null);
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    if get("method") == alipay::QUERY {
        return alipay_query(&sim, &account, s(&biz["out_trade_no"]), signature_valid);
    }
    let mut record = QrOrderRequest {
        provider: "alipay".into(),
        idempotency_key: header(&headers, crate::domain::webhooks::IDEMPOTENCY_HEADER).into(),
        out_trade_no: s(&biz["out_trade_no"]),
        amount: alipay::fen_of(&s(&biz["total_amount"])).unwrap_or(0),
        description: s(&biz["subject"]),
        time_expire: s(&biz["time_expire"]),
        notify_url: get("notify_url"),
        signature_valid,
        outcome: String::new(),
        code_url: None,
    };
    // Drawn and recorded under one lock: recorded in the order of fates.
    let (fate, member) = {
        let mut state = lock(&sim.state);
        let fate = fate_of(&mut state);
        if let Fate::Fail = fate {
            record.outcome = "failed".into();
            state.received.qr_orders.push(record);
            return (StatusCode::SERVICE_UNAVAILABLE, "simulated outage").into_response();
        }
        let member = if !signature_valid {
            record.outcome = "refused".into();
            state.received.qr_orders.push(record);
            json!({"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"})
        } else if get("method") != alipay::PRECREATE || record.amount <= 0 {
            record.outcome = "refused".into();
            state.received.qr_orders.push(record);
            json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.INVALID_PARAMETER", "sub_msg": "参数无效"})
        } else {
            let no = record.out_trade_no.clone();
            let qr = take_order(&mut state, record);
            json!({"code": "10000", "msg": "Success", "out_trade_no": no, "qr_code": qr})
        };
        (fate, member)
    };
    fate.wait().await;
    signed_alipay_answer(&account, RESPONSE_MEMBER, member)
}

/// An Alipay gateway answer: `member` under its name, signed with Alipay's key.
fn signed_alipay_answer(account: &AlipayAccount, name: &str, member: Value) -> Response {
    let member = member.to_string();
    let sign = rsa_keys::private_key(&account.alipay_private_key)
        .map(|k| rsa_keys::sign(&k, member.as_bytes()))
        .unwrap_or_default();
    (
        StatusCode::OK,
        [("Content-Type", "application/json;charset=utf-8")],
        format!(r#"{{"{name}":{member},"sign":"{sign}"}}"#),
    )
        .into_response()
}

/// Alipay's `alipay.trade.query`.
fn alipay_query(
    sim: &Shared,
    account: &AlipayAccount,
    out_trade_no: String,
    signature_valid: bool,
) -> Response {
    let (taken, closed) = {
        let s = lock(&sim.state);
        (
            s.payments.taken.get(&out_trade_no).cloned(),
            s.payments.closed.contains(&out_trade_no),
        )
    };
    let (answered, member) = match (&taken, signature_valid) {
        (_, false) => (
            "SIGN_ERROR",
            json!({"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"}),
        ),
        (None, true) if closed => (
            "TRADE_CLOSED",
            json!({"code": "10000", "msg": "Success", "out_trade_no": out_trade_no,
                   "trade_no": "", "trade_status": "TRADE_CLOSED", "total_amount": "0.00"}),
        ),
        (None, true) => (
            "TRADE_NOT_EXIST",
            json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在"}),
        ),
        (Some(t), true) => (
            "TRADE_SUCCESS",
            json!({"code": "10000", "msg": "Success", "out_trade_no": out_trade_no,
                   "trade_no": t.transaction_id, "trade_status": "TRADE_SUCCESS",
                   "total_amount": doorstep_core::money::yuan_digits(t.amount),
                   "send_pay_date": alipay::beijing_time(t.at), "buyer_logon_id": "159****5620"}),
        ),
    };
    lock(&sim.state).received.qr_queries.push(QrQuery {
        provider: "alipay".into(),
        out_trade_no,
        signature_valid,
        answered: answered.into(),
    });
    signed_alipay_answer(account, alipay::QUERY_RESPONSE_MEMBER, member)
}

/// WeChat Pay's order query, `GET /v3/pay/transactions/out-trade-no/{no}?mchid=…`.
pub(super) async fn wechat_query(
    State(sim): State<Shared>,
    UrlPath(out_trade_no): UrlPath<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Some(account) = lock(&sim.state).payments.wechat.clone() else {
        return wechat_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SYSTEM_ERROR",
            "the simulator has no WeChat Pay account",
        );
    };
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or_default();
    let signature_valid = merchant_signed(&account, &headers, "GET", path, "")
        && uri.query() == Some(&format!("mchid={}", account.mchid));
    let (order, taken, closed) = {
        let s = lock(&sim.state);
        (
            s.payments.orders.get(&out_trade_no).cloned(),
            s.payments.taken.get(&out_trade_no).cloned(),
            s.payments.closed.contains(&out_trade_no),
        )
    };
    let record = |answered: &str| {
        lock(&sim.state).received.qr_queries.push(QrQuery {
            provider: "wechat_pay".into(),
            out_trade_no: out_trade_no.clone(),
            signature_valid,
            answered: answered.into(),
        })
    };
    if !signature_valid {
        record("SIGN_ERROR");
        return wechat_error(StatusCode::UNAUTHORIZED, "SIGN_ERROR", "签名错误");
    }
    let Some(order) = order.filter(|o| o.provider == "wechat_pay") else {
        record("ORDER_NOT_EXIST");
        return wechat_error(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在");
    };
    let mut answer = json!({
        "appid": account.appid, "mchid": account.mchid, "out_trade_no": out_trade_no,
        "trade_type": "NATIVE", "attach": "",
        "amount": {"total": order.amount, "currency": "CNY"},
    });
    match &taken {
        Some(t) => {
            answer["trade_state"] = json!("SUCCESS");
            answer["trade_state_desc"] = json!("支付成功");
            answer["transaction_id"] = json!(t.transaction_id);
            answer["success_time"] = json!(wechat_pay::time_expire(t.at));
            answer["amount"] = json!({"total": t.amount, "payer_total": t.amount, "currency": "CNY", "payer_currency": "CNY"});
        }
        None if closed => {
            answer["trade_state"] = json!("CLOSED");
            answer["trade_state_desc"] = json!("订单已关闭");
        }
        None => {
            answer["trade_state"] = json!("NOTPAY");
            answer["trade_state_desc"] = json!("订单未支付");
        }
    }
    record(answer["trade_state"].as_str().unwrap_or_default());
    signed_answer(&account, answer)
}

/// What "the customer pays" did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PayOutcome {
    pub status: u16,
    pub answer: String,
}

fn transaction_of(sim: &Shared, provider: &str, out_trade_no: &str) -> String {
    let mut s = lock(&sim.state);
    let n = s.payments.transactions.len() + 1;
    s.payments
        .transactions
        .entry(out_trade_no.to_string())
        .or_insert_with(|| match provider {
            "alipay" => format!("2026120222001{n:015}"),
            _ => format!("4200002026{n:018}"),
        })
        .clone()
}

/// Sends the provider's notification of the order's payment (or a forged
/// one) to its notify_url; the server's answer.
pub(super) async fn pay(
    sim: &Shared,
    provider: &str,
    req: &PayRequest,
) -> Result<PayOutcome, String> {
    let order = lock(&sim.state)
        .payments
        .orders
        .get(&req.out_trade_no)
        .cloned()
        .filter(|o| o.provider == provider)
        .ok_or_else(|| format!("no {provider} order {}", req.out_trade_no))?;
    let transaction_id = transaction_of(sim, provider, &order.out_trade_no);
    let amount = match req.forge {
        Some(Forgery::TamperedAmount) => order.amount + 1,
        _ => order.amount,
    };
    if req.forge.is_none() {
        lock(&sim.state)
            .payments
            .taken
            .entry(order.out_trade_no.clone())
            .or_insert_with(|| Taken {
                transaction_id: transaction_id.clone(),
                amount,
                at: Utc::now(),
            });
    }
    if req.lost_notification {
        return Ok(PayOutcome {
            status: 0,
            answer: "the notification was lost".into(),
        });
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let sent = match provider {
        "wechat_pay" => {
            let account = lock(&sim.state)
                .payments
                .wechat
                .clone()
                .ok_or("no WeChat Pay account")?;
            let now = Utc::now();
            let transaction = json!({
                "mchid": account.mchid, "appid": account.appid,
                "out_trade_no": order.out_trade_no, "transaction_id": transaction_id,
                "trade_type": "NATIVE", "trade_state": "SUCCESS", "trade_state_desc": "支付成功",
                "bank_type": "OTHERS", "attach": "",
                "success_time": wechat_pay::time_expire(now),
                "payer": {"openid": "oSimulatedCustomerOpenid0001"},
                "amount": {"total": amount, "payer_total": amount, "currency": "CNY", "payer_currency": "CNY"},
            });
            let nonce: String = hex::encode(rand::random::<[u8; 6]>());
            let ciphertext = wechat_pay::seal(
                account.api_v3_key.as_bytes(),
                &nonce,
                "transaction",
                transaction.to_string().as_bytes(),
            )?;
            let body = json!({
                "id": uuid::Uuid::now_v7().to_string(),
                "create_time": wechat_pay::time_expire(now),
                "resource_type": "encrypt-resource",
                "event_type": "TRANSACTION.SUCCESS",
                "summary": "支付成功",
                "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                             "ciphertext": ciphertext, "associated_data": "transaction", "nonce": nonce},
            })
            .to_string();
            let key = match req.forge {
                Some(Forgery::WrongKey) => account.forger_private_key.clone(),
                _ => account.platform_private_key.clone(),
            };
            let timestamp = match req.forge {
                Some(Forgery::StaleTimestamp) => now.timestamp() - 600,
                _ => now.timestamp(),
            };
            let (headers, body) = signed_wechat(&account, &key, timestamp, body)?;
            let mut call = http
                .post(&order.notify_url)
                .header("Content-Type", "application/json");
            for (k, v) in headers {
                call = call.header(k, v);
            }
            call.body(body).send().await
        }
        _ => {
            let account = lock(&sim.state)
                .payments
                .alipay
                .clone()
                .ok_or("no Alipay account")?;
            let now = alipay::beijing_time(Utc::now());
            let mut params: Vec<(String, String)> = [
                ("notify_time", now.clone()),
                ("notify_type", "trade_status_sync".into()),
                ("notify_id", uuid::Uuid::now_v7().simple().to_string()),
                ("app_id", account.app_id.clone()),
                ("charset", "utf-8".into()),
                ("version", "1.0".into()),
                ("sign_type", "RSA2".into()),
                ("trade_no", transaction_id.clone()),
                ("out_trade_no", order.out_trade_no.clone()),
                ("buyer_id", "2088102177846875".into()),
                ("seller_id", "2088101117955611".into()),
                ("trade_status", "TRADE_SUCCESS".into()),
                ("total_amount", doorstep_core::money::yuan_digits(amount)),
                ("receipt_amount", doorstep_core::money::yuan_digits(amount)),
                (
                    "buyer_pay_amount",
                    doorstep_core::money::yuan_digits(amount),
                ),
                ("subject", order.description.clone()),
                ("gmt_create", now.clone()),
                ("gmt_payment", now),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            let key = match req.forge {
                Some(Forgery::WrongKey) => account.forger_private_key.clone(),
                _ => account.alipay_private_key.clone(),
            };
            let content = alipay::sign_content(
                params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                &["sign", "sign_type"],
            );
            let sign = rsa_keys::sign(&rsa_keys::private_key(&key)?, content.as_bytes());
            params.push(("sign".into(), sign));
            http.post(&order.notify_url)
                .header(
                    "Content-Type",
                    "application/x-www-form-urlencoded;charset=utf-8",
                )
                .body(serde_urlencoded::to_string(&params).unwrap_or_default())
                .send()
                .await
        }
    };
    let answer = sent.map_err(|e| format!("the notify_url did not answer: {e}"))?;
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    lock(&sim.state)
        .received
        .qr_notifications
        .push(QrNotificationSent {
            provider: provider.into(),
            out_trade_no: order.out_trade_no.clone(),
            forge: req.forge,
            transaction_id,
            status,
            answer: text.clone(),
        });
    Ok(PayOutcome {
        status,
        answer: text,
    })
}

pub(super) async fn wechat_pay_pays(
    State(sim): State<Shared>,
    Json(req): Json<PayRequest>,
) -> Response {
    pay_answer(pay(&sim, "wechat_pay", &req).await)
}

pub(super) async fn alipay_pays(
    State(sim): State<Shared>,
    Json(req): Json<PayRequest>,
) -> Response {
    pay_answer(pay(&sim, "alipay", &req).await)
}

fn pay_answer(r: Result<PayOutcome, String>) -> Response {
    match r {
        Ok(o) => Json(o).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, Json(json!({ "error": e }))).into_response(),
    }
}

/// Both accounts at once (`POST /_sim/payment-accounts`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentAccounts {
    pub wechat_pay: Option<WechatPayAccount>,
    pub alipay: Option<AlipayAccount>,
}

pub(super) async fn set_accounts(
    State(sim): State<Shared>,
    Json(a): Json<PaymentAccounts>,
) -> StatusCode {
    let mut s = lock(&sim.state);
    s.payments.wechat = a.wechat_pay;
    s.payments.alipay = a.alipay;
    StatusCode::NO_CONTENT
}
