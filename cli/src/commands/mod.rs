//! One file per command, in the manner of cargo's `src/bin/cargo/commands/`: each holds its clap
//! arguments and an `exec` that calls `mcpkit_core` and renders the report. Nothing here
//! decides anything that a test of core would not see.

pub mod add_server;
pub mod aws;
pub mod call;
pub mod completions;
pub mod connect;
pub mod deploy;
pub mod destroy;
pub mod dev;
pub mod env;
pub mod import;
pub mod logs;
pub mod new;
pub mod plugin;
pub mod prompt;
pub mod prompts;
pub mod proxy;
pub mod read;
pub mod resources;
pub mod status;
pub mod supervise;
pub mod templates;
pub mod token;
pub mod tools;
pub mod validate;

use crate::args::{self, TargetArgs, WorkspaceOnly};
use crate::print::Printer;
use clap::Subcommand;
use mcpkit_core::{Error, Result, Workspace, ops};
use std::path::PathBuf;

/// What every command file needs.
pub(crate) mod prelude {
    pub use super::{ExitStatus, cwd, target, target_name, workspace, workspace_in};
    pub(crate) use crate::args::{TargetArgs, TemplateDirArg, WorkspaceArg};
    pub use crate::print::Printer;
    pub use clap::{Args, Subcommand};
    pub use mcpkit_core::{Error, Result, Workspace, ops};
    pub use std::io::IsTerminal;
    pub use std::path::PathBuf;
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a workspace with one MCP server from a template.
    New(new::Args),
    /// Add a server to the workspace: from a template, or an existing one where it lies.
    AddServer(add_server::Args),
    /// List the built-in and user templates.
    Templates(templates::Args),
    /// Turn the original toolkit's command line into a workspace's mcpkit.toml.
    Import(import::Args),
    /// Check mcpkit.toml, every server, and the auth providers for a target, changing nothing.
    Validate(TargetArgs),
    /// Deploy the workspace: locally (default) or to Amazon Bedrock AgentCore.
    Deploy(deploy::Args),
    /// State of every server and the gateway.
    Status(TargetArgs),
    /// Print a fresh gateway access token (and nothing else).
    Token(TargetArgs),
    /// List the deployed gateway's tools.
    Tools(TargetArgs),
    /// Call a tool through the deployed gateway (its progress and log messages on stderr).
    Call(call::Args),
    /// List the deployed gateway's prompts.
    Prompts(TargetArgs),
    /// Render a prompt of the deployed gateway.
    Prompt(prompt::Args),
    /// List the deployed gateway's resources and resource templates.
    Resources(TargetArgs),
    /// Read a resource through the deployed gateway.
    Read(read::Args),
    /// Show the servers' logs.
    Logs(logs::Args),
    /// Stop and remove everything a deploy made.
    Destroy(destroy::Args),
    /// Run the whole stack in the foreground, restarting servers when their files change.
    Dev(WorkspaceOnly),
    /// Configure an MCP client for the deployed gateway (to start `mcpkit proxy`, by default).
    Connect(connect::Args),
    /// Be the deployed gateway for an MCP client, on stdio: tokens renewed, SigV4 signed.
    Proxy(proxy::Args),
    /// Environments: the same workspace deployed as dev, staging, prod, side by side.
    #[command(subcommand)]
    Env(env::Command),
    /// Auth-provider plugins.
    #[command(subcommand)]
    Plugin(plugin::Command),
    /// Amazon Bedrock AgentCore: what a deploy needs from AWS.
    #[command(subcommand)]
    Aws(aws::Command),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Internal: the local stack's supervisor process.
    #[command(name = "__supervise", hide = true)]
    Supervise(WorkspaceOnly),
}

/// How the process ends when the command itself did not fail: `validate` that found problems
/// and a tool call that returned an error end non-zero after printing their report. Errors
/// map to their own codes (`Error::exit_code`: 2 for bad input, 1 for the world).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    /// The command ran and what it ran failed (a tool call's `isError`).
    Failure,
    /// The command ran and found the input bad (`validate`).
    BadInput,
    /// `status` found the deployment not as mcpkit.toml asks or as mcpkit left it.
    Drifted,
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::BadInput => 2,
            ExitStatus::Drifted => 3,
        }
    }
}

pub fn exec(command: Command, p: &Printer) -> Result<ExitStatus> {
    match command {
        Command::New(a) => new::exec(a, p),
        Command::AddServer(a) => add_server::exec(a, p),
        Command::Templates(a) => templates::exec(a, p),
        Command::Import(a) => import::exec(a, p),
        Command::Validate(a) => validate::exec(a, p),
        Command::Deploy(a) => deploy::exec(a, p),
        Command::Status(a) => status::exec(a, p),
        Command::Token(a) => token::exec(a, p),
        Command::Tools(a) => tools::exec(a, p),
        Command::Call(a) => call::exec(a, p),
        Command::Prompts(a) => prompts::exec(a, p),
        Command::Prompt(a) => prompt::exec(a, p),
        Command::Resources(a) => resources::exec(a, p),
        Command::Read(a) => read::exec(a, p),
        Command::Logs(a) => logs::exec(a, p),
        Command::Destroy(a) => destroy::exec(a, p),
        Command::Dev(a) => dev::exec(a, p),
        Command::Connect(a) => connect::exec(a, p),
        Command::Proxy(a) => proxy::exec(a),
        Command::Env(c) => env::exec(c, p),
        Command::Plugin(c) => plugin::exec(c, p),
        Command::Aws(c) => aws::exec(c, p),
        Command::Completions { shell } => completions::exec(shell),
        Command::Supervise(a) => supervise::exec(a),
    }
}

pub fn cwd() -> Result<PathBuf> {
    std::env::current_dir().map_err(|e| Error::world(format!("cannot read the current folder: {e}")))
}

pub fn workspace(arg: &args::WorkspaceArg) -> Result<Workspace> {
    match &arg.workspace {
        Some(dir) => Workspace::load(dir),
        None => Workspace::find(&cwd()?),
    }
}

/// The workspace as the command's environment (`--env`, `MCPKIT_ENV`) deploys it.
pub fn workspace_in(a: &TargetArgs) -> Result<Workspace> {
    let ws = workspace(&a.workspace)?;
    match a.env.as_deref().filter(|e| !e.is_empty()) {
        Some(e) => ws.in_environment(e),
        None => Ok(ws),
    }
}

pub fn target_name(t: args::Target) -> &'static str {
    match t {
        args::Target::Local => "local",
        args::Target::Aws => "aws",
    }
}

pub fn aws_settings(a: &TargetArgs) -> mcpkit_core::aws::sdk::Settings {
    mcpkit_core::aws::sdk::Settings { region: a.region.clone(), profile: a.profile.clone() }
}

pub fn target(a: &TargetArgs) -> ops::target::DeployTarget {
    match a.target {
        args::Target::Local => ops::target::DeployTarget::Local,
        args::Target::Aws => ops::target::DeployTarget::Aws(aws_settings(a)),
    }
}
