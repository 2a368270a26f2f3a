//! `mcpkit __supervise`: the local stack's supervisor process (internal).

use super::prelude::*;

pub fn exec(a: crate::args::WorkspaceOnly) -> Result<ExitStatus> {
    let ws_root = a.workspace.workspace.clone().unwrap_or(cwd()?);
    let paths = mcpkit_core::local::paths::LocalPaths::new(&ws_root);
    mcpkit_core::local::supervisor::run_detached(paths)?;
    Ok(ExitStatus::Success)
}
