//! `mcpkit proxy`: an MCP server on stdio that is a deployed gateway, reached over streamable
//! HTTP. It exists because MCP clients keep a bearer token pasted into their configuration,
//! and the token expires in an hour; the proxy holds the token instead, and renews it.
//!
//! The proxy knows MCP transports ([`bridge`]) and tokens ([`tokens`], [`bearer`]); it knows
//! nothing of targets, providers or AWS: the caller gives it the gateway's URL and either a
//! token [`tokens::Source`] or a client that authorizes requests itself (SigV4).

pub mod bearer;
pub mod bridge;
pub mod tokens;

use rmcp::transport::streamable_http_client::StreamableHttpClient;
use std::sync::Arc;

/// Where the proxy's diagnostics go (stderr, a log file): never stdout, which is the client's.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// Serves the client on this process's stdin and stdout until it closes stdin, forwarding
/// everything to the gateway at `url` through `http`.
pub async fn serve_stdio<C: StreamableHttpClient>(url: String, http: C, log: Log) {
    let (stdin, stdout) = rmcp::transport::io::stdio_pipes();
    let down = rmcp::transport::async_rw::AsyncRwTransport::new_server(stdin, stdout);
    bridge::Bridge::new(url, http, log).run(down).await;
}
