//! The running local stack, shared by the HTTP handlers and the server supervisors: the
//! signing key and realms, one slot per server (its process, port, state, catalog, authorizer
//! and the gateway's upstream client), the gateway's merged view of the catalogs, and the
//! status file that reports all of it.

use super::gateway::catalog::{Catalog, Member, View};
use super::gateway::held::Held;
use super::gateway::relay::{Declares, Relay, Routed};
use super::identity::{Identities, SigningKey};
use super::paths::LocalPaths;
use super::plan::{self, LocalPlan, ServerPlan, ServerState, ServerStatus, Status};
use mcpkit_deploy::auth::jwt::{AuthorizerConfig, JwtAuthorizer};
use mcpkit_deploy::auth::oauth::{ClientCredentials, Token, TokenSource};
use mcpkit_deploy::mcp::{self, Lifecycle};
use mcpkit_workspace::secret::Secret;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;

/// The gateway's client for one runtime, renewed with its token.
///
/// The gateway reaches a runtime in-process, as the runtime endpoint would: every token it
/// fetches for the runtime is first checked by the runtime's own authorizer, then the call goes
/// straight to the server process. That keeps the auth flow of AWS (the gateway's
/// client-credentials token, judged by the runtime's realm) without a second loopback HTTP hop
/// on every call. The token itself is not passed on to the server.
pub struct Upstream {
    /// The server process's MCP endpoint; changes when the server restarts.
    url: std::sync::Mutex<String>,
    /// The secret the server's guard wants (a new one for every start; see `supervisor`).
    secret: std::sync::Mutex<Secret>,
    tokens: TokenSource,
    authorizer: Arc<JwtAuthorizer>,
    client: Mutex<Option<(Arc<mcp::Client>, Token)>>,
    /// Idle relay connections (see `gateway::relay`), each serving one call at a time.
    relays: std::sync::Mutex<Vec<RelayConn>>,
    /// The lifecycle the server answered to, so a relayed call's own connection does not try
    /// `server/discover` on a server that only knows `initialize`.
    lifecycle: std::sync::Mutex<Lifecycle>,
}

impl Upstream {
    pub fn new(tokens: TokenSource, authorizer: Arc<JwtAuthorizer>) -> Self {
        Upstream {
            url: std::sync::Mutex::new(String::new()),
            secret: std::sync::Mutex::new(Secret::new("")),
            tokens,
            authorizer,
            client: Mutex::new(None),
            relays: Default::default(),
            lifecycle: std::sync::Mutex::new(Lifecycle::Auto),
        }
    }

    /// Points at a (re)started server process, and the secret it was started with.
    pub async fn set_port(&self, port: u16, secret: Secret) {
        *self.url.lock().expect("url lock") = format!("http://127.0.0.1:{port}/mcp");
        *self.secret.lock().expect("secret lock") = secret;
        *self.lifecycle.lock().expect("lifecycle lock") = Lifecycle::Auto;
        self.relays.lock().expect("relay pool").clear();
        self.reset().await;
    }

    /// The secret to send the server in [`super::supervisor::SECRET_HEADER`].
    pub fn secret(&self) -> Secret {
        self.secret.lock().expect("secret lock").clone()
    }

    /// How the gateway reaches the server process.
    fn endpoint(&self) -> mcp::Endpoint {
        let url = self.url.lock().expect("url lock").clone();
        mcp::Endpoint { url, token: None, headers: vec![(super::supervisor::SECRET_HEADER, self.secret())] }
    }

    /// A token for the runtime, checked by the runtime's own authorizer, as the runtime
    /// endpoint would check it.
    async fn authorized_token(&self) -> mcpkit_workspace::Result<Token> {
        let token = self.tokens.token().await?;
        let header = format!("Bearer {}", token.access_token.expose());
        self.authorizer.authorize(Some(&header)).await.map_err(|d| {
            mcpkit_workspace::Error::world(format!("the runtime refused the gateway's token: {d}"))
        })?;
        Ok(token)
    }

