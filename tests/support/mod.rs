//! What the end-to-end tests share: running the real binary hermetically, temporary
//! workspaces, free ports, child processes that are always stopped, and a cached Python
//! virtualenv with the real `mcp` package.
#![allow(dead_code)]

pub mod aws;
pub mod mcp;
pub mod node;
pub mod plugins;
pub mod stack;

use std::collections::BTreeMap;

/// Every test binary's HTTP clients use rustls on ring, installed before any test runs.
#[ctor::ctor]
fn install_crypto() {
    mcpkit_core::install_crypto();
}
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The `mcpkit` binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mcpkit"))
}

/// A hermetic test sandbox: a temporary folder used as working directory and as mcpkit's
/// configuration folder (so the developer's own ~/.config/mcpkit never leaks in).
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub config: tempfile::TempDir,
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
    #[track_caller]
    pub fn input_error(&self) -> &Self {
        assert_eq!(self.code, 2, "expected exit 2\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}:\n{}", self.stderr);
        self
    }
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox { dir: tempfile::tempdir().unwrap(), config: tempfile::tempdir().unwrap() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A command for the binary, run in `cwd` (relative to the sandbox), with no terminal.
    pub fn cmd(&self, cwd: &str) -> Command {
        let mut c = Command::new(bin());
        c.current_dir(self.dir.path().join(cwd))
            .env("MCPKIT_CONFIG_DIR", self.config.path())
            .env("PATH", tool_path())
            .env("UV_CACHE_DIR", uv_cache())
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null());
        c
    }

    /// Runs the binary with `args` in `cwd` and collects its output.
    pub fn run(&self, cwd: &str, args: &[&str]) -> Run {
        self.run_env(cwd, args, &[])
    }

    /// Same, with extra environment variables.
    pub fn run_env(&self, cwd: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.cmd(cwd);
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out: Output = cmd.output().expect("run mcpkit");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Every file below `dir` with its contents, paths relative and `/`-separated.
pub fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned());
            }
        }
    }
    out
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until something accepts TCP connections on `port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Replaces the first `from` in a file with `to` and returns the new text. Fails the test when
/// `from` is not there: an edit that silently changed nothing would test the wrong thing.
#[track_caller]
pub fn replace_once(path: &Path, from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", path.display());
    let text = text.replacen(from, to, 1);
    std::fs::write(path, &text).unwrap();
    text
}

/// A child process that is killed and reaped when dropped, whatever the test did.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Python virtualenv with the `mcp` range generated servers require, plus pytest. Built
/// once and cached in Cargo's target folder by the hash of what it holds; built in a
/// temporary folder and renamed into place, so concurrent test binaries never see half a venv.
pub fn python_env() -> &'static Path {
    static ENV: OnceLock<PathBuf> = OnceLock::new();
    ENV.get_or_init(|| {
        let requirements =
            format!("{}\npytest\nuv\nmoto[server]==5.2.5\nboto3\n", mcpkit_core::MCP_REQUIREMENT);
        cached_dir(&format!("pyenv-{}", short_hash(requirements.as_bytes())), |venv| {
            let status =
                Command::new("python3").args(["-m", "venv"]).arg(venv).status().expect("python3 is needed");
            assert!(status.success(), "python3 -m venv failed");
            std::fs::write(venv.join("requirements.txt"), &requirements).unwrap();
            let status = Command::new(venv.join("bin/python"))
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(venv.join("requirements.txt"))
                .status()
                .unwrap();
            assert!(status.success(), "pip install of the test requirements failed");
        })
    })
}

/// The first 12 hex digits of the SHA-256 of `bytes`: a cache key.
pub fn short_hash(bytes: &[u8]) -> String {
    sha256_hex(bytes)[..12].to_string()
}

/// A folder made once by `build` and cached in Cargo's target folder as `name`: built in a
/// temporary folder and renamed into place when complete, so concurrent test binaries never
/// see half of one (the loser of a race uses the winner's).
pub fn cached_dir(name: &str, build: impl FnOnce(&Path)) -> PathBuf {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dest = base.join(name);
    if dest.join("ready").exists() {
        return dest;
    }
    let staging = tempfile::Builder::new().prefix(&format!("{name}-build-")).tempdir_in(&base).unwrap();
    build(staging.path());
    std::fs::write(staging.path().join("ready"), "").unwrap();
    let kept = staging.keep();
    if std::fs::rename(&kept, &dest).is_err() {
        let _ = std::fs::remove_dir_all(&kept);
    }
    dest
}

/// The Python interpreter of [`python_env`]. (A renamed venv still works when run as
/// `bin/python`: it finds its `pyvenv.cfg` next to itself.)
pub fn python() -> PathBuf {
    python_env().join("bin/python")
}

/// PATH for the binary under test: the test virtualenv's `bin` (python3 and uv) first, so
/// deploys install requirements with uv from a shared cache instead of downloading each time.
pub fn tool_path() -> std::ffi::OsString {
    let mut dirs = vec![python_env().join("bin")];
    dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(dirs).unwrap()
}

/// The uv cache the tests share (in Cargo's target folder, not the developer's home).
pub fn uv_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("uv-cache")
}

/// Starts a generated server on a free port and waits until it listens.
pub fn start_server(entrypoint: &Path) -> (ChildGuard, u16) {
    let port = free_port();
    let child = Command::new(python())
        .arg(entrypoint)
        .current_dir(entrypoint.parent().unwrap())
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let guard = ChildGuard(child);
    assert!(wait_for_port(port, Duration::from_secs(30)), "server {} did not listen", entrypoint.display());
    (guard, port)
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The claims of a JWT, unverified (the tests check what a token says; the gateways check
/// its signature).
pub fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Whether docker, podman or finch with a running engine is on the test PATH.
pub fn container_engine_running() -> bool {
    ["docker", "podman", "finch"].iter().any(|e| {
        Command::new(e)
            .arg("info")
            .env("PATH", tool_path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}
