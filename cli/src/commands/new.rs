//! `mcpkit new`: create a workspace with one server from a template.

use super::prelude::*;

#[derive(Debug, Args)]
pub struct Args {
    /// Project name: the folder, the gateway and (unless --server) the server are named after it.
    pub name: String,
    /// Server template (see `mcpkit templates`). Default: <name> when it is a template's name,
    /// else asked, else `helloworld`.
    #[arg(short, long)]
    pub template: Option<String>,
    /// Create `<name>/` inside this folder instead of the current one.
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// Description of the project and its server.
    #[arg(long)]
    pub description: Option<String>,
    /// Name of the first server (default: <name>).
    #[arg(long)]
    pub server: Option<String>,
    /// Set a template variable (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    /// Never prompt; use defaults.
    #[arg(short, long)]
    pub yes: bool,
    #[command(flatten)]
    pub templates: TemplateDirArg,
    #[arg(long)]
    pub json: bool,
}

pub fn exec(a: Args, p: &Printer) -> Result<ExitStatus> {
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
    Ok(ExitStatus::Success)
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
