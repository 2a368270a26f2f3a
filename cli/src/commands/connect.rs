//! `mcpkit connect`: client configuration for the deployed gateway.

use super::prelude::*;

#[derive(Debug, Args)]
pub struct Args {
    /// claude-desktop, claude-code, vscode, cursor or amazon-q.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(
        mcpkit_core::ops::target::McpClient::ALL.map(|(name, _)| name)
    ))]
    pub client: String,
    #[command(flatten)]
    pub common: TargetArgs,
}

pub fn exec(a: Args, p: &Printer) -> Result<ExitStatus> {
    let ws = workspace(&a.common.workspace)?;
    let client = ops::target::McpClient::from_name(&a.client).expect("clap checked the name");
    let c = ops::target::connect(&ws, &target(&a.common), client)?;
    if a.common.json {
        p.json(&c);
    } else {
        eprintln!("# {}: paste into {} ({})", c.client, c.location, c.note);
        println!("{}", c.config);
    }
    Ok(ExitStatus::Success)
}
