//! The local stack's one HTTP listener: the issuer (per realm: discovery, JWKS, token), the
//! gateway at `/mcp` behind its JWT authorizer, RFC 9728 protected-resource metadata, and the
//! runtime endpoints `/runtimes/<runtime>/invocations` that authorize with the runtime's own
//! realm and proxy to the server process, as AgentCore Runtime's customJWTAuthorizer does.

use super::gateway::{Gateway, Principal};
use super::identity::Realm;
use super::plan::{self, ServerState};
use super::stack::{Stack, stamp};
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router, middleware};
use mcpkit_deploy::auth::jwt::Denied;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub fn router(stack: Arc<Stack>, gateway_name: String, ct: CancellationToken) -> Router {
    let gw_stack = stack.clone();
    // Sessions for clients of 2025-11-25 and earlier, as an AgentCore gateway with a
    // `sessionConfiguration` has them: elicitation and sampling need one (devguide
    // "gateway-sessions"). A request that opens none (2026-07-28, or a bare POST of an older
    // era) is served statelessly, as a gateway without sessions serves it.
    let base = StreamableHttpServerConfig::default()
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_cancellation_token(ct);
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.keep_alive = Some(Sessions::TIMEOUT);
    let (a, b) = (gw_stack.clone(), gateway_name.clone());
    let services = Arc::new(McpServices {
        max_body: base.max_request_body_bytes,
        sessions: StreamableHttpService::new(
            move || Ok(Gateway::new(a.clone(), b.clone())),
            Arc::new(sessions),
            base.clone().with_legacy_session_mode(true),
        ),
        stateless: StreamableHttpService::new(
            move || Ok(Gateway::new(gw_stack.clone(), gateway_name.clone())),
            Arc::new(NeverSessionManager::default()),
            base.with_legacy_session_mode(false),
        ),
    });
    let mcp = Router::new()
        .route_service("/mcp", any(mcp_endpoint).with_state(services))
        .layer(middleware::from_fn_with_state(stack.clone(), gateway_auth));
    Router::new()
        .route("/realms/{pool}/.well-known/openid-configuration", get(openid_configuration))
        .route("/realms/{pool}/.well-known/oauth-authorization-server", get(openid_configuration))
        .route("/realms/{pool}/.well-known/jwks.json", get(jwks))
        .route("/realms/{pool}/oauth2/token", post(token))
        .route("/.well-known/oauth-protected-resource", get(gateway_metadata))
        .route("/.well-known/oauth-protected-resource/mcp", get(gateway_metadata))
        .route("/runtimes/{runtime}/invocations", any(runtime))
        .route("/runtimes/{runtime}/invocations/.well-known/oauth-protected-resource", get(runtime_metadata))
        .merge(mcp)
        .layer(middleware::from_fn(local_host_only))
        .with_state(stack)
}

fn json_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, Json(serde_json::json!({ "error": error, "error_description": description }))).into_response()
}

async fn realm(stack: &Stack, pool: &str) -> Option<Realm> {
    stack.identities.read().await.realms.get(pool).cloned()
}

async fn openid_configuration(State(stack): State<Arc<Stack>>, Path(pool): Path<String>) -> Response {
    let Some(r) = realm(&stack, &pool).await else {
        return json_error(StatusCode::NOT_FOUND, "not_found", "no such realm");
    };
    let issuer = plan::issuer_url(&stack.base_url, &r.id);
    Json(serde_json::json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "token_endpoint": plan::token_endpoint(&stack.base_url, &r.id),
        "response_types_supported": ["token"],
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["public"],
        "scopes_supported": [r.scope],
    }))
    .into_response()
}

async fn jwks(State(stack): State<Arc<Stack>>, Path(pool): Path<String>) -> Response {
    if realm(&stack, &pool).await.is_none() {
        return json_error(StatusCode::NOT_FOUND, "not_found", "no such realm");
    }
    match stack.key().await {
        Ok(key) => Json(key.jwks.clone()).into_response(),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e.to_string()),
    }
}

