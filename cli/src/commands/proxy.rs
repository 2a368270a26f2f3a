//! `mcpkit proxy`: MCP on stdio, forwarded to the deployed gateway. Stdout is the client's:
//! nothing but MCP goes there; diagnostics go to stderr and `--log-file`.

use super::prelude::*;

#[derive(Debug, Args)]
pub struct Args {
    #[command(flatten)]
    pub common: TargetArgs,
    /// Also write diagnostics to this file (created 0600; appended to).
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
}

pub fn exec(a: Args) -> Result<ExitStatus> {
    let ws = workspace_in(&a.common)?;
    let log = ops::proxy::log_to(a.log_file.as_deref())?;
    ops::proxy::proxy(&ws, &target(&a.common), log)?;
    Ok(ExitStatus::Success)
}
