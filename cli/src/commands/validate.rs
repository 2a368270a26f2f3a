//! `mcpkit validate`: check mcpkit.toml and every server, changing nothing.

use super::prelude::*;

pub fn exec(a: TargetArgs, p: &Printer) -> Result<ExitStatus> {
    let ws = workspace_in(&a)?;
    let r = ops::validate::validate(&ws, target_name(a.target));
    if a.json {
        p.json(&r);
    } else if r.ok {
        p.line(format!("{}: ok ({} server(s))", ws.manifest_path().display(), r.servers));
    } else {
        p.error(&Error::Input(r.problems.clone()));
    }
    Ok(if r.ok { ExitStatus::Success } else { ExitStatus::BadInput })
}
