//! `mcpkit import`: the original toolkit's command line (`--gateway-name`, `--runtime-configs`)
//! turned into a workspace's mcpkit.toml, with the original's checks.

use crate::error::{Error, Problem, Result};
use crate::manifest::{MANIFEST, Server, Workspace, check_path_value};
use crate::names;
use crate::scaffold::{Kind, Registry};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub gateway_name: String,
    /// The JSON array the original toolkit took as `--runtime-configs`.
    pub runtime_configs: String,
    pub region: Option<String>,
    pub gateway_description: Option<String>,
    /// The workspace folder to write mcpkit.toml into; relative paths in the configs are
    /// relative to it.
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub workspace: PathBuf,
    pub gateway: String,
    pub servers: Vec<String>,
}

const FIELD: &str = "--runtime-configs";
const KNOWN: [&str; 6] = [
    "name",
    "description",
    "entrypoint",
    "requirements_file",
    "auto_create_execution_role",
    "auto_create_ecr",
];

pub fn import(opts: &ImportOptions) -> Result<ImportReport> {
    let manifest_path = opts.dir.join(MANIFEST);
    if manifest_path.exists() {
        return Err(Error::input(
            Problem::new(format!("{} already exists; nothing was changed", manifest_path.display()))
                .hint("import into an empty folder, or add servers with `mcpkit add-server`"),
        ));
    }
    let gw_problems = names::check_gateway(&opts.gateway_name);
    if !gw_problems.is_empty() {
        return Err(Error::Input(
            gw_problems.into_iter().map(|m| Problem::new(m).field("--gateway-name")).collect(),
        ));
    }
    let servers = parse_configs(&opts.runtime_configs, &opts.gateway_name, &opts.dir)?;

    let registry = Registry::load(&[])?;
    let vars = BTreeMap::from([
        ("project_name".to_string(), opts.gateway_name.clone()),
        ("gateway_name".to_string(), opts.gateway_name.clone()),
        ("server_name".to_string(), servers.first().map(|(n, _)| n.clone()).unwrap_or_default()),
        (
            "description".to_string(),
            opts.gateway_description.clone().unwrap_or_else(|| format!("MCP gateway {}", opts.gateway_name)),
        ),
        ("mcpkit_version".to_string(), crate::VERSION.to_string()),
    ]);
    let rendered = registry.require("workspace", Kind::Workspace)?.render(&vars)?;
    let text = rendered
        .iter()
        .find(|(p, _)| p.as_os_str() == MANIFEST)
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .ok_or_else(|| Error::world("the workspace template has no mcpkit.toml"))?;
    let mut ws = Workspace::from_text(&opts.dir, text)?;
    for (name, server) in &servers {
        ws.add_server(name, server)?;
    }
    if let Some(region) = &opts.region {
        ws.set_aws_region(region)?;
    }
    ws.ensure_valid()?;
    if !opts.dir.join(".gitignore").exists()
        && let Some((_, b)) = rendered.iter().find(|(p, _)| p.as_os_str() == ".gitignore")
    {
        crate::fs::write_atomic(&opts.dir.join(".gitignore"), b)?;
    }
    ws.save()?;
    Ok(ImportReport {
        workspace: opts.dir.clone(),
        gateway: opts.gateway_name.clone(),
        servers: servers.into_iter().map(|(n, _)| n).collect(),
    })
}

/// Parses and checks `--runtime-configs`, collecting every problem.
fn parse_configs(json: &str, gateway: &str, dir: &std::path::Path) -> Result<Vec<(String, Server)>> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        Error::input(
            Problem::new(format!("not valid JSON (line {}, column {}): {e}", e.line(), e.column())).field(FIELD).hint(
                r#"pass a JSON array, e.g. '[{"name":"calc","entrypoint":"server.py","requirements_file":"requirements.txt"}]'"#,
            ),
        )
    })?;
    let items = value
        .as_array()
        .ok_or_else(|| Error::input(Problem::new("must be a JSON array of runtime configs").field(FIELD)))?;
    if items.is_empty() {
        return Err(Error::input(Problem::new("must contain at least one runtime config").field(FIELD)));
    }
    let mut problems = Vec::new();
    let mut out: Vec<(String, Server)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = |k: &str| format!("{FIELD}[{i}].{k}");
        let Some(obj) = item.as_object() else {
            problems.push(Problem::new("must be a JSON object").field(format!("{FIELD}[{i}]")));
            continue;
        };
        for k in obj.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
            problems.push(
                Problem::new(format!("unknown field; known fields: {}", KNOWN.join(", "))).field(at(k)),
            );
        }
        let text = |k: &str, problems: &mut Vec<Problem>, required: bool| -> Option<String> {
            match obj.get(k) {
                Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
                Some(serde_json::Value::String(_)) | None => {
                    if required {
                        problems.push(Problem::new("is required").field(at(k)));
                    }
                    None
                }
                Some(_) => {
                    problems.push(Problem::new("must be a string").field(at(k)));
                    None
                }
            }
        };
        let flag = |k: &str, problems: &mut Vec<Problem>| -> bool {
            match obj.get(k) {
                None => true,
                Some(serde_json::Value::Bool(b)) => *b,
                Some(_) => {
                    problems.push(Problem::new("must be true or false").field(at(k)));
                    true
                }
            }
        };
        let name = text("name", &mut problems, true);
        let description = text("description", &mut problems, false);
        let entrypoint = text("entrypoint", &mut problems, true);
        let requirements = text("requirements_file", &mut problems, true);
        let auto_role = flag("auto_create_execution_role", &mut problems);
        let auto_ecr = flag("auto_create_ecr", &mut problems);
        if let Some(n) = &name {
            problems.extend(
                names::check_server(gateway, n).into_iter().map(|m| Problem::new(m).field(at("name"))),
            );
            if out.iter().any(|(o, _)| o.eq_ignore_ascii_case(n)) {
                problems.push(Problem::new(format!("duplicate server name `{n}`")).field(at("name")));
            }
        }
        for (k, v, ext) in [("entrypoint", &entrypoint, "py"), ("requirements_file", &requirements, "txt")] {
            if let Some(v) = v {
                if let Some(m) = check_path_value(v, ext) {
                    problems.push(Problem::new(m).field(at(k)));
                } else if !dir.join(v).is_file() {
                    problems
                        .push(Problem::new(format!("{} does not exist", dir.join(v).display())).field(at(k)));
                }
            }
        }
        if let (Some(n), Some(e), Some(r)) = (name, entrypoint, requirements) {
            out.push((
                n,
                Server {
                    entrypoint: e,
                    requirements: r,
                    description,
                    auto_create_execution_role: auto_role,
                    auto_create_ecr: auto_ecr,
                    ..super::add_server::blank_server()
                },
            ));
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(Error::Input(problems)) }
}
