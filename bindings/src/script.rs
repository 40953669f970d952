//! Visit scripts over the FFI: run a JSON-lines script (the `doorstep` CLI
//! format, docs/SCRIPTS.md) and get the final view as JSON. Used by shells
//! for demos and training, and by tests as a compact end-to-end check.

use crate::error::{guard, DoorstepError};
use crate::playbooks::parse_custom;
use doorstep_core::script_runner::run_script;

/// Runs a visit script; `playbook_json` overrides the header's trade with a
/// custom playbook (JSON, as `validate_playbook` takes it). Returns the final
/// visit view as JSON (the same shape the CLI prints).
#[uniffi::export]
pub fn run_visit_script(
    script: String,
    playbook_json: Option<String>,
) -> Result<String, DoorstepError> {
    guard(|| {
        let playbook = playbook_json.as_deref().map(parse_custom).transpose()?;
        let outcome = run_script(&script, playbook)?;
        serde_json::to_string(&outcome.view).map_err(|e| {
            DoorstepError::internal(
                "internal",
                &format!("view serialisation: {e}"),
                "视图序列化失败",
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        r#"{"doorstep_script": 1, "trade": "appliance_repair", "device_id": "dev-1"}"#;

    #[test]
    fn an_empty_script_is_a_script_error() {
        let e = run_visit_script(String::new(), None).unwrap_err();
        assert_eq!(e.code(), "script_empty");
    }

    #[test]
    fn a_refused_line_carries_the_workflow_code_and_line() {
        let script = format!(
            "{HEADER}\n{}\n",
            r#"{"at": "2026-11-25T08:00:00Z", "command": {"type": "depart", "travel_minutes": 20}}"#
        );
        match run_visit_script(script, None).unwrap_err() {
            DoorstepError::Script { code, line, zh, .. } => {
                assert_eq!(code, "visit_not_started");
                assert_eq!(line, 2);
                assert!(zh.starts_with("第2行"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_header_only_script_returns_the_new_view() {
        let json = run_visit_script(HEADER.into(), None).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["stage"], "new");
        assert_eq!(v["trade"], "appliance_repair");
    }

    #[test]
    fn a_custom_playbook_is_validated_first() {
        let e = run_visit_script(HEADER.into(), Some("{\"x\": 1}".into())).unwrap_err();
        assert_eq!(e.code(), "invalid_playbook");
    }

    #[test]
    fn a_custom_playbook_replaces_the_headers_trade() {
        let custom = crate::playbooks::shipped_playbook_json("water_delivery".into()).unwrap();
        let json = run_visit_script(HEADER.into(), Some(custom)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["trade"], "water_delivery");
    }
}
