//! The playbooks the server walks visits by: the shipped ones and every
//! version a company published (`domain::playbooks`), by trade and version
//! (core `PlaybookCatalog`), so admission, the receipts, callbacks and the
//! monthly sample judge each visit by the version it started with.

use crate::failure::{Failure, Fallible};
use crate::store::playbooks;
use crate::store::Tx;
use doorstep_core::playbook::{Playbook, PlaybookCatalog, PublishedPlaybook};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

/// The playbooks the server judges visits by: the shipped ones and every
/// published version, read from the database on first need and shared as a
/// snapshot; a version another server of the same database published since
/// is read when a visit first needs it.
#[derive(Debug, Default)]
pub struct PlaybookShelf {
    catalog: RwLock<Arc<PlaybookCatalog>>,
    loaded: AtomicBool,
}

impl PlaybookShelf {
    fn snapshot(&self) -> Arc<PlaybookCatalog> {
        self.catalog
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Adds versions just published or read.
    pub fn add(&self, playbooks: Vec<Playbook>) {
        let mut guard = self
            .catalog
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut next = PlaybookCatalog::clone(&guard);
        for p in playbooks {
            next.add(p);
        }
        *guard = Arc::new(next);
    }

    /// The catalog, holding `trade`'s `version` if it was ever published.
    pub async fn holding(
        &self,
        tx: &mut dyn Tx,
        trade: &str,
        version: Option<i64>,
    ) -> Fallible<Arc<PlaybookCatalog>> {
        if !self.loaded.load(Ordering::Acquire) {
            let all = playbooks::all(tx).await?;
            self.add(all.iter().map(parse).collect::<Fallible<_>>()?);
            self.loaded.store(true, Ordering::Release);
        }
        let current = self.snapshot();
        let Some(v) = version else { return Ok(current) };
        let shipped = Playbook::shipped_ref(trade).is_some_and(|s| s.version == v);
        if shipped || current.has_published(trade, v) {
            return Ok(current);
        }
        if let Some(p) = playbooks::get(tx, trade, v).await? {
            self.add(vec![parse(&p)?]);
        }
        Ok(self.snapshot())
    }

    /// The newest version of `trade` (what a visit starting now walks).
    pub async fn current(&self, tx: &mut dyn Tx, trade: &str) -> Fallible<Option<Playbook>> {
        Ok(self.holding(tx, trade, None).await?.latest(trade).cloned())
    }

    /// The playbook of `trade` a visit walks in `version` (`None`: the
    /// shipped one), if this server knows it.
    pub async fn playbook(
        &self,
        tx: &mut dyn Tx,
        trade: &str,
        version: Option<i64>,
    ) -> Fallible<Option<Playbook>> {
        Ok(self
            .holding(tx, trade, version)
            .await?
            .get(trade, version)
            .cloned())
    }
}

/// A stored version (validated when it was published).
fn parse(p: &PublishedPlaybook) -> Fallible<Playbook> {
    Playbook::from_json(&format!("{} v{}", p.trade, p.version), &p.body)
        .map_err(|e| Failure::corrupt("reading a published playbook", e))
}
