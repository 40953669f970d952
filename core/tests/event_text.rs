//! The JSON spelling of a fact, pinned: every field path each kind of fact
//! has when visits of every shipped trade are walked by the book, against
//! `fixtures/event_text.json`. A phone sends its waiting facts as stored
//! (`store::outbox_text`), so a field removed or renamed must come with a
//! new `workflow::EVENT_TEXT_FORMAT` (facts an older app stored are then
//! written again before they go); a field added only refreshes the fixture
//! (`DOORSTEP_UPDATE_FIXTURES=1 cargo test -p doorstep-core --test event_text`).

mod common;

use chrono::Duration;
use common::job;
use doorstep_core::signoff::Ratings;
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::workflow::EVENT_TEXT_FORMAT;
use doorstep_core::{DeviceId, Playbook};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The pinned spelling of every fact (read where the tests run: a test
/// binary built in another checkout reads this one's).
fn fixture() -> std::path::PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("tests/fixtures/event_text.json")
}

/// Every path of `v` (object keys dotted, array elements as `[]`).
fn paths(v: &Value, at: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                out.insert(p.clone());
                paths(x, &p, out);
            }
        }
        Value::Array(xs) => {
            for x in xs {
                paths(x, &format!("{at}[]"), out);
            }
        }
        _ => {}
    }
}

/// Field paths by kind of fact, over visits of every shipped trade walked
/// by the book (signed, and one whose customer declined to sign).
fn spelling() -> BTreeMap<String, BTreeSet<String>> {
    let good = Ratings {
        quality: 5,
        attitude: 4,
    };
    let device = DeviceId::new("phone-1").unwrap();
    let mut walks = vec![];
    for (n, pb) in Playbook::shipped().iter().enumerate() {
        let (pb, a) = job(pb.id.as_str(), n as u32);
        let at = a.received_at.unwrap() + Duration::minutes(10);
        let mut w = Walkthrough::new(&pb, &a, &device, at);
        w.completed(Some(20), good, &mut None);
        walks.push(w);
    }
    let (pb, a) = job("appliance_repair", 99);
    let mut w = Walkthrough::new(&pb, &a, &device, a.received_at.unwrap());
    w.go(None).repair().pay().decline("in a hurry").leave();
    walks.push(w);
    let mut by_kind: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in walks.iter().flat_map(|w| &w.events) {
        let v = serde_json::to_value(e).unwrap();
        paths(
            &v,
            "",
            by_kind.entry(e.kind.name().to_string()).or_default(),
        );
    }
    by_kind
}

#[test]
fn a_facts_spelling_changes_only_with_its_text_format_number() {
    let now = spelling();
    if std::env::var_os("DOORSTEP_UPDATE_FIXTURES").is_some() {
        let file = serde_json::json!({ "format": EVENT_TEXT_FORMAT, "kinds": now });
        std::fs::write(
            fixture(),
            serde_json::to_string_pretty(&file).unwrap() + "\n",
        )
        .unwrap();
    }
    let pinned: Value = serde_json::from_str(&std::fs::read_to_string(fixture()).unwrap()).unwrap();
    let format = pinned["format"].as_i64().unwrap();
    let before: BTreeMap<String, BTreeSet<String>> =
        serde_json::from_value(pinned["kinds"].clone()).unwrap();
    assert!(before.len() >= 20, "{} kinds pinned", before.len());
    let gone: Vec<String> = before
        .iter()
        .flat_map(|(kind, ps)| {
            ps.iter()
                .filter(|p| !now.get(kind).is_some_and(|n| n.contains(*p)))
                .map(move |p| format!("{kind}: {p}"))
        })
        .collect();
    assert!(
        gone.is_empty() || format != EVENT_TEXT_FORMAT,
        "fields removed or renamed ({gone:?}): bump workflow::EVENT_TEXT_FORMAT, then refresh {}",
        fixture().display()
    );
    assert_eq!(
        format,
        EVENT_TEXT_FORMAT,
        "EVENT_TEXT_FORMAT moved: refresh {} (DOORSTEP_UPDATE_FIXTURES=1)",
        fixture().display()
    );
    assert_eq!(
        now, before,
        "a fact's spelling changed: refresh {} (DOORSTEP_UPDATE_FIXTURES=1); if a field was removed or renamed, bump EVENT_TEXT_FORMAT first",
        fixture().display()
    );
}
