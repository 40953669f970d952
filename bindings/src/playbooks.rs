//! Trade playbooks over the FFI: the shipped ones for a picker (and as JSON,
//! the starting point of a company's own), and checking a company's own
//! playbook before it is used, with the field and the problem named when it
//! is refused. A company playbook reaches the phone as JSON: the library
//! carries no TOML parser (docs/PERFORMANCE.md, "Native library size"); the
//! server and the CLI read the TOML it is written in.

use crate::error::{guard, DoorstepError};
use crate::types::PlaybookInfo;
use doorstep_core::playbook::SHIPPED_JSON;
use doorstep_core::Playbook;

/// The label custom playbooks carry in error texts.
pub(crate) const CUSTOM_SOURCE: &str = "custom playbook";

/// The six shipped trade playbooks (id, zh/en names, steps).
#[uniffi::export]
pub fn shipped_playbooks() -> Vec<PlaybookInfo> {
    Playbook::shipped().iter().map(PlaybookInfo::from).collect()
}

/// The shipped playbook of trade `trade_id` as JSON, the form
/// `validate_playbook` takes: the starting point of a company's own.
#[uniffi::export]
pub fn shipped_playbook_json(trade_id: String) -> Result<String, DoorstepError> {
    guard(|| {
        SHIPPED_JSON
            .iter()
            .find(|(name, _)| name.strip_suffix(".json") == Some(trade_id.as_str()))
            .map(|(_, json)| json.to_string())
            .ok_or_else(|| DoorstepError::unknown_trade(&trade_id))
    })
}

/// Parses and validates a custom playbook written in JSON (the shape of
/// `shipped_playbook_json`); a refusal names the field's path
/// (`timing.geofence_radius_m`, `kit[2].id`) and the problem.
#[uniffi::export]
pub fn validate_playbook(playbook_json: String) -> Result<PlaybookInfo, DoorstepError> {
    guard(|| Ok(PlaybookInfo::from(&parse_custom(&playbook_json)?)))
}

/// A company's playbook, given as JSON, parsed and validated.
pub(crate) fn parse_custom(playbook_json: &str) -> Result<Playbook, DoorstepError> {
    Ok(Playbook::from_json(CUSTOM_SOURCE, playbook_json)?)
}

pub(crate) fn shipped(id: &str) -> Result<Playbook, DoorstepError> {
    Playbook::shipped_by_id(id).ok_or_else(|| DoorstepError::unknown_trade(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appliance_json() -> String {
        shipped_playbook_json("appliance_repair".into()).unwrap()
    }

    /// The field and the texts of an `InvalidPlaybook` refusal.
    fn refusal(json: String) -> (String, String, String) {
        match validate_playbook(json).unwrap_err() {
            DoorstepError::InvalidPlaybook {
                code,
                field,
                en,
                zh,
            } => {
                assert_eq!(code, "invalid_playbook");
                (field, en, zh)
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn six_trades_ship_with_both_names() {
        let all = shipped_playbooks();
        assert_eq!(all.len(), 6);
        let ar = all.iter().find(|p| p.id == "appliance_repair").unwrap();
        assert!(!ar.name.zh.is_empty() && !ar.name.en.is_empty());
        assert_eq!(ar.steps.first().map(String::as_str), Some("receive"));
    }

    #[test]
    fn every_shipped_playbook_is_given_as_json_that_validates_as_custom() {
        for info in shipped_playbooks() {
            let json = shipped_playbook_json(info.id.clone()).unwrap();
            assert_eq!(validate_playbook(json.clone()).unwrap(), info);
            assert_eq!(parse_custom(&json).unwrap(), shipped(&info.id).unwrap());
        }
        assert_eq!(
            shipped_playbook_json("plumbing".into()).unwrap_err().code(),
            "unknown_trade"
        );
    }

    #[test]
    fn a_broken_playbook_names_the_field() {
        let text = appliance_json().replacen("\"version\":1", "\"version\":0", 1);
        let (field, _, zh) = refusal(text);
        assert_eq!(field, "version");
        assert!(zh.contains("version"));
        let e = validate_playbook("{\"id\": [json".into()).unwrap_err();
        assert_eq!(e.code(), "invalid_playbook");
    }

    #[test]
    fn a_json_shape_error_names_the_field_path() {
        let mut doc: serde_json::Value = serde_json::from_str(&appliance_json()).unwrap();
        doc["timing"]["geofence_radius_m"] = "far".into();
        let (field, en, _) = refusal(serde_json::to_string_pretty(&doc).unwrap());
        assert_eq!(field, "timing.geofence_radius_m", "{en}");

        let mut doc: serde_json::Value = serde_json::from_str(&appliance_json()).unwrap();
        doc["kit"][1]["colour"] = "red".into();
        let (field, en, _) = refusal(doc.to_string());
        assert!(field.starts_with("kit[1]"), "{field}: {en}");
        assert!(en.contains("colour"), "{en}");
    }

    #[test]
    fn a_toml_playbook_is_refused_as_not_json() {
        let toml = "id = \"appliance_repair\"\nversion = 1\n";
        let (_, en, _) = refusal(toml.into());
        assert!(en.contains("custom playbook"), "{en}");
    }

    #[test]
    fn an_unknown_trade_is_invalid_input() {
        assert_eq!(shipped("plumbing").unwrap_err().code(), "unknown_trade");
    }
}
