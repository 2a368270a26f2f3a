//! The registry of auth providers: built-ins (`local`, `cognito`, `iam`) and plugins (from
//! `[plugins.<name>]` in mcpkit.toml and the user's plugin folder), reached the same way.
//! Loading never stops at a broken plugin: its error is kept with its entry, and reported
//! where the plugin is listed or used.

use mcpkit_plugin_api::{
    AuthProvider, Capability, Description, PluginError, ProvisionRequest, ProvisionResponse, ResourceRequest,
    TokenResponse,
};
use mcpkit_workspace::error::{Error, Problem, Result};
use mcpkit_workspace::manifest::Workspace;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a provider comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "type", content = "path")]
pub enum Source {
    Builtin,
    /// `[plugins.<name>] path` in mcpkit.toml.
    Manifest(PathBuf),
    /// The user's plugin folder.
    User(PathBuf),
}

pub struct Entry {
    pub name: String,
    pub source: Source,
    pub provider: std::result::Result<Arc<dyn AuthProvider>, String>,
    /// Settings for the provider (`[plugins.<name>.config]`).
    pub config: serde_json::Map<String, serde_json::Value>,
}

/// What `mcpkit plugin list` shows of one entry.
#[derive(Debug, Clone, Serialize)]
pub struct Info {
    pub name: String,
    pub source: Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub capabilities: Vec<Capability>,
    pub targets: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub struct Providers {
    entries: BTreeMap<String, Entry>,
}

/// The provider a target uses when mcpkit.toml names none.
pub fn default_for(target: &str) -> &'static str {
    if target == "aws" { "cognito" } else { "local" }
}

/// The user's plugin folder: `$MCPKIT_CONFIG_DIR/plugins` (default `~/.config/mcpkit/plugins`).
pub fn user_plugin_dir() -> Option<PathBuf> {
    mcpkit_workspace::config_dir().map(|d| d.join("plugins"))
}

impl Providers {
    /// Built-ins, the user's plugin folder, then the workspace's `[plugins]` (later wins).
    /// Puts a built-in provider's implementation in place of its description.
    pub fn with(mut self, provider: Arc<dyn AuthProvider>) -> Self {
        let name = provider.describe().name;
        if let Some(e) = self.entries.get_mut(&name)
            && matches!(e.source, Source::Builtin)
        {
            e.provider = Ok(provider);
        }
        self
    }

    pub fn load(ws: Option<&Workspace>) -> Self {
        let mut entries = BTreeMap::new();
        for p in builtins() {
            let name = p.describe().name;
            entries.insert(
                name.clone(),
                Entry { name, source: Source::Builtin, provider: Ok(p), config: Default::default() },
            );
        }
        if let Some(dir) = user_plugin_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| is_library(p)).collect())
                .unwrap_or_default();
            files.sort();
            for path in files {
                let stem = path.file_stem().unwrap_or_default().to_string_lossy();
                let name = stem.strip_prefix("lib").unwrap_or(&stem).to_string();
                let provider = load_dylib(&path);
                entries.insert(
                    name.clone(),
                    Entry { name, source: Source::User(path), provider, config: Default::default() },
                );
            }
        }
        if let Some(ws) = ws {
            for (name, p) in &ws.manifest().plugins {
                let config: serde_json::Map<String, serde_json::Value> =
                    p.config.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                match &p.path {
                    Some(path) => {
                        let path = ws.resolve(path);
                        let provider = load_dylib(&path);
                        let entry =
                            Entry { name: name.clone(), source: Source::Manifest(path), provider, config };
                        entries.insert(name.clone(), entry);
                    }
                    // Settings for a plugin found elsewhere (the user's folder, a built-in).
                    None => match entries.get_mut(name) {
                        Some(e) => e.config = config,
                        None => {
                            let err = format!(
                                "`[plugins.{name}]` has no `path`, and no plugin named `{name}` is in the user's plugin folder"
                            );
                            let entry = Entry {
                                name: name.clone(),
                                source: Source::Manifest(PathBuf::new()),
                                provider: Err(err),
                                config,
                            };
                            entries.insert(name.clone(), entry);
                        }
                    },
                }
            }
        }
        Providers { entries }
    }

    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.get(name)
    }

    pub fn names(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    pub fn list(&self) -> Vec<Info> {
        self.entries
            .values()
            .map(|e| {
                let d = e.provider.as_ref().ok().map(|p| p.describe());
                Info {
                    name: e.name.clone(),
                    source: e.source.clone(),
                    version: d.as_ref().map(|d| d.version.clone()),
                    description: d.as_ref().map(|d| d.description.clone()),
                    capabilities: d.as_ref().map(|d| d.capabilities.clone()).unwrap_or_default(),
                    targets: d.as_ref().map(|d| d.targets.clone()).unwrap_or_default(),
                    error: e.provider.as_ref().err().cloned(),
                }
            })
            .collect()
    }

    /// Why `name` cannot secure `capability` on `target`, if it cannot.
    pub fn check(
        &self,
        name: &str,
        capability: Capability,
        target: &str,
    ) -> std::result::Result<(), (String, String)> {
        let Some(e) = self.entries.get(name) else {
            return Err((
                format!("there is no auth provider named `{name}`"),
                format!(
                    "known providers: {}; register a plugin under [plugins.{name}]",
                    self.names().join(", ")
                ),
            ));
        };
        let p = e.provider.as_ref().map_err(|err| {
            (
                format!("auth provider `{name}` cannot be loaded: {err}"),
                "see `mcpkit plugin list`".to_string(),
            )
        })?;
        let d = p.describe();
        if !d.capabilities.contains(&capability) {
            let what = if capability == Capability::Inbound {
                "inbound (clients to the gateway)"
            } else {
                "outbound (gateway to runtimes)"
            };
            return Err((
                format!("auth provider `{name}` cannot secure {what} traffic"),
                "choose another provider".into(),
            ));
        }
        if !d.targets.iter().any(|t| t == target) {
            return Err((
                format!("auth provider `{name}` is not supported on the {target} target"),
                format!("it supports: {}", d.targets.join(", ")),
            ));
        }
        Ok(())
    }

    /// The provider named `name`, for use.
    pub fn get(
        &self,
        name: &str,
    ) -> Result<(Arc<dyn AuthProvider>, serde_json::Map<String, serde_json::Value>)> {
        let e = self
            .entries
            .get(name)
            .ok_or_else(|| Error::input(Problem::new(format!("there is no auth provider named `{name}`"))))?;
        match &e.provider {
            Ok(p) => Ok((p.clone(), e.config.clone())),
            Err(err) => {
                Err(Error::input(Problem::new(format!("auth provider `{name}` cannot be loaded: {err}"))))
            }
        }
    }
}

