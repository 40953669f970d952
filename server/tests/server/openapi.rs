//! The OpenAPI document (`GET /api/openapi.json`): every route the router
//! serves is described (a route added without its `#[utoipa::path]` fails
//! here), every described operation is routed, and the committed
//! `docs/openapi.json` is exactly what the server serves.
//!
//! Regenerate the committed document after an API change with
//! `DOORSTEP_WRITE_OPENAPI=1 cargo test -p doorstep-server --test server openapi`.

use crate::harness::{assignment, device, numbered, past_window_start, Backend, Srv};
use chrono::Duration;
use doorstep_core::business_time::BusinessZone;
use doorstep_core::signoff::Ratings;
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::Playbook;
use doorstep_server::app::{AppState, Config};
use doorstep_server::http::router;
use doorstep_server::store::Database;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The methods the document may describe.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every (path, method) the router serves, read from its `Debug` form: the
/// path of each route id and the `Allow` header its method router answers
/// with. HEAD is left out where GET serves it (axum answers HEAD with GET).
fn routed_operations(state: AppState) -> BTreeSet<(String, String)> {
    let text = format!("{:?}", router(state));
    let path_router = text
        .split("fallback_router")
        .next()
        .expect("the router's Debug form starts with its path router");
    let mut paths = BTreeMap::new();
    let mut methods = BTreeMap::new();
    let mut rest = path_router;
    while let Some(at) = rest.find("RouteId(") {
        rest = &rest[at + "RouteId(".len()..];
        let (id, after) = rest.split_once(')').expect("RouteId(n)");
        let after = after.trim_start_matches(": ");
        if let Some(quoted) = after.strip_prefix('"') {
            // A catch-all `{*file}` is a plain `{file}` parameter in OpenAPI.
            let path = quoted.split('"').next().unwrap().replace("{*", "{");
            paths.insert(id.to_string(), path);
        } else if after.starts_with("MethodRouter") {
            let allow = after
                .split("allow_header: Bytes(b\"")
                .nth(1)
                .and_then(|a| a.split('"').next())
                .unwrap_or_else(|| panic!("route {id} has no Allow list in {after:.200}"));
            methods.insert(
                id.to_string(),
                allow
                    .split(',')
                    .map(|m| m.trim().to_ascii_lowercase())
                    .collect::<BTreeSet<_>>(),
            );
        }
    }
    assert!(
        paths.len() >= 40 && paths.len() == methods.len(),
        "read {} paths and {} method routers from the router's Debug form: has axum changed it?",
        paths.len(),
        methods.len()
    );
    let mut out = BTreeSet::new();
    for (id, path) in paths {
        let allowed = &methods[&id];
        for m in allowed {
            if m == "head" && allowed.contains("get") {
                continue;
            }
            out.insert((path.clone(), m.clone()));
        }
    }
    out
}

/// Every (path, method) the document describes.
fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert((path.clone(), m.to_string()));
            }
        }
    }
    out
}

/// A scratch directory removed when the test ends (passed or not).
struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server state over a fresh SQLite database in a scratch directory.
async fn state() -> (AppState, ScratchDir) {
    let dir = ScratchDir(std::env::temp_dir().join(format!(
        "doorstep-openapi-{}",
        uuid::Uuid::now_v7().simple()
    )));
    std::fs::create_dir_all(&dir.0).unwrap();
    let db = Database::open(&dir.0.join("doorstep.db").display().to_string())
        .await
        .unwrap();
    (AppState::new(db, Config::default()), dir)
}

#[tokio::test]
async fn every_route_of_the_router_is_in_the_openapi_document() {
    let doc = serde_json::to_value(doorstep_server::http::openapi::document()).unwrap();
    let documented = documented_operations(&doc);
    let (state, _dir) = state().await;
    let missing: Vec<_> = routed_operations(state)
        .into_iter()
        .filter(|op| !documented.contains(op))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without a #[utoipa::path] listed in http/openapi.rs: {missing:?}"
    );
}

