//! A cached Node.js folder with the official TypeScript MCP SDK, for the client fixtures in
//! tests/fixtures/clients/*.mjs; the Node counterpart of [`super::python_env`].

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The TypeScript SDK the Node clients use, pinned.
pub const SDK: &str = "@modelcontextprotocol/sdk@1.32.2";

/// A folder with `node_modules/@modelcontextprotocol/sdk`, installed once per spec and
/// shared by every test binary: built in a staging folder, then renamed into place, so a
/// folder under its final name is always complete.
pub fn node_env() -> &'static Path {
    static ENV: OnceLock<PathBuf> = OnceLock::new();
    ENV.get_or_init(|| install(SDK))
}

/// A folder with the npm package `spec` (and its dependencies) installed, cached by the spec.
pub fn install(spec: &str) -> PathBuf {
    super::cached_dir(&format!("node-{}", super::short_hash(spec.as_bytes())), |dir| {
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(dir)
            .arg(spec)
            .current_dir(dir)
            .status()
            .expect("npm is needed");
        assert!(status.success(), "npm install of {spec} failed");
    })
}

/// `node <script>` with the SDK of [`node_env`] importable.
///
/// ES modules ignore NODE_PATH and resolve bare imports from the script's own folder
/// upwards, so the script runs as a copy inside the node env, beside its `node_modules`.
/// The copy is named after its contents (`<stem>-<hash>.mjs`) and written to a temporary
/// file then renamed into place, so tests running at once, even with different versions
/// of a script, never see a half-written or wrong file. NODE_PATH is set as well, for
/// CommonJS scripts.
pub fn node_client(script: &Path) -> Command {
    let env = node_env();
    let bytes = std::fs::read(script).unwrap_or_else(|e| panic!("read {}: {e}", script.display()));
    let hash = super::short_hash(&bytes);
    let stem = script.file_stem().and_then(|s| s.to_str()).unwrap_or("client");
    let ext = script.extension().and_then(|s| s.to_str()).unwrap_or("mjs");
    let placed = env.join(format!("{stem}-{hash}.{ext}"));
    if !placed.exists() {
        use std::io::Write;
        let mut tmp = tempfile::Builder::new().prefix(".script-").tempfile_in(env).unwrap();
        tmp.write_all(&bytes).unwrap();
        tmp.flush().unwrap();
        // Same contents whoever wins, so replacing a copy another test just placed is harmless.
        tmp.persist(&placed).unwrap();
    }
    let mut cmd = Command::new("node");
    cmd.arg(&placed).env("NODE_PATH", env.join("node_modules"));
    cmd
}
