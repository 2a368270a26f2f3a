//! Per-server virtualenvs under `.mcpkit/venvs/<server>`: made with uv (much faster; from PATH
//! or bootstrapped, `mcpkit_deploy::uv`), else `python3 -m venv` and pip; reused while the
//! requirements file's hash is unchanged, whichever installer made it (the marker says which). A venv is built where it will live (venvs record their own path in their
//! scripts, so they cannot be renamed into place); the marker holding the requirements' hash
//! is written last, so an interrupted install never leaves a venv that looks ready.

use mcpkit_workspace::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const MARKER: &str = ".mcpkit-requirements-sha256";

/// Part of the marker's hash: a venv installed by an older recipe is rebuilt once. Recipe 2
/// compiles bytecode at install time (below).
const RECIPE: &[u8] = b"mcpkit venv recipe 2\n";

/// What `ensure` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VenvAction {
    Reused,
    Created,
    Rebuilt,
}

pub fn python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

fn requirements_hash(requirements: &Path) -> Result<String> {
    let bytes = std::fs::read(requirements).map_err(|e| Error::io("read", requirements, e))?;
    Ok(hex::encode(Sha256::new().chain_update(RECIPE).chain_update(&bytes).finalize()))
}

/// True when the venv exists and was built from these requirements. The marker's first line
/// is the hash; the second, when there is one, the installer that made it (informative: a venv
/// pip made is as good as one uv made, and is not rebuilt when uv arrives).
pub fn is_current(venv: &Path, requirements: &Path) -> bool {
    let Ok(want) = requirements_hash(requirements) else { return false };
    std::fs::read_to_string(venv.join(MARKER))
        .map(|m| m.lines().next().is_some_and(|h| h.trim() == want))
        .unwrap_or(false)
        && python(venv).exists()
}

/// The installer that made the venv, as its marker records it (none for markers of before).
pub fn made_by(venv: &Path) -> Option<String> {
    let marker = std::fs::read_to_string(venv.join(MARKER)).ok()?;
    marker.lines().nth(1).and_then(|l| l.strip_prefix("installer=")).map(str::to_string)
}

pub use mcpkit_deploy::uv::Installer;
pub use mcpkit_deploy::which;

/// Makes sure `venv` exists with `requirements` installed. `log` receives the installer's
/// output, so a failure can be shown.
pub fn ensure(venv: &Path, requirements: &Path, log: &Path, installer: &Installer) -> Result<VenvAction> {
    if is_current(venv, requirements) {
        return Ok(VenvAction::Reused);
    }
    let existed = venv.exists();
    let hash = requirements_hash(requirements)?;
    let parent = venv.parent().expect("venvs live in a folder");
    std::fs::create_dir_all(parent).map_err(|e| Error::io("create folder", parent, e))?;
    if let Some(d) = log.parent() {
        mcpkit_workspace::fs::private_dir(d)?;
    }
    let log_file = mcpkit_workspace::fs::open_log(log, true).map_err(|e| Error::io("create", log, e))?;
    let run = |cmd: &mut Command, what: &str| -> Result<()> {
        let out = log_file.try_clone().map_err(|e| Error::io("write", log, e))?;
        let err = log_file.try_clone().map_err(|e| Error::io("write", log, e))?;
        let status = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .status()
            .map_err(|e| Error::world(format!("cannot run {what}: {e}")))?;
        if status.success() {
            Ok(())
        } else {
            let tail = tail_lines(log, 15);
            Err(Error::world(format!("{what} failed ({status}); last lines of {}:\n{tail}", log.display())))
        }
    };
    if existed {
        std::fs::remove_dir_all(venv).map_err(|e| Error::io("remove", venv, e))?;
    }
    let python3 = which("python3").ok_or_else(|| {
        Error::world("python3 is not on PATH")
            .with_hint("install Python 3.10 or newer to run MCP servers locally")
    })?;
    if let Installer::Uv(uv) = installer {
        // Never let uv download an interpreter: use the one on PATH.
        run(
            Command::new(uv)
                .args(["venv", "--quiet", "--python"])
                .arg(&python3)
                .arg(venv)
                .env("UV_PYTHON_DOWNLOADS", "never"),
            "uv venv",
        )?;
        // Bytecode is compiled now, as pip does by default: uv leaves it to the first import,
        // which writes nothing where PYTHONDONTWRITEBYTECODE is set (as in many containers),
        // and then every start of the server compiles `mcp` again (about a second).
        run(
            Command::new(uv)
                .args(["pip", "install", "--quiet", "--compile-bytecode", "--python"])
                .arg(python(venv))
                .arg("-r")
                .arg(requirements),
            "uv pip install",
        )?;
    } else {
        run(Command::new(&python3).args(["-m", "venv"]).arg(venv), "python3 -m venv")?;
        run(
            Command::new(python(venv))
                .args(["-m", "pip", "install", "--disable-pip-version-check", "--quiet", "-r"])
                .arg(requirements),
            "pip install",
        )?;
    }
    let marker = format!("{hash}\ninstaller={}\n", installer.name());
    mcpkit_workspace::fs::write_atomic(&venv.join(MARKER), marker.as_bytes())?;
    Ok(if existed { VenvAction::Rebuilt } else { VenvAction::Created })
}

/// The last `n` lines of a text file.
pub fn tail_lines(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