#[tokio::test]
async fn every_operation_of_the_openapi_document_is_routed() {
    let doc = serde_json::to_value(doorstep_server::http::openapi::document()).unwrap();
    let (state, _dir) = state().await;
    let routed = routed_operations(state);
    let extra: Vec<_> = documented_operations(&doc)
        .into_iter()
        .filter(|op| !routed.contains(op))
        .collect();
    assert!(extra.is_empty(), "described but not routed: {extra:?}");
}

#[tokio::test]
async fn every_operation_answers_refusals_in_the_one_error_shape_and_names_its_security() {
    let doc = serde_json::to_value(doorstep_server::http::openapi::document()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            assert_eq!(
                op["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{m} {path}"
            );
            let security = op["security"]
                .as_array()
                .unwrap_or_else(|| panic!("{m} {path} says nothing of its security"));
            for requirement in security {
                for scheme in requirement.as_object().unwrap().keys() {
                    assert!(
                        doc["components"]["securitySchemes"].get(scheme).is_some(),
                        "{m} {path}: unknown scheme {scheme}"
                    );
                }
            }
        }
    }
    let sync = &doc["paths"]["/api/sync/push"]["post"]["security"];
    assert_eq!(sync, &serde_json::json!([{"device": []}]));
}

fn committed_path() -> PathBuf {
    crate::harness::crate_dir().join("../docs/openapi.json")
}

