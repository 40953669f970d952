//! Field bounds: how long every text the center sends may be, how many
//! items a list may hold, and which order items exist (the trade's fee
//! schedule) — one table, [`CENTER_BOUNDS`], mirrored in docs/API.md — and
//! the generic bound on pushed device events (every string, every list and
//! the whole event capped, [`EventLimits`]), checked on the raw JSON before
//! anything is applied, naming the field path (`events[3].event.note`).
//! Refusals say the limit and what was sent, in English and Chinese.

use crate::domain::assignments::{AssignmentPatch, NewAssignment};
use crate::domain::intake::IntakeRequest;
use crate::domain::roster::NewTechnician;
use crate::failure::{Failure, Fallible};
use doorstep_core::assignment::{Customer, OrderLine, Product};
use doorstep_core::Playbook;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::cell::RefCell;
use std::fmt;

/// A person's name (customer, caller, technician).
pub const NAME_CHARS: usize = 100;
/// A phone number as typed.
pub const PHONE_CHARS: usize = 32;
/// A postal address.
pub const ADDRESS_CHARS: usize = 300;
/// An IANA time zone name.
pub const TIME_ZONE_CHARS: usize = 64;
/// A product model or serial number, a service item id.
pub const CODE_CHARS: usize = 100;
/// A free text: fault description, notes, intake content and answer.
pub const TEXT_CHARS: usize = 2000;
/// A reason or note of a center action (cancel, resolve, callback).
pub const REASON_CHARS: usize = 1000;
/// Order lines, service items.
pub const LIST_ITEMS: usize = 50;
/// A technician's trades.
pub const TRADES: usize = 20;
/// Quantity of one order line.
pub const QTY_MAX: u32 = 999;

/// The center's bounds as (field, limit, unit), for docs/API.md and tests.
pub const CENTER_BOUNDS: &[(&str, usize, &str)] = &[
    (
        "customer.name / caller.name / technician name",
        NAME_CHARS,
        "characters",
    ),
    (
        "customer.phone / caller.phone / technician phone",
        PHONE_CHARS,
        "characters",
    ),
    (
        "customer.address / caller.address",
        ADDRESS_CHARS,
        "characters",
    ),
    ("customer.time_zone", TIME_ZONE_CHARS, "characters"),
    (
        "product.model / product.serial / service_items[i]",
        CODE_CHARS,
        "characters",
    ),
    (
        "fault_description / notes / content / answer",
        TEXT_CHARS,
        "characters",
    ),
    (
        "cancel reason / resolve note / callback reason and note",
        REASON_CHARS,
        "characters",
    ),
    ("order / service_items", LIST_ITEMS, "items"),
    ("trades", TRADES, "items"),
    ("order[i].qty", QTY_MAX as usize, "(1 to this)"),
];

/// Refuses a text longer than `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> Fallible<()> {
    let n = value.chars().count();
    if n > max {
        return Err(Failure::field(
            field,
            format!("at most {max} characters (sent {n}) / 最多 {max} 个字符（收到 {n} 个）。"),
        ));
    }
    Ok(())
}

/// The same for an optional text.
pub fn opt_text(field: &str, value: Option<&str>, max: usize) -> Fallible<()> {
    value.map_or(Ok(()), |v| text(field, v, max))
}

/// Refuses a list longer than `max` items.
pub fn list<T>(field: &str, items: &[T], max: usize) -> Fallible<()> {
    if items.len() > max {
        return Err(Failure::field(
            field,
            format!(
                "at most {max} items (sent {}) / 最多 {max} 项（收到 {} 项）。",
                items.len(),
                items.len()
            ),
        ));
    }
    Ok(())
}

/// A customer (or caller) record, fields under `prefix`.
pub fn customer(prefix: &str, c: &Customer) -> Fallible<()> {
    opt_text(&format!("{prefix}.name"), c.name.as_deref(), NAME_CHARS)?;
    opt_text(&format!("{prefix}.phone"), c.phone.as_deref(), PHONE_CHARS)?;
    opt_text(
        &format!("{prefix}.address"),
        c.address.as_deref(),
        ADDRESS_CHARS,
    )?;
    opt_text(
        &format!("{prefix}.time_zone"),
        c.time_zone.as_deref(),
        TIME_ZONE_CHARS,
    )
}

/// A product record.
pub fn product(p: &Product) -> Fallible<()> {
    opt_text("product.model", p.model.as_deref(), CODE_CHARS)?;
    opt_text("product.serial", p.serial.as_deref(), CODE_CHARS)
}

/// Order lines: bounded, each item in the trade's fee schedule, each
/// quantity 1 to [`QTY_MAX`].
pub fn order(lines: &[OrderLine], playbook: Option<&Playbook>) -> Fallible<()> {
    list("order", lines, LIST_ITEMS)?;
    for (i, line) in lines.iter().enumerate() {
        if let Some(pb) = playbook {
            if pb.fee(&line.item).is_none() {
                let mut known: Vec<&str> = pb.fees.iter().map(|f| f.id.as_str()).collect();
                known.sort_unstable();
                let known = known.join(", ");
                return Err(Failure::field(
                    &format!("order[{i}].item"),
                    format!(
                        "{:?} is not in the {} fee schedule; known items: {known} / 不在该行业的收费目录中；可选：{known}。",
                        truncate(&line.item),
                        pb.id
                    ),
                ));
            }
        }
        if !(1..=QTY_MAX).contains(&line.qty) {
            return Err(Failure::field(
                &format!("order[{i}].qty"),
                format!(
                    "from 1 to {QTY_MAX} (sent {}) / 应为 1 到 {QTY_MAX}（收到 {}）。",
                    line.qty, line.qty
                ),
            ));
        }
    }
    Ok(())
}

