//! mcpkit's library of operations.
//!
//! Every command of the `mcpkit` binary is a function here over a [`Workspace`], so tests (and
//! other front ends) call the same code the CLI does. The binary only parses arguments,
//! prompts and prints.
//!
//! This crate is the command layer ([`ops`]) and the one place that knows every room; each room
//! is a crate of its own, so cargo refuses an import across rooms that ARCHITECTURE.md forbids:
//! - `mcpkit-workspace` ([`manifest`], [`names`], [`fs`], [`secret`], [`scaffold`], [`error`]);
//! - `mcpkit-engine` ([`engine`]): resources, plans and recorded state, no SDK;
//! - `mcpkit-deploy` ([`auth`], [`mcp`], [`net`] and what every target shares);
//! - `mcpkit-local` ([`local`]) and `mcpkit-aws` ([`aws`]), which never import each other;
//! - `mcpkit-proxy` ([`proxy`]): stdio to a gateway over HTTP, knowing no target.

pub mod ops;

pub use mcpkit_aws as aws;
pub use mcpkit_deploy::{auth, install_crypto, mcp, net};
pub use mcpkit_engine as engine;
pub use mcpkit_local as local;
pub use mcpkit_proxy as proxy;
pub use mcpkit_workspace::{
    Error, MCP_REQUIREMENT, Manifest, Problem, Result, VERSION, Workspace, config_dir, error, fs, manifest,
    names, scaffold, secret,
};

/// The rooms of ARCHITECTURE.md, as cargo sees them: a crate may depend only on the rooms
/// its row allows, so an import across rooms that the architecture forbids does not compile.
/// This test keeps someone from adding the dependency that would allow it.
#[cfg(test)]
mod architecture {
    use std::collections::{BTreeMap, BTreeSet};

    fn graph() -> BTreeMap<String, BTreeSet<String>> {
        let out = std::process::Command::new(env!("CARGO"))
            .args(["metadata", "--offline", "--no-deps", "--format-version", "1"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo metadata");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let deps = p["dependencies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|d| d["kind"].is_null()) // normal dependencies, not dev or build
                    .map(|d| d["name"].as_str().unwrap().to_string())
                    .collect();
                (p["name"].as_str().unwrap().to_string(), deps)
            })
            .collect()
    }

    #[test]
    fn each_room_depends_only_on_the_rooms_it_may_know() {
        let g = graph();
        let mcpkit = |deps: &BTreeSet<String>| -> Vec<String> {
            deps.iter().filter(|d| d.starts_with("mcpkit-")).cloned().collect()
        };
        let sdk = |deps: &BTreeSet<String>| deps.iter().any(|d| d.starts_with("aws-"));
        assert_eq!(mcpkit(&g["mcpkit-workspace"]), Vec::<String>::new());
        assert_eq!(mcpkit(&g["mcpkit-engine"]), ["mcpkit-workspace"], "the engine knows no target");
        assert!(!sdk(&g["mcpkit-engine"]), "the engine never calls an SDK");
        assert_eq!(mcpkit(&g["mcpkit-deploy"]), ["mcpkit-plugin-api", "mcpkit-workspace"]);
        assert!(!sdk(&g["mcpkit-deploy"]), "what the targets share knows nothing of AWS");
        assert_eq!(mcpkit(&g["mcpkit-local"]), ["mcpkit-deploy", "mcpkit-plugin-api", "mcpkit-workspace"]);
        assert!(!sdk(&g["mcpkit-local"]), "the local target knows nothing of AWS");
        assert_eq!(mcpkit(&g["mcpkit-aws"]), ["mcpkit-deploy", "mcpkit-engine", "mcpkit-workspace"]);
        assert_eq!(mcpkit(&g["mcpkit-plugin-api"]), Vec::<String>::new(), "plugin authors get the API alone");
        assert_eq!(
            mcpkit(&g["mcpkit-proxy"]),
            ["mcpkit-workspace"],
            "the proxy knows no target and no provider"
        );
        assert!(!sdk(&g["mcpkit-proxy"]), "the proxy signs nothing itself: SigV4 is handed to it");
        assert_eq!(mcpkit(&g["mcpkit"]), ["mcpkit-core"], "the CLI reaches the rooms through the commands");
        for cli_knows_not in ["aws-config", "reqwest", "axum", "toml_edit", "handlebars"] {
            assert!(!g["mcpkit"].contains(cli_knows_not), "the CLI depends on {cli_knows_not}");
        }
    }
}
