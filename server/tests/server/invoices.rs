//! E-fapiao requests against the invoicing provider's simulator over real
//! HTTP (Nuonuo's issue call, then its result query): the invoice number
//! comes back to the order; a bad tax number is refused naming the field in
//! both languages; a provider outage is retried; a personal buyer needs no
//! tax number, and a request made before anything was paid waits for the
//! payment.

use crate::both_backends;
use crate::harness::{assignment, device, numbered, Backend, Srv};
use chrono::Utc;
use doorstep_core::invoice_request::InvoiceBuyer;
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::{Playbook, VisitCommand};
use doorstep_server::app::Config;
use doorstep_server::outbox::simulator::{
    Behaviour, InvoiceAccount, Received, SimulatedAccount, Simulator,
};
use doorstep_server::outbox::Worker;
use doorstep_server::providers::ProviderSettings;
use serde_json::{json, Value};
use std::sync::Arc;

both_backends!(
    an_invoice_is_issued_and_its_number_comes_back_to_the_order,
    a_bad_tax_number_is_refused_with_the_field_named,
    an_invoice_is_retried_after_a_provider_outage,
    a_personal_buyer_without_a_tax_number_is_invoiced_once_paid,
    a_refused_invoice_fails_with_the_providers_reason,
    an_invoice_asked_for_at_the_door_is_filed_from_the_phones_fact_and_issued,
    without_a_token_set_the_access_token_is_fetched_once_and_kept,
);

const SELLER: &str = "91350100M000100Y43";
const BUYER: &str = "91110000600037341L";

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
    sim.set_invoice_account(InvoiceAccount {
        app_key: "SD-test-key".into(),
        app_secret: "test-app-secret".into(),
        access_token: "test-access-token".into(),
    });
    sim
}

fn providers(sim: &Simulator) -> ProviderSettings {
    ProviderSettings {
        invoice_endpoint: format!("{}/open/v1/services", sim.url()),
        invoice_app_key: Some("SD-test-key".into()),
        invoice_app_secret: Some("test-app-secret".into()),
        invoice_access_token: Some("test-access-token".into()),
        invoice_seller_tax_number: SELLER.into(),
        invoice_query_delay_ms: 0,
        outbox_retry_base_ms: 100,
        outbox_lease_secs: 5,
        provider_timeout_secs: 5,
        ..ProviderSettings::default()
    }
}

async fn start(b: Backend) -> (Srv, Simulator, Arc<Worker>) {
    let sim = simulator().await;
    let s = Srv::start_with_providers(b, Config::default(), providers(&sim)).await;
    let worker = Arc::new(Worker::new(s.state.clone()));
    (s, sim, worker)
}

/// A work order assigned to T-1; returns it, the device and its token.
async fn order(s: &Srv) -> (Value, String, String) {
    let (dev, token) = s.technician("T-1", &["appliance_repair"]).await;
    let a = s.assignment("appliance_repair", Some("T-1")).await;
    (a, dev, token)
}

/// The technician does the job and collects exactly the accepted quote;
/// returns what was paid (fen).
async fn paid_visit(s: &Srv, a: &Value, dev: &str, token: &str) -> i64 {
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let mut w = Walkthrough::new(&pb, &assignment(a), &device(dev), Utc::now());
    w.go(None).repair().pay();
    let (st, r) = s.push(token, dev, &numbered(&w.events, 1)).await;
    assert_eq!(st, 200, "{r}");
    let paid = w.state.paid_total;
    assert!(paid > 0);
    paid
}

fn company_request() -> Value {
    json!({"buyer_type": "company", "title": "北京某某科技有限公司", "tax_number": BUYER,
           "email": "fapiao@example.com", "phone": "138 0013 8000"})
}

async fn request(s: &Srv, id: &str, body: Value) -> (u16, Value) {
    s.post(
        &format!("/api/assignments/{id}/invoice-requests"),
        &s.dispatcher,
        body,
    )
    .await
}

async fn invoices_of(s: &Srv, id: &str) -> Vec<Value> {
    let (st, body) = s
        .get(
            &format!("/api/assignments/{id}/invoice-requests"),
            &s.dispatcher,
        )
        .await;
    assert_eq!(st, 200, "{body}");
    body.as_array().unwrap().clone()
}

