//! What the local stack should run (the plan, written by `deploy`) and what it is doing (the
//! status, written by the supervisor). Both are JSON files under `.mcpkit/local/`; the
//! generation number lets `deploy` know when the supervisor has applied its plan.

use mcpkit_workspace::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LocalPlan {
    pub generation: u64,
    pub workspace: PathBuf,
    pub gateway: String,
    /// The port everything listens on: issuer, gateway and runtime endpoints.
    pub port: u16,
    pub token_ttl_secs: u64,
    /// `[targets.local] inherit_env`: servers get the deployer's whole environment.
    #[serde(default)]
    pub inherit_env: bool,
    /// The environment whose overlay this stack runs (`deploy --env`); one at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub servers: Vec<ServerPlan>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServerPlan {
    pub name: String,
    pub runtime: String,
    pub target: String,
    pub python: PathBuf,
    pub entrypoint: PathBuf,
    pub env: BTreeMap<String, String>,
    /// Which target serves a resource URI that several serve: the lowest wins (AgentCore's
    /// `resourcePriority`, default 1000).
    #[serde(default = "default_priority")]
    pub resource_priority: u32,
    /// Changes whenever anything that should restart the server changes.
    pub hash: String,
}

fn default_priority() -> u32 {
    crate::gateway::catalog::DEFAULT_PRIORITY
}

impl LocalPlan {
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    pub fn gateway_url(&self) -> String {
        format!("{}/mcp", self.base_url())
    }
    /// The same plan apart from the generation counter.
    pub fn same_as(&self, other: &LocalPlan) -> bool {
        LocalPlan { generation: 0, ..self.clone() } == LocalPlan { generation: 0, ..other.clone() }
    }
}

/// The issuer URL of a realm; discovery lives at `{issuer}/.well-known/openid-configuration`,
/// as with Cognito.
pub fn issuer_url(base: &str, pool: &str) -> String {
    format!("{base}/realms/{pool}")
}

pub fn discovery_url(base: &str, pool: &str) -> String {
    format!("{}/.well-known/openid-configuration", issuer_url(base, pool))
}

pub fn token_endpoint(base: &str, pool: &str) -> String {
    format!("{}/oauth2/token", issuer_url(base, pool))
}

/// The runtime endpoint of a server, shaped like AgentCore's invocation URL.
pub fn runtime_url(base: &str, runtime: &str) -> String {
    format!("{base}/runtimes/{runtime}/invocations?qualifier=DEFAULT")
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ServerState {
    Starting,
    Ready,
    Restarting,
    Stopped,
}

/// Who can call a server on its loopback port.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Exposure {
    /// Only with the per-start secret the gateway and the runtime endpoint send.
    Guarded,
    /// Any local process: the server listens in a way the shim cannot guard.
    Open,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServerStatus {
    pub state: ServerState,
    pub pid: Option<u32>,
    /// The process's start time (see `process_start_time`), with `pid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure: Option<Exposure>,
    pub port: Option<u16>,
    pub tools: usize,
    #[serde(default)]
    pub prompts: usize,
    #[serde(default)]
    pub resources: usize,
    pub restarts: u32,
    pub last_error: Option<String>,
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Status {
    pub generation: u64,
    pub pid: u32,
    /// The supervisor's start time (see `process_start_time`), so a reused pid is not mistaken
    /// for it.
    pub start_time: u64,
    pub port: u16,
    pub servers: BTreeMap<String, ServerStatus>,
    /// What the gateway found wrong in the servers' names and URIs.
    #[serde(default)]
    pub problems: Vec<mcpkit_workspace::names::NameProblem>,
}

pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| Error::world(format!("{} is damaged: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// The local target's state files are 0600: the plan holds the servers' `env` (API keys, often).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    mcpkit_workspace::fs::write_secret(path, &serde_json::to_vec_pretty(value).expect("serializable"))
}

/// Hash of everything that should restart a server when it changes: its folder's source files
/// (not caches or virtualenvs), its requirements, its environment and its interpreter.
pub fn server_hash(
    entrypoint: &Path,
    requirements: &Path,
    env: &BTreeMap<String, String>,
    python: &Path,
) -> String {
    let mut h = Sha256::new();
    h.update(entrypoint.to_string_lossy().as_bytes());
    h.update([0]);
    h.update(std::fs::read(requirements).unwrap_or_default());
    h.update([0]);
    for (k, v) in env {
        h.update(k.as_bytes());
        h.update([1]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    h.update(python.to_string_lossy().as_bytes());
    if let Some(dir) = entrypoint.parent() {
        for f in source_files(dir) {
            h.update(f.to_string_lossy().as_bytes());
            h.update(std::fs::read(&f).unwrap_or_default());
        }
    } else {
        h.update(std::fs::read(entrypoint).unwrap_or_default());
    }
    hex::encode(h.finalize())[..16].to_string()
}

pub use mcpkit_deploy::source_files;

/// A short hex digest of a string.
pub fn short_hash(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))[..16].to_string()
}
