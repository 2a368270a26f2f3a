//! A real MCP client (rmcp over streamable HTTP), for the gateway's upstream hop and for the
//! `tools` and `call` commands.

// Logging, sampling and roots are deprecated by SEP-2577 (2026-07-28), but servers use them
// and AgentCore Gateway carries them, so mcpkit does too.
#![allow(deprecated)]

use mcpkit_workspace::error::{Error, Result};
use mcpkit_workspace::secret::Secret;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation, LoggingLevel,
    LoggingMessageNotificationParam, ProgressNotificationParam, ProgressToken, ProtocolVersion,
    RequestMetaObject,
};
use rmcp::model::{JsonRpcMessage, ServerNotification};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RoleClient, RunningService, Service};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::Transport;
use rmcp::transport::streamable_http_client::{StreamableHttpClient, StreamableHttpClientTransportConfig};

pub type Client = RunningService<RoleClient, ClientConfig>;

/// A client whose server-initiated traffic goes to the handler `H`.
pub type ClientOf<H> = RunningService<RoleClient, H>;

/// mcpkit's client description, with the capabilities given: what `initialize` sends (and, on
/// 2026-07-28, every request's `_meta`).
pub fn client_info(capabilities: ClientCapabilities) -> ClientConfig {
    ClientConfig::new(capabilities, Implementation::new("mcpkit", mcpkit_workspace::VERSION))
        .with_protocol_version(ProtocolVersion::V_2025_11_25)
}

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

/// Where a client connects: the URL, a bearer token, and headers of its own (secret values).
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    pub url: String,
    pub token: Option<Secret>,
    pub headers: Vec<(&'static str, Secret)>,
}

impl Endpoint {
    pub fn new(url: impl Into<String>, token: Option<&Secret>) -> Endpoint {
        Endpoint { url: url.into(), token: token.cloned(), headers: vec![] }
    }
}

/// Connects to an MCP endpoint, with a bearer token when given.
pub async fn connect(url: &str, token: Option<&Secret>, lifecycle: Lifecycle) -> Result<Client> {
    let info = client_info(ClientCapabilities::default());
    connect_as(&Endpoint::new(url, token), lifecycle, info, None).await
}

/// [`connect`], with `handler` answering the server's requests (elicitation, sampling) and
/// `tap`, when given, receiving its progress and log messages in order (see [`Tap`]).
pub async fn connect_as<H: Service<RoleClient>>(
    endpoint: &Endpoint,
    lifecycle: Lifecycle,
    handler: H,
    tap: Option<Tap>,
) -> Result<ClientOf<H>> {
    crate::install_crypto();
    let url = endpoint.url.as_str();
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    if let Some(t) = &endpoint.token {
        config = config.auth_header(t.expose().to_string());
    }
    if !endpoint.headers.is_empty() {
        let mut headers = std::collections::HashMap::new();
        for (name, value) in &endpoint.headers {
            let value = http::HeaderValue::from_str(value.expose())
                .map_err(|_| Error::world(format!("header {name} is not a valid header value")))?;
            headers.insert(http::HeaderName::from_static(name), value);
        }
        config = config.custom_headers(headers);
    }
    let transport = StreamableHttpClientTransport::with_client(crate::net::for_url(url)?, config);
    serve(url, Tapped { inner: transport, tap }, lifecycle, handler).await
}

/// Connects over `http`, any streamable-HTTP client (one that signs its requests, say), with
/// the same configuration and lifecycle handling as [`connect`].
pub async fn connect_with<C: StreamableHttpClient>(
    url: &str,
    http: C,
    lifecycle: Lifecycle,
) -> Result<Client> {
    connect_with_as(url, http, lifecycle, client_info(ClientCapabilities::default()), None).await
}

/// [`connect_with`], with a handler and a tap as for [`connect_as`].
pub async fn connect_with_as<C: StreamableHttpClient, H: Service<RoleClient>>(
    url: &str,
    http: C,
    lifecycle: Lifecycle,
    handler: H,
    tap: Option<Tap>,
) -> Result<ClientOf<H>> {
    crate::install_crypto();
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    let transport = StreamableHttpClientTransport::with_client(http, config);
    serve(url, Tapped { inner: transport, tap }, lifecycle, handler).await
}