/// Runs worker rounds until the order's latest request is in `state` (at
/// most ~20 s); returns it.
async fn rounds_until_state(worker: &Arc<Worker>, s: &Srv, id: &str, state: &str) -> Value {
    for _ in 0..200 {
        worker.run_once().await.expect("an outbox round");
        let latest = invoices_of(s, id).await.first().cloned();
        if latest.as_ref().is_some_and(|r| r["state"] == state) {
            return latest.unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("never {state}: {:#?}", invoices_of(s, id).await);
}

async fn rounds_until(worker: &Arc<Worker>, sim: &Simulator, done: impl Fn(&Received) -> bool) {
    for _ in 0..200 {
        worker.run_once().await.expect("an outbox round");
        if done(&sim.received()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the simulator never saw it: {:#?}", sim.received());
}

async fn an_invoice_is_issued_and_its_number_comes_back_to_the_order(b: Backend) {
    let (s, sim, worker) = start(b).await;
    let (a, dev, token) = order(&s).await;
    let id = a["id"].as_str().unwrap();
    let paid = paid_visit(&s, &a, &dev, &token).await;
    // The provider takes a moment: the first result query says "being issued".
    sim.behave(Behaviour {
        invoice_issuing_polls: 1,
        ..Behaviour::default()
    });
    let (st, r) = request(&s, id, company_request()).await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(r["state"], "queued", "paid already: queued at once");
    assert_eq!(r["amount"], paid);
    assert_eq!(r["source"], "desk");
    assert_eq!(r["phone"], "13800138000");
    let issued = rounds_until_state(&worker, &s, id, "issued").await;
    let number = issued["invoice_number"].as_str().unwrap();
    assert_eq!(number.len(), 20, "{issued}");
    assert!(issued["provider_serial"].is_string(), "{issued}");
    assert!(issued["issued_at"].is_i64(), "{issued}");
    // What the provider received: one signed order with the buyer, the
    // seller and the amount paid, in yuan.
    let received = sim.received();
    let taken = received.invoices_taken();
    assert_eq!(taken.len(), 1, "{received:#?}");
    let t = taken[0];
    assert!(t.signature_valid);
    assert_eq!(t.order_no, issued["order_no"].as_str().unwrap());
    assert_eq!(
        (t.buyer_name.as_str(), t.buyer_tax_num.as_str()),
        ("北京某某科技有限公司", BUYER)
    );
    assert_eq!(
        (
            t.email.as_str(),
            t.buyer_phone.as_str(),
            t.push_mode.as_str()
        ),
        ("fapiao@example.com", "13800138000", "2")
    );
    assert_eq!(t.saler_tax_num, SELLER);
    assert_eq!(t.amount, doorstep_core::money::yuan_digits(paid));
    assert!(received
        .invoice_queries
        .iter()
        .any(|q| q.outcome == "issuing"));
    assert!(received
        .invoice_queries
        .iter()
        .any(|q| q.invoice_number.as_deref() == Some(number)));
    // The order's outbound view carries it too.
    let (_, out) = s
        .get(&format!("/api/assignments/{id}/outbound"), &s.dispatcher)
        .await;
    assert_eq!(out["invoices"][0]["invoice_number"], number, "{out}");
    // One open request at a time.
    let (st, again) = request(&s, id, company_request()).await;
    assert_eq!(st, 409, "{again}");
    assert_eq!(again["error"]["code"], "invoice_requested");
}

async fn a_bad_tax_number_is_refused_with_the_field_named(b: Backend) {
    let (s, _sim, _worker) = start(b).await;
    let a = s.assignment("appliance_repair", None).await;
    let id = a["id"].as_str().unwrap();
    let mut body = company_request();
    // One character off: the check character no longer matches.
    body["tax_number"] = json!("91110000600037341K");
    for (lang, expect) in [
        ("zh-CN", "纳税人识别号：应为 18 位统一社会信用代码"),
        (
            "en",
            "tax_number: expected the 18-character unified social credit code",
        ),
    ] {
        let res = s
            .http
            .post(format!("{}/api/assignments/{id}/invoice-requests", s.base))
            .bearer_auth(&s.dispatcher)
            .header("accept-language", lang)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 400);
        let e: Value = res.json().await.unwrap();
        assert_eq!(e["error"]["code"], "invalid_field", "{e}");
        assert_eq!(e["error"]["field"], "tax_number", "{e}");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(expect), "{lang}: {message}");
    }
    // A letter the code never holds, the wrong length, a company without one.
    for (bad, zh) in [
        (json!("9111000060003734IL"), "不能含有“I”"),
        (json!("110105123456789"), "15 位"),
        (json!(null), "单位开票必须填写"),
    ] {
        body["tax_number"] = bad;
        let (st, e) = request(&s, id, body.clone()).await;
        assert_eq!(st, 400, "{e}");
        assert_eq!(e["error"]["field"], "tax_number", "{e}");
        assert!(
            e["error"]["message_zh"].as_str().unwrap().contains(zh),
            "{e}"
        );
    }
    // Nothing was stored.
    assert!(invoices_of(&s, id).await.is_empty());
    // Other fields are named too.
    let (st, e) = request(
        &s,
        id,
        json!({"buyer_type": "personal", "title": "李女士", "phone": "1380013800"}),
    )
    .await;
    assert_eq!(st, 400, "{e}");
    assert_eq!(e["error"]["field"], "phone");
    assert!(e["error"]["message_zh"]
        .as_str()
        .unwrap()
        .starts_with("手机号："));
}

async fn an_invoice_is_retried_after_a_provider_outage(b: Backend) {
    let (s, sim, worker) = start(b).await;
    let (a, dev, token) = order(&s).await;
    let id = a["id"].as_str().unwrap();
    paid_visit(&s, &a, &dev, &token).await;
    sim.behave(Behaviour {
        outage: true,
        ..Behaviour::default()
    });
    let (st, r) = request(&s, id, company_request()).await;
    assert_eq!(st, 201, "{r}");
    rounds_until(&worker, &sim, |r| r.invoices.len() >= 2).await;
    // While the provider is down the request stays queued, and the outbox
    // says why.
    let during = invoices_of(&s, id).await;
    assert_eq!(during[0]["state"], "queued", "{during:?}");
    let (st, out) = s.get("/api/outbox?kind=invoice", &s.dispatcher).await;
    assert_eq!(st, 200, "{out}");
    assert!(
        out[0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("503")),
        "{out}"
    );
    assert!(sim.received().invoices_taken().is_empty());
    // The provider recovers: issued once.
    sim.behave(Behaviour::default());
    let issued = rounds_until_state(&worker, &s, id, "issued").await;
    let received = sim.received();
    assert_eq!(received.invoices_taken().len(), 1, "{received:#?}");
    assert!(
        received
            .invoices
            .iter()
            .filter(|r| r.outcome == "failed")
            .count()
            >= 2
    );
    assert!(issued["invoice_number"].is_string());
}

async fn a_personal_buyer_without_a_tax_number_is_invoiced_once_paid(b: Backend) {
    let (s, sim, worker) = start(b).await;
    let (a, dev, token) = order(&s).await;
    let id = a["id"].as_str().unwrap();
    // Asked before anything was paid: recorded, waiting for the amount.
    let (st, r) = request(
        &s,
        id,
        json!({"buyer_type": "personal", "title": "李女士", "email": "li@example.com"}),
    )
    .await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(r["state"], "requested", "{r}");
    assert!(r["tax_number"].is_null() && r["amount"].is_null(), "{r}");
    worker.run_once().await.unwrap();
    assert!(
        sim.received().invoices.is_empty(),
        "nothing paid: nothing sent"
    );
    assert_eq!(invoices_of(&s, id).await[0]["state"], "requested");
    // Paid: the next round queues it, and it is issued.
    let paid = paid_visit(&s, &a, &dev, &token).await;
    let issued = rounds_until_state(&worker, &s, id, "issued").await;
    assert_eq!(issued["amount"], paid);
    let received = sim.received();
    let t = received.invoices_taken()[0];
    assert_eq!(
        (
            t.buyer_name.as_str(),
            t.buyer_tax_num.as_str(),
            t.push_mode.as_str()
        ),
        ("李女士", "", "0")
    );
}

async fn a_refused_invoice_fails_with_the_providers_reason(b: Backend) {
    let (s, sim, worker) = start(b).await;
    let (a, dev, token) = order(&s).await;
    let id = a["id"].as_str().unwrap();
    paid_visit(&s, &a, &dev, &token).await;
    sim.behave(Behaviour {
        invoice_fail_cause: Some("购方名称与税号不一致".into()),
        ..Behaviour::default()
    });
    let (st, _) = request(&s, id, company_request()).await;
    assert_eq!(st, 201);
    let failed = rounds_until_state(&worker, &s, id, "failed").await;
    assert!(
        failed["failure_reason"]
            .as_str()
            .unwrap()
            .contains("购方名称与税号不一致"),
        "{failed}"
    );
    // A failed request may be made again.
    sim.behave(Behaviour::default());
    let (st, again) = request(&s, id, company_request()).await;
    assert_eq!(st, 201, "{again}");
    rounds_until_state(&worker, &s, id, "issued").await;
}

async fn an_invoice_asked_for_at_the_door_is_filed_from_the_phones_fact_and_issued(b: Backend) {
    let (s, sim, worker) = start(b).await;
    let (a, dev, token) = order(&s).await;
    let id = a["id"].as_str().unwrap();
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let mut w = Walkthrough::new(&pb, &assignment(&a), &device(&dev), Utc::now());
    w.go(None).repair().pay();
    // At the door, after paying: the company's invoice, checked on the phone.
    w.apply(
        2,
        VisitCommand::RequestInvoice {
            buyer: InvoiceBuyer {
                buyer_type: "company".into(),
                title: "北京某某科技有限公司".into(),
                tax_number: Some(BUYER.into()),
                email: None,
                phone: Some("+86 138 0013 8000".into()),
            },
        },
        None,
        None,
    )
    .expect("the phone's rules take the request");
    let (st, r) = s.push(&token, &dev, &numbered(&w.events, 1)).await;
    assert_eq!(st, 200, "{r}");
    let filed = invoices_of(&s, id).await;
    assert_eq!(filed.len(), 1, "{filed:#?}");
    assert_eq!(filed[0]["source"], "door", "{filed:#?}");
    assert_eq!(filed[0]["requested_by"], "T-1", "{filed:#?}");
    assert_eq!(filed[0]["phone"], "13800138000", "{filed:#?}");
    let issued = rounds_until_state(&worker, &s, id, "issued").await;
    assert_eq!(issued["amount"], w.state.paid_total);
    let received = sim.received();
    let t = received.invoices_taken()[0];
    assert_eq!(t.buyer_tax_num, BUYER);
    // Pushed again (a phone retrying), still one request.
    let (st, _) = s.push(&token, &dev, &numbered(&w.events, 1)).await;
    assert_eq!(st, 200);
    assert_eq!(invoices_of(&s, id).await.len(), 1);
}

async fn without_a_token_set_the_access_token_is_fetched_once_and_kept(b: Backend) {
    let sim = simulator().await;
    let providers = ProviderSettings {
        invoice_access_token: None,
        invoice_token_endpoint: format!("{}/accessToken", sim.url()),
        ..providers(&sim)
    };
    let s = Srv::start_with_providers(b, Config::default(), providers.clone()).await;
    let worker = Arc::new(Worker::new(s.state.clone()));
    // Two orders invoiced: one token for both, granted for the app's key and secret.
    for who in ["T-1", "T-2"] {
        let (dev, token) = s.technician(who, &["appliance_repair"]).await;
        let a = s.assignment("appliance_repair", Some(who)).await;
        paid_visit(&s, &a, &dev, &token).await;
        let id = a["id"].as_str().unwrap();
        let (st, r) = request(&s, id, company_request()).await;
        assert_eq!(st, 201, "{r}");
        rounds_until_state(&worker, &s, id, "issued").await;
    }
    assert_eq!(sim.received().invoice_tokens, vec![true]);

    // A wrong secret: the token is refused, and so is the request, saying why.
    let sim2 = simulator().await;
    let wrong = ProviderSettings {
        invoice_access_token: None,
        invoice_app_secret: Some("not-the-secret".into()),
        invoice_token_endpoint: format!("{}/accessToken", sim2.url()),
        ..providers
    };
    let s2 = Srv::start_with_providers(b, Config::default(), wrong).await;
    let worker2 = Arc::new(Worker::new(s2.state.clone()));
    let (dev, token) = s2.technician("T-1", &["appliance_repair"]).await;
    let a = s2.assignment("appliance_repair", Some("T-1")).await;
    paid_visit(&s2, &a, &dev, &token).await;
    let id = a["id"].as_str().unwrap();
    let (st, r) = request(&s2, id, company_request()).await;
    assert_eq!(st, 201, "{r}");
    let failed = rounds_until_state(&worker2, &s2, id, "failed").await;
    assert!(failed.to_string().contains("invalid_client"), "{failed}");
    assert_eq!(sim2.received().invoice_tokens, vec![false]);
    assert!(
        sim2.received().invoices.is_empty(),
        "nothing sent without a token"
    );
}
