//! The providers' stand-in, a small HTTP server for tests and local runs
//! (`cargo run -p doorstep-server --example provider-simulator`). It takes:
//!
//! - Tencent Cloud SMS `SendSms` requests at `/` (checking their TC3
//!   signature, answering in Tencent's response shape);
//! - WeChat Official Account template messages at
//!   `/cgi-bin/message/template/send`, their access_token issued at
//!   `/cgi-bin/token` for the account's AppID and AppSecret (a customer who
//!   unfollowed the account refused, 43004);
//! - webhooks at `/webhooks/{name}` (checking their signature);
//! - Nuonuo e-invoice calls at `/open/v1/services` (issue requests,
//!   deduplicated on their `orderNo`, answered with a serial number; result
//!   queries answered with the invoice number, or "being issued" / "failed"
//!   as told; X-Nuonuo-Sign checked), the accessToken they carry granted at
//!   `/accessToken` for the account's app key and secret;
//! - Alibaba Cloud privacy-number calls at `/dyplsapi` (BindAxb, allocating
//!   a virtual number from a pool of 170 numbers, deduplicated on the
//!   binding's `OutId`; UnbindSubscription releasing it; UpdateSubscription's
//!   `updateExpire` extending it; the RPC HMAC-SHA1 `Signature` checked).
//!
//! It deduplicates on the idempotency key, records everything it received,
//! and can fail (HTTP 503), be down, answer slowly or take a request and
//! never answer. Its record is read at `GET /_sim/received`; its behaviour
//! set at `POST /_sim/behaviour`. The QR payment providers (WeChat Pay's
//! native orders, Alipay's precreate, and "the customer pays": their signed
//! notifications) are [`payments`].

pub mod payments;

use super::aliyun_pls;
use super::nuonuo::{self, ISSUE_METHOD, OK_CODE, QUERY_METHOD};
use super::tencent_sms::{self, CONTENT_TYPE};
use crate::domain::webhooks::{verify, IDEMPOTENCY_HEADER, SIGNATURE_HEADER};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the simulated provider behaves.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Behaviour {
    /// Down: every request is answered 503.
    pub outage: bool,
    /// The next this many requests are answered 503.
    pub fail_next: u32,
    /// Every answer waits this long.
    pub delay_ms: u64,
    /// The next this many requests are taken (an SMS is sent) and never
    /// answered: the caller times out or dies waiting.
    pub stall_next: u32,
    /// The next this many invoice result queries answer "being issued" (20).
    pub invoice_issuing_polls: u32,
    /// Invoice result queries answer "failed" (22) with this cause.
    pub invoice_fail_cause: Option<String>,
}

/// One SMS request as received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SmsRequest {
    pub idempotency_key: String,
    pub phone_numbers: Vec<String>,
    pub template_id: String,
    pub params: Vec<String>,
    pub sign_name: String,
    /// Whether its TC3-HMAC-SHA256 signature was valid.
    pub signature_valid: bool,
    /// `sent`, `duplicate` (the key was already sent), `failed` (503) or
    /// `refused` (bad signature).
    pub outcome: String,
}

/// One webhook as received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookRequest {
    pub endpoint: String,
    pub idempotency_key: String,
    pub signature_valid: bool,
    pub body: Value,
    /// `accepted`, `duplicate`, `failed` (503) or `refused` (bad signature).
    pub outcome: String,
}

/// One invoice issue request (requestBillingNew) as received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvoiceIssueRequest {
    pub idempotency_key: String,
    pub order_no: String,
    pub buyer_name: String,
    pub buyer_tax_num: String,
    pub buyer_phone: String,
    pub email: String,
    pub push_mode: String,
    pub saler_tax_num: String,
    /// The line's tax-included amount, in yuan.
    pub amount: String,
    pub tax_rate: String,
    /// Whether its X-Nuonuo-Sign was valid (and its access token right).
    pub signature_valid: bool,
    /// `taken`, `duplicate` (the orderNo was already taken: same serial),
    /// `failed` (503) or `refused` (bad signature).
    pub outcome: String,
    /// The serial number answered.
    pub serial: Option<String>,
}

/// One invoice result query (queryInvoiceResult) as received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvoiceQuery {
    pub serial: String,
    pub signature_valid: bool,
    /// `issued`, `issuing`, `not_issued`, `unknown` (no such serial),
    /// `failed` (503) or `refused` (bad signature).
    pub outcome: String,
    pub invoice_number: Option<String>,
}