fn is_library(p: &std::path::Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("so" | "dylib" | "dll"))
}

fn load_dylib(path: &std::path::Path) -> std::result::Result<Arc<dyn AuthProvider>, String> {
    super::plugin::DylibProvider::load(path).map(|p| Arc::new(p) as Arc<dyn AuthProvider>)
}

/// Every problem with the providers a workspace chooses for `target`, located in mcpkit.toml;
/// broken `[plugins]` entries too.
pub fn problems(ws: &Workspace, providers: &Providers, target: &str) -> Vec<Problem> {
    let m = ws.manifest();
    let mut out = Vec::new();
    let mut check = |keys: &[&str], chosen: &Option<String>, cap: Capability| {
        let name = chosen.as_deref().unwrap_or(default_for(target));
        if let Err((msg, hint)) = providers.check(name, cap, target) {
            let p = if chosen.is_some() {
                ws.problem_at(keys, msg)
            } else {
                Problem::new(msg).file(ws.manifest_path())
            };
            out.push(p.hint(hint));
        }
    };
    check(&["gateway", "auth"], &m.gateway.auth, Capability::Inbound);
    for (name, s) in &m.servers {
        check(&["servers", name, "auth"], &s.auth, Capability::Outbound);
    }
    for name in m.plugins.keys() {
        if let Some(Entry { provider: Err(e), .. }) = providers.entry(name) {
            out.push(
                ws.problem_at(&["plugins", name, "path"], format!("plugin `{name}` cannot be loaded: {e}")),
            );
        }
    }
    out
}

/// The built-in providers, as the registry knows them: their names, capabilities and targets.
/// Each is implemented by its target (`local` by mcpkit-local, `cognito` and `iam` by
/// mcpkit-aws), which puts the implementation in with [`Providers::with`]; this crate knows
/// neither.
pub fn builtin_description(name: &str) -> Option<Description> {
    let (description, target) = match name {
        "local" => ("mcpkit's embedded OAuth2 issuer: a Cognito-like realm per protected resource", "local"),
        "cognito" => ("Amazon Cognito user pools, one per protected resource (client credentials)", "aws"),
        "iam" => ("AWS IAM: SigV4 inbound (AWS_IAM) and outbound (GATEWAY_IAM_ROLE)", "aws"),
        _ => return None,
    };
    Some(Description {
        name: name.into(),
        version: mcpkit_workspace::VERSION.into(),
        description: description.into(),
        capabilities: vec![Capability::Inbound, Capability::Outbound],
        targets: vec![target.into()],
        config: vec![],
    })
}

fn builtins() -> Vec<Arc<dyn AuthProvider>> {
    ["local", "cognito", "iam"]
        .into_iter()
        .map(|name| Arc::new(Described { name }) as Arc<dyn AuthProvider>)
        .collect()
}

/// A built-in provider known by its description only, until its target puts the
/// implementation in.
struct Described {
    name: &'static str,
}

impl Described {
    fn unavailable(&self) -> PluginError {
        PluginError::world(format!(
            "internal: the `{}` provider is not implemented by this command",
            self.name
        ))
    }
}

impl AuthProvider for Described {
    fn describe(&self) -> Description {
        builtin_description(self.name).expect("a built-in name")
    }
    fn provision(&self, _: ProvisionRequest) -> std::result::Result<ProvisionResponse, PluginError> {
        Err(self.unavailable())
    }
    fn token(&self, _: ResourceRequest) -> std::result::Result<TokenResponse, PluginError> {
        Err(self.unavailable())
    }
    fn teardown(&self, _: ResourceRequest) -> std::result::Result<(), PluginError> {
        Err(self.unavailable())
    }
}

/// A plugin error in mcpkit's terms.
pub fn plugin_error(e: PluginError) -> Error {
    match e.kind {
        mcpkit_plugin_api::ErrorKind::Input => Error::input(Problem::new(e.message)),
        mcpkit_plugin_api::ErrorKind::World => Error::world(e.message),
    }
}
