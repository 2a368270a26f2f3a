//! Which target a command acts on, and the commands that work on any deployed target: token,
//! tools, call, connect. Each target says where its gateway is and how to get a token for it.

use crate::error::{Error, Problem, Result};
use crate::local::runtime;
use crate::manifest::Workspace;
use crate::secret::Secret;
use serde::Serialize;

#[derive(Debug, Clone, Default)]
pub enum Target {
    #[default]
    Local,
    /// AgentCore, in the region and as the profile given (or configured).
    Aws(crate::aws::sdk::Settings),
}

/// The gateway's URL and a fresh access token for it.
pub fn gateway_token(ws: &Workspace, target: &Target) -> Result<(String, Secret)> {
    match target {
        Target::Local => crate::local::token(ws),
        Target::Aws(settings) => crate::aws::target::token(ws, settings),
    }
}

/// The deployed gateway's tools, as the gateway describes them.
pub fn tools(ws: &Workspace, target: &Target) -> Result<Vec<rmcp::model::Tool>> {
    let (url, token) = gateway_token(ws, target)?;
    runtime()?.block_on(async {
        let c = crate::mcp::connect(&url, Some(&token), crate::mcp::Lifecycle::Auto).await?;
        let tools = c.list_all_tools().await.map_err(|e| Error::world(format!("tools/list: {e}")));
        let _ = c.cancel().await;
        tools
    })
}

/// Calls a tool through the deployed gateway. `args` is a JSON object.
pub fn call(ws: &Workspace, target: &Target, tool: &str, args: &str) -> Result<rmcp::model::CallToolResult> {
    let args: serde_json::Value = serde_json::from_str(args).map_err(|e| {
        Error::input(
            Problem::new(format!("not valid JSON: {e}"))
                .field("--args")
                .hint(r#"for example --args '{"a": 1}'"#),
        )
    })?;
    let serde_json::Value::Object(args) = args else {
        return Err(Error::input(Problem::new("must be a JSON object").field("--args")));
    };
    let (url, token) = gateway_token(ws, target)?;
    runtime()?.block_on(async {
        let c = crate::mcp::connect(&url, Some(&token), crate::mcp::Lifecycle::Auto).await?;
        let r = crate::mcp::call(&c, tool, args).await;
        let _ = c.cancel().await;
        r
    })
}

/// MCP clients `connect` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpClient {
    ClaudeDesktop,
    ClaudeCode,
    Vscode,
    Cursor,
    AmazonQ,
}

impl McpClient {
    /// Every client, by the name the command line uses.
    pub const ALL: [(&'static str, McpClient); 5] = [
        ("claude-desktop", McpClient::ClaudeDesktop),
        ("claude-code", McpClient::ClaudeCode),
        ("vscode", McpClient::Vscode),
        ("cursor", McpClient::Cursor),
        ("amazon-q", McpClient::AmazonQ),
    ];

    pub fn from_name(name: &str) -> Option<McpClient> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
    }
}

/// Ready-to-paste configuration for a client: what to paste, and where.
#[derive(Debug, Clone, Serialize)]
pub struct ClientConfig {
    pub client: &'static str,
    /// Where the configuration goes.
    pub location: &'static str,
    /// The text to paste (a JSON document or a shell command). It holds a bearer token.
    pub config: String,
    pub note: String,
}

pub fn connect(ws: &Workspace, target: &Target, client: McpClient) -> Result<ClientConfig> {
    let (url, token) = gateway_token(ws, target)?;
    let name = format!("mcpkit-{}", ws.manifest().gateway.name);
    let bearer = format!("Bearer {}", token.expose());
    let note = "the token expires in an hour; run `mcpkit connect` again (or `mcpkit token`) for a new one"
        .to_string();
    let pretty = |v: serde_json::Value| serde_json::to_string_pretty(&v).expect("json");
    let headers = serde_json::json!({ "Authorization": bearer });
    Ok(match client {
        McpClient::ClaudeDesktop => ClientConfig {
            client: "Claude Desktop",
            location: "claude_desktop_config.json (Settings > Developer > Edit Config)",
            // Claude Desktop speaks stdio to local processes; mcp-remote bridges to HTTP.
            config: pretty(serde_json::json!({ "mcpServers": { name: {
                "command": "npx",
                "args": ["-y", "mcp-remote", url, "--header", "Authorization:${MCPKIT_AUTH}"],
                "env": { "MCPKIT_AUTH": bearer }
            }}})),
            note,
        },
        McpClient::ClaudeCode => ClientConfig {
            client: "Claude Code",
            location: "a shell",
            config: format!(
                "claude mcp add --transport http {name} {url} --header 'Authorization: {bearer}'"
            ),
            note,
        },
        McpClient::Vscode => ClientConfig {
            client: "VS Code",
            location: ".vscode/mcp.json",
            config: pretty(
                serde_json::json!({ "servers": { name: { "type": "http", "url": url, "headers": headers } } }),
            ),
            note,
        },
        McpClient::Cursor => ClientConfig {
            client: "Cursor",
            location: "~/.cursor/mcp.json",
            config: pretty(serde_json::json!({ "mcpServers": { name: { "url": url, "headers": headers } } })),
            note,
        },
        McpClient::AmazonQ => ClientConfig {
            client: "Amazon Q Developer",
            location: "~/.aws/amazonq/mcp.json",
            config: pretty(
                serde_json::json!({ "mcpServers": { name: { "type": "http", "url": url, "headers": headers } } }),
            ),
            note,
        },
    })
}
