//! The `mcpkit` binary: parse, prompt, print. Every decision lives in `mcpkit_core`.

mod args;
mod print;
mod progress;

use args::{Cli, Command};
use clap::{CommandFactory, Parser};
use mcpkit_core::ops;
use mcpkit_core::{Error, Result, Workspace};
use print::Printer;
use std::io::IsTerminal;
use std::path::PathBuf;

fn main() {
    mcpkit_core::install_crypto();
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
            let r = ops::validate::validate(&ws, target_name(a.target));
            if a.json {
                p.json(&r);
            } else if r.ok {
                p.line(format!("{}: ok ({} server(s))", ws.manifest_path().display(), r.servers));
            } else {
                p.error(&Error::Input(r.problems.clone()));
            }
            Ok(if r.ok { 0 } else { 2 })
        }
        Command::Deploy(a) => {
            let ws = workspace(&a.common.workspace)?;
            if a.common.target == args::Target::Aws {
                return deploy_aws(&ws, &a, p);
            }
            let exe = std::env::current_exe()
                .map_err(|e| Error::world(format!("cannot find mcpkit itself: {e}")))?;
            let progress = progress::Progress::new(p.quiet() || a.common.json);
            let opts = mcpkit_core::local::DeployOptions {
                exe,
                reporter: &progress,
                timeout: std::time::Duration::from_secs(a.timeout),
            };
            let r = mcpkit_core::local::deploy(&ws, &opts)?;
            if a.common.json {
                p.json(&r);
            } else {
                if r.changed {
                    for act in &r.actions {
                        p.detail(format!("  {} {}", act.action, act.resource));
                    }
                } else {
                    p.line("No changes: the local stack is up to date.");
                }
                for s in &r.servers {
                    let state = format!("{:?}", s.state).to_lowercase();
                    p.line(format!("  {:<20} {state} ({} tools)  {}", s.name, s.tools, s.runtime_url));
                }
                p.line("");
                p.line("Gateway URL: ".to_string() + &r.gateway_url);
                p.line(format!("User Pool ID: {}", r.user_pool));
                p.line(format!("Token endpoint: {}", r.token_endpoint));
                p.line(format!("Client ID: {}", r.client_id));
                p.line(format!("Client Secret: {}", r.client_secret));
                p.line(format!("Access Token: {}", r.access_token));
                p.line(format!("Credentials: {} (mode 0600)", r.credentials_file.display()));
                p.line(format!("Tools: {}", r.tools.len()));
            }
            Ok(0)
        }
        Command::Status(a) => {
            let ws = workspace(&a.workspace)?;
            if a.target == args::Target::Aws {
                let r = mcpkit_core::aws::target::status(&ws, &aws_settings(&a))?;
                if a.json {
                    p.json(&r);
                } else {
                    p.line(format!("AWS stack in {} ({} resources)", r.region, r.resources.len()));
                    if let Some(u) = &r.gateway_url {
                        p.line(format!("Gateway URL: {u}"));
                    }
                    for res in &r.resources {
                        p.line(format!("  {:<32} {:<10} {}", res.resource, res.status, res.id));
                    }
                }
                return Ok(0);
            }
            let r = mcpkit_core::local::status(&ws)?;
            if a.json {
                p.json(&r);
            } else {
                p.line(format!(
                    "local stack: {}{}",
                    if r.running { "running" } else { "not running" },
                    r.gateway_url.as_ref().map(|u| format!(" at {u}")).unwrap_or_default()
                ));
                for s in &r.servers {
                    let err = s.last_error.as_ref().map(|e| format!("  last error: {e}")).unwrap_or_default();
                    p.line(format!(
                        "  {:<20} {:<10} {} tools, {} restarts{err}",
                        s.name,
                        format!("{:?}", s.state).to_lowercase(),
                        s.tools,
                        s.restarts
                    ));
                }
            }
            Ok(0)
        }
        Command::Token(a) => {
            let ws = workspace(&a.workspace)?;
            let (_, token) = ops::target::gateway_token(&ws, &target(&a))?;
            println!("{}", token.expose());
            Ok(0)
        }
        Command::Tools(a) => {
            let ws = workspace(&a.workspace)?;
            let tools = ops::target::tools(&ws, &target(&a))?;
            if a.json {
                p.json(&tools);
            } else {
                let width = tools.iter().map(|t| t.name.len()).max().unwrap_or(0);
                for t in &tools {
                    let desc =
                        t.description.as_deref().unwrap_or_default().lines().next().unwrap_or_default();
                    p.line(format!("{:width$}  {desc}", t.name));
                }
            }
            Ok(0)
        }
        Command::Call(a) => {
            let ws = workspace(&a.common.workspace)?;
            let r = ops::target::call(&ws, &target(&a.common), &a.tool, &a.args)?;
            if a.common.json {
                p.json(&r);
            } else if let Some(s) = &r.structured_content {
                p.line(serde_json::to_string_pretty(s).unwrap_or_default());
            } else {
                for c in &r.content {
                    match c.as_text() {
                        Some(t) => p.line(&t.text),
                        None => p.line(serde_json::to_string(c).unwrap_or_default()),
                    }
                }
            }
            Ok(if r.is_error == Some(true) { 1 } else { 0 })
        }
        Command::Logs(a) => {
            let ws = workspace(&a.workspace)?;
            let files = ops::logs::files(&ws, a.server.as_deref())?;
            ops::logs::show(&files, a.follow, &mut std::io::stdout())?;
            Ok(0)
        }
        Command::Destroy(a) => {
            let ws = workspace(&a.common.workspace)?;
            if a.common.target == args::Target::Aws {
                return destroy_aws(&ws, &a, p);
            }
            if !a.yes && std::io::stdin().is_terminal() {
                let ok = inquire::Confirm::new("Stop the local stack and remove its state and credentials?")
                    .with_default(true)
                    .prompt()
                    .unwrap_or(false);
                if !ok {
                    p.line("Nothing was changed.");
                    return Ok(0);
                }
            }
            let r = mcpkit_core::local::destroy(&ws)?;
            if a.common.json {
                p.json(&r);
            } else if r.stopped || !r.removed.is_empty() {
                p.line("Local stack stopped; state and credentials removed.");
            } else {
                p.line("Nothing to destroy.");
            }
            Ok(0)
        }
        Command::Dev(a) => {
            let ws = workspace(&a.workspace)?;
            let progress = progress::Progress::new(p.quiet());
            mcpkit_core::local::dev::run(ws.root(), &progress)?;
            Ok(0)
        }
        Command::Connect(a) => {
            let ws = workspace(&a.common.workspace)?;
            let client = ops::target::McpClient::from_name(&a.client).expect("clap checked the name");
            let c = ops::target::connect(&ws, &target(&a.common), client)?;
            if a.common.json {
                p.json(&c);
            } else {
                eprintln!("# {}: paste into {} ({})", c.client, c.location, c.note);
                println!("{}", c.config);
            }
            Ok(0)
        }
        Command::Supervise(a) => {
            let ws_root = a.workspace.workspace.clone().unwrap_or(cwd()?);
            let paths = mcpkit_core::local::paths::LocalPaths::new(&ws_root);
            mcpkit_core::local::supervisor::run_detached(paths)?;
            Ok(0)
        }
        Command::Aws(args::AwsCommand::Policy { roles, account, region, profile, workspace: w, json }) => {
            let ws = workspace(&w)?;
            let settings = mcpkit_core::aws::sdk::Settings { region, profile };
            let r = mcpkit_core::aws::target::policy(&ws, &settings, account)?;
            if json {
                p.json(&r);
            } else if roles {
                p.line(serde_json::to_string_pretty(&r).expect("JSON"));
            } else {
                p.line(serde_json::to_string_pretty(&r.deployer).expect("JSON"));
            }
            Ok(0)
        }
        Command::Plugin(args::PluginCommand::List { workspace: w, json }) => {
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
                    match &i.error {
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
            Ok(0)
        }
        Command::Plugin(args::PluginCommand::New { name, dir, workspace: w, templates, json }) => {
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
            Ok(0)
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "mcpkit", &mut std::io::stdout());
            Ok(0)
        }
    }
}

