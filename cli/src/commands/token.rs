//! `mcpkit token`: a fresh gateway access token, and nothing else, on stdout.

use super::prelude::*;

pub fn exec(a: TargetArgs, _p: &Printer) -> Result<ExitStatus> {
    let ws = workspace(&a.workspace)?;
    let (_, token) = ops::target::gateway_token(&ws, &target(&a))?;
    println!("{}", token.expose());
    Ok(ExitStatus::Success)
}
