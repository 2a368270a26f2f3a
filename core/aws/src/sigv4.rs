//! MCP over streamable HTTP to an AgentCore gateway that authenticates callers with AWS IAM:
//! [`SigV4Client`] signs every request of rmcp's client with SigV4 (a POST over the exact JSON
//! bytes rmcp sends, a GET or DELETE over an empty body), then hands it to rmcp's reqwest
//! client, which does everything else (headers, sessions, response limits, SSE).
//!
//! Signed: `host`, `x-amz-date`, `x-amz-security-token` (temporary credentials), the MCP
//! headers rmcp passes (`mcp-protocol-version` and the like), `mcp-session-id` and
//! `last-event-id`; the payload's SHA-256 is part of the canonical request.

use super::sdk::Aws;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http::{HeaderName, HeaderValue, Method};
use mcpkit_deploy::mcp::{self, Lifecycle};
use mcpkit_workspace::error::{Error, Result};
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::common::client_side_sse::BoxedSseResponse;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse, StreamableHttpResponseLimits,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The signing name of AgentCore's data plane (gateways and runtimes).
pub const SERVICE: &str = "bedrock-agentcore";

/// Expiring credentials are resolved again this long before they expire.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// A streamable-HTTP client for rmcp that signs each request with SigV4.
#[derive(Clone)]
pub struct SigV4Client {
    http: reqwest::Client,
    credentials: SharedCredentialsProvider,
    /// The last credentials resolved, reused only while they have an expiry more than
    /// [`REFRESH_BEFORE`] away.
    cached: Arc<tokio::sync::Mutex<Option<Credentials>>>,
    region: String,
    service: String,
}

impl std::fmt::Debug for SigV4Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigV4Client").field("region", &self.region).field("service", &self.service).finish()
    }
}