/// One privacy-number call (BindAxb, UnbindSubscription or
/// UpdateSubscription) as received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrivacyRequest {
    /// `BindAxb`, `UnbindSubscription` or `UpdateSubscription`.
    pub action: String,
    pub pool_key: String,
    /// BindAxb: the customer (A), the technician (B), the expiry, our ids.
    pub phone_a: String,
    pub phone_b: String,
    pub expiration: String,
    pub out_id: String,
    pub out_order_id: String,
    /// The binding (answered, or unbound).
    pub subs_id: Option<String>,
    pub secret_no: Option<String>,
    /// Whether its `Signature` was valid (and its AccessKeyId right).
    pub signature_valid: bool,
    /// `bound`, `duplicate` (the OutId was already bound: same number),
    /// `unbound`, `unknown` (no such binding), `failed` (503) or `refused`
    /// (bad signature).
    pub outcome: String,
}

/// Everything the simulator received.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Received {
    #[serde(default)]
    pub privacy: Vec<PrivacyRequest>,
    pub sms: Vec<SmsRequest>,
    pub webhooks: Vec<WebhookRequest>,
    #[serde(default)]
    pub invoices: Vec<InvoiceIssueRequest>,
    #[serde(default)]
    pub invoice_queries: Vec<InvoiceQuery>,
    /// The invoicing token requests (client_credentials): whether each
    /// named the account's app key and secret.
    #[serde(default)]
    pub invoice_tokens: Vec<bool>,
    /// WeChat template messages received, and each token request (whether
    /// it named the account's AppID and AppSecret).
    #[serde(default)]
    pub wechat_messages: Vec<WechatMessage>,
    #[serde(default)]
    pub wechat_tokens: Vec<bool>,
    /// QR payment orders (WeChat Pay native, Alipay precreate).
    #[serde(default)]
    pub qr_orders: Vec<payments::QrOrderRequest>,
    /// The payment notifications sent ("the customer paid").
    #[serde(default)]
    pub qr_notifications: Vec<payments::QrNotificationSent>,
    /// The order queries answered (查单).
    #[serde(default)]
    pub qr_queries: Vec<payments::QrQuery>,
}

impl Received {
    /// The SMS actually sent: one per idempotency key, however often asked.
    pub fn sms_sent(&self) -> Vec<&SmsRequest> {
        self.sms.iter().filter(|r| r.outcome == "sent").collect()
    }

    /// The invoice requests taken: one per order number, however often asked.
    pub fn invoices_taken(&self) -> Vec<&InvoiceIssueRequest> {
        self.invoices
            .iter()
            .filter(|r| r.outcome == "taken")
            .collect()
    }

    /// The binds that allocated a virtual number: one per binding.
    pub fn privacy_bound(&self) -> Vec<&PrivacyRequest> {
        self.privacy
            .iter()
            .filter(|r| r.outcome == "bound")
            .collect()
    }

    /// The bindings extended (UpdateSubscription, updateExpire).
    pub fn privacy_renewed(&self) -> Vec<&PrivacyRequest> {
        self.privacy
            .iter()
            .filter(|r| r.outcome == "renewed")
            .collect()
    }

    /// The bindings released.
    pub fn privacy_unbound(&self) -> Vec<&PrivacyRequest> {
        self.privacy
            .iter()
            .filter(|r| r.outcome == "unbound")
            .collect()
    }

    /// The webhooks accepted: one per idempotency key.
    pub fn webhooks_accepted(&self) -> Vec<&WebhookRequest> {
        self.webhooks
            .iter()
            .filter(|r| r.outcome == "accepted")
            .collect()
    }
}

#[derive(Default)]
struct SimState {
    behaviour: Behaviour,
    received: Received,
    /// Serial numbers of the SMS sent, by idempotency key.
    sent: BTreeMap<String, String>,
    /// Signing secrets of the webhook endpoints, by name.
    webhook_secrets: BTreeMap<String, String>,
    /// The invoicing account requests are checked against.
    invoice_account: InvoiceAccount,
    /// Serial numbers of the invoice orders taken, by order number.
    invoice_orders: BTreeMap<String, String>,
    /// Invoice numbers issued, by serial number.
    invoices_issued: BTreeMap<String, String>,
    /// The privacy-number account requests are checked against.
    privacy_account: PrivacyAccount,
    /// Live bindings: SubsId → (virtual number, OutId).
    privacy_bindings: BTreeMap<String, (String, String)>,
    /// Bindings ever made, by OutId (SubsId).
    privacy_by_out_id: BTreeMap<String, String>,
    /// The QR payment providers' accounts and orders.
    payments: payments::PaymentState,
    /// The WeChat Official Account and the access_tokens it issued.
    wechat: WechatAccount,
    wechat_tokens_issued: Vec<String>,
}

/// The simulated WeChat Official Account: its AppID and AppSecret, and the
/// openids that unfollowed it (their template messages are refused, 43004).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WechatAccount {
    pub appid: String,
    pub appsecret: String,
    #[serde(default)]
    pub unfollowed: Vec<String>,
}

