//! The command line, as clap types. Nothing here decides anything: see `mcpkit_core::ops`.

use clap::{Args, Parser, Subcommand};
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
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a workspace with one MCP server from a template.
    New(NewArgs),
    /// Add a server to the workspace: from a template, or an existing one where it lies.
    AddServer(AddServerArgs),
    /// List the built-in and user templates.
    Templates(TemplatesArgs),
    /// Turn the original toolkit's command line into a workspace's mcpkit.toml.
    Import(ImportArgs),
    /// Check mcpkit.toml, every server, and the auth providers for a target, changing nothing.
    Validate(TargetArgs),
    /// Deploy the workspace: locally (default) or to Amazon Bedrock AgentCore.
    Deploy(DeployArgs),
    /// State of every server and the gateway.
    Status(TargetArgs),
    /// Print a fresh gateway access token (and nothing else).
    Token(TargetArgs),
    /// List the deployed gateway's tools.
    Tools(TargetArgs),
    /// Call a tool through the deployed gateway.
    Call(CallArgs),
    /// Show the servers' logs.
    Logs(LogsArgs),
    /// Stop and remove everything a deploy made.
    Destroy(DestroyArgs),
    /// Run the whole stack in the foreground, restarting servers when their files change.
    Dev(WorkspaceOnly),
    /// Print ready-to-paste configuration for an MCP client.
    Connect(ConnectArgs),
    /// Auth-provider plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Amazon Bedrock AgentCore: what a deploy needs from AWS.
    #[command(subcommand)]
    Aws(AwsCommand),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Internal: the local stack's supervisor process.
    #[command(name = "__supervise", hide = true)]
    Supervise(WorkspaceOnly),
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

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Project name: the folder, the gateway and (unless --server) the server are named after it.
    pub name: String,
    /// Server template (see `mcpkit templates`). Default: <name> when it is a template's name,
    /// else asked, else `helloworld`.
    #[arg(short, long)]
    pub template: Option<String>,
    /// Create `<name>/` inside this folder instead of the current one.
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// Description of the project and its server.
    #[arg(long)]
    pub description: Option<String>,
    /// Name of the first server (default: <name>).
    #[arg(long)]
    pub server: Option<String>,
    /// Set a template variable (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    /// Never prompt; use defaults.
    #[arg(short, long)]
    pub yes: bool,
    #[command(flatten)]
    pub templates: TemplateDirArg,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AddServerArgs {
    /// Server name (letters, digits and single hyphens).
    pub name: String,
    /// Render this template into servers/<name>/ (default: helloworld).
    #[arg(short, long, conflicts_with_all = ["entrypoint", "requirements"])]
    pub template: Option<String>,
    /// Register an existing server's entry point (a .py file) where it lies.
    #[arg(long, requires = "requirements", value_name = "FILE.py")]
    pub entrypoint: Option<PathBuf>,
    /// The existing server's requirements file (a .txt file).
    #[arg(long, requires = "entrypoint", value_name = "FILE.txt")]
    pub requirements: Option<PathBuf>,
    #[arg(long)]
    pub description: Option<String>,
    /// Set a template variable (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    #[command(flatten)]
    pub workspace: WorkspaceArg,
    #[command(flatten)]
    pub templates: TemplateDirArg,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TemplatesArgs {
    #[command(flatten)]
    pub templates: TemplateDirArg,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The gateway's name (the original toolkit's --gateway-name).
    #[arg(long)]
    pub gateway_name: String,
    /// JSON array of runtime configs: name, description, entrypoint, requirements_file,
    /// auto_create_execution_role, auto_create_ecr.
    #[arg(long)]
    pub runtime_configs: String,
    #[arg(long)]
    pub region: Option<String>,
    #[arg(long)]
    pub gateway_description: Option<String>,
    /// Where to write mcpkit.toml (default: the current folder).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
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

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub common: TargetArgs,
    /// Seconds to wait for every server to be ready (local target).
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Print what would be created, updated, left alone and deleted; change nothing
    /// (AWS target).
    #[arg(long)]
    pub dry_run: bool,
    /// Also create the original toolkit's test user in the gateway's Cognito pool
    /// (COGNITO_USERNAME, COGNITO_TEMP_PASSWORD, COGNITO_PASSWORD from .env; AWS target).
    #[arg(long)]
    pub test_user: bool,
    /// How many resources to create or update at once (AWS target).
    #[arg(short, long, value_name = "N", default_value_t = mcpkit_core::aws::target::CONCURRENCY)]
    pub jobs: usize,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The tool, as the gateway names it (`<server>-target___<tool>`).
    pub tool: String,
    /// Arguments as a JSON object.
    #[arg(long, default_value = "{}")]
    pub args: String,
    #[command(flatten)]
    pub common: TargetArgs,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Only this server (default: all, and the supervisor's own log).
    pub server: Option<String>,
    /// Keep printing new lines as they come.
    #[arg(short, long)]
    pub follow: bool,
    #[command(flatten)]
    pub workspace: WorkspaceArg,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub common: TargetArgs,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// claude-desktop, claude-code, vscode, cursor or amazon-q.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(
        mcpkit_core::ops::target::McpClient::ALL.map(|(name, _)| name)
    ))]
    pub client: String,
    #[command(flatten)]
    pub common: TargetArgs,
}

#[derive(Debug, Subcommand)]
pub enum AwsCommand {
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

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Every auth provider: built-ins, the user's plugin folder, the workspace's [plugins].
    List {
        #[command(flatten)]
        workspace: WorkspaceArg,
        #[arg(long)]
        json: bool,
    },
    /// Scaffold an auth-provider plugin crate (and register it in mcpkit.toml).
    New {
        /// Plugin name (letters, digits and single hyphens).
        name: String,
        /// Create `<name>/` here (default: the workspace's `plugins/`, or the current folder).
        #[arg(long, value_name = "PATH")]
        dir: Option<PathBuf>,
        #[command(flatten)]
        workspace: WorkspaceArg,
        #[command(flatten)]
        templates: TemplateDirArg,
        #[arg(long)]
        json: bool,
    },
}
