//! What a server sends while the gateway waits for its answer: progress, log messages, and
//! the requests it makes of the client (elicitation, sampling). AgentCore Gateway carries all
//! of them for MCP-server targets (devguide "gateway-using": the operations table), each era in
//! its own way:
//!
//! - up to 2025-11-25, as messages on the call's response stream, and the client answers a
//!   request on a new POST of the same session (devguide "gateway-mcp-sampling": the gateway
//!   gives each request an id of its own); sessions are a prerequisite ("gateway-sessions");
//! - on 2026-07-28 there are no server-to-client requests: the gateway answers the call with
//!   `resultType: "input_required"`, and the client retries it with its input (MRTR, SEP-2322).
//!
//! A call is relayed only when its client asked for something the server may send: a progress
//! token, a log level, or the elicitation or sampling capability. The gateway then opens a
//! connection of the call's own to the server, whose handler ([`Relay`]) declares exactly the
//! client's capabilities, as AWS does ("the gateway declares elicitation support to the target
//! only if the client declared it"; a sampling request the client cannot take gets -32601), and
//! passes everything on. rmcp's client drives the server's own MRTR rounds through the same
//! handler, so a server of either era meets a client of either era. Every other call takes the
//! shared connection, at no extra cost.

#![allow(deprecated)] // sampling and logging: see mcpkit_deploy::mcp

use rmcp::model::{
    ClientCapabilities, ClientConfig, CreateMessageRequest, CreateMessageRequestParams, CreateMessageResult,
    ElicitRequest, ElicitRequestParams, ElicitResult, ErrorCode, InputRequest, LoggingLevel,
    LoggingMessageNotificationParam, ProgressToken, RequestMetaObject,
};
use rmcp::service::{Peer, RequestContext, RoleClient, RoleServer};
use rmcp::{ClientHandler, ErrorData};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// What the client of one call asked to receive.
#[derive(Debug, Clone)]
pub struct Wants {
    pub capabilities: ClientCapabilities,
    pub progress: Option<ProgressToken>,
    /// The least severe log level to pass on; `None`: no log messages.
    pub log_level: Option<LoggingLevel>,
    /// 2026-07-28: requests to the client become `input_required` results.
    pub modern: bool,
}

impl Wants {
    /// What the request in `ctx` asks for; `None` when the call needs no relay. `session_level`
    /// is what a legacy session set with `logging/setLevel`.
    pub fn of(
        ctx: &RequestContext<RoleServer>,
        meta: Option<&RequestMetaObject>,
        session_level: Option<LoggingLevel>,
    ) -> Option<Wants> {
        let modern = ctx.protocol_version().is_some_and(|v| v >= rmcp::model::ProtocolVersion::V_2026_07_28);
        let capabilities = ctx.client_capabilities().unwrap_or_default();
        let progress = meta.and_then(|m| m.get_progress_token());
        let log_level = meta.and_then(|m| m.log_level()).or(session_level);
        let asks = capabilities.elicitation.is_some() || capabilities.sampling.is_some();
        // Only what the gateway can pass on; roots and extensions stay between client and gateway.
        let mut passed = ClientCapabilities::default();
        passed.elicitation = capabilities.elicitation;
        passed.sampling = capabilities.sampling;
        (asks || progress.is_some() || log_level.is_some()).then_some(Wants {
            capabilities: passed,
            // Legacy clients that asked for progress also get the server's log messages, as
            // a server of that era sends them on the same stream.
            log_level: log_level.or_else(|| (progress.is_some() && !modern).then_some(LoggingLevel::Debug)),
            progress,
            modern,
        })
    }
}

/// A request of the server's that a 2026-07-28 client must answer on its retry.
pub struct Ask {
    pub request: InputRequest,
    pub reply: oneshot::Sender<Result<serde_json::Value, ErrorData>>,
}

/// The handler of a relayed call's connection to the server.
#[derive(Clone)]
pub struct Relay {
    pub wants: Arc<Wants>,
    peer: Peer<RoleServer>,
    /// Modern clients: where the server's requests wait for the client's retry.
    asks: Option<mpsc::Sender<Ask>>,
}

