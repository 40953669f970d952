//! Architecture checks run by `cargo test`: no module-level import cycles in
//! the core or the server, every **Enforce** rule of STANDARDS.md mapped in
//! docs/ARCHITECTURE.md to the guard that enforces it, every core module in
//! its module map, and one home for the shared helpers (the serde tag as a
//! string, fen-to-yuan formatting).

#[path = "architecture/module_graph.rs"]
mod module_graph;

use doorstep_e2e::repo_root;
use module_graph::ModuleGraph;
use std::path::Path;

fn assert_acyclic(crate_dir: &str) {
    let graph = ModuleGraph::of_dir(&repo_root().join(crate_dir).join("src"));
    assert!(
        !graph.edges.is_empty(),
        "no module edges found in {crate_dir}/src: is the path right?"
    );
    let cycles = graph.describe_cycles();
    assert!(
        cycles.is_empty(),
        "import cycles between modules of {crate_dir}/src (break each by moving the shared vocabulary to the module that owns it):\n{cycles}"
    );
}

#[test]
fn the_core_has_no_module_import_cycle() {
    assert_acyclic("core");
    // The checker sees the layering it guards (top level, siblings, step files).
    let graph = ModuleGraph::of_dir(&repo_root().join("core/src"));
    for (from, to) in [
        ("workflow", "playbook"),
        ("signoff", "workflow"),
        ("workflow::decide", "workflow::rules"),
        ("workflow::rules::work", "workflow::rules::quote"),
        ("workflow::report", "workflow::state"),
    ] {
        let path = |m: &str| m.split("::").map(str::to_string).collect::<Vec<_>>();
        assert!(
            graph.edges.contains(&(path(from), path(to))),
            "expected the edge {from} → {to} in the core's module graph"
        );
    }
}

#[test]
fn the_server_has_no_module_import_cycle() {
    assert_acyclic("server");
}

/// The modules of a source directory: each `name.rs` (not `lib.rs`,
/// `mod.rs` or `main.rs`) and each folder holding a `mod.rs`.
fn modules_in(dir: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if path.is_dir() {
                path.join("mod.rs").is_file().then_some(name)
            } else {
                let stem = name.strip_suffix(".rs")?;
                (!["lib", "mod", "main"].contains(&stem)).then(|| stem.to_string())
            }
        })
        .collect();
    found.sort();
    found
}

/// The back-quoted names in the first column of the module table under the
/// `## ` heading starting with `heading` (`| module | owns |`).
fn module_table_names(doc: &str, heading: &str) -> Vec<String> {
    let mut names = vec![];
    let mut inside = false;
    for line in doc.lines() {
        if line.starts_with("## ") {
            inside = line.starts_with(heading);
            continue;
        }
        let Some(first) = line.strip_prefix('|').and_then(|l| l.split('|').next()) else {
            continue;
        };
        if inside {
            names.extend(first.split('`').skip(1).step_by(2).map(str::to_string));
        }
    }
    names
}

#[test]
fn the_core_module_map_names_every_module() {
    let root = repo_root();
    let doc = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).unwrap();
    let named = module_table_names(&doc, "## Core");
    let top = modules_in(&root.join("core/src"));
    let workflow = modules_in(&root.join("core/src/workflow"));
    assert!(
        top.contains(&"workflow".to_string()) && workflow.contains(&"rules".to_string()),
        "core/src not where expected: {top:?} {workflow:?}"
    );
    let missing: Vec<String> = top
        .into_iter()
        .chain(workflow.into_iter().map(|m| format!("workflow::{m}")))
        .filter(|m| !named.contains(m))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/ARCHITECTURE.md's core module table (first column, back-quoted) has no row for: {}",
        missing.join(", ")
    );
}

#[test]
fn the_module_table_reader_takes_the_first_column_under_its_heading() {
    let doc = "## Core\n| module | owns |\n|---|---|\n| `ids`, `clock` | ids and `time` |\n\n## Server\n| `app.rs` | state |\n";
    assert_eq!(module_table_names(doc, "## Core"), vec!["ids", "clock"]);
}

mod checker {
    //! The cycle checker itself, on small synthetic crates.
    use super::module_graph::{display, ModuleGraph};

    fn cycles(sources: &[(&str, &str)]) -> Vec<String> {
        ModuleGraph::of_sources(sources)
            .cycles()
            .iter()
            .map(|c| c.iter().map(|m| display(m)).collect::<Vec<_>>().join(" → "))
            .collect()
    }

