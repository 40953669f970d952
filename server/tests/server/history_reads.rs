//! The day's work costs the same over a long history as over a short one:
//! every statement the server runs for a day of one technician and the
//! dispatcher watching him (the order taken and given, the visit pushed,
//! the phone's pull, every list and page of the console) is counted in
//! SQLite's own steps (`sqlite3_stmt_status`, see
//! `store/sqlite_statement_work.rs`), once after some weeks of past visits
//! and once again after as many more. A statement that does more work the
//! second time walks history it does not show: a missing index, or a filter
//! no index can serve. Steps, not times: the same workload gives the same
//! counts on any machine and under any load. SQLite only (PostgreSQL's
//! plans differ and keep their own statistics).

use crate::harness::{assignment, completed_visit, device, numbered, Srv};
use chrono::{DateTime, Duration, Utc};
use doorstep_core::business_time::BusinessZone;
use doorstep_core::protocol::{PullRequest, PullResponse, PROTOCOL_VERSION};
use doorstep_core::store::statement_work;
use doorstep_core::VisitEvent;
use doorstep_server::model::Classification;
use doorstep_server::store::intakes;
use serde_json::{json, Value};

/// Past visits added before each measured day: as many again the second
/// time. Each leaves about 36 facts, 3 photos and 8 integration events;
/// walking the visits costs some 1 000 steps more the second time, walking
/// their facts some 30 000.
const PAST_VISITS: i64 = 300;

/// Consultations (intakes without an order) the desk answered for other
/// callers a past visit: enough that the desk's list of the newest 500
/// intakes is full both days.
const CONSULTATIONS_A_VISIT: i64 = 2;

/// Visits pushed together in one push while the past is written.
const PAST_VISITS_A_PUSH: usize = 10;

/// How many more steps a statement may take on the second day: the day's
/// own answers are the same size both days, within a row or two.
const STEPS_MAY_GROW: u64 = 250;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_statement_of_a_days_work_grows_with_the_history_it_does_not_show() {
    let s = Srv::start(crate::harness::Backend::Sqlite).await;
    let work = s
        .state
        .db
        .statement_work()
        .expect("SQLite counts its steps");
    let mut past = Past::begin(&s).await;
    let mut today = Today::begin(&s).await;

    past.add(&s, PAST_VISITS).await;
    work.keep_runs_over(0);
    work.take();
    today.work_a_day(&s, 1).await;
    let first = work.take();

    past.add(&s, PAST_VISITS).await;
    work.take();
    today.work_a_day(&s, 2).await;
    let second = work.take();

    let grown = statement_work::grown(&first, &second, STEPS_MAY_GROW);
    assert!(
        grown.is_empty(),
        "{} statements of the day's work did more work over a longer history:\n{}",
        grown.len(),
        grown.join("\n")
    );
    assert!(
        second.len() > 80,
        "the day ran {} distinct statements: the workload lost its reads",
        second.len()
    );
}

/// The history: one technician's finished visits, a day apart, going back
/// from 30 days ago, each called back as the center does, and as many
/// consultations the desk answered for other callers.
struct Past {
    device: String,
    token: String,
    seq: u64,
    visits: i64,
    consultations: i64,
}

impl Past {
    async fn begin(s: &Srv) -> Past {
        let (device, token) = s.technician("T-past", &["appliance_repair"]).await;
        Past {
            device,
            token,
            seq: 1,
            visits: 0,
            consultations: 0,
        }
    }

    async fn add(&mut self, s: &Srv, n: i64) {
        let mut batch: Vec<VisitEvent> = vec![];
        for _ in 0..n {
            self.visits += 1;
            let start = Utc::now() - Duration::days(30) - Duration::hours(6 * self.visits);
            let a = assignment(
                &s.assignment_at("appliance_repair", Some("T-past"), start)
                    .await,
            );
            let v = completed_visit(&a, &self.device, start - Duration::hours(2));
            batch.extend(v.events);

            if (self.visits as usize).is_multiple_of(PAST_VISITS_A_PUSH) {
                self.push(s, std::mem::take(&mut batch)).await;
            }
        }
        self.push(s, batch).await;
        self.consultations(s, n * CONSULTATIONS_A_VISIT).await;
        // The center called every past customer back.
        s.state
            .db
            .tx(|tx| {
                Box::pin(async move {
                    tx.execute(
                        "UPDATE callbacks SET done_at = due_at, done_by = 'desk', reached = 1, satisfied = 1
                         WHERE done_at IS NULL",
                        &[],
                    )
                    .await
                })
            })
            .await
            .unwrap();
    }

