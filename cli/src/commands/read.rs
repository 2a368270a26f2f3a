//! `mcpkit read`: a resource of the deployed gateway, by URI.

use super::prelude::*;

#[derive(Debug, Args)]
pub struct Args {
    /// The resource's URI, as `mcpkit resources` lists it (or one a template matches).
    pub uri: String,
    #[command(flatten)]
    pub common: TargetArgs,
}

pub fn exec(a: Args, p: &Printer) -> Result<ExitStatus> {
    let ws = workspace_in(&a.common)?;
    let r = ops::target::read(&ws, &target(&a.common), &a.uri)?;
    if a.common.json {
        p.json(&r);
        return Ok(ExitStatus::Success);
    }
    for c in &r.contents {
        let v = serde_json::to_value(c).unwrap_or_default();
        match (v.get("text").and_then(|t| t.as_str()), v.get("blob").and_then(|b| b.as_str())) {
            (Some(text), _) => p.line(text),
            (None, Some(blob)) => p.line(format!(
                "<{} bytes of {}, base64; --json shows them>",
                blob.len() / 4 * 3,
                v.get("mimeType").and_then(|m| m.as_str()).unwrap_or("binary data")
            )),
            _ => p.line(v.to_string()),
        }
    }
    Ok(ExitStatus::Success)
}
