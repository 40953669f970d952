//! The customer's acceptance code (验收码, issue 19) at the center, against
//! the providers' simulator over real HTTP, on both databases: issued with a
//! computer-repair order and sent to the customer when it is dispatched;
//! the phone receives only the slow check and closes the visit with the
//! code the customer reads out; a forged "matched" is refused; after five
//! wrong codes the phone sends the codes unchecked and the center checks
//! them; a new code issued at the desk replaces the old one on the phone and
//! reaches the customer.

use crate::both_backends;
use crate::harness::{assignment, device, numbered, Backend, Srv};
use chrono::{Duration, Utc};
use doorstep_core::business_time::BusinessZone;
use doorstep_core::signoff::Ratings;
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::workflow::event::{EventKind, Outcome};
use doorstep_core::{Playbook, VisitCommand};
use doorstep_server::app::Config;
use doorstep_server::outbox::simulator::{SimulatedAccount, Simulator};
use doorstep_server::outbox::Worker;
use doorstep_server::providers::{
    parse_templates, ProviderSettings, QuietHours, QuietHoursSetting,
};
use doorstep_server::store::acceptance_codes::{self, AcceptanceCodeRow};
use serde_json::{json, Value};
use std::sync::Arc;

both_backends!(
    the_code_is_sent_when_the_order_is_dispatched_and_closes_the_visit,
    a_forged_match_is_refused,
    codes_sent_after_five_wrong_ones_are_checked_at_the_center,
    a_new_code_issued_at_the_desk_replaces_the_old_one_and_reaches_the_customer,
);

const GOOD: Ratings = Ratings {
    quality: 5,
    attitude: 5,
};

/// A computer-repair order taken at intake (with `consent`) and assigned to
/// T-1; the assignment as dispatched, the device and its token.
async fn dispatched_order(s: &Srv, consent: Option<Value>) -> (Value, String, String) {
    let (dev, token) = s.technician("T-1", &["computer_repair"]).await;
    let start = Utc::now() + Duration::hours(2);
    let mut body = json!({
        "classification": "general",
        "caller": {"name": "陈女士", "phone": "139 8001 2468", "address": "成都市武侯区天府大道北段 1700 号",
                   "location": {"lat": 30.57, "lon": 104.06}},
        "content": "笔记本开机蓝屏",
        "trade": "computer_repair",
        "product": {"model": "ThinkPad X1", "purchase_date": "2025-03-02", "warranty": "out_of_warranty"},
        "requested_window": {"start": start, "end": start + Duration::hours(2)},
    });
    if let Some(c) = consent {
        body["notice_consent"] = c;
    }
    let (st, intake) = s.post("/api/intakes", &s.dispatcher, body).await;
    assert_eq!(st, 201, "{intake}");
    let id = intake["intake"]["assignment_id"].as_str().unwrap();
    let (st, a) = s
        .post(
            &format!("/api/assignments/{id}/assign"),
            &s.dispatcher,
            json!({"technician": "T-1"}),
        )
        .await;
    assert_eq!(st, 200, "{a}");
    (a, dev, token)
}

async fn issued(s: &Srv, assignment_id: &str) -> AcceptanceCodeRow {
    let id = assignment_id.to_string();
    s.state
        .db
        .tx(move |tx| Box::pin(async move { acceptance_codes::of_assignment(tx, &id).await }))
        .await
        .unwrap()
        .expect("a code issued with the order")
}

/// The visit walked by the book up to the customer's signature.
fn signed_visit(a: &Value, dev: &str) -> Walkthrough {
    let pb = Playbook::shipped_by_id("computer_repair").unwrap();
    let mut w = Walkthrough::new(&pb, &assignment(a), &device(dev), Utc::now());
    let mut chain = None;
    w.go(None).repair().pay().sign(GOOD, None, &mut chain);
    w
}

