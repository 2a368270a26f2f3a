//! `mcpkit destroy`: stop and remove everything a deploy made.

use super::prelude::*;

#[derive(Debug, Args)]
pub struct Args {
    #[command(flatten)]
    pub common: TargetArgs,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
    /// On AWS, keep the runtimes' CloudWatch log groups (deleted by default).
    #[arg(long)]
    pub keep_logs: bool,
}

pub fn exec(a: Args, p: &Printer) -> Result<ExitStatus> {
    let ws = workspace_in(&a.common)?;
    let target = target(&a.common);
    let ask = ops::lifecycle::destroy_confirmation(&target);
    if !a.yes {
        let terminal = std::io::stdin().is_terminal();
        if !terminal && ask.required {
            return Err(ops::lifecycle::unconfirmed());
        }
        if terminal {
            let ok = inquire::Confirm::new(ask.question).with_default(ask.default).prompt().unwrap_or(false);
            if !ok {
                p.line("Nothing was changed.");
                return Ok(ExitStatus::Success);
            }
        }
    }
    let progress = crate::progress::Progress::new(p.quiet() || a.common.json);
    let destroyed = ops::lifecycle::destroy(&ws, &target, &progress, a.keep_logs)?;
    if a.common.json {
        p.json(&destroyed);
        return Ok(ExitStatus::Success);
    }
    match destroyed {
        ops::lifecycle::Destroyed::Local(r) if r.stopped || !r.removed.is_empty() => {
            for e in &r.teardown_errors {
                p.warn(format!("not released by its auth provider: {e}"));
            }
            if !r.orphans.is_empty() {
                p.warn(format!(
                    "the supervisor was gone; killed the servers it left running: {}",
                    r.orphans.join(", ")
                ));
            }
            p.line("Local stack stopped; state and credentials removed.")
        }
        ops::lifecycle::Destroyed::Local(_) => p.line("Nothing to destroy."),
        ops::lifecycle::Destroyed::Aws(r) if r.deleted.is_empty() => {
            p.line(format!("Nothing to destroy in {}.", r.region))
        }
        ops::lifecycle::Destroyed::Aws(r) => {
            p.line(format!(
                "Deleted {} AWS resources in {}; state and credentials removed.",
                r.deleted.len(),
                r.region
            ));
            for k in &r.kept {
                p.line(format!("Kept {k}."));
            }
        }
    }
    Ok(ExitStatus::Success)
}
