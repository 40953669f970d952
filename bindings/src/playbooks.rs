//! Trade playbooks over the FFI: the shipped ones for a picker, and checking
//! a company's own playbook (TOML) before it is used, with the field and the
//! problem named when it is refused.

use crate::error::{guard, DoorstepError};
use crate::types::PlaybookInfo;
use doorstep_core::Playbook;

/// The label custom playbooks carry in error texts.
pub(crate) const CUSTOM_SOURCE: &str = "custom playbook";

/// The six shipped trade playbooks (id, zh/en names, steps).
#[uniffi::export]
pub fn shipped_playbooks() -> Vec<PlaybookInfo> {
    Playbook::shipped().iter().map(PlaybookInfo::from).collect()
}

/// Parses and validates a custom playbook written in TOML.
#[uniffi::export]
pub fn validate_playbook(toml_text: String) -> Result<PlaybookInfo, DoorstepError> {
    guard(|| Ok(PlaybookInfo::from(&parse_custom(&toml_text)?)))
}

pub(crate) fn parse_custom(toml_text: &str) -> Result<Playbook, DoorstepError> {
    Ok(Playbook::from_toml(CUSTOM_SOURCE, toml_text)?)
}

pub(crate) fn shipped(id: &str) -> Result<Playbook, DoorstepError> {
    Playbook::shipped_by_id(id).ok_or_else(|| DoorstepError::unknown_trade(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_trades_ship_with_both_names() {
        let all = shipped_playbooks();
        assert_eq!(all.len(), 6);
        let ar = all.iter().find(|p| p.id == "appliance_repair").unwrap();
        assert!(!ar.name.zh.is_empty() && !ar.name.en.is_empty());
        assert_eq!(ar.steps.first().map(String::as_str), Some("receive"));
    }

    #[test]
    fn a_shipped_playbook_validates_as_custom() {
        let text = doorstep_core::playbook::SHIPPED[0].1;
        assert_eq!(
            validate_playbook(text.into()).unwrap().id,
            "appliance_repair"
        );
    }

    #[test]
    fn a_broken_playbook_names_the_field() {
        let text = doorstep_core::playbook::SHIPPED[0]
            .1
            .replacen("version = 1", "version = 0", 1);
        match validate_playbook(text).unwrap_err() {
            DoorstepError::InvalidPlaybook {
                code, field, zh, ..
            } => {
                assert_eq!(code, "invalid_playbook");
                assert_eq!(field, "version");
                assert!(zh.contains("version"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let e = validate_playbook("not = [toml".into()).unwrap_err();
        assert_eq!(e.code(), "invalid_playbook");
    }

    #[test]
    fn an_unknown_trade_is_invalid_input() {
        assert_eq!(shipped("plumbing").unwrap_err().code(), "unknown_trade");
    }
}
