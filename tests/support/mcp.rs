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

fn mode(era: Era) -> ClientLifecycleMode {
    match era {
        Era::Legacy => ClientLifecycleMode::Initialize,
        Era::Modern => {
            ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::V_2026_07_28] }
        }
    }
}

/// Connects to `url`, with a bearer token when given.
pub async fn connect(url: &str, token: Option<&str>, era: Era) -> Result<Client, String> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    if let Some(t) = token {
        config = config.auth_header(t.to_string());
    }
    let transport = StreamableHttpClientTransport::from_config(config);
    let mode = mode(era);
    ().serve_with_lifecycle(transport, mode).await.map_err(|e| e.to_string())
}

/// Connects straight to a server process the local target runs, giving the secret its guard
/// wants (see `initial_env`) when there is one.
pub async fn connect_direct(url: &str, secret: Option<&str>, era: Era) -> Result<Client, String> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    if let Some(s) = secret {
        let mut headers = std::collections::HashMap::new();
        headers.insert(
            reqwest::header::HeaderName::from_static("x-mcpkit-server-secret"),
            reqwest::header::HeaderValue::from_str(s).map_err(|e| e.to_string())?,
        );
        config = config.custom_headers(headers);
    }
    let transport = StreamableHttpClientTransport::from_config(config);
    let mode = mode(era);
    ().serve_with_lifecycle(transport, mode).await.map_err(|e| e.to_string())
}

/// The value of `var` in the environment a process started with (readable by its owner only).
pub fn initial_env(pid: u32, var: &str) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    environ.split(|b| *b == 0).find_map(|kv| {
        let kv = String::from_utf8_lossy(kv);
        kv.strip_prefix(&format!("{var}=")).map(str::to_string)
    })
}

pub async fn tools<H: rmcp::service::Service<RoleClient>>(c: &RunningService<RoleClient, H>) -> Vec<Tool> {
    c.list_all_tools().await.expect("tools/list")
}

pub async fn call<H: rmcp::service::Service<RoleClient>>(
    c: &RunningService<RoleClient, H>,
    name: &str,
    args: serde_json::Value,
) -> CallToolResult {
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

/// A client handler that answers what a server asks during a call and records what it sends:
/// it declares elicitation and sampling, answers every elicitation with the name "Ada" and
/// every sampling request with a fixed haiku.
#[derive(Clone, Default)]
pub struct Answering {
    pub seen: std::sync::Arc<std::sync::Mutex<Seen>>,
}

#[derive(Debug, Default, Clone)]
pub struct Seen {
    pub progress: Vec<(f64, Option<f64>, Option<String>)>,
    pub logs: Vec<serde_json::Value>,
    pub elicited: Vec<String>,
    pub sampled: usize,
    pub list_changed: usize,
}

#[allow(deprecated)]
impl rmcp::ClientHandler for Answering {
    fn get_info(&self) -> rmcp::model::ClientConfig {
        let caps =
            serde_json::from_value(serde_json::json!({"elicitation": {"form": {}}, "sampling": {}})).unwrap();
        rmcp::model::ClientConfig::new(caps, rmcp::model::Implementation::new("mcpkit-tests", "0"))
            .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }

    async fn on_progress(
        &self,
        p: rmcp::model::ProgressNotificationParam,
        _ctx: rmcp::service::NotificationContext<RoleClient>,
    ) {
        self.seen.lock().unwrap().progress.push((p.progress, p.total, p.message));
    }

    async fn on_logging_message(
        &self,
        m: rmcp::model::LoggingMessageNotificationParam,
        _ctx: rmcp::service::NotificationContext<RoleClient>,
    ) {
        self.seen.lock().unwrap().logs.push(m.data);
    }

    async fn on_prompt_list_changed(&self, _ctx: rmcp::service::NotificationContext<RoleClient>) {
        self.seen.lock().unwrap().list_changed += 1;
    }

    async fn create_elicitation(
        &self,
        params: rmcp::model::ElicitRequestParams,
        _ctx: rmcp::service::RequestContext<RoleClient>,
    ) -> Result<rmcp::model::ElicitResult, rmcp::ErrorData> {
        let v = serde_json::to_value(&params).unwrap();
        self.seen.lock().unwrap().elicited.push(v["message"].as_str().unwrap_or_default().to_string());
        Ok(serde_json::from_value(serde_json::json!({"action": "accept", "content": {"name": "Ada"}}))
            .unwrap())
    }

    async fn create_message(
        &self,
        _params: rmcp::model::CreateMessageRequestParams,
        _ctx: rmcp::service::RequestContext<RoleClient>,
    ) -> Result<rmcp::model::CreateMessageResult, rmcp::ErrorData> {
        self.seen.lock().unwrap().sampled += 1;
        Ok(serde_json::from_value(serde_json::json!({
            "model": "test-model", "role": "assistant",
            "content": {"type": "text", "text": "autumn moon rises"}
        }))
        .unwrap())
    }
}

/// Connects with `handler` answering the server.
pub async fn connect_as<H: rmcp::service::Service<RoleClient>>(
    url: &str,
    token: &str,
    era: Era,
    handler: H,
) -> Result<RunningService<RoleClient, H>, String> {
    let config =
        StreamableHttpClientTransportConfig::with_uri(url.to_string()).auth_header(token.to_string());
    let transport = StreamableHttpClientTransport::from_config(config);
    let mode = mode(era);
    handler.serve_with_lifecycle(transport, mode).await.map_err(|e| e.to_string())
}
