//! The field a refused body got wrong, named to the end. `serde_path_to_error`
//! follows a body down to an internally tagged enum (a pushed event's kind,
//! a command) and no further: serde buffers such a value before it knows
//! its variant, so an error inside it is reported at the enum
//! (`events[57].event`). Here the path is finished: from serde's message
//! when it names the field (a missing or unknown field, an unknown `type`),
//! else by finding the member whose removal makes that error go away — the
//! one serde stopped at — and looking inside it the same way
//! (`events[57].event.outcome`).

use serde::de::DeserializeOwned;
use serde_json::Value;

/// The largest body whose path is finished: each try parses the whole body
/// again, so a refusal of a larger one (never a phone's: it sends batches
/// of 256 KiB) keeps serde's own path rather than costing the server more.
pub const MAX_BODY_BYTES: usize = 512 * 1024;

/// The most values tried inside the element serde stopped at.
const MAX_TRIES: usize = 256;

/// One step of a path: a member or an array element.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// `events[3].event` → [Key(events), Index(3), Key(event)].
fn steps(path: &str) -> Option<Vec<Step>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            out.push(Step::Key(name.to_string()));
        }
        while let Some((index, after)) = rest.split_once(']') {
            out.push(Step::Index(index.parse().ok()?));
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    Some(out)
}

fn render(steps: &[Step]) -> String {
    let mut out = String::new();
    for s in steps {
        match s {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn at<'a>(v: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    steps.iter().try_fold(v, |v, s| match s {
        Step::Key(k) => v.get(k.as_str()),
        Step::Index(i) => v.get(*i),
    })
}

fn at_mut<'a>(v: &'a mut Value, steps: &[Step]) -> Option<&'a mut Value> {
    steps.iter().try_fold(v, |v, s| match s {
        Step::Key(k) => v.get_mut(k.as_str()),
        Step::Index(i) => v.get_mut(*i),
    })
}

/// The name in backquotes after `lead` in serde's message
/// (`missing field `outcome``).
fn quoted_after<'a>(message: &'a str, lead: &str) -> Option<&'a str> {
    let rest = &message[message.find(lead)? + lead.len()..];
    rest.strip_prefix('`')?.split('`').next()
}

/// The error `T` gives for `body`, as serde says it (None: it parses).
fn error_of<T: DeserializeOwned>(body: &Value) -> Option<String> {
    T::deserialize(body).err().map(|e| e.to_string())
}

/// Every object and array at or below `at` in `root`, deepest first, with
/// its path.
fn containers(root: &Value, at: &[Step]) -> Vec<Vec<Step>> {
    fn walk(v: &Value, here: Vec<Step>, out: &mut Vec<Vec<Step>>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let mut next = here.clone();
                    next.push(Step::Key(k.clone()));
                    walk(child, next, out);
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    let mut next = here.clone();
                    next.push(Step::Index(i));
                    walk(child, next, out);
                }
            }
            _ => return,
        }
        out.push(here);
    }
    let mut out = Vec::new();
    if let Some(v) = self::at(root, at) {
        walk(v, at.to_vec(), &mut out);
    }
    out
}

/// The object below `at` that lacks `field` where serde wants it: the one
/// where putting `field` in changes the error (to anything but "unknown
/// field": an object that takes no such field is not its owner).
fn owner_of_missing<T: DeserializeOwned>(
    root: &Value,
    at: &[Step],
    field: &str,
    baseline: &str,
) -> Option<Vec<Step>> {
    containers(root, at)
        .into_iter()
        .take(MAX_TRIES)
        .find(|path| {
            let mut with = root.clone();
            let Some(Value::Object(m)) = at_mut(&mut with, path) else {
                return false;
            };
            if m.contains_key(field) {
                return false;
            }
            m.insert(field.to_string(), Value::Null);
            match error_of::<T>(&with) {
                None => true,
                Some(e) => e != baseline && !e.starts_with("unknown field "),
            }
        })
}

/// What serde expected where it failed (`expected string or map`).
fn expected(message: &str) -> Option<&str> {
    Some(&message[message.rfind(", expected ")?..])
}

/// Every value at or below `at` that holds no other (a number, a text, an
/// empty list…), in the order serde reads them, with its path.
fn leaves(root: &Value, at: &[Step]) -> Vec<Vec<Step>> {
    fn walk(v: &Value, here: Vec<Step>, out: &mut Vec<Vec<Step>>) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, child) in m {
                    let mut next = here.clone();
                    next.push(Step::Key(k.clone()));
                    walk(child, next, out);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                for (i, child) in a.iter().enumerate() {
                    let mut next = here.clone();
                    next.push(Step::Index(i));
                    walk(child, next, out);
                }
            }
            _ => out.push(here),
        }
    }
    let mut out = Vec::new();
    if let Some(v) = self::at(root, at) {
        walk(v, at.to_vec(), &mut out);
    }
    out
}

