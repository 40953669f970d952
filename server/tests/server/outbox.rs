//! What leaves the server, against the providers' simulator over real
//! HTTP: customer notices (consent, quiet hours, retries after an outage,
//! exactly once per idempotency key across a kill -9 of the server), dead
//! letters retried by a dispatcher, signed webhooks for every milestone,
//! the polling feed and its API keys.

use crate::both_backends;
use crate::harness::{assignment, device, numbered, Backend, ServerProcess, Srv, PASSWORD};
use chrono::{Duration, Utc};
use doorstep_core::business_time::BusinessZone;
use doorstep_core::signoff::Ratings;
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::Playbook;
use doorstep_server::app::Config;
use doorstep_server::outbox::simulator::{
    Behaviour, Received, SimulatedAccount, Simulator, WechatAccount,
};
use doorstep_server::outbox::Worker;
use doorstep_server::providers::{
    parse_templates, parse_wechat_templates, ProviderSettings, QuietHours, QuietHoursSetting,
};
use doorstep_server::store;
use serde_json::{json, Value};
use std::sync::Arc;

both_backends!(
    a_notice_is_sent_once_despite_a_kill_mid_delivery,
    a_notice_is_retried_after_a_provider_outage,
    no_consent_no_notice,
    quiet_hours_hold_a_notice_until_the_morning,
    a_dead_letter_is_retried_by_a_dispatcher,
    a_webhook_receiver_sees_every_milestone_once_with_a_valid_signature,
    a_revoked_api_key_is_refused,
    a_bad_notice_consent_names_the_field,
    a_wechat_notice_is_a_template_message_to_the_customers_openid,
);

const SECRET_ID: &str = "AKIDsimulated";
const SECRET_KEY: &str = "simulated-secret-key";
const TEMPLATES: &str = "appointment_confirmed=1001,on_the_way=1002,done=1003,callback=1004,\
     appointment_confirmed.en=2001,on_the_way.en=2002,done.en=2003,callback.en=2004";
const WEBHOOK_KEY: &str = "webhook-signing-key-for-tests";

async fn simulator() -> Simulator {
    Simulator::spawn(
        "127.0.0.1:0".parse().unwrap(),
        SimulatedAccount {
            secret_id: SECRET_ID.into(),
            secret_key: SECRET_KEY.into(),
        },
    )
    .await
    .unwrap()
}

/// Quiet hours one minute long, twelve hours from now (never in the way).
fn quiet_hours_elsewhere() -> String {
    let zone = BusinessZone::shanghai();
    let start = zone.local(Utc::now() + Duration::hours(12));
    let end = start + Duration::minutes(1);
    format!("{}-{}", start.format("%H:%M"), end.format("%H:%M"))
}

/// Quiet hours around now: from an hour ago to `hours_ahead` from now.
fn quiet_hours_now(hours_ahead: i64) -> String {
    let zone = BusinessZone::shanghai();
    let start = zone.local(Utc::now() - Duration::hours(1));
    let end = zone.local(Utc::now() + Duration::hours(hours_ahead));
    format!("{}-{}", start.format("%H:%M"), end.format("%H:%M"))
}

fn providers(sim: &Simulator, quiet: &str) -> ProviderSettings {
    ProviderSettings {
        sms_endpoint: sim.url(),
        sms_secret_id: Some(SECRET_ID.into()),
        sms_secret_key: Some(SECRET_KEY.into()),
        sms_app_id: "1400000001".into(),
        sms_sign_name: "安心家电".into(),
        sms_templates: parse_templates(TEMPLATES).unwrap(),
        webhook_signing_key: Some(WEBHOOK_KEY.into()),
        notice_quiet_hours: QuietHoursSetting(QuietHours::parse(quiet).unwrap()),
        outbox_retry_base_ms: 100,
        outbox_lease_secs: 5,
        provider_timeout_secs: 5,
        ..ProviderSettings::default()
    }
}

/// A work order taken at intake with `consent`, assigned to T-1 (with a
/// work phone); returns the core assignment, the device and its token.
async fn order_with_consent(s: &Srv, consent: Option<Value>) -> (Value, String, String) {
    let (dev, token) = s.technician("T-1", &["appliance_repair"]).await;
    (consented_order(s, consent).await, dev, token)
}