/// Runs the client's side of the lifecycle over `transport`.
async fn serve<C: StreamableHttpClient, H: Service<RoleClient>>(
    url: &str,
    transport: Tapped<StreamableHttpClientTransport<C>>,
    lifecycle: Lifecycle,
    handler: H,
) -> Result<ClientOf<H>> {
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
    let client = handler.serve_with_lifecycle(transport, mode).await.map_err(|e| {
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

/// What a server reports while it handles a request.
#[derive(Debug, Clone)]
pub enum Event {
    Progress(ProgressNotificationParam),
    Log(LogLine),
}

/// A server's log message (`notifications/message`).
#[derive(Debug, Clone)]
pub struct LogLine {
    /// `debug` … `emergency`.
    pub level: String,
    pub logger: Option<String>,
    pub data: serde_json::Value,
}

/// Where a client's progress and log messages go, in the order the server sent them.
///
/// rmcp hands each notification to the client's handler on a task of its own, so two that
/// arrive together can reach a handler in either order, and after the call's result. A tap
/// takes them off the transport as they are read, in order, before the message that follows
/// them reaches rmcp (a call's result, say). It is dropped with the connection: a channel
/// sender it holds closes then, so whoever reads the channel knows it has seen everything.
#[derive(Clone)]
pub struct Tap(pub std::sync::Arc<dyn Fn(Event) + Send + Sync>);

impl Tap {
    /// A tap that sends every event into `tx`.
    pub fn channel(tx: tokio::sync::mpsc::UnboundedSender<Event>) -> Tap {
        Tap(std::sync::Arc::new(move |e| {
            let _ = tx.send(e);
        }))
    }
}

/// A transport that passes progress and log messages to its tap instead of to rmcp.
pub struct Tapped<T> {
    inner: T,
    tap: Option<Tap>,
}

impl<T: Transport<RoleClient>> Transport<RoleClient> for Tapped<T> {
    type Error = T::Error;

    fn send(
        &mut self,
        item: rmcp::service::TxJsonRpcMessage<RoleClient>,
    ) -> impl std::future::Future<Output = std::result::Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<rmcp::service::RxJsonRpcMessage<RoleClient>> {
        loop {
            let message = self.inner.receive().await?;
            let Some(tap) = &self.tap else { return Some(message) };
            let event = match &message {
                JsonRpcMessage::Notification(n) => match &n.notification {
                    ServerNotification::ProgressNotification(p) => Event::Progress(p.params.clone()),
                    ServerNotification::LoggingMessageNotification(m) => Event::Log(LogLine::from(&m.params)),
                    _ => return Some(message),
                },
                _ => return Some(message),
            };
            (tap.0)(event);
        }
    }

    fn close(&mut self) -> impl std::future::Future<Output = std::result::Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}

impl From<&LoggingMessageNotificationParam> for LogLine {
    fn from(m: &LoggingMessageNotificationParam) -> LogLine {
        let level = serde_json::to_value(m.level).ok().and_then(|v| v.as_str().map(str::to_string));
        LogLine { level: level.unwrap_or_default(), logger: m.logger.clone(), data: m.data.clone() }
    }
}

/// Calls a tool asking for its progress (a progress token) and its log messages (`info` and
/// above: on 2026-07-28 a request opts in with a level; earlier servers send what they send).
pub async fn call_observed<H: Service<RoleClient>>(
    client: &ClientOf<H>,
    name: &str,
    args: serde_json::Map<String, serde_json::Value>,
) -> Result<CallToolResult> {
    let level = LoggingLevel::Info;
    let mut meta = RequestMetaObject::with_progress_token(ProgressToken(
        rmcp::model::NumberOrString::String("mcpkit-call".into()),
    ));
    meta.set_log_level(level);
    let mut params = CallToolRequestParams::new(name.to_string()).with_arguments(args);
    params.meta = Some(meta);
    client.call_tool(params).await.map_err(|e| Error::world(format!("tools/call {name} failed: {e}")))
}
