//! Device tokens rotate without losing a phone's work: a sync answer
//! carries a new token (`Doorstep-Device-Token`) once the token is older
//! than `--device-token-rotate-days`; the replaced token keeps working for
//! `--device-token-grace-days`, so a phone that missed the answer (or was
//! offline) still syncs with it — and is sent a new one — and only after
//! the grace period is it refused.

use crate::both_backends;
use crate::harness::{Backend, Srv};
use doorstep_server::http::error::ApiError;
use serde_json::{json, Value};

both_backends!(
    a_token_older_than_the_rotation_age_is_replaced_in_a_sync_answer,
    a_young_token_is_not_replaced,
    a_phone_that_missed_the_new_token_still_syncs_with_the_old_one_in_the_grace_period,
    a_replaced_token_stops_working_after_the_grace_period,
    re_enrolment_ends_the_replaced_tokens_too,
    an_exchange_answer_carries_the_new_token_when_rotation_is_due,
);

const DAY_MS: i64 = 86_400_000;

/// A sync request to `path` with `token`: (status, new token in the
/// answer, body).
async fn sync_call(s: &Srv, path: &str, token: &str, body: Value) -> (u16, Option<String>, Value) {
    let res = s
        .http
        .post(format!("{}{path}", s.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let new = res
        .headers()
        .get("doorstep-device-token")
        .map(|v| v.to_str().unwrap().to_string());
    let body = res.json().await.unwrap_or(Value::Null);
    (status, new, body)
}

/// A pull with `token`: (status, new token in the answer, body).
async fn pull(s: &Srv, device: &str, token: &str) -> (u16, Option<String>, Value) {
    let body = json!({"protocol_version": 1, "device_id": device, "cursor": 0});
    sync_call(s, "/api/sync/pull", token, body).await
}

/// An exchange (push and pull in one round trip) with `token`: (status,
/// new token in the answer, body).
async fn exchange(s: &Srv, device: &str, token: &str) -> (u16, Option<String>, Value) {
    let body = json!({"protocol_version": 1, "device_id": device, "events": [], "cursor": 0});
    sync_call(s, "/api/sync/exchange", token, body).await
}

/// Moves the device's current token's issue time `days` into the past.
async fn age_token(s: &Srv, device: &str, days: i64) {
    let device = device.to_string();
    s.state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                tx.execute(
                    "UPDATE devices SET token_issued_at = token_issued_at - $1 WHERE id = $2",
                    &[(days * DAY_MS).into(), device.as_str().into()],
                )
                .await?;
                Ok::<_, ApiError>(())
            })
        })
        .await
        .unwrap();
}

/// Ends the grace period of every token the device's rotations replaced.
async fn end_grace(s: &Srv, device: &str) {
    let device = device.to_string();
    s.state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                tx.execute(
                    "UPDATE device_retired_tokens SET valid_until = 0 WHERE device_id = $1",
                    &[device.as_str().into()],
                )
                .await?;
                Ok::<_, ApiError>(())
            })
        })
        .await
        .unwrap();
}

async fn a_token_older_than_the_rotation_age_is_replaced_in_a_sync_answer(b: Backend) {
    let s = Srv::start(b).await;
    let (device, old) = s.technician("T-1", &["appliance_repair"]).await;
    age_token(&s, &device, s.state.config.device_token_rotate_days).await;
    let (st, new, body) = pull(&s, &device, &old).await;
    assert_eq!(st, 200, "{body}");
    let new = new.expect("a new token in the answer of a sync with an old token");
    assert_ne!(new, old);
    // The new token syncs, and is not replaced again.
    let (st, again, _) = pull(&s, &device, &new).await;
    assert_eq!((st, again), (200, None));
    // The old one still works during the grace period.
    let (st, _, _) = pull(&s, &device, &old).await;
    assert_eq!(st, 200);
}

async fn a_young_token_is_not_replaced(b: Backend) {
    let s = Srv::start(b).await;
    let (device, token) = s.technician("T-1", &["appliance_repair"]).await;
    age_token(&s, &device, s.state.config.device_token_rotate_days - 1).await;
    let (st, new, _) = pull(&s, &device, &token).await;
    assert_eq!((st, new), (200, None));
}

async fn a_phone_that_missed_the_new_token_still_syncs_with_the_old_one_in_the_grace_period(
    b: Backend,
) {
    let s = Srv::start(b).await;
    let (device, old) = s.technician("T-1", &["appliance_repair"]).await;
    age_token(&s, &device, 40).await;
    // The answer carrying the new token is lost on the way to the phone.
    let (st, lost, _) = pull(&s, &device, &old).await;
    assert_eq!(st, 200);
    let lost = lost.unwrap();
    // Days later (offline, within the grace period) the phone syncs with
    // the token it has: accepted, and given a new one.
    let (st, new, body) = pull(&s, &device, &old).await;
    assert_eq!(st, 200, "{body}");
    let new = new.expect("a phone still on a replaced token is sent a new one");
    assert_ne!(new, lost);
    // Every token handed out works until its grace period ends.
    for t in [&old, &lost, &new] {
        assert_eq!(pull(&s, &device, t).await.0, 200);
    }
}

async fn a_replaced_token_stops_working_after_the_grace_period(b: Backend) {
    let s = Srv::start(b).await;
    let (device, old) = s.technician("T-1", &["appliance_repair"]).await;
    age_token(&s, &device, 40).await;
    let (_, new, _) = pull(&s, &device, &old).await;
    let new = new.unwrap();
    end_grace(&s, &device).await;
    let (st, _, body) = pull(&s, &device, &old).await;
    assert_eq!(st, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(pull(&s, &device, &new).await.0, 200);
}

async fn re_enrolment_ends_the_replaced_tokens_too(b: Backend) {
    let s = Srv::start(b).await;
    let (device, old) = s.technician("T-1", &["appliance_repair"]).await;
    age_token(&s, &device, 40).await;
    let (_, rotated, _) = pull(&s, &device, &old).await;
    let rotated = rotated.unwrap();
    let (st, body) = s
        .post(
            "/api/technicians/T-1/devices",
            &s.dispatcher,
            json!({"device_id": device, "rotate": true}),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    for t in [&old, &rotated] {
        assert_eq!(pull(&s, &device, t).await.0, 401);
    }
    let enrolled = body["token"].as_str().unwrap();
    assert_eq!(pull(&s, &device, enrolled).await.0, 200);
}

/// The phone's last push batch goes to the exchange: its answer rotates the
/// token as a pull's does, and the new token syncs at once.
async fn an_exchange_answer_carries_the_new_token_when_rotation_is_due(b: Backend) {
    let s = Srv::start(b).await;
    let (device, old) = s.technician("T-1", &["appliance_repair"]).await;
    let (st, young, body) = exchange(&s, &device, &old).await;
    assert_eq!((st, young), (200, None), "{body}");
    age_token(&s, &device, s.state.config.device_token_rotate_days).await;
    let (st, new, body) = exchange(&s, &device, &old).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["push"]["acked_seq"], 0, "{body}");
    let new = new.expect("a new token in the answer of an exchange with an old token");
    assert_ne!(new, old);
    let (st, again, _) = exchange(&s, &device, &new).await;
    assert_eq!((st, again), (200, None));
}