/// Service items: bounded in number and length.
pub fn service_items(items: &[String]) -> Fallible<()> {
    list("service_items", items, LIST_ITEMS)?;
    for (i, item) in items.iter().enumerate() {
        text(&format!("service_items[{i}]"), item, CODE_CHARS)?;
    }
    Ok(())
}

/// A new assignment (`POST /api/assignments`): every text, the lists, and
/// the order against its trade's fee schedule.
/// `playbook`: the trade's version in force (`None`: a trade this server
/// does not walk).
pub fn new_assignment(a: &NewAssignment, playbook: Option<&Playbook>) -> Fallible<()> {
    customer("customer", &a.customer)?;
    product(&a.product)?;
    opt_text(
        "fault_description",
        a.fault_description.as_deref(),
        TEXT_CHARS,
    )?;
    opt_text("notes", a.notes.as_deref(), TEXT_CHARS)?;
    order(&a.order, playbook)?;
    service_items(&a.service_items)
}

/// An edit (`PATCH /api/assignments/{id}`); the order is checked against
/// the fee schedule of the assignment's trade in force (`playbook`).
pub fn patch(p: &AssignmentPatch, playbook: Option<&Playbook>) -> Fallible<()> {
    if let Some(c) = &p.customer {
        customer("customer", c)?;
    }
    if let Some(pr) = &p.product {
        product(pr)?;
    }
    opt_text(
        "fault_description",
        p.fault_description.as_deref(),
        TEXT_CHARS,
    )?;
    opt_text("notes", p.notes.as_deref(), TEXT_CHARS)?;
    if let Some(o) = &p.order {
        order(o, playbook)?;
    }
    if let Some(items) = &p.service_items {
        service_items(items)?;
    }
    Ok(())
}

/// An intake (`POST /api/intakes`).
pub fn intake(i: &IntakeRequest) -> Fallible<()> {
    customer("caller", &i.caller)?;
    product(&i.product)?;
    text("content", &i.content, TEXT_CHARS)?;
    opt_text("answer", i.answer.as_deref(), TEXT_CHARS)
}

/// A new technician (`POST /api/technicians`).
pub fn technician(t: &NewTechnician) -> Fallible<()> {
    text("name", &t.name, NAME_CHARS)?;
    opt_text("phone", t.phone.as_deref(), PHONE_CHARS)?;
    list("trades", &t.trades, TRADES)
}

/// The first characters of a refused value, for a message.
fn truncate(value: &str) -> String {
    value.chars().take(40).collect()
}

/// The generic bound on one pushed event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventLimits {
    /// Longest string, in bytes.
    pub string_bytes: usize,
    /// Most items in one list.
    pub list_items: usize,
    /// Largest event, in bytes of its JSON.
    pub event_bytes: usize,
}

impl Default for EventLimits {
    fn default() -> Self {
        Self {
            string_bytes: 16 * 1024,
            list_items: 10_000,
            event_bytes: 512 * 1024,
        }
    }
}

/// An event over a bound: the field path and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfBounds {
    pub field: String,
    pub message: String,
}

/// Checks one event's JSON against `limits`; `path` names the event
/// (`events[3].event`) in the refusal. A string or list over its bound is
/// named first (the most precise answer), then the event's size.
pub fn check_event_json(json: &str, path: &str, limits: EventLimits) -> Result<(), OutOfBounds> {
    // Nearly every event is within bounds: walked first without writing a
    // path, and again, naming the path, only when something is not (or the
    // JSON is malformed, which the typed parse reports).
    if !within(json, limits) {
        let walk = Walk {
            limits,
            path: RefCell::new(vec![path.to_string()]),
            found: RefCell::new(None),
        };
        let _ = Node(&walk).deserialize(&mut serde_json::Deserializer::from_str(json));
        if let Some(found) = walk.found.into_inner() {
            return Err(found);
        }
    }
    if json.len() > limits.event_bytes {
        return Err(OutOfBounds {
            field: path.to_string(),
            message: format!(
                "the event is {} bytes; at most {} / 事件 {} 字节，上限 {} 字节。",
                json.len(),
                limits.event_bytes,
                json.len(),
                limits.event_bytes
            ),
        });
    }
    Ok(())
}

/// Whether every string, key and list of `json` is within `limits` (and
/// the JSON well formed), found without naming anything.
fn within(json: &str, limits: EventLimits) -> bool {
    Within(limits)
        .deserialize(&mut serde_json::Deserializer::from_str(json))
        .is_ok()
}

