//! Pay by QR at the door against the payment providers' simulator over real
//! HTTP: an order is created at the provider through the outbox and the
//! simulator's signed notification marks it paid once; forged notifications
//! (wrong key, tampered amount, stale timestamp) are refused and change
//! nothing; an amount that is not due is refused naming the field; another
//! technician's device can neither ask nor read; an outage is retried; the
//! same for Alipay; and what the visit's payment claims is reconciled.

use crate::both_backends;
use crate::harness::{assignment, device, numbered, Backend, Srv};
use chrono::Utc;
use doorstep_core::qr_payment::{QrPaymentRef, QrProvider};
use doorstep_core::signoff::Ratings;
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::workflow::command::{PaymentMethod, ReceiptRecord, VisitCommand};
use doorstep_core::Playbook;
use doorstep_server::app::Config;
use doorstep_server::outbox::simulator::payments::{AlipayAccount, Forgery, WechatPayAccount};
use doorstep_server::outbox::simulator::{Behaviour, SimulatedAccount, Simulator};
use doorstep_server::outbox::Worker;
use doorstep_server::providers::ProviderSettings;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

both_backends!(
    a_wechat_order_is_created_through_the_outbox_and_paid_once_by_the_signed_notification,
    a_forged_wechat_notification_is_refused_and_changes_nothing,
    an_amount_that_is_not_due_is_refused_naming_the_amount_due,
    another_technicians_device_can_neither_ask_nor_read,
    a_provider_outage_is_retried_then_the_order_is_created,
    an_alipay_order_is_paid_once_and_a_forged_alipay_notification_refused,
    an_identical_open_order_is_answered_again_and_another_provider_replaces_it,
    reconciliation_flags_a_qr_payment_the_provider_did_not_confirm,
    a_deferred_payment_reaches_the_desk_queue_with_its_amount,
    an_order_past_its_expiry_reads_closed_and_a_new_one_can_be_asked_for,
    an_order_the_provider_refuses_fails_with_the_reason,
    a_payment_whose_notification_was_lost_is_found_by_the_order_query,
    an_order_the_provider_closed_unpaid_is_closed_by_the_order_query,
);

fn keys() -> PathBuf {
    crate::harness::crate_dir().join("test-keys")
}

async fn simulator() -> Simulator {
    let sim = Simulator::spawn(
        "127.0.0.1:0".parse().unwrap(),
        SimulatedAccount {
            secret_id: "unused".into(),
            secret_key: "unused".into(),
        },
    )
    .await
    .unwrap();
    sim.set_payment_accounts(
        Some(WechatPayAccount::from_key_dir(&keys()).unwrap()),
        Some(AlipayAccount::from_key_dir(&keys()).unwrap()),
    );
    sim
}

/// The merchant settings of the committed test keys, against `sim`.
pub fn providers(sim: &Simulator) -> ProviderSettings {
    let w = WechatPayAccount::from_key_dir(&keys()).unwrap();
    let a = AlipayAccount::from_key_dir(&keys()).unwrap();
    ProviderSettings {
        wechat_pay_endpoint: sim.url(),
        wechat_pay_mchid: Some(w.mchid),
        wechat_pay_appid: Some(w.appid),
        wechat_pay_serial_no: Some("MERCHANT-SERIAL-TEST".into()),
        wechat_pay_private_key_file: Some(keys().join("wechat-pay-merchant.pem")),
        wechat_pay_public_key_file: Some(keys().join("wechat-pay-platform.pub.pem")),
        wechat_pay_api_v3_key: Some(w.api_v3_key),
        alipay_gateway: format!("{}/gateway.do", sim.url()),
        alipay_app_id: Some(a.app_id),
        alipay_private_key_file: Some(keys().join("alipay-app.pem")),
        alipay_public_key_file: Some(keys().join("alipay-platform.pub.pem")),
        outbox_retry_base_ms: 100,
        outbox_lease_secs: 5,
        provider_timeout_secs: 5,
        ..ProviderSettings::default()
    }
}