    #[test]
    fn finds_a_cycle_between_top_level_modules() {
        let found = cycles(&[
            ("lib.rs", "pub mod a; pub mod b; pub mod c;"),
            ("a.rs", "use crate::b::B; pub struct A;"),
            ("b/mod.rs", "mod inner;\n pub struct B;"),
            ("b/inner.rs", "fn f() -> crate::a::A { todo!() }"),
            ("c.rs", "use crate::{a::A, b::B};"),
        ]);
        assert_eq!(found, vec!["a → b → a"]);
    }

    #[test]
    fn finds_a_cycle_between_siblings_through_super_and_braces() {
        let found = cycles(&[
            ("lib.rs", "pub mod w;"),
            ("w/mod.rs", "pub mod x; pub mod y; pub mod z;"),
            ("w/x.rs", "use super::{y::Y, z};"),
            ("w/y.rs", "pub struct Y; use super::super::w::z::Z;"),
            ("w/z.rs", "pub struct Z; // use super::x::X; (a comment is no use)\n fn g() { let _ = \"super::x::X\"; self::super::x::f(); }"),
        ]);
        assert_eq!(found, vec!["w::x → w::z → w::x"]);
    }

    #[test]
    fn follows_re_exports_and_ignores_parents_and_tests() {
        let sources = [
            ("lib.rs", "pub mod a; pub mod b; pub use a::A;"),
            (
                "a.rs",
                "pub struct A; #[cfg(test)] mod tests { use super::*; use crate::A; }",
            ),
            ("b.rs", "use crate::A;"),
        ];
        let graph = ModuleGraph::of_sources(&sources);
        let edges: Vec<String> = graph
            .edges
            .iter()
            .map(|(f, t)| format!("{} → {}", display(f), display(t)))
            .collect();
        assert_eq!(edges, vec!["b → a"]);
        assert!(graph.cycles().is_empty());
        // Closing the loop through the re-export is a cycle.
        let found = cycles(&[
            ("lib.rs", "pub mod a; pub mod b; pub use a::A;"),
            ("a.rs", "pub struct A; use crate::b::g;"),
            ("b.rs", "pub fn g(_: crate::A) {}"),
        ]);
        assert_eq!(found, vec!["a → b → a"]);
    }

    #[test]
    fn an_acyclic_tree_passes() {
        let found = cycles(&[
            ("lib.rs", "pub mod a; pub mod b; pub use b::B;"),
            ("a.rs", "use crate::B; use std::fmt; use serde::Serialize;"),
            (
                "b.rs",
                "pub struct B; fn f(s: &str) -> &'static str { 'x'; \"crate::a\" }",
            ),
        ]);
        assert!(found.is_empty(), "{found:?}");
    }
}

mod standards {
    //! Every **Enforce** rule of STANDARDS.md is mapped in docs/ARCHITECTURE.md
    //! ("Where each STANDARDS rule lives") to a guard that exists and cites it.
    use super::repo_root;
    use std::path::PathBuf;

    /// One Enforce rule: its section (`2.11`) and its wording.
    #[derive(Debug)]
    pub struct EnforceRule {
        pub section: String,
        pub text: String,
    }

    /// One row of the table in ARCHITECTURE.md.
    #[derive(Debug)]
    pub struct Row {
        pub section: String,
        pub rule: String,
        pub path: String,
        pub guards: Vec<String>,
    }

    /// STANDARDS.md sits in `shared/` beside the repository (`../shared`
    /// from the root; a worktree may be nested deeper, so look upwards).
    fn standards_path() -> PathBuf {
        let root = repo_root();
        root.ancestors()
            .skip(1)
            .map(|dir| dir.join("shared/STANDARDS.md"))
            .find(|p| p.is_file())
            .unwrap_or_else(|| {
                panic!(
                    "STANDARDS.md not found in shared/ next to {} or above it",
                    root.display()
                )
            })
    }