/// The walk without a path: fails at the first string, key or list over
/// its bound (or at malformed JSON), allocating nothing.
#[derive(Clone, Copy)]
struct Within(EventLimits);

impl<'de> DeserializeSeed<'de> for Within {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Within {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value within bounds")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        if v.len() > self.0.string_bytes {
            return Err(E::custom("a text over its bound"));
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut items = 0usize;
        while seq.next_element_seed(self)?.is_some() {
            items += 1;
            if items > self.0.list_items {
                return Err(serde::de::Error::custom("a list over its bound"));
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // A key is a string like any other (the same bound).
        while map.next_key_seed(self)?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}

/// The walk's state: the limits, the path to the current value, and the
/// first value found out of bounds.
struct Walk {
    limits: EventLimits,
    path: RefCell<Vec<String>>,
    found: RefCell<Option<OutOfBounds>>,
}

impl Walk {
    fn refuse<E: serde::de::Error>(&self, message: String) -> E {
        let field = self.path.borrow().concat();
        *self.found.borrow_mut() = Some(OutOfBounds {
            field,
            message: message.clone(),
        });
        E::custom(message)
    }
}

/// One value of the walk (a seed and its visitor).
#[derive(Clone, Copy)]
struct Node<'w>(&'w Walk);

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        let max = self.0.limits.string_bytes;
        if v.len() > max {
            return Err(self.0.refuse(format!(
                "a text of {} bytes; at most {max} / 文本 {} 字节，上限 {max} 字节。",
                v.len(),
                v.len()
            )));
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let max = self.0.limits.list_items;
        let mut i = 0usize;
        loop {
            if i == max {
                // One more element is one too many.
                self.0.path.borrow_mut().push(String::new());
                let more = seq.next_element::<serde::de::IgnoredAny>()?;
                self.0.path.borrow_mut().pop();
                if more.is_some() {
                    return Err(self.0.refuse(format!(
                        "a list of more than {max} items / 列表超过 {max} 项。"
                    )));
                }
                return Ok(());
            }
            self.0.path.borrow_mut().push(format!("[{i}]"));
            let next = seq.next_element_seed(self)?;
            self.0.path.borrow_mut().pop();
            if next.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key.len() > self.0.limits.string_bytes {
                return Err(self.0.refuse(format!(
                    "a key of {} bytes / 键名过长（{} 字节）。",
                    key.len(),
                    key.len()
                )));
            }
            self.0.path.borrow_mut().push(format!(".{key}"));
            map.next_value_seed(self)?;
            self.0.path.borrow_mut().pop();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: EventLimits = EventLimits {
        string_bytes: 8,
        list_items: 3,
        event_bytes: 200,
    };

    #[test]
    fn a_long_string_is_refused_with_its_path() {
        let e = check_event_json(
            r#"{"kind": "note", "data": {"lines": ["ok", "far too long"]}}"#,
            "events[3].event",
            SMALL,
        )
        .unwrap_err();
        assert_eq!(e.field, "events[3].event.data.lines[1]");
        assert!(e.message.contains("at most 8"), "{}", e.message);
    }

    #[test]
    fn a_long_list_and_a_large_event_are_refused() {
        let e = check_event_json(r#"{"p": [1, 2, 3, 4]}"#, "events[0].event", SMALL).unwrap_err();
        assert_eq!(e.field, "events[0].event.p");
        let fields: Vec<String> = (0..30).map(|i| format!(r#""k{i}": "12345678""#)).collect();
        let big = format!("{{{}}}", fields.join(", "));
        let e = check_event_json(&big, "events[1].event", SMALL).unwrap_err();
        assert_eq!(e.field, "events[1].event");
    }

    #[test]
    fn the_quick_walk_stops_exactly_at_each_bound() {
        let at = r#"{"12345678": ["12345678", 2, {"k": [true, null, 1.5]}]}"#;
        assert!(within(at, SMALL));
        for over in [
            r#"{"a": "123456789"}"#,
            r#"{"123456789": 1}"#,
            r#"{"a": [1, 2, 3, 4]}"#,
            r#"[{"a": ["123456789"]}]"#,
            r#"{"a": "#,
        ] {
            assert!(!within(over, SMALL), "{over}");
        }
    }

    #[test]
    fn values_within_bounds_pass() {
        assert!(check_event_json(r#"{"a": [1, 2, 3], "b": "12345678"}"#, "e", SMALL).is_ok());
    }

    #[test]
    fn an_order_item_outside_the_fee_schedule_is_named() {
        let pb = Playbook::shipped_ref("water_delivery").unwrap();
        let ok = [OrderLine {
            item: "bottle_18_9l".into(),
            qty: 2,
        }];
        assert!(order(&ok, Some(pb)).is_ok());
        let gold = [
            OrderLine {
                item: "bottle_18_9l".into(),
                qty: 1,
            },
            OrderLine {
                item: "gold_bar".into(),
                qty: 1,
            },
        ];
        let Failure::InvalidField { field, message } = order(&gold, Some(pb)).unwrap_err() else {
            panic!("a field refusal")
        };
        assert_eq!(field, "order[1].item");
        assert!(message.contains("bottle_18_9l"), "{message}");
    }
}
