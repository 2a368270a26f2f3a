//! A real MCP client for tests: rmcp over streamable HTTP.

use rmcp::model::{CallToolRequestParams, CallToolResult, ProtocolVersion, Tool};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

/// Which MCP era the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// `initialize` handshake and sessions (2025-11-25 and earlier).
    Legacy,
    /// `server/discover`, no session (2026-07-28).
    Modern,
}

pub type Client = RunningService<RoleClient, ()>;

/// Connects to `url`, with a bearer token when given.
pub async fn connect(url: &str, token: Option<&str>, era: Era) -> Result<Client, String> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    if let Some(t) = token {
        config = config.auth_header(t.to_string());
    }
    let transport = StreamableHttpClientTransport::from_config(config);
    let mode = match era {
        Era::Legacy => ClientLifecycleMode::Initialize,
        Era::Modern => {
            ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::V_2026_07_28] }
        }
    };
    ().serve_with_lifecycle(transport, mode).await.map_err(|e| e.to_string())
}

pub async fn tools(c: &Client) -> Vec<Tool> {
    c.list_all_tools().await.expect("tools/list")
}

pub async fn call(c: &Client, name: &str, args: serde_json::Value) -> CallToolResult {
    let args = args.as_object().cloned().unwrap_or_default();
    c.call_tool(CallToolRequestParams::new(name.to_string()).with_arguments(args)).await.expect("tools/call")
}

/// The tool's result as JSON: the structured content when there is one, else the text.
pub fn result_json(r: &CallToolResult) -> serde_json::Value {
    if let Some(s) = &r.structured_content {
        return s.clone();
    }
    let v = serde_json::to_value(&r.content).unwrap();
    v.get(0).and_then(|c| c.get("text")).cloned().unwrap_or(v)
}
