//! The top of the command line and the arguments several commands share, as clap types; each
//! command's own arguments live in its file under `commands/`. Nothing here decides anything.

use clap::{Args, Parser};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "mcpkit",
    version,
    about = "Build MCP servers, run them behind one authenticated gateway locally, deploy them to Amazon Bedrock AgentCore",
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// More output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: crate::commands::Command,
}

#[derive(Debug, Args)]
pub struct WorkspaceArg {
    /// The workspace folder (default: the nearest folder with an mcpkit.toml).
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TemplateDirArg {
    /// An extra folder of templates (overrides built-ins and ~/.config/mcpkit/templates).
    #[arg(long, value_name = "DIR")]
    pub template_dir: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Target {
    /// Everything on this machine: no AWS account, no Docker.
    #[default]
    Local,
    /// Amazon Bedrock AgentCore.
    Aws,
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Where: `local` (this machine, the default) or `aws`.
    #[arg(long, value_enum, default_value_t)]
    pub target: Target,
    /// AWS region (default: `[targets.aws] region`, then AWS_REGION and your profile).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// AWS profile (default: `[targets.aws] profile`, then AWS_PROFILE).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The environment: an `[environments.<name>]` of mcpkit.toml (default: none, the
    /// workspace as it is).
    #[arg(short = 'e', long = "env", value_name = "NAME", env = "MCPKIT_ENV")]
    pub env: Option<String>,
    #[command(flatten)]
    pub workspace: WorkspaceArg,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WorkspaceOnly {
    #[command(flatten)]
    pub workspace: WorkspaceArg,
}