    /// A relay connection declaring `declares`, idle or new, for one call. As with the shared
    /// client, a connection's token is checked when it is made and again only when it is about
    /// to expire, not on every call.
    pub async fn relay(&self, declares: Declares) -> mcpkit_workspace::Result<RelayConn> {
        let idle = {
            let mut pool = self.relays.lock().expect("relay pool");
            pool.iter().position(|c| c.relay.declares == declares).map(|i| pool.swap_remove(i))
        };
        if let Some(c) = idle.filter(|c| c.usable()) {
            return Ok(c);
        }
        let token = self.authorized_token().await?;
        let relay = Relay::new(declares);
        let (events, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(relay.clone().forward(rx));
        let to_forwarder = events.clone();
        let tap = mcp::Tap(Arc::new(move |e| {
            let _ = to_forwarder.send(Routed::Event(e));
        }));
        let lifecycle = *self.lifecycle.lock().expect("lifecycle lock");
        let client = mcp::connect_as(&self.endpoint(), lifecycle, relay.clone(), Some(tap)).await?;
        Ok(RelayConn { client, relay, events, token })
    }

    /// Takes a relay connection back after its call, for the next one.
    pub fn give_back(&self, c: RelayConn) {
        let mut pool = self.relays.lock().expect("relay pool");
        if pool.len() < RELAYS_KEPT && c.usable() {
            pool.push(c);
        }
    }

    /// A connected client whose token is not about to expire.
    pub async fn client(&self) -> mcpkit_workspace::Result<Arc<mcp::Client>> {
        let mut guard = self.client.lock().await;
        if let Some((c, t)) = guard.as_ref()
            && !t.expires_within(Duration::from_secs(300))
            && !c.is_transport_closed()
        {
            return Ok(c.clone());
        }
        let token = self.authorized_token().await?;
        let info = mcp::client_info(Default::default());
        let c = Arc::new(mcp::connect_as(&self.endpoint(), Lifecycle::Auto, info, None).await?);
        let modern =
            c.peer_info().is_some_and(|i| i.protocol_version >= rmcp::model::ProtocolVersion::V_2026_07_28);
        *self.lifecycle.lock().expect("lifecycle lock") =
            if modern { Lifecycle::Modern } else { Lifecycle::Legacy };
        *guard = Some((c.clone(), token));
        Ok(c)
    }

    /// Drops the client (the server restarted, or a call failed in transport).
    pub async fn reset(&self) {
        *self.client.lock().await = None;
    }
}

/// How many idle relay connections a target keeps.
const RELAYS_KEPT: usize = 16;

/// A connection to a server that serves one relayed call at a time.
pub struct RelayConn {
    pub client: mcp::ClientOf<Relay>,
    pub relay: Relay,
    events: tokio::sync::mpsc::UnboundedSender<Routed>,
    /// The token checked when the connection was made.
    token: Token,
}

impl RelayConn {
    /// Still open, and its token not about to expire.
    fn usable(&self) -> bool {
        !self.client.is_transport_closed() && !self.token.expires_within(Duration::from_secs(300))
    }

    /// Waits until the forwarder has passed on everything the server sent before the last
    /// message read (the call's result): the tap queued it all ahead of this.
    pub async fn flush(&self) {
        let (done, passed) = tokio::sync::oneshot::channel();
        if self.events.send(Routed::Flush(done)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), passed).await;
        }
    }
}

/// One server of the stack.
pub struct ServerSlot {
    pub plan: ServerPlan,
    pub status: ServerStatus,
    pub catalog: Catalog,
    pub authorizer: Arc<JwtAuthorizer>,
    pub upstream: Arc<Upstream>,
    pub cancel: CancellationToken,
}

pub struct Stack {
    pub paths: LocalPaths,
    pub plan: RwLock<LocalPlan>,
    /// The issuer's signing key, made on first use when the workspace has none (see [`Stack::key`]).
    pub key: tokio::sync::OnceCell<SigningKey>,
    pub identities: RwLock<Identities>,
    pub auth: RwLock<super::AuthFile>,
    pub gateway_auth: RwLock<Arc<JwtAuthorizer>>,
    pub servers: RwLock<BTreeMap<String, ServerSlot>>,
    /// The gateway's merged catalog of the ready targets, rebuilt when a slot changes.
    pub view: std::sync::RwLock<Arc<View>>,
    /// The view's fingerprint, watched by sessions for list-changed notifications.
    pub changes: tokio::sync::watch::Sender<[u64; 3]>,
    /// Relayed calls waiting for a 2026-07-28 client's retry.
    pub held: Held,
    /// The gateway's sessions (2025-11-25 and earlier) and whose they are.
    pub sessions: super::http::Sessions,
    /// Refused requests, so a flood of bad tokens does not flood the log.
    pub refusals: Refusals,
    pub base_url: String,
    /// Foreground (`mcpkit dev`): server output goes to our stdout, prefixed and coloured.
    pub foreground: bool,
}

