//! Deploy, status and destroy of "the target named X": the one place that knows which
//! target crate does what. The CLI asks for a target; it never branches on local versus AWS
//! to decide anything, only to render the report the target returned (each keeps its own
//! report, so `--json` shapes are the targets' own).

use super::target::DeployTarget;
use crate::error::{Error, Problem, Result};
use crate::local::Reporter;
use crate::manifest::Workspace;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// How to deploy; each target uses what applies to it.
pub struct DeployOptions<'a> {
    /// The mcpkit binary (the local target runs its supervisor from it).
    pub exe: PathBuf,
    /// How long to wait for every local server to be ready.
    pub timeout: Duration,
    /// Print the plan, change nothing (AWS).
    pub dry_run: bool,
    /// Also make the original toolkit's test user (AWS).
    pub test_user: bool,
    /// Steps at once (AWS).
    pub jobs: usize,
    pub reporter: &'a dyn Reporter,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Deployed {
    Local(crate::local::DeployReport),
    Aws(crate::aws::commands::DeployReport),
}

/// Deploys the workspace to `target`. Options that only one target has are refused on the
/// other, with the flag named, rather than silently ignored.
pub fn deploy(ws: &Workspace, target: &DeployTarget, opts: &DeployOptions) -> Result<Deployed> {
    match target {
        DeployTarget::Local => {
            for (set, flag) in [(opts.dry_run, "--dry-run"), (opts.test_user, "--test-user")] {
                if set {
                    return Err(Error::input(
                        Problem::new(format!("{flag} applies to the AWS target only"))
                            .field(flag)
                            .hint("add --target aws, or leave the flag out"),
                    ));
                }
            }
            let o = crate::local::DeployOptions {
                exe: opts.exe.clone(),
                reporter: opts.reporter,
                timeout: opts.timeout,
            };
            crate::local::deploy(ws, &o).map(Deployed::Local)
        }
        DeployTarget::Aws(settings) => {
            let o = crate::aws::commands::Options {
                settings: settings.clone(),
                dry_run: opts.dry_run,
                jobs: opts.jobs,
                test_user: opts.test_user,
                reporter: opts.reporter,
                waits: Default::default(),
            };
            crate::aws::commands::deploy(ws, &o).map(Deployed::Aws)
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Status {
    Local(crate::local::StatusReport),
    Aws(crate::aws::commands::StatusReport),
}

pub fn status(ws: &Workspace, target: &DeployTarget) -> Result<Status> {
    match target {
        DeployTarget::Local => crate::local::status(ws).map(Status::Local),
        DeployTarget::Aws(settings) => crate::aws::commands::status(ws, settings).map(Status::Aws),
    }
}

/// What to ask before destroying, and the answer to assume on Enter.
pub struct Confirmation {
    pub question: &'static str,
    pub default: bool,
    /// Whether going on without an answer (no terminal, no `-y`) is allowed.
    pub required: bool,
}

/// Destroying the local stack is cheap to undo (a deploy brings it back), so it asks only on
/// a terminal; deleting AWS resources needs a yes, and without a terminal `-y`.
pub fn destroy_confirmation(target: &DeployTarget) -> Confirmation {
    match target {
        DeployTarget::Local => Confirmation {
            question: "Stop the local stack and remove its state and credentials?",
            default: true,
            required: false,
        },
        DeployTarget::Aws(_) => Confirmation {
            question: "Delete every AWS resource this workspace deployed?",
            default: false,
            required: true,
        },
    }
}

/// The error for a destroy that needs a yes and cannot ask for one.
pub fn unconfirmed() -> Error {
    Error::input(
        Problem::new("destroying AWS resources needs confirmation, and there is no terminal to ask")
            .field("--yes")
            .hint("pass -y to confirm"),
    )
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Destroyed {
    Local(crate::local::DestroyReport),
    Aws(crate::aws::commands::DestroyReport),
}

/// `keep_logs`: on AWS, leave the runtimes' log groups (locally, logs go with the stack).
pub fn destroy(
    ws: &Workspace,
    target: &DeployTarget,
    reporter: &dyn Reporter,
    keep_logs: bool,
) -> Result<Destroyed> {
    match target {
        DeployTarget::Local => crate::local::destroy(ws).map(Destroyed::Local),
        DeployTarget::Aws(settings) => {
            let opts = crate::aws::commands::DestroyOptions { keep_logs, ..Default::default() };
            crate::aws::commands::destroy(ws, settings, reporter, opts).map(Destroyed::Aws)
        }
    }
}
