//! The `published_playbooks` table and the server's playbook signing key
//! (`settings`): the company's own playbook versions as signed for the
//! phones, never replaced or removed.

use super::settings;
use super::sql::{Row, Tx};
use crate::failure::{Failure, Fallible};
use doorstep_core::playbook::{PlaybookSigningKey, PublishedPlaybook};
use std::collections::BTreeMap;

const SIGNING_KEY: &str = "playbook_signing_key";

/// A published version as listed (without its body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedRow {
    pub trade: String,
    pub version: i64,
    pub published_by: String,
    pub published_at: i64,
}

/// The server's playbook signing key, made on first use and kept in the
/// settings (one key however many servers share the database).
pub async fn signing_key(tx: &mut dyn Tx) -> Fallible<PlaybookSigningKey> {
    if settings::get(tx, SIGNING_KEY).await?.is_none() {
        let fresh = PlaybookSigningKey::generate();
        settings::insert_if_absent(tx, SIGNING_KEY, &fresh.secret_hex()).await?;
    }
    let secret = settings::get(tx, SIGNING_KEY)
        .await?
        .ok_or_else(|| Failure::internal("the playbook signing key vanished"))?;
    PlaybookSigningKey::from_hex(&secret)
        .map_err(|e| Failure::corrupt("reading the playbook signing key", e))
}

/// The newest version of `trade` published, if any.
pub async fn newest_version(tx: &mut dyn Tx, trade: &str) -> Fallible<Option<i64>> {
    Ok(tx
        .query_opt(
            "SELECT max(version) AS version FROM published_playbooks WHERE trade = $1",
            &[trade.into()],
        )
        .await?
        .and_then(|r| r.opt_int("version")))
}

/// Stores a signed version; false when `trade` already has `version`.
pub async fn insert(
    tx: &mut dyn Tx,
    published: &PublishedPlaybook,
    by: &str,
    now: i64,
) -> Fallible<bool> {
    let n = tx
        .execute(
            "INSERT INTO published_playbooks (trade, version, body, signature, published_by, published_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (trade, version) DO NOTHING",
            &[
                published.trade.as_str().into(),
                published.version.into(),
                published.body.as_str().into(),
                published.signature.as_str().into(),
                by.into(),
                now.into(),
            ],
        )
        .await?;
    Ok(n > 0)
}

fn published_of(r: &Row) -> PublishedPlaybook {
    PublishedPlaybook {
        trade: r.text("trade"),
        version: r.int("version"),
        body: r.text("body"),
        signature: r.text("signature"),
    }
}

/// One published version, as signed.
pub async fn get(
    tx: &mut dyn Tx,
    trade: &str,
    version: i64,
) -> Fallible<Option<PublishedPlaybook>> {
    Ok(tx
        .query_opt(
            "SELECT trade, version, body, signature FROM published_playbooks WHERE trade = $1 AND version = $2",
            &[trade.into(), version.into()],
        )
        .await?
        .map(|r| published_of(&r)))
}

/// Every published version, newest first within each trade.
pub async fn list(tx: &mut dyn Tx) -> Fallible<Vec<PublishedRow>> {
    Ok(tx
        .query(
            "SELECT trade, version, published_by, published_at FROM published_playbooks
             ORDER BY trade, version DESC",
            &[],
        )
        .await?
        .iter()
        .map(|r| PublishedRow {
            trade: r.text("trade"),
            version: r.int("version"),
            published_by: r.text("published_by"),
            published_at: r.int("published_at"),
        })
        .collect())
}

/// The newest published version of each trade newer than what a phone
/// holds (`held`, by trade), as signed: the bodies are read only for the
/// trades the phone lacks (most pulls read none).
pub async fn newer_than(
    tx: &mut dyn Tx,
    held: &BTreeMap<String, i64>,
) -> Fallible<Vec<PublishedPlaybook>> {
    let newest = tx
        .query(
            "SELECT trade, max(version) AS version FROM published_playbooks GROUP BY trade ORDER BY trade",
            &[],
        )
        .await?;
    let mut out = vec![];
    for row in &newest {
        let (trade, version) = (row.text("trade"), row.int("version"));
        if held.get(&trade).is_none_or(|&v| version > v) {
            out.extend(get(tx, &trade, version).await?);
        }
    }
    Ok(out)
}

/// Every published version as signed, oldest first (the server's catalog
/// at start).
pub async fn all(tx: &mut dyn Tx) -> Fallible<Vec<PublishedPlaybook>> {
    Ok(tx
        .query(
            "SELECT trade, version, body, signature FROM published_playbooks ORDER BY trade, version",
            &[],
        )
        .await?
        .iter()
        .map(published_of)
        .collect())
}
