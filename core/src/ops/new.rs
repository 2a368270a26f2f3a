//! `mcpkit new`: a workspace with one server, made in a staging folder and moved into place
//! in one rename, so a failure leaves nothing behind.

use super::{check_server_name, render_server, server_vars};
use crate::error::{Error, Problem, Result};
use crate::fs::Staging;
use crate::manifest::{MANIFEST, Workspace};
use crate::names;
use crate::scaffold::{Info, Kind, Registry};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The template used when none is given and nobody can be asked.
pub const DEFAULT_TEMPLATE: &str = "helloworld";

#[derive(Debug, Clone)]
pub struct NewOptions {
    /// Project name; also the folder's name, the gateway's and (unless `server`) the server's.
    pub name: String,
    pub template: String,
    /// Folder in which `<name>/` is created.
    pub parent: PathBuf,
    pub description: Option<String>,
    /// Name of the first server; default: the project name.
    pub server: Option<String>,
    pub vars: BTreeMap<String, String>,
    pub template_dirs: Vec<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewReport {
    pub workspace: PathBuf,
    pub project: String,
    pub server: String,
    pub template: String,
    pub files: Vec<PathBuf>,
}

/// How `new` picks its template when `--template` is absent.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplateChoice {
    /// Decided: the flag, or the project's name is a template's name (`mcpkit new calculator`).
    Decided(String),
    /// The user should be asked; `default` is what to use when nobody can be.
    Ask { default: String, choices: Vec<String> },
}

pub fn choose_template(name: &str, explicit: Option<&str>, registry: &Registry) -> TemplateChoice {
    if let Some(t) = explicit {
        return TemplateChoice::Decided(t.to_string());
    }
    let servers = registry.names(Kind::Server);
    if servers.iter().any(|s| s == name) {
        return TemplateChoice::Decided(name.to_string());
    }
    TemplateChoice::Ask { default: DEFAULT_TEMPLATE.to_string(), choices: servers }
}

/// Template descriptions, for a prompt.
pub fn template_infos(registry: &Registry) -> Vec<Info> {
    registry.infos().into_iter().filter(|i| i.kind == Kind::Server).collect()
}

pub fn new(opts: &NewOptions) -> Result<NewReport> {
    let registry = Registry::load(&opts.template_dirs)?;
    let name = opts.name.as_str();
    let mut problems: Vec<Problem> = Vec::new();
    if let Err(e) = names::check_slug("project", name) {
        problems.push(Problem::new(e).field("<name>"));
    } else {
        problems.extend(names::check_gateway(name).into_iter().map(|m| Problem::new(m).field("<name>")));
    }
    if !problems.is_empty() {
        return Err(Error::Input(problems));
    }
    let server = opts.server.clone().unwrap_or_else(|| name.to_string());
    check_server_name(name, &server, "--server")?;
    let template = registry.require(&opts.template, Kind::Server)?;
    let dest = opts.parent.join(name);
    if !crate::fs::is_absent_or_empty_dir(&dest) {
        return Err(Error::input(
            Problem::new(format!("{} already exists and is not empty; nothing was changed", dest.display()))
                .field("<name>")
                .hint("choose another name, or `--dir` to create it elsewhere"),
        ));
    }
    let description = opts.description.clone().unwrap_or_else(|| template.meta.description.clone());

    let staging = Staging::new(&dest)?;
    let ws_vars = BTreeMap::from([
        ("project_name".to_string(), name.to_string()),
        ("gateway_name".to_string(), name.to_string()),
        ("server_name".to_string(), server.clone()),
        ("description".to_string(), description.clone()),
        ("mcpkit_version".to_string(), crate::VERSION.to_string()),
    ]);
    let mut files = Vec::new();
    for (rel, bytes) in registry.require("workspace", Kind::Workspace)?.render(&ws_vars)? {
        staging.write(&rel, &bytes)?;
        files.push(rel);
    }
    let rel_dir = Path::new("servers").join(&server);
    let server_staging = Staging::new(&staging.path().join(&rel_dir))?;
    let vars = server_vars(name, &server, &description, &opts.vars);
    let (entry, server_files) = render_server(template, &vars, &server_staging, &rel_dir)?;
    files.extend(server_files.into_iter().map(|f| rel_dir.join(f)));
    server_staging.commit()?;

    let text = std::fs::read_to_string(staging.path().join(MANIFEST))
        .map_err(|e| Error::io("read", &staging.path().join(MANIFEST), e))?;
    let mut ws = Workspace::from_text(staging.path(), text)?;
    ws.add_server(&server, &entry)?;
    ws.ensure_valid()?;
    ws.save()?;
    files.sort();
    let workspace = staging.commit()?;
    Ok(NewReport { workspace, project: name.to_string(), server, template: opts.template.clone(), files })
}
