//! Which package installer makes virtualenvs and code zips: uv when it can be had, else pip.
//!
//! uv on PATH is used as it is. Without it, mcpkit installs uv once from PyPI (the `uv`
//! package, with the machine's own `python3 -m pip`) into its cache folder,
//! `~/.cache/mcpkit/uv/` (`$XDG_CACHE_HOME`, or `MCPKIT_CACHE_DIR`), checks that it runs, and
//! uses it from then on: a first deploy that would spend 20 s in pip takes a few. `MCPKIT_UV=0`
//! keeps plain pip. Any failure falls back to pip with one line saying why, and is not tried
//! again for a day (a machine without PyPI would otherwise pay pip's time-outs on every deploy).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

/// What installs packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installer {
    /// uv, from PATH or from mcpkit's cache.
    Uv(PathBuf),
    Pip,
}

impl Installer {
    /// As the venv marker records it.
    pub fn name(&self) -> &'static str {
        match self {
            Installer::Uv(_) => "uv",
            Installer::Pip => "pip",
        }
    }
}

/// How long a failed bootstrap is not tried again.
const RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The installer to use; `note` hears, once, about a bootstrap and why it fell back to pip.
pub fn installer(note: &dyn Fn(&str)) -> Installer {
    if std::env::var("MCPKIT_UV").is_ok_and(|v| v == "0" || v.eq_ignore_ascii_case("false")) {
        return Installer::Pip;
    }
    if let Some(uv) = crate::which("uv") {
        return Installer::Uv(uv);
    }
    let Some(cache) = mcpkit_workspace::cache_dir() else { return Installer::Pip };
    match bootstrapped(&cache.join("uv"), note) {
        Ok(uv) => Installer::Uv(uv),
        Err(why) => {
            note(&format!("using pip: uv could not be installed ({why})"));
            Installer::Pip
        }
    }
}

/// `dir/bin/uv`, installed there first if it is not yet.
fn bootstrapped(dir: &Path, note: &dyn Fn(&str)) -> Result<PathBuf, String> {
    let uv = dir.join("bin").join("uv");
    if runs(&uv) {
        return Ok(uv);
    }
    let parent = dir.parent().ok_or("no cache folder")?;
    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    // One bootstrap at a time; whoever waited finds it done.
    let lock = std::fs::File::create(parent.join("uv.lock")).map_err(|e| e.to_string())?;
    let _lock =
        nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| e.to_string())?;
    if runs(&uv) {
        return Ok(uv);
    }
    let failed = parent.join("uv.failed");
    if let Ok(m) = std::fs::metadata(&failed)
        && m.modified()
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|a| a < RETRY_AFTER)
    {
        let why = std::fs::read_to_string(&failed).unwrap_or_default();
        return Err(format!("{} (not tried again until a day has passed; {})", why.trim(), failed.display()));
    }
    note("installing uv (once) into mcpkit's cache, for faster installs");
    match install(dir) {
        Ok(uv) => {
            let _ = std::fs::remove_file(&failed);
            Ok(uv)
        }
        Err(why) => {
            let _ = std::fs::write(&failed, &why);
            Err(why)
        }
    }
}

/// A virtualenv holding the `uv` package, made beside `dir` and renamed into place once uv
/// runs from it (uv is one self-contained binary, so the rename does not break it).
fn install(dir: &Path) -> Result<PathBuf, String> {
    let python3 = crate::which("python3").ok_or("python3 is not on PATH")?;
    let tmp = dir.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let quiet = |c: &mut Command| -> Result<(), String> {
        let out = c.stdin(Stdio::null()).output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            Err(err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("failed").trim().to_string())
        }
    };
    let result = (|| {
        quiet(Command::new(&python3).args(["-m", "venv"]).arg(&tmp))?;
        quiet(Command::new(tmp.join("bin").join("python")).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "uv",
        ]))?;
        if !runs(&tmp.join("bin").join("uv")) {
            return Err("the installed uv does not run".to_string());
        }
        let _ = std::fs::remove_dir_all(dir);
        std::fs::rename(&tmp, dir).map_err(|e| format!("cannot move uv into {}: {e}", dir.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result.map(|()| dir.join("bin").join("uv"))
}

/// `uv --version` succeeds.
fn runs(uv: &Path) -> bool {
    uv.is_file()
        && Command::new(uv)
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}
