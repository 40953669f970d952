//! The `doorstep` binary as a user runs it: every example script, refusals
//! (exit 1, the rule's code and message on stderr), broken input (exit 2,
//! naming the line), playbook checks and a run with a custom playbook.
//! See docs/SCRIPTS.md.

use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The workspace root: paths in messages are as a user types them there.
fn root() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .parent()
    .unwrap()
    .to_path_buf()
}

fn doorstep(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run doorstep")
}

/// Runs `doorstep run - <args>` with `script` on standard input.
fn run_stdin(script: &str, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .args(["run", "-"])
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn doorstep");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    child.wait_with_output().expect("wait for doorstep")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn example(name: &str) -> String {
    std::fs::read_to_string(root().join("examples").join(name)).unwrap()
}

fn example_scripts() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}

fn has_chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// The script with the `"expect"` removed from the (1-based) line that refuses with `code`.
fn without_expect(script: &str, code: &str) -> (String, usize) {
    let needle = format!(", \"expect\": \"{code}\"");
    let line = script
        .lines()
        .position(|l| l.contains(&needle))
        .unwrap_or_else(|| panic!("no line expects {code}"))
        + 1;
    (script.replacen(&needle, "", 1), line)
}

#[test]
fn every_example_script_runs_to_a_closed_visit() {
    let scripts = example_scripts();
    assert!(
        scripts.len() >= 6,
        "one example per shipped trade: {scripts:?}"
    );
    for path in scripts {
        let shown = path.strip_prefix(root()).unwrap().display().to_string();
        let out = doorstep(&["run", &shown]);
        assert_eq!(out.status.code(), Some(0), "{shown}: {}", text(&out.stderr));
        let json: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{shown}: output is not JSON: {e}"));
        let view = &json["view"];
        assert!(
            view["outcome"].is_string(),
            "{shown}: no outcome: {}",
            view["outcome"]
        );
        assert_eq!(view["stage"], "closed", "{shown}");
        assert_eq!(view["signed"], true, "{shown}");
        assert!(
            json["events"].as_array().is_some_and(|e| !e.is_empty()),
            "{shown}: no events"
        );
        // Each example shows at least one rule refusing before the allowed path.
        let refused: Vec<&Value> = json["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l.get("refused").is_some())
            .collect();
        assert!(!refused.is_empty(), "{shown}: no expected refusal");
        assert!(
            view["timers"]["callbacks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["reason"] == "second_level"),
            "{shown}: no second-level callback"
        );
    }
}

#[test]
fn view_only_prints_just_the_view() {
    let out = doorstep(&["run", "--view-only", "examples/water_delivery.jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["outcome"], "completed");
    assert_eq!(view["trade"], "water_delivery");
    assert!(view.get("events").is_none());
}

#[test]
fn a_refused_line_exits_1_with_the_rule_and_a_chinese_message() {
    let (script, line) = without_expect(&example("appliance_repair.jsonl"), "kit_incomplete");
    let out = run_stdin(&script, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        out.stdout.is_empty(),
        "no visit output for a refused script"
    );
    let report: Value = serde_json::from_slice(&out.stderr).expect("refusal report as JSON");
    assert_eq!(report["refused"], "kit_incomplete");
    assert_eq!(report["line"], line);
    assert_eq!(report["command"], "depart");
    let message = report["message"].as_str().unwrap();
    assert!(has_chinese(message), "{message}");
    // Names the item by its name, never its id (issue 15).
    assert!(
        message.contains("垫布") && !message.contains("drop_cloth"),
        "names the item: {message}"
    );
}

#[test]
fn lang_en_gives_the_refusal_in_english() {
    let (script, _) = without_expect(&example("water_delivery.jsonl"), "deposit_iou");
    let out = run_stdin(&script, &["--lang", "en"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(report["refused"], "deposit_iou");
    let message = report["message"].as_str().unwrap();
    assert!(!has_chinese(message), "{message}");
    assert!(message.contains("IOU"), "{message}");
}

#[test]
fn a_malformed_json_line_exits_2_naming_the_line() {
    let script = example("property_maintenance.jsonl");
    let mut lines: Vec<String> = script.lines().map(str::to_string).collect();
    let n = lines.iter().position(|l| l.contains("\"depart\"")).unwrap();
    lines[n] = lines[n].replacen("}}", "}", 1);
    let out = run_stdin(&lines.join("\n"), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("line {}", n + 1)), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_misspelt_command_field_exits_2_naming_the_line() {
    let script = example("home_care.jsonl").replacen("\"relation\": ", "\"relationship\": ", 1);
    let line = script
        .lines()
        .position(|l| l.contains("relationship"))
        .unwrap()
        + 1;
    let out = run_stdin(&script, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("line {line}")), "{err}");
    assert!(err.contains("relationship"), "{err}");
}

#[test]
fn an_unknown_script_version_exits_2() {
    let script = example("heating_service.jsonl").replacen(
        "\"doorstep_script\": 1",
        "\"doorstep_script\": 99",
        1,
    );
    let out = run_stdin(&script, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("version 99"), "{err}");
}

#[test]
fn an_expected_refusal_that_does_not_happen_exits_2() {
    let script = example("computer_repair.jsonl").replacen(
        "{\"type\": \"warn_data_risk\"}}",
        "{\"type\": \"warn_data_risk\"}, \"expect\": \"backup_consent_required\"}",
        1,
    );
    let line = script
        .lines()
        .position(|l| l.contains("warn_data_risk"))
        .unwrap()
        + 1;
    let out = run_stdin(&script, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("line {line}")) && err.contains("was accepted"),
        "{err}"
    );
}

#[test]
fn check_playbook_accepts_the_custom_example() {
    let out = doorstep(&["check-playbook", "examples/custom_playbook.toml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(summary.starts_with("ok: appliance_repair v3"), "{summary}");
    assert!(summary.contains("美家家电维修"), "{summary}");
}

#[test]
fn check_playbook_refuses_the_bad_example_naming_file_field_and_problem() {
    let out = doorstep(&["check-playbook", "examples/bad_playbook.toml"]);
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(err.contains("examples/bad_playbook.toml"), "file: {err}");
    assert!(err.contains("knock.interval_seconds"), "field: {err}");
    assert!(err.contains("must be at least 1"), "problem: {err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_script_runs_against_a_custom_playbook() {
    // The appliance example up to the accepted quote, priced from the company's schedule.
    let full = example("appliance_repair.jsonl");
    let mut script = String::new();
    for line in full.lines() {
        script.push_str(line);
        script.push('\n');
        if line.contains("\"accept_quote\"") {
            break;
        }
    }
    let shipped = run_stdin(&script, &["--view-only"]);
    assert_eq!(shipped.status.code(), Some(0), "{}", text(&shipped.stderr));
    let shipped: Value = serde_json::from_slice(&shipped.stdout).unwrap();
    assert_eq!(shipped["quote"]["customer_total"], 3000 + 5000 + 6000);

    let out = run_stdin(
        &script,
        &["--view-only", "--playbook", "examples/custom_playbook.toml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["trade_name"]["zh"], "美家家电维修");
    // 45 visit + 60 labour + the warranty card's 60 (lower than the company's 78).
    assert_eq!(view["quote"]["customer_total"], 4500 + 6000 + 6000);
    assert_eq!(view["quote_accepted"], true);
}

#[test]
fn a_custom_playbook_overrides_the_door_script() {
    let full = example("appliance_repair.jsonl");
    let mut script = String::new();
    for line in full.lines() {
        script.push_str(line);
        script.push('\n');
        if line.contains("\"door_answered\"") {
            break;
        }
    }
    let out = run_stdin(
        &script,
        &["--view-only", "--playbook", "examples/custom_playbook.toml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    let door = view["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "script.at_the_door")
        .expect("the at-the-door script is shown once the door opens");
    assert_eq!(
        door["text"]["zh"],
        "您好!我是美家售后服务的维修师傅王伟,按约定来为您维修家电,这是我的上岗证。请问方便进来吗?"
    );
}

#[test]
fn a_missing_playbook_file_exits_2() {
    let out = doorstep(&[
        "run",
        "--playbook",
        "examples/no_such_playbook.toml",
        "examples/appliance_repair.jsonl",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("examples/no_such_playbook.toml"));
}

/// snake_case of a Rust variant name.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn the_script_docs_list_every_command_and_refusal_code() {
    let docs = std::fs::read_to_string(root().join("docs/SCRIPTS.md")).unwrap();
    let source = std::fs::read_to_string(root().join("core/src/workflow/command.rs")).unwrap();
    let body = &source[source.find("pub enum VisitCommand {").unwrap()..];
    let body = &body[..body.find("\n}\n").unwrap()];
    let commands: Vec<String> = body
        .lines()
        .filter_map(|l| {
            let name = l.strip_prefix("    ")?;
            let first = name.chars().next()?;
            if !first.is_ascii_uppercase() {
                return None;
            }
            let name = name.split([' ', ',', '{']).next()?;
            Some(snake(name))
        })
        .collect();
    assert!(commands.len() > 50, "{commands:?}");
    for c in &commands {
        assert!(
            docs.contains(&format!("| `{c}` |")),
            "docs/SCRIPTS.md does not document the command {c}"
        );
    }
    let errors = std::fs::read_to_string(root().join("core/src/workflow/error.rs")).unwrap();
    let codes = &errors[errors.find("pub fn code(&self)").unwrap()..];
    let codes = &codes[..codes.find("\n    }\n").unwrap()];
    for code in codes.split("=> \"").skip(1) {
        let code = &code[..code.find('"').unwrap()];
        assert!(
            docs.contains(&format!("`{code}`")),
            "docs/SCRIPTS.md does not list the refusal code {code}"
        );
    }
}

/// What a technician does in each example is what the screen offers at that
/// moment: a phone only sends commands its screen offers.
#[test]
fn every_example_command_is_offered_on_screen_when_given() {
    use doorstep_core::script_runner::run_script;
    for path in example_scripts() {
        let script = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = script.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() || line.starts_with("//") {
                continue;
            }
            let v: Value = serde_json::from_str(line).unwrap();
            let Some(kind) = v["command"]["type"].as_str() else {
                continue; // the header
            };
            if v.get("expect").is_some() || kind.ends_with("_assignment") {
                continue; // refusals, and center facts arriving by sync
            }
            let prefix = lines[..i].join("\n");
            let view = run_script(&prefix, None).unwrap().view;
            let offered: Vec<&str> = view
                .next_actions
                .iter()
                .map(|a| a.command.as_str())
                .collect();
            assert!(
                offered.contains(&kind),
                "{}:{}: {kind} is not offered; the screen offers {offered:?}",
                path.display(),
                i + 1
            );
        }
    }
}