/// The server, the simulator, and a worker whose orders name the server's
/// notify URL.
async fn start(b: Backend) -> (Srv, Simulator, Arc<Worker>) {
    let sim = simulator().await;
    let s = Srv::start_with_providers(b, Config::default(), providers(&sim)).await;
    let worker = worker_of(&s);
    (s, sim, worker)
}

fn worker_of(s: &Srv) -> Arc<Worker> {
    let mut state = s.state.clone();
    state.providers = Arc::new(ProviderSettings {
        payment_notify_base_url: Some(s.base.clone()),
        ..(*state.providers).clone()
    });
    Arc::new(Worker::new(state))
}

/// A visit of T-1's with its quote accepted and nothing paid, on the
/// server; returns the assignment, the device, its token, the walkthrough.
async fn visit_due(s: &Srv, who: &str) -> (Value, String, String, Walkthrough) {
    let (dev, token) = s.technician(who, &["appliance_repair"]).await;
    let a = s.assignment("appliance_repair", Some(who)).await;
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let mut w = Walkthrough::new(&pb, &assignment(&a), &device(&dev), Utc::now());
    w.go(None).repair();
    let (st, r) = s.push(&token, &dev, &numbered(&w.events, 1)).await;
    assert_eq!(st, 200, "{r}");
    assert!(w.state.amount_due().unwrap() > 0);
    (a, dev, token, w)
}

fn ask(a: &Value, w: &Walkthrough, provider: &str, amount: i64) -> Value {
    json!({
        "protocol_version": 1,
        "assignment_id": a["id"],
        "visit_id": w.state.visit_id.unwrap().to_string(),
        "provider": provider,
        "amount": amount,
    })
}

fn due(w: &Walkthrough) -> i64 {
    w.state.amount_due().unwrap()
}

/// Runs worker rounds until the order leaves `creating` (at most ~20 s).
async fn rounds_until_created(worker: &Arc<Worker>, s: &Srv, token: &str, id: &str) -> Value {
    for _ in 0..200 {
        worker.run_once().await.expect("an outbox round");
        let (st, o) = s.get(&format!("/api/sync/qr-payments/{id}"), token).await;
        assert_eq!(st, 200, "{o}");
        if o["state"] != "creating" {
            return o;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the order was never created");
}

async fn order_now(s: &Srv, token: &str, id: &str) -> Value {
    let (st, o) = s.get(&format!("/api/sync/qr-payments/{id}"), token).await;
    assert_eq!(st, 200, "{o}");
    o
}

/// The work order's QR payments as the console lists them.
async fn desk_list(s: &Srv, a: &Value) -> Value {
    let (st, list) = s
        .get(
            &format!("/api/assignments/{}/qr-payments", a["id"].as_str().unwrap()),
            &s.dispatcher,
        )
        .await;
    assert_eq!(st, 200, "{list}");
    list
}

async fn notifications(s: &Srv) -> Vec<(String, String)> {
    s.state
        .db
        .read(|tx| {
            Box::pin(
                async move { doorstep_server::store::qr_payments::notifications(tx, 100).await },
            )
        })
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.outcome, n.reason.unwrap_or_default()))
        .collect()
}

