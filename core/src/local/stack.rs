//! The running local stack, shared by the HTTP handlers and the server supervisors: the
//! signing key and realms, one slot per server (its process, port, state, tools, authorizer
//! and the gateway's upstream client), and the status file that reports all of it.

use super::identity::{Identities, SigningKey};
use super::paths::LocalPaths;
use super::plan::{self, LocalPlan, ServerPlan, ServerState, ServerStatus, Status};
use crate::auth::jwt::{AuthorizerConfig, JwtAuthorizer};
use crate::auth::oauth::{ClientCredentials, Token, TokenSource};
use crate::mcp::{self, Lifecycle};
use rmcp::model::Tool;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;

/// The gateway's client for one runtime endpoint, renewed with its token.
pub struct Upstream {
    url: String,
    tokens: TokenSource,
    client: Mutex<Option<(Arc<mcp::Client>, Token)>>,
}

impl Upstream {
    pub fn new(url: String, tokens: TokenSource) -> Self {
        Upstream { url, tokens, client: Mutex::new(None) }
    }

    /// A connected client whose token is not about to expire.
    pub async fn client(&self) -> crate::Result<Arc<mcp::Client>> {
        let mut guard = self.client.lock().await;
        if let Some((c, t)) = guard.as_ref() {
            if !t.expires_within(Duration::from_secs(300)) && !c.is_transport_closed() {
                return Ok(c.clone());
            }
        }
        let token = self.tokens.token().await?;
        let c = Arc::new(mcp::connect(&self.url, Some(&token.access_token), Lifecycle::Auto).await?);
        *guard = Some((c.clone(), token));
        Ok(c)
    }

    /// Drops the client (the server restarted, or a call failed in transport).
    pub async fn reset(&self) {
        *self.client.lock().await = None;
    }
}

/// One server of the stack.
pub struct ServerSlot {
    pub plan: ServerPlan,
    pub status: ServerStatus,
    pub tools: Vec<Tool>,
    pub authorizer: Arc<JwtAuthorizer>,
    pub upstream: Arc<Upstream>,
    pub cancel: CancellationToken,
}

pub struct Stack {
    pub paths: LocalPaths,
    pub plan: RwLock<LocalPlan>,
    pub key: SigningKey,
    pub identities: RwLock<Identities>,
    pub http: reqwest::Client,
    pub gateway_auth: RwLock<Arc<JwtAuthorizer>>,
    pub servers: RwLock<BTreeMap<String, ServerSlot>>,
    pub base_url: String,
    /// Foreground (`mcpkit dev`): server output goes to our stdout, prefixed and coloured.
    pub foreground: bool,
}

/// The authorizer of a realm of this stack: its discovery URL, its one client.
pub fn realm_authorizer(
    http: &reqwest::Client,
    base: &str,
    ids: &Identities,
    name: &str,
) -> Arc<JwtAuthorizer> {
    let pool = format!("{name}-pool");
    let client = ids.realm(name).map(|r| r.client_id.clone()).into_iter().collect();
    Arc::new(JwtAuthorizer::new(
        AuthorizerConfig {
            discovery_url: plan::discovery_url(base, &pool),
            allowed_clients: client,
            allowed_audience: vec![],
            allowed_scopes: vec![],
        },
        http.clone(),
    ))
}

impl Stack {
    /// The outbound credentials of a server's realm (what AgentCore's credential provider
    /// `{server}-identity` holds).
    pub fn outbound(&self, ids: &Identities, server: &str) -> ClientCredentials {
        let realm = ids.realm(server).expect("deploy provisions every server's realm");
        ClientCredentials {
            token_endpoint: plan::token_endpoint(&self.base_url, &realm.pool),
            client_id: realm.client_id.clone(),
            client_secret: realm.secret(),
            scope: realm.scope.clone(),
        }
    }

    /// A new slot for a server, not started yet.
    pub async fn slot(&self, sp: &ServerPlan) -> ServerSlot {
        let ids = self.identities.read().await;
        let upstream = Upstream::new(
            plan::runtime_url(&self.base_url, &sp.runtime),
            TokenSource::new(self.http.clone(), self.outbound(&ids, &sp.name)),
        );
        ServerSlot {
            plan: sp.clone(),
            status: ServerStatus {
                state: ServerState::Starting,
                pid: None,
                port: None,
                tools: 0,
                restarts: 0,
                last_error: None,
                hash: sp.hash.clone(),
            },
            tools: vec![],
            authorizer: realm_authorizer(&self.http, &self.base_url, &ids, &sp.name),
            upstream: Arc::new(upstream),
            cancel: CancellationToken::new(),
        }
    }

    /// Updates a server's status (if the slot is still the one with `hash`) and rewrites the
    /// status file.
    pub async fn update(&self, name: &str, hash: &str, f: impl FnOnce(&mut ServerSlot)) {
        {
            let mut servers = self.servers.write().await;
            match servers.get_mut(name) {
                Some(slot) if slot.plan.hash == hash => f(slot),
                _ => return,
            }
        }
        self.write_status().await;
    }

    pub async fn write_status(&self) {
        let generation = self.plan.read().await.generation;
        let port = self.plan.read().await.port;
        let servers = self.servers.read().await;
        let status = Status {
            generation,
            pid: std::process::id(),
            start_time: super::process_start_time(std::process::id()).unwrap_or(0),
            port,
            servers: servers.iter().map(|(k, s)| (k.clone(), s.status.clone())).collect(),
        };
        if let Err(e) = plan::write_json(&self.paths.status(), &status) {
            eprintln!("{} cannot write the status file: {e}", stamp());
        }
    }
}

/// A timestamp for log lines.
pub fn stamp() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs();
    format!("[{:02}:{:02}:{:02}]", (secs / 3600) % 24, (secs / 60) % 60, secs % 60)
}
