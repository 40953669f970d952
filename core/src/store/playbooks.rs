//! The company's published playbooks on the phone (the `playbooks` table)
//! and the server's playbook key the phone pinned (the `settings` table):
//! which version a visit walks. A published version is verified against
//! the pinned key before it is stored; a new visit starts with its trade's
//! newest version and keeps it (`VisitState::playbook_version`); the
//! versions are parsed once per store into its catalog.

use super::db::Durability;
use super::error::{Result, StoreError};
use super::{from_json, load_visit, millis, to_json, unknown, Store, VisitRef};
use crate::playbook::{Playbook, PlaybookCatalog, PublishedPlaybook};
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Transaction};
use std::borrow::Cow;
use std::collections::BTreeMap;

const PLAYBOOK_KEY: &str = "playbook_key";

/// A published playbook the phone refused to keep, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedPlaybook {
    pub trade: String,
    pub version: i64,
    pub problem: String,
}

/// The playbook a visit walks, borrowed from the store's catalog.
pub(super) struct VisitPlaybook<'a> {
    catalog: std::sync::RwLockReadGuard<'a, PlaybookCatalog>,
    trade: String,
    version: Option<i64>,
}

impl std::ops::Deref for VisitPlaybook<'_> {
    type Target = Playbook;
    fn deref(&self) -> &Playbook {
        self.catalog
            .get(&self.trade, self.version)
            .expect("checked when the playbook was found")
    }
}

fn pinned_key(tx: &Transaction<'_>) -> Result<Option<String>> {
    let json: Option<String> = tx
        .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
        .query_row([PLAYBOOK_KEY], |r| r.get(0))
        .optional()?;
    json.map(|j| from_json("playbook key", &j)).transpose()
}

fn pin_key(tx: &Transaction<'_>, key: &str, now: DateTime<Utc>) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )?
    .execute(params![
        PLAYBOOK_KEY,
        to_json("playbook key", &key)?,
        millis(now)
    ])?;
    Ok(())
}

/// The stored published version of `trade`, parsed (verified when stored).
fn load_published(tx: &Transaction<'_>, trade: &str, version: i64) -> Result<Option<Playbook>> {
    let body: Option<String> = tx
        .prepare_cached("SELECT body FROM playbooks WHERE trade = ?1 AND version = ?2")?
        .query_row(params![trade, version], |r| r.get(0))
        .optional()?;
    body.map(|b| {
        Playbook::from_json(&format!("{trade} v{version}"), &b).map_err(|_| {
            StoreError::StoredDataInvalid {
                what: "published playbook",
                category: "invalid playbook",
                line: 0,
                column: 0,
            }
        })
    })
    .transpose()
}

impl Store {
    /// Pins the server's playbook key (hex of its P-256 public key) that
    /// enrolment gave: only playbooks it signed are kept from now on.
    pub fn trust_playbook_key(&self, key: &str, now: DateTime<Utc>) -> Result<()> {
        self.shared
            .db
            .write(Durability::Normal, |tx| pin_key(tx, key.trim(), now))
    }

    /// The playbook key this phone pinned, if any.
    pub fn playbook_key(&self) -> Result<Option<String>> {
        self.shared.db.read(pinned_key)
    }

