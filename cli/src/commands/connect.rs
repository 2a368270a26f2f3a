//! `mcpkit connect`: an MCP client's configuration for the deployed gateway.

use super::prelude::*;
use mcpkit_core::ops::client_file::Change;
use mcpkit_core::ops::connect::{ConnectOptions, McpClient};

#[derive(Debug, Args)]
pub struct Args {
    /// claude-desktop, claude-code, vscode, cursor, amazon-q or kiro.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(McpClient::ALL.map(|(name, _)| name)))]
    pub client: String,
    /// A bearer token in the configuration, instead of `mcpkit proxy` (for clients that cannot
    /// start a process; the token expires).
    #[arg(long)]
    pub static_token: bool,
    /// Merge the entry into the client's configuration file (a backup of it is kept).
    #[arg(long)]
    pub write: bool,
    /// The client's configuration file, instead of where the client keeps it.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub common: TargetArgs,
}

pub fn exec(a: Args, p: &Printer) -> Result<ExitStatus> {
    let ws = workspace_in(&a.common)?;
    let client = McpClient::from_name(&a.client).expect("clap checked the name");
    let exe = std::env::current_exe()
        .map_err(|e| Error::world(format!("cannot tell where this mcpkit binary is: {e}")))?;
    let o = ConnectOptions { exe, static_token: a.static_token, write: a.write, file: a.file };
    let c = ops::connect::connect(&ws, &target(&a.common), client, &o)?;
    if a.common.json {
        p.json(&c);
        return Ok(ExitStatus::Success);
    }
    match &c.written {
        Some(w) => {
            let what = match w.change {
                Change::Added => "added",
                Change::Replaced => "replaced",
                Change::Unchanged => "already had",
            };
            eprintln!("# {}: {what} the entry in {}", c.client, w.path.display());
            if let Some(b) = &w.backup {
                eprintln!("# the file as it was: {}", b.display());
            }
            eprintln!("# {}", c.note);
        }
        None => {
            let verb = if c.location == "a shell" { "run in" } else { "paste into" };
            eprintln!("# {}: {verb} {} ({})", c.client, c.location, c.note);
            println!("{}", c.config);
        }
    }
    Ok(ExitStatus::Success)
}