/// Compares secrets in time independent of where they first differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The client-credentials token endpoint (client_secret_basic or client_secret_post).
async fn token(
    State(stack): State<Arc<Stack>>,
    Path(pool): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let Some(r) = realm(&stack, &pool).await else {
        return json_error(StatusCode::NOT_FOUND, "not_found", "no such realm");
    };
    let form: std::collections::HashMap<String, String> =
        serde_urlencoded::from_str(&body).unwrap_or_default();
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
        .and_then(|b| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(i, p)| (decode_component(i), decode_component(p))));
    let (id, secret) = match basic {
        Some(pair) => pair,
        None => match (form.get("client_id"), form.get("client_secret")) {
            (Some(i), Some(s)) => (i.clone(), s.clone()),
            _ => {
                return json_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "client authentication is required",
                );
            }
        },
    };
    if id != r.client_id || !same_secret(&secret, &r.client_secret) {
        return json_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client or wrong secret");
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return json_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        );
    }
    if let Some(scope) = form.get("scope").filter(|s| !s.trim().is_empty())
        && scope.split_whitespace().any(|s| s != r.scope)
    {
        return json_error(StatusCode::BAD_REQUEST, "invalid_scope", "scope not allowed for this client");
    }
    let ttl = stack.plan.read().await.token_ttl_secs;
    let key = match stack.key().await {
        Ok(key) => key,
        Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e.to_string()),
    };
    match key.mint(&plan::issuer_url(&stack.base_url, &r.id), &r.client_id, &r.scope, ttl) {
        Ok(t) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(
                serde_json::json!({ "access_token": t.expose(), "token_type": "Bearer", "expires_in": ttl }),
            ),
        )
            .into_response(),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e.to_string()),
    }
}

fn decode_component(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned()
}

/// The issuer a binding's authorizer trusts (its discovery URL without the well-known part).
fn issuer_of(b: Option<&super::Binding>) -> Option<String> {
    match &b?.authorizer {
        mcpkit_plugin_api::Authorizer::Jwt { discovery_url, .. } => {
            discovery_url.split("/.well-known/").next().map(str::to_string)
        }
        mcpkit_plugin_api::Authorizer::Iam => None,
    }
}

async fn gateway_metadata(State(stack): State<Arc<Stack>>) -> Response {
    let plan = stack.plan.read().await;
    let auth = stack.auth.read().await;
    let scopes =
        auth.gateway.as_ref().and_then(|b| b.client.as_ref()).map(|c| c.scopes.clone()).unwrap_or_default();
    Json(serde_json::json!({
        "resource": plan.gateway_url(),
        "authorization_servers": issuer_of(auth.gateway.as_ref()).into_iter().collect::<Vec<_>>(),
        "bearer_methods_supported": ["header"],
        "scopes_supported": scopes,
        "resource_name": format!("mcpkit local gateway {}", plan.gateway),
    }))
    .into_response()
}

async fn runtime_metadata(State(stack): State<Arc<Stack>>, Path(runtime): Path<String>) -> Response {
    let servers = stack.servers.read().await;
    let Some(slot) = servers.values().find(|s| s.plan.runtime == runtime) else {
        return json_error(StatusCode::NOT_FOUND, "not_found", "no such runtime");
    };
    let auth = stack.auth.read().await;
    Json(serde_json::json!({
        "resource": plan::runtime_url(&stack.base_url, &runtime),
        "authorization_servers": issuer_of(auth.servers.get(&slot.plan.name)).into_iter().collect::<Vec<_>>(),
        "bearer_methods_supported": ["header"],
    }))
    .into_response()
}