async fn a_wechat_order_is_created_through_the_outbox_and_paid_once_by_the_signed_notification(
    b: Backend,
) {
    let (s, sim, worker) = start(b).await;
    let (a, _dev, token, w) = visit_due(&s, "T-1").await;
    let (st, o) = s
        .post(
            "/api/sync/qr-payments",
            &token,
            ask(&a, &w, "wechat_pay", due(&w)),
        )
        .await;
    assert_eq!(st, 201, "{o}");
    // Never inline: the answer is `creating`, nothing reached the provider.
    assert_eq!(o["state"], "creating", "{o}");
    assert!(sim.received().qr_orders.is_empty());
    let no = o["out_trade_no"].as_str().unwrap().to_string();
    assert!(no.len() <= 32 && no.starts_with("DS"), "{no}");
    assert!(no.chars().all(|c| c.is_ascii_alphanumeric()), "{no}");
    let id = o["payment_id"].as_str().unwrap().to_string();
    let created = rounds_until_created(&worker, &s, &token, &id).await;
    assert_eq!(created["state"], "awaiting_payment", "{created}");
    let code_url = created["code_url"].as_str().unwrap();
    assert!(
        code_url.starts_with("weixin://wxpay/bizpayurl?pr="),
        "{code_url}"
    );
    // What WeChat Pay received: one signed native order for the amount due,
    // expiring in China Standard Time, with our notify URL.
    let received = sim.received();
    let r = &received.qr_orders[0];
    assert_eq!(received.qr_orders.len(), 1, "{received:#?}");
    assert!(r.signature_valid);
    assert_eq!(
        (r.out_trade_no.as_str(), r.amount, r.outcome.as_str()),
        (no.as_str(), due(&w), "created")
    );
    assert!(r.time_expire.ends_with("+08:00"), "{}", r.time_expire);
    assert_eq!(
        r.notify_url,
        format!("{}/api/payments/wechat-pay/notify", s.base)
    );
    // The customer pays: the signed, encrypted notification marks it paid.
    let paid = sim.pay("wechat_pay", &no, None).await.unwrap();
    assert_eq!(paid.status, 204, "{}", paid.answer);
    let o = order_now(&s, &token, &id).await;
    assert_eq!(o["state"], "paid", "{o}");
    let transaction = o["provider_transaction_id"].as_str().unwrap().to_string();
    assert!(o["paid_at"].is_string(), "{o}");
    // Notified again: answered success, nothing changes.
    let again = sim.pay("wechat_pay", &no, None).await.unwrap();
    assert_eq!(again.status, 204, "{}", again.answer);
    let o2 = order_now(&s, &token, &id).await;
    assert_eq!(o2, o);
    assert_eq!(
        notifications(&s)
            .await
            .iter()
            .map(|(o, _)| o.as_str())
            .collect::<Vec<_>>(),
        vec!["repeated", "paid"]
    );
    assert_eq!(o2["provider_transaction_id"], transaction);
    // The console lists it paid, the amount formatted by the server.
    let list = desk_list(&s, &a).await;
    assert_eq!(list[0]["state"], "paid");
    assert_eq!(list[0]["state_label"]["zh"], "已支付");
    assert_eq!(list[0]["provider_name"]["zh"], "微信支付");
    assert_eq!(
        list[0]["amount_shown"],
        doorstep_core::money::format_yuan(due(&w))
    );
    let metrics = s.get_text("/metrics", None).await;
    assert!(
        metrics.contains(
            r#"doorstep_payment_notifications_total{provider="wechat_pay",outcome="paid"} 1"#
        ),
        "{metrics}"
    );
}

async fn a_forged_wechat_notification_is_refused_and_changes_nothing(b: Backend) {
    let (s, sim, worker) = start(b).await;
    let (a, _dev, token, w) = visit_due(&s, "T-1").await;
    let (_, o) = s
        .post(
            "/api/sync/qr-payments",
            &token,
            ask(&a, &w, "wechat_pay", due(&w)),
        )
        .await;
    let id = o["payment_id"].as_str().unwrap().to_string();
    let no = o["out_trade_no"].as_str().unwrap().to_string();
    let before = rounds_until_created(&worker, &s, &token, &id).await;
    for (forge, status) in [
        (Forgery::WrongKey, 401),
        (Forgery::StaleTimestamp, 401),
        (Forgery::TamperedAmount, 400),
    ] {
        let r = sim.pay("wechat_pay", &no, Some(forge)).await.unwrap();
        assert_eq!(r.status, status, "{forge:?}: {}", r.answer);
        let answer: Value = serde_json::from_str(&r.answer).unwrap();
        assert_eq!(answer["code"], "FAIL", "{forge:?}");
        assert_eq!(order_now(&s, &token, &id).await, before, "{forge:?}");
    }
    let refused = notifications(&s).await;
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused.iter().all(|(o, _)| o == "refused"), "{refused:?}");
    assert!(
        refused.iter().any(|(_, why)| why.contains("amount")),
        "{refused:?}"
    );
    let metrics = s.get_text("/metrics", None).await;
    assert!(
        metrics.contains(
            r#"doorstep_payment_notifications_total{provider="wechat_pay",outcome="refused"} 3"#
        ),
        "{metrics}"
    );
}

