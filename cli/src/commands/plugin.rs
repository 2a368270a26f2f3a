//! `mcpkit plugin`: auth-provider plugins: list, new.

use super::prelude::*;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every auth provider: built-ins, the user's plugin folder, the workspace's [plugins].
    List {
        #[command(flatten)]
        workspace: WorkspaceArg,
        #[arg(long)]
        json: bool,
    },
    /// Trust the library a workspace's [plugins.<name>] names: until then mcpkit never loads
    /// (runs) it. A changed library needs trust again.
    Trust {
        name: String,
        #[command(flatten)]
        workspace: WorkspaceArg,
        #[arg(long)]
        json: bool,
    },
    /// Take back the trust `plugin trust` gave.
    Untrust {
        name: String,
        #[command(flatten)]
        workspace: WorkspaceArg,
    },
    /// Scaffold an auth-provider plugin crate (and register it in mcpkit.toml).
    New {
        /// Plugin name (letters, digits and single hyphens).
        name: String,
        /// Create `<name>/` here (default: the workspace's `plugins/`, or the current folder).
        #[arg(long, value_name = "PATH")]
        dir: Option<PathBuf>,
        #[command(flatten)]
        workspace: WorkspaceArg,
        #[command(flatten)]
        templates: TemplateDirArg,
        #[arg(long)]
        json: bool,
    },
}

pub fn exec(cmd: Command, p: &Printer) -> Result<ExitStatus> {
    match cmd {
        Command::List { workspace: w, json } => {
            // Outside a workspace, the built-ins and the user's folder are still listed.
            let ws = match &w.workspace {
                Some(d) => Some(Workspace::load(d)?),
                None => Workspace::find(&cwd()?).ok(),
            };
            let list = ops::plugin::list(ws.as_ref());
            if json {
                p.json(&list);
            } else {
                for i in &list {
                    let source = match &i.source {
                        mcpkit_core::auth::providers::Source::Builtin => "built-in".to_string(),
                        mcpkit_core::auth::providers::Source::Manifest(path)
                        | mcpkit_core::auth::providers::Source::User(path) => path.display().to_string(),
                    };
                    let untrusted = matches!(
                        i.trust,
                        Some(
                            mcpkit_core::auth::trust::Trust::Untrusted
                                | mcpkit_core::auth::trust::Trust::Changed
                        )
                    );
                    match &i.error {
                        Some(e) if untrusted => p.line(format!("{:<12} UNTRUSTED  {source}: {e}", i.name)),
                        Some(e) => p.line(format!("{:<12} BROKEN  {e}", i.name)),
                        None => {
                            let caps: Vec<String> =
                                i.capabilities.iter().map(|c| format!("{c:?}").to_lowercase()).collect();
                            p.line(format!(
                                "{:<12} {:<8} {:<17} targets: {:<10} {source}",
                                i.name,
                                i.version.as_deref().unwrap_or("?"),
                                caps.join("+"),
                                i.targets.join(",")
                            ))
                        }
                    }
                }
            }
            Ok(ExitStatus::Success)
        }
        Command::Trust { name, workspace: w, json } => {
            let ws = workspace(&w)?;
            let r = ops::plugin::trust(&ws, &name)?;
            if json {
                p.json(&r);
            } else {
                p.line(format!("Trusted `{}`: {} (sha256 {})", r.plugin, r.library.display(), r.sha256));
                p.line(format!("Recorded in {}; a changed library needs trust again.", r.record.display()));
            }
            Ok(ExitStatus::Success)
        }
        Command::Untrust { name, workspace: w } => {
            let ws = workspace(&w)?;
            if ops::plugin::untrust(&ws, &name)? {
                p.line(format!("`{name}` is no longer trusted"));
            } else {
                p.line(format!("`{name}` was not trusted"));
            }
            Ok(ExitStatus::Success)
        }
        Command::New { name, dir, workspace: w, templates, json } => {
            let mut ws = match &w.workspace {
                Some(d) => Some(Workspace::load(d)?),
                None => Workspace::find(&cwd()?).ok(),
            };
            let dir = match (dir, &ws) {
                (Some(d), _) => d,
                (None, Some(ws)) => ws.root().join("plugins"),
                (None, None) => cwd()?,
            };
            let r = ops::plugin::new(ws.as_mut(), &name, &dir, &templates.template_dir)?;
            if json {
                p.json(&r);
            } else {
                p.line(format!("Created plugin `{}` at {}", r.plugin, r.dir.display()));
                p.line(format!("Build it: cd {} && cargo build --release", r.dir.display()));
                p.line(format!(
                    "Then trust it (mcpkit loads no library you have not trusted): mcpkit plugin trust {}",
                    r.plugin
                ));
                if r.registered {
                    p.line(format!(
                        "Registered as [plugins.{}] (library: {})",
                        r.plugin,
                        r.library.display()
                    ));
                } else {
                    p.line(format!(
                        "Register it in a workspace's mcpkit.toml: [plugins.{}] path = \"{}\"",
                        r.plugin,
                        r.library.display()
                    ));
                }
            }
            Ok(ExitStatus::Success)
        }
    }
}
