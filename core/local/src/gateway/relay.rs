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
//! A call is relayed when its client asked for something the server may send: a progress
//! token (rmcp clients send one with every request), a log level, or the elicitation or
//! sampling capability. It then takes a connection to the server that serves one call at a
//! time, so everything the server sends on it is that call's; its handler ([`Relay`]) declares
//! exactly the client's capabilities, as AWS does ("the gateway declares elicitation support to
//! the target only if the client declared it"; a sampling request the client cannot take gets
//! -32601). The connections are pooled per target and capability set, so relaying costs no
//! handshake. rmcp's client drives the server's own MRTR rounds through the same handler, so a
//! server of either era meets a client of either era.

#![allow(deprecated)] // sampling and logging: see mcpkit_deploy::mcp

use rmcp::model::{
    ClientCapabilities, ClientConfig, CreateMessageRequest, CreateMessageRequestParams, CreateMessageResult,
    ElicitRequest, ElicitRequestParams, ElicitResult, ErrorCode, InputRequest, LoggingLevel,
    LoggingMessageNotificationParam, ProgressToken,
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
    /// The relay connections that can serve this call: those declaring its client's
    /// capabilities.
    pub fn declares(&self) -> Declares {
        (self.capabilities.elicitation.is_some(), self.capabilities.sampling.is_some())
    }

    /// What the request in `ctx` asks for (rmcp moves a request's `_meta` into its context);
    /// `None` when the call needs no relay. `session_level` is what a legacy session set with
    /// `logging/setLevel`.
    pub fn of(ctx: &RequestContext<RoleServer>, session_level: Option<LoggingLevel>) -> Option<Wants> {
        let modern = ctx.protocol_version().is_some_and(|v| v >= rmcp::model::ProtocolVersion::V_2026_07_28);
        let capabilities = ctx.client_capabilities().unwrap_or_default();
        let progress = ctx.meta.get_progress_token();
        let log_level = ctx.meta.log_level().or(session_level);
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

/// The call a relay connection is serving: what its client wants, how to reach the client,
/// and (2026-07-28) where the server's questions wait for the client's retry.
pub struct Current {
    pub wants: Wants,
    pub peer: Peer<RoleServer>,
    pub asks: Option<mpsc::Sender<Ask>>,
}

/// What a relay connection's events carry to its forwarder, in the order they came.
pub enum Routed {
    Event(mcpkit_deploy::mcp::Event),
    /// Everything before this has been passed on.
    Flush(oneshot::Sender<()>),
}

/// The handler of a relay connection: it serves one call at a time, the one in `current`.
/// Relay connections are pooled per target (see `stack::Upstream`), so a relayed call costs
/// no handshake with the server.
#[derive(Clone)]
pub struct Relay {
    /// What the connection declares it can take: the capabilities of the clients it serves.
    pub declares: Declares,
    pub current: Arc<std::sync::Mutex<Option<Arc<Current>>>>,
}

/// A relay connection's capability set: (elicitation, sampling).
pub type Declares = (bool, bool);

impl Relay {
    pub fn new(declares: Declares) -> Self {
        Relay { declares, current: Arc::new(std::sync::Mutex::new(None)) }
    }

    /// The call this connection now serves (or none).
    pub fn serve(&self, call: Option<Current>) {
        *self.current.lock().expect("relay call") = call.map(Arc::new);
    }

    fn current(&self) -> Option<Arc<Current>> {
        self.current.lock().expect("relay call").clone()
    }

    /// Passes the server's progress and log messages to the current call's client, in order,
    /// for as long as the connection lives. Progress goes under the client's own token: rmcp
    /// gives every request it sends upstream a token of its own.
    pub async fn forward(self, mut events: mpsc::UnboundedReceiver<Routed>) {
        use mcpkit_deploy::mcp::Event;
        while let Some(routed) = events.recv().await {
            let event = match routed {
                Routed::Flush(done) => {
                    let _ = done.send(());
                    continue;
                }
                Routed::Event(e) => e,
            };
            let Some(call) = self.current() else { continue };
            match event {
                Event::Progress(mut p) => {
                    if let Some(token) = &call.wants.progress {
                        p.progress_token = token.clone();
                        let _ = call.peer.notify_progress(p).await;
                    }
                }
                Event::Log(line) => {
                    let Ok(level) = serde_json::from_value::<LoggingLevel>(serde_json::json!(line.level))
                    else {
                        continue;
                    };
                    if call.wants.log_level.is_some_and(|min| rank(level) >= rank(min)) {
                        let mut m = LoggingMessageNotificationParam::new(level, line.data);
                        m.logger = line.logger;
                        let _ = call.peer.notify_logging_message(m).await;
                    }
                }
            }
        }
    }

    /// Puts a server's request to the client: refused (-32601, as AWS answers) when the client
    /// did not declare it; on 2026-07-28 through the call's `input_required` result; before,
    /// as a request on the call's stream.
    async fn ask_client<T: serde::de::DeserializeOwned, F>(
        &self,
        declared: impl Fn(&ClientCapabilities) -> bool,
        what: &str,
        request: InputRequest,
        legacy: impl FnOnce(Peer<RoleServer>) -> F,
    ) -> Result<T, ErrorData>
    where
        F: std::future::Future<Output = Result<T, rmcp::ServiceError>>,
    {
        let call = self.current().filter(|c| declared(&c.wants.capabilities)).ok_or_else(|| {
            ErrorData::new(ErrorCode::METHOD_NOT_FOUND, format!("the client does not take {what}"), None)
        })?;
        match &call.asks {
            Some(tx) => answer(ask(tx, request).await?),
            None => legacy(call.peer.clone()).await.map_err(passed_on),
        }
    }
}

/// Asks a 2026-07-28 client through the call's `input_required` result.
async fn ask(tx: &mpsc::Sender<Ask>, request: InputRequest) -> Result<serde_json::Value, ErrorData> {
    let (reply, answer) = oneshot::channel();
    tx.send(Ask { request, reply })
        .await
        .map_err(|_| ErrorData::internal_error("the client's call has ended", None))?;
    answer.await.map_err(|_| ErrorData::internal_error("the client did not answer", None))?
}

fn answer<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, ErrorData> {
    serde_json::from_value(v)
        .map_err(|e| ErrorData::invalid_params(format!("the client's answer: {e}"), None))
}

fn passed_on(e: rmcp::ServiceError) -> ErrorData {
    match e {
        rmcp::ServiceError::McpError(e) => e,
        e => ErrorData::internal_error(format!("the client could not be asked: {e}"), None),
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
        let mut caps = ClientCapabilities::default();
        if self.declares.0 {
            caps.elicitation = serde_json::from_value(serde_json::json!({"form": {}})).ok();
        }
        if self.declares.1 {
            caps.sampling = serde_json::from_value(serde_json::json!({})).ok();
        }
        mcpkit_deploy::mcp::client_info(caps)
    }

    async fn create_elicitation(
        &self,
        params: ElicitRequestParams,
        _ctx: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let request = InputRequest::Elicitation(ElicitRequest::new(params.clone()));
        self.ask_client(
            |c| c.elicitation.is_some(),
            "elicitation",
            request,
            |peer| async move { peer.create_elicitation(params).await },
        )
        .await
    }

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        _ctx: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        let request = InputRequest::CreateMessage(CreateMessageRequest::new(params.clone()));
        self.ask_client(
            |c| c.sampling.is_some(),
            "sampling",
            request,
            |peer| async move { peer.create_message(params).await },
        )
        .await
    }
}