/// One template message as received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WechatMessage {
    pub touser: String,
    pub template_id: String,
    /// `{keyword: {"value"}}`.
    pub data: Value,
    /// Whether its access_token was one the account issued.
    pub token_valid: bool,
    /// `sent`, `refused` (a bad token, an unfollowed customer) or `failed` (503).
    pub outcome: String,
}

/// The AccessKey the simulated privacy-number account checks requests with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrivacyAccount {
    pub access_key_id: String,
    pub access_key_secret: String,
}

impl Default for PrivacyAccount {
    fn default() -> Self {
        PrivacyAccount {
            access_key_id: "sim-access-key-id".into(),
            access_key_secret: "sim-access-key-secret".into(),
        }
    }
}

/// The simulated pool: 170 0000 0000 to 170 0000 0169.
pub const PRIVACY_POOL_SIZE: usize = 170;

/// The credentials the simulated invoicing account checks requests with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvoiceAccount {
    pub app_key: String,
    pub app_secret: String,
    pub access_token: String,
}

impl Default for InvoiceAccount {
    fn default() -> Self {
        InvoiceAccount {
            app_key: "sim-app-key".into(),
            app_secret: "sim-app-secret".into(),
            access_token: "sim-access-token".into(),
        }
    }
}

/// The credentials the simulated SMS account checks signatures with.
#[derive(Debug, Clone)]
pub struct SimulatedAccount {
    pub secret_id: String,
    pub secret_key: String,
}

/// A running simulator.
#[derive(Clone)]
pub struct Simulator {
    pub addr: SocketAddr,
    state: Arc<Mutex<SimState>>,
}

#[derive(Clone)]
struct Shared {
    state: Arc<Mutex<SimState>>,
    account: Arc<SimulatedAccount>,
}