impl Relay {
    pub fn new(wants: Wants, peer: Peer<RoleServer>, asks: Option<mpsc::Sender<Ask>>) -> Self {
        Relay { wants: Arc::new(wants), peer, asks }
    }

    /// Puts a server's request to the client: refused (-32601, as AWS answers) when the client
    /// did not declare `what`; on 2026-07-28 through the call's `input_required` result;
    /// before, as a request on the call's stream (`legacy`).
    async fn ask_client<T: serde::de::DeserializeOwned>(
        &self,
        declared: bool,
        what: &str,
        request: InputRequest,
        legacy: impl std::future::Future<Output = Result<T, rmcp::ServiceError>>,
    ) -> Result<T, ErrorData> {
        if !declared {
            return Err(ErrorData::new(ErrorCode::METHOD_NOT_FOUND, format!("the client does not take {what}"), None));
        }
        match &self.asks {
            Some(tx) => answer(self.ask(tx, request).await?),
            None => legacy.await.map_err(passed_on),
        }
    }

    /// Asks a 2026-07-28 client through the call's `input_required` result.
    async fn ask(&self, tx: &mpsc::Sender<Ask>, request: InputRequest) -> Result<serde_json::Value, ErrorData> {
        let (reply, answer) = oneshot::channel();
        tx.send(Ask { request, reply })
            .await
            .map_err(|_| ErrorData::internal_error("the client's call has ended", None))?;
        answer.await.map_err(|_| ErrorData::internal_error("the client did not answer", None))?
    }
}

fn answer<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, ErrorData> {
    serde_json::from_value(v).map_err(|e| ErrorData::invalid_params(format!("the client's answer: {e}"), None))
}

fn passed_on(e: rmcp::ServiceError) -> ErrorData {
    match e {
        rmcp::ServiceError::McpError(e) => e,
        e => ErrorData::internal_error(format!("the client could not be asked: {e}"), None),
    }
}

impl Wants {
    /// Passes the server's progress and log messages to the client, in order, until the
    /// call's connection closes. Progress goes under the client's own token: rmcp gives every
    /// request it sends upstream a token of its own.
    pub async fn forward(
        self: Arc<Self>,
        peer: Peer<RoleServer>,
        mut events: mpsc::UnboundedReceiver<mcpkit_deploy::mcp::Event>,
    ) {
        use mcpkit_deploy::mcp::Event;
        while let Some(event) = events.recv().await {
            match event {
                Event::Progress(mut p) => {
                    if let Some(token) = &self.progress {
                        p.progress_token = token.clone();
                        let _ = peer.notify_progress(p).await;
                    }
                }
                Event::Log(line) => {
                    let Ok(level) = serde_json::from_value::<LoggingLevel>(serde_json::json!(line.level)) else {
                        continue;
                    };
                    if self.log_level.is_some_and(|min| rank(level) >= rank(min)) {
                        let mut m = LoggingMessageNotificationParam::new(level, line.data);
                        m.logger = line.logger;
                        let _ = peer.notify_logging_message(m).await;
                    }
                }
            }
        }
    }
}

/// Severity rank of a log level (syslog order, least severe first).
fn rank(level: LoggingLevel) -> u8 {
    use LoggingLevel::*;
    match level {
        Debug => 0,
        Info => 1,
        Notice => 2,
        Warning => 3,
        Error => 4,
        Critical => 5,
        Alert => 6,
        Emergency => 7,
    }
}

impl ClientHandler for Relay {
    fn get_info(&self) -> ClientConfig {
        mcpkit_deploy::mcp::client_info(self.wants.capabilities.clone())
    }

    async fn create_elicitation(
        &self,
        params: ElicitRequestParams,
        _ctx: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let declared = self.wants.capabilities.elicitation.is_some();
        let request = InputRequest::Elicitation(ElicitRequest::new(params.clone()));
        self.ask_client(declared, "elicitation", request, self.peer.create_elicitation(params)).await
    }

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        _ctx: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        let declared = self.wants.capabilities.sampling.is_some();
        let request = InputRequest::CreateMessage(CreateMessageRequest::new(params.clone()));
        self.ask_client(declared, "sampling", request, self.peer.create_message(params)).await
    }
}
