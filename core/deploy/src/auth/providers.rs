//! The registry of auth providers: built-ins (`local`, `cognito`, `iam`) and plugins (from
//! `[plugins.<name>]` in mcpkit.toml and the user's plugin folder), reached the same way.
//! Loading never stops at a broken plugin: its error is kept with its entry, and reported
//! where the plugin is listed or used.

use super::trust::{self, Trust};
use mcpkit_plugin_api::{
    AuthProvider, Capability, Description, PluginError, ProvisionRequest, ProvisionResponse, ResourceRequest,
    TokenResponse,
};
use mcpkit_workspace::error::{Error, Problem, Result};
use mcpkit_workspace::manifest::Workspace;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

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
    /// Settings for the provider (`[plugins.<name>.config]`).
    pub config: serde_json::Map<String, serde_json::Value>,
    /// What the user said of the library a workspace names (see [`super::trust`]); `None`
    /// for built-ins and the user's own plugin folder.
    pub trust: Option<Trust>,
    loader: Loader,
    loaded: OnceLock<std::result::Result<Arc<dyn AuthProvider>, String>>,
}

/// How an entry's provider comes to be: a library is loaded (its code run) only when the
/// provider is first needed, and never when the user has not trusted it.
enum Loader {
    Ready(std::result::Result<Arc<dyn AuthProvider>, String>),
    Library(PathBuf),
}

impl Entry {
    fn new(name: &str, source: Source, loader: Loader) -> Entry {
        Entry {
            name: name.to_string(),
            source,
            config: Default::default(),
            trust: None,
            loader,
            loaded: OnceLock::new(),
        }
    }

    /// The provider, loading its library on first use (when trusted).
    pub fn provider(&self) -> &std::result::Result<Arc<dyn AuthProvider>, String> {
        self.loaded.get_or_init(|| match (&self.loader, self.trust) {
            (Loader::Ready(r), _) => r.clone(),
            (Loader::Library(path), None | Some(Trust::Trusted)) => load_dylib(path),
            (Loader::Library(path), Some(Trust::Changed)) => Err(format!(
                "{} has changed since you trusted it; loading it would run its code",
                path.display()
            )),
            (Loader::Library(path), Some(Trust::Untrusted)) => {
                Err(format!("{} is not trusted; loading it would run its code", path.display()))
            }
        })
    }

    /// Whether the entry is a library the user has not trusted (as it is now).
    pub fn untrusted(&self) -> bool {
        matches!(self.trust, Some(Trust::Untrusted | Trust::Changed))
    }

    /// What to tell the user to do about an untrusted entry.
    fn trust_hint(&self) -> String {
        format!("read what the library is, then `mcpkit plugin trust {}`", self.name)
    }
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
    /// For a library a workspace names: whether the user trusts it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust: Option<Trust>,
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
            e.loader = Loader::Ready(Ok(provider));
            e.loaded = OnceLock::new();
        }
        self
    }

    pub fn load(ws: Option<&Workspace>) -> Self {
        let mut entries = BTreeMap::new();
        for p in builtins() {
            let name = p.describe().name;
            entries.insert(name.clone(), Entry::new(&name, Source::Builtin, Loader::Ready(Ok(p))));
        }
        if let Some(dir) = user_plugin_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| is_library(p)).collect())
                .unwrap_or_default();
            files.sort();
            for path in files {
                let stem = path.file_stem().unwrap_or_default().to_string_lossy();
                let name = stem.strip_prefix("lib").unwrap_or(&stem).to_string();
                let entry = Entry::new(&name, Source::User(path.clone()), Loader::Library(path));
                entries.insert(name, entry);
            }
        }
        if let Some(ws) = ws {
            for (name, p) in &ws.manifest().plugins {
                let config: serde_json::Map<String, serde_json::Value> =
                    p.config.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                match &p.path {
                    Some(path) => {
                        let path = ws.resolve(path);
                        let mut entry =
                            Entry::new(name, Source::Manifest(path.clone()), Loader::Library(path.clone()));
                        entry.config = config;
                        match trust::check(&path) {
                            Ok(t) => entry.trust = Some(t),
                            Err(e) => entry.loader = Loader::Ready(Err(format!("cannot read it: {e}"))),
                        }
                        entries.insert(name.clone(), entry);
                    }
                    // Settings for a plugin found elsewhere (the user's folder, a built-in).
                    None => match entries.get_mut(name) {
                        Some(e) => e.config = config,
                        None => {
                            let err = format!(
                                "`[plugins.{name}]` has no `path`, and no plugin named `{name}` is in the user's plugin folder"
                            );
                            let mut entry =
                                Entry::new(name, Source::Manifest(PathBuf::new()), Loader::Ready(Err(err)));
                            entry.config = config;
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

    /// Every entry, described by its provider; a library the user has not trusted is listed
    /// as such, never loaded.
    pub fn list(&self) -> Vec<Info> {
        self.entries
            .values()
            .map(|e| {
                let provider = (!e.untrusted()).then(|| e.provider());
                let d = provider.and_then(|p| p.as_ref().ok()).map(|p| p.describe());
                let error = match provider {
                    Some(Err(err)) => Some(err.clone()),
                    Some(Ok(_)) => None,
                    None => Some(format!("not trusted: {}", e.trust_hint())),
                };
                Info {
                    name: e.name.clone(),
                    source: e.source.clone(),
                    version: d.as_ref().map(|d| d.version.clone()),
                    description: d.as_ref().map(|d| d.description.clone()),
                    capabilities: d.as_ref().map(|d| d.capabilities.clone()).unwrap_or_default(),
                    targets: d.as_ref().map(|d| d.targets.clone()).unwrap_or_default(),
                    trust: e.trust,
                    error,
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
        let p = e.provider().as_ref().map_err(|err| {
            let hint = if e.untrusted() { e.trust_hint() } else { "see `mcpkit plugin list`".to_string() };
            (format!("auth provider `{name}` cannot be loaded: {err}"), hint)
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
        match e.provider() {
            Ok(p) => Ok((p.clone(), e.config.clone())),
            Err(err) => {
                let problem = Problem::new(format!("auth provider `{name}` cannot be loaded: {err}"));
                Err(Error::input(if e.untrusted() { problem.hint(e.trust_hint()) } else { problem }))
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
    // A plugin no leg uses is not loaded (its code not run); a library it names that is not
    // there is still a mistake worth saying.
    for name in m.plugins.keys() {
        if let Some(Entry { source: Source::Manifest(path), loader, .. }) = providers.entry(name) {
            let missing = match loader {
                Loader::Ready(Err(e)) => Some(e.clone()),
                _ if !path.is_file() => Some(format!("{} does not exist", path.display())),
                _ => None,
            };
            if let Some(e) = missing {
                out.push(ws.problem_at(
                    &["plugins", name, "path"],
                    format!("plugin `{name}` cannot be loaded: {e}"),
                ));
            }
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