impl Simulator {
    /// Starts a simulator on `listen` (port 0: any free port).
    pub async fn spawn(
        listen: SocketAddr,
        account: SimulatedAccount,
    ) -> std::io::Result<Simulator> {
        let state = Arc::new(Mutex::new(SimState::default()));
        let shared = Shared {
            state: state.clone(),
            account: Arc::new(account),
        };
        let app = Router::new()
            .route("/", post(send_sms))
            .route("/webhooks/{name}", post(receive_webhook))
            .route("/open/v1/services", post(nuonuo_call))
            .route("/accessToken", post(nuonuo_token))
            .route(crate::outbox::wechat_mp::TOKEN_PATH, get(wechat_token))
            .route(crate::outbox::wechat_mp::SEND_PATH, post(wechat_send))
            .route("/dyplsapi", post(privacy_call))
            .route(
                crate::outbox::wechat_pay::NATIVE_PATH,
                post(payments::wechat_native),
            )
            .route(
                &format!("{}{{out_trade_no}}", crate::outbox::wechat_pay::QUERY_PATH),
                get(payments::wechat_query),
            )
            .route("/gateway.do", post(payments::alipay_gateway))
            .route("/_sim/wechat-pay/pay", post(payments::wechat_pay_pays))
            .route("/_sim/alipay/pay", post(payments::alipay_pays))
            .route("/_sim/payment-accounts", post(payments::set_accounts))
            .route("/_sim/received", get(received))
            .route("/_sim/privacy-account", post(set_privacy_account))
            .route("/_sim/behaviour", post(set_behaviour))
            .route("/_sim/webhook-secrets/{name}", post(set_webhook_secret))
            .route("/_sim/invoice-account", post(set_invoice_account))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Simulator { addr, state })
    }

    /// The simulator's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What it received so far.
    pub fn received(&self) -> Received {
        self.lock().received.clone()
    }

    /// Changes how it behaves from the next request on.
    pub fn behave(&self, behaviour: Behaviour) {
        self.lock().behaviour = behaviour;
    }

    /// The secret webhooks to `/webhooks/{name}` are checked with.
    pub fn set_webhook_secret(&self, name: &str, secret: &str) {
        self.lock()
            .webhook_secrets
            .insert(name.to_string(), secret.to_string());
    }

    /// The invoicing account requests are checked against (default:
    /// [`InvoiceAccount::default`]).
    pub fn set_invoice_account(&self, account: InvoiceAccount) {
        self.lock().invoice_account = account;
    }

    /// The WeChat Official Account token requests and template messages
    /// are checked against.
    pub fn set_wechat_account(&self, account: WechatAccount) {
        self.lock().wechat = account;
    }

    /// The privacy-number account requests are checked against (default:
    /// [`PrivacyAccount::default`]).
    pub fn set_privacy_account(&self, account: PrivacyAccount) {
        self.lock().privacy_account = account;
    }

    /// The WeChat Pay merchant and Alipay application orders are checked
    /// against (none: those endpoints answer an error).
    pub fn set_payment_accounts(
        &self,
        wechat_pay: Option<payments::WechatPayAccount>,
        alipay: Option<payments::AlipayAccount>,
    ) {
        let mut s = self.lock();
        s.payments.wechat = wechat_pay;
        s.payments.alipay = alipay;
    }

    /// The customer pays the order `out_trade_no` of `provider`
    /// (`wechat_pay`, `alipay`): the provider's notification (or a forged
    /// one) goes to the order's notify_url; the server's answer.
    pub async fn pay(
        &self,
        provider: &str,
        out_trade_no: &str,
        forge: Option<payments::Forgery>,
    ) -> Result<payments::PayOutcome, String> {
        self.take_payment(provider, out_trade_no, forge, false)
            .await
    }

    /// The provider closes the order `out_trade_no` unpaid (its expiry, or
    /// a merchant's close elsewhere): the order query answers it closed.
    pub fn close_order(&self, out_trade_no: &str) {
        self.lock().payments.closed.insert(out_trade_no.to_string());
    }

    /// The customer pays, and the provider's notification is lost: only the
    /// order query (查单) can find the payment.
    pub async fn pay_notification_lost(
        &self,
        provider: &str,
        out_trade_no: &str,
    ) -> Result<payments::PayOutcome, String> {
        self.take_payment(provider, out_trade_no, None, true).await
    }

    async fn take_payment(
        &self,
        provider: &str,
        out_trade_no: &str,
        forge: Option<payments::Forgery>,
        lost_notification: bool,
    ) -> Result<payments::PayOutcome, String> {
        let shared = Shared {
            state: self.state.clone(),
            account: Arc::new(SimulatedAccount {
                secret_id: String::new(),
                secret_key: String::new(),
            }),
        };
        payments::pay(
            &shared,
            provider,
            &payments::PayRequest {
                out_trade_no: out_trade_no.to_string(),
                forge,
                lost_notification,
            },
        )
        .await
    }

    /// The virtual numbers bound now, by SubsId.
    pub fn privacy_live(&self) -> BTreeMap<String, String> {
        self.lock()
            .privacy_bindings
            .iter()
            .map(|(k, (x, _))| (k.clone(), x.clone()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn lock(state: &Mutex<SimState>) -> std::sync::MutexGuard<'_, SimState> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the behaviour says of the next request: fail it, stall it, or wait.
enum Fate {
    Fail,
    Stall,
    Answer(u64),
}

impl Fate {
    /// Holds the answer as the fate says: a stall, or the delay set.
    async fn wait(&self) {
        match self {
            Fate::Stall => tokio::time::sleep(Duration::from_secs(600)).await,
            Fate::Answer(ms) if *ms > 0 => tokio::time::sleep(Duration::from_millis(*ms)).await,
            _ => {}
        }
    }
}

/// The next request's [`Fate`], drawn under the lock the caller holds and
/// records the request under: every handler records its requests in the
/// order of their fates, however concurrent requests interleave (a test
/// that stalls "the next" request follows the first recorded).
fn fate_of(s: &mut SimState) -> Fate {
    let b = &mut s.behaviour;
    if b.outage {
        return Fate::Fail;
    }
    if b.fail_next > 0 {
        b.fail_next -= 1;
        return Fate::Fail;
    }
    if b.stall_next > 0 {
        b.stall_next -= 1;
        return Fate::Stall;
    }
    Fate::Answer(b.delay_ms)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn tencent_error(code: &str, message: &str) -> Json<Value> {
    Json(
        json!({"Response": {"Error": {"Code": code, "Message": message},
                             "RequestId": uuid::Uuid::now_v7().to_string()}}),
    )
}

async fn send_sms(
    State(sim): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, Json<Value>) {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|s| s.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let key = request["SessionContext"]
        .as_str()
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| header(&headers, IDEMPOTENCY_HEADER))
        .to_string();
    let timestamp: i64 = header(&headers, "X-TC-Timestamp").parse().unwrap_or(0);
    let at = chrono::DateTime::from_timestamp(timestamp, 0).unwrap_or_default();
    let expected = tencent_sms::sign(
        &sim.account.secret_id,
        &sim.account.secret_key,
        header(&headers, "Host"),
        &body,
        at,
    );
    let signature_valid = header(&headers, "Authorization") == expected.authorization
        && header(&headers, "Content-Type") == CONTENT_TYPE
        && header(&headers, "X-TC-Action") == "SendSms"
        && header(&headers, "X-TC-Version") == tencent_sms::VERSION;
    let mut record = SmsRequest {
        idempotency_key: key.clone(),
        phone_numbers: strings(&request["PhoneNumberSet"]),
        template_id: request["TemplateId"].as_str().unwrap_or_default().into(),
        params: strings(&request["TemplateParamSet"]),
        sign_name: request["SignName"].as_str().unwrap_or_default().into(),
        signature_valid,
        outcome: String::new(),
    };
    // The fate is drawn and the request recorded under one lock, so the
    // requests are recorded in the order of their fates (the first recorded
    // is the one a `stall_next: 1` stalls, however requests interleave).
    let (fate, serial) = {
        let mut s = lock(&sim.state);
        let fate = fate_of(&mut s);
        let serial = match fate {
            Fate::Fail => {
                record.outcome = "failed".into();
                None
            }
            _ if !signature_valid => {
                record.outcome = "refused".into();
                None
            }
            _ => {
                let n = s.sent.len() + 1;
                let (serial, fresh) = match s.sent.get(&key) {
                    Some(serial) => (serial.clone(), false),
                    None => (format!("2640:{n:012}"), true),
                };
                if fresh {
                    s.sent.insert(key.clone(), serial.clone());
                }
                record.outcome = if fresh { "sent" } else { "duplicate" }.into();
                Some(serial)
            }
        };
        s.received.sms.push(record.clone());
        (fate, serial)
    };
    let serial = match (&fate, serial) {
        (Fate::Fail, _) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                tencent_error("InternalError.Timeout", "simulated outage"),
            )
        }
        (_, None) => {
            return (
                StatusCode::OK,
                tencent_error(
                    "AuthFailure.SignatureFailure",
                    "The provided credentials could not be validated.",
                ),
            )
        }
        (_, Some(serial)) => serial,
    };
    fate.wait().await;
    let statuses: Vec<Value> = record
        .phone_numbers
        .iter()
        .map(|p| {
            json!({"SerialNo": serial, "PhoneNumber": p, "Fee": 1, "SessionContext": key,
                   "Code": "Ok", "Message": "send success", "IsoCode": "CN"})
        })
        .collect();
    (
        StatusCode::OK,
        Json(json!({"Response": {"SendStatusSet": statuses,
                                 "RequestId": uuid::Uuid::now_v7().to_string()}})),
    )
}

async fn receive_webhook(
    State(sim): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let key = header(&headers, IDEMPOTENCY_HEADER).to_string();
    let secret = lock(&sim.state)
        .webhook_secrets
        .get(&name)
        .cloned()
        .unwrap_or_default();
    let signature_valid = verify(
        &secret,
        header(&headers, SIGNATURE_HEADER),
        &body,
        chrono::Utc::now().timestamp(),
    )
    .is_ok();
    let mut record = WebhookRequest {
        endpoint: name,
        idempotency_key: key.clone(),
        signature_valid,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        outcome: String::new(),
    };
    // Drawn and recorded under one lock: recorded in the order of fates.
    let (fate, status) = {
        let mut s = lock(&sim.state);
        let fate = fate_of(&mut s);
        let seen = s
            .received
            .webhooks
            .iter()
            .any(|w| w.idempotency_key == key && w.outcome == "accepted");
        let (outcome, status) = match (&fate, signature_valid, seen) {
            (Fate::Fail, _, _) => ("failed", StatusCode::SERVICE_UNAVAILABLE),
            (_, false, _) => ("refused", StatusCode::UNAUTHORIZED),
            (_, true, true) => ("duplicate", StatusCode::OK),
            (_, true, false) => ("accepted", StatusCode::OK),
        };
        record.outcome = outcome.into();
        s.received.webhooks.push(record);
        (fate, status)
    };
    fate.wait().await;
    status
}

fn nuonuo_answer(code: &str, describe: &str, result: Value) -> Json<Value> {
    Json(json!({ "code": code, "describe": describe, "result": result }))
}

/// A Nuonuo open-platform call: the `method` header says which.
/// WeChat's `GET /cgi-bin/token?grant_type=client_credential&appid&secret`:
/// a new access_token (7 200 s) for the account's AppID and AppSecret.
async fn wechat_token(
    State(sim): State<Shared>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Json<Value> {
    let p = |k: &str| q.get(k).cloned().unwrap_or_default();
    let mut s = lock(&sim.state);
    let valid = p("grant_type") == "client_credential"
        && !s.wechat.appid.is_empty()
        && p("appid") == s.wechat.appid
        && p("secret") == s.wechat.appsecret;
    s.received.wechat_tokens.push(valid);
    if !valid {
        return Json(json!({"errcode": 40125, "errmsg": "invalid appsecret"}));
    }
    let token = format!("sim-wechat-token-{}", s.wechat_tokens_issued.len() + 1);
    s.wechat_tokens_issued.push(token.clone());
    Json(json!({"access_token": token, "expires_in": 7200}))
}

/// WeChat's `POST /cgi-bin/message/template/send?access_token=…`.
async fn wechat_send(
    State(sim): State<Shared>,
    Query(q): Query<BTreeMap<String, String>>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut s = lock(&sim.state);
    let fate = fate_of(&mut s);
    let token_valid = q
        .get("access_token")
        .is_some_and(|t| s.wechat_tokens_issued.contains(t));
    let touser = body["touser"].as_str().unwrap_or_default().to_string();
    let mut record = WechatMessage {
        touser: touser.clone(),
        template_id: body["template_id"].as_str().unwrap_or_default().into(),
        data: body["data"].clone(),
        token_valid,
        outcome: String::new(),
    };
    let answer = if let Fate::Fail = fate {
        record.outcome = "failed".into();
        s.received.wechat_messages.push(record);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"errcode": -1, "errmsg": "system error"})),
        );
    } else if !token_valid {
        record.outcome = "refused".into();
        json!({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"})
    } else if s.wechat.unfollowed.contains(&touser) {
        record.outcome = "refused".into();
        json!({"errcode": 43004, "errmsg": "require subscribe"})
    } else if record.template_id.is_empty() || touser.is_empty() {
        record.outcome = "refused".into();
        json!({"errcode": 40037, "errmsg": "invalid template_id"})
    } else {
        record.outcome = "sent".into();
        json!({"errcode": 0, "errmsg": "ok", "msgid": 200228332 + s.received.wechat_messages.len()})
    };
    s.received.wechat_messages.push(record);
    (StatusCode::OK, Json(answer))
}

/// Nuonuo's OAuth token endpoint (`grant_type=client_credentials`): the
/// account's accessToken for its app key and secret, valid a day.
async fn nuonuo_token(
    State(sim): State<Shared>,
    body: axum::body::Bytes,
) -> (StatusCode, Json<Value>) {
    let params: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let p = |k: &str| params.get(k).cloned().unwrap_or_default();
    let mut s = lock(&sim.state);
    let account = s.invoice_account.clone();
    let valid = p("client_id") == account.app_key
        && p("client_secret") == account.app_secret
        && p("grant_type") == "client_credentials";
    s.received.invoice_tokens.push(valid);
    if valid {
        (
            StatusCode::OK,
            Json(json!({"access_token": account.access_token, "expires_in": 86400})),
        )
    } else {
        (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"error": "invalid_client", "error_description": "client_id or client_secret is wrong"}),
            ),
        )
    }
}