async fn an_amount_that_is_not_due_is_refused_naming_the_amount_due(b: Backend) {
    let (s, sim, _worker) = start(b).await;
    let (a, _dev, token, w) = visit_due(&s, "T-1").await;
    let (st, e) = s
        .post(
            "/api/sync/qr-payments",
            &token,
            ask(&a, &w, "wechat_pay", due(&w) - 1),
        )
        .await;
    assert_eq!(st, 422, "{e}");
    let e = &e["error"];
    assert_eq!(e["code"], "amount_not_due");
    assert_eq!(e["field"], "amount");
    assert_eq!(e["amount_due"], due(&w));
    assert!(
        e["message"].as_str().unwrap().starts_with("amount: "),
        "{e}"
    );
    let zh = e["message_zh"].as_str().unwrap();
    assert!(zh.starts_with("金额：") && zh.ends_with('。'), "{zh}");
    assert!(
        zh.contains(&doorstep_core::money::format_yuan(due(&w))),
        "{zh}"
    );
    assert!(sim.received().qr_orders.is_empty());
}

async fn another_technicians_device_can_neither_ask_nor_read(b: Backend) {
    let (s, _sim, _worker) = start(b).await;
    let (a, _dev, token, w) = visit_due(&s, "T-1").await;
    let (_, other_token) = s.technician("T-2", &["appliance_repair"]).await;
    let (st, e) = s
        .post(
            "/api/sync/qr-payments",
            &other_token,
            ask(&a, &w, "wechat_pay", due(&w)),
        )
        .await;
    assert_eq!(st, 403, "{e}");
    let (st, o) = s
        .post(
            "/api/sync/qr-payments",
            &token,
            ask(&a, &w, "wechat_pay", due(&w)),
        )
        .await;
    assert_eq!(st, 201, "{o}");
    let path = format!(
        "/api/sync/qr-payments/{}",
        o["payment_id"].as_str().unwrap()
    );
    let (st, e) = s.get(&path, &other_token).await;
    assert_eq!(st, 403, "{e}");
    assert!(e["error"]["message_zh"].is_string(), "{e}");
    // A dispatcher's session is no device.
    let (st, _) = s.get(&path, &s.dispatcher).await;
    assert_eq!(st, 403);
}

async fn a_provider_outage_is_retried_then_the_order_is_created(b: Backend) {
    let (s, sim, worker) = start(b).await;
    let (a, _dev, token, w) = visit_due(&s, "T-1").await;
    sim.behave(Behaviour {
        fail_next: 2,
        ..Behaviour::default()
    });
    let (_, o) = s
        .post(
            "/api/sync/qr-payments",
            &token,
            ask(&a, &w, "wechat_pay", due(&w)),
        )
        .await;
    let id = o["payment_id"].as_str().unwrap().to_string();
    let created = rounds_until_created(&worker, &s, &token, &id).await;
    assert_eq!(created["state"], "awaiting_payment", "{created}");
    let outcomes: Vec<String> = sim
        .received()
        .qr_orders
        .iter()
        .map(|r| r.outcome.clone())
        .collect();
    assert_eq!(outcomes, vec!["failed", "failed", "created"]);
    // Every attempt carried the same idempotency key.
    let keys: std::collections::BTreeSet<String> = sim
        .received()
        .qr_orders
        .iter()
        .map(|r| r.idempotency_key.clone())
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
}

