//! `mcpkit prompt`: a prompt of the deployed gateway, rendered with its arguments.

use super::prelude::*;

#[derive(Debug, Args)]
pub struct Args {
    /// The prompt, as the gateway names it (`<server>-target___<prompt>`).
    pub name: String,
    /// Arguments as a JSON object of strings.
    #[arg(long, default_value = "{}")]
    pub args: String,
    #[command(flatten)]
    pub common: TargetArgs,
}

pub fn exec(a: Args, p: &Printer) -> Result<ExitStatus> {
    let ws = workspace_in(&a.common)?;
    let r = ops::target::prompt(&ws, &target(&a.common), &a.name, &a.args)?;
    if a.common.json {
        p.json(&r);
        return Ok(ExitStatus::Success);
    }
    if let Some(d) = &r.description {
        p.line(format!("# {d}"));
    }
    for m in &r.messages {
        let role = serde_json::to_value(&m.role).ok().and_then(|v| v.as_str().map(str::to_string));
        let content = serde_json::to_value(&m.content).unwrap_or_default();
        let text = content.get("text").and_then(|t| t.as_str()).map(str::to_string);
        p.line(format!("{}: {}", role.unwrap_or_default(), text.unwrap_or_else(|| content.to_string())));
    }
    Ok(ExitStatus::Success)
}
