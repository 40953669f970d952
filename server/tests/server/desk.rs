//! The dispatch desk's work orders: change history, search, a customer's
//! history, the intake's repeat warning, the requests queue (a phone's
//! verify-with-center request answered by an edit that reaches the phone by
//! sync) and refusals in the caller's language by their code.

use crate::both_backends;
use crate::harness::{assignment, device, Backend, Srv};
use chrono::Utc;
use doorstep_core::assignment::AssignmentField;
use doorstep_core::protocol::PullResponse;
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::{Playbook, VisitCommand};
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(
    an_edit_is_in_the_orders_history_with_who_and_what,
    search_finds_by_phone_name_address_and_id_with_visits,
    an_edited_order_is_found_by_its_new_name_and_phone_and_no_longer_by_the_old,
    a_search_starts_from_the_piece_fewest_orders_hold,
    pieces_of_an_order_received_at_another_time_are_kept_under_that_time_only,
    customer_history_lists_every_order_of_that_phone,
    an_order_behind_weeks_of_newer_ones_is_still_found_and_still_warns,
    intake_warns_of_a_repeat_repair_within_30_days,
    a_verify_request_is_queued_and_its_answer_reaches_the_phone,
    a_request_is_handled_once,
    refusals_speak_chinese_by_code_when_asked,
    the_console_reads_each_time_as_the_core_formats_it_in_the_business_zone
);

async fn patch(s: &Srv, id: &str, body: Value) -> (u16, Value) {
    s.call(
        Method::PATCH,
        &format!("/api/assignments/{id}"),
        Some(&s.dispatcher),
        Some(body),
    )
    .await
}

/// Changes these fields of the order's customer, at its current version.
async fn patch_customer(s: &Srv, id: &str, fields: Value) -> (u16, Value) {
    let (_, a) = s
        .get(&format!("/api/assignments/{id}"), &s.dispatcher)
        .await;
    let mut customer = a["customer"].clone();
    for (field, value) in fields.as_object().expect("fields by name") {
        customer[field] = value.clone();
    }
    patch(
        s,
        id,
        json!({"customer": customer, "expected_version": a["version"]}),
    )
    .await
}

async fn an_edit_is_in_the_orders_history_with_who_and_what(b: Backend) {
    let s = Srv::start(b).await;
    s.technician("T-1", &["appliance_repair"]).await;
    let a = s.assignment("appliance_repair", Some("T-1")).await;
    let id = a["id"].as_str().unwrap();
    let mut customer = a["customer"].clone();
    customer["phone"] = json!("139 1234 5678");
    let (st, body) = patch(
        &s,
        id,
        json!({"customer": customer, "fault_description": "冰箱不制冷", "expected_version": a["version"]}),
    )
    .await;
    assert_eq!(st, 200, "{body}");

    let (st, h) = s
        .get(&format!("/api/assignments/{id}/history"), &s.dispatcher)
        .await;
    assert_eq!(st, 200, "{h}");
    let actions: Vec<&str> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "assigned", "edited"], "{h}");
    let edit = &h[2];
    assert_eq!(edit["actor"], "user:desk");
    assert_eq!(edit["version"], body["version"]);
    let changes = edit["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{edit}");
    assert_eq!(
        changes[0],
        json!({"field": "customer_phone", "before": "138 0000 0000", "after": "139 1234 5678"})
    );
    assert_eq!(changes[1]["field"], "fault_description");
    assert_eq!(changes[1]["after"], "冰箱不制冷");
    assert_eq!(h[1]["changes"][0]["field"], "technician");
    assert_eq!(h[1]["changes"][0]["after"], "T-1");

    // The desk raises the priority the intake gave; a priority it does not
    // know is refused naming the field.
    let (st, raised) = patch(
        &s,
        id,
        json!({"priority": "escalated", "expected_version": body["version"]}),
    )
    .await;
    assert_eq!(
        (st, &raised["priority"]),
        (200, &json!("escalated")),
        "{raised}"
    );
    let (_, read) = s
        .get(&format!("/api/assignments/{id}"), &s.dispatcher)
        .await;
    assert_eq!(read["priority"], "escalated", "{read}");
    // The raise is in the order's history: who, when, from what to what.
    let (_, h) = s
        .get(&format!("/api/assignments/{id}/history"), &s.dispatcher)
        .await;
    let last = h.as_array().unwrap().last().unwrap();
    assert_eq!(
        (&last["action"], &last["actor"]),
        (&json!("edited"), &json!("user:desk")),
        "{h}"
    );
    assert_eq!(
        last["changes"],
        json!([{"field": "priority", "before": a["priority"], "after": "escalated"}]),
        "{h}"
    );
    assert_eq!(h.as_array().unwrap().len(), 4, "{h}");
    let (st, bad) = patch(&s, id, json!({"priority": "whenever"})).await;
    assert_eq!(st, 400, "{bad}");
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("priority"),
        "{bad}"
    );

    let (st, body) = s
        .get("/api/assignments/A-nothing/history", &s.dispatcher)
        .await;
    assert_eq!(st, 404, "{body}");
}

