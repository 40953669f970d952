//! A value's fields as serde writes them to JSON, walked in place: each
//! text, number and list is handed to a check with its dotted path
//! (`quote.lines[2].qty`) and its field's name, in the order the type
//! declares them, without building a JSON tree first. The path is spelt
//! out only when a check asks for it (a refusal). What the walk meets is
//! exactly what `serde_json::to_value` would hold: an option's value or
//! nothing, a unit variant as its name, a newtype or struct variant under
//! its name, bytes as a list of numbers, a NaN as nothing.

use serde::ser::{self, Serialize};
use serde_json::Number;
use std::fmt;

/// Where a value sits in the walked value (`quote.lines[2].qty`).
#[derive(Debug, Clone, Copy)]
pub enum At<'a> {
    /// A field of the walked value itself.
    Field(&'a str),
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Field(name) => f.write_str(name),
            At::Key(parent, key) => write!(f, "{parent}.{key}"),
            At::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// What the walk hands to the check.
#[derive(Debug, Clone, Copy)]
pub enum Leaf<'v> {
    Text(&'v str),
    Number(&'v Number),
    /// A list, before its items: how many it holds.
    List(usize),
}

/// The check the walk runs on every leaf: where it is, the name of the
/// field it belongs to (a list's items carry the list's name), what it is.
pub type Check<'c, E> = dyn FnMut(&At<'_>, &str, Leaf<'_>) -> Result<(), E> + 'c;

/// Walks every field of `value` (a struct or map; its `skip` field, the
/// tag of an internally tagged enum, left out) through `check`, stopping at
/// the first refusal. A value JSON cannot hold (a map keyed by a list, a
/// serialiser's own error) is not walked further: nothing is refused for it.
pub fn walk<T: Serialize + ?Sized, E>(
    value: &T,
    skip: &str,
    check: &mut Check<'_, E>,
) -> Result<(), E> {
    let top = Walker {
        at: None,
        name: "",
        skip,
        check,
    };
    match value.serialize(top) {
        Ok(()) | Err(Stop::Unwritable) => Ok(()),
        Err(Stop::Refused(e)) => Err(e),
    }
}

/// Why the walk stopped.
enum Stop<E> {
    Refused(E),
    Unwritable,
}

impl<E> fmt::Debug for Stop<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stop::Refused(_) => "refused",
            Stop::Unwritable => "not writable as JSON",
        })
    }
}

impl<E> fmt::Display for Stop<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl<E> std::error::Error for Stop<E> {}

impl<E> ser::Error for Stop<E> {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Stop::Unwritable
    }
}

/// One value of the walk: where it sits (`None`: the walked value itself,
/// whose scalars and lists are not fields) and its field's name.
struct Walker<'a, 'c, 'k, E> {
    at: Option<At<'a>>,
    name: &'a str,
    skip: &'a str,
    check: &'k mut Check<'c, E>,
}

impl<'a, 'c, 'k, E> Walker<'a, 'c, 'k, E> {
    fn leaf(self, leaf: Leaf<'_>) -> Result<(), Stop<E>> {
        match &self.at {
            Some(at) => (self.check)(at, self.name, leaf).map_err(Stop::Refused),
            None => Ok(()),
        }
    }

    fn number(self, n: Number) -> Result<(), Stop<E>> {
        self.leaf(Leaf::Number(&n))
    }

    /// A value inside this one: under `variant`, the walk of a variant's
    /// contents (`{"variant": …}` in JSON).
    fn compound(
        self,
        variant: Option<&'static str>,
        len: Option<usize>,
    ) -> Result<Compound<'a, 'c, 'k, E>, Stop<E>> {
        Compound {
            at: self.at,
            name: self.name,
            variant,
            skip: self.skip,
            check: self.check,
            items: 0,
            counted: false,
        }
        .count_first(len)
    }
}

