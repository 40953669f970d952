//! Playbooks: the shipped ones validate; a company's own load from TOML and
//! JSON; invalid ones are refused naming the file, the field and the problem.

use doorstep_core::playbook::{Playbook, PlaybookError, SHIPPED, SHIPPED_JSON};
use serde_json::Value;

const APPLIANCE: &str = SHIPPED[0].1;

/// The shipped appliance playbook as a TOML document to edit.
fn toml_doc() -> toml::Table {
    toml::from_str(APPLIANCE).unwrap()
}

/// The shipped appliance playbook as JSON to edit.
fn json_doc() -> Value {
    serde_json::to_value(Playbook::shipped_by_id("appliance_repair").unwrap()).unwrap()
}

fn load_toml(doc: &toml::Table) -> Result<Playbook, PlaybookError> {
    Playbook::from_toml("acme.toml", &toml::to_string(doc).unwrap())
}

fn load_json(doc: &Value) -> Result<Playbook, PlaybookError> {
    Playbook::from_json("acme.json", &serde_json::to_string_pretty(doc).unwrap())
}

/// The refusal names the file, the field (a dotted path containing `field`)
/// and a problem containing each of `words`.
fn refused(result: Result<Playbook, PlaybookError>, file: &str, field: &str, words: &[&str]) {
    let e = result.expect_err("the playbook was accepted");
    assert_eq!(e.source_name, file, "{e}");
    assert!(
        e.field.contains(field),
        "field {:?} does not name {field:?}: {e}",
        e.field
    );
    for w in words {
        assert!(
            e.problem.to_lowercase().contains(&w.to_lowercase()),
            "problem {:?} does not say {w:?}",
            e.problem
        );
    }
    let shown = e.to_string();
    assert!(
        shown.contains(file) && shown.contains(&e.field) && shown.contains(&e.problem),
        "{shown}"
    );
}

fn table<'a>(doc: &'a mut toml::Table, key: &str) -> &'a mut toml::Table {
    doc.get_mut(key).unwrap().as_table_mut().unwrap()
}

#[test]
fn every_shipped_playbook_validates() {
    let shipped = Playbook::shipped();
    assert_eq!(shipped.len(), 6);
    let mut ids: Vec<&str> = shipped.iter().map(|p| p.id.as_str()).collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "appliance_repair",
            "computer_repair",
            "heating_service",
            "home_care",
            "property_maintenance",
            "water_delivery"
        ]
    );
    for (name, text) in SHIPPED {
        let pb = Playbook::from_toml(name, text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(format!("{}.toml", pb.id), name);
        // Each also survives JSON, the other accepted format.
        let json = serde_json::to_string(&pb).unwrap();
        assert_eq!(Playbook::from_json(name, &json).unwrap(), pb);
        // Standards the shipped defaults all carry.
        assert_eq!(
            (
                pb.timing.early_arrival_min_minutes,
                pb.timing.early_arrival_max_minutes
            ),
            (5, 10)
        );
        assert_eq!(pb.timing.late_serious_minutes, 15);
        assert!(pb.callbacks.monthly_sample_min_percent >= 10);
        assert!(pb.callbacks.monthly_sample_max_percent <= 20);
        assert_eq!(pb.callbacks.remote_guidance_hours, 2);
        assert_eq!(pb.callbacks.untested_repair_hours, 2);
        assert_eq!(pb.callbacks.uncertain_fix_hours, 3);
        assert!(!pb.company.service_number.trim().is_empty());
    }
    let property = Playbook::shipped_by_id("property_maintenance").unwrap();
    assert_eq!(property.knock.interval_seconds, 10);
    assert!(
        Playbook::shipped_by_id("water_delivery")
            .unwrap()
            .rules
            .no_deposit_iou
    );
    assert!(
        Playbook::shipped_by_id("computer_repair")
            .unwrap()
            .rules
            .data_risk_consent
    );
}

