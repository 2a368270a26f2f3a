//! `mcpkit call`: call a tool through the deployed gateway.

use super::prelude::*;

#[derive(Debug, Args)]
pub struct Args {
    /// The tool, as the gateway names it (`<server>-target___<tool>`).
    pub tool: String,
    /// Arguments as a JSON object.
    #[arg(long, default_value = "{}")]
    pub args: String,
    #[command(flatten)]
    pub common: TargetArgs,
}

pub fn exec(a: Args, p: &Printer) -> Result<ExitStatus> {
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
    Ok(if r.is_error == Some(true) { ExitStatus::Failure } else { ExitStatus::Success })
}