/// The value serde stopped at with an error of type or value: given as a
/// value of another kind, it gives another error expecting what the
/// original expected. A value read after it is never reached (the error
/// stays as it was), so the last one that does, in reading order, is it —
/// an earlier value of the same type would do the same.
fn culprit<T: DeserializeOwned>(root: &Value, at: &[Step], baseline: &str) -> Option<Vec<Step>> {
    let wanted = expected(baseline)?;
    let mut leaves = leaves(root, at);
    leaves.truncate(MAX_TRIES);
    leaves.into_iter().rev().find(|leaf| {
        let mut probed = root.clone();
        let Some(v) = at_mut(&mut probed, leaf) else {
            return false;
        };
        *v = if v.is_array() {
            Value::Object(Default::default())
        } else {
            Value::Array(vec![])
        };
        match error_of::<T>(&probed) {
            Some(e) => e != baseline && expected(&e) == Some(wanted),
            None => false,
        }
    })
}

/// `path` (where serde stopped tracking) made to name the field inside,
/// for the body `root` that `T` refuses.
pub fn finish<T: DeserializeOwned>(root: &Value, path: &str) -> String {
    let (Some(mut at), Some(baseline)) = (steps(path), error_of::<T>(root)) else {
        return path.to_string();
    };
    if let Some(field) = quoted_after(&baseline, "missing field ") {
        if let Some(mut owner) = owner_of_missing::<T>(root, &at, field, &baseline) {
            owner.push(Step::Key(field.to_string()));
            return render(&owner);
        }
        return path.to_string();
    }
    let named = quoted_after(&baseline, "unknown field ")
        .map(|f| (f, true))
        .or_else(|| quoted_after(&baseline, "unknown variant ").map(|v| (v, false)));
    if let Some((name, is_key)) = named {
        // The member with that name, or holding that variant.
        for path in containers(root, &at) {
            if let Some(Value::Object(m)) = self::at(root, &path) {
                let found = m.iter().find(|(k, v)| {
                    if is_key {
                        k.as_str() == name
                    } else {
                        v.as_str() == Some(name)
                    }
                });
                if let Some((k, _)) = found {
                    let mut named = path.clone();
                    named.push(Step::Key(k.clone()));
                    return render(&named);
                }
            }
        }
        return path.to_string();
    }
    if let Some(leaf) = culprit::<T>(root, &at, &baseline) {
        at = leaf;
    }
    render(&at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Kind {
        Closed { outcome: u8, note: Option<String> },
        Quoted { quote: Quote },
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Quote {
        lines: Vec<Line>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Line {
        item: String,
        qty: u32,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Push {
        events: Vec<Envelope>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Envelope {
        seq: u64,
        event: Kind,
    }

    /// What `parse_json` gets from `serde_path_to_error`, finished here.
    fn named(body: Value) -> String {
        let text = body.to_string();
        let de = &mut serde_json::Deserializer::from_str(&text);
        let e = serde_path_to_error::deserialize::<_, Push>(de).unwrap_err();
        finish::<Push>(&body, &e.path().to_string())
    }

    fn good() -> Value {
        json!({"events": [
            {"seq": 1, "event": {"type": "closed", "outcome": 1}},
            {"seq": 2, "event": {"type": "quoted", "quote": {"lines": [
                {"item": "visit_fee", "qty": 1}, {"item": "labour", "qty": 2}]}}}
        ]})
    }

    #[test]
    fn a_bad_field_inside_a_tagged_event_is_named_to_the_end() {
        let mut body = good();
        body["events"][0]["event"]["outcome"] = json!("fixed");
        assert_eq!(named(body), "events[0].event.outcome");
        let mut body = good();
        body["events"][1]["event"]["quote"]["lines"][1]["qty"] = json!(-3);
        assert_eq!(named(body), "events[1].event.quote.lines[1].qty");
    }

    #[test]
    fn a_missing_or_unknown_field_and_an_unknown_type_are_named_from_the_message() {
        let mut body = good();
        body["events"][0]["event"]
            .as_object_mut()
            .unwrap()
            .remove("outcome");
        assert_eq!(named(body), "events[0].event.outcome");
        let mut body = good();
        body["events"][1]["event"]["type"] = json!("teleported");
        assert_eq!(named(body), "events[1].event.type");
    }

    #[test]
    fn a_path_serde_tracked_to_the_end_is_kept() {
        let mut body = good();
        body["events"][1]["seq"] = json!("two");
        assert_eq!(named(body), "events[1].seq");
        assert_eq!(
            steps("events[12].event.lines[3][0]").map(|s| render(&s)),
            Some("events[12].event.lines[3][0]".into())
        );
    }
}
