//! `mcpkit.toml`: the one source of truth of a project.
//!
//! A [`Workspace`] keeps the typed [`Manifest`] and the `toml_edit` document it came from side
//! by side. Reads go through the typed view; every edit mcpkit makes goes through the
//! document, so the user's comments, ordering and formatting survive. After an edit the new
//! text is parsed and validated again before it is written (atomically), so mcpkit never writes
//! a manifest it could not read back.

use crate::error::{Error, Problem, Result, line_col};
use crate::names;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml_edit::{DocumentMut, Item, Table, value};

pub const MANIFEST: &str = "mcpkit.toml";

/// The typed view of mcpkit.toml.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub project: Project,
    pub gateway: Gateway,
    #[serde(default)]
    pub servers: BTreeMap<String, Server>,
    #[serde(default)]
    pub targets: Targets,
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginEntry>,
    /// `[environments.<name>]`: the same workspace deployed under another name beside the
    /// first (dev, staging, prod), each an overlay on what is above.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environments: BTreeMap<String, Environment>,
}

/// One environment's overlay. Only what it names changes; the environment's name goes into
/// every physical name (`names::gateway_in`, `names::server_in`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    #[serde(default, skip_serializing_if = "EnvironmentTargets::is_empty")]
    pub targets: EnvironmentTargets,
    /// Per server: environment variables added to (or replacing) the server's own `env`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub servers: BTreeMap<String, EnvironmentServer>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentTargets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsTarget>,
}

impl EnvironmentTargets {
    fn is_empty(&self) -> bool {
        self.local.is_none() && self.aws.is_none()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentServer {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Project {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Inbound auth plugin (clients to the gateway). Absent: the target's default
    /// (`local` on the local target, `cognito` on AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BuildKind {
    /// AgentCore direct code deployment: a zip of the code and its aarch64 wheels on S3.
    #[default]
    Code,
    /// A linux/arm64 container image in ECR.
    Container,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// The server's Python entry point, relative to the workspace (or absolute when the server
    /// lives outside it).
    pub entrypoint: String,
    /// Its requirements file, same convention.
    pub requirements: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Outbound auth plugin (the gateway to this runtime). Absent: the target's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub build: BuildKind,
    #[serde(default = "yes")]
    pub auto_create_execution_role: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    #[serde(default = "yes")]
    pub auto_create_ecr: bool,
    /// When several servers serve the same resource URI, the gateway reads it from the one
    /// with the lowest priority (AgentCore's `resourcePriority`; absent: 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_priority: Option<u32>,
}

/// The largest `resourcePriority` AgentCore takes (its model: `McpServerTargetConfiguration`,
/// 0-1000), which is also its default.
pub const MAX_RESOURCE_PRIORITY: u32 = 1000;

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    #[serde(default)]
    pub local: LocalTarget,
    #[serde(default)]
    pub aws: AwsTarget,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LocalTarget {
    /// Port of the local gateway; absent: a free port is chosen at deploy time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Servers get the whole environment of whoever deploys, not only what mcpkit.toml
    /// declares (as AgentCore gives them) and a minimal base.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inherit_env: bool,
    /// Seconds the local issuer's access tokens are valid (default an hour, as Cognito's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetime_s: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwsTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Seconds the gateway's Cognito client's access tokens are valid (Cognito's default: an
    /// hour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetime_s: Option<u64>,
}

/// A key path made of two.
fn path<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<&'a str> {
    [a, b].concat()
}

/// The access-token validity Cognito accepts, in seconds: five minutes to one day
/// (TokenValidityUnitsType, Amazon Cognito API Reference).
pub const COGNITO_TOKEN_LIFETIME_S: std::ops::RangeInclusive<u64> = 300..=86400;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PluginEntry {
    /// Path of the plugin's shared library. Absent: settings for a plugin of that name in the
    /// user's plugin folder (or a built-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Settings passed to the plugin.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, serde_json::Value>,
}

/// A loaded workspace: its root folder, the manifest's text, document and typed view.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    text: String,
    doc: DocumentMut,
    manifest: Manifest,
    /// The environment this workspace is seen in (`in_environment`); its manifest then has the
    /// environment's overlay applied.
    environment: Option<String>,
}

impl Workspace {
    /// Finds the workspace containing `start`: the nearest folder at or above it that holds
    /// an mcpkit.toml.
    pub fn find(start: &Path) -> Result<Self> {
        let start = std::path::absolute(start).map_err(|e| Error::io("resolve", start, e))?;
        for dir in start.ancestors() {
            if dir.join(MANIFEST).is_file() {
                return Self::load(dir);
            }
        }
        Err(Error::input(
            Problem::new(format!("no {MANIFEST} in {} or any folder above it", start.display()))
                .hint("run `mcpkit new <name>` to create a workspace, or pass `--workspace <dir>`"),
        ))
    }

