//! `mcpkit tools`: the deployed gateway's tools.

use super::prelude::*;

pub fn exec(a: TargetArgs, p: &Printer) -> Result<ExitStatus> {
    let ws = workspace_in(&a)?;
    let tools = ops::target::tools(&ws, &target(&a))?;
    if a.json {
        p.json(&tools);
    } else {
        let width = tools.iter().map(|t| t.name.len()).max().unwrap_or(0);
        for t in &tools {
            let desc = t.description.as_deref().unwrap_or_default().lines().next().unwrap_or_default();
            p.line(format!("{:width$}  {desc}", t.name));
        }
    }
    Ok(ExitStatus::Success)
}