    pub fn normalize(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The Enforce rules: in each numbered item of each `## N.` section, the
    /// words after every `**Enforce**:` up to the end of the clause (a full
    /// stop, a semicolon, or the closing parenthesis the marker sat in).
    pub fn enforce_rules(standards: &str) -> Vec<EnforceRule> {
        let mut items: Vec<(String, String)> = vec![];
        let mut chapter = String::new();
        for line in standards.lines() {
            if let Some(rest) = line.strip_prefix("## ") {
                chapter = rest.split('.').next().unwrap_or("").trim().to_string();
                items.push((String::new(), String::new()));
                continue;
            }
            let trimmed = line.trim_start();
            let number: String = trimmed.chars().take_while(char::is_ascii_digit).collect();
            if !number.is_empty() && trimmed[number.len()..].starts_with(". ") && line == trimmed {
                items.push((format!("{chapter}.{number}"), trimmed.to_string()));
            } else if let Some(last) = items.last_mut() {
                last.1.push(' ');
                last.1.push_str(trimmed);
            }
        }
        let mut rules = vec![];
        for (section, text) in items.iter().filter(|(s, _)| !s.is_empty()) {
            let text = normalize(text);
            let lower = text.to_lowercase();
            let mut from = 0;
            while let Some(at) = lower[from..].find("**enforce**:") {
                let start = from + at + "**enforce**:".len();
                let clause = clause_at(&text[start..]);
                rules.push(EnforceRule {
                    section: section.clone(),
                    text: normalize(clause),
                });
                from = start;
            }
        }
        rules
    }

    /// The clause that starts `text`.
    fn clause_at(text: &str) -> &str {
        let mut depth = 0i32;
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        for (k, &(i, c)) in chars.iter().enumerate() {
            let next = chars.get(k + 1).map(|&(_, n)| n);
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => return &text[..i],
                ')' => depth -= 1,
                ';' if depth == 0 => return &text[..i],
                '.' if depth == 0 && next.is_none_or(char::is_whitespace) => return &text[..i],
                _ => {}
            }
        }
        text
    }

    /// The rows of the table under the heading naming `title`.
    pub fn table_rows(doc: &str, title: &str) -> Vec<Row> {
        let mut rows = vec![];
        let mut inside = false;
        for line in doc.lines() {
            if line.starts_with('#') {
                inside = line.contains(title);
                continue;
            }
            if !inside || !line.starts_with("| §") {
                continue;
            }
            let cells: Vec<String> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect();
            assert_eq!(cells.len(), 4, "a table row needs 4 cells: {line}");
            let strip = |s: &str| s.trim().trim_matches('`').to_string();
            rows.push(Row {
                section: cells[0].trim_start_matches('§').to_string(),
                rule: normalize(&cells[1]),
                path: strip(&cells[2]),
                guards: cells[3].split(',').map(strip).collect(),
            });
        }
        rows
    }

    /// The `///` doc lines right above `fn name` in `source`, if it is defined there.
    pub fn guard_doc(source: &str, name: &str) -> Option<String> {
        let lines: Vec<&str> = source.lines().collect();
        let at = lines.iter().position(|l| {
            let l = l.trim_start();
            let after = l
                .find(&format!("fn {name}"))
                .map(|i| &l[i + 3 + name.len()..]);
            after.is_some_and(|rest| rest.starts_with('(') || rest.starts_with('<'))
                && !l.starts_with("//")
        })?;
        let mut doc = vec![];
        for l in lines[..at].iter().rev() {
            let l = l.trim();
            if let Some(text) = l.strip_prefix("///") {
                doc.push(text.trim().to_string());
            } else if l.starts_with("#[") {
                continue;
            } else {
                break;
            }
        }
        doc.reverse();
        Some(doc.join(" "))
    }

