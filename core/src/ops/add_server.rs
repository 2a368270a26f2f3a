//! `mcpkit add-server`: render a template into `servers/<name>/`, or register a server that
//! already lives somewhere (nothing is copied), and record it in mcpkit.toml.

use super::{check_server_name, render_server, server_vars};
use crate::error::{Error, Problem, Result};
use crate::fs::Staging;
use crate::manifest::{Server, Workspace, check_path_value};
use crate::scaffold::{Kind, Registry};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub enum ServerSource {
    /// Render a template into `servers/<name>/`.
    Template { name: String, vars: BTreeMap<String, String>, template_dirs: Vec<PathBuf> },
    /// Register files where they are. Relative paths are relative to `cwd`.
    Existing { entrypoint: PathBuf, requirements: PathBuf, cwd: PathBuf },
}

#[derive(Debug, Clone)]
pub struct AddServerOptions {
    pub name: String,
    pub source: ServerSource,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AddServerReport {
    pub server: String,
    pub entrypoint: String,
    pub requirements: String,
    /// Files written (empty when an existing server was registered).
    pub files: Vec<PathBuf>,
}

pub fn add_server(ws: &mut Workspace, opts: &AddServerOptions) -> Result<AddServerReport> {
    let gateway = ws.manifest().gateway.name.clone();
    check_server_name(&gateway, &opts.name, "<name>")?;
    let mut next = ws.clone();
    match &opts.source {
        ServerSource::Existing { entrypoint, requirements, cwd } => {
            let mut problems = Vec::new();
            let mut resolved = Vec::new();
            for (flag, path, ext) in
                [("--entrypoint", entrypoint, "py"), ("--requirements", requirements, "txt")]
            {
                let full = crate::fs::normalize(&cwd.join(path));
                if let Some(m) = check_path_value(&path.to_string_lossy(), ext) {
                    problems.push(Problem::new(m).field(flag));
                } else if !full.is_file() {
                    problems.push(Problem::new(format!("{} does not exist", full.display())).field(flag));
                }
                resolved.push(next.manifest_path_for(&full));
            }
            if !problems.is_empty() {
                return Err(Error::Input(problems));
            }
            let server = Server {
                entrypoint: resolved[0].clone(),
                requirements: resolved[1].clone(),
                description: opts.description.clone(),
                ..blank_server()
            };
            next.add_server(&opts.name, &server)?;
            next.ensure_valid()?;
            next.save()?;
            *ws = next;
            Ok(AddServerReport {
                server: opts.name.clone(),
                entrypoint: server.entrypoint,
                requirements: server.requirements,
                files: vec![],
            })
        }
        ServerSource::Template { name: template, vars, template_dirs } => {
            let registry = Registry::load(template_dirs)?;
            let t = registry.require(template, Kind::Server)?;
            let rel_dir = Path::new("servers").join(&opts.name);
            let dest = ws.root().join(&rel_dir);
            if !crate::fs::is_absent_or_empty_dir(&dest) {
                return Err(Error::input(
                    Problem::new(format!(
                        "{} already exists and is not empty; nothing was changed",
                        dest.display()
                    ))
                    .field("<name>"),
                ));
            }
            let description = opts.description.clone().unwrap_or_else(|| t.meta.description.clone());
            let project = ws.manifest().project.name.clone();
            let vars = server_vars(&project, &opts.name, &description, vars);
            let staging = Staging::new(&dest)?;
            let (server, files) = render_server(t, &vars, &staging, &rel_dir)?;
            // Check the manifest edit before the folder lands, so a refused name leaves nothing.
            next.add_server(&opts.name, &server)?;
            let dir = staging.commit()?;
            if let Err(e) = next.ensure_valid().and_then(|_| next.save()) {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
            *ws = next;
            Ok(AddServerReport {
                server: opts.name.clone(),
                entrypoint: server.entrypoint,
                requirements: server.requirements,
                files: files.into_iter().map(|f| rel_dir.join(f)).collect(),
            })
        }
    }
}

/// A server entry with every optional setting at its default.
pub(crate) fn blank_server() -> Server {
    Server {
        entrypoint: String::new(),
        requirements: String::new(),
        description: None,
        auth: None,
        env: BTreeMap::new(),
        build: Default::default(),
        auto_create_execution_role: true,
        execution_role_arn: None,
        auto_create_ecr: true,
        resource_priority: None,
    }
}
