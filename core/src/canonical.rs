//! Canonical JSON: the stable serialisation that digests are taken over.
//!
//! Rules (documented in docs/SIGNOFF.md): object keys sorted by their UTF-8
//! bytes, no insignificant whitespace, strings escaped as serde_json does
//! (RFC 8259 minimal escaping), integers as integers, `null` kept. Keys are
//! sorted here explicitly, so the result does not depend on whether some
//! other crate turned on serde_json's `preserve_order`. The text is written
//! as serde walks the value, each object's members sorted when it ends: no
//! JSON tree is built (a report is digested on every pushed sign-off and on
//! every projection of a signed visit).

use serde::ser::{self, Error as _, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// Serialises `value` canonically.
pub fn to_canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let bytes = canonical_bytes(value)?;
    Ok(String::from_utf8(bytes).expect("serde_json writes UTF-8"))
}

/// The canonical JSON of `value`, as bytes (what a digest is taken over),
/// written as serde walks the value ([`Canonical`]): no JSON tree is built.
fn canonical_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(1024);
    value.serialize(Canonical { out: &mut out })?;
    Ok(out)
}

/// Lower-case hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 of the canonical JSON of `value`.
pub fn digest<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    Ok(sha256_hex(&canonical_bytes(value)?))
}

/// The struct name serde_json gives raw JSON text (`RawValue`).
const RAW_JSON: &str = "$serde_json::private::RawValue";

/// Writes one value canonically into `out`: scalars and lists as
/// serde_json writes them, every object (a struct, a map, a variant's
/// contents) with its members sorted by key. What is written is exactly the
/// canonical form of the JSON tree `serde_json::to_value` would build: an
/// `f32` as the `f64` it widens to, a NaN as `null`, a map's number keys as
/// text.
struct Canonical<'o> {
    out: &'o mut Vec<u8>,
}

impl Canonical<'_> {
    fn scalar<T: Serialize + ?Sized>(self, v: &T) -> Result<(), serde_json::Error> {
        serde_json::to_writer(&mut *self.out, v)
    }

    /// `{"variant":` …, closed by the caller with `}`.
    fn open_variant(&mut self, variant: &str) -> Result<(), serde_json::Error> {
        self.out.push(b'{');
        serde_json::to_writer(&mut *self.out, variant)?;
        self.out.push(b':');
        Ok(())
    }
}

