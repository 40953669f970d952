//! The shells' Chinese, checked as the core's (`core/tests/texts_zh.rs`) and
//! the console's (`console-tests/zh-walk.test.js`) are: every string literal
//! of the technician UI (Compose), the JVM shell, the iOS app and the FFI
//! (whose refusals the shells show as they are) that holds
//! Chinese uses full-width punctuation beside it — `登录，服务器` and
//! `金额（元）`, never `登录,服务器` or `金额(元)`. The Kotlin and Swift
//! sources cannot all be compiled here (no Android SDK, no Swift), so this
//! reads them as text.

use doorstep_e2e::repo_root;
use std::path::{Path, PathBuf};

/// The files whose strings a technician reads.
const SOURCES: &[&str] = &[
    "android/technician-ui/src/main/kotlin/app/doorstep/ui",
    "android/core-jvm/src/main/kotlin/app/doorstep/shell",
    "android/app/src/main",
    "ios/DoorstepApp/DoorstepApp",
    "ios/DoorstepCore/Sources/DoorstepCore/Doorstep.swift",
    // The FFI's own refusals, which the shells show as they are.
    "bindings/src",
];

fn files_under(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for e in entries {
            files_under(&e, out);
        }
    } else if matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("kt" | "swift" | "strings" | "xml" | "rs")
    ) {
        out.push(path.to_path_buf());
    }
}

/// The texts of an Android resource file: each `<string …>text</string>`.
fn resource_strings(source: &str) -> Vec<(usize, String)> {
    source
        .lines()
        .enumerate()
        .filter_map(|(n, line)| {
            let open = line.find("<string ")?;
            let start = open + line[open..].find('>')? + 1;
            let end = line.find("</string>")?;
            Some((n + 1, line[start..end].to_string()))
        })
        .collect()
}

/// The double-quoted string literals of a Kotlin or Swift source (and of a
/// `.strings` table), with their line numbers; comments are skipped.
fn string_literals(source: &str) -> Vec<(usize, String)> {
    let mut out = vec![];
    for (n, line) in source.lines().enumerate() {
        let code = match line.trim_start() {
            l if l.starts_with("//") || l.starts_with('*') || l.starts_with("/*") => continue,
            l => l,
        };
        let mut chars = code.chars();
        let mut current: Option<String> = None;
        while let Some(c) = chars.next() {
            match (&mut current, c) {
                (None, '"') => current = Some(String::new()),
                (None, '/') if code.contains("//") && chars.clone().next() == Some('/') => break,
                (None, _) => {}
                (Some(_), '\\') => {
                    chars.next();
                }
                (Some(s), '"') => {
                    out.push((n + 1, std::mem::take(s)));
                    current = None;
                }
                (Some(s), c) => s.push(c),
            }
        }
    }
    out
}

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c)
}

/// ASCII punctuation touching a Chinese character, as the console's check
/// reads it: `字,` `字:` `字(` or `,字` `(字` ….
fn ascii_punctuation_beside_chinese(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = vec![];
    for pair in chars.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if (is_cjk(a) && ":;,?!()".contains(b)) || (":;,?!(".contains(a) && is_cjk(b)) {
            found.push(format!("{a}{b}"));
        }
    }
    found
}

#[test]
fn the_shells_chinese_uses_full_width_punctuation() {
    let root = repo_root();
    let mut files = vec![];
    for s in SOURCES {
        files_under(&root.join(s), &mut files);
    }
    assert!(
        files.len() >= 8,
        "the shells' sources moved? found only {files:?}"
    );
    let mut chinese = 0;
    let mut problems = vec![];
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        let texts = if file.extension().is_some_and(|e| e == "xml") {
            resource_strings(&source)
        } else {
            string_literals(&source)
        };
        for (line, text) in texts {
            if !text.chars().any(is_cjk) {
                continue;
            }
            chinese += 1;
            for p in ascii_punctuation_beside_chinese(&text) {
                problems.push(format!(
                    "{}:{line}: {p:?} in {text:?}",
                    file.strip_prefix(&root).unwrap().display()
                ));
            }
        }
    }
    assert!(
        chinese > 100,
        "only {chinese} Chinese strings found: is the scan right?"
    );
    assert!(
        problems.is_empty(),
        "ASCII punctuation beside Chinese (use ，：；？！（）):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_catches_ascii_punctuation_beside_chinese() {
    let literals = string_literals(
        r#"val a = "登录,服务器" // "不算,这个"
    val b = "金额（元）" + "离线:记录" + "a, b""#,
    );
    let texts: Vec<&str> = literals.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(texts, ["登录,服务器", "金额（元）", "离线:记录", "a, b"]);
    assert_eq!(ascii_punctuation_beside_chinese(texts[0]), ["录,", ",服"]);
    assert!(ascii_punctuation_beside_chinese(texts[1]).is_empty());
    assert_eq!(ascii_punctuation_beside_chinese(texts[2]), ["线:", ":记"]);
    assert_eq!(
        ascii_punctuation_beside_chinese("金额(元)"),
        ["额(", "(元", "元)"]
    );
}
