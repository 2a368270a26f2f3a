//! `mcpkit add-server`: add a server from a template, or an existing one where it lies.

use super::prelude::*;

#[derive(Debug, Args)]
pub struct Args {
    /// Server name (letters, digits and single hyphens).
    pub name: String,
    /// Render this template into servers/<name>/ (default: helloworld).
    #[arg(short, long, conflicts_with_all = ["entrypoint", "requirements"])]
    pub template: Option<String>,
    /// Register an existing server's entry point (a .py file) where it lies.
    #[arg(long, requires = "requirements", value_name = "FILE.py")]
    pub entrypoint: Option<PathBuf>,
    /// The existing server's requirements file (a .txt file).
    #[arg(long, requires = "entrypoint", value_name = "FILE.txt")]
    pub requirements: Option<PathBuf>,
    #[arg(long)]
    pub description: Option<String>,
    /// Set a template variable (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    #[command(flatten)]
    pub workspace: WorkspaceArg,
    #[command(flatten)]
    pub templates: TemplateDirArg,
    #[arg(long)]
    pub json: bool,
}

pub fn exec(a: Args, p: &Printer) -> Result<ExitStatus> {
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
    Ok(ExitStatus::Success)
}
