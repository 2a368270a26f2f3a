//! Which target a command acts on, and the commands that work on any deployed target: token,
//! tools, call, connect. Each target says where its gateway is and how to get a token for it.

use crate::error::{Error, Problem, Result};
use crate::local::runtime;
use crate::manifest::Workspace;
use crate::secret::Secret;
use mcpkit_deploy::mcp;
use rmcp::model::{
    CallToolResult, GetPromptRequestParams, GetPromptResult, Prompt, ReadResourceRequestParams,
    ReadResourceResult, Resource, ResourceTemplate, Tool,
};
use rmcp::service::{RoleClient, Service};
use serde::Serialize;

#[derive(Debug, Clone, Default)]
pub enum DeployTarget {
    #[default]
    Local,
    /// AgentCore, in the region and as the profile given (or configured).
    Aws(crate::aws::sdk::Settings),
}

impl DeployTarget {
    /// The name the command line and the credentials file use.
    pub fn name(&self) -> &'static str {
        match self {
            DeployTarget::Local => "local",
            DeployTarget::Aws(_) => "aws",
        }
    }
}

/// The gateway's URL and a fresh access token for it.
pub fn gateway_token(ws: &Workspace, target: &DeployTarget) -> Result<mcpkit_deploy::GatewayToken> {
    match target {
        DeployTarget::Local => crate::local::token(ws),
        DeployTarget::Aws(settings) => crate::aws::commands::token(ws, settings),
    }
}

/// How a command reaches the deployed gateway.
enum Access {
    /// With a bearer token (the local target; Cognito gateways on AWS).
    Bearer(String, Secret),
    /// With SigV4 (gateways on AWS that authenticate callers with AWS IAM).
    SigV4(crate::aws::sdk::Settings),
}

/// The AWS settings of the target when its gateway authenticates callers with AWS IAM.
pub(crate) fn iam_gateway<'a>(
    ws: &Workspace,
    target: &'a DeployTarget,
) -> Option<&'a crate::aws::sdk::Settings> {
    match target {
        DeployTarget::Aws(settings)
            if crate::aws::leg(&ws.manifest().gateway.auth) == crate::aws::Leg::Iam =>
        {
            Some(settings)
        }
        _ => None,
    }
}

/// What connecting needs that must be had outside the async runtime (a bearer token).
fn access(ws: &Workspace, target: &DeployTarget) -> Result<Access> {
    match iam_gateway(ws, target) {
        Some(settings) => Ok(Access::SigV4(settings.clone())),
        None => {
            let t = gateway_token(ws, target)?;
            Ok(Access::Bearer(t.url, t.token))
        }
    }
}

/// An MCP client of the deployed gateway, with `handler` answering what the gateway sends.
async fn open<H: Service<RoleClient>>(
    ws: &Workspace,
    access: &Access,
    handler: H,
    tap: Option<mcp::Tap>,
) -> Result<mcp::ClientOf<H>> {
    let lifecycle = mcp::Lifecycle::Auto;
    match access {
        Access::Bearer(url, token) => {
            mcp::connect_as(&mcp::Endpoint::new(url.as_str(), Some(token)), lifecycle, handler, tap).await
        }
        Access::SigV4(settings) => {
            let (url, aws) = crate::aws::commands::gateway_url(ws, settings).await?;
            crate::aws::sigv4::connect_as(&url, &aws, lifecycle, handler, tap).await
        }
    }
}

/// What a command does with the server's progress and log messages.
type OnEvent = Box<dyn Fn(mcp::Event) + Send + Sync>;

/// Connects to the deployed gateway, does `work`, and closes the connection; `on_event` sees
/// what the gateway reports meanwhile, in order, all of it before this returns.
fn session<H: Service<RoleClient>, T>(
    ws: &Workspace,
    target: &DeployTarget,
    handler: H,
    on_event: Option<OnEvent>,
    work: impl AsyncFnOnce(&mcp::ClientOf<H>) -> Result<T>,
) -> Result<T> {
    let access = access(ws, target)?;
    runtime()?.block_on(async {
        let (tap, forward) = match on_event {
            Some(on_event) => {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                let forward = tokio::spawn(async move {
                    while let Some(e) = rx.recv().await {
                        on_event(e);
                    }
                });
                (Some(mcp::Tap::channel(tx)), Some(forward))
            }
            None => (None, None),
        };
        let c = open(ws, &access, handler, tap).await?;
        let r = work(&c).await;
        let _ = c.cancel().await;
        if let Some(forward) = forward {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), forward).await;
        }
        r
    })
}

