//! Which playbook a visit is walked with: the shipped playbooks and the
//! versions a company published from its server, by trade and version. A
//! new visit starts with its trade's newest version; a visit keeps the
//! version it started with (`VisitState::playbook_version`) whatever is
//! published after. A visit recorded before versions were kept (no
//! version) is walked with the shipped playbook.

use super::Playbook;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The playbooks known here, shipped and published.
#[derive(Debug, Clone, Default)]
pub struct PlaybookCatalog {
    published: BTreeMap<(String, i64), Arc<Playbook>>,
}

impl PlaybookCatalog {
    /// Adds a published version (already verified and validated).
    pub fn add(&mut self, playbook: Playbook) {
        let key = (playbook.id.as_str().to_string(), playbook.version);
        self.published.insert(key, Arc::new(playbook));
    }

    /// Whether this catalog holds `trade`'s published `version`.
    pub fn has_published(&self, trade: &str, version: i64) -> bool {
        self.published.contains_key(&(trade.to_string(), version))
    }

    /// The playbook of `trade` in `version`: a published one, or the
    /// shipped one when it has that version or no version is named.
    pub fn get(&self, trade: &str, version: Option<i64>) -> Option<&Playbook> {
        let shipped = Playbook::shipped_ref(trade);
        match version {
            None => shipped,
            Some(v) => self
                .published
                .get(&(trade.to_string(), v))
                .map(Arc::as_ref)
                .or(shipped.filter(|s| s.version == v)),
        }
    }

    /// The newest version of `trade`: a new visit starts with it.
    pub fn latest(&self, trade: &str) -> Option<&Playbook> {
        let published = self
            .published
            .range((trade.to_string(), i64::MIN)..=(trade.to_string(), i64::MAX))
            .next_back()
            .map(|(_, p)| p.as_ref());
        match (published, Playbook::shipped_ref(trade)) {
            (Some(p), Some(s)) if s.version > p.version => Some(s),
            (Some(p), _) => Some(p),
            (None, s) => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(trade: &str, v: i64) -> Playbook {
        let mut pb = Playbook::shipped_by_id(trade).unwrap();
        pb.version = v;
        pb.conduct_reminder.en = format!("version {v}");
        pb
    }

    fn shipped_version(trade: &str) -> i64 {
        Playbook::shipped_ref(trade).unwrap().version
    }

    #[test]
    fn a_new_visit_starts_with_the_newest_published_version() {
        let mut c = PlaybookCatalog::default();
        assert_eq!(
            c.latest("appliance_repair").unwrap().version,
            shipped_version("appliance_repair")
        );
        let newer = shipped_version("appliance_repair") + 1;
        c.add(version("appliance_repair", newer + 1));
        c.add(version("appliance_repair", newer));
        c.add(version("water_delivery", 40));
        assert_eq!(c.latest("appliance_repair").unwrap().version, newer + 1);
        assert_eq!(c.latest("water_delivery").unwrap().version, 40);
        assert_eq!(
            c.latest("home_care").unwrap().version,
            shipped_version("home_care")
        );
        assert!(c.latest("no_such_trade").is_none());
    }

    #[test]
    fn a_visit_keeps_the_version_it_started_with() {
        let mut c = PlaybookCatalog::default();
        c.add(version("appliance_repair", 5));
        c.add(version("appliance_repair", 6));
        assert_eq!(
            c.get("appliance_repair", Some(5))
                .unwrap()
                .conduct_reminder
                .en,
            "version 5"
        );
        let shipped = shipped_version("appliance_repair");
        assert_eq!(
            c.get("appliance_repair", Some(shipped)),
            Playbook::shipped_ref("appliance_repair")
        );
        assert_eq!(
            c.get("appliance_repair", None),
            Playbook::shipped_ref("appliance_repair")
        );
        assert!(c.get("appliance_repair", Some(4)).is_none());
        assert!(c.has_published("appliance_repair", 6));
        assert!(!c.has_published("appliance_repair", 4));
    }

    #[test]
    fn a_newer_shipped_version_wins_and_a_published_one_wins_a_tie() {
        // An app update may ship the number a company already published:
        // the company's version stays in force (and a visit that started
        // with it finds it) until either publishes a newer one.
        let shipped = shipped_version("home_care");
        let mut c = PlaybookCatalog::default();
        c.add(version("home_care", shipped - 1));
        assert_eq!(c.latest("home_care"), Playbook::shipped_ref("home_care"));
        c.add(version("home_care", shipped));
        let tie = c.latest("home_care").unwrap();
        assert_eq!(tie.conduct_reminder.en, format!("version {shipped}"));
        assert_eq!(c.get("home_care", Some(shipped)), Some(tie));
    }
}