fn unauthorized(metadata: &str, denied: &Denied) -> Response {
    let challenge = match denied {
        Denied::Missing => format!("Bearer resource_metadata=\"{metadata}\""),
        Denied::Invalid(_) => format!("Bearer error=\"invalid_token\", resource_metadata=\"{metadata}\""),
    };
    let mut r = json_error(StatusCode::UNAUTHORIZED, "unauthorized", &denied.to_string());
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

/// Browsers may only talk to the gateway from a local web page (DNS-rebinding defence): an
/// `http` or `https` origin on a loopback host.
fn origin_allowed(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else { return true };
    let Some((scheme, rest)) = origin.split_once("://") else { return false };
    matches!(scheme, "http" | "https") && loopback_authority(rest)
}

/// `host[:port]` naming this machine's loopback interface.
fn loopback_authority(authority: &str) -> bool {
    let host = match authority.rsplit_once(':') {
        Some((h, port))
            if !h.is_empty() && port.chars().all(|c| c.is_ascii_digit()) && !authority.ends_with(']') =>
        {
            h
        }
        _ => authority,
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// Every endpoint (the issuer's too, not only `/mcp`) answers only requests addressed to this
/// machine by a loopback name: a page that rebinds its own name to 127.0.0.1 sends its own
/// name as `Host`, and gets nothing.
async fn local_host_only(req: Request, next: middleware::Next) -> Response {
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok());
    if !host.is_some_and(loopback_authority) {
        return json_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this server answers only requests to 127.0.0.1 or localhost",
        );
    }
    if !origin_allowed(req.headers()) {
        return json_error(StatusCode::FORBIDDEN, "forbidden", "origin not allowed");
    }
    next.run(req).await
}

/// How long a client has to send a request's headers (from connecting, or from the end of the
/// previous request) before the connection is closed: a half-open connection is not held.
pub const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How many connections are served at once; one more is closed as soon as it is accepted.
pub const MAX_CONNECTIONS: usize = 256;

/// Serves `app` on `listener` until `ct` is cancelled, with the limits a server that runs for
/// days on a shared machine needs (axum's plain `serve` has none): a header-read timeout, a
/// connection cap, and TCP_NODELAY (a reply written in two segments would otherwise wait for
/// the client's delayed ACK: every hop here is a small request/response on loopback).
pub async fn serve(listener: tokio::net::TcpListener, app: Router, ct: CancellationToken) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                // Out of file descriptors, say: wait a little rather than spin.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = ct.cancelled() => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let ct = ct.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).keep_alive(true);
            let conn = builder.serve_connection(TokioIo::new(tcp), service).with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = ct.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(3), conn).await;
                }
            }
        });
    }
    // Every connection's permit back means every connection is done.
    let _ =
        tokio::time::timeout(std::time::Duration::from_secs(3), permits.acquire_many(MAX_CONNECTIONS as u32))
            .await;
}

/// The gateway's two MCP services: with sessions, and without.
struct McpServices {
    sessions: StreamableHttpService<Gateway, LocalSessionManager>,
    stateless: StreamableHttpService<Gateway, NeverSessionManager>,
    max_body: usize,
}

/// Sends a request to the service with sessions when it belongs to one or opens one (the
/// `initialize` of a client that declares elicitation or sampling), and to the stateless one
/// otherwise.
async fn mcp_endpoint(State(services): State<Arc<McpServices>>, req: Request) -> Response {
    if req.method() != Method::POST || req.headers().contains_key(SESSION_HEADER) {
        return services.sessions.handle(req).await.map(Body::new);
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, services.max_body).await else {
        return json_error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the request body is too large");
    };
    let opens_session = serde_json::from_slice::<serde_json::Value>(&bytes).ok().is_some_and(|m| {
        // Only a client that can answer a server's question (elicitation, sampling) needs a
        // session: progress and log messages travel on the call's own response, and a
        // stateless exchange costs the gateway far less.
        let caps = &m["params"]["capabilities"];
        m.get("method").and_then(|v| v.as_str()) == Some("initialize")
            && (caps.get("elicitation").is_some() || caps.get("sampling").is_some())
    });
    let req = Request::from_parts(parts, Body::from(bytes));
    if opens_session {
        services.sessions.handle(req).await.map(Body::new)
    } else {
        services.stateless.handle(req).await.map(Body::new)
    }
}

/// The gateway's sessions, as AgentCore keeps them (devguide "gateway-sessions"): each is bound
/// to the identity that opened it, so another caller's token cannot use it, and it ends an
/// absolute [`Sessions::TIMEOUT`] after its `initialize` (AWS's default `sessionTimeoutInSeconds`).
#[derive(Default)]
pub struct Sessions {
    open: std::sync::Mutex<std::collections::HashMap<String, (String, std::time::Instant)>>,
}

impl Sessions {
    pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

    /// Whether `who` may use session `id` (unknown ids are rmcp's to refuse).
    fn admits(&self, id: &str, who: &str) -> bool {
        let mut open = self.open.lock().expect("sessions");
        match open.get(id) {
            Some((_, since)) if since.elapsed() >= Self::TIMEOUT => {
                open.remove(id);
                false
            }
            Some((owner, _)) => owner == who,
            None => true,
        }
    }

    fn opened(&self, id: &str, who: &str) {
        let mut open = self.open.lock().expect("sessions");
        open.retain(|_, (_, since)| since.elapsed() < Self::TIMEOUT);
        open.insert(id.to_string(), (who.to_string(), std::time::Instant::now()));
    }

    fn closed(&self, id: &str) {
        self.open.lock().expect("sessions").remove(id);
    }
}

const SESSION_HEADER: &str = "mcp-session-id";