fn quiet() -> rmcp::model::ClientConfig {
    mcp::client_info(Default::default())
}

fn failed(what: &'static str) -> impl Fn(rmcp::ServiceError) -> Error {
    move |e| Error::world(format!("{what}: {e}"))
}

/// `--args`: a JSON object.
fn json_object(args: &str) -> Result<serde_json::Map<String, serde_json::Value>> {
    let args: serde_json::Value = serde_json::from_str(args).map_err(|e| {
        Error::input(
            Problem::new(format!("not valid JSON: {e}"))
                .field("--args")
                .hint(r#"for example --args '{"a": 1}'"#),
        )
    })?;
    match args {
        serde_json::Value::Object(args) => Ok(args),
        _ => Err(Error::input(Problem::new("must be a JSON object").field("--args"))),
    }
}

/// The deployed gateway's tools, as the gateway describes them.
pub fn tools(ws: &Workspace, target: &DeployTarget) -> Result<Vec<Tool>> {
    session(ws, target, quiet(), None, async |c| c.list_all_tools().await.map_err(failed("tools/list")))
}

/// Calls a tool through the deployed gateway. `args` is a JSON object; what the tool reports
/// while it runs (progress, log messages) goes to `on_event`.
pub fn call(
    ws: &Workspace,
    target: &DeployTarget,
    tool: &str,
    args: &str,
    on_event: impl Fn(mcp::Event) + Send + Sync + 'static,
) -> Result<CallToolResult> {
    let args = json_object(args)?;
    session(ws, target, quiet(), Some(Box::new(on_event)), async |c| mcp::call_observed(c, tool, args).await)
}

/// The deployed gateway's prompts.
pub fn prompts(ws: &Workspace, target: &DeployTarget) -> Result<Vec<Prompt>> {
    session(ws, target, quiet(), None, async |c| c.list_all_prompts().await.map_err(failed("prompts/list")))
}

/// A prompt rendered with `args` (a JSON object of strings, as MCP's prompt arguments are).
pub fn prompt(ws: &Workspace, target: &DeployTarget, name: &str, args: &str) -> Result<GetPromptResult> {
    let args = json_object(args)?;
    if let Some((k, _)) = args.iter().find(|(_, v)| !v.is_string()) {
        return Err(Error::input(
            Problem::new(format!("argument `{k}` is not a string: prompt arguments are strings"))
                .field("--args")
                .hint(r#"for example --args '{"topic": "rust"}'"#),
        ));
    }
    let mut params = GetPromptRequestParams::new(name.to_string());
    params.arguments = Some(args);
    session(ws, target, quiet(), None, async |c| c.get_prompt(params).await.map_err(failed("prompts/get")))
}

/// The deployed gateway's resources and resource templates.
#[derive(Debug, Clone, Serialize)]
pub struct ResourcesReport {
    pub resources: Vec<Resource>,
    pub templates: Vec<ResourceTemplate>,
}

pub fn resources(ws: &Workspace, target: &DeployTarget) -> Result<ResourcesReport> {
    session(ws, target, quiet(), None, async |c| {
        Ok(ResourcesReport {
            resources: c.list_all_resources().await.map_err(failed("resources/list"))?,
            templates: c.list_all_resource_templates().await.map_err(failed("resources/templates/list"))?,
        })
    })
}

/// Reads a resource by its URI.
pub fn read(ws: &Workspace, target: &DeployTarget, uri: &str) -> Result<ReadResourceResult> {
    let params = ReadResourceRequestParams::new(uri.to_string());
    session(ws, target, quiet(), None, async |c| {
        c.read_resource(params).await.map_err(failed("resources/read"))
    })
}