fn enter(w: &mut Walkthrough, code: &str) -> Option<bool> {
    let events = w
        .apply(
            1,
            VisitCommand::EnterAcceptanceCode { code: code.into() },
            None,
            None,
        )
        .unwrap();
    match &events[0].kind {
        EventKind::AcceptanceCodeEntered { matched, .. } => *matched,
        other => panic!("{other:?}"),
    }
}

/// Quiet hours that do not hold now (two to three hours ahead, Beijing
/// time): the notices go out whenever the test runs, never held till morning.
fn quiet_hours_not_now() -> String {
    let zone = BusinessZone::shanghai();
    let from = zone.local(Utc::now() + Duration::hours(2));
    let to = zone.local(Utc::now() + Duration::hours(3));
    format!("{}-{}", from.format("%H:%M"), to.format("%H:%M"))
}

/// A server whose SMS goes to the providers' simulator, with its worker.
async fn with_sms(b: Backend) -> (Srv, Simulator, Arc<Worker>) {
    let sim = Simulator::spawn(
        "127.0.0.1:0".parse().unwrap(),
        SimulatedAccount {
            secret_id: "AKIDsimulated".into(),
            secret_key: "simulated-secret-key".into(),
        },
    )
    .await
    .unwrap();
    let providers = ProviderSettings {
        sms_endpoint: sim.url(),
        sms_secret_id: Some("AKIDsimulated".into()),
        sms_secret_key: Some("simulated-secret-key".into()),
        sms_app_id: "1400000001".into(),
        sms_sign_name: "到家电脑服务".into(),
        sms_templates: parse_templates("appointment_confirmed=1001,acceptance_code=1005").unwrap(),
        notice_quiet_hours: QuietHoursSetting(QuietHours::parse(&quiet_hours_not_now()).unwrap()),
        outbox_retry_base_ms: 100,
        ..ProviderSettings::default()
    };
    let s = Srv::start_with_providers(b, Config::default(), providers).await;
    let worker = Arc::new(Worker::new(s.state.clone()));
    (s, sim, worker)
}