async fn new_order(s: &Srv, name: &str, phone: &str, address: &str, model: &str) -> String {
    let (st, a) = s
        .post(
            "/api/assignments",
            &s.dispatcher,
            json!({"trade": "appliance_repair",
                   "customer": {"name": name, "phone": phone, "address": address},
                   "product": {"model": model}, "fault_description": "不制冷"}),
        )
        .await;
    assert_eq!(st, 201, "{a}");
    a["id"].as_str().unwrap().to_string()
}

fn ids(found: &Value) -> Vec<String> {
    let mut v: Vec<String> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

async fn search_finds_by_phone_name_address_and_id_with_visits(b: Backend) {
    let s = Srv::start(b).await;
    let (dev, token) = s.technician("T-1", &["appliance_repair"]).await;
    let huang = new_order(
        &s,
        "黄梅",
        "138 0013 8001",
        "静安区武定路 12 号",
        "海尔 BCD-216",
    )
    .await;
    let xu = new_order(
        &s,
        "徐刚",
        "139-1111-2222",
        "徐汇区长乐路 88 号",
        "美的 MG70",
    )
    .await;
    // Huang's order has a visit: it is found with it.
    let (st, a) = s
        .post(
            &format!("/api/assignments/{huang}/assign"),
            &s.dispatcher,
            json!({"technician": "T-1"}),
        )
        .await;
    assert_eq!(st, 200, "{a}");
    let w = Walkthrough::new(
        &Playbook::shipped_by_id("appliance_repair").unwrap(),
        &assignment(&a),
        &device(&dev),
        Utc::now(),
    );
    let (st, r) = s
        .push(&token, &dev, &crate::harness::numbered(&w.events, 1))
        .await;
    assert_eq!(st, 200, "{r}");

    let (st, found) = search(&s, "13800138001").await;
    assert_eq!(st, 200, "{found}");
    assert_eq!(ids(&found), vec![huang.clone()]);
    assert_eq!(found[0]["visits"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(
        ids(&search(&s, "+86 139 1111 2222").await.1),
        vec![xu.clone()]
    );
    assert_eq!(ids(&search(&s, "徐刚").await.1), vec![xu.clone()]);
    assert_eq!(ids(&search(&s, "武定路").await.1), vec![huang.clone()]);
    assert_eq!(
        ids(&search(&s, &xu.to_lowercase()).await.1),
        vec![xu.clone()]
    );
    assert!(ids(&search(&s, "朝阳区").await.1).is_empty());
    // Four digits of a phone find it; three match no phone.
    assert_eq!(ids(&search(&s, "8001").await.1), vec![huang.clone()]);
    assert!(ids(&search(&s, "139").await.1).is_empty());
    // A wildcard is a character like any other.
    assert!(ids(&search(&s, "%").await.1).is_empty());

    let (st, body) = search(&s, "  ").await;
    assert_eq!(st, 400, "{body}");
    assert_eq!(body["error"]["field"], "q");
}

async fn an_edited_order_is_found_by_its_new_name_and_phone_and_no_longer_by_the_old(b: Backend) {
    let s = Srv::start(b).await;
    let id = new_order(
        &s,
        "黄梅",
        "138 0013 8001",
        "静安区武定路 12 号",
        "海尔 BCD-216",
    )
    .await;
    let (st, body) =
        patch_customer(&s, &id, json!({"name": "徐刚", "phone": "139 1111 2222"})).await;
    assert_eq!(st, 200, "{body}");

    let found = |q: &'static str| {
        let s = &s;
        async move {
            let (st, found) = search(s, q).await;
            assert_eq!(st, 200, "{found}");
            ids(&found)
        }
    };
    assert_eq!(found("徐刚").await, vec![id.clone()]);
    assert_eq!(found("1111 2222").await, vec![id.clone()]);
    assert_eq!(
        found("武定路").await,
        vec![id.clone()],
        "the address was kept"
    );
    assert!(found("黄梅").await.is_empty(), "the old name");
    assert!(found("8001").await.is_empty(), "the old phone");
}

/// The desk's search for `q`, as the dispatcher.
async fn search(s: &Srv, q: &str) -> (u16, Value) {
    s.get(&format!("/api/search?q={}", urlencode(q)), &s.dispatcher)
        .await
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn customer_history_lists_every_order_of_that_phone(b: Backend) {
    let s = Srv::start(b).await;
    let first = new_order(&s, "黄梅", "138 0013 8001", "武定路 12 号", "海尔 BCD-216").await;
    let second = new_order(&s, "黄梅", "13800138001", "武定路 12 号", "美的 MG70").await;
    new_order(&s, "徐刚", "139 1111 2222", "长乐路 88 号", "美的 MG70").await;
    let (st, h) = s
        .get("/api/customers/history?phone=138-0013-8001", &s.dispatcher)
        .await;
    assert_eq!(st, 200, "{h}");
    let mut want = vec![first, second];
    want.sort();
    assert_eq!(ids(&h), want);
    let (st, body) = s
        .get("/api/customers/history?phone=12", &s.dispatcher)
        .await;
    assert_eq!(st, 400, "{body}");
    assert_eq!(body["error"]["field"], "phone");
}

async fn an_order_behind_weeks_of_newer_ones_is_still_found_and_still_warns(b: Backend) {
    let s = Srv::start(b).await;
    // 黄梅's fridge, repaired 29 days ago; since then the desk took 6 000
    // orders (a month at 200 a day).
    let then = Utc::now() - chrono::Duration::days(29);
    let (st, old) = s
        .post(
            "/api/assignments",
            &s.dispatcher,
            json!({"trade": "appliance_repair", "received_at": then,
                   "customer": {"name": "黄梅", "phone": "138 0013 8001", "address": "武定路 12 号"},
                   "product": {"model": "海尔 BCD-216"}}),
        )
        .await;
    assert_eq!(st, 201, "{old}");
    let old = old["id"].as_str().unwrap().to_string();
    s.add_newer_orders(6_000).await;

    let (_, found) = search(&s, "13800138001").await;
    assert_eq!(ids(&found), vec![old.clone()], "by phone");
    let (_, found) = search(&s, "武定路").await;
    assert_eq!(ids(&found), vec![old.clone()], "by address");
    let (_, history) = s
        .get("/api/customers/history?phone=13800138001", &s.dispatcher)
        .await;
    assert_eq!(ids(&history), vec![old.clone()]);
    let (_, w) = s
        .get(
            &format!(
                "/api/intakes/repeat-check?phone=13800138001&model={}",
                urlencode("海尔 BCD-216")
            ),
            &s.dispatcher,
        )
        .await;
    assert_eq!(ids(&w["repeat_repair"]), vec![old]);
    // The newest of all are still first.
    let (_, page) = s
        .get(
            &format!("/api/search?q={}&limit=3", urlencode("填充")),
            &s.dispatcher,
        )
        .await;
    assert_eq!(page.as_array().unwrap().len(), 3, "{page}");
}

#[tokio::test]
async fn the_desk_reads_orders_through_indexes_not_every_order() {
    // SQLite's plans are deterministic; PostgreSQL has the same indexes
    // (schema_parity.rs).
    use doorstep_server::store::{assignments, order_lookup};
    let s = Srv::start(Backend::Sqlite).await;
    let found_by_id = "SEARCH a USING INDEX sqlite_autoindex_assignments_1 (id=?)";

    // A caller's orders: through the phone's index.
    let plan = {
        let (sql, params) = assignments::phone_query("13800138001", 500);
        s.sqlite_plan(&sql, params).await
    };
    assert_eq!(
        plan,
        [
            "SEARCH l USING COVERING INDEX assignment_lookup_phone (customer_phone_digits=?)",
            found_by_id
        ]
    );
    // A day's orders: the windows that end after the day begins.
    let plan = {
        let (sql, params) = assignments::on_day_query(0, 1);
        s.sqlite_plan(&sql, params).await
    };
    assert_eq!(
        plan[..2],
        [
            "SEARCH l USING INDEX assignment_lookup_window_end (window_end>?)",
            found_by_id
        ],
        "{plan:?}"
    );
    // A search: from the orders holding its rarest piece, newest first,
    // each checked on its look-up row; one character (no piece) reads the
    // narrow look-up rows newest first until the page is full. Never a sort
    // of every order.
    let parts = order_lookup::search_parts("13800138001");
    let plan = {
        let (sql, params) = assignments::search_by_piece_query(&parts[1], "#8001", 50);
        s.sqlite_plan(&sql, params).await
    };
    assert_eq!(
        plan,
        [
            "SEARCH g USING PRIMARY KEY (gram=?)",
            "SEARCH l USING INDEX sqlite_autoindex_assignment_lookup_1 (assignment_id=?)",
            "SEARCH a USING INDEX sqlite_autoindex_assignments_1 (id=?)"
        ]
    );
    let plan = {
        let (sql, params) =
            assignments::search_walk_query(&order_lookup::search_parts("黄")[0], 50);
        s.sqlite_plan(&sql, params).await
    };
    assert_eq!(
        plan,
        ["SCAN l USING INDEX assignment_lookup_newest", found_by_id]
    );
    // The console's newest page of orders.
    let plan = {
        let (sql, params) = assignments::list_query(None, None, 500);
        s.sqlite_plan(&sql, params).await
    };
    assert_eq!(plan, ["SCAN assignments USING INDEX assignments_newest"]);
}

#[tokio::test]
async fn the_desks_queue_reads_what_waits_through_indexes_not_every_fact() {
    // Every console asks for the queue's count at each live update. SQLite's
    // plans are deterministic; PostgreSQL has the same indexes
    // (schema_parity.rs).
    use doorstep_server::store::{desk_requests, events};
    let s = Srv::start(Backend::Sqlite).await;
    let (sql, params) = desk_requests::pending_query(500);
    assert_eq!(
        s.sqlite_plan(&sql, params).await,
        [
            "SCAN e USING INDEX events_desk_requests",
            "SEARCH h USING COVERING INDEX sqlite_autoindex_handled_requests_1 (event_id=?) LEFT-JOIN"
        ]
    );
    let (sql, params) = desk_requests::acceptance_codes_found_wrong_query(500);
    let plan = s.sqlite_plan(&sql, params).await;
    assert!(
        plan.iter()
            .all(|step| !step.starts_with("SCAN") || step.contains("USING")),
        "{plan:?}"
    );
    assert_eq!(
        plan[0], "SCAN c USING COVERING INDEX acceptance_codes_wrong",
        "{plan:?}"
    );
    assert!(
        plan.iter()
            .any(|step| step.contains("INDEX events_acceptance_codes")),
        "{plan:?}"
    );
    let plan = s
        .sqlite_plan(events::UNREVIEWED_REFUSALS_SQL, vec![500_i64.into()])
        .await;
    assert_eq!(
        plan[0], "SCAN r USING INDEX refused_events_unreviewed",
        "{plan:?}"
    );
}

async fn intake_warns_of_a_repeat_repair_within_30_days(b: Backend) {
    let s = Srv::start(b).await;
    let fridge = new_order(&s, "黄梅", "138 0013 8001", "武定路 12 号", "海尔 BCD-216").await;
    let washer = new_order(&s, "黄梅", "138 0013 8001", "武定路 12 号", "美的 MG70").await;
    // Another caller's order of 40 days ago for the same model: no warning.
    let old = Utc::now() - chrono::Duration::days(40);
    let (st, body) = s
        .post(
            "/api/assignments",
            &s.dispatcher,
            json!({"trade": "appliance_repair", "received_at": old,
                   "customer": {"name": "马丽", "phone": "137 2222 3333"},
                   "product": {"model": "海尔 BCD-216"}}),
        )
        .await;
    assert_eq!(st, 201, "{body}");

    let (st, w) = s
        .get(
            &format!(
                "/api/intakes/repeat-check?phone=13800138001&model={}",
                urlencode("海尔 bcd-216")
            ),
            &s.dispatcher,
        )
        .await;
    assert_eq!(st, 200, "{w}");
    let mut callers = ids(&w["repeat_caller"]);
    callers.sort();
    let mut want = vec![fridge.clone(), washer];
    want.sort();
    assert_eq!(callers, want);
    assert_eq!(ids(&w["repeat_repair"]), vec![fridge]);

    let (_, w) = s
        .get(
            &format!(
                "/api/intakes/repeat-check?phone=13722223333&model={}",
                urlencode("海尔 BCD-216")
            ),
            &s.dispatcher,
        )
        .await;
    assert_eq!(w, json!({"repeat_caller": [], "repeat_repair": []}));
}

async fn pull(s: &Srv, token: &str, dev: &str, cursor: u64) -> PullResponse {
    let (st, body) = s
        .post(
            "/api/sync/pull",
            token,
            json!({"protocol_version": 1, "device_id": dev, "cursor": cursor}),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

/// A phone that received its assignment and asked the center to verify
/// the customer's phone: (walkthrough, device, token, assignment id, cursor).
async fn verify_request(s: &Srv) -> (Walkthrough, String, String, String, u64) {
    let (dev, token) = s.technician("T-1", &["appliance_repair"]).await;
    s.assignment("appliance_repair", Some("T-1")).await;
    let first = pull(s, &token, &dev, 0).await;
    let change = &first.changes[0];
    let Some(VisitCommand::ReceiveAssignment { assignment: a }) = change.to_command() else {
        panic!("the first change is the assignment");
    };
    let mut w = Walkthrough::new(
        &Playbook::shipped_by_id("appliance_repair").unwrap(),
        &a,
        &device(&dev),
        Utc::now(),
    );
    w.apply(
        1,
        VisitCommand::VerifyWithCenter {
            fields: vec![AssignmentField::CustomerPhone],
            note: Some("号码是空号".into()),
        },
        None,
        None,
    )
    .unwrap();
    let (st, r) = s
        .push(&token, &dev, &crate::harness::numbered(&w.events, 1))
        .await;
    assert_eq!(st, 200, "{r}");
    let id = a.id.to_string();
    (w, dev, token, id, first.next_cursor)
}

async fn a_verify_request_is_queued_and_its_answer_reaches_the_phone(b: Backend) {
    let s = Srv::start(b).await;
    let (mut w, dev, token, id, cursor) = verify_request(&s).await;

    let (st, q) = s.get("/api/requests", &s.dispatcher).await;
    assert_eq!(st, 200, "{q}");
    assert_eq!(q["total"], 1, "{q}");
    assert_eq!(q["counts"], json!({"center_verification_requested": 1}));
    let item = &q["items"][0];
    assert_eq!(item["assignment_id"], id.as_str());
    assert_eq!(item["technician_id"], "T-1");
    assert_eq!(item["technician_name"], "Tech T-1");
    assert_eq!(item["customer_name"], "Test Customer");
    assert_eq!(
        item["detail"],
        json!({"fields": ["customer_phone"], "note": "号码是空号"})
    );

    // The desk corrects the phone number and marks the request answered.
    let (st, body) = patch_customer(&s, &id, json!({"phone": "138 0013 8001"})).await;
    assert_eq!(st, 200, "{body}");
    let event = item["id"].as_str().unwrap();
    let (st, body) = s
        .post(
            &format!("/api/requests/{event}/handle"),
            &s.dispatcher,
            json!({"answer": "电话已更正"}),
        )
        .await;
    assert_eq!(st, 204, "{body}");
    let (_, q) = s.get("/api/requests", &s.dispatcher).await;
    assert_eq!(q["total"], 0, "{q}");

    // The phone's next sync brings the corrected assignment into its visit.
    let next = pull(&s, &token, &dev, cursor).await;
    assert_eq!(next.changes.len(), 1, "{next:?}");
    w.apply(
        1,
        next.changes[0].to_command().expect("an assignment change"),
        None,
        None,
    )
    .unwrap();
    let on_phone = w.state.assignment.as_ref().unwrap();
    // The phone gets the corrected number masked (no privacy-number provider here).
    assert_eq!(on_phone.customer.phone.as_deref(), Some("138****8001"));
    assert_eq!(on_phone.version, body_version(&s, &id).await);
    let _ = dev;
}

async fn body_version(s: &Srv, id: &str) -> u64 {
    let (_, a) = s
        .get(&format!("/api/assignments/{id}"), &s.dispatcher)
        .await;
    a["version"].as_u64().unwrap()
}

async fn a_request_is_handled_once(b: Backend) {
    let s = Srv::start(b).await;
    verify_request(&s).await;
    let (_, q) = s.get("/api/requests", &s.dispatcher).await;
    let event = q["items"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/api/requests/{event}/handle");
    let (st, _) = s.post(&path, &s.dispatcher, json!({})).await;
    assert_eq!(st, 204);
    let (st, body) = s.post(&path, &s.dispatcher, json!({})).await;
    assert_eq!(st, 409, "{body}");
    assert_eq!(body["error"]["code"], "already_recorded");
    // An event that is no request (the assignment's receipt) is not one.
    let (st, body) = s
        .post(
            "/api/requests/no-such-event/handle",
            &s.dispatcher,
            json!({}),
        )
        .await;
    assert_eq!(st, 404, "{body}");
}

async fn refusals_speak_chinese_by_code_when_asked(b: Backend) {
    let s = Srv::start(b).await;
    s.technician("T-1", &["appliance_repair"]).await;
    let a = s.assignment("appliance_repair", None).await;
    let id = a["id"].as_str().unwrap();
    let http = reqwest::Client::new();
    let stale = |lang: &'static str| {
        http.patch(format!("{}/api/assignments/{id}", s.base))
            .bearer_auth(&s.dispatcher)
            .header("accept-language", lang)
            .json(&json!({"notes": "x", "expected_version": 99}))
            .send()
    };
    let zh: Value = stale("zh-CN,zh;q=0.9,en;q=0.8")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(zh["error"]["code"], "version_mismatch");
    let message = zh["error"]["message"].as_str().unwrap();
    assert!(message.contains("工单已被他人修改"), "{message}");
    assert!(
        message.contains('：') && !message.contains(':'),
        "{message}"
    );
    let en: Value = stale("en-US").await.unwrap().json().await.unwrap();
    assert!(
        en["error"]["message"].as_str().unwrap().contains("version"),
        "{en}"
    );
    assert_eq!(en["error"]["message_zh"], zh["error"]["message"]);

    // A missing record names what is missing, in Chinese.
    let res: Value = http
        .get(format!("{}/api/assignments/A-404", s.base))
        .bearer_auth(&s.dispatcher)
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(res["error"]["message"], "没有编号为 A-404 的工单。");
}

/// Issue 10, item 7: the console shows no time it formatted itself; asked
/// with `Doorstep-Display-Times`, every time of an answer comes with its
/// reading in the business zone (Asia/Shanghai here), in that language.
async fn the_console_reads_each_time_as_the_core_formats_it_in_the_business_zone(b: Backend) {
    let s = Srv::start(b).await;
    let start = "2030-05-06T01:00:00Z"
        .parse::<chrono::DateTime<Utc>>()
        .unwrap();
    let a = s.assignment_at("appliance_repair", None, start).await;
    let id = a["id"].as_str().unwrap();
    let http = reqwest::Client::new();
    let read = |path: String, lang: Option<&'static str>| {
        let mut req = http
            .get(format!("{}{path}", s.base))
            .bearer_auth(&s.dispatcher);
        if let Some(lang) = lang {
            req = req.header("doorstep-display-times", lang);
        }
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let zh = read(format!("/api/assignments/{id}"), Some("zh-CN")).await;
    let w = &zh["requested_window"];
    assert_eq!(w["start"], "2030-05-06T01:00:00Z", "the time itself stays");
    assert_eq!(w["start_text"], "5月6日 09:00");
    assert_eq!(w["text"], "5月6日 09:00–11:00");
    assert_eq!(w["clock_text"], "09:00–11:00");
    let received = zh["received_at_text"].as_str().unwrap();
    assert!(
        received.contains('月') && received.contains('日'),
        "{received}"
    );
    let en = read(format!("/api/assignments/{id}"), Some("en")).await;
    assert_eq!(en["requested_window"]["text"], "2030-05-06 09:00–11:00");
    let list = read("/api/assignments".into(), Some("zh-CN")).await;
    assert_eq!(list[0]["requested_window"]["clock_text"], "09:00–11:00");
    // A window moved: the history's before and after read the same way.
    let later = json!({"start": "2030-05-06T06:30:00Z", "end": "2030-05-06T08:30:00Z"});
    let (st, body) = patch(
        &s,
        id,
        json!({"requested_window": later, "expected_version": a["version"]}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let history = read(format!("/api/assignments/{id}/history"), Some("zh-CN")).await;
    let moved = history
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["changes"].as_array().cloned().unwrap_or_default())
        .find(|c| c["field"] == "requested_window")
        .expect("the move is in the history");
    assert_eq!(moved["before"]["text"], "5月6日 09:00–11:00");
    assert_eq!(moved["after"]["text"], "5月6日 14:30–16:30");
    // Without the header an answer is what it always was.
    let plain = read(format!("/api/assignments/{id}"), None).await;
    assert_eq!(plain["requested_window"], later);
    assert!(plain.get("received_at_text").is_none(), "{plain}");
}

/// The piece of `pieces` a search starts from.
async fn rarest(s: &Srv, pieces: &[&str]) -> Option<String> {
    let pieces: Vec<String> = pieces.iter().map(|p| p.to_string()).collect();
    s.state
        .db
        .read(move |tx| {
            Box::pin(async move {
                doorstep_server::store::order_search_pieces::rarest(tx, &pieces).await
            })
        })
        .await
        .unwrap()
}

async fn a_search_starts_from_the_piece_fewest_orders_hold(b: Backend) {
    let s = Srv::start(b).await;
    for _ in 0..3 {
        new_order(&s, "王李梅", "138 0013 8001", "静安区", "海尔 BCD-216").await;
    }
    new_order(&s, "王李华", "139 1111 2222", "徐汇区", "美的 MG70").await;
    // 王李: four orders; 李华: one.
    assert_eq!(rarest(&s, &["王李", "李华"]).await.as_deref(), Some("李华"));
    assert_eq!(rarest(&s, &["李华", "王李"]).await.as_deref(), Some("李华"));
    // Of pieces as rare, the first.
    assert_eq!(
        rarest(&s, &["李华", "王李华"]).await.as_deref(),
        Some("李华")
    );
    assert_eq!(
        rarest(&s, &["王李华", "李华"]).await.as_deref(),
        Some("王李华")
    );
    // A piece no order holds: no order can match.
    assert_eq!(rarest(&s, &["王李", "赵钱"]).await, None);
}

async fn pieces_of_an_order_received_at_another_time_are_kept_under_that_time_only(b: Backend) {
    use doorstep_server::store::order_search_pieces::{pieces_of, rewrite, Written};
    let s = Srv::start(b).await;
    let id = new_order(&s, "黄梅", "138 0013 8001", "武定路", "海尔 BCD-216").await;
    let text = format!("{}\u{1f}黄梅\u{1f}武定路", id.to_lowercase());
    let pieces = pieces_of(&text, Some("13800138001"));
    let rows = {
        let (id, pieces) = (id.clone(), pieces.clone());
        s.state
            .db
            .tx(move |tx| {
                Box::pin(async move {
                    let before = Written {
                        received_at: 1_000,
                        pieces: pieces.clone(),
                    };
                    // The order as if written at 1 000, then received at 2 000.
                    tx.execute(
                        "DELETE FROM assignment_search_grams WHERE assignment_id = $1",
                        &[id.as_str().into()],
                    )
                    .await?;
                    rewrite(tx, &id, None, &pieces, 1_000).await?;
                    rewrite(tx, &id, Some(before), &pieces, 2_000).await?;
                    let rows = tx
                        .query(
                            "SELECT gram, received_at FROM assignment_search_grams
                             WHERE assignment_id = $1",
                            &[id.as_str().into()],
                        )
                        .await?;
                    Ok::<_, doorstep_server::failure::Failure>(
                        rows.iter()
                            .map(|r| (r.text("gram"), r.int("received_at")))
                            .collect::<Vec<_>>(),
                    )
                })
            })
            .await
            .unwrap()
    };
    assert_eq!(rows.len(), pieces.len(), "each piece once: {rows:?}");
    assert!(rows.iter().all(|(_, at)| *at == 2_000), "{rows:?}");
}

/// An edit of what no search reads (the product) writes no search piece.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_that_leaves_the_searched_text_alone_writes_no_piece() {
    let s = Srv::start(Backend::Sqlite).await;
    let id = new_order(&s, "黄梅", "138 0013 8001", "武定路", "海尔 BCD-216").await;
    let (_, a) = s
        .get(&format!("/api/assignments/{id}"), &s.dispatcher)
        .await;
    let mut product = a["product"].clone();
    product["model"] = json!("海尔 BCD-470");
    let work = s
        .state
        .db
        .statement_work()
        .expect("SQLite counts its steps");
    work.keep_runs_over(0);
    work.take();
    let (st, body) = patch(
        &s,
        &id,
        json!({"product": product, "expected_version": a["version"]}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let ran = work.take();
    assert!(
        ran.keys().any(|sql| sql.contains("assignment_lookup")),
        "the edit rewrote the order's look-up row"
    );
    let written: Vec<&String> = ran
        .keys()
        .filter(|sql| sql.contains("assignment_search_grams"))
        .collect();
    assert!(written.is_empty(), "{written:?}");
}
