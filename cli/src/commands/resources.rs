//! `mcpkit resources`: the deployed gateway's resources and resource templates.

use super::prelude::*;

pub fn exec(a: TargetArgs, p: &Printer) -> Result<ExitStatus> {
    let ws = workspace_in(&a)?;
    let r = ops::target::resources(&ws, &target(&a))?;
    if a.json {
        p.json(&r);
        return Ok(ExitStatus::Success);
    }
    let width = r
        .resources
        .iter()
        .map(|x| x.uri.len())
        .chain(r.templates.iter().map(|t| t.uri_template.len()))
        .max()
        .unwrap_or(0);
    let line = |uri: &str, name: &str, desc: Option<&str>| {
        let desc = desc.unwrap_or_default().lines().next().unwrap_or_default();
        p.line(format!(
            "{uri:width$}  {name}{}",
            if desc.is_empty() { String::new() } else { format!(": {desc}") }
        ));
    };
    for x in &r.resources {
        line(&x.uri, &x.name, x.description.as_deref());
    }
    if !r.templates.is_empty() {
        p.line("templates:");
        for t in &r.templates {
            line(&t.uri_template, &t.name, t.description.as_deref());
        }
    }
    Ok(ExitStatus::Success)
}
