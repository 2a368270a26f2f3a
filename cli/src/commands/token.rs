//! `mcpkit token`: a fresh gateway access token, and nothing else, on stdout.

use super::prelude::*;

pub fn exec(a: TargetArgs, _p: &Printer) -> Result<ExitStatus> {
    let ws = workspace_in(&a)?;
    let t = ops::target::gateway_token(&ws, &target(&a))?;
    println!("{}", t.token.expose());
    Ok(ExitStatus::Success)
}
