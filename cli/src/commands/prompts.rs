//! `mcpkit prompts`: the deployed gateway's prompts.

use super::prelude::*;

pub fn exec(a: TargetArgs, p: &Printer) -> Result<ExitStatus> {
    let ws = workspace_in(&a)?;
    let prompts = ops::target::prompts(&ws, &target(&a))?;
    if a.json {
        p.json(&prompts);
        return Ok(ExitStatus::Success);
    }
    let width = prompts.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for pr in &prompts {
        let desc = pr.description.as_deref().unwrap_or_default().lines().next().unwrap_or_default();
        let args: Vec<String> = pr
            .arguments
            .iter()
            .flatten()
            .map(|a| if a.required == Some(true) { a.name.clone() } else { format!("[{}]", a.name) })
            .collect();
        let args = if args.is_empty() { String::new() } else { format!(" ({})", args.join(", ")) };
        p.line(format!("{:width$}  {desc}{args}", pr.name));
    }
    Ok(ExitStatus::Success)
}