/// A JWT authorizer for a binding; a binding the local target cannot check gets an
/// authorizer that refuses everything (deploy refuses such bindings before this point).
pub fn binding_authorizer(b: Option<&super::Binding>) -> Arc<JwtAuthorizer> {
    let config = b.and_then(|b| super::jwt_config(b).ok()).unwrap_or(AuthorizerConfig {
        discovery_url: "http://127.0.0.1:0/no-authorizer".into(),
        allowed_clients: vec!["nobody".into()],
        allowed_audience: vec![],
        allowed_scopes: vec![],
    });
    Arc::new(JwtAuthorizer::new(config))
}

impl Stack {
    /// The issuer's signing key, read or generated on a blocking thread the first time it is
    /// needed. A workspace's first deploy needs a new RSA key, and making one takes up to a
    /// second of CPU: the supervisor starts it alongside the servers' Python start-up instead
    /// of before it.
    pub async fn key(&self) -> mcpkit_workspace::Result<&SigningKey> {
        self.key
            .get_or_try_init(|| async {
                let path = self.paths.signing_key();
                tokio::task::spawn_blocking(move || super::identity::signing_key(&path).map(|(k, _)| k))
                    .await
                    .map_err(|e| mcpkit_workspace::Error::world(format!("the key generator failed: {e}")))?
            })
            .await
    }

    /// A new slot for a server, not started yet.
    pub async fn slot(&self, sp: &ServerPlan) -> ServerSlot {
        let auth = self.auth.read().await;
        let binding = auth.servers.get(&sp.name);
        let creds = binding.and_then(|b| super::binding_client(b).ok()).unwrap_or(ClientCredentials {
            token_endpoint: "http://127.0.0.1:0/no-client".into(),
            client_id: String::new(),
            client_secret: mcpkit_workspace::secret::Secret::new(""),
            scope: String::new(),
        });
        let authorizer = binding_authorizer(binding);
        let upstream = Upstream::new(TokenSource::new(creds), authorizer.clone());
        ServerSlot {
            plan: sp.clone(),
            status: ServerStatus {
                state: ServerState::Starting,
                pid: None,
                start_time: None,
                exposure: None,
                port: None,
                tools: 0,
                prompts: 0,
                resources: 0,
                restarts: 0,
                last_error: None,
                hash: sp.hash.clone(),
            },
            catalog: Catalog::default(),
            authorizer,
            upstream: Arc::new(upstream),
            cancel: CancellationToken::new(),
        }
    }

    /// A new, empty stack.
    pub fn new(
        paths: LocalPaths,
        plan: LocalPlan,
        identities: Identities,
        auth: super::AuthFile,
        foreground: bool,
    ) -> Stack {
        let gateway_auth = binding_authorizer(auth.gateway.as_ref());
        Stack {
            paths,
            base_url: plan.base_url(),
            plan: RwLock::new(plan),
            key: Default::default(),
            identities: RwLock::new(identities),
            auth: RwLock::new(auth),
            gateway_auth: RwLock::new(gateway_auth),
            servers: RwLock::new(BTreeMap::new()),
            view: std::sync::RwLock::new(Arc::new(View::build([], vec![super::gateway::search::tool()]))),
            changes: tokio::sync::watch::Sender::new([0; 3]),
            held: Held::default(),
            sessions: Default::default(),
            refusals: Default::default(),
            foreground,
        }
    }

    /// The gateway's current view.
    pub fn view(&self) -> Arc<View> {
        self.view.read().expect("view lock").clone()
    }

