//! mcpkit's library of operations.
//!
//! Every command of the `mcpkit` binary is a function here over a [`manifest::Workspace`], so
//! tests (and other front ends) call the same code the CLI does. The binary only parses
//! arguments, prompts and prints.
//!
//! Rooms, each small and owning one concern:
//! - [`manifest`]: mcpkit.toml, typed view and comment-preserving edits;
//! - [`names`]: every derived resource name and the AWS rule it must satisfy;
//! - [`fs`]: the one place files are written (atomically; secrets 0600 from creation);
//! - [`secret`]: the one type that holds secrets, and redaction;
//! - [`scaffold`]: templates (embedded and user) and Handlebars rendering;
//! - [`ops`]: the commands.

pub mod auth;
pub mod aws;
pub mod engine;
pub mod error;
pub mod fs;
pub mod local;
pub mod manifest;
pub mod mcp;
pub mod names;
pub mod net;
pub mod ops;
pub mod scaffold;
pub mod secret;

pub use error::{Error, Problem, Result};

/// Makes rustls' *ring* provider the process default, once. mcpkit's HTTP clients (reqwest,
/// the AWS SDK) all use rustls on ring, which must be installed before the first client is
/// built; every entry point that builds one calls this, and so does the binary at start.
pub fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
pub use manifest::{Manifest, Workspace};

/// The version of mcpkit, shown by `--version` and written into generated files.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The `mcp` Python package range generated servers require: the range the test-suite runs.
pub const MCP_REQUIREMENT: &str = "mcp>=2.3,<3";

/// mcpkit's per-user configuration folder: `$MCPKIT_CONFIG_DIR`, else `~/.config/mcpkit`.
pub fn config_dir() -> Option<std::path::PathBuf> {
    match std::env::var_os("MCPKIT_CONFIG_DIR") {
        Some(d) if !d.is_empty() => Some(d.into()),
        _ => dirs::config_dir().map(|d| d.join("mcpkit")),
    }
}
