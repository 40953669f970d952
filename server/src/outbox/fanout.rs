//! The fan-out: integration events not yet numbered get their feed number
//! (under the feed lock, so replicas number them once and in order) and, in
//! the same transaction, their outbox messages — one signed webhook per
//! live endpoint subscribed to the event's type, and the customer notice a
//! milestone, a dispatch or a new acceptance code calls for when the work
//! order's customer consented (held until the end of quiet hours). Idempotency keys are derived from the event, so
//! a message is never put in twice.

use crate::app::AppState;
use crate::domain::notices::{lang_of_tag, render, NoticeMoment, RenderedNotice};
use crate::domain::outbox::{
    done_for_customer, ACCEPTANCE_CODE_REISSUED, ORDER_STATUS_CHANGED, VISIT_MILESTONE,
};
use crate::domain::webhooks::event_body;
use crate::failure::Fallible;
use crate::report::links;
use crate::store::integrations::{self, IntegrationEvent, WebhookEndpoint};
use crate::store::outbox::{enqueue, NewOutboxMessage};
use crate::store::{acceptance_codes, assignments, notices, LockKey, Tx};
use crate::time::{from_ms, now_ms};
use chrono::{DateTime, Utc};
use doorstep_core::workflow::event::Outcome;
use serde_json::{json, Value};

/// Most events fanned out in one round.
const ROUND: i64 = 200;

/// Fans out the events recorded since the last round; returns how many.
pub async fn fan_out(state: &AppState) -> Fallible<usize> {
    let st = state.clone();
    state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                tx.lock(LockKey::IntegrationFeed).await?;
                let events = integrations::unnumbered(tx, ROUND).await?;
                if events.is_empty() {
                    return Ok(0);
                }
                let endpoints: Vec<WebhookEndpoint> = integrations::list_endpoints(tx)
                    .await?
                    .into_iter()
                    .filter(|e| e.disabled_at.is_none())
                    .collect();
                let mut seq = integrations::last_feed_seq(tx).await?;
                let now = now_ms();
                for mut e in events.iter().cloned() {
                    seq += 1;
                    integrations::number_event(tx, &e.id, seq).await?;
                    e.feed_seq = Some(seq);
                    for ep in endpoints
                        .iter()
                        .filter(|ep| ep.event_types.contains(&e.event_type))
                    {
                        enqueue(
                            tx,
                            &NewOutboxMessage {
                                id: uuid::Uuid::now_v7().to_string(),
                                kind: "webhook".into(),
                                idempotency_key: format!("webhook:{}:{}", ep.id, e.id),
                                assignment_id: e.assignment_id.clone(),
                                target: ep.id.clone(),
                                payload: json!({ "url": ep.url, "event": event_body(&e) })
                                    .to_string(),
                                first_attempt_at: now,
                                created_at: now,
                            },
                        )
                        .await?;
                    }
                    if e.event_type == VISIT_MILESTONE {
                        notice_for(tx, &st, &e, now).await?;
                    }
                    if e.event_type == ORDER_STATUS_CHANGED && e.data["to"] == "assigned" {
                        acceptance_code_notice(tx, &st, &e, None, now).await?;
                    }
                    if e.event_type == ACCEPTANCE_CODE_REISSUED {
                        let version = e.data["version"].as_u64();
                        acceptance_code_notice(tx, &st, &e, version, now).await?;
                    }
                }
                Ok(events.len())
            })
        })
        .await
}