fn target_name(t: args::Target) -> &'static str {
    match t {
        args::Target::Local => "local",
        args::Target::Aws => "aws",
    }
}

fn aws_settings(a: &args::TargetArgs) -> mcpkit_core::aws::sdk::Settings {
    mcpkit_core::aws::sdk::Settings { region: a.region.clone(), profile: a.profile.clone() }
}

fn target(a: &args::TargetArgs) -> ops::target::Target {
    match a.target {
        args::Target::Local => ops::target::Target::Local,
        args::Target::Aws => ops::target::Target::Aws(aws_settings(a)),
    }
}

fn deploy_aws(ws: &Workspace, a: &args::DeployArgs, p: &Printer) -> Result<i32> {
    use mcpkit_core::engine::Action;
    let progress = progress::Progress::new(p.quiet() || a.common.json).verbose(p.verbose());
    let opts = mcpkit_core::aws::target::Options {
        settings: aws_settings(&a.common),
        dry_run: a.dry_run,
        jobs: a.jobs,
        test_user: a.test_user,
        reporter: &progress,
        waits: Default::default(),
    };
    let r = mcpkit_core::aws::target::deploy(ws, &opts)?;
    if a.common.json {
        p.json(&r);
        return Ok(0);
    }
    let count = |act: Action| r.steps.iter().filter(|s| s.action == act).count();
    if r.dry_run {
        for s in r.steps.iter().filter(|s| s.action != Action::Noop || p.verbose()) {
            p.line(format!(
                "  {:<7} {:<48} {}",
                format!("{:?}", s.action).to_lowercase(),
                s.resource,
                s.reason
            ));
        }
        p.line(format!(
            "Plan for account {} in {}: {} to create, {} to update, {} to delete, {} unchanged.",
            r.account,
            r.region,
            count(Action::Create),
            count(Action::Update),
            count(Action::Delete),
            count(Action::Noop)
        ));
        return Ok(0);
    }
    if r.applied.is_empty() {
        p.line(format!("No changes: the AWS stack in {} is up to date.", r.region));
    } else {
        for s in &r.applied {
            p.detail(format!("  {} {}", format!("{:?}", s.action).to_lowercase(), s.resource));
        }
    }
    if let Some(c) = &r.connection {
        let redacted = |s: &Option<mcpkit_core::secret::Secret>| s.as_ref().map(|s| s.to_string());
        p.line("");
        p.line(format!("Gateway URL: {}", c.gateway_url));
        if let Some(pool) = &c.user_pool {
            p.line(format!("User Pool ID: {pool}"));
        }
        if let Some(t) = &c.token_endpoint {
            p.line(format!("Token endpoint: {t}"));
        }
        for (label, v) in [
            ("Client ID", &c.client_id),
            ("Client Secret", &c.client_secret),
            ("Access Token", &c.access_token),
        ] {
            if let Some(v) = redacted(v) {
                p.line(format!("{label}: {v}"));
            }
        }
        if c.auth == "AWS_IAM" {
            p.line("Auth: AWS IAM (SigV4); `mcpkit tools --target aws` signs with your credentials");
        }
        p.line(format!("Credentials: {} (mode 0600)", c.credentials_file.display()));
    }
    if let Some(u) = &r.test_user {
        p.line(format!("Test user: {u} (password from COGNITO_PASSWORD; not shown)"));
    }
    Ok(0)
}

fn destroy_aws(ws: &Workspace, a: &args::DestroyArgs, p: &Printer) -> Result<i32> {
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::input(
                mcpkit_core::Problem::new(
                    "destroying AWS resources needs confirmation, and there is no terminal to ask",
                )
                .field("--yes")
                .hint("pass -y to confirm"),
            ));
        }
        let ok = inquire::Confirm::new("Delete every AWS resource this workspace deployed?")
            .with_default(false)
            .prompt()
            .unwrap_or(false);
        if !ok {
            p.line("Nothing was changed.");
            return Ok(0);
        }
    }
    let progress = progress::Progress::new(p.quiet() || a.common.json);
    let r = mcpkit_core::aws::target::destroy(ws, &aws_settings(&a.common), &progress, Default::default())?;
    if a.common.json {
        p.json(&r);
    } else if r.deleted.is_empty() {
        p.line(format!("Nothing to destroy in {}.", r.region));
    } else {
        p.line(format!(
            "Deleted {} AWS resources in {}; state and credentials removed.",
            r.deleted.len(),
            r.region
        ));
    }
    Ok(0)
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
