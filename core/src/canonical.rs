//! Canonical JSON: the stable serialisation that digests are taken over.
//!
//! Rules (documented in docs/SIGNOFF.md): object keys sorted by their UTF-8
//! bytes, no insignificant whitespace, strings escaped as serde_json does
//! (RFC 8259 minimal escaping), integers as integers, `null` kept. Keys are
//! sorted here explicitly, so the result does not depend on whether some
//! other crate turned on serde_json's `preserve_order`.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Serialises `value` canonically.
pub fn to_canonical_json<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let v = serde_json::to_value(value)?;
    let mut out = String::new();
    write(&v, &mut out)?;
    Ok(out)
}

fn write(v: &Value, out: &mut String) -> Result<(), serde_json::Error> {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k)?);
                out.push(':');
                write(&map[k.as_str()], out)?;
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out)?;
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other)?),
    }
    Ok(())
}

/// Lower-case hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 of the canonical JSON of `value`.
pub fn digest<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    Ok(sha256_hex(to_canonical_json(value)?.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_and_whitespace_is_dropped() {
        let v = json!({"b": 1, "a": {"d": [1, 2], "c": "x y"}});
        assert_eq!(
            to_canonical_json(&v).unwrap(),
            r#"{"a":{"c":"x y","d":[1,2]},"b":1}"#
        );
    }

    #[test]
    fn digest_is_sha256_of_canonical_bytes() {
        assert_eq!(
            digest(&json!({})).unwrap(),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}