    /// Keeps the published playbooks a sync brought, each only if it
    /// verifies under the pinned key (`offered_key`, the key the server
    /// named, is pinned first when this phone has none: a phone enrolled
    /// before playbook keys). Returns the ones refused, with why; a version
    /// already held is left as it is.
    pub fn keep_published_playbooks(
        &self,
        published: &[PublishedPlaybook],
        offered_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<RefusedPlaybook>> {
        if published.is_empty() && offered_key.is_none() {
            return Ok(vec![]);
        }
        let mut verified = vec![];
        let refused =
            self.shared.db.write(Durability::Normal, |tx| {
                let key = match (pinned_key(tx)?, offered_key) {
                    (Some(k), _) => Some(k),
                    (None, Some(offered)) => {
                        pin_key(tx, offered.trim(), now)?;
                        Some(offered.trim().to_string())
                    }
                    (None, None) => None,
                };
                let mut refused = vec![];
                for p in published {
                    let checked = match &key {
                        Some(k) => p.verify(k).map_err(|e| e.to_string()),
                        None => Err("playbook_key: this phone holds no playbook key".to_string()),
                    };
                    match checked {
                        Ok(pb) => {
                            tx.prepare_cached(
                            "INSERT INTO playbooks (trade, version, body, signature, received_at)
                             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                        )?
                        .execute(params![p.trade, p.version, p.body, p.signature, millis(now)])?;
                            verified.push(pb);
                        }
                        Err(problem) => refused.push(RefusedPlaybook {
                            trade: p.trade.clone(),
                            version: p.version,
                            problem,
                        }),
                    }
                }
                Ok(refused)
            })?;
        let mut catalog = self.write_catalog();
        for pb in verified {
            catalog.add(pb);
        }
        Ok(refused)
    }

    /// The playbook the visit `target` walks (the version it started
    /// with): what its screens, forms and signing summary are built from.
    /// The shipped one is borrowed; a company's version is a copy.
    pub fn playbook_of(&self, target: impl Into<VisitRef>) -> Result<Cow<'static, Playbook>> {
        let target = target.into();
        self.shared.db.read(|tx| {
            let row = load_visit(tx, &target)?.ok_or_else(|| unknown(&target))?;
            let walked = self.visit_playbook(tx, &row.trade, row.state.playbook_version, false)?;
            Ok(match Playbook::shipped_ref(&row.trade) {
                Some(shipped) if std::ptr::eq(shipped, &*walked) => Cow::Borrowed(shipped),
                _ => Cow::Owned(Playbook::clone(&walked)),
            })
        })
    }

    /// The newest published version this phone holds, by trade (what the
    /// download asks the server to better).
    pub fn published_playbook_versions(&self) -> Result<BTreeMap<String, i64>> {
        self.shared.db.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT trade, max(version) FROM playbooks GROUP BY trade ORDER BY trade",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<BTreeMap<_, _>>>()?)
        })
    }

    /// The playbook a visit of `trade` walks: `version` (what it started
    /// with), or for a visit not started yet (`None` and `new_visit`) the
    /// trade's newest.
    pub(super) fn visit_playbook(
        &self,
        tx: &Transaction<'_>,
        trade: &str,
        version: Option<i64>,
        new_visit: bool,
    ) -> Result<VisitPlaybook<'_>> {
        let version = if new_visit {
            // The trade's newest, by the catalog's rule (a published
            // version wins a tie with the shipped one).
            let newest: Option<i64> = tx
                .prepare_cached("SELECT max(version) FROM playbooks WHERE trade = ?1")?
                .query_row([trade], |r| r.get(0))?;
            if let Some(v) = newest {
                self.hold(tx, trade, v)?;
            }
            self.read_catalog().latest(trade).map(|p| p.version)
        } else {
            if let Some(v) = version {
                self.hold(tx, trade, v)?;
            }
            version
        };
        let catalog = self.read_catalog();
        if catalog.get(trade, version).is_none() {
            return Err(match version {
                Some(version) if Playbook::shipped_ref(trade).is_some() => {
                    StoreError::UnknownPlaybookVersion {
                        trade: trade.to_string(),
                        version,
                    }
                }
                _ => StoreError::UnknownTrade(trade.to_string()),
            });
        }
        Ok(VisitPlaybook {
            catalog,
            trade: trade.to_string(),
            version,
        })
    }

    /// Puts `trade`'s published `version` in the catalog, if it is stored
    /// and not there yet.
    fn hold(&self, tx: &Transaction<'_>, trade: &str, version: i64) -> Result<()> {
        if !self.read_catalog().has_published(trade, version) {
            if let Some(pb) = load_published(tx, trade, version)? {
                self.write_catalog().add(pb);
            }
        }
        Ok(())
    }

    fn read_catalog(&self) -> std::sync::RwLockReadGuard<'_, PlaybookCatalog> {
        self.shared
            .playbooks
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write_catalog(&self) -> std::sync::RwLockWriteGuard<'_, PlaybookCatalog> {
        self.shared
            .playbooks
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
