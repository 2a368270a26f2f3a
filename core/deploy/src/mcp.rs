//! A real MCP client (rmcp over streamable HTTP), for the gateway's upstream hop and for the
//! `tools` and `call` commands.

use mcpkit_workspace::error::{Error, Result};
use mcpkit_workspace::secret::Secret;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation, ProtocolVersion,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::{StreamableHttpClient, StreamableHttpClientTransportConfig};

pub type Client = RunningService<RoleClient, ClientConfig>;

/// Which lifecycle a client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lifecycle {
    /// `initialize` and sessions (2025-11-25 and earlier).
    Legacy,
    /// `server/discover`, stateless (2026-07-28).
    Modern,
    /// Try `server/discover`, fall back to `initialize` for servers that do not know it.
    #[default]
    Auto,
}

/// Connects to an MCP endpoint, with a bearer token when given.
pub async fn connect(url: &str, token: Option<&Secret>, lifecycle: Lifecycle) -> Result<Client> {
    crate::install_crypto();
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    if let Some(t) = token {
        config = config.auth_header(t.expose().to_string());
    }
    serve(url, StreamableHttpClientTransport::with_client(crate::net::for_url(url)?, config), lifecycle).await
}

/// Connects over `http`, any streamable-HTTP client (one that signs its requests, say), with
/// the same configuration and lifecycle handling as [`connect`].
pub async fn connect_with<C: StreamableHttpClient>(
    url: &str,
    http: C,
    lifecycle: Lifecycle,
) -> Result<Client> {
    crate::install_crypto();
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    serve(url, StreamableHttpClientTransport::with_client(http, config), lifecycle).await
}

/// Runs the client's side of the lifecycle over `transport`.
async fn serve<C: StreamableHttpClient>(
    url: &str,
    transport: StreamableHttpClientTransport<C>,
    lifecycle: Lifecycle,
) -> Result<Client> {
    let info = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("mcpkit", mcpkit_workspace::VERSION),
    )
    .with_protocol_version(ProtocolVersion::V_2025_11_25);
    let mode = match lifecycle {
        Lifecycle::Legacy => ClientLifecycleMode::Initialize,
        Lifecycle::Modern => {
            ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::V_2026_07_28] }
        }
        Lifecycle::Auto => ClientLifecycleMode::Auto {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            legacy_version: Some(ProtocolVersion::V_2025_11_25),
        },
    };
    let client = info.serve_with_lifecycle(transport, mode).await.map_err(|e| {
        let challenge = e.auth_challenge().map(|c| format!(" ({c})")).unwrap_or_default();
        Error::world(format!("cannot connect to {url}: {e}{challenge}"))
    })?;
    client.set_response_cache_config(rmcp::ClientCacheConfig::disabled()).await;
    Ok(client)
}

/// Calls a tool with JSON arguments.
pub async fn call(
    client: &Client,
    name: &str,
    args: serde_json::Map<String, serde_json::Value>,
) -> Result<CallToolResult> {
    client
        .call_tool(CallToolRequestParams::new(name.to_string()).with_arguments(args))
        .await
        .map_err(|e| Error::world(format!("tools/call {name} failed: {e}")))
}