    /// Calls the desk answered for other callers, without an order,
    /// recorded as the intake endpoint records them.
    async fn consultations(&mut self, s: &Srv, n: i64) {
        let first = self.consultations;
        self.consultations += n;
        let received_at = (Utc::now() - Duration::days(30)).timestamp_millis();
        s.state
            .db
            .tx(move |tx| {
                Box::pin(async move {
                    for i in first..first + n {
                        let id = format!("I-PAST-{i:06}");
                        intakes::insert_intake(
                            tx,
                            intakes::NewIntake {
                                id: &id,
                                classification: Classification::Consultation,
                                received_at: received_at - i * 60_000,
                                caller_json:
                                    json!({"name": "咨询客户", "phone": format!("137 {i:08}")})
                                        .to_string(),
                                content: "保修期多久？",
                                answer: Some("整机一年"),
                                assignment_id: None,
                                escalated: false,
                                recorded_by: "desk",
                            },
                        )
                        .await?;
                    }
                    Ok::<_, doorstep_server::failure::Failure>(())
                })
            })
            .await
            .unwrap();
    }

    async fn push(&mut self, s: &Srv, events: Vec<VisitEvent>) {
        if events.is_empty() {
            return;
        }
        let (st, r) = s
            .push(&self.token, &self.device, &numbered(&events, self.seq))
            .await;
        assert_eq!(st, 200, "{r}");
        assert_eq!(r["refused"].as_array().unwrap().len(), 0, "{r}");
        self.seq += events.len() as u64;
    }
}

/// Today's technician, his phone and the dispatcher's reads.
struct Today {
    device: String,
    token: String,
    seq: u64,
    cursor: u64,
    api_key: String,
    feed_after: i64,
}

impl Today {
    async fn begin(s: &Srv) -> Today {
        let (device, token) = s.technician("T-1", &["appliance_repair"]).await;
        let (st, key) = s
            .post("/api/api-keys", &s.admin, json!({"name": "品牌方 ERP"}))
            .await;
        assert_eq!(st, 201, "{key}");
        Today {
            device,
            token,
            seq: 1,
            cursor: 0,
            api_key: key["key"].as_str().unwrap().to_string(),
            feed_after: 0,
        }
    }

    /// One day: an order taken for a customer of today and given to T-1,
    /// the phone's pull, the visit walked and pushed, and every read of the
    /// console over it. `day` tells the days' customers apart.
    async fn work_a_day(&mut self, s: &Srv, day: u32) {
        self.pull(s).await;
        self.read_the_feed(s).await;
        let zone = BusinessZone::shanghai();
        let start = crate::harness::past_window_start(&zone);
        let phone = format!("139 0000 000{day}");
        let name = format!("王{}", ["一", "二"][day as usize - 1]);
        let (st, a) = s
            .post(
                "/api/assignments",
                &s.dispatcher,
                json!({
                    "trade": "appliance_repair",
                    "customer": {"name": name, "phone": phone, "address": format!("今日路 {day} 号"),
                                 "location": {"lat": 31.23, "lon": 121.47}},
                    "product": {"model": "BCD-470", "purchase_date": "2025-01-02", "warranty": "out_of_warranty"},
                    "fault_description": "冰箱不制冷",
                    "requested_window": {"start": start, "end": start + Duration::hours(2)},
                    "received_at": start - Duration::hours(3),
                }),
            )
            .await;
        assert_eq!(st, 201, "{a}");
        let id = a["id"].as_str().unwrap().to_string();
        let (st, c) = s
            .get(&format!("/api/assignments/{id}/candidates"), &s.dispatcher)
            .await;
        assert_eq!(st, 200, "{c}");
        let a = s.assign(&id, "T-1").await;
        self.pull(s).await;

        let visit = self.walk_and_push(s, &a, start).await;
        self.pull(s).await;
        self.read_the_feed(s).await;
        self.read_the_console(s, &id, &visit, &phone, &name, zone.date_of(start))
            .await;
        self.follow_up(s, &id, &visit, &phone, day).await;
    }

