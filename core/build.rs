//! Build script: turns the shipped trade playbooks, written in TOML
//! (`src/playbook/trades/*.toml`), into JSON in `OUT_DIR/playbooks/`, which
//! `playbook::SHIPPED_JSON` compiles in. The library parses them with
//! serde_json at run time, so a build without the `toml` feature (the phone
//! library) carries no TOML parser. The conversion is value for value; a
//! test (`core/tests/playbooks.rs`) checks each JSON playbook parses to the
//! same `Playbook` as its TOML source.

use std::path::{Path, PathBuf};

const TRADES: &str = "src/playbook/trades";

fn main() {
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("playbooks");
    std::fs::create_dir_all(&out).expect("create OUT_DIR/playbooks");
    println!("cargo::rerun-if-changed={TRADES}");
    let mut files: Vec<PathBuf> = std::fs::read_dir(TRADES)
        .expect("read src/playbook/trades")
        .map(|entry| entry.expect("read src/playbook/trades").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    for path in files {
        println!("cargo::rerun-if-changed={}", path.display());
        let json = to_json(&path);
        let stem = path.file_stem().expect("a file name").to_string_lossy();
        std::fs::write(out.join(format!("{stem}.json")), json).expect("write the JSON playbook");
    }
}

/// The TOML file at `path` as compact JSON. A file that is not TOML fails
/// the build, naming it; one that is TOML but not a valid playbook is left
/// to the library's validation (and its tests).
fn to_json(path: &Path) -> String {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let value: toml::Table =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{} is not TOML: {e}", path.display()));
    serde_json::to_string(&value)
        .unwrap_or_else(|e| panic!("{} has no JSON form: {e}", path.display()))
}
