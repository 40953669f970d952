//! A phone keeps working across device-token rotations (issue 14): the
//! server replaces an old token in a sync answer, the phone stores the new
//! one and syncs with it after the old one has expired — its offline work
//! all arrives, once. A phone rebuilt from its enrolment token (an app
//! restart) takes up the stored token.

use chrono::{DateTime, Duration, Utc};
use doorstep_core::AssignmentId;
use doorstep_e2e::{appliance_visit, Center, Phone};
use doorstep_server::http::error::ApiError;

fn soon() -> DateTime<Utc> {
    Utc::now()
        .date_naive()
        .and_hms_opt(1, 0, 0)
        .unwrap()
        .and_utc()
        + Duration::days(3)
}

/// Runs `sql` with one text parameter on the center's database.
async fn execute(center: &Center, sql: &'static str, device: &str) {
    let device = device.to_string();
    center
        .server
        .state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                tx.execute(sql, &[device.as_str().into()]).await?;
                Ok::<_, ApiError>(())
            })
        })
        .await
        .unwrap();
}

fn work(phone: &Phone, a: &AssignmentId, start: DateTime<Utc>, steps: std::ops::Range<usize>) {
    for (at, cmd) in appliance_visit(start)[steps].iter() {
        phone
            .apply(a, *at, cmd.clone())
            .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_stores_its_rotated_token_and_syncs_with_it_after_the_old_one_expired() {
    let center = Center::start().await;
    let (device, enrolled) = center.technician("T-1").await;
    let start = soon();
    let a = center.assignment("T-1", start).await;
    let phone = Phone::new("T-1", &device, &enrolled, &center.base, Utc::now());
    phone.sync().await.unwrap();
    let steps = appliance_visit(start).len();
    // Offline work, then the token is past the rotation age at the next sync.
    work(&phone, &a, start, 0..steps / 2);
    execute(
        &center,
        "UPDATE devices SET token_issued_at = token_issued_at - 40 * 86400000 WHERE id = $1",
        &device,
    )
    .await;
    let report = phone.sync().await.unwrap();
    assert_eq!(report.pending, 0);
    let rotated = phone
        .store
        .rotated_device_token(&enrolled)
        .unwrap()
        .expect("the phone stored the token the server rotated to");
    assert_ne!(rotated, enrolled);
    // The grace period of the enrolment token ends while the phone works
    // offline; its next sync (a client built again from the enrolment
    // token, as after an app restart) uses the stored token.
    execute(
        &center,
        "UPDATE device_retired_tokens SET valid_until = 0 WHERE device_id = $1",
        &device,
    )
    .await;
    work(&phone, &a, start, steps / 2..steps);
    let report = phone.sync().await.unwrap();
    assert_eq!(
        report.pending, 0,
        "everything went up with the rotated token"
    );
    assert_eq!(
        center.stored_event_ids(&phone.device).await,
        phone.event_ids(std::slice::from_ref(&a)),
        "every offline event arrived, once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_rotation_of_another_enrolment_is_not_used() {
    let center = Center::start().await;
    let (device, enrolled) = center.technician("T-1").await;
    let phone = Phone::new("T-1", &device, &enrolled, &center.base, Utc::now());
    phone
        .store
        .keep_rotated_device_token("d_an_earlier_enrolment", "d_its_rotation", Utc::now())
        .unwrap();
    assert_eq!(phone.store.rotated_device_token(&enrolled).unwrap(), None);
    phone
        .sync()
        .await
        .expect("syncs with its own enrolment token");
}
