//! What the phone library links, for its size budget (docs/PERFORMANCE.md,
//! "Native library size"): no TOML parser. The shipped playbooks are compiled
//! into the core as JSON and a company's own comes as JSON, so the core's
//! `toml` feature stays off here. Checked with `cargo tree`, offline, on the
//! workspace's lock file, over normal edges without proc macros (a proc macro
//! runs at build time and links nothing: uniffi's read their TOML there).

use std::process::Command;

/// The packages of `doorstep-ffi`'s linked dependency graph, one name each.
fn linked_packages() -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let crate_dir = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let root = crate_dir.parent().unwrap();
    let out = Command::new(cargo)
        .args(["tree", "--offline", "-p", "doorstep-ffi"])
        .args(["-e", "normal,no-proc-macro", "--prefix", "none"])
        .current_dir(root)
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_phone_library_links_no_toml_parser() {
    let names = linked_packages();
    assert!(
        names.iter().any(|n| n == "doorstep-core") && names.iter().any(|n| n == "serde_json"),
        "the tree was read: {names:?}"
    );
    let toml: Vec<&String> = names.iter().filter(|n| n.starts_with("toml")).collect();
    assert!(
        toml.is_empty(),
        "the phone library links {toml:?}: doorstep-core's `toml` feature must stay off for doorstep-ffi"
    );
}