    /// `doc` cites `§section` (not a longer number: §2.1 is not §2.12).
    pub fn cites(doc: &str, section: &str) -> bool {
        let mark = format!("§{section}");
        doc.match_indices(&mark).any(|(i, _)| {
            !doc[i + mark.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
    }

    #[test]
    fn every_enforce_rule_has_a_guard_that_cites_it() {
        let standards = std::fs::read_to_string(standards_path()).unwrap();
        let root = repo_root();
        let doc = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).unwrap();
        let rules = enforce_rules(&standards);
        assert!(
            rules.len() >= 10,
            "found only {} Enforce rules in STANDARDS.md: {rules:?}",
            rules.len()
        );
        let rows = table_rows(&doc, "Where each STANDARDS rule lives");
        let mut problems = vec![];
        for rule in &rules {
            if !rows
                .iter()
                .any(|r| r.section == rule.section && r.rule == rule.text)
            {
                problems.push(format!(
                    "§{} \"{}\" has no row in ARCHITECTURE.md's table",
                    rule.section, rule.text
                ));
            }
        }
        for row in &rows {
            let path = root.join(&row.path);
            let Ok(source) = std::fs::read_to_string(&path) else {
                problems.push(format!("§{}: {} does not exist", row.section, row.path));
                continue;
            };
            for guard in &row.guards {
                match guard_doc(&source, guard) {
                    None => {
                        problems.push(format!("§{}: no fn {guard} in {}", row.section, row.path))
                    }
                    Some(doc) if !cites(&doc, &row.section) => problems.push(format!(
                        "§{}: the doc comment of {guard} in {} does not cite §{}",
                        row.section, row.path, row.section
                    )),
                    Some(_) => {}
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn the_standards_parser_reads_markers_clauses_and_sections() {
        let text = "# T\n\n## 2. Visit\n\n1. **Receive.** Fields. **Enforce**: not\n   confirmed until waived.\n\
                    12. **Quote.** Rules (**enforce**: a (b) c) / x; **enforce**: lower applies; more.\n\
                    ## 3. Center\n- no rule\n";
        let rules = enforce_rules(text);
        let got: Vec<(String, String)> = rules.into_iter().map(|r| (r.section, r.text)).collect();
        assert_eq!(
            got,
            vec![
                ("2.1".to_string(), "not confirmed until waived".to_string()),
                ("2.12".to_string(), "a (b) c".to_string()),
                ("2.12".to_string(), "lower applies".to_string()),
            ]
        );
        assert!(cites("STANDARDS §2.1 (x)", "2.1"));
        assert!(!cites("STANDARDS §2.12 (x)", "2.1"));
        let source =
            "/// STANDARDS §2.4: kit.\n#[inline]\nfn require_kit(x: u8) {}\nfn other() {}\n";
        assert_eq!(
            guard_doc(source, "require_kit").as_deref(),
            Some("STANDARDS §2.4: kit.")
        );
        assert_eq!(guard_doc(source, "other").as_deref(), Some(""));
        assert_eq!(guard_doc(source, "require"), None);
    }
}

mod one_home {
    //! One home for shared helpers: the serde tag as a string
    //! (`core/src/wire.rs`), fen-to-yuan formatting (`core/src/money.rs`),
    //! and the times the phone shows (`core/src/business_time.rs`, reached
    //! by the shells through the FFI's `LocalTimes`).
    use super::repo_root;
    use std::path::{Path, PathBuf};

    /// Source files under the repository with one of `extensions`, skipping
    /// build output, dependencies and generated bindings.
    fn sources(extensions: &[&str]) -> Vec<PathBuf> {
        fn walk(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().to_string();
                if path.is_dir() {
                    let skip = name.starts_with('.')
                        || ["target", "node_modules", "build", "generated", "uniffi"]
                            .contains(&name.as_str());
                    if !skip {
                        walk(&path, extensions, out);
                    }
                } else if extensions.iter().any(|e| name.ends_with(&format!(".{e}"))) {
                    out.push(path);
                }
            }
        }
        let mut out = vec![];
        walk(&repo_root(), extensions, &mut out);
        out.sort();
        out
    }

    fn relative(path: &Path) -> String {
        path.strip_prefix(repo_root())
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
    }

    /// Lines (1-based) where `starts` occurs with `then` within the next `window` lines.
    fn pattern_at(text: &str, starts: &[&str], then: &[&str], window: usize) -> Vec<usize> {
        let lines: Vec<&str> = text.lines().collect();
        let mut found = vec![];
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if !starts.iter().any(|s| code.contains(s)) {
                continue;
            }
            let end = (i + window + 1).min(lines.len());
            let near = lines[i..end].join("\n");
            if then.iter().any(|t| near.contains(t)) {
                found.push(i + 1);
            }
        }
        found
    }

    /// A fen-to-yuan formatting: dividing by 100 and taking the rest of 100
    /// together, or printing two decimals after a division by 100.
    fn yuan_formatting(text: &str) -> Vec<usize> {
        let mut at = pattern_at(text, &["/ 100", "/100"], &["% 100", "%100"], 3);
        at.extend(pattern_at(
            text,
            &["{:02}", "%02d", "padStart(2"],
            &["/ 100", "/100"],
            3,
        ));
        at.sort();
        at.dedup();
        at
    }

    /// A "serde tag as a string" helper: a value serialised to JSON and read
    /// back as a string (or its `type` field), or another `wire_name`.
    fn serde_tag_helper(text: &str) -> Vec<usize> {
        let mut at = pattern_at(
            text,
            &["serde_json::to_value("],
            &[".as_str()", "Value::String("],
            4,
        );
        at.extend(pattern_at(
            text,
            &[
                "fn wire_name",
                "fun wireName",
                "func wireName",
                "function wireName",
            ],
            &[""],
            0,
        ));
        at.sort();
        at.dedup();
        at
    }

    /// A date or time formatted by hand: a platform formatter (Kotlin's
    /// `DateTimeFormatter`/`SimpleDateFormat`, Swift's `DateFormatter`/
    /// `.formatted(`) instead of the core's `LocalTimes`.
    fn time_formatting(text: &str) -> Vec<usize> {
        pattern_at(
            text,
            &[
                "DateTimeFormatter",
                "SimpleDateFormat",
                "DateFormatter(",
                ".formatted(",
            ],
            &[""],
            0,
        )
    }

    /// A time formatted by the browser: `toLocale…String` or
    /// `Intl.DateTimeFormat` (the console reads the server's `…_text`,
    /// formatted by the core).
    fn browser_time_formatting(text: &str) -> Vec<usize> {
        pattern_at(
            text,
            &[
                "toLocaleString(",
                "toLocaleDateString(",
                "toLocaleTimeString(",
                "Intl.DateTimeFormat",
            ],
            &[""],
            0,
        )
    }

    fn copies(extensions: &[&str], home: &str, find: fn(&str) -> Vec<usize>) -> Vec<String> {
        sources(extensions)
            .into_iter()
            .filter(|p| relative(p) != home && !relative(p).starts_with("tests/tests/architecture"))
            .flat_map(|p| {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                find(&text)
                    .into_iter()
                    .map(move |line| format!("{}:{line}", relative(&p)))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn the_serde_tag_helper_lives_only_in_core_wire() {
        let found = copies(
            &["rs", "kt", "swift", "js"],
            "core/src/wire.rs",
            serde_tag_helper,
        );
        assert!(
            found.is_empty(),
            "the serde tag as a string has one home, doorstep_core::wire::wire_name; other copies:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn rust_formats_fen_as_yuan_only_in_core_money() {
        let found = copies(&["rs"], "core/src/money.rs", yuan_formatting);
        assert!(
            found.is_empty(),
            "fen-to-yuan formatting has one home, core/src/money.rs; other copies:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn the_console_and_shells_format_fen_as_yuan_only_through_the_core() {
        let found = copies(&["kt", "swift", "js"], "core/src/money.rs", yuan_formatting);
        assert!(
            found.is_empty(),
            "fen-to-yuan formatting belongs to the core (core/src/money.rs); copies in the console and shells:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn the_shells_show_times_only_as_the_core_formats_them() {
        let found = copies(
            &["kt", "swift"],
            "core/src/business_time.rs",
            time_formatting,
        );
        assert!(
            found.is_empty(),
            "the phone shows times as the core formats them (LocalTimes, core/src/business_time.rs), \
             in the business time zone; platform formatting in the shells:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn the_console_shows_times_only_as_the_core_formats_them() {
        // day.js is the board's calendar arithmetic in the business zone (a
        // day's bounds, the axis's hours, a typed window), not a display of
        // the server's times.
        let found = copies(
            &["js"],
            "server/src/console/day.js",
            browser_time_formatting,
        )
        .into_iter()
        .filter(|at| at.starts_with("server/src/console/") && !at.contains("/vendor/"))
        .collect::<Vec<_>>();
        assert!(
            found.is_empty(),
            "the console shows the times the server reads for it (Doorstep-Display-Times: \
             the core's BusinessZone::annotate_times); the browser formats none:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn the_scanners_recognise_the_copies() {
        assert_eq!(
            time_formatting(
                "val hm = DateTimeFormatter.ofPattern(\"HH:mm\")\nval t = times.clockTime(at)"
            ),
            vec![1]
        );
        assert_eq!(
            time_formatting("Text(w.start.formatted(date: .omitted, time: .shortened))"),
            vec![1]
        );
        assert!(time_formatting("Text(model.times.clockWindow(window: w).pick(lang))").is_empty());
        assert_eq!(
            browser_time_formatting(
                "const t = (when) => new Date(when).toLocaleString(\"zh-CN\");\nconst u = c.time(v, \"at\");"
            ),
            vec![1]
        );
        assert!(browser_time_formatting("cell(tr, time(v, \"closed_at\"));").is_empty());
        let rust = "fn yuan(minor: i64) -> String {\n    format!(\n        \"{}.{:02}\",\n        minor / 100,\n        minor % 100\n    )\n}\n";
        assert_eq!(yuan_formatting(rust), vec![3, 4]);
        let js =
            "return sign + Math.floor(abs / 100) + \".\" + String(abs % 100).padStart(2, \"0\");";
        assert_eq!(yuan_formatting(js), vec![1]);
        assert!(yuan_formatting("let pct = 100.0 * a / b;\nlet x = n / 100;").is_empty());
        let tag = "fn tag<T: Serialize>(v: &T) -> String {\n    serde_json::to_value(v)\n        .ok()\n        .and_then(|v| v.as_str().map(str::to_string))\n";
        assert_eq!(serde_tag_helper(tag), vec![2]);
        assert_eq!(
            serde_tag_helper("pub fn wire_name<T>(v: &T) -> String {"),
            vec![1]
        );
        assert!(serde_tag_helper("let v = serde_json::to_value(x)?;\ncanonical(v)").is_empty());
    }
}