/// A struct, map, list or variant being walked: its fields or items.
struct Compound<'a, 'c, 'k, E> {
    at: Option<At<'a>>,
    name: &'a str,
    /// The variant the contents sit under, if any.
    variant: Option<&'static str>,
    skip: &'a str,
    check: &'k mut Check<'c, E>,
    /// Items walked so far (a list).
    items: usize,
    /// Whether the list's length was checked before its items.
    counted: bool,
}

impl<E> Compound<'_, '_, '_, E> {
    /// A list of known length is checked before its items (as a tree is).
    fn count_first(mut self, len: Option<usize>) -> Result<Self, Stop<E>> {
        if let Some(len) = len {
            self.check_list(len)?;
        }
        self.counted = len.is_some();
        Ok(self)
    }

    fn check_list(&mut self, len: usize) -> Result<(), Stop<E>> {
        let name = self.variant.unwrap_or(self.name);
        match (&self.at, self.variant) {
            (Some(at), Some(v)) => (self.check)(&At::Key(at, v), name, Leaf::List(len)),
            (Some(at), None) => (self.check)(at, name, Leaf::List(len)),
            (None, Some(v)) => (self.check)(&At::Field(v), name, Leaf::List(len)),
            // The walked value itself is not a field.
            (None, None) => Ok(()),
        }
        .map_err(Stop::Refused)
    }

    /// Walks `value` as the field `key` of this one.
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Stop<E>> {
        let base = match (&self.at, self.variant) {
            (Some(at), Some(v)) => Some(At::Key(at, v)),
            (Some(at), None) => Some(*at),
            (None, Some(v)) => Some(At::Field(v)),
            (None, None) => None,
        };
        if base.is_none() && key == self.skip {
            return Ok(());
        }
        let at = match &base {
            Some(base) => At::Key(base, key),
            None => At::Field(key),
        };
        value.serialize(Walker {
            at: Some(at),
            name: key,
            skip: self.skip,
            check: &mut *self.check,
        })
    }

    /// Walks `value` as the next item of this list.
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop<E>> {
        let name = self.variant.unwrap_or(self.name);
        let index = self.items;
        self.items += 1;
        let base = match (&self.at, self.variant) {
            (Some(at), Some(v)) => At::Key(at, v),
            (Some(at), None) => *at,
            (None, Some(v)) => At::Field(v),
            // Items of the walked value itself (a list at the top): not
            // fields, so not walked.
            (None, None) => return Ok(()),
        };
        value.serialize(Walker {
            at: Some(At::Index(&base, index)),
            name,
            skip: self.skip,
            check: &mut *self.check,
        })
    }

    fn end_list(mut self) -> Result<(), Stop<E>> {
        if !self.counted {
            self.check_list(self.items)?;
        }
        Ok(())
    }
}

impl<'a, 'c, 'k, E> ser::Serializer for Walker<'a, 'c, 'k, E> {
    type Ok = ();
    type Error = Stop<E>;
    type SerializeSeq = Compound<'a, 'c, 'k, E>;
    type SerializeTuple = Compound<'a, 'c, 'k, E>;
    type SerializeTupleStruct = Compound<'a, 'c, 'k, E>;
    type SerializeTupleVariant = Compound<'a, 'c, 'k, E>;
    type SerializeMap = MapWalk<'a, 'c, 'k, E>;
    type SerializeStruct = Compound<'a, 'c, 'k, E>;
    type SerializeStructVariant = Compound<'a, 'c, 'k, E>;

