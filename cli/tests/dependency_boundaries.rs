//! What each build carries. The CLI's clients (clap, reqwest, rustls) live in
//! this crate, so `doorstep-core` with its default features brings none of
//! them, and the server's production dependency graph reaches none of them
//! through `doorstep-core` (a client the server needs for itself is its own
//! business). Checked with `cargo tree`, offline, on the workspace's lock file.

use std::path::PathBuf;
use std::process::Command;

/// Crates only the CLI (and the phone's own HTTP stack) may bring.
const CLIENT_CRATES: &[&str] = &["reqwest", "rustls", "clap"];

fn root() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .parent()
    .unwrap()
    .to_path_buf()
}

/// `cargo tree <args>` over normal (non-dev, non-build) edges; its stdout.
fn cargo_tree(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .args(args)
        .current_dir(root())
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The packages in a `--prefix none` tree, one name per line.
fn package_names(tree: &str) -> Vec<String> {
    tree.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn core_with_default_features_carries_no_client() {
    let names = package_names(&cargo_tree(&["-p", "doorstep-core"]));
    assert!(
        names.iter().any(|n| n == "rusqlite"),
        "the tree was read: {names:?}"
    );
    for client in CLIENT_CRATES.iter().chain(&["tokio", "flate2", "zstd"]) {
        assert!(
            !names.iter().any(|n| n == client),
            "doorstep-core's default build brings {client}; default features must stay empty"
        );
    }
}

#[test]
fn the_server_gets_no_client_through_core() {
    let server = package_names(&cargo_tree(&["-p", "doorstep-server"]));
    assert!(
        server.iter().any(|n| n == "doorstep-core"),
        "the server depends on doorstep-core: {server:?}"
    );
    for client in CLIENT_CRATES {
        if !server.iter().any(|n| n == client) {
            continue; // not in the server's build at all
        }
        // Who brings it: every package on an inverted path from the client up
        // to the server. Core on such a path means core carries the client.
        let inverted = cargo_tree(&["-p", "doorstep-server", "-i", client]);
        assert!(
            !package_names(&inverted)
                .iter()
                .any(|n| n == "doorstep-core"),
            "doorstep-server gets {client} through doorstep-core:\n{inverted}"
        );
    }
}

/// The checker itself: the CLI does bring the clients through core's
/// features, and the inverted tree shows that path.
#[test]
fn the_check_sees_a_path_through_core_when_there_is_one() {
    let inverted = cargo_tree(&["-p", "doorstep-cli", "-i", "reqwest"]);
    assert!(
        package_names(&inverted)
            .iter()
            .any(|n| n == "doorstep-core"),
        "the CLI's reqwest comes through doorstep-core's http feature:\n{inverted}"
    );
}
