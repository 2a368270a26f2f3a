//! `mcpkit destroy`: stop and remove everything a deploy made.

use super::prelude::*;

#[derive(Debug, Args)]
pub struct Args {
    #[command(flatten)]
    pub common: TargetArgs,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
}

pub fn exec(a: Args, p: &Printer) -> Result<ExitStatus> {
    let ws = workspace(&a.common.workspace)?;
    if a.common.target == args::Target::Aws {
        return destroy_aws(&ws, &a, p);
    }
    if !a.yes && std::io::stdin().is_terminal() {
        let ok = inquire::Confirm::new("Stop the local stack and remove its state and credentials?")
            .with_default(true)
            .prompt()
            .unwrap_or(false);
        if !ok {
            p.line("Nothing was changed.");
            return Ok(ExitStatus::Success);
        }
    }
    let r = mcpkit_core::local::destroy(&ws)?;
    if a.common.json {
        p.json(&r);
    } else if r.stopped || !r.removed.is_empty() {
        p.line("Local stack stopped; state and credentials removed.");
    } else {
        p.line("Nothing to destroy.");
    }
    Ok(ExitStatus::Success)
}

fn destroy_aws(ws: &Workspace, a: &Args, p: &Printer) -> Result<ExitStatus> {
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::input(
                mcpkit_core::Problem::new(
                    "destroying AWS resources needs confirmation, and there is no terminal to ask",
                )
                .field("--yes")
                .hint("pass -y to confirm"),
            ));
        }
        let ok = inquire::Confirm::new("Delete every AWS resource this workspace deployed?")
            .with_default(false)
            .prompt()
            .unwrap_or(false);
        if !ok {
            p.line("Nothing was changed.");
            return Ok(ExitStatus::Success);
        }
    }
    let progress = crate::progress::Progress::new(p.quiet() || a.common.json);
    let r = mcpkit_core::aws::target::destroy(ws, &aws_settings(&a.common), &progress, Default::default())?;
    if a.common.json {
        p.json(&r);
    } else if r.deleted.is_empty() {
        p.line(format!("Nothing to destroy in {}.", r.region));
    } else {
        p.line(format!(
            "Deleted {} AWS resources in {}; state and credentials removed.",
            r.deleted.len(),
            r.region
        ));
    }
    Ok(ExitStatus::Success)
}