/// The codes the customer received by SMS so far, in order, once the
/// worker delivered the `n`th.
async fn codes_received(sim: &Simulator, worker: &Arc<Worker>, n: usize) -> Vec<String> {
    for _ in 0..100 {
        worker.run_once().await.unwrap();
        let codes: Vec<String> = sim
            .received()
            .sms_sent()
            .into_iter()
            .filter(|r| r.template_id == "1005")
            .map(|sms| {
                assert_eq!(sms.phone_numbers, ["+8613980012468"]);
                sms.params[0].clone()
            })
            .collect();
        if codes.len() >= n {
            return codes;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the acceptance code SMS number {n} never came");
}

async fn the_code_is_sent_when_the_order_is_dispatched_and_closes_the_visit(b: Backend) {
    let (s, sim, worker) = with_sms(b).await;
    let (a, dev, token) =
        dispatched_order(&s, Some(json!({"consented": true, "channel": "sms"}))).await;
    let id = a["id"].as_str().unwrap().to_string();

    // The customer receives the code by SMS, once.
    let code = codes_received(&sim, &worker, 1).await.remove(0);
    assert_eq!(code, issued(&s, &id).await.code);
    assert!(doorstep_core::acceptance_code::well_formed(&code));

    // The phone holds the check, never the code.
    let check = assignment(&a)
        .acceptance
        .expect("the check rides on the assignment");
    assert!(check.matches(&id, &code));
    assert!(!a.to_string().contains(&format!("\"{code}\"")), "{a}");

    // The customer reads it out after signing; the visit closes.
    let mut w = signed_visit(&a, &dev).with_acceptance_code(&code);
    w.leave();
    assert_eq!(w.state.outcome, Some(Outcome::Fixed));
    let (st, r) = s.push(&token, &dev, &numbered(&w.events, 1)).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["refused"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(
        issued(&s, &id).await.center_result.as_deref(),
        Some("accepted")
    );

    // Dispatched once: a reassignment does not send the code again.
    s.technician("T-2", &["computer_repair"]).await;
    let (st, _) = s
        .post(
            &format!("/api/assignments/{id}/assign"),
            &s.dispatcher,
            json!({"technician": "T-2"}),
        )
        .await;
    assert!(st == 200 || st == 409, "{st}");
    for _ in 0..5 {
        worker.run_once().await.unwrap();
    }
    let sent = sim.received();
    let codes_sent = sent
        .sms_sent()
        .into_iter()
        .filter(|r| r.template_id == "1005")
        .count();
    assert_eq!(codes_sent, 1);
}

async fn a_forged_match_is_refused(b: Backend) {
    let s = Srv::start(b).await;
    let (a, dev, token) = dispatched_order(&s, None).await;
    let mut w = signed_visit(&a, &dev);
    assert_eq!(enter(&mut w, "999999").or(Some(false)), Some(false));
    // The phone's record claims the wrong code matched.
    let mut forged = w.events.clone();
    if let EventKind::AcceptanceCodeEntered { matched, .. } = &mut forged.last_mut().unwrap().kind {
        *matched = Some(true);
    }
    let last = forged.len() as u64;
    let (st, r) = s.push(&token, &dev, &numbered(&forged, 1)).await;
    assert_eq!(st, 200, "{r}");
    let refused: Vec<_> = r["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["seq"].as_u64().unwrap(),
                x["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        vec![(last, "not_workflow_fact".to_string())],
        "{r}"
    );
    let id = a["id"].as_str().unwrap();
    assert_eq!(issued(&s, id).await.center_result, None);
}

async fn codes_sent_after_five_wrong_ones_are_checked_at_the_center(b: Backend) {
    let s = Srv::start(b).await;
    let (a, dev, token) = dispatched_order(&s, None).await;
    let id = a["id"].as_str().unwrap().to_string();
    let code = issued(&s, &id).await.code;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mut w = signed_visit(&a, &dev);
    for _ in 0..5 {
        assert_eq!(enter(&mut w, wrong), Some(false));
    }
    // Unchecked on the phone: a wrong code goes to the center, and so does the right one.
    assert_eq!(enter(&mut w, wrong), None);
    let (st, r) = s.push(&token, &dev, &numbered(&w.events, 1)).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["refused"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(
        issued(&s, &id).await.center_result.as_deref(),
        Some("wrong")
    );
    // The desk is asked to follow it up, never shown the code itself.
    let wrong_at_desk = |q: &Value| -> Vec<Value> {
        q["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["kind"] == "acceptance_code_wrong" && i["assignment_id"] == id.as_str())
            .cloned()
            .collect()
    };
    let (st, q) = s.get("/api/requests", &s.dispatcher).await;
    assert_eq!(st, 200, "{q}");
    let items = wrong_at_desk(&q);
    assert_eq!(items.len(), 1, "{q}");
    assert!(!items[0].to_string().contains(wrong), "{}", items[0]);
    assert_eq!(q["counts"]["acceptance_code_wrong"], 1);
    let pushed = w.events.len() as u64;
    assert_eq!(enter(&mut w, &code), None);
    w.leave();
    let (st, r) = s
        .push(
            &token,
            &dev,
            &numbered(&w.events[pushed as usize..], pushed + 1),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["refused"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(
        issued(&s, &id).await.center_result.as_deref(),
        Some("accepted")
    );
    // Accepted: nothing waits for the desk.
    let (_, q) = s.get("/api/requests", &s.dispatcher).await;
    assert!(wrong_at_desk(&q).is_empty(), "{q}");
}

async fn a_new_code_issued_at_the_desk_replaces_the_old_one_and_reaches_the_customer(b: Backend) {
    let (s, sim, worker) = with_sms(b).await;
    let (a, dev, token) =
        dispatched_order(&s, Some(json!({"consented": true, "channel": "sms"}))).await;
    let id = a["id"].as_str().unwrap().to_string();
    let first = codes_received(&sim, &worker, 1).await.remove(0);

    // The customer lost the SMS: the desk issues a new code.
    let reissue = format!("/api/assignments/{id}/acceptance-code/reissue");
    let (st, r) = s.post(&reissue, &s.dispatcher, json!(null)).await;
    assert_eq!(st, 200, "{r}");
    let version = r["version"].as_u64().unwrap();
    assert_eq!(version, a["version"].as_u64().unwrap() + 1);
    assert!(
        !r.to_string().contains(&first),
        "no code in the answer: {r}"
    );
    let codes = codes_received(&sim, &worker, 2).await;
    let second = codes[1].clone();
    assert_eq!(second, issued(&s, &id).await.code);

    // The phone reads the new version: its check matches the new code only.
    let (st, now) = s.get(&format!("/api/assignments/{id}"), &token).await;
    assert_eq!(st, 200, "{now}");
    assert_eq!(now["version"].as_u64(), Some(version));
    assert!(
        !now.to_string().contains(&format!("\"{second}\"")),
        "the phone gets the check, never the code"
    );
    let check = assignment(&now).acceptance.expect("the new check");
    assert!(check.matches(&id, &second));
    if first != second {
        assert!(
            !check.matches(&id, &first),
            "the lost code no longer closes the order"
        );
    }

    // The order's history says so, with who did it.
    let (st, h) = s
        .get(&format!("/api/assignments/{id}/history"), &s.dispatcher)
        .await;
    assert_eq!(st, 200, "{h}");
    let last = h.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "acceptance_code_reissued", "{h}");
    assert_eq!(last["version"].as_u64(), Some(version));

    // The customer reads out the new code after signing: accepted, it is
    // never replaced; once the visit closes, the order is done.
    let mut w = signed_visit(&now, &dev);
    assert_eq!(enter(&mut w, &second), Some(true));
    let (st, pushed) = s.push(&token, &dev, &numbered(&w.events, 1)).await;
    assert_eq!(st, 200, "{pushed}");
    assert_eq!(pushed["refused"].as_array().unwrap().len(), 0, "{pushed}");
    let (st, e) = s.post(&reissue, &s.dispatcher, json!(null)).await;
    assert_eq!(st, 409, "{e}");
    assert_eq!(e["error"]["code"], "acceptance_code_accepted", "{e}");
    assert_eq!(
        e["error"]["message_zh"],
        "客户的验收码已核验通过，无需重新发放。"
    );
    let pushed_before = w.events.len();
    w.leave();
    assert_eq!(w.state.outcome, Some(Outcome::Fixed));
    let rest = numbered(&w.events, 1).split_off(pushed_before);
    let (st, pushed) = s.push(&token, &dev, &rest).await;
    assert_eq!(st, 200, "{pushed}");
    assert_eq!(pushed["refused"].as_array().unwrap().len(), 0, "{pushed}");
    let (st, e) = s.post(&reissue, &s.dispatcher, json!(null)).await;
    assert_eq!(st, 409, "{e}");
    assert_eq!(e["error"]["code"], "order_done", "{e}");

    // A trade whose standard asks for no code has none to issue; the phone
    // cannot issue codes.
    let other = s.assignment("appliance_repair", None).await;
    let (st, e) = s
        .post(
            &format!(
                "/api/assignments/{}/acceptance-code/reissue",
                other["id"].as_str().unwrap()
            ),
            &s.dispatcher,
            json!(null),
        )
        .await;
    assert_eq!(st, 409, "{e}");
    assert_eq!(e["error"]["code"], "acceptance_code_not_used", "{e}");
    let (st, _) = s.post(&reissue, &token, json!(null)).await;
    assert_eq!(st, 403);
}