impl<'o> ser::Serializer for Canonical<'o> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = List<'o>;
    type SerializeTuple = List<'o>;
    type SerializeTupleStruct = List<'o>;
    type SerializeTupleVariant = List<'o>;
    type SerializeMap = Object<'o>;
    type SerializeStruct = Object<'o>;
    type SerializeStructVariant = Object<'o>;

    fn serialize_bool(self, v: bool) -> Result<(), Self::Error> {
        self.scalar(&v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), Self::Error> {
        self.scalar(&v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Self::Error> {
        self.scalar(&v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Self::Error> {
        self.scalar(&v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Self::Error> {
        self.scalar(&v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Self::Error> {
        // A tree holds what fits 64 bits.
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(small), _) => self.scalar(&small),
            (_, Ok(big)) => self.scalar(&big),
            _ => Err(Self::Error::custom("number out of range")),
        }
    }
    fn serialize_u8(self, v: u8) -> Result<(), Self::Error> {
        self.scalar(&v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Self::Error> {
        self.scalar(&v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Self::Error> {
        self.scalar(&v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Self::Error> {
        self.scalar(&v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Self::Error> {
        match u64::try_from(v) {
            Ok(small) => self.scalar(&small),
            Err(_) => Err(Self::Error::custom("number out of range")),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<(), Self::Error> {
        // A tree widens an f32 to f64 (0.1f32 is 0.10000000149011612).
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Self::Error> {
        if v.is_finite() {
            self.scalar(&v)
        } else {
            self.serialize_unit()
        }
    }
    fn serialize_char(self, v: char) -> Result<(), Self::Error> {
        self.scalar(&v)
    }
    fn serialize_str(self, v: &str) -> Result<(), Self::Error> {
        self.scalar(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Self::Error> {
        // A tree holds bytes as a list of numbers.
        self.scalar(v)
    }
    fn serialize_none(self) -> Result<(), Self::Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Self::Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Self::Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Self::Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Self::Error> {
        self.scalar(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        mut self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.open_variant(variant)?;
        value.serialize(Canonical {
            out: &mut *self.out,
        })?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<List<'o>, Self::Error> {
        self.out.push(b'[');
        Ok(List {
            out: self.out,
            first: true,
            in_variant: false,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<List<'o>, Self::Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<List<'o>, Self::Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        mut self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<List<'o>, Self::Error> {
        self.open_variant(variant)?;
        self.out.push(b'[');
        Ok(List {
            out: self.out,
            first: true,
            in_variant: true,
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Object<'o>, Self::Error> {
        Ok(Object::new(self.out, false))
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Object<'o>, Self::Error> {
        if name == RAW_JSON {
            // Raw JSON text is not a value this walk can sort.
            return Err(Self::Error::custom("raw JSON has no canonical form here"));
        }
        Ok(Object::new(self.out, false))
    }
    fn serialize_struct_variant(
        mut self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Object<'o>, Self::Error> {
        self.open_variant(variant)?;
        Ok(Object::new(self.out, true))
    }
}

/// A list being written: its items in order.
struct List<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
    /// Inside `{"variant":` (closed with the list).
    in_variant: bool,
}

impl List<'_> {
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), serde_json::Error> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        value.serialize(Canonical {
            out: &mut *self.out,
        })
    }

    fn close(self) -> Result<(), serde_json::Error> {
        self.out.push(b']');
        if self.in_variant {
            self.out.push(b'}');
        }
        Ok(())
    }
}

impl ser::SerializeSeq for List<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.close()
    }
}

impl ser::SerializeTuple for List<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.close()
    }
}

impl ser::SerializeTupleStruct for List<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.close()
    }
}

impl ser::SerializeTupleVariant for List<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.close()
    }
}

/// An object being written: each member's value is written into one
/// scratch buffer as it comes, and the members go out sorted by key when
/// the object ends. A key given twice keeps its last value, as a tree does.
struct Object<'o> {
    out: &'o mut Vec<u8>,
    /// The members' values, one after another.
    values: Vec<u8>,
    /// Each member's key and where its value sits in `values`.
    members: Vec<(Cow<'static, str>, std::ops::Range<usize>)>,
    /// A map's key, written, waiting for its value.
    key: Option<String>,
    in_variant: bool,
}

impl<'o> Object<'o> {
    fn new(out: &'o mut Vec<u8>, in_variant: bool) -> Self {
        Object {
            out,
            values: Vec::new(),
            members: Vec::new(),
            key: None,
            in_variant,
        }
    }

    fn member<T: Serialize + ?Sized>(
        &mut self,
        key: Cow<'static, str>,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        let start = self.values.len();
        value.serialize(Canonical {
            out: &mut self.values,
        })?;
        self.members.push((key, start..self.values.len()));
        Ok(())
    }

    fn close(mut self) -> Result<(), serde_json::Error> {
        // Stable: of a key given twice, the last stays last.
        self.members.sort_by(|a, b| a.0.cmp(&b.0));
        self.out.push(b'{');
        let mut written = 0;
        for (i, (key, range)) in self.members.iter().enumerate() {
            if self.members.get(i + 1).is_some_and(|next| next.0 == *key) {
                continue;
            }
            if written > 0 {
                self.out.push(b',');
            }
            written += 1;
            serde_json::to_writer(&mut *self.out, key.as_ref())?;
            self.out.push(b':');
            self.out.extend_from_slice(&self.values[range.clone()]);
        }
        self.out.push(b'}');
        if self.in_variant {
            self.out.push(b'}');
        }
        Ok(())
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Self::Error> {
        // A tree's keys are text: a number or a truth value becomes its word.
        self.key = Some(
            crate::wire::json_key_text(key)
                .ok_or_else(|| Self::Error::custom("key must be a string"))?,
        );
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Self::Error::custom("a value without its key"))?;
        self.member(Cow::Owned(key), value)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.close()
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.member(Cow::Borrowed(key), value)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.close()
    }
}

impl ser::SerializeStructVariant for Object<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.member(Cow::Borrowed(key), value)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;

    /// The canonical form as it was first written: a JSON tree, then its
    /// members sorted. The walk must write exactly this.
    fn from_tree<T: Serialize>(value: &T) -> String {
        fn write(v: &serde_json::Value, out: &mut String) {
            match v {
                serde_json::Value::Object(map) => {
                    let mut entries: Vec<_> = map.iter().collect();
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                    out.push('{');
                    for (i, (k, item)) in entries.into_iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str(&serde_json::to_string(k).unwrap());
                        out.push(':');
                        write(item, out);
                    }
                    out.push('}');
                }
                serde_json::Value::Array(items) => {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        write(item, out);
                    }
                    out.push(']');
                }
                scalar => out.push_str(&serde_json::to_string(scalar).unwrap()),
            }
        }
        let mut out = String::new();
        write(&serde_json::to_value(value).unwrap(), &mut out);
        out
    }

    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Shape {
        Plain,
        Wrapped(f32),
        Pair(u8, String),
        Shaped { zeta: i64, alpha: Option<String> },
    }

    #[derive(Serialize)]
    struct Everything {
        zulu: String,
        alpha: Vec<Shape>,
        écrit: char,
        ecrit: bool,
        nothing: Option<u8>,
        nan: f64,
        third: f32,
        huge: u128,
        negative: i128,
        tuple: (u8, &'static str),
        bytes: serde_bytes_like::Bytes,
        table: std::collections::BTreeMap<u32, Shape>,
        unit: (),
        tree: serde_json::Value,
        small: (i8, i16, i32, u8, u16, u32),
        between: i128,
        meters: Meters,
        marker: Marker,
        point: Point,
        flags: std::collections::BTreeMap<bool, u8>,
        infinite: f64,
    }

    #[derive(Serialize)]
    struct Meters(u16);
    #[derive(Serialize)]
    struct Marker;
    #[derive(Serialize)]
    struct Point(i8, i16);

    mod serde_bytes_like {
        pub struct Bytes(pub Vec<u8>);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
    }

    /// A map that names one key twice: a tree keeps the last value.
    struct Twice;
    impl Serialize for Twice {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(None)?;
            m.serialize_entry("b", &1)?;
            m.serialize_entry("a", &2)?;
            m.serialize_entry("b", &3)?;
            m.end()
        }
    }

    #[test]
    fn the_walk_writes_what_the_tree_writes() {
        let everything = Everything {
            zulu: "签字 \"quoted\"\n".into(),
            alpha: vec![
                Shape::Plain,
                Shape::Wrapped(0.1),
                Shape::Pair(7, "p".into()),
                Shape::Shaped {
                    zeta: -1,
                    alpha: None,
                },
            ],
            écrit: '张',
            ecrit: false,
            nothing: None,
            nan: f64::NAN,
            third: 1.0 / 3.0,
            huge: u128::from(u64::MAX),
            negative: -5,
            tuple: (1, "t"),
            bytes: serde_bytes_like::Bytes(vec![0, 255]),
            table: std::collections::BTreeMap::from([(10, Shape::Plain), (9, Shape::Wrapped(2.5))]),
            unit: (),
            tree: json!({"b": [1, {"d": null, "c": 1.5}], "a": "x"}),
            small: (-8, -16, -32, 8, 16, 32),
            between: i128::from(u64::MAX) - 1,
            meters: Meters(12),
            marker: Marker,
            point: Point(-1, 2),
            flags: std::collections::BTreeMap::from([(true, 1), (false, 0)]),
            infinite: f64::INFINITY,
        };
        let walked = to_canonical_json(&everything).unwrap();
        assert_eq!(walked, from_tree(&everything));
        // Spot checks, so the comparison cannot pass on two empty texts.
        assert!(walked.starts_with(r#"{"alpha":["plain",{"wrapped":0.10000000149011612},{"pair":[7,"p"]},{"shaped":{"alpha":null,"zeta":-1}}],"between":"#), "{walked}");
        assert!(
            walked.contains(r#","bytes":[0,255],"ecrit":false,"#),
            "{walked}"
        );
        assert!(
            walked.ends_with(r#""zulu":"签字 \"quoted\"\n","écrit":"张"}"#),
            "{walked}"
        );
        assert!(
            walked.contains(r#""table":{"10":"plain","9":{"wrapped":2.5}}"#),
            "{walked}"
        );
        assert_eq!(to_canonical_json(&Twice).unwrap(), r#"{"a":2,"b":3}"#);
        assert_eq!(to_canonical_json(&Twice).unwrap(), from_tree(&Twice));
    }

    #[test]
    fn numbers_beyond_64_bits_are_refused_as_a_tree_refuses_them() {
        assert!(to_canonical_json(&u128::MAX).is_err());
        assert!(to_canonical_json(&i128::MIN).is_err());
        assert_eq!(to_canonical_json(&-1i128).unwrap(), "-1");
    }

    #[test]
    fn raw_json_text_is_refused_rather_than_written_unsorted() {
        let raw = serde_json::value::RawValue::from_string(r#"{"b":1,"a":2}"#.into()).unwrap();
        assert!(to_canonical_json(&raw).is_err());
    }

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