async fn nuonuo_call(
    State(sim): State<Shared>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, Json<Value>) {
    let text = String::from_utf8_lossy(&body).to_string();
    let content: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let account = lock(&sim.state).invoice_account.clone();
    let q = |k: &str| query.get(k).map(String::as_str).unwrap_or_default();
    let timestamp: i64 = q("timestamp").parse().unwrap_or(0);
    let expected = nuonuo::sign(
        "/open/v1/services",
        &account.app_secret,
        &account.app_key,
        q("senid"),
        q("nonce"),
        timestamp,
        &text,
    );
    let signature_valid = header(&headers, "X-Nuonuo-Sign") == expected
        && q("appkey") == account.app_key
        && header(&headers, "accessToken") == account.access_token
        && q("senid").len() == 32;
    let method = header(&headers, "method").to_string();
    // Drawn and recorded under one lock: recorded in the order of fates.
    let (fate, answer) = {
        let mut s = lock(&sim.state);
        let fate = fate_of(&mut s);
        let answer = if method == ISSUE_METHOD {
            issue_invoice(&mut s, &headers, &content, signature_valid, &fate)
        } else if method == QUERY_METHOD {
            query_invoice(&mut s, &content, signature_valid, &fate)
        } else {
            (
                StatusCode::OK,
                nuonuo_answer("E9999", "unknown method", Value::Null),
            )
        };
        (fate, answer)
    };
    fate.wait().await;
    answer
}

