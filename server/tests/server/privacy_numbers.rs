//! Privacy numbers against the provider's simulator over real HTTP (Alibaba
//! Cloud Dyplsapi BindAxb / UnbindSubscription): a dispatched order is bound
//! to a virtual number that reaches the phone as a new assignment version;
//! nothing a technician's device token reads carries the customer's real
//! number in any format — before the binding, without a provider, in old
//! change-log rows; a reassignment unbinds the old technician's binding and
//! binds the new one's; a cancelled or finished order is unbound; an outage
//! is retried through the outbox; dispatchers keep and search the full
//! number; a binding near its end is extended while the order is the
//! technician's; a bind that found no number is tried again once the
//! dispatcher adds it.

use crate::both_backends;
use crate::harness::{assignment, device, numbered, Backend, Srv};
use chrono::Utc;
use doorstep_core::signoff::Ratings;
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::Playbook;
use doorstep_server::app::Config;
use doorstep_server::outbox::simulator::{Behaviour, PrivacyAccount, SimulatedAccount, Simulator};
use doorstep_server::outbox::Worker;
use doorstep_server::providers::ProviderSettings;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;

both_backends!(
    a_bound_order_reaches_the_phone_with_its_virtual_number_and_never_the_real_one,
    without_a_provider_the_phone_reads_only_the_masked_number,
    reassigning_unbinds_the_old_binding_and_binds_the_new_one,
    a_cancelled_or_finished_order_is_unbound,
    a_provider_outage_is_retried_through_the_outbox,
    dispatchers_keep_and_search_the_full_number,
    a_binding_near_its_end_is_extended_at_the_provider,
    a_bind_without_a_number_is_tried_again_once_the_customers_phone_is_added,
);

const PHONE: &str = "138 0013 8000";
const FORMS: [&str; 6] = [
    "13800138000",
    "138 0013 8000",
    "138-0013-8000",
    "+8613800138000",
    "+86 138 0013 8000",
    "0013800138000",
];

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
    sim.set_privacy_account(PrivacyAccount {
        access_key_id: "LTAI-test".into(),
        access_key_secret: "test-secret".into(),
    });
    sim
}

