//! `mcpkit completions`: a shell completion script.

use super::prelude::*;
use clap::CommandFactory;

pub fn exec(shell: clap_complete::Shell) -> Result<ExitStatus> {
    clap_complete::generate(shell, &mut crate::args::Cli::command(), "mcpkit", &mut std::io::stdout());
    Ok(ExitStatus::Success)
}