    /// Loads the workspace whose root folder is `root`.
    pub fn load(root: &Path) -> Result<Self> {
        let path = root.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::input(
                    Problem::new(format!("{} does not exist", path.display()))
                        .hint("run `mcpkit new <name>` to create a workspace, or pass `--workspace <dir>`"),
                )
            } else {
                Error::io("read", &path, e)
            }
        })?;
        Self::from_text(root, text)
    }

    /// Parses a manifest's text. Syntax and type errors are located by line and column.
    pub fn from_text(root: &Path, text: String) -> Result<Self> {
        let path = root.join(MANIFEST);
        let doc: DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| toml_problem(&path, &text, e.message(), e.span()))?;
        let manifest: Manifest =
            toml_edit::de::from_str(&text).map_err(|e| toml_problem(&path, &text, e.message(), e.span()))?;
        Ok(Workspace { root: root.to_path_buf(), text, doc, manifest, environment: None })
    }

    /// The environment this workspace is seen in, if any.
    pub fn environment(&self) -> Option<&str> {
        self.environment.as_deref()
    }

    /// The workspace as environment `name` deploys it: the environment's targets' settings
    /// over the workspace's, its servers' variables over theirs. An environment that
    /// mcpkit.toml does not declare is bad input, naming the ones it does.
    pub fn in_environment(&self, name: &str) -> Result<Workspace> {
        let Some(overlay) = self.manifest.environments.get(name) else {
            let known: Vec<&str> = self.manifest.environments.keys().map(String::as_str).collect();
            let hint = if known.is_empty() {
                "mcpkit.toml declares no environment: add an `[environments.<name>]` table".to_string()
            } else {
                format!("mcpkit.toml declares {}", known.join(", "))
            };
            return Err(Error::input(
                Problem::new(format!("no environment `{name}`"))
                    .file(self.manifest_path())
                    .field("--env")
                    .hint(hint),
            ));
        };
        let mut m = self.manifest.clone();
        if let Some(local) = &overlay.targets.local {
            let t = &mut m.targets.local;
            t.port = local.port.or(t.port);
            t.inherit_env |= local.inherit_env;
            t.token_lifetime_s = local.token_lifetime_s.or(t.token_lifetime_s);
        }
        if let Some(aws) = &overlay.targets.aws {
            let t = &mut m.targets.aws;
            t.region = aws.region.clone().or(t.region.take());
            t.profile = aws.profile.clone().or(t.profile.take());
            t.token_lifetime_s = aws.token_lifetime_s.or(t.token_lifetime_s);
        }
        for (server, extra) in &overlay.servers {
            if let Some(s) = m.servers.get_mut(server) {
                s.env.extend(extra.env.clone());
            }
        }
        Ok(Workspace { manifest: m, environment: Some(name.to_string()), ..self.clone() })
    }

    /// The gateway's physical names, in this workspace's environment.
    pub fn gateway_names(&self) -> names::GatewayNames {
        names::gateway_in(&self.manifest.gateway.name, self.environment())
    }

    /// Server `server`'s physical names, in this workspace's environment.
    pub fn server_names(&self, server: &str) -> names::ServerNames {
        names::server_in(&self.manifest.gateway.name, server, self.environment())
    }

    /// The name server `server`'s Cognito realm is made from, in this workspace's environment.
    pub fn server_realm(&self, server: &str) -> String {
        names::server_realm(server, self.environment())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn manifest_path(&self) -> PathBuf {
        self.root.join(MANIFEST)
    }
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    pub fn text(&self) -> &str {
        &self.text
    }

    /// A path from the manifest resolved against the workspace root.
    pub fn resolve(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() { p.to_path_buf() } else { self.root.join(p) }
    }

    /// How a path should be written into the manifest: relative to the workspace when it lies
    /// inside it, absolute otherwise.
    pub fn manifest_path_for(&self, path: &Path) -> String {
        let abs = crate::fs::normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
        let root =
            crate::fs::normalize(&std::path::absolute(&self.root).unwrap_or_else(|_| self.root.clone()));
        match abs.strip_prefix(&root) {
            Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
            Err(_) => abs.to_string_lossy().into_owned(),
        }
    }

    /// Line and column of the value (or table) at a key path, for error messages.
    pub fn locate(&self, keys: &[&str]) -> Option<(usize, usize)> {
        let doc = toml_edit::Document::parse(self.text.clone()).ok()?;
        let mut item: &Item = doc.as_item();
        let mut span = None;
        for k in keys {
            let table = item.as_table_like()?;
            let (key, next) = table.get_key_value(k)?;
            span = next.span().or_else(|| key.span()).or(span);
            item = next;
        }
        span.map(|s| line_col(&self.text, s.start))
    }

    /// A problem located at a key path of this manifest.
    pub fn problem_at(&self, keys: &[&str], message: impl Into<String>) -> Problem {
        let mut p = Problem::new(message).file(self.manifest_path()).field(keys.join("."));
        if let Some((l, c)) = self.locate(keys) {
            p = p.at(l, c);
        }
        p
    }

    /// Every problem with the manifest and the files it names; empty when all is well.
    pub fn validate(&self) -> Vec<Problem> {
        let m = &self.manifest;
        let mut out = Vec::new();
        if let Err(e) = names::check_slug("project", &m.project.name) {
            out.push(self.problem_at(&["project", "name"], e));
        }
        for e in names::check_gateway(&m.gateway.name) {
            out.push(self.problem_at(&["gateway", "name"], e));
        }
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for (name, server) in &m.servers {
            for e in names::check_server(&m.gateway.name, name) {
                out.push(self.problem_at(&["servers", name], e));
            }
            if let Some(other) = seen.insert(name.to_lowercase(), name) {
                out.push(self.problem_at(
                    &["servers", name],
                    format!("server `{name}` differs from server `{other}` only in case; AWS names (IAM roles) would collide"),
                ));
            }
            if let Some(p) = server.resource_priority
                && p > MAX_RESOURCE_PRIORITY
            {
                out.push(
                    self.problem_at(
                        &["servers", name, "resource_priority"],
                        format!("resource_priority {p} is out of range: AgentCore takes 0 to {MAX_RESOURCE_PRIORITY}"),
                    )
                    .hint("the lowest value wins a resource URI several servers serve; 1000 is the default"),
                );
            }
            out.extend(check_server_files(self, name, server));
        }
        out.extend(self.check_token_lifetimes(&["targets"], &m.targets.local, &m.targets.aws));
        out.extend(self.check_environments());
        out
    }

    /// Each environment: its name, every name it derives (a long server name may fit alone
    /// and not with an environment's part), the servers it names, its targets' settings.
    fn check_environments(&self) -> Vec<Problem> {
        let m = &self.manifest;
        let mut out = Vec::new();
        for (env, overlay) in &m.environments {
            let base = ["environments", env.as_str()];
            let at = |rest: &[&'static str]| -> Vec<&str> { path(&base, rest) };
            let own = names::check_environment(env);
            out.extend(own.iter().map(|e| {
                self.problem_at(&at(&[]), e.clone())
                    .hint("lower-case letters and digits, starting with a letter: dev, staging, prod")
            }));
            if !own.is_empty() {
                continue;
            }
            for e in names::check_gateway_in(&m.gateway.name, Some(env)) {
                out.push(self.problem_at(&at(&[]), format!("in environment `{env}`: {e}")));
            }
            for name in m.servers.keys() {
                for e in names::check_server_in(&m.gateway.name, name, Some(env)) {
                    out.push(self.problem_at(&at(&[]), format!("in environment `{env}`: {e}")));
                }
            }
            for name in overlay.servers.keys().filter(|s| !m.servers.contains_key(*s)) {
                out.push(
                    self.problem_at(
                        &path(&base, &["servers", name]),
                        format!("no server `{name}` in this workspace"),
                    )
                    .hint("an environment overlays the servers of [servers]; it cannot add one"),
                );
            }
            let (local, aws) = (
                overlay.targets.local.clone().unwrap_or_default(),
                overlay.targets.aws.clone().unwrap_or_default(),
            );
            out.extend(self.check_token_lifetimes(&at(&["targets"]), &local, &aws));
        }
        out.extend(self.check_environment_collisions());
        out
    }

    /// Two deployments of this workspace (its own, and each valid environment's) that would
    /// need the same account-unique name: AWS would refuse the second, or one would adopt the
    /// other's resource. Compared without case, as IAM compares names.
    fn check_environment_collisions(&self) -> Vec<Problem> {
        let m = &self.manifest;
        let envs = std::iter::once(None).chain(
            m.environments
                .keys()
                .filter(|e| names::check_environment(e).is_empty())
                .map(|e| Some(e.as_str())),
        );
        let deployment = |e: Option<&str>| match e {
            Some(e) => format!("environment `{e}`"),
            None => "the workspace's own deployment".to_string(),
        };
        let mut seen: BTreeMap<(&str, String), (Option<&str>, String)> = BTreeMap::new();
        let mut out = Vec::new();
        for env in envs {
            let g = names::gateway_in(&m.gateway.name, env);
            let mut owned = vec![
                ("gateway", g.gateway.clone(), "the gateway".to_string()),
                ("IAM role", g.role, "the gateway".into()),
            ];
            for server in m.servers.keys() {
                let n = names::server_in(&m.gateway.name, server, env);
                let who = format!("server `{server}`");
                owned.extend([
                    ("runtime", n.runtime, who.clone()),
                    ("IAM role", n.role, who.clone()),
                    ("credential provider", n.identity, who.clone()),
                    ("user pool", n.pool, who.clone()),
                    ("ECR repository", n.ecr_repository, who),
                ]);
            }
            for (kind, name, who) in owned {
                use std::collections::btree_map::Entry;
                match seen.entry((kind, name.to_lowercase())) {
                    Entry::Vacant(v) => {
                        v.insert((env, who));
                    }
                    Entry::Occupied(o) if o.get().0 != env => {
                        let (other_env, other_who) = o.get();
                        let at = env.or(*other_env).expect("one of two deployments is an environment");
                        out.push(
                            self.problem_at(
                                &["environments", at],
                                format!(
                                    "{who} in {} and {other_who} in {} would both be {kind} `{name}`",
                                    deployment(env),
                                    deployment(*other_env)
                                ),
                            )
                            .hint("rename the server or the environment: AWS names are unique in an account"),
                        );
                    }
                    Entry::Occupied(_) => {}
                }
            }
        }
        out
    }

    /// `token_lifetime_s` of each target, in the range its issuer takes.
    fn check_token_lifetimes(&self, at: &[&str], local: &LocalTarget, aws: &AwsTarget) -> Vec<Problem> {
        let key = |target: &'static str| -> Vec<&str> { path(at, &[target, "token_lifetime_s"]) };
        let mut out = Vec::new();
        if local.token_lifetime_s == Some(0) {
            out.push(
                self.problem_at(&key("local"), "token_lifetime_s must be at least 1")
                    .hint("seconds the local issuer's tokens are valid; 3600 is the default"),
            );
        }
        if let Some(s) = aws.token_lifetime_s
            && !COGNITO_TOKEN_LIFETIME_S.contains(&s)
        {
            out.push(
                self.problem_at(
                    &key("aws"),
                    format!(
                        "token_lifetime_s {s} is out of range: Cognito takes {} to {} seconds",
                        COGNITO_TOKEN_LIFETIME_S.start(),
                        COGNITO_TOKEN_LIFETIME_S.end()
                    ),
                )
                .hint("five minutes to one day; 3600 is the default"),
            );
        }
        out
    }

    /// Fails with every problem [`Workspace::validate`] finds.
    pub fn ensure_valid(&self) -> Result<()> {
        let problems = self.validate();
        if problems.is_empty() { Ok(()) } else { Err(Error::Input(problems)) }
    }

    /// Adds a server entry, keeping everything else in the document as it was.
    pub fn add_server(&mut self, name: &str, server: &Server) -> Result<()> {
        if let Some(existing) = self.manifest.servers.keys().find(|k| k.eq_ignore_ascii_case(name)) {
            return Err(Error::input(
                self.problem_at(
                    &["servers", existing],
                    format!("a server named `{existing}` already exists"),
                )
                .hint("choose another name, or remove the existing entry from mcpkit.toml first"),
            ));
        }
        self.top_table("servers")?.insert(name, Item::Table(server_table(server)));
        self.refresh()
    }

    /// Adds `[environments.<name>]`, with `[environments.<name>.targets.aws]` holding `aws`'s
    /// settings when it has any; comments and the rest of the document stay as they are.
    pub fn add_environment(&mut self, name: &str, aws: &AwsTarget) -> Result<()> {
        if self.manifest.environments.contains_key(name) {
            return Err(Error::input(
                self.problem_at(&["environments", name], format!("environment `{name}` already exists"))
                    .hint("edit its table in mcpkit.toml, or choose another name"),
            ));
        }
        let mut env = Table::new();
        let mut t = Table::new();
        if let Some(r) = &aws.region {
            t.insert("region", value(r.as_str()));
        }
        if let Some(p) = &aws.profile {
            t.insert("profile", value(p.as_str()));
        }
        if let Some(s) = aws.token_lifetime_s {
            t.insert("token_lifetime_s", value(s as i64));
        }
        if !t.is_empty() {
            let mut targets = Table::new();
            targets.set_implicit(true);
            targets.insert("aws", Item::Table(t));
            env.set_implicit(true);
            env.insert("targets", Item::Table(targets));
        }
        self.top_table("environments")?.insert(name, Item::Table(env));
        self.refresh()
    }

    /// Registers a plugin library under `[plugins.<name>]`.
    pub fn add_plugin(&mut self, name: &str, path: &str) -> Result<()> {
        let mut t = Table::new();
        t.insert("path", value(path));
        self.top_table("plugins")?.insert(name, Item::Table(t));
        self.refresh()
    }

    /// Sets `[targets.aws] region`.
    pub fn set_aws_region(&mut self, region: &str) -> Result<()> {
        self.top_table("targets")?["aws"]["region"] = value(region);
        self.refresh()
    }

    /// A top-level table of the document (`[servers]`, `[plugins]`, ...), created implicit
    /// (no header of its own) when missing.
    fn top_table(&mut self, key: &str) -> Result<&mut Table> {
        let not_a_table = self.problem_at(&[key], format!("`{key}` must be a table"));
        let item = self.doc.entry(key).or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        });
        item.as_table_mut().ok_or_else(|| Error::input(not_a_table))
    }

    /// Re-derives text and typed view from the edited document.
    fn refresh(&mut self) -> Result<()> {
        let fresh = Workspace::from_text(&self.root, self.doc.to_string())?;
        *self = fresh;
        Ok(())
    }

    /// Writes the manifest atomically.
    pub fn save(&self) -> Result<()> {
        crate::fs::write_atomic(&self.manifest_path(), self.text.as_bytes())
    }
}