fn issue_invoice(
    s: &mut SimState,
    headers: &HeaderMap,
    content: &Value,
    signature_valid: bool,
    fate: &Fate,
) -> (StatusCode, Json<Value>) {
    let order = &content["order"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let line = &order["invoiceDetail"][0];
    let mut record = InvoiceIssueRequest {
        idempotency_key: header(headers, IDEMPOTENCY_HEADER).to_string(),
        order_no: text(&order["orderNo"]),
        buyer_name: text(&order["buyerName"]),
        buyer_tax_num: text(&order["buyerTaxNum"]),
        buyer_phone: text(&order["buyerPhone"]),
        email: text(&order["email"]),
        push_mode: text(&order["pushMode"]),
        saler_tax_num: text(&order["salerTaxNum"]),
        amount: text(&line["taxIncludedAmount"]),
        tax_rate: text(&line["taxRate"]),
        signature_valid,
        outcome: String::new(),
        serial: None,
    };
    if let Fate::Fail = fate {
        record.outcome = "failed".into();
        s.received.invoices.push(record);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            nuonuo_answer("E9999", "simulated outage", Value::Null),
        );
    }
    if !signature_valid {
        record.outcome = "refused".into();
        s.received.invoices.push(record);
        return (
            StatusCode::OK,
            nuonuo_answer("E1008", "签名验证失败", Value::Null),
        );
    }
    let n = s.invoice_orders.len() + 1;
    let (serial, fresh) = match s.invoice_orders.get(&record.order_no) {
        Some(serial) => (serial.clone(), false),
        None => (format!("2607{n:016}"), true),
    };
    if fresh {
        s.invoice_orders
            .insert(record.order_no.clone(), serial.clone());
    }
    record.outcome = if fresh { "taken" } else { "duplicate" }.into();
    record.serial = Some(serial.clone());
    s.received.invoices.push(record);
    (
        StatusCode::OK,
        nuonuo_answer(
            OK_CODE,
            "开票提交成功",
            json!({ "invoiceSerialNum": serial }),
        ),
    )
}

