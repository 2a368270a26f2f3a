//! The workspace room: mcpkit.toml and everything derived from it without touching the world.
//!
//! - [`manifest`]: mcpkit.toml, typed view and comment-preserving edits;
//! - [`names`]: every derived resource name and the AWS rule it must satisfy;
//! - [`fs`]: the one place files are written (atomically; secrets 0600 from creation);
//! - [`secret`]: the one type that holds secrets, and redaction;
//! - [`scaffold`]: templates (embedded and user) and Handlebars rendering;
//! - [`error`]: input errors (exit 2, located) and failures of the world (exit 1).
//!
//! It knows nothing of targets, HTTP or AWS.

pub mod error;
pub mod fs;
pub mod manifest;
pub mod names;
pub mod scaffold;
pub mod secret;

pub use error::{Error, Problem, Result};
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

/// mcpkit's per-user cache folder (what can be made again, such as a bootstrapped uv):
/// `$MCPKIT_CACHE_DIR`, else `~/.cache/mcpkit` (`$XDG_CACHE_HOME`).
pub fn cache_dir() -> Option<std::path::PathBuf> {
    match std::env::var_os("MCPKIT_CACHE_DIR") {
        Some(d) if !d.is_empty() => Some(d.into()),
        _ => dirs::cache_dir().map(|d| d.join("mcpkit")),
    }
}
