//! The `report_links` table: customer links to a visit's service report,
//! stored by the SHA-256 of their token, with their expiry.

use super::sql::Tx;
use crate::failure::Fallible;

/// A stored link (never its token: only the hash is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLinkRow {
    pub visit_id: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
}

fn link_from_row(r: &super::sql::Row) -> ReportLinkRow {
    ReportLinkRow {
        visit_id: r.text("visit_id"),
        created_by: r.text("created_by"),
        created_at: r.int("created_at"),
        expires_at: r.int("expires_at"),
    }
}

/// Stores a new link.
pub async fn insert_link(tx: &mut dyn Tx, token_hash: &str, link: &ReportLinkRow) -> Fallible<()> {
    tx.execute(
        "INSERT INTO report_links (token_hash, visit_id, created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            token_hash.into(),
            link.visit_id.as_str().into(),
            link.created_by.as_str().into(),
            link.created_at.into(),
            link.expires_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The link with this token hash.
pub async fn link_by_hash(tx: &mut dyn Tx, token_hash: &str) -> Fallible<Option<ReportLinkRow>> {
    Ok(tx
        .query_opt(
            "SELECT visit_id, created_by, created_at, expires_at FROM report_links WHERE token_hash = $1",
            &[token_hash.into()],
        )
        .await?
        .map(|r| link_from_row(&r)))
}

/// A visit's most recently created link.
pub async fn latest_link(tx: &mut dyn Tx, visit_id: &str) -> Fallible<Option<ReportLinkRow>> {
    Ok(tx
        .query_opt(
            "SELECT visit_id, created_by, created_at, expires_at FROM report_links
             WHERE visit_id = $1 ORDER BY created_at DESC, token_hash LIMIT 1",
            &[visit_id.into()],
        )
        .await?
        .map(|r| link_from_row(&r)))
}
