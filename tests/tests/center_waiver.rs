//! STANDARDS §2.1 (接活) end to end: "the appointment may not be confirmed
//! until the missing fields are resolved or explicitly waived by the
//! center". A technician's phone asks the center to verify a field the order
//! lacks; the desk waives it from its queue; the phone's next sync brings
//! the waiver with the order, the appointment is confirmed on the phone, and
//! the server admits that confirmation (its replay of the visit sees the
//! same waiver in the order the phone received).

use chrono::{Duration, Utc};
use doorstep_e2e::{Center, Phone};
use serde_json::json;

const CONFIRM: &str =
    r#"{"type": "confirm_appointment", "address_confirmed": true, "product_confirmed": true}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_the_desk_waives_reaches_the_phone_which_then_confirms_the_appointment() {
    let center = Center::start().await;
    let (device, token) = center.technician("T-8").await;
    let start = Utc::now() + Duration::hours(3);
    // The customer does not know when the fridge was bought.
    let assignment = center
        .order(
            json!({
                "trade": "appliance_repair",
                "customer": {"name": "王芳", "phone": "138 0013 8000", "address": "上海市浦东新区世纪大道88号1201室",
                             "location": {"lat": 31.2304, "lon": 121.4737}},
                "product": {"model": "BCD-470", "warranty": "out_of_warranty"},
                "fault_description": "冰箱不制冷",
                "requested_window": {"start": start, "end": start + Duration::hours(2)},
            }),
            "T-8",
        )
        .await;
    let id = assignment.to_string();
    let now = Utc::now();
    let phone = Phone::new("T-8", &device, &token, &center.base, now);
    phone.sync().await.expect("the first sync");

    // The phone will not confirm without the purchase date; it asks the center.
    phone
        .apply(
            &assignment,
            now,
            json!({"type": "log_call", "outcome": "reached"}),
        )
        .unwrap();
    let refused = phone
        .apply(&assignment, now, serde_json::from_str(CONFIRM).unwrap())
        .unwrap_err();
    assert_eq!(refused.code(), "missing_assignment_info", "{refused}");
    phone
        .apply(
            &assignment,
            now + Duration::minutes(1),
            json!({"type": "verify_with_center", "fields": ["purchase_date"], "note": "客户记不清购买日期"}),
        )
        .unwrap();
    phone.sync().await.expect("the request reaches the center");

    // The desk waives the field from the request in its queue.
    let queue = center.get("/api/requests").await;
    let request = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "center_verification_requested" && i["assignment_id"] == id.as_str())
        .unwrap_or_else(|| panic!("the request is queued: {queue}"))
        .clone();
    let current = center.get(&format!("/api/assignments/{id}")).await;
    let waived = center
        .post(
            &format!("/api/assignments/{id}/waive-fields"),
            json!({"fields": ["purchase_date"], "request_id": request["id"], "expected_version": current["version"]}),
        )
        .await;
    let version = waived["version"].as_u64().unwrap();
    assert_eq!(
        waived["center_waivers"],
        json!([{"fields": ["purchase_date"], "approved_by": "desk",
                "approval_code": format!("{id}-v{version}"), "at": waived["center_waivers"][0]["at"]}]),
        "{waived}"
    );
    assert_eq!(center.get("/api/requests").await["total"], 0, "answered");
    let history = center.get(&format!("/api/assignments/{id}/history")).await;
    let last = history.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "fields_waived", "{history}");
    assert_eq!(
        last["changes"],
        json!([{"field": "center_waived", "before": [], "after": ["purchase_date"]}])
    );

    // The same field again: nothing new to waive, said so.
    let (st, again) = center
        .call(
            reqwest::Method::POST,
            &format!("/api/assignments/{id}/waive-fields"),
            json!({"fields": ["purchase_date"]}),
        )
        .await;
    assert_eq!(
        (st, &again["error"]["code"]),
        (409, &json!("already_waived"))
    );

    // The phone's next sync brings the waiver: the appointment is confirmed.
    phone.sync().await.expect("the waiver reaches the phone");
    let later = now + Duration::minutes(20);
    phone
        .apply(&assignment, later, serde_json::from_str(CONFIRM).unwrap())
        .expect("confirmed once the center waived the purchase date");
    phone
        .sync()
        .await
        .expect("the confirmation reaches the center");
    let refused = center.get("/api/refused-events").await;
    assert_eq!(refused, json!([]), "the server admits the confirmation");
    let visits = center.get(&format!("/api/visits?assignment_id={id}")).await;
    assert_eq!(visits[0]["stage"], "scheduled", "{visits}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiver_names_a_field_and_answers_only_a_verification_request_of_its_order() {
    let center = Center::start().await;
    center.technician("T-9").await;
    let id = center
        .assignment("T-9", Utc::now() + Duration::hours(3))
        .await;
    let path = format!("/api/assignments/{id}/waive-fields");
    let (st, body) = center
        .call(reqwest::Method::POST, &path, json!({"fields": []}))
        .await;
    assert_eq!(
        (st, &body["error"]["field"]),
        (400, &json!("fields")),
        "{body}"
    );
    assert_eq!(
        body["error"]["message_zh"],
        "免填项目：取值无效，请检查后重新提交。"
    );
    let (st, body) = center
        .call(
            reqwest::Method::POST,
            &path,
            json!({"fields": ["purchase_date"], "request_id": "no-such-request"}),
        )
        .await;
    assert_eq!(
        (st, &body["error"]["field"]),
        (400, &json!("request_id")),
        "{body}"
    );
    // Refused: nothing changed.
    let a = center.get(&format!("/api/assignments/{id}")).await;
    assert!(a.get("center_waivers").is_none(), "{a}");
    let (st, body) = center
        .call(
            reqwest::Method::POST,
            &path,
            json!({"fields": ["purchase_date"], "expected_version": 99}),
        )
        .await;
    assert_eq!(
        (st, &body["error"]["code"]),
        (409, &json!("version_mismatch")),
        "{body}"
    );
}
