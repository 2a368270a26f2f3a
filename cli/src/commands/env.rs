//! `mcpkit env`: list the environments and what is deployed in each; add one.

use super::prelude::*;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every environment mcpkit.toml declares (and the workspace's own deployment), with where
    /// each is deployed, from the recorded state.
    List {
        #[command(flatten)]
        workspace: WorkspaceArg,
        #[arg(long)]
        json: bool,
    },
    /// Declare an environment: `[environments.<name>]` in mcpkit.toml (comments kept).
    Add {
        /// Lower-case letters and digits, starting with a letter, at most 10: dev, staging, prod.
        name: String,
        /// The AWS region it deploys to.
        #[arg(long, value_name = "REGION")]
        region: Option<String>,
        /// The AWS profile it deploys as.
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
        Command::List { workspace: w, json } => {
            let ws = workspace(&w)?;
            let list = ops::env::list(&ws)?;
            if json {
                p.json(&list);
                return Ok(ExitStatus::Success);
            }
            for e in &list {
                let mut head = match &e.name {
                    Some(n) => n.clone(),
                    None => "(no environment)".to_string(),
                };
                if !e.declared {
                    head.push_str(" (no longer in mcpkit.toml)");
                }
                if let Some(r) = &e.region {
                    head.push_str(&format!("  region {r}"));
                }
                p.line(head);
                match &e.local {
                    Some(l) => p.line(format!(
                        "  local  {}{}",
                        if l.running { "running" } else { "stopped" },
                        l.gateway_url.as_ref().map(|u| format!(" at {u}")).unwrap_or_default()
                    )),
                    None => p.line("  local  not deployed"),
                }
                if e.aws.is_empty() {
                    p.line("  aws    not deployed");
                }
                for a in &e.aws {
                    p.line(format!(
                        "  aws    {} ({} resources){}",
                        a.region,
                        a.resources,
                        a.gateway_url.as_ref().map(|u| format!(" {u}")).unwrap_or_default()
                    ));
                }
            }
        }
        Command::Add { name, region, profile, workspace: w, json } => {
            let mut ws = workspace(&w)?;
            let aws = mcpkit_core::manifest::AwsTarget { region, profile, token_lifetime_s: None };
            let report = ops::env::add(&mut ws, &name, &aws)?;
            if json {
                p.json(&report);
            } else {
                p.line(format!(
                    "Added environment `{}` to {}; deploy it with `mcpkit deploy --env {}`",
                    report.name,
                    report.manifest.display(),
                    report.name
                ));
            }
        }
    }
    Ok(ExitStatus::Success)
}
