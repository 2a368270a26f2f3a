//! `mcpkit aws`: what a deploy needs from AWS.

use super::prelude::*;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The least-privilege IAM policy the identity that deploys this workspace needs.
    Policy {
        /// Also print the policies mcpkit gives the gateway's and each runtime's role.
        #[arg(long)]
        roles: bool,
        /// The account to write ARNs for (default: the caller's, from STS).
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// AWS region (default: `[targets.aws] region`, then AWS_REGION and your profile).
        #[arg(long, value_name = "REGION")]
        region: Option<String>,
        /// AWS profile (default: `[targets.aws] profile`, then AWS_PROFILE).
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
        #[command(flatten)]
        workspace: WorkspaceArg,
        #[arg(long)]
        json: bool,
    },
}

pub fn exec(cmd: Command, p: &Printer) -> Result<ExitStatus> {
    match cmd {
        Command::Policy { roles, account, region, profile, workspace: w, json } => {
            let ws = workspace(&w)?;
            let settings = mcpkit_core::aws::sdk::Settings { region, profile };
            let r = mcpkit_core::aws::commands::policy(&ws, &settings, account)?;
            if json {
                p.json(&r);
            } else if roles {
                p.line(serde_json::to_string_pretty(&r).expect("JSON"));
            } else {
                p.line(serde_json::to_string_pretty(&r.deployer).expect("JSON"));
            }
            Ok(ExitStatus::Success)
        }
    }
}
