//! `mcpkit logs`: the servers' and the supervisor's logs.

use super::prelude::*;

#[derive(Debug, Args)]
pub struct Args {
    /// Only this server (default: all, and the supervisor's own log).
    pub server: Option<String>,
    /// Keep printing new lines as they come.
    #[arg(short, long)]
    pub follow: bool,
    #[command(flatten)]
    pub workspace: WorkspaceArg,
}

pub fn exec(a: Args, _p: &Printer) -> Result<ExitStatus> {
    let ws = workspace(&a.workspace)?;
    let files = ops::logs::files(&ws, a.server.as_deref())?;
    ops::logs::show(&files, a.follow, &mut std::io::stdout())?;
    Ok(ExitStatus::Success)
}