async fn gateway_auth(State(stack): State<Arc<Stack>>, mut req: Request, next: middleware::Next) -> Response {
    if !origin_allowed(req.headers()) {
        return json_error(StatusCode::FORBIDDEN, "forbidden", "origin not allowed");
    }
    let authorizer = stack.gateway_auth.read().await.clone();
    let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match authorizer.authorize(header).await {
        Ok(claims) => {
            let who = claims.client_id.or(claims.sub).unwrap_or_default();
            let session = req.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
            if let Some(id) = &session
                && !stack.sessions.admits(id, &who)
            {
                // As for a session that does not exist: the client starts a new one.
                return json_error(StatusCode::NOT_FOUND, "not_found", "no such session");
            }
            let deleting = req.method() == Method::DELETE;
            req.extensions_mut().insert(Principal(who.clone()));
            let resp = next.run(req).await;
            match (&session, resp.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok())) {
                (None, Some(new)) => stack.sessions.opened(new, &who),
                (Some(id), _) if deleting => stack.sessions.closed(id),
                _ => {}
            }
            resp
        }
        Err(denied) => {
            if !matches!(denied, Denied::Missing)
                && let Some(line) = stack.refusals.note(&denied.to_string())
            {
                eprintln!("{} {line}", stamp());
            }
            unauthorized(&format!("{}/.well-known/oauth-protected-resource/mcp", stack.base_url), &denied)
        }
    }
}

/// Headers that belong to one hop and are not forwarded.
const HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
    "host",
    "authorization",
    "content-length",
    super::supervisor::SECRET_HEADER,
];

async fn runtime(State(stack): State<Arc<Stack>>, Path(runtime): Path<String>, req: Request) -> Response {
    let (authorizer, port, state, secret) = {
        let servers = stack.servers.read().await;
        match servers.values().find(|s| s.plan.runtime == runtime) {
            Some(s) => (s.authorizer.clone(), s.status.port, s.status.state, s.upstream.secret()),
            None => return json_error(StatusCode::NOT_FOUND, "not_found", "no such runtime"),
        }
    };
    let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if let Err(denied) = authorizer.authorize(header).await {
        let meta =
            format!("{}/runtimes/{runtime}/invocations/.well-known/oauth-protected-resource", stack.base_url);
        return unauthorized(&meta, &denied);
    }
    let Some(port) = port.filter(|_| state != ServerState::Stopped) else {
        return json_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the runtime is not running");
    };
    let (parts, body) = req.into_parts();
    let method =
        reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).unwrap_or(reqwest::Method::POST);
    let http = match mcpkit_deploy::net::loopback() {
        Ok(h) => h,
        Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e.to_string()),
    };
    let mut out = http
        .request(method, format!("http://127.0.0.1:{port}/mcp"))
        .header(super::supervisor::SECRET_HEADER, secret.expose());
    for (k, v) in parts.headers.iter() {
        if !HOP.contains(&k.as_str()) {
            out = out.header(k.as_str(), v.as_bytes());
        }
    }
    if parts.method != Method::GET && parts.method != Method::DELETE {
        out = out.body(reqwest::Body::wrap_stream(body.into_data_stream()));
    }
    let resp = match out.send().await {
        Ok(r) => r,
        Err(e) => {
            return json_error(
                StatusCode::BAD_GATEWAY,
                "bad_gateway",
                &format!("the runtime did not answer: {e}"),
            );
        }
    };
    let mut builder = Response::builder().status(resp.status().as_u16());
    for (k, v) in resp.headers() {
        if !HOP.contains(&k.as_str()) {
            builder = builder.header(k.as_str(), v.as_bytes());
        }
    }
    builder
        .body(Body::from_stream(resp.bytes_stream()))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

#[cfg(test)]
mod host_tests {
    use super::*;

    #[test]
    fn only_loopback_origins_of_web_schemes_and_loopback_hosts_pass() {
        let origin = |o: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
            origin_allowed(&h)
        };
        assert!(
            origin("http://localhost:3000") && origin("https://127.0.0.1") && origin("http://[::1]:8080")
        );
        assert!(!origin("evil://localhost") && !origin("http://localhost.evil.com") && !origin("null"));
        assert!(
            loopback_authority("127.0.0.1:8787")
                && loopback_authority("localhost")
                && loopback_authority("[::1]")
        );
        assert!(!loopback_authority("evil.example:8787") && !loopback_authority("127.0.0.1.nip.io"));
    }
}
