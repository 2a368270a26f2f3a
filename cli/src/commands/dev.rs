//! `mcpkit dev`: the stack in the foreground, servers restarted on change.

use super::prelude::*;

pub fn exec(a: crate::args::WorkspaceOnly, p: &Printer) -> Result<ExitStatus> {
    let ws = workspace(&a.workspace)?;
    let progress = crate::progress::Progress::new(p.quiet());
    mcpkit_core::local::dev::run(ws.root(), &progress)?;
    Ok(ExitStatus::Success)
}
