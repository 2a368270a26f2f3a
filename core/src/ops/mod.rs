//! The commands, as functions over a workspace. Each returns a report the CLI renders as
//! text or JSON.

pub mod add_server;
pub mod client_file;
pub mod connect;
pub mod env;
pub mod import;
pub mod lifecycle;
pub mod logs;
pub mod new;
pub mod plugin;
pub mod proxy;
pub mod target;
pub mod templates;
pub mod validate;

use crate::error::{Error, Problem, Result};
use crate::manifest::Server;
use crate::names;
use crate::scaffold::Template;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Fails with every problem found in a server name (as typed in `field`).
fn check_server_name(gateway: &str, name: &str, field: &str) -> Result<()> {
    let problems: Vec<Problem> =
        names::check_server(gateway, name).into_iter().map(|m| Problem::new(m).field(field)).collect();
    if problems.is_empty() { Ok(()) } else { Err(Error::Input(problems)) }
}

/// Renders a server template into `staging` (the server's folder-to-be, at `rel_dir` in the
/// workspace) and returns the manifest entry for it and the files written.
fn render_server(
    template: &Template,
    vars: &BTreeMap<String, String>,
    staging: &crate::fs::Staging,
    rel_dir: &Path,
) -> Result<(Server, Vec<PathBuf>)> {
    let mut files = Vec::new();
    for (rel, bytes) in template.render(vars)? {
        staging.write(&rel, &bytes)?;
        files.push(rel);
    }
    let path = |f: &str| rel_dir.join(f).to_string_lossy().replace('\\', "/");
    let server = Server {
        entrypoint: path("server.py"),
        requirements: path("requirements.txt"),
        description: vars.get("description").cloned(),
        ..add_server::blank_server()
    };
    Ok((server, files))
}

/// The standard variables every server template gets.
fn server_vars(
    project: &str,
    server: &str,
    description: &str,
    user: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut v = BTreeMap::from([
        ("project_name".to_string(), project.to_string()),
        ("server_name".to_string(), server.to_string()),
        ("description".to_string(), description.to_string()),
        ("mcp_requirement".to_string(), crate::MCP_REQUIREMENT.to_string()),
        ("mcpkit_version".to_string(), crate::VERSION.to_string()),
    ]);
    v.extend(user.iter().map(|(k, val)| (k.clone(), val.clone())));
    v
}

/// Parses `key=value` pairs given with `--var`.
pub fn parse_vars(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for p in pairs {
        match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                out.insert(k.trim().to_string(), v.to_string());
            }
            _ => {
                return Err(Error::input(
                    Problem::new(format!("`{p}` is not of the form key=value")).field("--var"),
                ));
            }
        }
    }
    Ok(out)
}