    /// The desk's work after the visit: the customer's link to the report,
    /// the callback, an edit, a call answered at intake, a second order
    /// taken and cancelled, the month's callback sample, the retention run,
    /// and the customer's requests for a copy of their data and its erasure.
    async fn follow_up(&mut self, s: &Srv, id: &str, visit: &str, phone: &str, day: u32) {
        let (st, link) = s
            .post(
                &format!("/api/visits/{visit}/report-link"),
                &s.dispatcher,
                Value::Null,
            )
            .await;
        assert_eq!(st, 201, "{link}");
        let page = s
            .get_text(&format!("/r/{}", link["token"].as_str().unwrap()), None)
            .await;
        assert!(page.contains("今日路"), "{page}");

        let until = Utc::now() + Duration::days(30);
        let (st, due) = s
            .get(
                &format!(
                    "/api/callbacks?until={}",
                    until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
                &s.dispatcher,
            )
            .await;
        assert_eq!(st, 200, "{due}");
        let callback = due
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["visit_id"] == visit)
            .unwrap_or_else(|| panic!("today's visit is called back: {due}"));
        let (st, r) = s
            .post(
                "/api/callbacks/result",
                &s.dispatcher,
                json!({"visit_id": visit, "reason": callback["reason"], "reached": true, "satisfied": true}),
            )
            .await;
        assert_eq!(st, 200, "{r}");

        let (_, a) = s
            .get(&format!("/api/assignments/{id}"), &s.dispatcher)
            .await;
        let mut customer = a["customer"].clone();
        customer["address"] = json!(format!("今日路 {day} 号 2 单元"));
        let (st, r) = s
            .call(
                reqwest::Method::PATCH,
                &format!("/api/assignments/{id}"),
                Some(&s.dispatcher),
                Some(json!({"customer": customer, "expected_version": a["version"]})),
            )
            .await;
        assert_eq!(st, 200, "{r}");

        let caller = json!({"name": "来电客户", "phone": phone, "address": "今日路"});
        let (st, r) = s
            .post(
                "/api/intakes",
                &s.dispatcher,
                json!({"classification": "consultation", "caller": caller, "content": "怎么除垢？", "answer": "按说明书第 5 页操作"}),
            )
            .await;
        assert_eq!(st, 201, "{r}");

        let second = s.assignment("appliance_repair", Some("T-1")).await;
        let second = second["id"].as_str().unwrap();
        let (st, r) = s
            .post(
                &format!("/api/assignments/{second}/cancel"),
                &s.dispatcher,
                json!({"reason": "客户改约"}),
            )
            .await;
        assert_eq!(st, 200, "{r}");
        self.pull(s).await;

        let month = BusinessZone::shanghai().month_of(Utc::now());
        let (st, r) = s
            .post(
                "/api/callbacks/monthly-sample",
                &s.dispatcher,
                json!({"month": month}),
            )
            .await;
        assert!(st == 200 || st == 201, "{st} {r}");
        let (st, r) = s
            .post("/api/personal-data/retention/run", &s.admin, json!({}))
            .await;
        assert_eq!(st, 200, "{r}");

        // The customer asks for a copy of their data, then for its erasure.
        let (st, r) = s
            .post(
                "/api/customers/export",
                &s.dispatcher,
                json!({"phone": phone}),
            )
            .await;
        assert_eq!(st, 200, "{r}");
        assert_eq!(r["orders"][0]["assignment"]["id"], id, "{r}");
        assert_eq!(r["orders"].as_array().map(Vec::len), Some(1), "{r}");
        let (st, r) = s
            .post(
                "/api/customers/erasure",
                &s.dispatcher,
                json!({"phone": phone, "reason": "客户来电要求删除个人信息"}),
            )
            .await;
        assert_eq!(st, 200, "{r}");
    }

