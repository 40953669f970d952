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
    let bytes = canonical_bytes(value)?;
    Ok(String::from_utf8(bytes).expect("serde_json writes UTF-8"))
}

/// The canonical JSON of `value`, as bytes (what a digest is taken over).
fn canonical_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let v = serde_json::to_value(value)?;
    let mut out = Vec::with_capacity(1024);
    write(&v, &mut out)?;
    Ok(out)
}

/// Writes `v` into `out` with no allocation per key or scalar (a report's
/// digest is taken several times per pushed sign-off).
fn write(v: &Value, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key)?;
                out.push(b':');
                write(item, out)?;
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar)?,
    }
    Ok(())
}

/// Lower-case hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 of the canonical JSON of `value`.
pub fn digest<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    Ok(sha256_hex(&canonical_bytes(value)?))
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