/// The document table of a server, with only the keys that differ from the defaults.
fn server_table(s: &Server) -> Table {
    let mut t = Table::new();
    if let Some(d) = &s.description {
        t.insert("description", value(d.as_str()));
    }
    t.insert("entrypoint", value(s.entrypoint.as_str()));
    t.insert("requirements", value(s.requirements.as_str()));
    if let Some(a) = &s.auth {
        t.insert("auth", value(a.as_str()));
    }
    if s.build != BuildKind::Code {
        t.insert("build", value("container"));
    }
    if !s.auto_create_execution_role {
        t.insert("auto_create_execution_role", value(false));
    }
    if let Some(arn) = &s.execution_role_arn {
        t.insert("execution_role_arn", value(arn.as_str()));
    }
    if !s.auto_create_ecr {
        t.insert("auto_create_ecr", value(false));
    }
    if let Some(p) = s.resource_priority {
        t.insert("resource_priority", value(i64::from(p)));
    }
    if !s.env.is_empty() {
        let mut env = toml_edit::InlineTable::new();
        for (k, v) in &s.env {
            env.insert(k, v.as_str().into());
        }
        t.insert("env", value(env));
    }
    t
}

fn toml_problem(path: &Path, text: &str, message: &str, span: Option<std::ops::Range<usize>>) -> Error {
    let mut p = Problem::new(format!("invalid mcpkit.toml: {}", message.trim())).file(path);
    if let Some(s) = span {
        let (l, c) = line_col(text, s.start);
        p = p.at(l, c);
    }
    Error::input(p)
}

