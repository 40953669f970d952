//! Customer links (`/r/{token}`): an unguessable token (256 random bits),
//! shown once when created and stored only as its SHA-256, that opens one
//! closed visit's report until it expires (`--report-link-days`, 30 by
//! default).

use crate::auth::{new_token, token_hash};
use crate::failure::{Failure, Fallible};
use crate::store::report_links::{self, ReportLinkRow};
use crate::store::{visits, Tx};
use serde::Serialize;

use super::document::not_closed;

/// Milliseconds in a day.
const DAY_MS: i64 = 24 * 3600 * 1000;

/// The path of a customer link.
pub fn link_path(token: &str) -> String {
    format!("/r/{token}")
}

/// A link just created: the only time its token is known.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedLink {
    pub visit_id: String,
    pub token: String,
    /// The full address to give the customer.
    pub url: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A visit's latest link as stored (its token cannot be shown again).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinkStatus {
    pub visit_id: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub expired: bool,
}

/// What a token opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkLookup {
    Live { visit_id: String },
    Expired { visit_id: String, expired_at: i64 },
    Unknown,
}

/// Creates a link to a closed visit's report, valid for `days` days from `now`.
pub async fn create(
    tx: &mut dyn Tx,
    visit_id: &str,
    actor: &str,
    now: i64,
    days: i64,
    base_url: &str,
) -> Fallible<CreatedLink> {
    let row = visits::load_visit(tx, visit_id)
        .await?
        .ok_or_else(|| Failure::NotFound {
            what: "visit",
            id: visit_id.to_string(),
        })?;
    if row.closed_at.is_none() {
        return Err(not_closed(visit_id));
    }
    let token = new_token("rpt");
    let link = ReportLinkRow {
        visit_id: visit_id.to_string(),
        created_by: actor.to_string(),
        created_at: now,
        expires_at: now + days * DAY_MS,
    };
    report_links::insert_link(tx, &token_hash(&token), &link).await?;
    Ok(CreatedLink {
        visit_id: link.visit_id,
        url: format!("{}{}", base_url.trim_end_matches('/'), link_path(&token)),
        token,
        created_at: link.created_at,
        expires_at: link.expires_at,
    })
}

/// A visit's latest link, if it has one.
pub async fn status(tx: &mut dyn Tx, visit_id: &str, now: i64) -> Fallible<Option<LinkStatus>> {
    Ok(report_links::latest_link(tx, visit_id)
        .await?
        .map(|l| LinkStatus {
            expired: l.expires_at <= now,
            visit_id: l.visit_id,
            created_by: l.created_by,
            created_at: l.created_at,
            expires_at: l.expires_at,
        }))
}

/// What `token` opens at `now`.
pub async fn resolve(tx: &mut dyn Tx, token: &str, now: i64) -> Fallible<LinkLookup> {
    Ok(
        match report_links::link_by_hash(tx, &token_hash(token)).await? {
            Some(l) if l.expires_at > now => LinkLookup::Live {
                visit_id: l.visit_id,
            },
            Some(l) => LinkLookup::Expired {
                visit_id: l.visit_id,
                expired_at: l.expires_at,
            },
            None => LinkLookup::Unknown,
        },
    )
}
