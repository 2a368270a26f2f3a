//! The pump between the client (stdio) and the gateway (streamable HTTP). Messages pass as
//! they are, in both directions, whatever the method: requests, responses, notifications, and
//! the gateway's own requests (elicitation, sampling) with the client's answers. Both ends are
//! rmcp transports, so the framing, the session, the protocol-version headers, SSE and the
//! re-initialization of an expired session are rmcp's; what is the proxy's:
//!
//! - a request the gateway cannot be reached for is answered with a JSON-RPC error naming the
//!   gateway's URL, and the client stays connected;
//! - when the connection to the gateway is lost (its transport ended), the next message opens a
//!   new one, replaying the client's `initialize` and `notifications/initialized` first when
//!   the client had a session (legacy era), so the client never learns of it;
//! - every request in flight on a lost connection is answered, so no client waits for ever.

use crate::Log;
use rmcp::model::{
    ClientJsonRpcMessage, ClientNotification, ClientRequest, ErrorCode, ErrorData, RequestId,
    ServerJsonRpcMessage,
};
use rmcp::service::RoleServer;
use rmcp::transport::streamable_http_client::{StreamableHttpClient, StreamableHttpClientTransportConfig};
use rmcp::transport::{StreamableHttpClientTransport, Transport};
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a replayed `initialize` may take before the message that needed it fails.
const REPLAY_TIMEOUT: Duration = Duration::from_secs(30);

/// JSON-RPC's "server error" range, for failures of the proxy's own leg.
const UNREACHABLE: ErrorCode = ErrorCode(-32000);

/// The session the client opened, to replay on a new connection.
#[derive(Default)]
struct Session {
    initialize: Option<ClientJsonRpcMessage>,
    initialized: Option<ClientJsonRpcMessage>,
}

pub struct Bridge<C: StreamableHttpClient> {
    url: String,
    http: C,
    log: Log,
    up: Option<StreamableHttpClientTransport<C>>,
    session: Session,
    /// Requests of the client sent to the gateway and not answered yet.
    pending: HashSet<RequestId>,
}

fn is_initialize(m: &ClientJsonRpcMessage) -> bool {
    matches!(m, ClientJsonRpcMessage::Request(r) if matches!(r.request, ClientRequest::InitializeRequest(_)))
}

fn is_initialized(m: &ClientJsonRpcMessage) -> bool {
    matches!(m, ClientJsonRpcMessage::Notification(n)
        if matches!(n.notification, ClientNotification::InitializedNotification(_)))
}

fn request_id(m: &ClientJsonRpcMessage) -> Option<RequestId> {
    match m {
        ClientJsonRpcMessage::Request(r) => Some(r.id.clone()),
        _ => None,
    }
}

/// The id a message of the gateway answers, if it answers one.
fn answers(m: &ServerJsonRpcMessage) -> Option<&RequestId> {
    match m {
        ServerJsonRpcMessage::Response(r) => Some(&r.id),
        ServerJsonRpcMessage::Error(e) => e.id.as_ref(),
        _ => None,
    }
}

impl<C: StreamableHttpClient> Bridge<C> {
    pub fn new(url: String, http: C, log: Log) -> Self {
        Bridge { url, http, log, up: None, session: Session::default(), pending: HashSet::new() }
    }

    fn failure(&self, id: RequestId, why: &str) -> ServerJsonRpcMessage {
        // A gateway's error page can be long: the reason's first line, shortened, is enough.
        let why: String = why.lines().next().unwrap_or_default().chars().take(300).collect();
        let message = format!("mcpkit proxy: cannot reach the gateway at {}: {why}", self.url);
        ServerJsonRpcMessage::error(ErrorData::new(UNREACHABLE, message, None), Some(id))
    }

    /// Runs until the client closes its end.
    pub async fn run<D: Transport<RoleServer>>(mut self, mut down: D) {
        // Failures of sends in flight come back here, to be answered in order with the rest.
        let (failed_tx, mut failed_rx) = mpsc::unbounded_channel::<(RequestId, String)>();
        loop {
            tokio::select! {
                m = down.receive() => match m {
                    Some(m) => {
                        for answer in self.forward(m, &failed_tx).await {
                            let _ = down.send(answer).await;
                        }
                    }
                    None => break,
                },
                m = async {
                    match self.up.as_mut() {
                        Some(up) => up.receive().await,
                        None => std::future::pending().await,
                    }
                } => match m {
                    Some(m) => {
                        if let Some(id) = answers(&m) {
                            self.pending.remove(id);
                        }
                        if down.send(m).await.is_err() {
                            break;
                        }
                    }
                    None => {
                        (self.log)(&format!("the connection to the gateway at {} ended", self.url));
                        self.up = None;
                        for answer in self.abandon("the connection ended") {
                            let _ = down.send(answer).await;
                        }
                    }
                },
                Some((id, why)) = failed_rx.recv() => {
                    if self.pending.remove(&id) {
                        let _ = down.send(self.failure(id, &why)).await;
                    }
                }
            }
        }
        if let Some(up) = self.up.take() {
            // Ends the gateway session (DELETE) before the process exits.
            let mut up = up;
            let _ = tokio::time::timeout(Duration::from_secs(5), up.close()).await;
        }
    }

