//! The text form of the core's unit enums, as stored in text columns.

/// The JSON name of a unit enum variant (`ConflictKind::CancelledAfterStart`
/// → `cancelled_after_start`), as stored in text columns.
pub fn wire_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
