//! Pay by QR at the door over HTTP (`domain::qr_payments`): a technician's
//! device asks for a provider's native-pay order (`POST
//! /api/sync/qr-payments`) and asks after it (`GET
//! /api/sync/qr-payments/{payment_id}`); the providers tell us of a payment
//! (`POST /api/payments/wechat-pay/notify`, `POST
//! /api/payments/alipay/notify` — no bearer token: their signatures are the
//! credentials); the console lists a work order's orders (`GET
//! /api/assignments/{id}/qr-payments`).

use crate::app::AppState;
use crate::auth::Principal;
use crate::domain::qr_payments::{
    self as domain, CreateRefused, NoticeOutcome, OrderSettings, PaidNotice, QrPaymentView,
};
use crate::failure::Failure;
use crate::http::auth::Auth;
use crate::http::error::{read_body, require_json_media_type, ApiError, ApiResult};
use crate::http::sync::parse_versioned;
use crate::outbox::alipay::{self, AlipayNotice};
use crate::outbox::wechat_pay::NotifyHeaders;
use crate::store::assignments;
use crate::time::now_ms;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use doorstep_core::money::format_yuan;
use doorstep_core::qr_payment::{QrPaymentOrder, QrPaymentRequest, QrProvider};
use serde_json::json;

fn device_of(who: &Principal) -> ApiResult<(String, String)> {
    match who {
        Principal::Device {
            device_id,
            technician_id,
        } => Ok((device_id.clone(), technician_id.clone())),
        Principal::User { .. } => Err(ApiError::forbidden(
            "QR payments are asked for by the technician's enrolled device: use a device token",
        )
        .zh("二维码收款须由技师已登记的手机发起：请使用设备令牌。")),
    }
}

fn not_yours() -> ApiError {
    ApiError::forbidden("this work order is not assigned to this device's technician")
        .zh("该工单未派给本机的技师。")
}

/// Asks for a provider's native-pay order of what the visit owes.
#[utoipa::path(
    post, path = "/api/sync/qr-payments", tag = "sync", security(("device" = [])),
    request_body = crate::api_schema::QrPaymentRequest,
    responses(
        (status = 201, description = "A new order, `creating`: the provider's order is being created through the outbox; ask after it until `code_url` is there", body = crate::api_schema::QrPaymentOrder),
        (status = 200, description = "An identical open order (same visit, provider and amount) answered again", body = crate::api_schema::QrPaymentOrder),
        (status = 403, description = "The work order is not the device's technician's"),
        (status = 422, description = "amount_not_due: the amount is not what the visit owes (`field` amount, `amount_due` in fen, `amount_due_shown`); unknown_visit: the server holds no such visit of the work order (sync first)"),
    )
)]
pub async fn create_qr_payment(
    State(state): State<AppState>,
    Auth(who): Auth,
    req: Request,
) -> ApiResult<(StatusCode, Json<QrPaymentOrder>)> {
    let (device, technician) = device_of(&who)?;
    let headers = req.headers().clone();
    let bytes = read_body(req, &state).await?;
    require_json_media_type(&headers)?;
    let ask = parse_versioned(&bytes, |a: &QrPaymentRequest| a.protocol_version)?;
    let p = &state.providers;
    let settings = OrderSettings {
        expiry_ms: p.qr_payment_expiry_minutes.saturating_mul(60_000),
        subject: p.qr_payment_subject.clone(),
    };
    let zone = state.zone.clone();
    let (order, fresh) = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                domain::create_order(tx, &settings, &zone, &device, &technician, &ask, now_ms())
                    .await
                    .map_err(refusal)
            })
        })
        .await?;
    tracing::info!(payment = %order.payment_id, provider = order.provider.code(), fresh, "QR payment asked for");
    let status = if fresh {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(order)))
}

