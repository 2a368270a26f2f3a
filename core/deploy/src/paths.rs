//! Where the local target keeps its files, all under the workspace's `.mcpkit/` (ignored by
//! the generated .gitignore).

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct LocalPaths {
    pub root: PathBuf,
}

impl LocalPaths {
    pub fn new(workspace_root: &Path) -> Self {
        LocalPaths { root: workspace_root.to_path_buf() }
    }
    pub fn mcpkit(&self) -> PathBuf {
        self.root.join(".mcpkit")
    }
    /// Everything `destroy` removes.
    pub fn dir(&self) -> PathBuf {
        self.mcpkit().join("local")
    }
    /// RS256 signing key of the workspace's local issuer (0600).
    pub fn signing_key(&self) -> PathBuf {
        self.dir().join("signing-key.pem")
    }
    /// Realms, clients and their secrets (0600).
    pub fn identities(&self) -> PathBuf {
        self.dir().join("identities.json")
    }
    /// What each leg's auth provider provisioned (0600: client secrets).
    pub fn auth(&self) -> PathBuf {
        self.dir().join("auth.json")
    }
    /// What the supervisor should run, written by `deploy`.
    pub fn plan(&self) -> PathBuf {
        self.dir().join("plan.json")
    }
    /// What the supervisor is doing, written by the supervisor.
    pub fn status(&self) -> PathBuf {
        self.dir().join("status.json")
    }
    /// Python files mcpkit puts on the servers' PYTHONPATH (its `sitecustomize.py`).
    pub fn python_shim(&self) -> PathBuf {
        self.dir().join("python")
    }
    pub fn logs(&self) -> PathBuf {
        self.dir().join("logs")
    }
    pub fn server_log(&self, server: &str) -> PathBuf {
        self.logs().join(format!("{server}.log"))
    }
    pub fn supervisor_log(&self) -> PathBuf {
        self.logs().join("supervisor.log")
    }
    /// The local gateway's access log: a line per MCP request, never a token or an argument.
    pub fn gateway_log(&self) -> PathBuf {
        self.logs().join("gateway.log")
    }
    /// Virtualenvs survive `destroy`: they are a cache, rebuilt when requirements change.
    pub fn venv(&self, server: &str) -> PathBuf {
        self.mcpkit().join("venvs").join(server)
    }
    pub fn credentials_dir(&self) -> PathBuf {
        self.mcpkit().join("credentials")
    }
    pub fn credentials(&self, target: &str, gateway: &str) -> PathBuf {
        self.credentials_dir().join(format!("{target}-{gateway}.json"))
    }
}