/// Checks a server's entrypoint and requirements: extensions, containment, existence.
fn check_server_files(ws: &Workspace, name: &str, s: &Server) -> Vec<Problem> {
    let mut out = Vec::new();
    for (key, value, ext) in [("entrypoint", &s.entrypoint, "py"), ("requirements", &s.requirements, "txt")] {
        let keys = ["servers", name, key];
        out.extend(check_path_value(value, ext).map(|m| ws.problem_at(&keys, m)));
        if out.iter().any(|p| p.field.as_deref() == Some(&keys.join("."))) {
            continue;
        }
        let full = ws.resolve(value);
        if !full.is_file() {
            out.push(ws.problem_at(&keys, format!("{} does not exist", full.display())));
        }
    }
    out
}

/// The checks the original toolkit applied to file arguments: the right extension and no `..`.
/// Returns the message of the first violation.
pub fn check_path_value(value: &str, ext: &str) -> Option<String> {
    let p = Path::new(value);
    if value.trim().is_empty() {
        return Some("must not be empty".into());
    }
    if p.components().any(|c| c == std::path::Component::ParentDir) {
        return Some(format!("`{value}` must not contain `..`"));
    }
    if p.extension().and_then(|e| e.to_str()) != Some(ext) {
        return Some(format!("`{value}` must be a .{ext} file"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[project]
name = "shop"

[gateway]
name = "shop"

[servers.api]
entrypoint = "api.py"
requirements = "requirements.txt"
env = { LOG_LEVEL = "INFO", REGION_NAME = "home" }

[targets.aws]
region = "us-east-1"
profile = "base"

[environments.prod.targets.aws]
region = "eu-west-1"
token_lifetime_s = 900

[environments.prod.servers.api]
env = { LOG_LEVEL = "WARNING" }

[environments.dev]
"#;

    #[test]
    fn an_environment_overlays_targets_and_server_variables_and_nothing_else() {
        let ws = Workspace::from_text(Path::new("/nowhere"), BASE.to_string()).unwrap();
        assert_eq!(ws.environment(), None);
        let prod = ws.in_environment("prod").unwrap();
        assert_eq!(prod.environment(), Some("prod"));
        let aws = &prod.manifest().targets.aws;
        assert_eq!(
            (aws.region.as_deref(), aws.profile.as_deref(), aws.token_lifetime_s),
            (Some("eu-west-1"), Some("base"), Some(900))
        );
        let env = &prod.manifest().servers["api"].env;
        assert_eq!(env["LOG_LEVEL"], "WARNING");
        assert_eq!(env["REGION_NAME"], "home", "what the overlay does not name stays");
        assert_eq!(
            ws.manifest().servers["api"].env["LOG_LEVEL"],
            "INFO",
            "the workspace itself is unchanged"
        );
        let dev = ws.in_environment("dev").unwrap();
        assert_eq!(dev.manifest().targets, ws.manifest().targets);
        let e = ws.in_environment("qa").unwrap_err().to_string();
        assert!(e.contains("no environment `qa`") && e.contains("dev, prod"), "{e}");
    }

    #[test]
    fn two_deployments_that_would_share_an_account_unique_name_are_refused() {
        let text = "[project]\nname = \"p\"\n\n[gateway]\nname = \"g\"\n\n[servers.calc]\nentrypoint = \"a.py\"\nrequirements = \"r.txt\"\n\n[servers.calc-dev]\nentrypoint = \"a.py\"\nrequirements = \"r.txt\"\n\n[environments.dev]\n";
        let ws = Workspace::from_text(Path::new("/nowhere"), text.to_string()).unwrap();
        let problems = ws.check_environment_collisions();
        assert!(!problems.is_empty());
        let p = &problems[0];
        assert_eq!(p.field.as_deref(), Some("environments.dev"));
        assert!(p.line.is_some(), "located: {p:?}");
        assert!(
            p.message.contains("server `calc` in environment `dev`")
                && p.message.contains("server `calc-dev` in the workspace's own deployment")
                && p.message.contains("`calc-dev-identity`"),
            "{p:?}"
        );
        let fine = text.replace("[servers.calc-dev]", "[servers.calc-two]");
        let ws = Workspace::from_text(Path::new("/nowhere"), fine).unwrap();
        assert!(ws.check_environment_collisions().is_empty());
    }

    #[test]
    fn adding_an_environment_keeps_the_document_and_refuses_a_second_of_a_name() {
        let mut ws = Workspace::from_text(Path::new("/nowhere"), BASE.to_string()).unwrap();
        let aws = AwsTarget { region: Some("eu-central-1".into()), ..Default::default() };
        ws.add_environment("qa", &aws).unwrap();
        assert!(ws.text().starts_with(BASE), "the document is kept as it was:\n{}", ws.text());
        assert!(
            ws.text().contains("[environments.qa.targets.aws]\nregion = \"eu-central-1\""),
            "{}",
            ws.text()
        );
        let qa = ws.in_environment("qa").unwrap();
        assert_eq!(qa.manifest().targets.aws.region.as_deref(), Some("eu-central-1"));
        let e = ws.add_environment("prod", &AwsTarget::default()).unwrap_err().to_string();
        assert!(e.contains("already exists"), "{e}");
        ws.add_environment("bare", &AwsTarget::default()).unwrap();
        assert!(ws.text().contains("[environments.bare]"), "{}", ws.text());
    }
}