async fn an_alipay_order_is_paid_once_and_a_forged_alipay_notification_refused(b: Backend) {
    let (s, sim, worker) = start(b).await;
    let (a, _dev, token, w) = visit_due(&s, "T-1").await;
    let (st, o) = s
        .post(
            "/api/sync/qr-payments",
            &token,
            ask(&a, &w, "alipay", due(&w)),
        )
        .await;
    assert_eq!(st, 201, "{o}");
    let id = o["payment_id"].as_str().unwrap().to_string();
    let no = o["out_trade_no"].as_str().unwrap().to_string();
    let created = rounds_until_created(&worker, &s, &token, &id).await;
    assert_eq!(created["state"], "awaiting_payment", "{created}");
    assert!(created["code_url"]
        .as_str()
        .unwrap()
        .starts_with("https://qr.alipay.com/"));
    let r = &sim.received().qr_orders[0];
    assert!(r.signature_valid);
    assert_eq!(r.amount, due(&w));
    assert_eq!(
        r.notify_url,
        format!("{}/api/payments/alipay/notify", s.base)
    );
    for forge in [Forgery::WrongKey, Forgery::TamperedAmount] {
        let f = sim.pay("alipay", &no, Some(forge)).await.unwrap();
        assert_eq!(f.answer, "failure", "{forge:?}");
        assert_eq!(order_now(&s, &token, &id).await, created, "{forge:?}");
    }
    let paid = sim.pay("alipay", &no, None).await.unwrap();
    assert_eq!(paid.answer, "success");
    let o = order_now(&s, &token, &id).await;
    assert_eq!(o["state"], "paid", "{o}");
    let again = sim.pay("alipay", &no, None).await.unwrap();
    assert_eq!(again.answer, "success");
    assert_eq!(order_now(&s, &token, &id).await, o);
    let outcomes: Vec<String> = notifications(&s)
        .await
        .into_iter()
        .map(|(o, _)| o)
        .collect();
    assert_eq!(outcomes, vec!["repeated", "paid", "refused", "refused"]);
}

async fn an_identical_open_order_is_answered_again_and_another_provider_replaces_it(b: Backend) {
    let (s, _sim, _worker) = start(b).await;
    let (a, _dev, token, w) = visit_due(&s, "T-1").await;
    let (st, first) = s
        .post(
            "/api/sync/qr-payments",
            &token,
            ask(&a, &w, "wechat_pay", due(&w)),
        )
        .await;
    assert_eq!(st, 201, "{first}");
    let (st, again) = s
        .post(
            "/api/sync/qr-payments",
            &token,
            ask(&a, &w, "wechat_pay", due(&w)),
        )
        .await;
    assert_eq!(st, 200, "{again}");
    assert_eq!(again["payment_id"], first["payment_id"]);
    let (st, other) = s
        .post(
            "/api/sync/qr-payments",
            &token,
            ask(&a, &w, "alipay", due(&w)),
        )
        .await;
    assert_eq!(st, 201, "{other}");
    assert_ne!(other["out_trade_no"], first["out_trade_no"]);
    let replaced = order_now(&s, &token, first["payment_id"].as_str().unwrap()).await;
    assert_eq!(replaced["state"], "closed", "{replaced}");
}

/// The technician records the payment as taken by QR on order `no`.
fn collect_by_qr(w: &mut Walkthrough, provider: QrProvider, no: &str) {
    let amount = due(w);
    w.apply(
        5,
        VisitCommand::CollectPayment {
            amount,
            method: PaymentMethod::Mobile,
            receipt: ReceiptRecord::Receipt {
                number: format!("R-{no}"),
            },
            qr: Some(QrPaymentRef {
                provider,
                out_trade_no: no.to_string(),
            }),
        },
        None,
        None,
    )
    .expect("a QR payment is recorded");
}

