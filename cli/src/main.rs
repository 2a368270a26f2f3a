//! The `mcpkit` binary: parse, prompt, print. Every decision lives in `mcpkit_core`; each
//! command is a file in `commands/`.

mod args;
mod commands;
mod print;
mod progress;

use clap::Parser;
use print::Printer;

fn main() {
    mcpkit_core::install_crypto();
    let cli = args::Cli::parse();
    let p = Printer::new(cli.quiet, cli.verbose);
    let code = match commands::exec(cli.command, &p) {
        Ok(status) => status.code(),
        Err(e) => {
            p.error(&e);
            e.exit_code()
        }
    };
    std::process::exit(code);
}