fn refusal(r: CreateRefused) -> ApiError {
    match r {
        CreateRefused::NotDue { asked, due } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_not_due",
            format!(
                "amount: {asked} fen is not what the visit owes; the amount due is {due} fen ({}): ask for exactly that",
                format_yuan(due)
            ),
        )
        .zh(format!(
            "金额：{asked} 分不是本次上门应收的金额；应收 {due} 分（{}），请按应收金额收款。",
            format_yuan(due)
        ))
        .with("field", "amount")
        .with("amount_due", due)
        .with("amount_due_shown", format_yuan(due)),
        CreateRefused::UnknownVisit => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_visit",
            "visit_id: the server holds no such visit of this work order: sync the visit first",
        )
        .zh("visit_id：服务器上没有该工单的这次上门记录，请先同步。")
        .with("field", "visit_id"),
        CreateRefused::NotYours => not_yours(),
        CreateRefused::Other(f) => f.into(),
    }
}

/// The order as the server holds it now (the device's technician's only).
#[utoipa::path(
    get, path = "/api/sync/qr-payments/{payment_id}", tag = "sync", security(("device" = [])),
    params(("payment_id" = String, Path, description = "The order's payment_id")),
    responses(
        (status = 200, description = "The order now: creating, awaiting_payment (with code_url), paid (with the provider's transaction), closed (expired or replaced) or failed (with why)", body = crate::api_schema::QrPaymentOrder),
        (status = 403, description = "The order is another technician's"),
        (status = 404, description = "No such order"),
    )
)]
pub async fn get_qr_payment(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<QrPaymentOrder>> {
    let (_, technician) = device_of(&who)?;
    let order = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let Some(row) = domain::current(tx, &id, now_ms()).await? else {
                    return Err(ApiError::not_found("QR payment", &id)
                        .zh(format!("没有编号为 {id} 的收款订单。")));
                };
                if row.technician_id != technician {
                    return Err(ApiError::forbidden(
                        "this QR payment was asked for by another technician",
                    )
                    .zh("该收款订单属于其他技师。"));
                }
                domain::order_of(&row).map_err(ApiError::from)
            })
        })
        .await?;
    Ok(Json(order))
}

/// A work order's QR payments, for the console.
#[utoipa::path(
    get, path = "/api/assignments/{id}/qr-payments", tag = "payments", security(("session" = [])),
    params(("id" = String, Path, description = "The assignment's id")),
    responses((status = 200, description = "Its QR payment orders, newest first: provider, amount (amount_shown formatted by the server), state with its labels, paid time and the provider's transaction number", body = Vec<QrPaymentView>))
)]
pub async fn assignment_qr_payments(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<QrPaymentView>>> {
    who.dispatcher()?;
    let rows = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                if !assignments::exists(tx, &id).await? {
                    return Err(Failure::not_found("assignment", &id));
                }
                domain::views_of_assignment(tx, &id, now_ms()).await
            })
        })
        .await?;
    Ok(Json(rows))
}

/// Applies a checked notification, logs and counts it; `Err(reason)` when
/// refused.
async fn settle(
    state: &AppState,
    provider: QrProvider,
    checked: Result<PaidNotice, (Option<String>, String)>,
) -> ApiResult<Result<NoticeOutcome, String>> {
    let now = now_ms();
    let outcome = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let (no, outcome) = match checked {
                    Ok(n) => (
                        Some(n.out_trade_no.clone()),
                        domain::confirm_paid(tx, &n, domain::PaidVia::Notification, now).await?,
                    ),
                    Err((no, why)) => (no, Err(why)),
                };
                domain::log_notification(
                    tx,
                    provider,
                    no.as_deref(),
                    outcome.as_ref().map_err(String::as_str),
                    now,
                )
                .await?;
                Ok::<_, Failure>(outcome)
            })
        })
        .await?;
    let label = match &outcome {
        Ok(NoticeOutcome::Paid) => "paid",
        Ok(NoticeOutcome::Repeated) => "repeated",
        Err(why) => {
            tracing::warn!(provider = provider.code(), reason = %why, "payment notification refused");
            "refused"
        }
    };
    state.metrics.payment_notification(provider.code(), label);
    Ok(outcome)
}

/// WeChat Pay's refusal shape (`{"code": "FAIL", "message"}`), which also
/// carries the server's usual `error` object (so the edge keeps it as is).
fn wechat_fail(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({
            "code": "FAIL",
            "message": message,
            "error": {
                "code": "notification_refused",
                "message": format!("payment notification refused: {message}"),
                "message_zh": format!("支付通知被拒收：{message}。"),
            },
        })),
    )
        .into_response()
}

