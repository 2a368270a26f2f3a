//! `mcpkit plugin list`, `trust`, `untrust` and `new`.

use crate::auth::providers::{Info, Providers};
use crate::error::{Error, Problem, Result};
use crate::fs::Staging;
use crate::manifest::Workspace;
use crate::names;
use crate::scaffold::{Kind, Registry};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every provider: built-ins, the user's plugin folder, the workspace's `[plugins]`; broken
/// entries are listed with their error.
pub fn list(ws: Option<&Workspace>) -> Vec<Info> {
    Providers::load(ws).list()
}

/// What `plugin trust` recorded.
#[derive(Debug, Clone, Serialize)]
pub struct TrustReport {
    pub plugin: String,
    pub library: PathBuf,
    pub sha256: String,
    /// Where the record is kept (the user's config folder, outside every repository).
    pub record: PathBuf,
}

/// The library a workspace's `[plugins.<name>] path` names, or why there is none to trust.
fn workspace_library(ws: &Workspace, name: &str) -> Result<PathBuf> {
    let Some(p) = ws.manifest().plugins.get(name) else {
        return Err(Error::input(
            Problem::new(format!("mcpkit.toml has no plugin `{name}`"))
                .file(ws.manifest_path())
                .hint("plugins in your own plugin folder and the built-ins need no trust"),
        ));
    };
    let Some(path) = &p.path else {
        return Err(Error::input(
            ws.problem_at(&["plugins", name], format!("`[plugins.{name}]` names no library (`path`)"))
                .hint("a plugin found in your own plugin folder is trusted by being there"),
        ));
    };
    Ok(ws.resolve(path))
}

/// Trusts the library `[plugins.<name>]` names, as it is now: from then on mcpkit loads it
/// (runs its code) for this user, until the file changes.
pub fn trust(ws: &Workspace, name: &str) -> Result<TrustReport> {
    let library = workspace_library(ws, name)?;
    if !library.is_file() {
        return Err(Error::input(
            ws.problem_at(&["plugins", name, "path"], format!("{} does not exist", library.display()))
                .hint("build the plugin first"),
        ));
    }
    let (library, sha256) = crate::auth::trust::trust(&library)?;
    let record = crate::auth::trust::record_path().unwrap_or_default();
    Ok(TrustReport { plugin: name.to_string(), library, sha256, record })
}

/// Takes trust back; true when the library was trusted.
pub fn untrust(ws: &Workspace, name: &str) -> Result<bool> {
    crate::auth::trust::untrust(&workspace_library(ws, name)?)
}

/// The plugin API crate's sources, embedded so `plugin new` can vendor them: a scaffolded
/// plugin builds with plain `cargo build`, offline, against exactly this mcpkit's ABI.
const API_FILES: &[(&str, &str)] = &[
    ("src/lib.rs", include_str!("../../../plugins/api/src/lib.rs")),
    ("src/ffi.rs", include_str!("../../../plugins/api/src/ffi.rs")),
];
const API_MANIFEST: &str = include_str!("../../../plugins/api/Cargo.toml");
const WORKSPACE_MANIFEST: &str = include_str!("../../../Cargo.toml");

/// The API crate's Cargo.toml made standalone: `x.workspace = true` replaced by the
/// workspace's values.
pub fn standalone_api_manifest() -> Result<String> {
    let ws: toml_edit::DocumentMut = WORKSPACE_MANIFEST.parse().map_err(|e| Error::world(format!("{e}")))?;
    let mut doc: toml_edit::DocumentMut = API_MANIFEST.parse().map_err(|e| Error::world(format!("{e}")))?;
    let inherited = |item: &toml_edit::Item| item.get("workspace").and_then(|w| w.as_bool()) == Some(true);
    if let Some(pkg) = doc.get_mut("package").and_then(|p| p.as_table_mut()) {
        let keys: Vec<String> =
            pkg.iter().filter(|(_, v)| inherited(v)).map(|(k, _)| k.to_string()).collect();
        for k in keys {
            if let Some(v) = ws["workspace"]["package"].get(&k) {
                pkg.insert(&k, v.clone());
            }
        }
    }
    if let Some(deps) = doc.get_mut("dependencies").and_then(|d| d.as_table_like_mut()) {
        let keys: Vec<String> =
            deps.iter().filter(|(_, v)| inherited(v)).map(|(k, _)| k.to_string()).collect();
        for k in keys {
            if let Some(v) = ws["workspace"]["dependencies"].get(&k) {
                deps.insert(&k, v.clone());
            }
        }
    }
    // No `[workspace]` here: the plugin crate around it is the workspace root.
    Ok(doc.to_string())
}

#[derive(Debug, Clone, Serialize)]
pub struct NewPluginReport {
    pub plugin: String,
    pub dir: PathBuf,
    /// Where `cargo build --release` puts the library.
    pub library: PathBuf,
    /// True when it was added to the workspace's `[plugins]`.
    pub registered: bool,
    pub files: Vec<PathBuf>,
}

/// Scaffolds a plugin crate in `dir/<name>` and, inside a workspace, registers it.
pub fn new(
    ws: Option<&mut Workspace>,
    name: &str,
    dir: &Path,
    template_dirs: &[PathBuf],
) -> Result<NewPluginReport> {
    names::check_slug("plugin", name).map_err(|m| Error::input(Problem::new(m).field("<name>")))?;
    let dest = dir.join(name);
    if !crate::fs::is_absent_or_empty_dir(&dest) {
        return Err(Error::input(
            Problem::new(format!("{} already exists and is not empty; nothing was changed", dest.display()))
                .field("<name>"),
        ));
    }
    if let Some(ws) = ws.as_deref()
        && ws.manifest().plugins.contains_key(name)
    {
        return Err(Error::input(
            ws.problem_at(&["plugins", name], format!("a plugin named `{name}` is already registered")),
        ));
    }
    let crate_name = format!("mcpkit_plugin_{}", name.replace('-', "_"));
    let registry = Registry::load(template_dirs)?;
    let template = registry.require("plugin", Kind::Plugin)?;
    let vars = BTreeMap::from([
        ("plugin_name".to_string(), name.to_string()),
        ("crate_name".to_string(), crate_name.clone()),
        ("mcpkit_version".to_string(), crate::VERSION.to_string()),
    ]);
    let staging = Staging::new(&dest)?;
    let mut files = Vec::new();
    for (rel, bytes) in template.render(&vars)? {
        staging.write(&rel, &bytes)?;
        files.push(rel);
    }
    let vendor = Path::new("vendor/mcpkit-plugin-api");
    staging.write(&vendor.join("Cargo.toml"), standalone_api_manifest()?.as_bytes())?;
    files.push(vendor.join("Cargo.toml"));
    for (rel, text) in API_FILES {
        staging.write(&vendor.join(rel), text.as_bytes())?;
        files.push(vendor.join(rel));
    }
    let library = dest.join("target/release").join(format!("lib{crate_name}.so"));
    let mut registered = false;
    match ws {
        Some(ws) => {
            let mut next = ws.clone();
            next.add_plugin(name, &next.manifest_path_for(&library))?;
            let dir = staging.commit()?;
            if let Err(e) = next.save() {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
            *ws = next;
            registered = true;
        }
        None => {
            staging.commit()?;
        }
    }
    files.sort();
    Ok(NewPluginReport { plugin: name.to_string(), dir: dest, library, registered, files })
}