    fn serialize_bool(self, _: bool) -> Result<(), Stop<E>> {
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Stop<E>> {
        self.number(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Stop<E>> {
        self.number(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Stop<E>> {
        self.number(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Stop<E>> {
        self.number(v.into())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Stop<E>> {
        // A tree holds what fits 64 bits.
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(small), _) => self.number(small.into()),
            (_, Ok(big)) => self.number(big.into()),
            _ => Err(Stop::Unwritable),
        }
    }
    fn serialize_u128(self, v: u128) -> Result<(), Stop<E>> {
        match u64::try_from(v) {
            Ok(small) => self.number(small.into()),
            Err(_) => Err(Stop::Unwritable),
        }
    }
    fn serialize_u8(self, v: u8) -> Result<(), Stop<E>> {
        self.number(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Stop<E>> {
        self.number(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Stop<E>> {
        self.number(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Stop<E>> {
        self.number(v.into())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Stop<E>> {
        match Number::from_f64(f64::from(v)) {
            Some(n) => self.number(n),
            // NaN and infinities are JSON's null.
            None => Ok(()),
        }
    }
    fn serialize_f64(self, v: f64) -> Result<(), Stop<E>> {
        match Number::from_f64(v) {
            Some(n) => self.number(n),
            None => Ok(()),
        }
    }
    fn serialize_char(self, v: char) -> Result<(), Stop<E>> {
        self.leaf(Leaf::Text(v.encode_utf8(&mut [0; 4])))
    }
    fn serialize_str(self, v: &str) -> Result<(), Stop<E>> {
        self.leaf(Leaf::Text(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Stop<E>> {
        let mut list = self.compound(None, Some(v.len()))?;
        v.iter().try_for_each(|b| list.item(b))
    }
    fn serialize_none(self) -> Result<(), Stop<E>> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Stop<E>> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Stop<E>> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Stop<E>> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Stop<E>> {
        self.leaf(Leaf::Text(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Stop<E>> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Stop<E>> {
        let mut wrapper = self.compound(None, None)?;
        wrapper.field(variant, value)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, Stop<E>> {
        self.compound(None, len)
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, Stop<E>> {
        self.compound(None, Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, Stop<E>> {
        self.compound(None, Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, Stop<E>> {
        self.compound(Some(variant), Some(len))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Stop<E>> {
        Ok(MapWalk {
            fields: self.compound(None, None)?,
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Stop<E>> {
        self.compound(None, None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Stop<E>> {
        self.compound(Some(variant), None)
    }
}

impl<E> ser::SerializeSeq for Compound<'_, '_, '_, E> {
    type Ok = ();
    type Error = Stop<E>;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop<E>> {
        self.item(value)
    }
    fn end(self) -> Result<(), Stop<E>> {
        self.end_list()
    }
}

impl<E> ser::SerializeTuple for Compound<'_, '_, '_, E> {
    type Ok = ();
    type Error = Stop<E>;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop<E>> {
        self.item(value)
    }
    fn end(self) -> Result<(), Stop<E>> {
        // A tuple's length is given when it begins: counted then.
        Ok(())
    }
}

impl<E> ser::SerializeTupleStruct for Compound<'_, '_, '_, E> {
    type Ok = ();
    type Error = Stop<E>;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop<E>> {
        self.item(value)
    }
    fn end(self) -> Result<(), Stop<E>> {
        // A tuple's length is given when it begins: counted then.
        Ok(())
    }
}

impl<E> ser::SerializeTupleVariant for Compound<'_, '_, '_, E> {
    type Ok = ();
    type Error = Stop<E>;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop<E>> {
        self.item(value)
    }
    fn end(self) -> Result<(), Stop<E>> {
        // A tuple's length is given when it begins: counted then.
        Ok(())
    }
}

impl<E> ser::SerializeStruct for Compound<'_, '_, '_, E> {
    type Ok = ();
    type Error = Stop<E>;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Stop<E>> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Stop<E>> {
        Ok(())
    }
}

impl<E> ser::SerializeStructVariant for Compound<'_, '_, '_, E> {
    type Ok = ();
    type Error = Stop<E>;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Stop<E>> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Stop<E>> {
        Ok(())
    }
}

/// A map being walked: its entries, each named by its key as JSON writes
/// it (a text, or a number as text).
struct MapWalk<'a, 'c, 'k, E> {
    fields: Compound<'a, 'c, 'k, E>,
    key: Option<String>,
}

impl<E> ser::SerializeMap for MapWalk<'_, '_, '_, E> {
    type Ok = ();
    type Error = Stop<E>;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Stop<E>> {
        let text = crate::wire::json_key_text(key).ok_or(Stop::Unwritable)?;
        self.key = Some(text);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop<E>> {
        let key = self.key.take().ok_or(Stop::Unwritable)?;
        self.fields.field(&key, value)
    }
    fn end(self) -> Result<(), Stop<E>> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::Value;
    use std::collections::BTreeMap;

    #[test]
    fn a_stop_names_why_the_walk_stopped() {
        // serde's error trait asks for both forms; a panic message shows them.
        assert_eq!(format!("{:?}", Stop::Refused(())), "refused");
        assert_eq!(
            format!("{}", Stop::<()>::Unwritable),
            "not writable as JSON"
        );
    }

    /// Every shape serde writes, as a command might hold it.
    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Command {
        Everything {
            note: String,
            missing: Option<String>,
            present: Option<u32>,
            amount: i64,
            big: u64,
            ratio: f64,
            nan: f64,
            initial: char,
            flag: bool,
            kind: Kind,
            wrapped: Kind,
            pair: Kind,
            shaped: Kind,
            lines: Vec<Line>,
            tuple: (u8, String),
            table: BTreeMap<String, Line>,
            numbered: BTreeMap<u32, String>,
            bytes: Bytes,
            nothing: (),
            small: (i8, i16, u16),
            meters: Meters,
            marker: Marker,
            point: Point,
            flags: BTreeMap<bool, u8>,
            third: f32,
            infinite: f32,
            wide: i128,
        },
    }

    #[derive(Serialize)]
    struct Meters(u16);
    #[derive(Serialize)]
    struct Marker;
    #[derive(Serialize)]
    struct Point(i8, i16);

    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Plain,
        Wrapped(String),
        Pair(u8, String),
        Shaped { qty: i32, label: String },
    }

    #[derive(Serialize)]
    struct Line {
        item: String,
        qty: i32,
        tags: Vec<String>,
    }

    struct Bytes(Vec<u8>);
    impl Serialize for Bytes {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }

    fn everything() -> Command {
        let line = |item: &str, qty| Line {
            item: item.into(),
            qty,
            tags: vec!["a".into(), "b".into()],
        };
        Command::Everything {
            note: "门铃坏了".into(),
            missing: None,
            present: Some(3),
            amount: -5,
            big: u64::MAX,
            ratio: 1.5,
            nan: f64::NAN,
            initial: '张',
            flag: true,
            kind: Kind::Plain,
            wrapped: Kind::Wrapped("w".into()),
            pair: Kind::Pair(7, "p".into()),
            shaped: Kind::Shaped {
                qty: 2,
                label: "l".into(),
            },
            lines: vec![line("visit_fee", 1), line("labour", 1000)],
            tuple: (1, "t".into()),
            table: BTreeMap::from([("k".to_string(), line("x", 4))]),
            numbered: BTreeMap::from([(12, "twelve".to_string())]),
            bytes: Bytes(vec![9, 8]),
            nothing: (),
            small: (-8, -16, 16),
            meters: Meters(12),
            marker: Marker,
            point: Point(-1, 2),
            flags: BTreeMap::from([(true, 1)]),
            third: 0.5,
            infinite: f32::INFINITY,
            wide: -3,
        }
    }

    /// What a walk met: path, name and the leaf, written out.
    fn met(value: &impl Serialize) -> Vec<String> {
        let mut seen = vec![];
        let _ = walk(value, "type", &mut |at: &At, name: &str, leaf: Leaf| {
            seen.push(format!("{at} {name} {leaf:?}"));
            Ok::<(), ()>(())
        });
        seen.sort();
        seen
    }

    /// The same, from the JSON tree `serde_json::to_value` builds.
    fn met_in_tree(value: &impl Serialize) -> Vec<String> {
        fn go(at: &At, name: &str, v: &Value, seen: &mut Vec<String>) {
            match v {
                Value::String(s) => seen.push(format!("{at} {name} {:?}", Leaf::Text(s))),
                Value::Number(n) => seen.push(format!("{at} {name} {:?}", Leaf::Number(n))),
                Value::Array(items) => {
                    seen.push(format!("{at} {name} {:?}", Leaf::List(items.len())));
                    for (i, item) in items.iter().enumerate() {
                        go(&At::Index(at, i), name, item, seen);
                    }
                }
                Value::Object(map) => {
                    for (k, v) in map {
                        go(&At::Key(at, k), k, v, seen);
                    }
                }
                Value::Bool(_) | Value::Null => {}
            }
        }
        let mut seen = vec![];
        let Value::Object(fields) = serde_json::to_value(value).unwrap() else {
            panic!("an object")
        };
        for (k, v) in fields.iter().filter(|(k, _)| *k != "type") {
            go(&At::Field(k), k, v, &mut seen);
        }
        seen.sort();
        seen
    }

    #[test]
    fn the_walk_meets_what_the_json_tree_holds() {
        let walked = met(&everything());
        assert_eq!(walked, met_in_tree(&everything()));
        // Spot checks, so the comparison cannot pass empty.
        for expected in [
            r#"note note Text("门铃坏了")"#,
            "lines[1].qty qty Number(Number(1000))",
            "lines[0].tags[1] tags Text(\"b\")",
            "lines lines List(2)",
            "pair.pair pair List(2)",
            "shaped.shaped.qty qty Number(Number(2))",
            "wrapped.wrapped wrapped Text(\"w\")",
            "kind kind Text(\"plain\")",
            "table.k.qty qty Number(Number(4))",
            "numbered.12 12 Text(\"twelve\")",
            "bytes[1] bytes Number(Number(8))",
            "big big Number(Number(18446744073709551615))",
            "small[0] small Number(Number(-8))",
            "small[1] small Number(Number(-16))",
            "small[2] small Number(Number(16))",
            "meters meters Number(Number(12))",
            "point[1] point Number(Number(2))",
            "flags.true true Number(Number(1))",
            "third third Number(Number(0.5))",
            "wide wide Number(Number(-3))",
        ] {
            assert!(
                walked.iter().any(|w| w == expected),
                "{expected} in {walked:#?}"
            );
        }
        assert!(!walked
            .iter()
            .any(|w| w.starts_with("type ") || w.starts_with("nan ")));
    }

    #[test]
    fn the_walk_stops_at_the_first_refusal_in_declared_order() {
        let mut seen = 0;
        let refused = walk(
            &everything(),
            "type",
            &mut |at: &At, _: &str, leaf: Leaf| {
                seen += 1;
                match leaf {
                    Leaf::Number(n) if n.as_i64() == Some(1000) => Err(at.to_string()),
                    _ => Ok(()),
                }
            },
        );
        assert_eq!(refused, Err("lines[1].qty".to_string()));
        let all = met(&everything()).len();
        assert!(seen < all, "stopped early: {seen} of {all}");
    }

    #[test]
    fn what_json_cannot_hold_is_not_walked_further() {
        #[derive(Serialize)]
        struct Wide {
            fits: u128,
            wider: i128,
            after: String,
        }
        let wide = Wide {
            fits: 7,
            wider: 1 << 70,
            after: "never met".into(),
        };
        assert_eq!(met(&wide), ["fits fits Number(Number(7))"]);
        assert!(serde_json::to_value(&wide).is_err());
        let wider = Wide {
            fits: u128::MAX,
            wider: 0,
            after: "never met".into(),
        };
        assert!(met(&wider).is_empty());
        let unsigned = Wide {
            fits: 1,
            wider: i128::from(u64::MAX),
            after: "a".into(),
        };
        assert_eq!(
            met(&unsigned),
            [
                r#"after after Text("a")"#,
                "fits fits Number(Number(1))",
                "wider wider Number(Number(18446744073709551615))",
            ]
        );
    }

    #[test]
    fn a_list_of_unknown_length_is_counted_after_its_items() {
        struct Counted;
        impl Serialize for Counted {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq((0..3).filter(|i| i % 2 == 0))
            }
        }
        #[derive(Serialize)]
        struct Holder {
            evens: Counted,
        }
        assert_eq!(
            met(&Holder { evens: Counted }),
            [
                "evens evens List(2)",
                "evens[0] evens Number(Number(0))",
                "evens[1] evens Number(Number(2))"
            ]
        );
    }
}