/// WeChat Pay's payment notification (its signature is the credential).
#[utoipa::path(
    post, path = "/api/payments/wechat-pay/notify", tag = "payments", security(()),
    request_body(content = serde_json::Value, description = "WeChat Pay API v3's notification: {id, create_time, event_type TRANSACTION.SUCCESS, resource_type encrypt-resource, resource {algorithm AEAD_AES_256_GCM, ciphertext, associated_data, nonce, original_type transaction}}, signed in Wechatpay-Timestamp / -Nonce / -Signature / -Serial"),
    responses(
        (status = 204, description = "Taken: the order is paid (or was already: nothing changed)"),
        (status = 401, description = "{\"code\":\"FAIL\"}: the signature does not verify or the timestamp is more than 5 minutes off; nothing changed"),
        (status = 400, description = "{\"code\":\"FAIL\"}: the notification does not open, is for another merchant, an unknown order, or another amount; nothing changed"),
    )
)]
pub async fn wechat_pay_notify(State(state): State<AppState>, req: Request) -> Response {
    let headers = req.headers().clone();
    let body = match read_body(req, &state).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let h = |name: &str| header(&headers, name);
    let notify = NotifyHeaders {
        timestamp: h("Wechatpay-Timestamp"),
        nonce: h("Wechatpay-Nonce"),
        signature: h("Wechatpay-Signature"),
        serial: h("Wechatpay-Serial"),
    };
    let adapter = crate::outbox::wechat_pay_of(&state.providers, unused_client());
    let opened = adapter.open_notification(&notify, &body, chrono::Utc::now());
    let signature_problem = matches!(&opened, Err(e) if e.contains("Wechatpay-"));
    let checked = opened
        .map(|t| PaidNotice {
            provider: QrProvider::WechatPay,
            out_trade_no: t.out_trade_no,
            transaction_id: t.transaction_id,
            amount: t.total,
            paid_at: t.success_time.timestamp_millis(),
        })
        .map_err(|why| (None, why));
    match settle(&state, QrProvider::WechatPay, checked).await {
        Ok(Ok(_)) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(why)) if signature_problem => wechat_fail(StatusCode::UNAUTHORIZED, &why),
        Ok(Err(why)) => wechat_fail(StatusCode::BAD_REQUEST, &why),
        Err(e) => {
            tracing::error!(error = %e.message, "recording a WeChat Pay notification");
            wechat_fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the server failed; retry later",
            )
        }
    }
}

/// Alipay's asynchronous notification (form; its RSA2 signature is the credential).
#[utoipa::path(
    post, path = "/api/payments/alipay/notify", tag = "payments", security(()),
    request_body(content = crate::api_schema::AlipayNotificationForm, content_type = "application/x-www-form-urlencoded", description = "Alipay's notification parameters (notify_id, app_id, out_trade_no, trade_no, trade_status, total_amount, gmt_payment, …, sign_type RSA2, sign)"),
    responses((status = 200, description = "The plain text `success` (the order is paid, or was already) or `failure` (the signature, app_id, trade status, order or amount is wrong; nothing changed)", body = String, content_type = "text/plain"))
)]
pub async fn alipay_notify(State(state): State<AppState>, req: Request) -> Response {
    let body = match read_body(req, &state).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let adapter = crate::outbox::alipay_of(&state.providers, unused_client());
    let checked = adapter
        .open_notification(&params)
        .map(|n: AlipayNotice| PaidNotice {
            provider: QrProvider::Alipay,
            out_trade_no: n.out_trade_no,
            transaction_id: n.trade_no,
            amount: n.total_fen,
            paid_at: n.paid_at.timestamp_millis(),
        })
        .map_err(|why| (alipay::out_trade_no_of(&params), why));
    let text = match settle(&state, QrProvider::Alipay, checked).await {
        Ok(Ok(_)) => "success",
        _ => "failure",
    };
    (
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// The HTTP client the adapters hold; checking a notification never calls
/// out, so one is made once and shared.
fn unused_client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(reqwest::Client::new).clone()
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}
