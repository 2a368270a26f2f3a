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
pub mod uv;

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
    /// One line the user should see even without `-v` (a slow step that happens once, a
    /// fallback and why).
    fn say(&self, _message: &str) {}
}

/// A reporter that reports nothing.
pub struct Silent;
impl Reporter for Silent {}

/// The credentials file (0600): everything a client needs to reach the gateway. Its `Debug`
/// shows neither the client secret nor the token.
#[derive(Serialize, serde::Deserialize)]
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
    /// When the token was issued (Unix seconds; 0 in files written before it was recorded),
    /// so that a reader knows how far into its lifetime the token is.
    #[serde(default)]
    pub issued_at: u64,
    /// The AWS region the gateway is in (AWS only): one workspace may be deployed to several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// A fresh gateway token, from the gateway leg's auth provider, and where to send it.
pub struct GatewayToken {
    pub url: String,
    pub token: mcpkit_workspace::secret::Secret,
    /// How long the token is valid from now, as its issuer said.
    pub lifetime: std::time::Duration,
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl std::fmt::Debug for CredentialsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialsFile")
            .field("target", &self.target)
            .field("gateway", &self.gateway)
            .field("gateway_url", &self.gateway_url)
            .field("token_endpoint", &self.token_endpoint)
            .field("discovery_url", &self.discovery_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scope", &self.scope)
            .field("access_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("issued_at", &self.issued_at)
            .field("region", &self.region)
            .finish()
    }
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
    let root = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
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
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_symlink() {
                // A link is the server's only when it stays in the server's folder: one to
                // ~/.aws/credentials must not be hashed, zipped or copied into an image.
                // Linked folders are not followed (no loops, no escapes).
                let inside = p.canonicalize().is_ok_and(|t| t.starts_with(&root) && t.is_file());
                if !inside {
                    continue;
                }
            } else if kind.is_dir() {
                stack.push(p);
                continue;
            }
            if name.ends_with(".py")
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

#[cfg(test)]
mod tests {
    #[test]
    fn links_leaving_the_server_folder_are_not_its_files() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("credentials.py"), "secret").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("server.py"), "print()").unwrap();
        std::os::unix::fs::symlink(outside.path().join("credentials.py"), dir.path().join("creds.py"))
            .unwrap();
        std::os::unix::fs::symlink(dir.path().join("server.py"), dir.path().join("alias.py")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("elsewhere")).unwrap();
        let names: Vec<String> = super::source_files(dir.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["alias.py", "server.py"]);
    }

    use super::*;

    #[test]
    fn a_credentials_files_debug_hides_the_secret_and_the_token() {
        let c = CredentialsFile {
            target: "local".into(),
            gateway: "g".into(),
            gateway_url: "http://127.0.0.1:1/mcp".into(),
            token_endpoint: "http://127.0.0.1:1/oauth2/token".into(),
            discovery_url: "http://127.0.0.1:1/.well-known/openid-configuration".into(),
            client_id: "client".into(),
            client_secret: "the-client-secret".into(),
            scope: "g-id/invoke".into(),
            access_token: "eyJ.the-token.sig".into(),
            expires_at: 1,
            issued_at: 0,
            region: None,
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("the-client-secret") && !shown.contains("the-token"), "{shown}");
    }

    #[test]
    fn source_files_skip_caches_and_are_sorted() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("__pycache__")).unwrap();
        std::fs::write(d.path().join("__pycache__/x.py"), "").unwrap();
        std::fs::write(d.path().join("b.py"), "").unwrap();
        std::fs::write(d.path().join("a.txt"), "").unwrap();
        let names: Vec<String> =
            source_files(d.path()).iter().map(|p| p.file_name().unwrap().to_string_lossy().into()).collect();
        assert_eq!(names, ["a.txt", "b.py"]);
    }
}