    /// Errors for every request in flight on a connection that is gone.
    fn abandon(&mut self, why: &str) -> Vec<ServerJsonRpcMessage> {
        std::mem::take(&mut self.pending).into_iter().map(|id| self.failure(id, why)).collect()
    }

    /// Sends one message of the client to the gateway, opening a connection first if there is
    /// none. Answers known at once (failures) are returned, to be passed to the client.
    async fn forward(
        &mut self,
        m: ClientJsonRpcMessage,
        failed: &mpsc::UnboundedSender<(RequestId, String)>,
    ) -> Vec<ServerJsonRpcMessage> {
        let id = request_id(&m);
        let mut answers = Vec::new();
        if let ClientJsonRpcMessage::Notification(n) = &m
            && let ClientNotification::CancelledNotification(c) = &n.notification
            && let Some(cancelled) = &c.params.request_id
        {
            // rmcp drops a cancelled request's stream: no answer will come, none is owed.
            self.pending.remove(cancelled);
        }
        if is_initialize(&m) {
            // A new session: whatever connection there was belongs to the old one. Dropping
            // the transport cancels its worker, even one still waiting in its own start-up.
            self.session = Session { initialize: Some(m.clone()), initialized: None };
            self.up = None;
            answers.extend(self.abandon("the client started a new session"));
        } else if is_initialized(&m) {
            self.session.initialized = Some(m.clone());
        }
        if self.up.is_none() {
            if id.is_none() && !is_initialized(&m) {
                // Answers and notifications for a connection that is gone go nowhere.
                return answers;
            }
            match self.open(&m).await {
                Ok(up) => self.up = Some(up),
                Err(why) => {
                    (self.log)(&format!("cannot reach the gateway at {}: {why}", self.url));
                    answers.extend(id.map(|id| self.failure(id, &why)));
                    return answers;
                }
            }
        }
        let up = self.up.as_mut().expect("opened above");
        if let Some(id) = &id {
            self.pending.insert(id.clone());
        }
        // The lifecycle's two messages go out before anything else (rmcp's start-up takes
        // the next message after `initialize` for `notifications/initialized`); the send
        // returns once the gateway has answered the POST's headers. Everything else is sent
        // concurrently, so a long tool call does not hold up the next request.
        let lifecycle = is_initialize(&m) || is_initialized(&m);
        let sent = up.send(m);
        if lifecycle {
            let why = match tokio::time::timeout(REPLAY_TIMEOUT, sent).await {
                Ok(Ok(())) => return answers,
                Ok(Err(e)) => e.to_string(),
                Err(_) => "no answer".to_string(),
            };
            (self.log)(&format!("cannot reach the gateway at {}: {why}", self.url));
            self.up = None;
            answers.extend(self.abandon(&why));
            return answers;
        }
        let failed = failed.clone();
        tokio::spawn(async move {
            if let Err(e) = sent.await
                && let Some(id) = id
            {
                let _ = failed.send((id, e.to_string()));
            }
        });
        answers
    }

    /// A new connection to the gateway for `first`. A client that had a session gets it again:
    /// its `initialize` is replayed (the answer is the gateway's, and the client has had one)
    /// and its `notifications/initialized` after.
    async fn open(
        &mut self,
        first: &ClientJsonRpcMessage,
    ) -> Result<StreamableHttpClientTransport<C>, String> {
        let config = StreamableHttpClientTransportConfig::with_uri(self.url.clone());
        let mut up = StreamableHttpClientTransport::with_client(self.http.clone(), config);
        let replay = match &self.session.initialize {
            Some(init) if !is_initialize(first) => Some(init.clone()),
            _ => None,
        };
        let Some(init) = replay else { return Ok(up) };
        let replayed = async {
            up.send(init).await.map_err(|e| e.to_string())?;
            match up.receive().await {
                Some(ServerJsonRpcMessage::Response(_)) => {}
                Some(ServerJsonRpcMessage::Error(e)) => return Err(e.error.message.to_string()),
                _ => return Err("the gateway did not answer initialize".to_string()),
            }
            if let Some(n) = self.session.initialized.clone()
                && !is_initialized(first)
            {
                up.send(n).await.map_err(|e| e.to_string())?;
            }
            Ok(())
        };
        match tokio::time::timeout(REPLAY_TIMEOUT, replayed).await {
            Ok(Ok(())) => {
                (self.log)(&format!("connected to the gateway at {} again; the session goes on", self.url));
                Ok(up)
            }
            Ok(Err(why)) => Err(why),
            Err(_) => Err("initialize timed out".to_string()),
        }
    }
}