    /// Rebuilds the view from the ready slots.
    fn rebuild_view(&self, servers: &BTreeMap<String, ServerSlot>) {
        let members = servers.values().filter(|s| s.status.state == ServerState::Ready).map(|s| Member {
            server: &s.plan.name,
            target: &s.plan.target,
            priority: s.plan.resource_priority,
            catalog: &s.catalog,
        });
        let view = Arc::new(View::build(members, vec![super::gateway::search::tool()]));
        let fingerprint = view.fingerprint();
        *self.view.write().expect("view lock") = view;
        self.changes.send_if_modified(|old| std::mem::replace(old, fingerprint) != fingerprint);
    }

    /// Updates a server's slot (if it is still the one with `hash`), the gateway's view and
    /// the status file.
    pub async fn update(&self, name: &str, hash: &str, f: impl FnOnce(&mut ServerSlot)) {
        {
            let mut servers = self.servers.write().await;
            match servers.get_mut(name) {
                Some(slot) if slot.plan.hash == hash => f(slot),
                _ => return,
            }
            self.rebuild_view(&servers);
        }
        self.write_status().await;
    }

    /// Rebuilds the view after slots were added, removed or re-planned.
    pub async fn refresh(&self) {
        self.rebuild_view(&*self.servers.read().await);
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
            problems: self.view().problems.clone(),
        };
        if let Err(e) = plan::write_json(&self.paths.status(), &status) {
            eprintln!("{} cannot write the status file: {e}", stamp());
        }
    }
}

/// Counts the gateway's refusals per minute: the first [`Refusals::LOGGED`] of a minute are
/// logged as they come, the rest only counted, and said in one line when the next minute
/// begins.
#[derive(Default)]
pub struct Refusals {
    window: std::sync::Mutex<Option<(std::time::Instant, u32)>>,
}

impl Refusals {
    pub const LOGGED: u32 = 10;

    /// The log line for one more refusal, if it gets one.
    pub fn note(&self, why: &str) -> Option<String> {
        let mut w = self.window.lock().expect("refusals");
        let now = std::time::Instant::now();
        let (start, count) = w.get_or_insert((now, 0));
        let mut prefix = String::new();
        if now.duration_since(*start) >= Duration::from_secs(60) {
            if *count > Self::LOGGED {
                prefix = format!("({} more refused requests were not logged) ", *count - Self::LOGGED);
            }
            (*start, *count) = (now, 0);
        }
        *count += 1;
        match *count {
            n if n < Self::LOGGED => Some(format!("{prefix}gateway refused a request: {why}")),
            n if n == Self::LOGGED => Some(format!(
                "{prefix}gateway refused a request: {why} (further refusals this minute are only counted)"
            )),
            _ => None,
        }
    }
}

/// A log file over this size is moved aside (to `<name>.1`, replacing the one before) when a
/// process is started on it: the supervisor and every server append to theirs for as long as
/// the stack runs.
pub const LOG_ROTATE_BYTES: u64 = 10 * 1024 * 1024;

pub fn rotate_log(path: &std::path::Path) {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && m.len() > LOG_ROTATE_BYTES) {
        let mut aside = path.as_os_str().to_owned();
        aside.push(".1");
        let _ = std::fs::rename(path, aside);
    }
}

/// A timestamp for log lines.
pub fn stamp() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs();
    format!("[{:02}:{:02}:{:02}]", (secs / 3600) % 24, (secs / 60) % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_refusals_is_logged_ten_lines_a_minute() {
        let r = Refusals::default();
        let lines: Vec<String> = (0..500).filter_map(|_| r.note("bad token")).collect();
        assert_eq!(lines.len(), Refusals::LOGGED as usize);
        assert!(lines.last().unwrap().contains("only counted"));
    }

    #[test]
    fn a_big_log_is_moved_aside_when_its_process_starts() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("s.log");
        std::fs::write(&log, vec![b'x'; (LOG_ROTATE_BYTES + 1) as usize]).unwrap();
        rotate_log(&log);
        assert!(!log.exists() && dir.path().join("s.log.1").exists());
        std::fs::write(&log, "small").unwrap();
        rotate_log(&log);
        assert!(log.exists());
    }
}
