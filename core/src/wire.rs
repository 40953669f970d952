//! The one home of "the serde tag as a string": the JSON name of a unit enum
//! variant (`Stage::EnRoute` → `en_route`) or the `type` tag of an internally
//! tagged enum (`VisitCommand::Knock { .. }` → `knock`), as stored in text
//! columns, logged and sent to the shells — and its inverse, [`from_wire_name`].

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The wire name of `v`: the string a unit variant serialises to, or the
/// `type` tag of an internally tagged enum; empty for anything else.
pub fn wire_name<T: Serialize + ?Sized>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(serde_json::Value::Object(fields)) => match fields.get("type") {
            Some(serde_json::Value::String(tag)) => tag.clone(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

/// The unit variant whose wire name is `name` (`en_route` → `Stage::EnRoute`),
/// if `T` has one.
pub fn from_wire_name<T: DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}

/// A map key as a JSON object holds it: a text as itself, a number or a
/// truth value as its word (`12` → `"12"`); `None` for a key JSON cannot
/// name (a list, a struct).
pub fn json_key_text<T: Serialize + ?Sized>(key: &T) -> Option<String> {
    match serde_json::to_value(key) {
        Ok(serde_json::Value::String(text)) => Some(text),
        Ok(serde_json::Value::Number(n)) => Some(n.to_string()),
        Ok(serde_json::Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{from_wire_name, json_key_text, wire_name};
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Stage {
        EnRoute,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "snake_case", tag = "type")]
    enum Command {
        Knock { method: String },
        DoorAnswered,
    }

    #[test]
    fn unit_variants_and_type_tags() {
        assert_eq!(wire_name(&Stage::EnRoute), "en_route");
        let knock = Command::Knock {
            method: "bell".into(),
        };
        assert_eq!(wire_name(&knock), "knock");
        assert_eq!(wire_name(&Command::DoorAnswered), "door_answered");
        assert_eq!(wire_name(&42), "");
    }

    #[test]
    fn wire_names_read_back() {
        assert_eq!(from_wire_name::<Stage>("en_route"), Some(Stage::EnRoute));
        assert_eq!(from_wire_name::<Stage>("EnRoute"), None);
    }

    #[test]
    fn a_map_key_is_named_as_json_names_it() {
        assert_eq!(json_key_text("k").as_deref(), Some("k"));
        assert_eq!(json_key_text(&12u32).as_deref(), Some("12"));
        assert_eq!(json_key_text(&true).as_deref(), Some("true"));
        assert_eq!(json_key_text(&[1, 2]), None);
    }
}
