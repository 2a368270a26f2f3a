//! What every deploy target shares, and nothing target-specific: the auth both legs speak
//! ([`auth`]: OAuth2 client credentials, JWT authorizers, the provider registry and plugin
//! loader), the MCP client ([`mcp`]), the process's HTTP clients ([`net`]), the `.mcpkit/`
//! layout ([`paths`]), the credentials file, progress reporting, source hashing and the async
//! runtime of the blocking commands.
//!
//! It knows nothing of the local target or of AWS: `mcpkit-local` and `mcpkit-aws` both build on
//! it, and neither on the other.

pub mod auth;
pub mod mcp;
pub mod net;
pub mod paths;

use mcpkit_workspace::{Error, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Makes rustls' *ring* provider the process default, once. mcpkit's HTTP clients (reqwest,
/// the AWS SDK) all use rustls on ring, which must be installed before the first client is
/// built; every entry point that builds one calls this, and so does the binary at start.
pub fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Progress of a long step, for the CLI's spinners.
pub trait Reporter: Sync {
    fn begin(&self, _id: &str, _message: &str) {}
    fn end(&self, _id: &str, _message: &str) {}
    /// Something worth knowing that changes nothing (verbose output).
    fn note(&self, _message: &str) {}
}

/// A reporter that reports nothing.
pub struct Silent;
impl Reporter for Silent {}

/// The credentials file (0600): everything a client needs to reach the gateway.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct CredentialsFile {
    pub target: String,
    pub gateway: String,
    pub gateway_url: String,
    pub token_endpoint: String,
    pub discovery_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub scope: String,
    pub access_token: String,
    pub expires_at: u64,
}

/// A single-threaded async runtime for the blocking operations that talk HTTP.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::world(format!("cannot start an async runtime: {e}")))
}

/// Files hashed per server folder at most; beyond that the folder is not a server's own.
const MAX_HASHED_FILES: usize = 2000;

/// Source files below a server's folder, sorted; skips hidden folders, caches and venvs.
pub fn source_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "__pycache__" || name == "node_modules" || name == "venv" {
                continue;
            }
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if name.ends_with(".py")
                || name.ends_with(".txt")
                || name.ends_with(".json")
                || name.ends_with(".toml")
            {
                out.push(p);
                if out.len() >= MAX_HASHED_FILES {
                    out.sort();
                    return out;
                }
            }
        }
    }
    out.sort();
    out
}

/// The first executable called `tool` on PATH.
pub fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(tool)).find(|p| p.is_file()))
}
