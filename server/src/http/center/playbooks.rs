//! A company's own playbooks (`domain::playbooks`): `POST /api/playbooks`
//! publishes a version (admins), `GET /api/playbooks` lists what was
//! published with the key phones verify it under, `GET
//! /api/playbooks/{trade}/{version}` gives one version as signed.

use crate::app::AppState;
use crate::domain::playbooks::{public_key_tx, publish_tx};
use crate::failure::Failure;
use crate::http::auth::Auth;
use crate::http::error::{parse_json, read_body, require_json_media_type, ApiResult};
use crate::store::playbooks;
use crate::time::{from_ms, now_ms};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use doorstep_core::playbook::PublishedPlaybook;
use doorstep_core::Playbook;
use serde::{Deserialize, Serialize};

/// One published version.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublishedPlaybookView {
    /// The trade (`appliance_repair`, …).
    pub trade: String,
    pub version: i64,
    pub published_by: String,
    pub published_at: DateTime<Utc>,
}

/// What was published, and the key the phones verify it under.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublishedPlaybooks {
    /// The public half of the server's playbook key (hex of the P-256 SEC1
    /// point), as enrolment gives it to the phones.
    pub playbook_key: String,
    /// Newest first within each trade.
    pub playbooks: Vec<PublishedPlaybookView>,
}

#[utoipa::path(
    post, path = "/api/playbooks", tag = "admin", security(("session" = [])),
    request_body(content((doorstep_core::Playbook = "application/json"), (String = "application/toml")), description = "A playbook as the shipped ones are written (core/src/playbook/trades): TOML with `Content-Type: application/toml`, or the same as JSON. `id` names the trade, `version` must be newer than every version of that trade in force"),
    responses((status = 201, description = "Published: signed with the server's playbook key and sent to every phone at its next sync. A visit already started keeps the version it started with; visits that start after the phone has it walk this one. Refused 400 `invalid_field` naming the playbook's field (`playbook.fees[2].price`, `playbook.id` for a trade this server does not walk), 403 for a non-admin, 409 `version_not_newer` (with `newest_version`)", body = PublishedPlaybookView))
)]
pub async fn publish_playbook(
    State(state): State<AppState>,
    Auth(who): Auth,
    req: Request,
) -> ApiResult<(StatusCode, Json<PublishedPlaybookView>)> {
    let by = who.admin()?.to_string();
    let headers = req.headers().clone();
    let bytes = read_body(req, &state).await?;
    let playbook = if is_toml(&headers) {
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            Failure::field("playbook", "is not UTF-8 text; send the TOML file as UTF-8")
        })?;
        Playbook::from_toml("playbook", text).map_err(refused)?
    } else {
        require_json_media_type(&headers)?;
        let body: serde_json::Value = parse_json(&bytes)?;
        Playbook::from_json("playbook", &body.to_string()).map_err(refused)?
    };
    let now = now_ms();
    let published_by = by.clone();
    let kept = playbook.clone();
    let signed = state
        .db
        .tx(move |tx| Box::pin(async move { publish_tx(tx, &playbook, &by, now).await }))
        .await?;
    // Committed: the server judges visits by it from now on.
    state.playbooks.add(vec![kept]);
    tracing::info!(trade = %signed.trade, version = signed.version, by = %published_by, "playbook published");
    Ok((
        StatusCode::CREATED,
        Json(PublishedPlaybookView {
            trade: signed.trade,
            version: signed.version,
            published_by,
            published_at: from_ms(now),
        }),
    ))
}

/// `Content-Type: application/toml` (or `text/toml`, `text/x-toml`).
fn is_toml(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| matches!(v.as_str(), "application/toml" | "text/toml" | "text/x-toml"))
}

/// A playbook that does not validate, refused naming its field
/// (`playbook.fees[0].price`).
fn refused(e: doorstep_core::playbook::PlaybookError) -> Failure {
    let field = if e.field.is_empty() {
        "playbook".to_string()
    } else {
        format!("playbook.{}", e.field)
    };
    Failure::field(&field, e.problem)
}

#[utoipa::path(
    get, path = "/api/playbooks", tag = "center", security(("session" = [])),
    responses((status = 200, description = "Every published version, newest first within each trade, and the public playbook key", body = PublishedPlaybooks))
)]
pub async fn list_playbooks(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<PublishedPlaybooks>> {
    who.dispatcher()?;
    let (key, rows) = state
        .db
        .tx(|tx| {
            Box::pin(async move {
                let key = public_key_tx(tx).await?;
                Ok::<_, Failure>((key, playbooks::list(tx).await?))
            })
        })
        .await?;
    Ok(Json(PublishedPlaybooks {
        playbook_key: key,
        playbooks: rows
            .into_iter()
            .map(|r| PublishedPlaybookView {
                trade: r.trade,
                version: r.version,
                published_by: r.published_by,
                published_at: from_ms(r.published_at),
            })
            .collect(),
    }))
}

#[utoipa::path(
    get, path = "/api/playbooks/{trade}/{version}", tag = "center", security(("session" = [])),
    params(("trade" = String, Path, description = "The trade"), ("version" = i64, Path, description = "The published version")),
    responses((status = 200, description = "The version as the phones receive it: the body and the signature they verify", body = crate::api_schema::PublishedPlaybook))
)]
pub async fn get_playbook(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((trade, version)): Path<(String, i64)>,
) -> ApiResult<Json<PublishedPlaybook>> {
    who.dispatcher()?;
    let label = format!("{trade} v{version}");
    let found = state
        .db
        .read(move |tx| Box::pin(async move { playbooks::get(tx, &trade, version).await }))
        .await?
        .ok_or_else(|| Failure::not_found("published playbook", &label))?;
    Ok(Json(found))
}