fn providers(sim: &Simulator) -> ProviderSettings {
    ProviderSettings {
        privacy_endpoint: format!("{}/dyplsapi", sim.url()),
        privacy_access_key_id: Some("LTAI-test".into()),
        privacy_access_key_secret: Some("test-secret".into()),
        privacy_pool_key: "FC-test-pool".into(),
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

/// A work order whose customer's number also sits in its notes, assigned
/// to `technician` when given; returns its id.
async fn order(s: &Srv, technician: Option<&str>) -> String {
    order_of(s, technician, Some(PHONE)).await
}

/// A work order of a customer with `phone` (none: the caller gave none),
/// assigned to `technician` when given; returns its id.
async fn order_of(s: &Srv, technician: Option<&str>, phone: Option<&str>) -> String {
    let start = Utc::now() + chrono::Duration::hours(2);
    let (st, a) = s
        .post(
            "/api/assignments",
            &s.dispatcher,
            json!({
                "trade": "appliance_repair",
                "customer": {"name": "王伟", "phone": phone, "address": "上海市浦东新区世纪大道 100 号",
                             "location": {"lat": 31.23, "lon": 121.47}},
                "product": {"model": "M-1", "purchase_date": "2025-01-02", "warranty": "out_of_warranty"},
                "fault_description": "不制冷，客户说打 +86 138-0013-8000 联系",
                "notes": "备用 13800138000",
                "requested_window": {"start": start, "end": start + chrono::Duration::hours(2)},
                "received_at": Utc::now() - chrono::Duration::hours(1),
            }),
        )
        .await;
    assert_eq!(st, 201, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    if let Some(t) = technician {
        let (st, r) = s
            .post(
                &format!("/api/assignments/{id}/assign"),
                &s.dispatcher,
                json!({"technician": t}),
            )
            .await;
        assert_eq!(st, 200, "{r}");
    }
    id
}

/// A request's status and raw body, as the device receives it.
async fn raw(
    s: &Srv,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, String) {
    let mut req = s
        .http
        .request(method, format!("{}{path}", s.base))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

fn assert_no_leak(what: &str, body: &str) {
    for form in FORMS {
        assert!(
            !body.contains(form),
            "{what} carries the customer's number ({form}): {body}"
        );
    }
}

/// Everything the device token reads about its work: a pull from the
/// start, an exchange, its assignments and its visits — each body scanned
/// whole for the customer's number. Returns the pull.
async fn device_reads(s: &Srv, dev: &str, token: &str, id: &str) -> Value {
    let pull = json!({"protocol_version": 1, "device_id": dev, "cursor": 0});
    let (st, pulled) = raw(s, Method::POST, "/api/sync/pull", token, Some(pull)).await;
    assert_eq!(st, 200, "{pulled}");
    assert_no_leak("the pull", &pulled);
    let both = json!({"protocol_version": 1, "device_id": dev, "events": [], "cursor": 0});
    let (st, body) = raw(s, Method::POST, "/api/sync/exchange", token, Some(both)).await;
    assert_eq!(st, 200, "{body}");
    assert_no_leak("the exchange", &body);
    for path in [
        "/api/assignments".to_string(),
        format!("/api/assignments/{id}"),
        "/api/visits".to_string(),
    ] {
        let (st, body) = raw(s, Method::GET, &path, token, None).await;
        assert!(st == 200 || st == 403, "{path}: {st} {body}");
        assert_no_leak(&path, &body);
    }
    serde_json::from_str(&pulled).unwrap()
}

/// The phones of the order's assignments in a pull, oldest first.
fn pulled_phones(pull: &Value, id: &str) -> Vec<(u64, String)> {
    pull["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| {
            let a = &c["assignment"];
            (a["id"] == id).then(|| {
                (
                    a["version"].as_u64().unwrap(),
                    a["customer"]["phone"].as_str().unwrap().to_string(),
                )
            })
        })
        .collect()
}

async fn bindings(s: &Srv, id: &str) -> Vec<Value> {
    let (st, body) = s
        .get(
            &format!("/api/assignments/{id}/privacy-numbers"),
            &s.dispatcher,
        )
        .await;
    assert_eq!(st, 200, "{body}");
    body.as_array().unwrap().clone()
}

/// Runs worker rounds until `done` holds of the order's bindings (at most ~20 s).
async fn rounds_until(
    worker: &Arc<Worker>,
    s: &Srv,
    id: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    for _ in 0..200 {
        worker.run_once().await.expect("an outbox round");
        let b = bindings(s, id).await;
        if done(&b) {
            return b;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("never reached: {:#?}", bindings(s, id).await);
}

fn state_of<'a>(b: &'a [Value], technician: &str) -> Vec<&'a str> {
    b.iter()
        .filter(|x| x["technician_id"] == technician)
        .map(|x| x["state"].as_str().unwrap())
        .collect()
}

async fn a_bound_order_reaches_the_phone_with_its_virtual_number_and_never_the_real_one(
    b: Backend,
) {
    let (s, sim, worker) = start(b).await;
    let (dev, token) = s.technician("T-1", &["appliance_repair"]).await;
    let id = order(&s, Some("T-1")).await;

    // Before the bind is delivered: the masked number.
    let before = device_reads(&s, &dev, &token, &id).await;
    let phones = pulled_phones(&before, &id);
    assert!(!phones.is_empty(), "{before}");
    assert!(phones.iter().all(|(_, p)| p == "138****8000"), "{phones:?}");

    let b = rounds_until(&worker, &s, &id, |b| state_of(b, "T-1") == ["bound"]).await;
    let x = b[0]["virtual_number"].as_str().unwrap().to_string();
    assert!(x.starts_with("170") && x.len() == 11, "{x}");
    let got = sim.received();
    let bind = &got.privacy_bound()[0];
    assert!(bind.signature_valid);
    assert_eq!(
        (bind.action.as_str(), bind.pool_key.as_str()),
        ("BindAxb", "FC-test-pool")
    );
    assert_eq!(
        (bind.phone_a.as_str(), bind.phone_b.as_str()),
        ("13800138000", "4008201234")
    );
    assert_eq!(bind.out_order_id, id);
    assert_eq!(bind.secret_no.as_deref(), Some(x.as_str()));

    // The binding reached the phone as a new version, and every version it
    // downloads — old change-log rows included — carries only the virtual number.
    let after = device_reads(&s, &dev, &token, &id).await;
    let phones = pulled_phones(&after, &id);
    let newest = phones.iter().map(|(v, _)| *v).max().unwrap();
    let before_newest = pulled_phones(&before, &id)
        .iter()
        .map(|(v, _)| *v)
        .max()
        .unwrap();
    assert!(
        newest > before_newest,
        "a new version reaches the phone: {phones:?}"
    );
    assert!(phones.iter().all(|(_, p)| *p == x), "{phones:?}");
    let (_, one) = s.get(&format!("/api/assignments/{id}"), &token).await;
    assert_eq!(one["customer"]["phone"], x.as_str());
    assert_eq!(one["notes"], "备用 138****8000");

    // The phone's own record of what it received is served back masked too.
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let (_, raw_a) = s
        .get(&format!("/api/assignments/{id}"), &s.dispatcher)
        .await;
    let w = Walkthrough::new(&pb, &assignment(&raw_a), &device(&dev), Utc::now());
    let (st, r) = s.push(&token, &dev, &numbered(&w.events, 1)).await;
    assert_eq!(st, 200, "{r}");
    let (st, visits) = raw(&s, Method::GET, "/api/visits", &token, None).await;
    assert_eq!(st, 200);
    assert_no_leak("the visits", &visits);
    let list: Value = serde_json::from_str(&visits).unwrap();
    let visit = list[0]["visit_id"]
        .as_str()
        .or(list[0]["id"].as_str())
        .unwrap_or_default()
        .to_string();
    if !visit.is_empty() {
        let (_, body) = raw(
            &s,
            Method::GET,
            &format!("/api/visits/{visit}"),
            &token,
            None,
        )
        .await;
        assert_no_leak("the visit", &body);
    }
}

async fn without_a_provider_the_phone_reads_only_the_masked_number(b: Backend) {
    let s = Srv::start(b).await;
    let (dev, token) = s.technician("T-1", &["appliance_repair"]).await;
    let id = order(&s, Some("T-1")).await;
    // An edit: older change-log rows and the new one alike.
    let (st, r) = s
        .call(
            Method::PATCH,
            &format!("/api/assignments/{id}"),
            Some(&s.dispatcher),
            Some(json!({"notes": "客户改号码前请先打 138 0013 8000"})),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    let worker = Arc::new(Worker::new(s.state.clone()));
    worker.run_once().await.unwrap();
    let pulled = device_reads(&s, &dev, &token, &id).await;
    let phones = pulled_phones(&pulled, &id);
    assert!(phones.len() >= 2, "{phones:?}");
    assert!(phones.iter().all(|(_, p)| p == "138****8000"), "{phones:?}");
    assert!(
        bindings(&s, &id).await.is_empty(),
        "no provider, no binding"
    );
    let (_, listed) = s.get("/api/assignments", &token).await;
    assert_eq!(listed[0]["customer"]["phone"], "138****8000", "{listed}");
    assert_eq!(listed[0]["customer"]["name"], "王伟");
}

async fn reassigning_unbinds_the_old_binding_and_binds_the_new_one(b: Backend) {
    let (s, sim, worker) = start(b).await;
    let (_, _) = s.technician("T-1", &["appliance_repair"]).await;
    let (dev2, token2) = s.technician("T-2", &["appliance_repair"]).await;
    let id = order(&s, Some("T-1")).await;
    let first = rounds_until(&worker, &s, &id, |b| state_of(b, "T-1") == ["bound"]).await;
    let x1 = first[0]["virtual_number"].as_str().unwrap().to_string();
    let (st, r) = s
        .post(
            &format!("/api/assignments/{id}/reassign"),
            &s.dispatcher,
            json!({"technician": "T-2"}),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    let b = rounds_until(&worker, &s, &id, |b| {
        state_of(b, "T-1") == ["unbound"] && state_of(b, "T-2") == ["bound"]
    })
    .await;
    let got = sim.received();
    let unbind = &got.privacy_unbound()[0];
    assert!(unbind.signature_valid);
    assert_eq!(unbind.secret_no.as_deref(), Some(x1.as_str()));
    assert_eq!(got.privacy_bound().len(), 2);
    let x2 = b.iter().find(|x| x["technician_id"] == "T-2").unwrap()["virtual_number"]
        .as_str()
        .unwrap()
        .to_string();
    let live = sim.privacy_live();
    assert_eq!(live.len(), 1, "the old binding is released: {live:?}");
    assert!(
        !live.contains_key(unbind.subs_id.as_deref().unwrap()),
        "{live:?}"
    );
    // The new technician's phone reads the new number only.
    let pulled = device_reads(&s, &dev2, &token2, &id).await;
    let phones = pulled_phones(&pulled, &id);
    assert_eq!(
        phones.last().map(|p| p.1.as_str()),
        Some(x2.as_str()),
        "{phones:?}"
    );
    assert!(phones.iter().all(|(_, p)| *p == x2), "{phones:?}");
}

async fn a_cancelled_or_finished_order_is_unbound(b: Backend) {
    let (s, sim, worker) = start(b).await;
    let (dev, token) = s.technician("T-1", &["appliance_repair"]).await;
    let cancelled = order(&s, Some("T-1")).await;
    let done = order(&s, Some("T-1")).await;
    rounds_until(&worker, &s, &done, |b| state_of(b, "T-1") == ["bound"]).await;
    rounds_until(&worker, &s, &cancelled, |b| state_of(b, "T-1") == ["bound"]).await;
    let (st, r) = s
        .post(
            &format!("/api/assignments/{cancelled}/cancel"),
            &s.dispatcher,
            json!({"reason": "客户取消"}),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    rounds_until(&worker, &s, &cancelled, |b| {
        state_of(b, "T-1") == ["unbound"]
    })
    .await;
    // The other order's visit is done: the technician left.
    let (_, a) = s
        .get(&format!("/api/assignments/{done}"), &s.dispatcher)
        .await;
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let mut w = Walkthrough::new(&pb, &assignment(&a), &device(&dev), Utc::now());
    let mut chain = None;
    let good = Ratings {
        quality: 5,
        attitude: 5,
    };
    w.go(None)
        .repair()
        .pay()
        .sign(good, None, &mut chain)
        .leave();
    let (st, r) = s.push(&token, &dev, &numbered(&w.events, 1)).await;
    assert_eq!(st, 200, "{r}");
    rounds_until(&worker, &s, &done, |b| state_of(b, "T-1") == ["unbound"]).await;
    assert_eq!(sim.received().privacy_unbound().len(), 2);
    assert!(sim.privacy_live().is_empty());
}

async fn a_provider_outage_is_retried_through_the_outbox(b: Backend) {
    let (s, sim, worker) = start(b).await;
    let (dev, token) = s.technician("T-1", &["appliance_repair"]).await;
    sim.behave(Behaviour {
        fail_next: 2,
        ..Behaviour::default()
    });
    let id = order(&s, Some("T-1")).await;
    let b = rounds_until(&worker, &s, &id, |b| state_of(b, "T-1") == ["bound"]).await;
    let got = sim.received();
    let failed = got.privacy.iter().filter(|r| r.outcome == "failed").count();
    assert_eq!(failed, 2, "{:#?}", got.privacy);
    assert_eq!(got.privacy_bound().len(), 1, "bound once");
    let (st, outbox) = s.get("/api/outbox", &s.dispatcher).await;
    assert_eq!(st, 200, "{outbox}");
    let text = outbox.to_string();
    assert!(text.contains("privacy_bind"), "{outbox}");
    let pulled = device_reads(&s, &dev, &token, &id).await;
    let x = b[0]["virtual_number"].as_str().unwrap();
    assert_eq!(pulled_phones(&pulled, &id).last().unwrap().1, x);
}

async fn dispatchers_keep_and_search_the_full_number(b: Backend) {
    let (s, _sim, worker) = start(b).await;
    let (_, _) = s.technician("T-1", &["appliance_repair"]).await;
    let id = order(&s, Some("T-1")).await;
    rounds_until(&worker, &s, &id, |b| state_of(b, "T-1") == ["bound"]).await;
    let (st, a) = s
        .get(&format!("/api/assignments/{id}"), &s.dispatcher)
        .await;
    assert_eq!(st, 200);
    assert_eq!(a["customer"]["phone"], PHONE);
    let (st, found) = s.get("/api/search?q=13800138000", &s.dispatcher).await;
    assert_eq!(st, 200, "{found}");
    assert!(found.to_string().contains(&id), "{found}");
    assert!(found.to_string().contains(PHONE), "{found}");
    // The list masks it for staff too (the order's page has it, logged),
    // never with the technician's virtual number.
    let (_, listed) = s.get("/api/assignments", &s.dispatcher).await;
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap();
    assert_eq!(row["customer"]["phone"], "138****8000");
}

async fn a_binding_near_its_end_is_extended_at_the_provider(b: Backend) {
    let (s, sim, worker) = start(b).await;
    s.technician("T-1", &["appliance_repair"]).await;
    let id = order(&s, Some("T-1")).await;
    let bound = rounds_until(&worker, &s, &id, |b| state_of(b, "T-1") == ["bound"]).await;
    let asked_hours = s.state.providers.privacy_binding_hours;
    let first_end = bound[0]["expires_at"].as_i64().expect("the binding's end");
    let now = Utc::now().timestamp_millis();
    assert!(
        (first_end - now - asked_hours * 3_600_000).abs() < 60_000,
        "{bound:?}"
    );

    // Far from its end: nothing is asked.
    for _ in 0..3 {
        worker.run_once().await.unwrap();
    }
    assert!(sim.received().privacy_renewed().is_empty());

    // A long job: the binding ends in an hour.
    let binding = bound[0]["id"].as_str().unwrap().to_string();
    let soon = now + 3_600_000;
    s.state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                tx.execute(
                    "UPDATE privacy_bindings SET expires_at = $2 WHERE id = $1",
                    &[binding.as_str().into(), soon.into()],
                )
                .await
            })
        })
        .await
        .unwrap();
    let extended = rounds_until(&worker, &s, &id, |b| {
        b[0]["expires_at"].as_i64().is_some_and(|e| e > soon)
    })
    .await;
    let got = sim.received();
    let renewals = got.privacy_renewed();
    assert_eq!(renewals.len(), 1, "{:?}", got.privacy);
    let r = renewals[0];
    assert!(r.signature_valid);
    assert_eq!(r.action, "UpdateSubscription");
    assert_eq!(r.subs_id.as_deref(), bound[0]["subs_id"].as_str());
    assert_eq!(r.secret_no.as_deref(), bound[0]["virtual_number"].as_str());
    let new_end = extended[0]["expires_at"].as_i64().unwrap();
    assert!(new_end - Utc::now().timestamp_millis() > (asked_hours - 1) * 3_600_000);
    // The provider's clock: China Standard Time.
    let cst =
        chrono::DateTime::from_timestamp_millis(new_end).unwrap() + chrono::Duration::hours(8);
    assert_eq!(r.expiration, cst.format("%Y-%m-%d %H:%M:%S").to_string());
    assert_eq!(extended[0]["state"], "bound");
    assert_eq!(extended[0]["virtual_number"], bound[0]["virtual_number"]);

    // Extended once for that end, however many rounds run.
    for _ in 0..5 {
        worker.run_once().await.unwrap();
    }
    assert_eq!(sim.received().privacy_renewed().len(), 1);
}

async fn a_bind_without_a_number_is_tried_again_once_the_customers_phone_is_added(b: Backend) {
    let (s, sim, worker) = start(b).await;
    s.technician("T-1", &["appliance_repair"]).await;
    let id = order_of(&s, Some("T-1"), None).await;
    let failed = rounds_until(&worker, &s, &id, |b| state_of(b, "T-1") == ["failed"]).await;
    assert!(failed[0]["failure_reason"]
        .as_str()
        .unwrap()
        .starts_with("no number to bind"));

    // Said once: more rounds add no binding and ask the provider nothing.
    for _ in 0..5 {
        worker.run_once().await.unwrap();
    }
    assert_eq!(bindings(&s, &id).await.len(), 1);
    assert!(sim.received().privacy.is_empty());

    // The dispatcher adds the customer's phone: bound.
    let (st, v) = s
        .get(&format!("/api/assignments/{id}"), &s.dispatcher)
        .await;
    assert_eq!(st, 200, "{v}");
    let mut customer = v["customer"].clone();
    customer["phone"] = json!(PHONE);
    let (st, r) = s
        .call(
            Method::PATCH,
            &format!("/api/assignments/{id}"),
            Some(&s.dispatcher),
            Some(json!({"customer": customer})),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    let b = rounds_until(&worker, &s, &id, |b| state_of(b, "T-1").contains(&"bound")).await;
    assert_eq!(
        state_of(&b, "T-1"),
        ["bound", "failed"],
        "the failure stays as history"
    );
    let got = sim.received();
    assert_eq!(got.privacy_bound().len(), 1);
    assert_eq!(got.privacy_bound()[0].phone_a, "13800138000");
}