/// Puts the notice a milestone calls for in the outbox, if the customer
/// consented to notices for this work order.
async fn notice_for(
    tx: &mut dyn Tx,
    state: &AppState,
    e: &IntegrationEvent,
    now: i64,
) -> Fallible<()> {
    let milestone = e.data["milestone"].as_str().unwrap_or_default();
    let done =
        serde_json::from_value::<Outcome>(e.data["outcome"].clone()).is_ok_and(done_for_customer);
    let (Some(moment), Some(assignment_id)) = (
        NoticeMoment::of_milestone(milestone, done),
        e.assignment_id.as_deref(),
    ) else {
        return Ok(());
    };
    let Some(consent) = notices::consent_of(tx, assignment_id).await? else {
        return Ok(());
    };
    if !consent.consented {
        return Ok(());
    }
    let lang = lang_of_tag(&consent.language);
    let zone = &state.zone;
    let technician = match e.data["technician_id"].as_str() {
        Some(t) => notices::technician_contact(tx, t).await?,
        None => None,
    };
    let window = match e.data["window"].clone() {
        Value::Null => assignments::load_assignment(tx, assignment_id)
            .await?
            .and_then(|a| a.assignment.requested_window),
        w => serde_json::from_value(w).ok(),
    };
    let eta: Option<DateTime<Utc>> = serde_json::from_value(e.data["eta"].clone()).ok();
    let report_link = match (moment, e.visit_id.as_deref()) {
        (NoticeMoment::Done, Some(visit)) => {
            let base = state
                .config
                .public_url
                .clone()
                .unwrap_or_else(|| "http://localhost:8080".into());
            match links::create(
                tx,
                visit,
                "notices",
                now,
                state.config.report_link_days,
                &base,
            )
            .await
            {
                Ok(link) => Some(link.url),
                Err(err) => {
                    tracing::warn!(visit, error = %err, "no report link for the done notice");
                    None
                }
            }
        }
        _ => None,
    };
    let rendered = render(moment, lang, |name| match name {
        "window" => window
            .as_ref()
            .map(|w| zone.format_window(w.start, w.end, lang)),
        "technician" => technician.as_ref().map(|t| t.0.clone()),
        "work_phone" => technician.as_ref().and_then(|t| t.1.clone()),
        "eta" => eta.map(|t| zone.format_date_time(t, lang)),
        "report_link" => report_link.clone(),
        _ => None,
    });
    let key = format!("notice:{}:{}", moment.as_str(), e.id);
    enqueue_notice(
        tx,
        state,
        e,
        assignment_id,
        &consent,
        moment,
        rendered,
        key,
        now,
    )
    .await
}

/// Sends the work order's acceptance code to the customer when the order
/// is dispatched, once per order (a reassignment does not send it again),
/// and a code issued again at the desk once per order version (`reissued`),
/// if a code was issued and the customer consented to notices.
async fn acceptance_code_notice(
    tx: &mut dyn Tx,
    state: &AppState,
    e: &IntegrationEvent,
    reissued: Option<u64>,
    now: i64,
) -> Fallible<()> {
    let Some(assignment_id) = e.assignment_id.as_deref() else {
        return Ok(());
    };
    let Some(issued) = acceptance_codes::of_assignment(tx, assignment_id).await? else {
        return Ok(());
    };
    let Some(consent) = notices::consent_of(tx, assignment_id)
        .await?
        .filter(|c| c.consented)
    else {
        return Ok(());
    };
    let moment = NoticeMoment::AcceptanceCode;
    let rendered = render(moment, lang_of_tag(&consent.language), |name| {
        (name == "code").then(|| issued.code.clone())
    });
    let key = match reissued {
        None => format!("notice:{}:{assignment_id}", moment.as_str()),
        Some(version) => format!("notice:{}:{assignment_id}:v{version}", moment.as_str()),
    };
    enqueue_notice(
        tx,
        state,
        e,
        assignment_id,
        &consent,
        moment,
        rendered,
        key,
        now,
    )
    .await
}

/// Puts a rendered notice in the outbox, held until quiet hours end.
#[allow(clippy::too_many_arguments)]
async fn enqueue_notice(
    tx: &mut dyn Tx,
    state: &AppState,
    e: &IntegrationEvent,
    assignment_id: &str,
    consent: &notices::ConsentRecord,
    moment: NoticeMoment,
    rendered: RenderedNotice,
    idempotency_key: String,
    now: i64,
) -> Fallible<()> {
    let release = state
        .providers
        .notice_quiet_hours
        .0
        .release_time(from_ms(now), &state.zone)
        .timestamp_millis();
    let payload = json!({
        "moment": moment,
        "channel": consent.channel,
        "address": consent.address,
        "language": consent.language,
        "text": rendered.text,
        "params": rendered.params,
        "visit_id": e.visit_id,
        "event_id": e.id,
    });
    enqueue(
        tx,
        &NewOutboxMessage {
            id: uuid::Uuid::now_v7().to_string(),
            kind: "notice".into(),
            idempotency_key,
            assignment_id: Some(assignment_id.to_string()),
            target: consent.channel.clone(),
            payload: payload.to_string(),
            first_attempt_at: release,
            created_at: now,
        },
    )
    .await?;
    Ok(())
}