/// The shipped playbooks are written in TOML and compiled in as JSON made
/// from it at build time (build.rs): both forms say the same, trade by trade
/// and in the same order, and the JSON is what `Playbook::shipped` serves.
#[test]
fn the_shipped_json_playbooks_are_their_toml_sources() {
    assert_eq!(SHIPPED_JSON.len(), SHIPPED.len());
    for ((json_name, json), (toml_name, toml)) in SHIPPED_JSON.iter().zip(SHIPPED) {
        assert_eq!(
            json_name.strip_suffix(".json"),
            toml_name.strip_suffix(".toml")
        );
        let from_toml = Playbook::from_toml(toml_name, toml).unwrap_or_else(|e| panic!("{e}"));
        let from_json = Playbook::from_json(json_name, json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(from_json, from_toml, "{json_name} differs from {toml_name}");
        // Value for value, not just the same playbook once defaults are in.
        let toml_value =
            serde_json::to_value(toml::from_str::<toml::Table>(toml).unwrap()).unwrap();
        let json_value: Value = serde_json::from_str(json).unwrap();
        assert_eq!(
            json_value, toml_value,
            "{json_name} differs from {toml_name}"
        );
    }
    let served: Vec<&Playbook> = Playbook::shipped().iter().collect();
    let written: Vec<Playbook> = SHIPPED
        .iter()
        .map(|(name, text)| Playbook::from_toml(name, text).unwrap())
        .collect();
    assert_eq!(served, written.iter().collect::<Vec<_>>());
}

#[test]
fn a_custom_playbook_loads_from_toml_and_from_json() {
    let mut doc = toml_doc();
    doc.insert("version".into(), 7.into());
    table(&mut doc, "company").insert("service_number".into(), "400-123-0000".into());
    table(&mut doc, "knock").insert("interval_seconds".into(), 45.into());
    let pb = load_toml(&doc).unwrap();
    assert_eq!((pb.version, pb.knock.interval_seconds), (7, 45));
    assert_eq!(pb.company.service_number, "400-123-0000");

    let mut doc = json_doc();
    doc["company"]["name"]["en"] = "Acme Appliance Care".into();
    doc["company"]["name"]["zh"] = "艾克美家电".into();
    doc["scripts"] = serde_json::json!({"farewell": {"en": "Thanks from {company}: {service_number}.", "zh": "{company}感谢您:{service_number}。"}});
    let pb = load_json(&doc).unwrap();
    assert_eq!(pb.company.name.en, "Acme Appliance Care");
    assert_eq!(pb.scripts.len(), 1);

    // And from files, the format chosen by extension.
    let dir = std::env::temp_dir().join(format!("doorstep-playbooks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml_path = dir.join("acme.toml");
    std::fs::write(&toml_path, APPLIANCE).unwrap();
    assert_eq!(
        Playbook::from_path(&toml_path).unwrap(),
        Playbook::shipped_by_id("appliance_repair").unwrap()
    );
    let json_path = dir.join("acme.json");
    std::fs::write(&json_path, serde_json::to_string(&doc).unwrap()).unwrap();
    assert_eq!(Playbook::from_path(&json_path).unwrap(), pb);
    let yaml = dir.join("acme.yaml");
    std::fs::write(&yaml, "id: x").unwrap();
    let e = Playbook::from_path(&yaml).unwrap_err();
    assert!(
        e.source_name.ends_with("acme.yaml") && e.problem.contains(".toml"),
        "{e}"
    );
    let missing = dir.join("missing.toml");
    let e = Playbook::from_path(&missing).unwrap_err();
    assert!(
        e.source_name.ends_with("missing.toml") && e.problem.contains("cannot read"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_unknown_step_is_refused() {
    let mut doc = toml_doc();
    let steps = doc.get_mut("steps").unwrap().as_array_mut().unwrap();
    steps.insert(3, "dance".into());
    refused(load_toml(&doc), "acme.toml", "steps[3]", &["dance"]);

    let mut doc = json_doc();
    doc["steps"]
        .as_array_mut()
        .unwrap()
        .insert(3, "dance".into());
    refused(load_json(&doc), "acme.json", "steps[3]", &["dance"]);

    // In a hand-written file (multi-line list), a typo is located too.
    let typo = APPLIANCE.replace("\"knock\",\n", "\"knok\",\n");
    assert_ne!(typo, APPLIANCE);
    refused(
        Playbook::from_toml("acme.toml", &typo),
        "acme.toml",
        "steps[7]",
        &["knok", "line 6"],
    );
    // And an unknown value elsewhere names its field.
    let typo = APPLIANCE.replace("kind = \"labour\"", "kind = \"labor\"");
    refused(
        Playbook::from_toml("acme.toml", &typo),
        "acme.toml",
        "fees[1].kind",
        &["labor"],
    );
}

#[test]
fn a_negative_duration_is_refused() {
    let mut doc = toml_doc();
    table(&mut doc, "timing").insert("late_serious_minutes".into(), (-15).into());
    refused(
        load_toml(&doc),
        "acme.toml",
        "timing.late_serious_minutes",
        &["negative", "-15"],
    );

    let mut doc = json_doc();
    doc["knock"]["interval_seconds"] = (-10).into();
    refused(
        load_json(&doc),
        "acme.json",
        "knock.interval_seconds",
        &["negative"],
    );

    let mut doc = json_doc();
    doc["callbacks"]["untested_repair_hours"] = (-2).into();
    refused(
        load_json(&doc),
        "acme.json",
        "callbacks.untested_repair_hours",
        &["negative"],
    );
}

#[test]
fn duplicate_ids_are_refused_in_kit_fees_and_steps() {
    let mut doc = json_doc();
    let first = doc["kit"][0].clone();
    doc["kit"].as_array_mut().unwrap().push(first);
    refused(
        load_json(&doc),
        "acme.json",
        "kit[",
        &["duplicate", "tools"],
    );

    let mut doc = json_doc();
    let fee = doc["fees"][1].clone();
    doc["fees"].as_array_mut().unwrap().push(fee);
    refused(
        load_json(&doc),
        "acme.json",
        "fees[",
        &["duplicate", "labour_basic"],
    );

    let mut doc = toml_doc();
    let steps = doc.get_mut("steps").unwrap().as_array_mut().unwrap();
    steps.insert(1, "receive".into());
    refused(
        load_toml(&doc),
        "acme.toml",
        "steps[1]",
        &["duplicate", "receive"],
    );

    let mut doc = json_doc();
    let item = doc["appearance"][0].clone();
    doc["appearance"].as_array_mut().unwrap().push(item);
    refused(load_json(&doc), "acme.json", "appearance[", &["duplicate"]);
}

#[test]
fn a_missing_mandatory_section_is_refused() {
    for section in ["knock", "timing", "callbacks", "rules", "company", "fees"] {
        let mut doc = toml_doc();
        doc.remove(section).unwrap();
        let e = load_toml(&doc).unwrap_err();
        assert_eq!(e.field, section, "{e}");
        refused(Err(e), "acme.toml", section, &["missing"]);

        let mut doc = json_doc();
        doc.as_object_mut().unwrap().remove(section).unwrap();
        let e = load_json(&doc).unwrap_err();
        assert_eq!(e.field, section, "{e}");
        refused(Err(e), "acme.json", section, &["missing"]);
    }
    // A missing field inside a section names the section and the field.
    let mut doc = toml_doc();
    table(&mut doc, "timing")
        .remove("geofence_radius_m")
        .unwrap();
    refused(
        load_toml(&doc),
        "acme.toml",
        "timing.geofence_radius_m",
        &["missing"],
    );
    let mut doc = json_doc();
    doc["timing"]
        .as_object_mut()
        .unwrap()
        .remove("geofence_radius_m")
        .unwrap();
    refused(
        load_json(&doc),
        "acme.json",
        "timing.geofence_radius_m",
        &["missing"],
    );
    // A mandatory step missing from the list.
    let mut doc = json_doc();
    doc["steps"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s != "sign_off");
    refused(
        load_json(&doc),
        "acme.json",
        "steps",
        &["missing", "sign_off"],
    );
}

#[test]
fn steps_out_of_the_standards_order_are_refused() {
    let mut doc = toml_doc();
    let steps = doc.get_mut("steps").unwrap().as_array_mut().unwrap();
    let knock = steps
        .iter()
        .position(|s| s.as_str() == Some("knock"))
        .unwrap();
    steps.swap(knock, knock + 1); // enter before knock
    refused(load_toml(&doc), "acme.toml", "steps[", &["order", "knock"]);
}

#[test]
fn an_early_arrival_minimum_above_the_maximum_is_refused() {
    let mut doc = toml_doc();
    table(&mut doc, "timing").insert("early_arrival_min_minutes".into(), 12.into());
    refused(
        load_toml(&doc),
        "acme.toml",
        "timing.early_arrival_min_minutes",
        &["12", "early_arrival_max_minutes"],
    );
}

#[test]
fn a_monthly_sample_range_beyond_100_percent_is_refused() {
    let mut doc = json_doc();
    doc["callbacks"]["monthly_sample_max_percent"] = 120.into();
    refused(
        load_json(&doc),
        "acme.json",
        "callbacks.monthly_sample_max_percent",
        &["100"],
    );
    let mut doc = json_doc();
    doc["callbacks"]["monthly_sample_min_percent"] = 30.into();
    refused(
        load_json(&doc),
        "acme.json",
        "callbacks.monthly_sample",
        &["min <= max"],
    );
}

#[test]
fn an_unknown_field_is_refused() {
    let mut doc = toml_doc();
    table(&mut doc, "timing").insert("coffee_break_minutes".into(), 10.into());
    refused(
        load_toml(&doc),
        "acme.toml",
        "timing.coffee_break_minutes",
        &["unknown field"],
    );

    let mut doc = toml_doc();
    doc.insert("colour".into(), "blue".into());
    refused(load_toml(&doc), "acme.toml", "colour", &["unknown"]);

    let mut doc = json_doc();
    doc["kit"][2]["weight_kg"] = 1.into();
    refused(
        load_json(&doc),
        "acme.json",
        "kit[2].weight_kg",
        &["unknown field"],
    );
    let extra = APPLIANCE.replace("company = {", "company = { phone = \"138\", ");
    refused(
        Playbook::from_toml("acme.toml", &extra),
        "acme.toml",
        "company.phone",
        &["unknown field"],
    );
}

#[test]
fn other_invalid_playbooks_name_field_and_problem() {
    let mut doc = json_doc();
    doc["fees"][0]["price"] = (-100).into();
    refused(load_json(&doc), "acme.json", "fees[0].price", &["negative"]);

    let mut doc = json_doc();
    doc["company"]["service_number"] = " ".into();
    refused(load_json(&doc), "acme.json", "company.service_number", &[]);

    let mut doc = json_doc();
    doc["currency"] = "yuan".into();
    refused(load_json(&doc), "acme.json", "currency", &["ISO 4217"]);

    // Syntax errors name the file and where.
    let e = Playbook::from_toml("broken.toml", "id = \"x\"\nsteps = [").unwrap_err();
    assert_eq!(e.source_name, "broken.toml");
    assert!(e.problem.contains("line 2"), "{e}");
    let text = serde_json::to_string(&json_doc())
        .unwrap()
        .replace("\"rounds\":2", "\"rounds\":\"two\"");
    refused(
        Playbook::from_json("acme.json", &text),
        "acme.json",
        "knock.rounds",
        &["invalid type"],
    );
}
