//! Which plugin libraries the user trusts, in the manner of direnv's `allow`: loading a shared
//! library runs its code (its initialisers run before mcpkit calls anything), so a library a
//! workspace names, in a repository someone cloned, is loaded only once the user has trusted
//! that library, by its path and its content. The record lives in the user's config folder,
//! outside every repository; a library that changes needs trust again. Libraries in the user's
//! own plugin folder are trusted by being there.

use mcpkit_workspace::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the user has said of a library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trust {
    /// Trusted, and unchanged since.
    Trusted,
    /// Never trusted.
    Untrusted,
    /// Trusted once, but its content has changed since.
    Changed,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    /// Canonical library path → the SHA-256 of its content when it was trusted.
    libraries: BTreeMap<PathBuf, String>,
}

/// `$MCPKIT_CONFIG_DIR/trusted-plugins.json`.
pub fn record_path() -> Option<PathBuf> {
    mcpkit_workspace::config_dir().map(|d| d.join("trusted-plugins.json"))
}

fn read_record() -> Result<Record> {
    let Some(path) = record_path() else { return Ok(Record::default()) };
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| Error::world(format!("{} is damaged: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Record::default()),
        Err(e) => Err(Error::io("read", &path, e)),
    }
}

/// The library's canonical path and content hash.
fn identify(library: &Path) -> Result<(PathBuf, String)> {
    let canonical = library.canonicalize().map_err(|e| Error::io("read", library, e))?;
    let bytes = std::fs::read(&canonical).map_err(|e| Error::io("read", &canonical, e))?;
    Ok((canonical, hex::encode(Sha256::digest(&bytes))))
}

/// What the user has said of `library`, which is read (hashed), never loaded.
pub fn check(library: &Path) -> Result<Trust> {
    let (canonical, hash) = identify(library)?;
    Ok(match read_record()?.libraries.get(&canonical) {
        Some(h) if *h == hash => Trust::Trusted,
        Some(_) => Trust::Changed,
        None => Trust::Untrusted,
    })
}

/// Trusts `library` as it is now; returns its canonical path and hash.
pub fn trust(library: &Path) -> Result<(PathBuf, String)> {
    let (canonical, hash) = identify(library)?;
    let path = record_path().ok_or_else(|| Error::world("no config folder: set MCPKIT_CONFIG_DIR"))?;
    let mut record = read_record()?;
    record.libraries.insert(canonical.clone(), hash.clone());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    // 0600: what a user trusts is theirs to know.
    mcpkit_workspace::fs::write_secret(&path, &serde_json::to_vec_pretty(&record).expect("serializable"))?;
    Ok((canonical, hash))
}

/// Forgets `library`; true when it was trusted.
pub fn untrust(library: &Path) -> Result<bool> {
    let canonical = library.canonicalize().unwrap_or_else(|_| library.to_path_buf());
    let mut record = read_record()?;
    let was = record.libraries.remove(&canonical).is_some();
    if was && let Some(path) = record_path() {
        mcpkit_workspace::fs::write_secret(
            &path,
            &serde_json::to_vec_pretty(&record).expect("serializable"),
        )?;
    }
    Ok(was)
}
