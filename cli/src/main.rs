//! The `mcpkit` binary: parse, prompt, print. Every decision lives in `mcpkit_core`.

mod args;
mod print;

use args::{Cli, Command};
use clap::{CommandFactory, Parser};
use mcpkit_core::ops;
use mcpkit_core::{Error, Result, Workspace};
use print::Printer;
use std::io::IsTerminal;
use std::path::PathBuf;

fn main() {
    let cli = Cli::parse();
    let p = Printer::new(cli.quiet, cli.verbose);
    let code = match run(cli, &p) {
        Ok(code) => code,
        Err(e) => {
            p.error(&e);
            e.exit_code()
        }
    };
    std::process::exit(code);
}

fn cwd() -> Result<PathBuf> {
    std::env::current_dir().map_err(|e| Error::world(format!("cannot read the current folder: {e}")))
}

fn workspace(arg: &args::WorkspaceArg) -> Result<Workspace> {
    match &arg.workspace {
        Some(dir) => Workspace::load(dir),
        None => Workspace::find(&cwd()?),
    }
}

/// Runs a command; returns the exit code for outcomes that are not errors of mcpkit itself
/// (`validate` finding problems exits 2 after printing them).
fn run(cli: Cli, p: &Printer) -> Result<i32> {
    match cli.command {
        Command::New(a) => {
            let registry = mcpkit_core::scaffold::Registry::load(&a.templates.template_dir)?;
            let template = match ops::new::choose_template(&a.name, a.template.as_deref(), &registry) {
                ops::new::TemplateChoice::Decided(t) => t,
                ops::new::TemplateChoice::Ask { default, .. } => {
                    if a.yes || !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
                        default
                    } else {
                        prompt_template(&registry, &default)?
                    }
                }
            };
            let opts = ops::new::NewOptions {
                name: a.name,
                template,
                parent: a.dir.unwrap_or(cwd()?),
                description: a.description,
                server: a.server,
                vars: ops::parse_vars(&a.vars)?,
                template_dirs: a.templates.template_dir,
            };
            let r = ops::new::new(&opts)?;
            if a.json {
                p.json(&r);
            } else {
                p.line(format!(
                    "Created workspace `{}` at {} (server `{}` from template `{}`)",
                    r.project,
                    r.workspace.display(),
                    r.server,
                    r.template
                ));
                for f in &r.files {
                    p.detail(format!("  {}", f.display()));
                }
                p.line(format!("Next: cd {} && mcpkit deploy", r.workspace.display()));
            }
            Ok(0)
        }
        Command::AddServer(a) => {
            let mut ws = workspace(&a.workspace)?;
            let source = match (a.entrypoint, a.requirements) {
                (Some(entrypoint), Some(requirements)) => {
                    ops::add_server::ServerSource::Existing { entrypoint, requirements, cwd: cwd()? }
                }
                _ => ops::add_server::ServerSource::Template {
                    name: a.template.unwrap_or_else(|| ops::new::DEFAULT_TEMPLATE.to_string()),
                    vars: ops::parse_vars(&a.vars)?,
                    template_dirs: a.templates.template_dir,
                },
            };
            let r = ops::add_server::add_server(
                &mut ws,
                &ops::add_server::AddServerOptions { name: a.name, source, description: a.description },
            )?;
            if a.json {
                p.json(&r);
            } else {
                p.line(format!("Added server `{}` ({})", r.server, r.entrypoint));
                for f in &r.files {
                    p.detail(format!("  {}", f.display()));
                }
            }
            Ok(0)
        }
        Command::Templates(a) => {
            let list = ops::templates::templates(&a.templates.template_dir)?;
            if a.json {
                p.json(&list);
            } else {
                let width = list.iter().map(|t| t.name.len()).max().unwrap_or(0);
                for t in &list {
                    let origin = match &t.source {
                        mcpkit_core::scaffold::Source::Builtin => String::new(),
                        mcpkit_core::scaffold::Source::User(d) => format!(" ({})", d.display()),
                    };
                    let kind = if t.kind == mcpkit_core::scaffold::Kind::Plugin { " [plugin]" } else { "" };
                    p.line(format!("{:width$}  {}{kind}{origin}", t.name, t.description));
                }
            }
            Ok(0)
        }
        Command::Import(a) => {
            let opts = ops::import::ImportOptions {
                gateway_name: a.gateway_name,
                runtime_configs: a.runtime_configs,
                region: a.region,
                gateway_description: a.gateway_description,
                dir: a.dir.unwrap_or(cwd()?),
            };
            let r = ops::import::import(&opts)?;
            if a.json {
                p.json(&r);
            } else {
                p.line(format!(
                    "Wrote {} with gateway `{}` and {} server(s): {}",
                    r.workspace.join("mcpkit.toml").display(),
                    r.gateway,
                    r.servers.len(),
                    r.servers.join(", ")
                ));
            }
            Ok(0)
        }
        Command::Validate(a) => {
            let ws = workspace(&a.workspace)?;
            let r = ops::validate::validate(&ws);
            if a.json {
                p.json(&r);
            } else if r.ok {
                p.line(format!("{}: ok ({} server(s))", ws.manifest_path().display(), r.servers));
            } else {
                p.error(&Error::Input(r.problems.clone()));
            }
            Ok(if r.ok { 0 } else { 2 })
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "mcpkit", &mut std::io::stdout());
            Ok(0)
        }
    }
}

fn prompt_template(registry: &mcpkit_core::scaffold::Registry, default: &str) -> Result<String> {
    let infos = ops::new::template_infos(registry);
    let labels: Vec<String> = infos.iter().map(|i| format!("{}: {}", i.name, i.description)).collect();
    let start = infos.iter().position(|i| i.name == default).unwrap_or(0);
    let choice = inquire::Select::new("Which template?", labels.clone())
        .with_starting_cursor(start)
        .prompt()
        .map_err(|e| Error::world(format!("no template chosen: {e}")))?;
    let idx = labels.iter().position(|l| *l == choice).unwrap_or(start);
    Ok(infos[idx].name.clone())
}