/// Signs and leaves, pushing everything after the first `pushed` events.
async fn finish(s: &Srv, token: &str, dev: &str, w: &mut Walkthrough, pushed: usize) {
    let mut chain = None;
    w.sign(
        Ratings {
            quality: 5,
            attitude: 5,
        },
        None,
        &mut chain,
    )
    .leave();
    let (st, r) = s
        .push(
            token,
            dev,
            &numbered(&w.events[pushed..], pushed as u64 + 1),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert!(r["refused"].as_array().is_none_or(Vec::is_empty), "{r}");
}

async fn reconciliation_flags_a_qr_payment_the_provider_did_not_confirm(b: Backend) {
    let (s, sim, worker) = start(b).await;
    let (a, dev, token, mut paid) = visit_due(&s, "T-1").await;
    let pushed = paid.events.len();
    let (_, o) = s
        .post(
            "/api/sync/qr-payments",
            &token,
            ask(&a, &paid, "wechat_pay", due(&paid)),
        )
        .await;
    let id = o["payment_id"].as_str().unwrap().to_string();
    let no = o["out_trade_no"].as_str().unwrap().to_string();
    rounds_until_created(&worker, &s, &token, &id).await;
    assert_eq!(sim.pay("wechat_pay", &no, None).await.unwrap().status, 204);
    collect_by_qr(&mut paid, QrProvider::WechatPay, &no);
    finish(&s, &token, &dev, &mut paid, pushed).await;
    // Another visit claims a QR payment nobody paid.
    let a2 = s.assignment("appliance_repair", Some("T-1")).await;
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let mut unpaid = Walkthrough::new(&pb, &assignment(&a2), &device(&dev), Utc::now());
    unpaid.go(None).repair();
    let first = s.stored_events(&dev).await as u64;
    let (st, r) = s
        .push(&token, &dev, &numbered(&unpaid.events, first + 1))
        .await;
    assert_eq!(st, 200, "{r}");
    let (_, o2) = s
        .post(
            "/api/sync/qr-payments",
            &token,
            ask(&a2, &unpaid, "wechat_pay", due(&unpaid)),
        )
        .await;
    let no2 = o2["out_trade_no"].as_str().unwrap().to_string();
    let pushed2 = unpaid.events.len();
    collect_by_qr(&mut unpaid, QrProvider::WechatPay, &no2);
    let mut chain = None;
    unpaid
        .sign(
            Ratings {
                quality: 5,
                attitude: 5,
            },
            None,
            &mut chain,
        )
        .leave();
    let (st, r) = s
        .push(
            &token,
            &dev,
            &numbered(&unpaid.events[pushed2..], first + pushed2 as u64 + 1),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    let day = s.state.zone.date_of(unpaid.now());
    let (st, report) = s
        .get(&format!("/api/reconciliation?date={day}"), &s.dispatcher)
        .await;
    assert_eq!(st, 200, "{report}");
    let codes = |visit: String| -> Vec<String> {
        report["visits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["visit_id"] == visit.as_str())
            .unwrap_or_else(|| panic!("{visit} not in {report}"))["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    };
    let paid_visit = paid.state.visit_id.unwrap().to_string();
    let unpaid_visit = unpaid.state.visit_id.unwrap().to_string();
    assert!(
        !codes(paid_visit.clone()).contains(&"qr_payment_unconfirmed".to_string()),
        "{report}"
    );
    assert!(
        codes(unpaid_visit).contains(&"qr_payment_unconfirmed".to_string()),
        "{report}"
    );
    // The visit's detail shows the order and who confirmed it.
    let (_, v) = s
        .get(&format!("/api/visits/{paid_visit}"), &s.dispatcher)
        .await;
    assert_eq!(v["qr_payments"][0]["out_trade_no"], no.as_str(), "{v}");
    assert_eq!(
        v["qr_payments"][0]["confirmed_by"]["zh"],
        "微信支付签名通知"
    );
}

async fn a_deferred_payment_reaches_the_desk_queue_with_its_amount(b: Backend) {
    let (s, _sim, _worker) = start(b).await;
    let (_a, dev, token, mut w) = visit_due(&s, "T-1").await;
    let pushed = w.events.len();
    let owed = due(&w);
    w.apply(
        5,
        VisitCommand::DeferPayment {
            reason: "客户手机没电，稍后转账给服务中心".into(),
        },
        None,
        None,
    )
    .expect("a deferred payment is recorded");
    let (st, r) = s
        .push(
            &token,
            &dev,
            &numbered(&w.events[pushed..], pushed as u64 + 1),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    let (st, q) = s.get("/api/requests", &s.dispatcher).await;
    assert_eq!(st, 200, "{q}");
    assert_eq!(q["counts"]["payment_deferred"], 1, "{q}");
    let item = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "payment_deferred")
        .unwrap();
    assert_eq!(item["detail"]["amount"], owed);
    assert_eq!(
        item["detail"]["amount_shown"],
        doorstep_core::money::format_yuan(owed)
    );
    assert_eq!(item["detail"]["reason"], "客户手机没电，稍后转账给服务中心");
    let (st, _) = s
        .post(
            &format!("/api/requests/{}/handle", item["id"].as_str().unwrap()),
            &s.dispatcher,
            json!({}),
        )
        .await;
    assert_eq!(st, 204);
    let (_, q) = s.get("/api/requests", &s.dispatcher).await;
    assert!(q["counts"]["payment_deferred"].is_null(), "{q}");
}

async fn an_order_past_its_expiry_reads_closed_and_a_new_one_can_be_asked_for(b: Backend) {
    let (s, _sim, _worker) = start(b).await;
    let (a, _dev, token, w) = visit_due(&s, "T-1").await;
    let (_, o) = s
        .post(
            "/api/sync/qr-payments",
            &token,
            ask(&a, &w, "wechat_pay", due(&w)),
        )
        .await;
    let id = o["payment_id"].as_str().unwrap().to_string();
    // Fifteen minutes later (the order's expiry moved into the past).
    let key = id.clone();
    s.state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                tx.execute(
                    "UPDATE qr_payments SET expires_at = 1 WHERE id = $1",
                    &[key.as_str().into()],
                )
                .await
            })
        })
        .await
        .unwrap();
    assert_eq!(order_now(&s, &token, &id).await["state"], "closed");
    let (st, again) = s
        .post(
            "/api/sync/qr-payments",
            &token,
            ask(&a, &w, "wechat_pay", due(&w)),
        )
        .await;
    assert_eq!(st, 201, "a closed order is not answered again: {again}");
    assert_ne!(again["payment_id"], o["payment_id"]);
}

async fn an_order_the_provider_refuses_fails_with_the_reason(b: Backend) {
    let sim = simulator().await;
    // The merchant's requests are signed with a key WeChat Pay does not know.
    let providers = ProviderSettings {
        wechat_pay_private_key_file: Some(keys().join("forger.pem")),
        ..providers(&sim)
    };
    let s = Srv::start_with_providers(b, Config::default(), providers).await;
    let worker = worker_of(&s);
    let (a, _dev, token, w) = visit_due(&s, "T-1").await;
    let (_, o) = s
        .post(
            "/api/sync/qr-payments",
            &token,
            ask(&a, &w, "wechat_pay", due(&w)),
        )
        .await;
    let id = o["payment_id"].as_str().unwrap().to_string();
    let failed = rounds_until_created(&worker, &s, &token, &id).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(failed["code_url"].is_null());
    let en = failed["failure"]["en"].as_str().unwrap();
    assert!(en.contains("SIGN_ERROR"), "{en}");
    let zh = failed["failure"]["zh"].as_str().unwrap();
    assert!(
        zh.starts_with("支付机构拒绝了该订单：") && zh.ends_with('。'),
        "{zh}"
    );
    assert_eq!(sim.received().qr_orders[0].outcome, "refused");
}

/// A worker that asks the provider about an order (查单) as soon as it is
/// created, then with the outbox's backoff.
fn querying_worker(s: &Srv) -> Arc<Worker> {
    let mut state = s.state.clone();
    state.providers = Arc::new(ProviderSettings {
        payment_notify_base_url: Some(s.base.clone()),
        payment_query_delay_ms: 0,
        ..(*state.providers).clone()
    });
    Arc::new(Worker::new(state))
}

/// A QR order `who`'s phone asked for what its visit owes, created at
/// `provider` (awaiting payment).
struct Created {
    a: Value,
    token: String,
    w: Walkthrough,
    id: String,
    no: String,
}

async fn created_order(s: &Srv, worker: &Arc<Worker>, who: &str, provider: &str) -> Created {
    let (a, _dev, token, w) = visit_due(s, who).await;
    let (st, o) = s
        .post(
            "/api/sync/qr-payments",
            &token,
            ask(&a, &w, provider, due(&w)),
        )
        .await;
    assert_eq!(st, 201, "{o}");
    let id = o["payment_id"].as_str().unwrap().to_string();
    let no = o["out_trade_no"].as_str().unwrap().to_string();
    let created = rounds_until_created(worker, s, &token, &id).await;
    assert_eq!(created["state"], "awaiting_payment", "{created}");
    Created {
        a,
        token,
        w,
        id,
        no,
    }
}

/// Runs worker rounds until `done` holds (at most ~20 s).
async fn rounds_until(worker: &Arc<Worker>, what: &str, done: impl Fn() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        worker.run_once().await.expect("an outbox round");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("never: {what}");
}

async fn a_payment_whose_notification_was_lost_is_found_by_the_order_query(b: Backend) {
    let sim = simulator().await;
    let s = Srv::start_with_providers(b, Config::default(), providers(&sim)).await;
    let worker = querying_worker(&s);
    for (who, provider, asked_unpaid, by_query_zh) in [
        ("T-1", "wechat_pay", "NOTPAY", "向微信支付查单的签名应答"),
        ("T-2", "alipay", "TRADE_NOT_EXIST", "向支付宝查单的签名应答"),
    ] {
        let Created {
            a, token, id, no, ..
        } = created_order(&s, &worker, who, provider).await;
        let queries = |no: &str| -> Vec<(bool, String)> {
            sim.received()
                .qr_queries
                .into_iter()
                .filter(|q| q.out_trade_no == no && q.provider == provider)
                .map(|q| (q.signature_valid, q.answered))
                .collect()
        };

        // Asked while nobody paid: still awaiting payment.
        rounds_until(&worker, "a first query", || !queries(&no).is_empty()).await;
        assert_eq!(
            queries(&no)[0],
            (true, asked_unpaid.to_string()),
            "{provider}"
        );
        assert_eq!(
            order_now(&s, &token, &id).await["state"],
            "awaiting_payment"
        );

        // The customer pays; the provider's notification is lost.
        sim.pay_notification_lost(provider, &no).await.unwrap();
        assert!(sim
            .received()
            .qr_notifications
            .iter()
            .all(|n| n.out_trade_no != no));
        let mut paid = Value::Null;
        for _ in 0..200 {
            worker.run_once().await.unwrap();
            paid = order_now(&s, &token, &id).await;
            if paid["state"] == "paid" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(paid["state"], "paid", "{provider}: {paid}");
        assert!(queries(&no).iter().all(|(valid, _)| *valid));
        let answered: Vec<String> = queries(&no).into_iter().map(|(_, a)| a).collect();
        assert!(
            answered.last().is_some_and(|a| a.contains("SUCCESS")),
            "{answered:?}"
        );
        assert!(!paid["provider_transaction_id"].as_str().unwrap().is_empty());

        // The desk sees who confirmed it; the log says the query found it.
        let list = desk_list(&s, &a).await;
        assert_eq!(list[0]["state"], "paid");
        assert_eq!(list[0]["confirmed_by"]["zh"], by_query_zh, "{list}");
        assert!(notifications(&s)
            .await
            .iter()
            .any(|(o, why)| o == "paid_by_query" && why.contains("查单")));

        // Paid: the provider is asked no more.
        let asked = queries(&no).len();
        for _ in 0..10 {
            worker.run_once().await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(
            queries(&no).len(),
            asked,
            "{provider}: asked after it was paid"
        );
    }
}

async fn an_order_the_provider_closed_unpaid_is_closed_by_the_order_query(b: Backend) {
    let sim = simulator().await;
    let s = Srv::start_with_providers(b, Config::default(), providers(&sim)).await;
    let worker = querying_worker(&s);
    for (who, provider) in [("T-1", "wechat_pay"), ("T-2", "alipay")] {
        let Created {
            a,
            token,
            w,
            id,
            no,
        } = created_order(&s, &worker, who, provider).await;
        sim.close_order(&no);
        let mut now = Value::Null;
        for _ in 0..200 {
            worker.run_once().await.unwrap();
            now = order_now(&s, &token, &id).await;
            if now["state"] != "awaiting_payment" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(now["state"], "closed", "{provider}: {now}");
        assert!(sim
            .received()
            .qr_queries
            .iter()
            .any(|q| q.out_trade_no == no && q.answered.contains("CLOSED")));
        // A new order can be asked for at once.
        let (st, again) = s
            .post(
                "/api/sync/qr-payments",
                &token,
                ask(&a, &w, provider, due(&w)),
            )
            .await;
        assert_eq!(st, 201, "{again}");
        assert_ne!(again["payment_id"], id.as_str());
    }
}