    async fn walk_and_push(&mut self, s: &Srv, a: &Value, start: DateTime<Utc>) -> String {
        let v = completed_visit(&assignment(a), &self.device, start - Duration::hours(2));
        // Pushed as a phone does over a day: a few facts at a time.
        for part in v.events.chunks(8) {
            let (st, r) = s
                .push(&self.token, &self.device, &numbered(part, self.seq))
                .await;
            assert_eq!(st, 200, "{r}");
            assert_eq!(r["refused"].as_array().unwrap().len(), 0, "{r}");
            self.seq += part.len() as u64;
        }
        v.visit.to_string()
    }

    async fn pull(&mut self, s: &Srv) {
        loop {
            let req = PullRequest {
                protocol_version: PROTOCOL_VERSION,
                device_id: device(&self.device),
                cursor: self.cursor,
                limit: None,
                sent_at: Some(Utc::now()),
                received: vec![],
                playbooks: Default::default(),
            };
            let (st, body) = s
                .post(
                    "/api/sync/pull",
                    &self.token,
                    serde_json::to_value(req).unwrap(),
                )
                .await;
            assert_eq!(st, 200, "{body}");
            let page: PullResponse = serde_json::from_value(body).unwrap();
            self.cursor = page.next_cursor;
            if !page.more {
                return;
            }
        }
    }

    async fn read_the_feed(&mut self, s: &Srv) {
        loop {
            let (st, page) = s
                .get(
                    &format!("/api/feed?after={}&limit=200", self.feed_after),
                    &self.api_key,
                )
                .await;
            assert_eq!(st, 200, "{page}");
            if page["events"].as_array().unwrap().is_empty() {
                return;
            }
            self.feed_after = page["next_after"].as_i64().unwrap();
        }
    }

    async fn read_the_console(
        &self,
        s: &Srv,
        id: &str,
        visit: &str,
        phone: &str,
        name: &str,
        day: chrono::NaiveDate,
    ) {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        let pages = [
            format!("/api/board?day={day}"),
            "/api/assignments?status=open&limit=50".into(),
            "/api/assignments?status=done&limit=50".into(),
            format!("/api/assignments/{id}"),
            format!("/api/assignments/{id}/history"),
            format!("/api/assignments/{id}/candidates"),
            format!("/api/assignments/{id}/outbound"),
            format!("/api/assignments/{id}/invoice-requests"),
            format!("/api/assignments/{id}/privacy-numbers"),
            format!("/api/assignments/{id}/qr-payments"),
            format!("/api/search?q={id}"),
            format!("/api/search?q={digits}"),
            format!("/api/search?q={name}"),
            format!("/api/customers/history?phone={digits}"),
            format!("/api/intakes/repeat-check?phone={digits}&model=BCD-470"),
            "/api/intakes".into(),
            "/api/visits?limit=50".into(),
            format!("/api/visits?assignment_id={id}"),
            format!("/api/visits/{visit}"),
            format!("/api/visits/{visit}/photos"),
            format!("/api/visits/{visit}/report-link"),
            format!("/api/visits/{visit}/report.html"),
            format!("/api/visits/{visit}/signature.svg"),
            "/api/callbacks".into(),
            "/api/conflicts".into(),
            format!("/api/reconciliation?date={day}"),
            format!("/api/kpis?from={day}&to={day}"),
            format!("/api/kpis?from={day}&to={day}&by=technician"),
            format!("/api/cash-ledger?from={day}&to={day}"),
            "/api/refused-events?limit=50".into(),
            "/api/requests".into(),
            "/api/reminders".into(),
            "/api/map".into(),
            "/api/positions".into(),
            "/api/technicians".into(),
            "/api/devices".into(),
            "/api/outbox?limit=50".into(),
            "/api/outbox/depth".into(),
            "/api/me".into(),
        ];
        for page in pages {
            let (st, body) = s.get(&page, &s.dispatcher).await;
            assert!(st == 200, "{page}: {st} {body}");
        }
        for page in [
            "/api/users",
            "/api/webhooks",
            "/api/api-keys",
            "/api/personal-data/access-log?limit=50",
            "/api/customers/erasures?limit=50",
        ] {
            let (st, body) = s.get(page, &s.admin).await;
            assert!(st == 200, "{page}: {st} {body}");
        }
    }
}