fn query_invoice(
    s: &mut SimState,
    content: &Value,
    signature_valid: bool,
    fate: &Fate,
) -> (StatusCode, Json<Value>) {
    let serial = content["serialNos"][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut record = InvoiceQuery {
        serial: serial.clone(),
        signature_valid,
        outcome: String::new(),
        invoice_number: None,
    };
    if let Fate::Fail = fate {
        record.outcome = "failed".into();
        s.received.invoice_queries.push(record);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            nuonuo_answer("E9999", "simulated outage", Value::Null),
        );
    }
    if !signature_valid {
        record.outcome = "refused".into();
        s.received.invoice_queries.push(record);
        return (
            StatusCode::OK,
            nuonuo_answer("E1008", "签名验证失败", Value::Null),
        );
    }
    let Some(order_no) = s
        .invoice_orders
        .iter()
        .find(|(_, v)| **v == serial)
        .map(|(k, _)| k.clone())
    else {
        record.outcome = "unknown".into();
        s.received.invoice_queries.push(record);
        return (
            StatusCode::OK,
            nuonuo_answer(OK_CODE, "获取成功", json!([])),
        );
    };
    let base = json!({"serialNo": serial, "orderNo": order_no});
    let mut invoice = base.clone();
    if s.behaviour.invoice_issuing_polls > 0 {
        s.behaviour.invoice_issuing_polls -= 1;
        record.outcome = "issuing".into();
        invoice["status"] = json!("20");
        invoice["statusMsg"] = json!("开票中");
    } else if let Some(cause) = s.behaviour.invoice_fail_cause.clone() {
        record.outcome = "not_issued".into();
        invoice["status"] = json!("22");
        invoice["statusMsg"] = json!("开票失败");
        invoice["failCause"] = json!(cause);
    } else {
        let n = s.invoices_issued.len() + 1;
        let number = s
            .invoices_issued
            .entry(serial.clone())
            .or_insert_with(|| format!("2431{n:016}"))
            .clone();
        record.outcome = "issued".into();
        record.invoice_number = Some(number.clone());
        invoice["status"] = json!("2");
        invoice["statusMsg"] = json!("开票完成（最终状态）");
        invoice["invoiceNo"] = json!(number);
        invoice["invoiceCode"] = json!("");
    }
    s.received.invoice_queries.push(record);
    (
        StatusCode::OK,
        nuonuo_answer(OK_CODE, "获取成功", json!([invoice])),
    )
}

fn privacy_answer(code: &str, message: &str) -> Json<Value> {
    Json(json!({"Code": code, "Message": message, "RequestId": uuid::Uuid::now_v7().to_string()}))
}