/// A work order taken at intake with `consent`, assigned to T-1 (who exists).
async fn consented_order(s: &Srv, consent: Option<Value>) -> Value {
    let start = Utc::now() + Duration::hours(2);
    let mut body = json!({
        "classification": "general",
        "caller": {"name": "李女士", "phone": "138 0013 8000", "address": "上海市徐汇区漕溪北路 1 号",
                   "location": {"lat": 31.23, "lon": 121.47}},
        "content": "洗衣机不脱水",
        "trade": "appliance_repair",
        "product": {"model": "XQG-80", "purchase_date": "2025-01-02", "warranty": "out_of_warranty"},
        "requested_window": {"start": start, "end": start + Duration::hours(2)},
    });
    if let Some(c) = consent {
        body["notice_consent"] = c;
    }
    let (st, intake) = s.post("/api/intakes", &s.dispatcher, body).await;
    assert_eq!(st, 201, "{intake}");
    let id = intake["intake"]["assignment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, a) = s
        .post(
            &format!("/api/assignments/{id}/assign"),
            &s.dispatcher,
            json!({"technician": "T-1"}),
        )
        .await;
    assert_eq!(st, 200, "{a}");
    a
}

/// The technician confirms the appointment and sets off (two milestones a
/// customer is told of), pushed to the server.
async fn confirm_and_set_off(s: &Srv, a: &Value, dev: &str, token: &str) -> Walkthrough {
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let mut w = Walkthrough::new(&pb, &assignment(a), &device(dev), Utc::now());
    w.set_off(None);
    let (st, r) = s.push(token, dev, &numbered(&w.events, 1)).await;
    assert_eq!(st, 200, "{r}");
    w
}

/// Runs worker rounds until `done` holds of what the simulator received
/// (at most ~20 s).
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

async fn outbound(s: &Srv, assignment_id: &str) -> Value {
    let (st, body) = s
        .get(
            &format!("/api/assignments/{assignment_id}/outbound"),
            &s.dispatcher,
        )
        .await;
    assert_eq!(st, 200, "{body}");
    body
}

fn sms_consent() -> Value {
    json!({"consented": true, "channel": "sms"})
}

async fn a_notice_is_retried_after_a_provider_outage(b: Backend) {
    let sim = simulator().await;
    let s = Srv::start_with_providers(
        b,
        Config::default(),
        providers(&sim, &quiet_hours_elsewhere()),
    )
    .await;
    let worker = Arc::new(Worker::new(s.state.clone()));
    let (a, dev, token) = order_with_consent(&s, Some(sms_consent())).await;
    sim.behave(Behaviour {
        outage: true,
        ..Behaviour::default()
    });
    confirm_and_set_off(&s, &a, &dev, &token).await;
    rounds_until(&worker, &sim, |r| r.sms.len() >= 2).await;
    // While the provider is down, the order's history says why.
    let id = a["id"].as_str().unwrap();
    let during = outbound(&s, id).await;
    let notices = during["notices"].as_array().unwrap();
    assert_eq!(notices.len(), 2, "{during}");
    assert!(
        notices.iter().all(|n| n["state"] != "delivered"),
        "{during}"
    );
    assert!(
        notices
            .iter()
            .any(|n| n["last_error"].as_str().is_some_and(|e| e.contains("503"))),
        "{during}"
    );
    assert!(sim.received().sms_sent().is_empty());
    // The provider recovers: both are sent, once each.
    sim.behave(Behaviour::default());
    rounds_until(&worker, &sim, |r| r.sms_sent().len() == 2).await;
    let received = sim.received();
    let sent = received.sms_sent();
    let keys: std::collections::BTreeSet<_> = sent.iter().map(|r| &r.idempotency_key).collect();
    assert_eq!(keys.len(), 2);
    assert!(sent
        .iter()
        .all(|r| r.signature_valid && r.phone_numbers == ["+8613800138000"]));
    let on_the_way = sent
        .iter()
        .find(|r| r.template_id == "1002")
        .expect("on the way");
    assert_eq!(on_the_way.params[0], "Tech T-1");
    assert_eq!(on_the_way.params[2], "400 820 1234");
    let after = outbound(&s, id).await;
    for n in after["notices"].as_array().unwrap() {
        assert_eq!(n["state"], "delivered", "{after}");
        assert!(n["attempts"].as_i64().unwrap() >= 2, "{after}");
        assert!(n["provider_ref"]
            .as_str()
            .is_some_and(|r| r.starts_with("2640:")));
    }
    let confirmed = after["notices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["payload"]["moment"] == "appointment_confirmed")
        .unwrap();
    let text = confirmed["payload"]["text"].as_str().unwrap();
    assert!(text.starts_with("您的上门服务已确认："), "{text}");
    assert!(
        text.contains("工程师Tech T-1（工作电话 400 820 1234）"),
        "{text}"
    );
}

async fn a_notice_is_sent_once_despite_a_kill_mid_delivery(b: Backend) {
    let sim = simulator().await;
    let quiet = quiet_hours_elsewhere();
    let endpoint = sim.url();
    let args = [
        "--sms-endpoint",
        &endpoint,
        "--sms-secret-id",
        SECRET_ID,
        "--sms-secret-key",
        SECRET_KEY,
        "--sms-app-id",
        "1400000001",
        "--sms-sign-name",
        "安心家电",
        "--sms-templates",
        TEMPLATES,
        "--notice-quiet-hours",
        &quiet,
        "--outbox-poll-ms",
        "100",
        "--outbox-lease-secs",
        "2",
        "--provider-timeout-secs",
        "60",
    ];
    // The provider takes the first request (the SMS goes out) and never answers.
    sim.behave(Behaviour {
        stall_next: 1,
        ..Behaviour::default()
    });
    let server = ServerProcess::start(b, &args).await;
    let client = Client::login(&server.base).await;
    let (a, dev, token) = client.order_with_consent().await;
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let mut w = Walkthrough::new(&pb, &assignment(&a), &device(&dev), Utc::now());
    // Confirmed and on the way: two notices.
    w.set_off(None);
    client.push(&token, &dev, &w).await;
    wait_for(&sim, |r| r.sms.len() >= 2).await;
    let stalled = sim.received().sms[0].idempotency_key.clone();
    // The server dies mid-delivery, its claim still on the stalled message.
    let server = server.kill_and_restart(&args).await;
    let client = Client::login(&server.base).await;
    let id = a["id"].as_str().unwrap();
    let mut out = Value::Null;
    for _ in 0..300 {
        out = client.get(&format!("/api/assignments/{id}/outbound")).await;
        let notices = out["notices"].as_array().cloned().unwrap_or_default();
        if notices.len() == 2 && notices.iter().all(|n| n["state"] == "delivered") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let notices = out["notices"].as_array().unwrap();
    assert!(notices.iter().all(|n| n["state"] == "delivered"), "{out}");
    // Asked again after the restart with the same key, the provider sent
    // nothing twice: one SMS per idempotency key.
    let received = sim.received();
    let sent = received.sms_sent();
    assert_eq!(sent.len(), 2, "{received:#?}");
    assert_ne!(sent[0].idempotency_key, sent[1].idempotency_key);
    assert!(
        received
            .sms
            .iter()
            .any(|r| r.idempotency_key == stalled && r.outcome == "duplicate"),
        "{received:#?}"
    );
    let again = notices
        .iter()
        .find(|n| n["idempotency_key"] == stalled.as_str())
        .unwrap();
    assert_eq!(again["attempts"], 2, "{out}");
}

/// Waits (at most ~30 s) until the simulator has received what `done` wants.
async fn wait_for(sim: &Simulator, done: impl Fn(&Received) -> bool) {
    for _ in 0..300 {
        if done(&sim.received()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the simulator never saw it: {:#?}", sim.received());
}

/// Just enough of the API for a server in another process.
struct Client {
    base: String,
    http: reqwest::Client,
    token: String,
}

impl Client {
    async fn login(base: &str) -> Client {
        let http = reqwest::Client::new();
        let body: Value = http
            .post(format!("{base}/api/login"))
            .json(&json!({"username": "admin", "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Client {
            base: base.to_string(),
            http,
            token: body["token"].as_str().expect("a session").to_string(),
        }
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn order_with_consent(&self) -> (Value, String, String) {
        let t = self.token.clone();
        self.post(
            "/api/technicians",
            &t,
            json!({"id": "T-1", "name": "王伟", "trades": ["appliance_repair"], "phone": "400 820 1234"}),
        )
        .await;
        let enrolled = self
            .post(
                "/api/technicians/T-1/devices",
                &t,
                json!({"device_id": "phone-T-1"}),
            )
            .await;
        let start = Utc::now() + Duration::hours(2);
        let intake = self
            .post(
                "/api/intakes",
                &t,
                json!({
                    "classification": "general",
                    "caller": {"name": "李女士", "phone": "13800138000", "address": "上海市徐汇区漕溪北路 1 号",
                               "location": {"lat": 31.23, "lon": 121.47}},
                    "content": "洗衣机不脱水",
                    "trade": "appliance_repair",
                    "product": {"model": "XQG-80", "purchase_date": "2025-01-02", "warranty": "out_of_warranty"},
                    "requested_window": {"start": start, "end": start + Duration::hours(2)},
                    "notice_consent": {"consented": true, "channel": "sms"},
                }),
            )
            .await;
        let id = intake["intake"]["assignment_id"]
            .as_str()
            .unwrap()
            .to_string();
        let a = self
            .post(
                &format!("/api/assignments/{id}/assign"),
                &t,
                json!({"technician": "T-1"}),
            )
            .await;
        (
            a,
            "phone-T-1".to_string(),
            enrolled["token"].as_str().unwrap().to_string(),
        )
    }

    async fn push(&self, token: &str, dev: &str, w: &Walkthrough) {
        let req = doorstep_core::protocol::PushRequest {
            protocol_version: doorstep_core::protocol::PROTOCOL_VERSION,
            device_id: device(dev),
            sent_at: Some(Utc::now()),
            events: numbered(&w.events, 1)
                .into_iter()
                .map(|(seq, event)| doorstep_core::protocol::OutboxEvent { seq, event })
                .collect(),
        };
        self.post("/api/sync/push", token, serde_json::to_value(req).unwrap())
            .await;
    }
}

async fn no_consent_no_notice(b: Backend) {
    let sim = simulator().await;
    let s = Srv::start_with_providers(
        b,
        Config::default(),
        providers(&sim, &quiet_hours_elsewhere()),
    )
    .await;
    let worker = Arc::new(Worker::new(s.state.clone()));
    // The customer said no.
    let (a, dev, token) =
        order_with_consent(&s, Some(json!({"consented": false, "channel": "sms"}))).await;
    confirm_and_set_off(&s, &a, &dev, &token).await;
    for _ in 0..5 {
        worker.run_once().await.unwrap();
    }
    let id = a["id"].as_str().unwrap();
    let out = outbound(&s, id).await;
    assert_eq!(out["consent"]["consented"], false, "{out}");
    assert_eq!(out["notices"], json!([]), "{out}");
    // The milestones are there all the same (for webhooks and the feed).
    assert!(out["events"].as_array().unwrap().len() >= 2, "{out}");
    assert!(sim.received().sms.is_empty());
}

async fn quiet_hours_hold_a_notice_until_the_morning(b: Backend) {
    let sim = simulator().await;
    let quiet = quiet_hours_now(3);
    let s = Srv::start_with_providers(b, Config::default(), providers(&sim, &quiet)).await;
    let worker = Arc::new(Worker::new(s.state.clone()));
    let (a, dev, token) = order_with_consent(&s, Some(sms_consent())).await;
    confirm_and_set_off(&s, &a, &dev, &token).await;
    for _ in 0..5 {
        worker.run_once().await.unwrap();
    }
    assert!(sim.received().sms.is_empty(), "{:#?}", sim.received());
    let out = outbound(&s, a["id"].as_str().unwrap()).await;
    let notices = out["notices"].as_array().unwrap();
    assert_eq!(notices.len(), 2, "{out}");
    // Held, pending, until the quiet hours end (to the minute).
    let end = QuietHours::parse(&quiet)
        .unwrap()
        .release_time(Utc::now(), &BusinessZone::shanghai())
        .timestamp_millis();
    for n in notices {
        assert_eq!(n["state"], "pending", "{out}");
        assert_eq!(n["attempts"], 0, "{out}");
        let at = n["next_attempt_at"].as_i64().unwrap();
        assert!((at - end).abs() < 60_000, "{at} vs {end}");
        assert!(at > Utc::now().timestamp_millis() + 3_600_000);
    }
}

async fn a_dead_letter_is_retried_by_a_dispatcher(b: Backend) {
    let sim = simulator().await;
    let settings = ProviderSettings {
        outbox_max_attempts: 1,
        ..providers(&sim, &quiet_hours_elsewhere())
    };
    let s = Srv::start_with_providers(b, Config::default(), settings).await;
    let worker = Arc::new(Worker::new(s.state.clone()));
    let (a, dev, token) = order_with_consent(&s, Some(sms_consent())).await;
    sim.behave(Behaviour {
        outage: true,
        ..Behaviour::default()
    });
    confirm_and_set_off(&s, &a, &dev, &token).await;
    rounds_until(&worker, &sim, |r| r.sms.len() >= 2).await;
    let (st, dead) = s
        .get("/api/outbox?state=dead&kind=notice", &s.dispatcher)
        .await;
    assert_eq!(st, 200, "{dead}");
    let dead = dead.as_array().unwrap().clone();
    assert_eq!(dead.len(), 2, "{dead:?}");
    let (st, depth) = s.get("/api/outbox/depth", &s.dispatcher).await;
    assert_eq!((st, depth["dead"].as_i64()), (200, Some(2)), "{depth}");
    // The same depth is on /metrics, for the operator's alerting.
    let scraped = s.get_text("/metrics", None).await;
    assert!(
        scraped.contains(r#"doorstep_outbox_messages{state="dead"} 2"#),
        "{scraped}"
    );
    // The desk sees them in its requests queue, to send again or call.
    let (_, queue) = s.get("/api/requests", &s.dispatcher).await;
    let undelivered: Vec<&Value> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "notice_undelivered")
        .collect();
    assert_eq!(undelivered.len(), 2, "{queue}");
    assert_eq!(queue["counts"]["notice_undelivered"], 2, "{queue}");
    assert_eq!(undelivered[0]["assignment_id"], a["id"], "{queue}");
    assert_eq!(undelivered[0]["detail"]["channel"], "sms", "{queue}");
    // Dead stays dead: no more attempts on their own.
    for _ in 0..3 {
        worker.run_once().await.unwrap();
    }
    assert_eq!(sim.received().sms.len(), 2);
    sim.behave(Behaviour::default());
    let id = dead[0]["id"].as_str().unwrap();
    let (st, retried) = s
        .post(&format!("/api/outbox/{id}/retry"), &s.dispatcher, json!({}))
        .await;
    assert_eq!(st, 200, "{retried}");
    assert_eq!(retried["state"], "pending");
    let (_, queue) = s.get("/api/requests", &s.dispatcher).await;
    assert_eq!(
        queue["counts"]["notice_undelivered"], 1,
        "sent again: off the queue {queue}"
    );
    rounds_until(&worker, &sim, |r| r.sms_sent().len() == 1).await;
    let (_, again) = s
        .post(&format!("/api/outbox/{id}/retry"), &s.dispatcher, json!({}))
        .await;
    assert_eq!(again["error"]["code"], "not_dead", "{again}");
    assert!(again["error"]["message_zh"].as_str().is_some());
    let (st, _) = s
        .post("/api/outbox/no-such-id/retry", &s.dispatcher, json!({}))
        .await;
    assert_eq!(st, 404);
}

async fn a_webhook_receiver_sees_every_milestone_once_with_a_valid_signature(b: Backend) {
    let sim = simulator().await;
    let s = Srv::start_with_providers(
        b,
        Config::default(),
        providers(&sim, &quiet_hours_elsewhere()),
    )
    .await;
    let worker = Arc::new(Worker::new(s.state.clone()));
    let (st, hook) = s
        .post(
            "/api/webhooks",
            &s.admin,
            json!({"url": format!("{}/webhooks/erp", sim.url())}),
        )
        .await;
    assert_eq!(st, 201, "{hook}");
    sim.set_webhook_secret("erp", hook["secret"].as_str().unwrap());
    // The receiver fails twice before it answers: retries, not duplicates.
    sim.behave(Behaviour {
        fail_next: 2,
        ..Behaviour::default()
    });
    let (a, dev, token) = order_with_consent(&s, None).await;
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let mut w = Walkthrough::new(&pb, &assignment(&a), &device(&dev), Utc::now());
    let mut chain = None;
    w.completed(
        None,
        Ratings {
            quality: 5,
            attitude: 5,
        },
        &mut chain,
    );
    let (st, r) = s.push(&token, &dev, &numbered(&w.events, 1)).await;
    assert_eq!(st, 200, "{r}");
    let milestones = [
        "appointment_confirmed",
        "on_the_way",
        "arrived",
        "signed_off",
        "left",
    ];
    rounds_until(&worker, &sim, |r| {
        r.webhooks_accepted()
            .iter()
            .filter(|w| w.body["type"] == "visit.milestone")
            .count()
            == milestones.len()
    })
    .await;
    // The polling feed has every event, in order, paged.
    let (st, key) = s
        .post("/api/api-keys", &s.admin, json!({"name": "品牌方 ERP"}))
        .await;
    assert_eq!(st, 201, "{key}");
    let key = key["key"].as_str().unwrap().to_string();
    let mut after = 0;
    let mut feed = vec![];
    loop {
        let (st, page) = s
            .get(&format!("/api/feed?after={after}&limit=3"), &key)
            .await;
        assert_eq!(st, 200, "{page}");
        let events = page["events"].as_array().unwrap().clone();
        if events.is_empty() {
            break;
        }
        after = page["next_after"].as_i64().unwrap();
        feed.extend(events);
    }
    let seqs: Vec<i64> = feed.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    // Every one of them reaches the receiver, once.
    rounds_until(&worker, &sim, |r| r.webhooks_accepted().len() >= feed.len()).await;
    for _ in 0..3 {
        worker.run_once().await.unwrap();
    }
    let received = sim.received();
    let accepted = received.webhooks_accepted();
    assert!(
        received
            .webhooks
            .iter()
            .filter(|w| w.outcome == "failed")
            .count()
            == 2
    );
    assert!(accepted.iter().all(|w| w.signature_valid), "{received:#?}");
    let keys: std::collections::BTreeSet<_> = accepted.iter().map(|w| &w.idempotency_key).collect();
    assert_eq!(
        keys.len(),
        accepted.len(),
        "one delivery per key: {received:#?}"
    );
    let seen: Vec<&str> = accepted
        .iter()
        .filter(|w| w.body["type"] == "visit.milestone")
        .map(|w| w.body["data"]["milestone"].as_str().unwrap())
        .collect();
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    let mut expected = milestones.to_vec();
    expected.sort_unstable();
    assert_eq!(sorted, expected, "{received:#?}");
    // The order's status changes were sent too (open → assigned → …).
    let statuses: Vec<&str> = accepted
        .iter()
        .filter(|w| w.body["type"] == "order.status_changed")
        .map(|w| w.body["data"]["to"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"assigned"), "{statuses:?}");
    let feed_ids: std::collections::BTreeSet<_> = feed
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let hook_ids: std::collections::BTreeSet<_> = accepted
        .iter()
        .map(|w| w.body["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(feed_ids, hook_ids);
}

async fn a_revoked_api_key_is_refused(b: Backend) {
    let s = Srv::start(b).await;
    let (st, created) = s
        .post(
            "/api/api-keys",
            &s.admin,
            json!({"name": "平台对接", "scopes": ["feed:read"]}),
        )
        .await;
    assert_eq!(st, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_string();
    let (st, page) = s.get("/api/feed", &key).await;
    assert_eq!(st, 200, "{page}");
    // A dispatcher may not make keys; the list never shows a key.
    let (st, _) = s
        .post("/api/api-keys", &s.dispatcher, json!({"name": "x"}))
        .await;
    assert_eq!(st, 403);
    let (_, list) = s.get("/api/api-keys", &s.admin).await;
    assert!(
        list[0].get("key").is_none() && list[0]["revoked_at"].is_null(),
        "{list}"
    );
    let id = created["id"].as_str().unwrap();
    let (st, _) = s
        .post(&format!("/api/api-keys/{id}/revoke"), &s.admin, json!({}))
        .await;
    assert_eq!(st, 204);
    let (st, refused) = s.get("/api/feed", &key).await;
    assert_eq!(st, 401, "{refused}");
    assert!(refused["error"]["message_zh"]
        .as_str()
        .unwrap()
        .contains("吊销"));
    // A session token is no API key either.
    let (st, _) = s.get("/api/feed", &s.admin).await;
    assert_eq!(st, 401);
}

async fn a_bad_notice_consent_names_the_field(b: Backend) {
    let s = Srv::start(b).await;
    let (st, body) = s
        .post(
            "/api/intakes",
            &s.dispatcher,
            json!({
                "classification": "general",
                "caller": {"name": "李女士", "phone": "021 5555 1234", "address": "上海市"},
                "content": "洗衣机不脱水",
                "trade": "appliance_repair",
                "notice_consent": {"consented": true, "channel": "sms"},
            }),
        )
        .await;
    assert_eq!(st, 400, "{body}");
    assert_eq!(body["error"]["field"], "notice_consent.address");
    assert!(body["error"]["message_zh"]
        .as_str()
        .unwrap()
        .contains("手机号"));
    let (st, body) = s
        .post(
            "/api/intakes",
            &s.dispatcher,
            json!({
                "classification": "general",
                "caller": {"name": "李女士", "phone": "13800138000", "address": "上海市"},
                "content": "洗衣机不脱水",
                "trade": "appliance_repair",
                "notice_consent": {"consented": true, "channel": "pager"},
            }),
        )
        .await;
    assert_eq!(st, 400, "{body}");
    assert_eq!(body["error"]["field"], "notice_consent.channel");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("sms or wechat"));
}

async fn a_wechat_notice_is_a_template_message_to_the_customers_openid(b: Backend) {
    let sim = simulator().await;
    sim.set_wechat_account(WechatAccount {
        appid: "wx0000000000sim01".into(),
        appsecret: "sim-wechat-secret".into(),
        unfollowed: vec!["oUnfollowed_0001".into()],
    });
    let settings = ProviderSettings {
        wechat_endpoint: sim.url(),
        wechat_appid: Some("wx0000000000sim01".into()),
        wechat_appsecret: Some("sim-wechat-secret".into()),
        wechat_templates: parse_wechat_templates(
            "appointment_confirmed=TplConfirm_1:time1|thing2|phone_number3,on_the_way=TplWay-2",
        )
        .unwrap(),
        ..providers(&sim, &quiet_hours_elsewhere())
    };
    let s = Srv::start_with_providers(b, Config::default(), settings).await;
    let worker = Arc::new(Worker::new(s.state.clone()));
    let wechat = |openid: &str| json!({"consented": true, "channel": "wechat", "address": openid});
    let (a, dev, token) = order_with_consent(&s, Some(wechat("oCustomer_0001"))).await;
    let first = confirm_and_set_off(&s, &a, &dev, &token).await;
    rounds_until(&worker, &sim, |r| {
        r.wechat_messages
            .iter()
            .filter(|m| m.outcome == "sent")
            .count()
            == 2
    })
    .await;
    let got = sim.received();
    assert_eq!(got.wechat_tokens, vec![true], "one access_token for both");
    assert!(got.sms.is_empty(), "nothing by SMS");
    let by = |id: &str| {
        got.wechat_messages
            .iter()
            .find(|m| m.template_id == id)
            .unwrap()
    };
    let confirmed = by("TplConfirm_1");
    assert!(confirmed.token_valid);
    assert_eq!(confirmed.touser, "oCustomer_0001");
    let data = confirmed.data.as_object().unwrap();
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        ["phone_number3", "thing2", "time1"]
    );
    assert_eq!(data["thing2"]["value"], "Tech T-1", "the technician");
    assert_eq!(
        data["phone_number3"]["value"], "400 820 1234",
        "the work phone"
    );
    assert!(
        !data["time1"]["value"].as_str().unwrap().is_empty(),
        "the window"
    );
    // Without keywords registered, the variables' own names.
    let way = by("TplWay-2");
    assert!(
        way.data.get("eta").is_some() && way.data.get("technician").is_some(),
        "{}",
        way.data
    );
    let out = outbound(&s, a["id"].as_str().unwrap()).await;
    assert!(
        out["notices"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["state"] == "delivered" && n["target"] == "wechat"),
        "{out}"
    );

    // A customer who unfollowed the account: a dead letter saying so, not retried.
    let a2 = consented_order(&s, Some(wechat("oUnfollowed_0001"))).await;
    let id2 = a2["id"].as_str().unwrap().to_string();
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let mut w = Walkthrough::new(&pb, &assignment(&a2), &device(&dev), Utc::now());
    w.set_off(None);
    let next = first.events.len() as u64 + 1;
    let (st, r) = s.push(&token, &dev, &numbered(&w.events, next)).await;
    assert_eq!(st, 200, "{r}");
    for _ in 0..100 {
        worker.run_once().await.unwrap();
        let out = outbound(&s, &id2).await;
        if out["notices"]
            .as_array()
            .is_some_and(|n| !n.is_empty() && n.iter().all(|m| m["state"] == "dead"))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let out = outbound(&s, &id2).await;
    let notices = out["notices"].as_array().unwrap();
    assert!(!notices.is_empty(), "{out}");
    for n in notices {
        assert_eq!(n["state"], "dead", "{out}");
        assert_eq!(n["attempts"], 1, "a refusal is not retried: {out}");
        assert!(n["last_error"].as_str().unwrap().contains("43004"), "{out}");
    }
}

#[tokio::test]
async fn an_orders_messages_visits_and_events_are_searched_by_index_not_read_whole() {
    // SQLite's plans are deterministic; PostgreSQL has the same indexes
    // (schema_parity.rs).
    let s = Srv::start(Backend::Sqlite).await;
    let order = Some("A-20261207-0001");
    let queries = [
        // An order's view: its notices and its webhooks.
        (
            "outbox",
            store::outbox::list_query(None, Some("notice"), order, 500),
        ),
        // The desk's queue: the notices that could not be delivered.
        (
            "outbox",
            store::outbox::list_query(
                Some(store::outbox::OutboxState::Dead),
                Some("notice"),
                None,
                50,
            ),
        ),
        // An order's view: its integration events.
        (
            "integration_events",
            (
                store::integrations::events_of_assignment_sql(),
                vec![order.into()],
            ),
        ),
        // An order's history: the visits of each earlier order.
        (
            "visits",
            store::visits::list_query(None, order.map(String::from), 100),
        ),
        // Who read an order's customer contact.
        (
            "contact_access_log",
            store::personal_data::access_log_query(order.map(String::from), None, 50),
        ),
        // The orders in one status, newest first.
        (
            "assignments",
            store::assignments::list_query(None, Some("assigned".into()), 50),
        ),
    ];
    for (table, (sql, params)) in queries {
        let plan = s.sqlite_plan(&sql, params).await;
        // A SCAN reads the whole table, even in an index's order.
        let reads: Vec<_> = plan.iter().filter(|step| step.contains(table)).collect();
        assert!(
            !reads.is_empty() && reads.iter().all(|step| step.starts_with("SEARCH ")),
            "{sql}: {plan:?}"
        );
    }
}

#[tokio::test]
async fn the_newest_pages_of_messages_and_intakes_are_read_from_an_index() {
    let s = Srv::start(Backend::Sqlite).await;
    // Read backwards through an index until the page is full: no sort of
    // every message or every intake first.
    let (sql, params) = store::outbox::list_query(None, None, None, 50);
    assert_eq!(
        s.sqlite_plan(&sql, params).await,
        vec!["SCAN outbox USING INDEX outbox_newest"]
    );
    let (sql, params) = store::intakes::list_query(None);
    assert_eq!(
        s.sqlite_plan(&sql, params).await,
        vec!["SCAN intakes USING INDEX intakes_newest"]
    );
}
