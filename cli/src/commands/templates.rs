//! `mcpkit templates`: the built-in and user templates.

use super::prelude::*;

#[derive(Debug, Args)]
pub struct Args {
    #[command(flatten)]
    pub templates: TemplateDirArg,
    #[arg(long)]
    pub json: bool,
}

pub fn exec(a: Args, p: &Printer) -> Result<ExitStatus> {
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
    Ok(ExitStatus::Success)
}