/// An Alibaba Cloud privacy-number call (RPC style, form-encoded body).
async fn privacy_call(
    State(sim): State<Shared>,
    body: axum::body::Bytes,
) -> (StatusCode, Json<Value>) {
    let params: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let p = |k: &str| params.get(k).cloned().unwrap_or_default();
    let account = lock(&sim.state).privacy_account.clone();
    let expected = aliyun_pls::sign("POST", &params, &account.access_key_secret);
    let signature_valid = p("Signature") == expected
        && p("AccessKeyId") == account.access_key_id
        && p("Version") == aliyun_pls::VERSION
        && p("SignatureMethod") == "HMAC-SHA1"
        && p("SignatureVersion") == "1.0"
        && !p("SignatureNonce").is_empty()
        && p("Format") == "JSON";
    let mut record = PrivacyRequest {
        action: p("Action"),
        pool_key: p("PoolKey"),
        phone_a: p("PhoneNoA"),
        phone_b: p("PhoneNoB"),
        expiration: p("Expiration"),
        out_id: p("OutId"),
        out_order_id: p("OutOrderId"),
        subs_id: params.get("SubsId").cloned(),
        secret_no: params.get("SecretNo").cloned(),
        signature_valid,
        outcome: String::new(),
    };
    // Drawn and recorded under one lock: recorded in the order of fates.
    let (fate, answer) = {
        let mut s = lock(&sim.state);
        let fate = fate_of(&mut s);
        if let Fate::Fail = fate {
            record.outcome = "failed".into();
            s.received.privacy.push(record);
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                privacy_answer("ServiceUnavailable", "simulated outage"),
            );
        }
        if !signature_valid {
            record.outcome = "refused".into();
            s.received.privacy.push(record);
            return (
                StatusCode::BAD_REQUEST,
                privacy_answer(
                    "SignatureDoesNotMatch",
                    "Specified signature is not matched with our calculation.",
                ),
            );
        }
        let answer = match record.action.as_str() {
            "BindAxb" => {
                let known = s.privacy_by_out_id.get(&record.out_id).cloned();
                let live = known
                    .as_ref()
                    .and_then(|k| s.privacy_bindings.get(k).cloned());
                let bound = match (known, live) {
                    (Some(subs), Some((x, _))) => Some((subs, x, "duplicate")),
                    _ => {
                        let used: std::collections::BTreeSet<String> = s
                            .privacy_bindings
                            .values()
                            .map(|(x, _)| x.clone())
                            .collect();
                        (0..PRIVACY_POOL_SIZE)
                            .map(|i| format!("170{i:08}"))
                            .find(|x| !used.contains(x))
                            .map(|x| {
                                let subs = format!("1000{:012}", s.privacy_by_out_id.len() + 1);
                                (subs, x, "bound")
                            })
                    }
                };
                match bound {
                    Some((subs, x, outcome)) => {
                        s.privacy_bindings
                            .insert(subs.clone(), (x.clone(), record.out_id.clone()));
                        s.privacy_by_out_id
                            .insert(record.out_id.clone(), subs.clone());
                        record.subs_id = Some(subs.clone());
                        record.secret_no = Some(x.clone());
                        record.outcome = outcome.into();
                        Json(
                            json!({"Code": "OK", "Message": "OK", "RequestId": uuid::Uuid::now_v7().to_string(),
                                "SecretBindDTO": {"SubsId": subs, "SecretNo": x, "Extension": ""}}),
                        )
                    }
                    None => {
                        record.outcome = "refused".into();
                        privacy_answer("isv.NO_AVAILABLE_NUMBER", "no number left in the pool")
                    }
                }
            }
            "UnbindSubscription" => {
                let subs = p("SubsId");
                let matches = s
                    .privacy_bindings
                    .get(&subs)
                    .is_some_and(|(x, _)| *x == p("SecretNo"));
                if matches {
                    s.privacy_bindings.remove(&subs);
                    record.outcome = "unbound".into();
                } else {
                    // Already released: the provider answers OK again.
                    record.outcome = "unknown".into();
                }
                Json(json!({"Code": "OK", "Message": "OK", "ChargeId": "true",
                        "RequestId": uuid::Uuid::now_v7().to_string()}))
            }
            "UpdateSubscription" => {
                let subs = p("SubsId");
                let live = s
                    .privacy_bindings
                    .get(&subs)
                    .is_some_and(|(x, _)| *x == p("PhoneNoX"));
                record.secret_no = params.get("PhoneNoX").cloned();
                if !live {
                    record.outcome = "refused".into();
                    privacy_answer("isv.NO_SUBS_EXIST", "no such binding")
                } else if p("OperateType") != "updateExpire" || p("Expiration").is_empty() {
                    record.outcome = "refused".into();
                    privacy_answer("isv.INVALID_PARAMETERS", "OperateType or Expiration")
                } else {
                    record.outcome = "renewed".into();
                    Json(json!({"Code": "OK", "Message": "OK", "Chargeld": "false",
                            "RequestId": uuid::Uuid::now_v7().to_string()}))
                }
            }
            other => {
                record.outcome = "refused".into();
                privacy_answer(
                    "InvalidAction.NotFound",
                    &format!("no such action: {other}"),
                )
            }
        };
        s.received.privacy.push(record);
        (fate, answer)
    };
    fate.wait().await;
    (StatusCode::OK, answer)
}

async fn set_privacy_account(
    State(sim): State<Shared>,
    Json(a): Json<PrivacyAccount>,
) -> StatusCode {
    lock(&sim.state).privacy_account = a;
    StatusCode::NO_CONTENT
}

async fn received(State(sim): State<Shared>) -> Json<Received> {
    Json(lock(&sim.state).received.clone())
}

async fn set_behaviour(State(sim): State<Shared>, Json(b): Json<Behaviour>) -> StatusCode {
    lock(&sim.state).behaviour = b;
    StatusCode::NO_CONTENT
}

async fn set_invoice_account(
    State(sim): State<Shared>,
    Json(a): Json<InvoiceAccount>,
) -> StatusCode {
    lock(&sim.state).invoice_account = a;
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct SecretBody {
    secret: String,
}

async fn set_webhook_secret(
    State(sim): State<Shared>,
    Path(name): Path<String>,
    Json(b): Json<SecretBody>,
) -> StatusCode {
    lock(&sim.state).webhook_secrets.insert(name, b.secret);
    StatusCode::NO_CONTENT
}