impl SigV4Client {
    /// Signs for `service` in `region` with the credentials `credentials` provides, resolved
    /// for each request (they may rotate); credentials with an expiry are reused until
    /// [`REFRESH_BEFORE`] before it, so that SSO or assume-role is not a call per request.
    pub fn new(
        credentials: SharedCredentialsProvider,
        region: impl Into<String>,
        service: impl Into<String>,
    ) -> Result<SigV4Client> {
        mcpkit_deploy::install_crypto();
        // No redirects: a signature is for one URL, and the headers carry a session token.
        // No idle connections, as rmcp's own client (it avoids delayed-ACK stalls).
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::world(format!("HTTP client: {e}")))?;
        Ok(SigV4Client {
            http,
            credentials,
            cached: Arc::default(),
            region: region.into(),
            service: service.into(),
        })
    }

    /// Signs for AgentCore ([`SERVICE`]) in the deployment's region, with the credentials of
    /// aws-config's default chain.
    pub fn agentcore(aws: &Aws) -> Result<SigV4Client> {
        let Some(credentials) = aws.config.credentials_provider() else {
            return Err(Error::world("no AWS credentials are configured")
                .with_hint("check your AWS credentials (`aws sts get-caller-identity`), or pass --profile"));
        };
        SigV4Client::new(credentials, aws.region.clone(), SERVICE)
    }

    async fn credentials(&self) -> std::result::Result<Credentials, String> {
        // Held while resolving: concurrent requests wait for one resolution.
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && c.expiry().is_some_and(|e| e > SystemTime::now() + REFRESH_BEFORE)
        {
            return Ok(c.clone());
        }
        let fresh = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| format!("cannot get AWS credentials: {}", super::sdk::chain(&e)))?;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    /// The SigV4 headers (`authorization`, `x-amz-date`, and `x-amz-security-token` for
    /// temporary credentials) of a request to `url` with `headers` (all signed) and `body`.
    async fn sign(
        &self,
        method: &Method,
        url: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: &[u8],
    ) -> std::result::Result<HashMap<HeaderName, HeaderValue>, String> {
        self.sign_at(method, url, headers, body, SystemTime::now()).await
    }

    /// [`Self::sign`] at `time` (the test vectors' fixed instant).
    async fn sign_at(
        &self,
        method: &Method,
        url: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: &[u8],
        time: SystemTime,
    ) -> std::result::Result<HashMap<HeaderName, HeaderValue>, String> {
        // What reqwest will send: the URL as the url crate normalizes it, without a fragment.
        let mut url = reqwest::Url::parse(url).map_err(|e| format!("invalid URL {url}: {e}"))?;
        url.set_fragment(None);
        let identity: Identity = self.credentials().await?.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| format!("SigV4: {e}"))?
            .into();
        let signed: Vec<(&str, &str)> =
            headers.iter().filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?))).collect();
        let request = SignableRequest::new(
            method.as_str(),
            url.as_str(),
            signed.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| format!("SigV4: {e}"))?;
        let (instructions, _) =
            aws_sigv4::http_request::sign(request, &params).map_err(|e| format!("SigV4: {e}"))?.into_parts();
        let (out, _) = instructions.into_parts();
        out.into_iter()
            .map(|h| {
                let mut value = HeaderValue::from_str(h.value()).map_err(|e| format!("SigV4: {e}"))?;
                value.set_sensitive(h.sensitive() || h.name() == "authorization");
                Ok((HeaderName::from_static(h.name()), value))
            })
            .collect()
    }

    /// `custom_headers` with the signature of the request added.
    async fn signed_headers(
        &self,
        method: Method,
        uri: &str,
        mut custom_headers: HashMap<HeaderName, HeaderValue>,
        extra: &[(&'static str, Option<&str>)],
        body: &[u8],
    ) -> std::result::Result<HashMap<HeaderName, HeaderValue>, StreamableHttpError<reqwest::Error>> {
        let fail = |m: String| StreamableHttpError::Io(std::io::Error::other(m));
        let mut signed: Vec<(HeaderName, HeaderValue)> =
            custom_headers.iter().map(|(n, v)| (n.clone(), v.clone())).collect();
        for (name, value) in extra {
            if let Some(v) = value {
                let v = HeaderValue::from_str(v).map_err(|e| fail(format!("header {name}: {e}")))?;
                signed.push((HeaderName::from_static(name), v));
            }
        }
        custom_headers.extend(self.sign(&method, uri, &signed, body).await.map_err(fail)?);
        Ok(custom_headers)
    }
}

const SESSION_ID: &str = "mcp-session-id";
const LAST_EVENT_ID: &str = "last-event-id";

impl StreamableHttpClient for SigV4Client {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> std::result::Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            auth_header,
            custom_headers,
            StreamableHttpResponseLimits::default(),
        )
        .await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> std::result::Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let mut limits = StreamableHttpResponseLimits::default();
        limits.max_sse_event_size = max_sse_event_size;
        self.post_message_with_response_limits(uri, message, session_id, auth_header, custom_headers, limits)
            .await
    }

    /// Signs over `serde_json::to_vec(&message)`, the bytes reqwest's `json()` sends.
    /// `auth_header` (a bearer token) is dropped: the signature is the authorization.
    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> std::result::Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let body = serde_json::to_vec(&message)?;
        let extra = [(SESSION_ID, session_id.as_deref())];
        let headers = self.signed_headers(Method::POST, &uri, custom_headers, &extra, &body).await?;
        self.http.post_message_with_response_limits(uri, message, session_id, None, headers, limits).await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> std::result::Result<(), StreamableHttpError<Self::Error>> {
        let extra = [(SESSION_ID, Some(&*session_id))];
        let headers = self.signed_headers(Method::DELETE, &uri, custom_headers, &extra, b"").await?;
        self.http.delete_session(uri, session_id, None, headers).await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> std::result::Result<BoxedSseResponse, StreamableHttpError<Self::Error>> {
        let max = StreamableHttpResponseLimits::default().max_sse_event_size;
        self.get_stream_with_max_sse_event_size(
            uri,
            session_id,
            last_event_id,
            auth_header,
            custom_headers,
            max,
        )
        .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> std::result::Result<BoxedSseResponse, StreamableHttpError<Self::Error>> {
        let extra = [(SESSION_ID, session_id.as_deref()), (LAST_EVENT_ID, last_event_id.as_deref())];
        let headers = self.signed_headers(Method::GET, &uri, custom_headers, &extra, b"").await?;
        self.http
            .get_stream_with_max_sse_event_size(
                uri,
                session_id,
                last_event_id,
                None,
                headers,
                max_sse_event_size,
            )
            .await
    }
}

/// Connects to the gateway at `url`, signing as the deployment's credentials for AgentCore in
/// its region: the same kind of client as [`mcpkit_deploy::mcp::connect`].
pub async fn connect(url: &str, aws: &Aws, lifecycle: Lifecycle) -> Result<mcp::Client> {
    mcp::connect_with(url, SigV4Client::agentcore(aws)?, lifecycle).await
}

/// [`connect`], with `handler` answering what the server sends.
pub async fn connect_as<H: rmcp::service::Service<rmcp::RoleClient>>(
    url: &str,
    aws: &Aws,
    lifecycle: Lifecycle,
    handler: H,
    tap: Option<mcp::Tap>,
) -> Result<mcp::ClientOf<H>> {
    mcp::connect_with_as(url, SigV4Client::agentcore(aws)?, lifecycle, handler, tap).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::future;
    use axum::Router;
    use axum::body::Body;
    use axum::extract::{Request, State};
    use axum::http::{HeaderMap, StatusCode, Uri};
    use axum::middleware::{self, Next};
    use axum::response::{IntoResponse, Response};
    use rmcp::model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
        ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    };
    use rmcp::service::RequestContext;
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
    use rmcp::{ErrorData, RoleServer, ServerHandler};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio_util::sync::CancellationToken;

    const REGION: &str = "eu-west-3";
    const KEY_ID: &str = "AKIDMCPKITTEST0000";
    const SECRET: &str = "mcpkit/test/Secret+Key/0123456789abcdef";
    const SESSION_TOKEN: &str = "mcpkit-test-session-token";

    fn credentials(secret: &str) -> Credentials {
        Credentials::new(KEY_ID, secret, Some(SESSION_TOKEN.into()), None, "mcpkit-test")
    }

    fn signer(secret: &str, region: &str, service: &str) -> SigV4Client {
        SigV4Client::new(SharedCredentialsProvider::new(credentials(secret)), region, service).unwrap()
    }

    /// The cases of aws-sigv4's own test suite the signer must reproduce exactly (see
    /// tests/sigv4-vectors/README.md): a GET, a POST, a POST with a query, and temporary
    /// credentials, whose session token is signed.
    #[tokio::test]
    async fn the_signer_reproduces_aws_sigv4s_test_vectors() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigv4-vectors");
        for case in ["get-vanilla", "post-vanilla", "post-vanilla-query", "post-sts-header-before"] {
            let dir = root.join(case);
            let context: serde_json::Value =
                serde_json::from_slice(&std::fs::read(dir.join("context.json")).unwrap()).unwrap();
            let request = std::fs::read_to_string(dir.join("request.txt")).unwrap();
            let expected = std::fs::read_to_string(dir.join("header-signed-request.txt")).unwrap();
            let c = &context["credentials"];
            let creds = Credentials::new(
                c["access_key_id"].as_str().unwrap(),
                c["secret_access_key"].as_str().unwrap(),
                c["token"].as_str().map(str::to_string),
                None,
                "vectors",
            );
            let signer = SigV4Client::new(
                SharedCredentialsProvider::new(creds),
                context["region"].as_str().unwrap(),
                context["service"].as_str().unwrap(),
            )
            .unwrap();
            // "POST /?Param1=value1 HTTP/1.1", then headers; the body after a blank line.
            let (head, body) = request.split_once("\n\n").unwrap_or((&request, ""));
            let mut lines = head.lines();
            let mut first = lines.next().unwrap().split(' ');
            let (method, path) = (first.next().unwrap(), first.next().unwrap());
            let mut host = String::new();
            let mut headers = Vec::new();
            for l in lines {
                let (k, v) = l.split_once(':').unwrap();
                if k.eq_ignore_ascii_case("host") {
                    host = v.to_string();
                } else {
                    headers.push((
                        HeaderName::from_bytes(k.to_lowercase().as_bytes()).unwrap(),
                        HeaderValue::from_str(v).unwrap(),
                    ));
                }
            }
            let time = aws_smithy_types::DateTime::from_str(
                context["timestamp"].as_str().unwrap(),
                aws_smithy_types::date_time::Format::DateTime,
            )
            .unwrap();
            let signed = signer
                .sign_at(
                    &Method::from_bytes(method.as_bytes()).unwrap(),
                    &format!("https://{host}{path}"),
                    &headers,
                    body.as_bytes(),
                    SystemTime::try_from(time).unwrap(),
                )
                .await
                .unwrap();
            let want = expected.lines().find_map(|l| l.strip_prefix("Authorization:")).unwrap();
            assert_eq!(signed[&http::header::AUTHORIZATION].to_str().unwrap(), want, "{case}");
        }
    }

    // ---- The server side: an independent check of each request's signature ----

    /// The three parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
    #[derive(Debug, PartialEq)]
    struct Authorization {
        credential: String,
        signed_headers: String,
        signature: String,
    }

    fn parse_authorization(value: &str) -> std::result::Result<Authorization, String> {
        let rest = value.strip_prefix("AWS4-HMAC-SHA256 ").ok_or("not AWS4-HMAC-SHA256")?;
        let mut fields = HashMap::new();
        for part in rest.split(',') {
            let (k, v) = part.trim().split_once('=').ok_or_else(|| format!("bad field `{part}`"))?;
            fields.insert(k, v.to_string());
        }
        let mut take = |k: &str| fields.remove(k).ok_or_else(|| format!("no {k} in the authorization"));
        Ok(Authorization {
            credential: take("Credential")?,
            signed_headers: take("SignedHeaders")?,
            signature: take("Signature")?,
        })
    }

    /// `20260102T030405Z` as a time.
    fn parse_amz_date(value: &str) -> std::result::Result<SystemTime, String> {
        let b = value.as_bytes();
        let ok = b.len() == 16
            && b[8] == b'T'
            && b[15] == b'Z'
            && b.iter().enumerate().all(|(i, c)| i == 8 || i == 15 || c.is_ascii_digit());
        if !ok {
            return Err(format!("bad x-amz-date {value}"));
        }
        let rfc3339 = format!(
            "{}-{}-{}T{}:{}:{}Z",
            &value[0..4],
            &value[4..6],
            &value[6..8],
            &value[9..11],
            &value[11..13],
            &value[13..15]
        );
        let t = aws_smithy_types::DateTime::from_str(&rfc3339, aws_smithy_types::date_time::Format::DateTime)
            .map_err(|e| format!("bad x-amz-date {value}: {e}"))?;
        SystemTime::try_from(t).map_err(|e| format!("bad x-amz-date {value}: {e}"))
    }

    /// What the gateway knows: the caller's credentials, and its own region and service.
    struct Expect {
        credentials: Credentials,
        region: String,
        service: String,
    }

    /// Recomputes the signature of a received request from its method, URI, the headers it
    /// says it signed, and its body, with the expected credentials, region and service; the
    /// request's own credential scope is not trusted, only compared at the end.
    fn verify(
        expect: &Expect,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> std::result::Result<(), String> {
        let text = |name: &str| -> std::result::Result<&str, String> {
            headers
                .get(name)
                .ok_or_else(|| format!("no {name} header"))?
                .to_str()
                .map_err(|e| format!("{name}: {e}"))
        };
        let got = parse_authorization(text("authorization")?)?;
        // Temporary credentials are known by their session token.
        if let Some(token) = expect.credentials.session_token()
            && text("x-amz-security-token")? != token
        {
            return Err("unknown session token".into());
        }
        let time = parse_amz_date(text("x-amz-date")?)?;
        let skew = SystemTime::now().duration_since(time).unwrap_or_else(|e| e.duration());
        if skew > Duration::from_secs(300) {
            return Err("x-amz-date is more than 5 minutes away".into());
        }
        // The signed headers as received; the signer adds x-amz-date (from the time) and
        // x-amz-security-token (from the expected credentials) itself.
        let mut signed = Vec::new();
        for name in got.signed_headers.split(';') {
            if name == "x-amz-date" || name == "x-amz-security-token" {
                continue;
            }
            let mut values = headers.get_all(name).iter().peekable();
            if values.peek().is_none() {
                return Err(format!("signed header {name} is missing"));
            }
            for v in values {
                signed.push((name, v.to_str().map_err(|e| format!("{name}: {e}"))?));
            }
        }
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let url = format!("http://{}{path}", text("host")?);
        let identity: Identity = expect.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&expect.region)
            .name(&expect.service)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let request = SignableRequest::new(
            method.as_str(),
            url.as_str(),
            signed.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| e.to_string())?;
        let (instructions, signature) =
            aws_sigv4::http_request::sign(request, &params).map_err(|e| e.to_string())?.into_parts();
        if signature != got.signature {
            return Err("signature mismatch".into());
        }
        let want = instructions
            .headers()
            .find(|(n, _)| *n == "authorization")
            .map(|(_, v)| parse_authorization(v))
            .ok_or("no authorization computed")??;
        if want != got {
            return Err(format!("authorization mismatch: want {want:?}, got {got:?}"));
        }
        Ok(())
    }

    type Seen = (Method, String, std::result::Result<(), String>);

    struct Gate {
        expect: Expect,
        /// Every request seen: its method, its JSON-RPC method if any, and the verdict.
        seen: Mutex<Vec<Seen>>,
    }

    async fn check(State(gate): State<Arc<Gate>>, request: Request, next: Next) -> Response {
        let (parts, body) = request.into_parts();
        let Ok(body) = axum::body::to_bytes(body, 1 << 20).await else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        let verdict = verify(&gate.expect, &parts.method, &parts.uri, &parts.headers, &body);
        let rpc = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("method").and_then(|m| m.as_str()).map(String::from))
            .unwrap_or_default();
        gate.seen.lock().unwrap().push((parts.method.clone(), rpc, verdict.clone()));
        match verdict {
            Ok(()) => next.run(Request::from_parts(parts, Body::from(body))).await,
            Err(reason) => (StatusCode::FORBIDDEN, reason).into_response(),
        }
    }

    #[derive(Clone)]
    struct Adder;

    fn add_tool() -> Tool {
        let schema = serde_json::json!({
            "type": "object",
            "properties": { "a": { "type": "number" }, "b": { "type": "number" } },
            "required": ["a", "b"]
        });
        let serde_json::Value::Object(schema) = schema else { unreachable!() };
        Tool::new("add", "Adds two numbers", Arc::new(schema))
    }

    impl ServerHandler for Adder {
        fn get_info(&self) -> ServerConfig {
            ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
                .with_server_info(Implementation::new("adder", "1.0.0"))
        }

        async fn list_tools(
            &self,
            _request: Option<PaginatedRequestParams>,
            _ctx: RequestContext<RoleServer>,
        ) -> std::result::Result<ListToolsResult, ErrorData> {
            Ok(ListToolsResult::with_all_items(vec![add_tool()]))
        }

        fn get_tool(&self, name: &str) -> Option<Tool> {
            (name == "add").then(add_tool)
        }

        async fn call_tool(
            &self,
            request: CallToolRequestParams,
            _ctx: RequestContext<RoleServer>,
        ) -> std::result::Result<CallToolResponse, ErrorData> {
            let args = request.arguments.unwrap_or_default();
            let n = |k: &str| args.get(k).and_then(|v| v.as_f64());
            let (Some(a), Some(b)) = (n("a"), n("b")) else {
                return Err(ErrorData::invalid_params("a and b must be numbers", None));
            };
            Ok(CallToolResult::success(vec![ContentBlock::text((a + b).to_string())]).into())
        }
    }

    /// A real MCP server (sessions for the legacy lifecycle, stateless for the modern one)
    /// behind the SigV4 check, on 127.0.0.1.
    struct Server {
        url: String,
        gate: Arc<Gate>,
        stop: CancellationToken,
        task: tokio::task::JoinHandle<()>,
    }

    impl Server {
        async fn start() -> Server {
            let stop = CancellationToken::new();
            let config = StreamableHttpServerConfig::default()
                .with_sse_keep_alive(None)
                .with_cancellation_token(stop.child_token());
            let service: StreamableHttpService<Adder, LocalSessionManager> =
                StreamableHttpService::new(|| Ok(Adder), Arc::default(), config);
            let gate = Arc::new(Gate {
                expect: Expect {
                    credentials: credentials(SECRET),
                    region: REGION.into(),
                    service: SERVICE.into(),
                },
                seen: Mutex::default(),
            });
            let app = Router::new()
                .route_service("/mcp", service)
                .layer(middleware::from_fn_with_state(gate.clone(), check));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/mcp", listener.local_addr().unwrap());
            let shutdown = stop.clone();
            let task = tokio::spawn(async move {
                axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await.unwrap();
            });
            Server { url, gate, stop, task }
        }

        fn seen(&self) -> Vec<Seen> {
            std::mem::take(&mut *self.gate.seen.lock().unwrap())
        }

        async fn stop(self) {
            self.stop.cancel();
            tokio::time::timeout(Duration::from_secs(10), self.task).await.expect("server stops").unwrap();
        }
    }

    fn add_args(a: i64, b: i64) -> serde_json::Map<String, serde_json::Value> {
        let serde_json::Value::Object(m) = serde_json::json!({ "a": a, "b": b }) else { unreachable!() };
        m
    }

    #[tokio::test]
    async fn lists_and_calls_tools_through_the_signature_check_in_both_lifecycles() {
        let server = Server::start().await;
        for lifecycle in [Lifecycle::Legacy, Lifecycle::Modern] {
            let client = mcp::connect_with(&server.url, signer(SECRET, REGION, SERVICE), lifecycle)
                .await
                .unwrap_or_else(|e| panic!("{lifecycle:?}: {e}"));
            let tools = client.list_all_tools().await.unwrap();
            assert_eq!(
                tools.iter().map(|t| t.name.to_string()).collect::<Vec<_>>(),
                ["add"],
                "{lifecycle:?}"
            );
            let r = mcp::call(&client, "add", add_args(2, 40)).await.unwrap();
            assert_eq!(r.content[0].as_text().map(|t| t.text.as_str()), Some("42"), "{lifecycle:?}");
            client.cancel().await.unwrap();
            let seen = server.seen();
            for (method, rpc, verdict) in &seen {
                assert_eq!(verdict, &Ok(()), "{lifecycle:?}: {method} {rpc} refused");
            }
            let rpcs: Vec<&str> =
                seen.iter().map(|(_, rpc, _)| rpc.as_str()).filter(|r| !r.is_empty()).collect();
            let has = |m: &Method| seen.iter().any(|(sm, _, _)| sm == m);
            match lifecycle {
                // initialize opened a session: its GET stream and its DELETE were signed too.
                Lifecycle::Legacy => {
                    assert_eq!(rpcs, ["initialize", "notifications/initialized", "tools/list", "tools/call"]);
                    assert!(has(&Method::GET) && has(&Method::DELETE), "{seen:?}");
                }
                _ => {
                    assert_eq!(rpcs, ["server/discover", "tools/list", "tools/call"]);
                    assert!(!has(&Method::GET) && !has(&Method::DELETE), "{seen:?}");
                }
            }
        }
        server.stop().await;
    }

    /// `mcpkit proxy` for an IAM gateway: an MCP client on the proxy's stdio side, every
    /// request the proxy forwards signed (the GET stream and the DELETE too), and a signature
    /// the gateway refuses answered with a JSON-RPC error naming the gateway.
    #[tokio::test]
    async fn the_proxy_signs_every_request_it_forwards() {
        use rmcp::ServiceExt;
        let server = Server::start().await;
        for (secret, works) in [(SECRET, true), ("not-the-secret", false)] {
            let (client_io, proxy_io) = tokio::io::duplex(1 << 16);
            let (read, write) = tokio::io::split(proxy_io);
            let down = rmcp::transport::async_rw::AsyncRwTransport::new_server(read, write);
            let bridge = mcpkit_proxy::bridge::Bridge::new(
                server.url.clone(),
                signer(secret, REGION, SERVICE),
                Arc::new(|_: &str| {}),
            );
            let proxy = tokio::spawn(bridge.run(down));
            let client = mcp::client_info(Default::default()).serve(client_io).await;
            match (works, client) {
                (true, Ok(client)) => {
                    let r = mcp::call(&client, "add", add_args(2, 40)).await.unwrap();
                    assert_eq!(r.content[0].as_text().map(|t| t.text.as_str()), Some("42"));
                    client.cancel().await.unwrap();
                    tokio::time::timeout(Duration::from_secs(10), proxy)
                        .await
                        .expect("the proxy ends")
                        .unwrap();
                    let seen = server.seen();
                    assert!(seen.iter().all(|(_, _, v)| v.is_ok()), "{seen:?}");
                    let rpcs: Vec<&str> =
                        seen.iter().map(|(_, rpc, _)| rpc.as_str()).filter(|r| !r.is_empty()).collect();
                    assert_eq!(rpcs, ["initialize", "notifications/initialized", "tools/call"]);
                    assert!(
                        seen.iter().any(|(m, _, _)| m == Method::DELETE),
                        "the session is ended: {seen:?}"
                    );
                }
                (false, Err(e)) => {
                    let e = e.to_string();
                    assert!(e.contains(&server.url), "{e}");
                    assert!(server.seen().iter().all(|(_, _, v)| v.is_err()));
                    proxy.abort();
                }
                (works, other) => panic!("works={works}: {:?}", other.err()),
            }
        }
        server.stop().await;
    }

    #[tokio::test]
    async fn the_server_refuses_a_wrong_secret_service_or_region_and_a_tampered_body() {
        let server = Server::start().await;
        let wrong = [
            ("secret", signer("not-the-secret", REGION, SERVICE)),
            ("service", signer(SECRET, REGION, "execute-api")),
            ("region", signer(SECRET, "us-east-1", SERVICE)),
        ];
        for (what, client) in wrong {
            for lifecycle in [Lifecycle::Legacy, Lifecycle::Modern] {
                let e = mcp::connect_with(&server.url, client.clone(), lifecycle).await.unwrap_err();
                assert!(e.to_string().contains("403"), "wrong {what}, {lifecycle:?}: {e}");
            }
            let seen = server.seen();
            assert!(!seen.is_empty() && seen.iter().all(|(_, _, v)| v.is_err()), "wrong {what}: {seen:?}");
        }

        // One signed request, sent as signed, then with another body.
        let client = signer(SECRET, REGION, SERVICE);
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        let tampered = br#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#;
        let signature = client.sign(&Method::POST, &server.url, &[], body).await.unwrap();
        let send = |body: &'static [u8]| {
            let mut request = reqwest::Client::new()
                .post(&server.url)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .body(body);
            for (n, v) in &signature {
                request = request.header(n, v);
            }
            request.send()
        };
        let ok = send(body).await.unwrap();
        assert_ne!(ok.status(), StatusCode::FORBIDDEN, "{:?}", ok.text().await);
        let refused = send(tampered).await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert_eq!(refused.text().await.unwrap(), "signature mismatch");
        let unsigned = reqwest::Client::new().post(&server.url).body(&body[..]).send().await.unwrap();
        assert_eq!(unsigned.status(), StatusCode::FORBIDDEN);
        server.stop().await;
    }

    /// The check itself, request by request: it accepts exactly what was signed.
    #[tokio::test]
    async fn the_check_fails_on_any_change_to_what_was_signed() {
        let expect =
            Expect { credentials: credentials(SECRET), region: REGION.into(), service: SERVICE.into() };
        let url = "http://127.0.0.1:9/gateway/mcp?x=a%20b";
        let uri: Uri = "/gateway/mcp?x=a%20b".parse().unwrap();
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        let session = (HeaderName::from_static("mcp-session-id"), HeaderValue::from_static("s-1"));
        let request = |signature: HashMap<HeaderName, HeaderValue>| {
            let mut h = HeaderMap::new();
            h.insert("host", HeaderValue::from_static("127.0.0.1:9"));
            h.insert(session.0.clone(), session.1.clone());
            h.extend(signature);
            h
        };
        let right = request(
            signer(SECRET, REGION, SERVICE)
                .sign(&Method::POST, url, std::slice::from_ref(&session), body)
                .await
                .unwrap(),
        );
        assert_eq!(verify(&expect, &Method::POST, &uri, &right, body), Ok(()));
        assert_eq!(right["x-amz-security-token"], SESSION_TOKEN);
        assert!(
            right["authorization"].to_str().unwrap().contains(&format!("/{REGION}/{SERVICE}/aws4_request"))
        );

        let tampered_body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#;
        assert!(verify(&expect, &Method::POST, &uri, &right, tampered_body).is_err());
        assert!(verify(&expect, &Method::PUT, &uri, &right, body).is_err());
        assert!(verify(&expect, &Method::POST, &"/gateway/mcp?x=c".parse().unwrap(), &right, body).is_err());
        let mut other_session = right.clone();
        other_session.insert(session.0.clone(), HeaderValue::from_static("s-2"));
        assert!(verify(&expect, &Method::POST, &uri, &other_session, body).is_err());
        let mut other_token = right.clone();
        other_token.insert("x-amz-security-token", HeaderValue::from_static("stolen"));
        assert!(verify(&expect, &Method::POST, &uri, &other_token, body).is_err());

        for (what, client) in [
            ("secret", signer("not-the-secret", REGION, SERVICE)),
            ("service", signer(SECRET, REGION, "execute-api")),
            ("region", signer(SECRET, "us-east-1", SERVICE)),
        ] {
            let headers =
                request(client.sign(&Method::POST, url, std::slice::from_ref(&session), body).await.unwrap());
            assert_eq!(
                verify(&expect, &Method::POST, &uri, &headers, body),
                Err("signature mismatch".into()),
                "wrong {what}"
            );
        }
        // Unsigned headers are not covered: the session id must be among the signed ones.
        let unsigned_session =
            request(signer(SECRET, REGION, SERVICE).sign(&Method::POST, url, &[], body).await.unwrap());
        let names = parse_authorization(unsigned_session["authorization"].to_str().unwrap()).unwrap();
        assert_eq!(names.signed_headers, "host;x-amz-date;x-amz-security-token");
        let signed = parse_authorization(right["authorization"].to_str().unwrap()).unwrap();
        assert_eq!(signed.signed_headers, "host;mcp-session-id;x-amz-date;x-amz-security-token");
    }

    /// A provider that counts its calls and hands out credentials expiring after `ttl`.
    #[derive(Debug)]
    struct Counting {
        calls: Arc<AtomicUsize>,
        ttl: Option<Duration>,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let expiry = self.ttl.map(|t| SystemTime::now() + t);
            future::ProvideCredentials::ready(Ok(Credentials::new(
                format!("AKID{n}"),
                SECRET,
                None,
                expiry,
                "counting",
            )))
        }
    }

    #[tokio::test]
    async fn credentials_are_resolved_again_unless_they_are_far_from_expiry() {
        for (ttl, calls) in
            [(None, 3), (Some(Duration::from_secs(60)), 3), (Some(Duration::from_secs(3600)), 1)]
        {
            let counter = Arc::new(AtomicUsize::new(0));
            let provider = SharedCredentialsProvider::new(Counting { calls: counter.clone(), ttl });
            let client = SigV4Client::new(provider, REGION, SERVICE).unwrap();
            for _ in 0..3 {
                let h = client.sign(&Method::GET, "http://127.0.0.1:9/mcp", &[], b"").await.unwrap();
                assert!(!h.contains_key("x-amz-security-token"));
            }
            assert_eq!(counter.load(Ordering::SeqCst), calls, "ttl {ttl:?}");
        }
    }
}
