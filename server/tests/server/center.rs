//! Auth, roles, intake, assignments, the 1-hour rule, roster.

use crate::both_backends;
use crate::harness::{Backend, Srv};
use reqwest::Method;
use serde_json::json;

both_backends!(
    auth_and_roles,
    intake_classification,
    assignment_lifecycle,
    technician_sees_only_its_own,
    one_hour_rule,
    roster_and_workload,
    console_and_health,
    reopening_migrates_once_and_keeps_data,
    orders_are_numbered_on_from_their_days_last
);

async fn auth_and_roles(b: Backend) {
    let s = Srv::start(b).await;
    // Missing, malformed and unknown tokens: 401.
    let (st, body) = s.call(Method::GET, "/api/assignments", None, None).await;
    assert_eq!(st, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(s.get("/api/assignments", "s_not-a-token").await.0, 401);
    let res = s
        .http
        .get(format!("{}/api/me", s.base))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    // Wrong password: 401, same message for an unknown user.
    let (st, wrong) = s
        .call(
            Method::POST,
            "/api/login",
            None,
            Some(json!({"username": "desk", "password": "nope"})),
        )
        .await;
    assert_eq!(st, 401);
    let (_, unknown) = s
        .call(
            Method::POST,
            "/api/login",
            None,
            Some(json!({"username": "ghost", "password": "nope"})),
        )
        .await;
    assert_eq!(wrong["error"]["message"], unknown["error"]["message"]);
    // Who am I.
    let (st, me) = s.get("/api/me", &s.dispatcher).await;
    assert_eq!((st, me["role"].as_str()), (200, Some("dispatcher")));

    // A technician device on dispatcher-only endpoints: 403.
    let (_, tech) = s.technician("T-1", &["appliance_repair"]).await;
    for path in [
        "/api/technicians",
        "/api/intakes",
        "/api/reminders",
        "/api/conflicts",
        "/api/callbacks",
        "/api/reconciliation",
        "/api/kpis",
    ] {
        let (st, body) = s.get(path, &tech).await;
        assert_eq!(st, 403, "GET {path}: {body}");
    }
    for (path, body) in [
        ("/api/assignments", json!({"trade": "appliance_repair"})),
        (
            "/api/intakes",
            json!({"classification": "general", "caller": {}, "content": "x", "trade": "appliance_repair"}),
        ),
        (
            "/api/technicians",
            json!({"id": "T-9", "name": "x", "trades": []}),
        ),
        (
            "/api/technicians/T-1/devices",
            json!({"device_id": "phone-x"}),
        ),
        (
            "/api/callbacks/result",
            json!({"visit_id": "v", "reason": "second_level", "reached": true}),
        ),
        ("/api/callbacks/monthly-sample", json!({"month": "2026-11"})),
    ] {
        let (st, resp) = s.post(path, &tech, body).await;
        assert_eq!(st, 403, "POST {path}: {resp}");
    }
    // A dispatcher may not use the device protocol, nor create users.
    let (st, _) = s
        .post(
            "/api/sync/pull",
            &s.dispatcher,
            json!({"protocol_version": 1, "device_id": "phone-T-1"}),
        )
        .await;
    assert_eq!(st, 403);
    let (st, _) = s
        .post(
            "/api/users",
            &s.dispatcher,
            json!({"username": "x", "password": "long enough", "role": "dispatcher"}),
        )
        .await;
    assert_eq!(st, 403);
    // An admin may; the new user can log in; short passwords are refused.
    let (st, body) = s
        .post(
            "/api/users",
            &s.admin,
            json!({"username": "night", "password": "long enough", "role": "dispatcher"}),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    let (st, body) = s
        .post(
            "/api/users",
            &s.admin,
            json!({"username": "night", "password": "long enough", "role": "dispatcher"}),
        )
        .await;
    assert_eq!(st, 409, "{body}");
    let (st, body) = s
        .post(
            "/api/users",
            &s.admin,
            json!({"username": "short", "password": "x", "role": "dispatcher"}),
        )
        .await;
    assert_eq!(
        (st, body["error"]["field"].as_str()),
        (400, Some("password"))
    );
    let (st, _) = s
        .call(
            Method::POST,
            "/api/login",
            None,
            Some(json!({"username": "night", "password": "long enough"})),
        )
        .await;
    assert_eq!(st, 200);
    // Logout ends the session.
    let t = s.login("desk").await;
    assert_eq!(
        s.call(Method::POST, "/api/logout", Some(&t), None).await.0,
        204
    );
    assert_eq!(s.get("/api/me", &t).await.0, 401);
    // Re-enrolling a device rotates its token; the old one stops working.
    let (st, body) = s
        .post(
            "/api/technicians/T-1/devices",
            &s.dispatcher,
            json!({"device_id": "phone-T-1"}),
        )
        .await;
    assert_eq!(st, 409, "{body}");
    let (st, body) = s
        .post(
            "/api/technicians/T-1/devices",
            &s.dispatcher,
            json!({"device_id": "phone-T-1", "rotate": true}),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    assert_eq!(s.get("/api/me", &tech).await.0, 401);
    let rotated = body["token"].as_str().unwrap().to_string();
    assert_eq!(s.get("/api/me", &rotated).await.0, 200);
    // A lost phone is revoked: its token stops working at once.
    assert_eq!(
        s.post("/api/devices/phone-T-1/revoke", &rotated, json!({}))
            .await
            .0,
        403
    );
    assert_eq!(
        s.post("/api/devices/phone-T-1/revoke", &s.dispatcher, json!({}))
            .await
            .0,
        204
    );
    assert_eq!(s.get("/api/me", &rotated).await.0, 401);
    assert_eq!(
        s.post("/api/devices/phone-T-1/revoke", &s.dispatcher, json!({}))
            .await
            .0,
        404
    );
}

async fn intake_classification(b: Backend) {
    let s = Srv::start(b).await;
    let caller = json!({"name": "Caller", "phone": "139 0000 1111", "address": "2 Road"});
    // A consultation is answered directly: no assignment.
    let (st, body) = s
        .post("/api/intakes", &s.dispatcher, json!({"classification": "consultation", "caller": caller, "content": "how to descale?"}))
        .await;
    assert_eq!(
        (st, body["error"]["field"].as_str()),
        (400, Some("answer")),
        "{body}"
    );
    let (st, body) = s
        .post(
            "/api/intakes",
            &s.dispatcher,
            json!({"classification": "consultation", "caller": caller,
            "content": "how to descale?", "answer": "use the descale programme monthly"}),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    assert!(body["assignment"].is_null());
    // Urgent: an assignment dispatched now, urgent priority.
    let (st, body) = s
        .post(
            "/api/intakes",
            &s.dispatcher,
            json!({"classification": "urgent", "caller": caller,
            "content": "gas smell near the boiler", "trade": "heating_service"}),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["assignment"]["priority"], "urgent");
    assert_eq!(body["assignment"]["status"], "open");
    assert_eq!(body["assignment"]["classification"], "urgent");
    assert_eq!(body["assignment"]["customer"]["phone"], "139 0000 1111");
    // Complex: dispatch order the same day.
    let (_, body) = s
        .post(
            "/api/intakes",
            &s.dispatcher,
            json!({"classification": "complex", "caller": caller,
            "content": "whole-flat heating rebalancing", "trade": "heating_service",
            "received_at": "2026-11-20T09:00:00Z"}),
        )
        .await;
    // The same day in the business time zone: 23:59:59 in Beijing.
    assert_eq!(body["intake"]["dispatch_by"], "2026-11-20T15:59:59Z");
    assert!(body["assignment"]["id"]
        .as_str()
        .unwrap()
        .starts_with("A-20261120-"));
    // Repeat/complaint: escalated.
    let (st, body) = s
        .post(
            "/api/intakes",
            &s.dispatcher,
            json!({"classification": "repeat", "caller": caller,
            "content": "third call about the same leak", "trade": "appliance_repair"}),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["intake"]["escalated"], true);
    assert_eq!(body["assignment"]["priority"], "escalated");
    let (_, escalated) = s.get("/api/intakes?escalated=true", &s.dispatcher).await;
    assert_eq!(escalated.as_array().unwrap().len(), 1);
    let (_, all) = s.get("/api/intakes", &s.dispatcher).await;
    assert_eq!(all.as_array().unwrap().len(), 4);
    // A repair without a trade, an unknown trade, an unknown class.
    let (st, body) = s
        .post(
            "/api/intakes",
            &s.dispatcher,
            json!({"classification": "general", "caller": caller, "content": "x"}),
        )
        .await;
    assert_eq!((st, body["error"]["field"].as_str()), (400, Some("trade")));
    let (st, body) = s
        .post("/api/intakes", &s.dispatcher, json!({"classification": "general", "caller": caller, "content": "x", "trade": "plumbing"}))
        .await;
    assert_eq!(st, 400);
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("not a known trade")
            && msg.contains("water_delivery")
            && !msg.contains("plumbing"),
        "{msg}"
    );
    let (st, body) = s
        .post(
            "/api/intakes",
            &s.dispatcher,
            json!({"classification": "gossip", "caller": caller, "content": "x"}),
        )
        .await;
    assert_eq!(
        (st, body["error"]["field"].as_str()),
        (400, Some("classification")),
        "{body}"
    );
}

async fn assignment_lifecycle(b: Backend) {
    let s = Srv::start(b).await;
    s.technician("T-1", &["appliance_repair"]).await;
    s.technician("T-2", &["appliance_repair"]).await;
    s.technician("T-w", &["water_delivery"]).await;
    let a = s.assignment("appliance_repair", None).await;
    let id = a["id"].as_str().unwrap().to_string();
    assert_eq!(
        (a["version"].as_u64(), a["status"].as_str()),
        (Some(1), Some("open"))
    );
    // Every change increments the version.
    let (st, a2) = s
        .call(
            Method::PATCH,
            &format!("/api/assignments/{id}"),
            Some(&s.dispatcher),
            Some(json!({"notes": "call before coming", "expected_version": 1})),
        )
        .await;
    assert_eq!((st, a2["version"].as_u64()), (200, Some(2)), "{a2}");
    // A stale version is refused with the current one.
    let (st, body) = s
        .call(
            Method::PATCH,
            &format!("/api/assignments/{id}"),
            Some(&s.dispatcher),
            Some(json!({"notes": "x", "expected_version": 1})),
        )
        .await;
    assert_eq!(
        (st, body["error"]["current_version"].as_u64()),
        (409, Some(2))
    );
    // An unqualified technician is refused; a qualified one is assigned.
    let (st, body) = s
        .post(
            &format!("/api/assignments/{id}/assign"),
            &s.dispatcher,
            json!({"technician": "T-w"}),
        )
        .await;
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (409, Some("not_qualified"))
    );
    let (st, body) = s
        .post(
            &format!("/api/assignments/{id}/assign"),
            &s.dispatcher,
            json!({"technician": "T-nobody"}),
        )
        .await;
    assert_eq!(st, 404, "{body}");
    let (st, a3) = s
        .post(
            &format!("/api/assignments/{id}/assign"),
            &s.dispatcher,
            json!({"technician": "T-1"}),
        )
        .await;
    assert_eq!(
        (st, a3["version"].as_u64(), a3["technician"].as_str()),
        (200, Some(3), Some("T-1"))
    );
    // Assigning to someone else is a reassign.
    let (st, body) = s
        .post(
            &format!("/api/assignments/{id}/assign"),
            &s.dispatcher,
            json!({"technician": "T-2"}),
        )
        .await;
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (409, Some("already_assigned"))
    );
    let (st, a4) = s
        .post(
            &format!("/api/assignments/{id}/reassign"),
            &s.dispatcher,
            json!({"technician": "T-2"}),
        )
        .await;
    assert_eq!(
        (st, a4["version"].as_u64(), a4["technician"].as_str()),
        (200, Some(4), Some("T-2"))
    );
    // Cancel needs a reason; then nothing more can change.
    let (st, body) = s
        .post(
            &format!("/api/assignments/{id}/cancel"),
            &s.dispatcher,
            json!({"reason": " "}),
        )
        .await;
    assert_eq!((st, body["error"]["field"].as_str()), (400, Some("reason")));
    let (st, a5) = s
        .post(
            &format!("/api/assignments/{id}/cancel"),
            &s.dispatcher,
            json!({"reason": "customer bought a new one"}),
        )
        .await;
    assert_eq!(
        (st, a5["status"].as_str(), a5["version"].as_u64()),
        (200, Some("cancelled"), Some(5))
    );
    let (st, _) = s
        .call(
            Method::PATCH,
            &format!("/api/assignments/{id}"),
            Some(&s.dispatcher),
            Some(json!({"notes": "x"})),
        )
        .await;
    assert_eq!(st, 409);
    let (_, got) = s
        .get(&format!("/api/assignments/{id}"), &s.dispatcher)
        .await;
    assert_eq!(got["cancel_reason"], "customer bought a new one");
    assert_eq!(s.get("/api/assignments/A-none", &s.dispatcher).await.0, 404);
    let (_, cancelled) = s
        .get("/api/assignments?status=cancelled", &s.dispatcher)
        .await;
    assert_eq!(cancelled.as_array().unwrap().len(), 1);
}

async fn technician_sees_only_its_own(b: Backend) {
    let s = Srv::start(b).await;
    let (_, t1) = s.technician("T-1", &["appliance_repair"]).await;
    let (_, t2) = s.technician("T-2", &["appliance_repair"]).await;
    let mine = s.assignment("appliance_repair", Some("T-1")).await;
    let theirs = s.assignment("appliance_repair", Some("T-2")).await;
    let (st, list) = s.get("/api/assignments", &t1).await;
    assert_eq!(st, 200);
    let ids: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    assert_eq!(ids, vec![mine["id"].clone()]);
    assert_eq!(
        s.get(
            &format!("/api/assignments/{}", mine["id"].as_str().unwrap()),
            &t1
        )
        .await
        .0,
        200
    );
    assert_eq!(
        s.get(
            &format!("/api/assignments/{}", theirs["id"].as_str().unwrap()),
            &t1
        )
        .await
        .0,
        403
    );
    // Writing center fields is the center's job.
    let (st, _) = s
        .call(
            Method::PATCH,
            &format!("/api/assignments/{}", mine["id"].as_str().unwrap()),
            Some(&t1),
            Some(json!({"notes": "x"})),
        )
        .await;
    assert_eq!(st, 403);
    assert_eq!(
        s.get("/api/assignments", &t2)
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn one_hour_rule(b: Backend) {
    let s = Srv::start(b).await;
    s.technician("T-1", &["water_delivery"]).await;
    let now = chrono::Utc::now();
    let mk = |minutes_ago: i64| {
        json!({"trade": "water_delivery", "received_at": now - chrono::Duration::minutes(minutes_ago),
               "customer": {"name": "C"}})
    };
    let (_, fresh) = s.post("/api/assignments", &s.dispatcher, mk(10)).await;
    let (_, late) = s.post("/api/assignments", &s.dispatcher, mk(80)).await;
    let (_, very_late) = s.post("/api/assignments", &s.dispatcher, mk(150)).await;
    let (_, handled) = s.post("/api/assignments", &s.dispatcher, mk(90)).await;
    let (_, half) = s.post("/api/assignments", &s.dispatcher, mk(90)).await;
    // Technician and confirmed window within the hour: not overdue.
    s.post(
        &format!(
            "/api/assignments/{}/assign",
            handled["id"].as_str().unwrap()
        ),
        &s.dispatcher,
        json!({"technician": "T-1", "window_confirmed": true}),
    )
    .await;
    // Technician but no confirmed time: still overdue.
    s.post(
        &format!("/api/assignments/{}/assign", half["id"].as_str().unwrap()),
        &s.dispatcher,
        json!({"technician": "T-1"}),
    )
    .await;
    let (st, reminders) = s.get("/api/reminders", &s.dispatcher).await;
    assert_eq!(st, 200);
    let r = reminders.as_array().unwrap();
    let ids: Vec<_> = r
        .iter()
        .map(|x| x["assignment_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "{reminders}");
    assert!(!ids.contains(&fresh["id"].as_str().unwrap()));
    assert!(!ids.contains(&handled["id"].as_str().unwrap()));
    let find = |v: &serde_json::Value| {
        r.iter()
            .find(|x| x["assignment_id"] == v["id"])
            .unwrap()
            .clone()
    };
    assert_eq!(find(&very_late)["level"], "escalate");
    assert!(find(&very_late)["overdue_minutes"].as_i64().unwrap() >= 89);
    assert_eq!(find(&late)["level"], "reminder");
    assert_eq!(
        find(&late)["missing"],
        json!(["technician", "confirmed_window"])
    );
    assert_eq!(find(&half)["missing"], json!(["confirmed_window"]));
    // A technician without a work phone on record does not satisfy the rule.
    s.post(
        "/api/technicians",
        &s.dispatcher,
        json!({"id": "T-nophone", "name": "N", "trades": ["water_delivery"]}),
    )
    .await;
    let (_, nophone) = s.post("/api/assignments", &s.dispatcher, mk(70)).await;
    s.post(
        &format!(
            "/api/assignments/{}/assign",
            nophone["id"].as_str().unwrap()
        ),
        &s.dispatcher,
        json!({"technician": "T-nophone", "window_confirmed": true}),
    )
    .await;
    let (_, reminders) = s.get("/api/reminders", &s.dispatcher).await;
    let r = reminders.as_array().unwrap();
    let rem = r
        .iter()
        .find(|x| x["assignment_id"] == nophone["id"])
        .unwrap();
    assert_eq!(rem["missing"], json!(["technician_phone"]));
    let (st, body) = s
        .post(
            "/api/technicians",
            &s.dispatcher,
            json!({"id": "T-bad", "name": "B", "trades": [], "phone": "call me"}),
        )
        .await;
    assert_eq!((st, body["error"]["field"].as_str()), (400, Some("phone")));
    // Confirming the window clears it.
    s.call(
        Method::PATCH,
        &format!("/api/assignments/{}", half["id"].as_str().unwrap()),
        Some(&s.dispatcher),
        Some(json!({"window_confirmed": true})),
    )
    .await;
    assert_eq!(
        s.get("/api/reminders", &s.dispatcher)
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

async fn roster_and_workload(b: Backend) {
    let s = Srv::start(b).await;
    s.technician("T-1", &["appliance_repair", "computer_repair"])
        .await;
    s.technician("T-2", &["home_care"]).await;
    s.assignment("appliance_repair", Some("T-1")).await;
    s.assignment("computer_repair", Some("T-1")).await;
    s.assignment("home_care", None).await;
    let (st, roster) = s.get("/api/technicians", &s.dispatcher).await;
    assert_eq!(st, 200);
    assert_eq!(roster[0]["id"], "T-1");
    assert_eq!(roster[0]["open_assignments"], 2);
    assert_eq!(roster[0]["devices"], 1);
    assert_eq!(roster[0]["phone"], "400 820 1234");
    assert_eq!(
        roster[0]["trades"],
        json!(["appliance_repair", "computer_repair"])
    );
    assert_eq!(roster[1]["open_assignments"], 0);
    let (st, body) = s
        .post(
            "/api/technicians",
            &s.dispatcher,
            json!({"id": "T-1", "name": "dup", "trades": []}),
        )
        .await;
    assert_eq!(st, 409, "{body}");
    let (st, body) = s
        .post(
            "/api/technicians",
            &s.dispatcher,
            json!({"id": "T-3", "name": "x", "trades": ["knitting"]}),
        )
        .await;
    assert_eq!(
        (st, body["error"]["field"].as_str()),
        (400, Some("trades[0]"))
    );
}

async fn console_and_health(b: Backend) {
    let s = Srv::start(b).await;
    let html = s.http.get(format!("{}/", s.base)).send().await.unwrap();
    assert!(html.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(html.text().await.unwrap().contains("Doorstep dispatch"));
    let js = s.get_text("/console.js", None).await;
    assert!(js.contains("/api/sync") || js.contains("/api/assignments"));
    let (st, h) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (st, h["backend"].as_str()),
        (
            200,
            Some(if b == Backend::Sqlite {
                "sqlite"
            } else {
                "postgres"
            })
        )
    );
}

async fn reopening_migrates_once_and_keeps_data(b: Backend) {
    let s = Srv::start(b).await;
    s.technician("T-1", &["appliance_repair"]).await;
    s.assignment("appliance_repair", Some("T-1")).await;
    // A second process (or replica) opening the same database.
    let again = doorstep_server::store::Database::open(&s.url)
        .await
        .unwrap();
    let (techs, migrations) = again
        .tx(|tx| {
            Box::pin(async move {
                let t = tx
                    .query_opt("SELECT COUNT(*) FROM technicians", &[])
                    .await?;
                let m = if tx.backend() == "sqlite" {
                    tx.query_opt("PRAGMA user_version", &[]).await?
                } else {
                    tx.query_opt("SELECT COUNT(*) FROM schema_migrations", &[])
                        .await?
                };
                Ok::<_, doorstep_server::http::error::ApiError>((
                    t.unwrap().int(0),
                    m.unwrap().int(0),
                ))
            })
        })
        .await
        .unwrap();
    // Every migration applied once: one per migration file.
    let files = crate::harness::sqlite_migration_count();
    assert_eq!((techs, migrations), (1, files));
    // And it serves the same data.
    let (_, list) = s.get("/api/assignments", &s.dispatcher).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

/// Every order takes the next number of the day it was received
/// (`A-YYYYMMDD-NNNN`), each day counted on its own; a day numbered before
/// the day's last was recorded (schema 28) steps past its ids once; an id
/// already taken is skipped.
async fn orders_are_numbered_on_from_their_days_last(b: Backend) {
    let s = Srv::start(b).await;
    let take = |day: &'static str| {
        let s = &s;
        async move {
            let caller = json!({"name": "Caller", "phone": "139 0000 1111", "address": "2 Road"});
            let (st, body) = s
                .post(
                    "/api/intakes",
                    &s.dispatcher,
                    json!({"classification": "complex", "caller": caller,
                    "content": "radiator cold", "trade": "heating_service",
                    "received_at": format!("{day}T09:00:00Z")}),
                )
                .await;
            assert_eq!(st, 201, "{body}");
            body["assignment"]["id"].as_str().unwrap().to_string()
        }
    };
    let sql = |statement: &'static str| {
        s.state.db.tx(move |tx| {
            Box::pin(async move {
                let row = tx.query_opt(statement, &[]).await?;
                Ok::<_, doorstep_server::http::error::ApiError>(row.map(|r| r.int(0)))
            })
        })
    };
    assert_eq!(take("2026-11-20").await, "A-20261120-0001");
    assert_eq!(take("2026-11-20").await, "A-20261120-0002");
    assert_eq!(take("2026-11-21").await, "A-20261121-0001");
    assert_eq!(take("2026-11-20").await, "A-20261120-0003");
    // Each day's last is kept: the next intake reads it rather than counting.
    let last = "SELECT last FROM order_numbers WHERE day = '20261120'";
    assert_eq!(sql(last).await.unwrap(), Some(3));
    // A database whose days were numbered before their last was kept.
    sql("DELETE FROM order_numbers").await.unwrap();
    assert_eq!(take("2026-11-20").await, "A-20261120-0004");
    assert_eq!(take("2026-11-21").await, "A-20261121-0002");
    // A day whose next ids are taken already (by an import, say).
    sql("UPDATE order_numbers SET last = 2 WHERE day = '20261120'")
        .await
        .unwrap();
    assert_eq!(take("2026-11-20").await, "A-20261120-0005");
    assert_eq!(take("2026-11-20").await, "A-20261120-0006");
    // The kept last is what numbers on, not a count of the day's ids.
    sql("UPDATE order_numbers SET last = 9 WHERE day = '20261120'")
        .await
        .unwrap();
    assert_eq!(take("2026-11-20").await, "A-20261120-0010");
}