/// Every `$ref` anywhere in `value`, with the JSON path it sits at.
fn references(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push((at.to_string(), r.clone())),
                    _ => references(v, &format!("{at}/{k}"), out),
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                references(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_schema_reference_resolves_to_a_component() {
    let doc = serde_json::to_value(doorstep_server::http::openapi::document()).unwrap();
    let components = doc["components"]["schemas"].as_object().expect("schemas");
    let mut refs = Vec::new();
    references(&doc, "#", &mut refs);
    assert!(refs.len() > 50, "only {} references read", refs.len());
    let dangling: Vec<_> = refs
        .iter()
        .filter(|(_, r)| {
            r.strip_prefix("#/components/schemas/")
                .is_none_or(|name| !components.contains_key(name))
        })
        .collect();
    assert!(
        dangling.is_empty(),
        "references to no component (a client generator or schemathesis fails on them): {dangling:?}"
    );
}

#[tokio::test]
async fn the_committed_docs_openapi_json_is_what_the_server_serves() {
    let srv = Srv::start(Backend::Sqlite).await;
    let res = srv
        .http
        .get(format!("{}/api/openapi.json", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let served: Value = res.json().await.unwrap();
    assert_eq!(served["openapi"], "3.1.0");
    let pretty = serde_json::to_string_pretty(&served).unwrap() + "\n";
    if std::env::var("DOORSTEP_WRITE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(committed_path(), &pretty).unwrap();
    }
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    assert!(
        committed == pretty,
        "docs/openapi.json differs from GET /api/openapi.json: regenerate it with \
         DOORSTEP_WRITE_OPENAPI=1 cargo test -p doorstep-server --test server openapi"
    );
}

/// A validator of `schema` (a part of the document) with the document's
/// components beside it, so its `#/components/schemas/…` references resolve;
/// formats (`date-time`, `uuid`, …) are checked too.
fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("the document's schema {schema} does not compile: {e}"))
}

/// Every way `value` breaks `schema`, one line each.
fn violations(doc: &Value, schema: &Value, value: &Value) -> Vec<String> {
    validator(doc, schema)
        .iter_errors(value)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Every schema in `value` that is an object with nothing said of its
/// members, with the JSON path it sits at.
fn untyped_objects(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let is_object = map.get("type") == Some(&Value::from("object"));
            let described = [
                "properties",
                "additionalProperties",
                "$ref",
                "oneOf",
                "allOf",
            ]
            .iter()
            .any(|k| map.contains_key(*k));
            if is_object && !described {
                out.push(at.to_string());
            }
            for (k, v) in map {
                untyped_objects(v, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                untyped_objects(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn no_body_of_the_document_is_an_object_it_does_not_describe() {
    let doc = serde_json::to_value(doorstep_server::http::openapi::document()).unwrap();
    let mut found = Vec::new();
    untyped_objects(&doc, "#", &mut found);
    // The document itself is the one body described elsewhere (OpenAPI 3.1).
    found.retain(|at| !at.starts_with("#/paths//api/openapi.json/"));
    assert!(
        found.is_empty(),
        "objects whose members the document does not describe (schemathesis and \
         client generators accept anything there): {found:?}"
    );
}

#[test]
fn every_shipped_playbook_is_a_body_post_api_playbooks_takes_by_the_document() {
    let doc = serde_json::to_value(doorstep_server::http::openapi::document()).unwrap();
    let body = &doc["paths"]["/api/playbooks"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"];
    assert_eq!(body["$ref"], "#/components/schemas/Playbook", "{body}");
    for (file, json) in doorstep_core::playbook::SHIPPED_JSON {
        let playbook: Value = serde_json::from_str(json).unwrap();
        let broken = violations(&doc, body, &playbook);
        assert!(broken.is_empty(), "{file}: {broken:#?}");
    }
    // And the schema says no to what the server refuses: a playbook without steps.
    let (_, json) = doorstep_core::playbook::SHIPPED_JSON[0];
    let mut stepless: Value = serde_json::from_str(json).unwrap();
    stepless.as_object_mut().unwrap().remove("steps");
    assert!(!violations(&doc, body, &stepless).is_empty());
}

#[tokio::test]
async fn a_closed_visits_detail_is_what_the_document_describes() {
    let doc = serde_json::to_value(doorstep_server::http::openapi::document()).unwrap();
    let s = Srv::start(Backend::Sqlite).await;
    let (dev, token) = s.technician("T-DOC", &["appliance_repair"]).await;
    let start = past_window_start(&BusinessZone::shanghai());
    let a = assignment(
        &s.assignment_at("appliance_repair", Some("T-DOC"), start)
            .await,
    );
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let mut v = Walkthrough::new(&pb, &a, &device(&dev), start - Duration::hours(2));
    let good = Ratings {
        quality: 5,
        attitude: 4,
    };
    v.completed(Some(12), good, &mut None);
    let (st, r) = s.push(&token, &dev, &numbered(&v.events, 1)).await;
    assert_eq!(
        (st, r["refused"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{r}"
    );

    let (st, detail) = s
        .get(&format!("/api/visits/{}", v.visit), &s.dispatcher)
        .await;
    assert_eq!(st, 200, "{detail}");
    assert_eq!(detail["state"]["stage"], "closed", "{detail}");
    let schema = &doc["paths"]["/api/visits/{id}"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"];
    let broken = violations(&doc, schema, &detail);
    assert!(
        broken.is_empty(),
        "GET /api/visits/{{id}} against the document: {broken:#?}"
    );
    // The state is described member by member: a state the core never makes is refused.
    let mut forged = detail.clone();
    forged["state"]["stage"] = Value::from("teleported");
    forged["state"]["paid_total"] = Value::from("a lot");
    assert_eq!(violations(&doc, schema, &forged).len(), 2);
}

/// Two Rust types of one name become one component: the second silently
/// describes the first's responses (it happened: two `HistoryEntry`). The
/// server's types and the core's share the document.
#[test]
fn no_two_types_share_a_component_name() {
    let crate_dir = crate::harness::crate_dir();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut clashes = Vec::new();
    let mut files = vec![crate_dir.join("src"), crate_dir.join("../core/src")];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !(line.contains("derive(") && line.contains("ToSchema")) {
                continue;
            }
            let Some(name) = lines[i..].iter().take(8).find_map(|l| {
                let l = l.trim_start().strip_prefix("pub ")?;
                let rest = l
                    .strip_prefix("struct ")
                    .or_else(|| l.strip_prefix("enum "))?;
                Some(
                    rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                        .next()?
                        .to_string(),
                )
            }) else {
                continue;
            };
            let at = format!("{}:{}", path.display(), i + 1);
            if let Some(first) = seen.insert(name.clone(), at.clone()) {
                clashes.push(format!("{name}: {first} and {at}"));
            }
        }
    }
    assert!(seen.len() > 100, "read only {} schema types", seen.len());
    assert!(clashes.is_empty(), "{clashes:#?}");
}
