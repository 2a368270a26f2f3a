//! The process's HTTP clients, built once and shared.
//!
//! Building a reqwest client loads and parses every root certificate of the platform (about
//! 30 ms and a few MiB here), so a client per token source or per MCP connection made
//! start-up slower and the gateway bigger. A clone shares the original's connection pool.
//!
//! Two kinds:
//! - **loopback**, for `http://` URLs on this machine (the local stack): no proxy (one set in
//!   the environment must not receive the local stack's traffic), no root certificates (plain
//!   HTTP has no TLS), and kept-alive connections. rmcp's own default client turns pooling off
//!   to dodge a delayed-ACK stall on reused connections; every listener of the local stack
//!   sets `TCP_NODELAY`, and reusing the connection spares the Python server an accept and a
//!   new HTTP connection on every call;
//! - **standard**, for everything else: the environment's proxy settings and the platform's
//!   root certificates.

use mcpkit_workspace::error::{Error, Result};
use std::sync::OnceLock;

/// How long an OAuth discovery or token request may take. A token endpoint that has not
/// answered in this time is down; the caller's retries decide what happens next.
pub const AUTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

fn cached(
    cell: &'static OnceLock<std::result::Result<reqwest::Client, String>>,
    build: fn() -> reqwest::ClientBuilder,
) -> Result<reqwest::Client> {
    cell.get_or_init(|| {
        crate::install_crypto();
        build().build().map_err(|e| e.to_string())
    })
    .clone()
    .map_err(|e| Error::world(format!("cannot build an HTTP client: {e}")))
}

/// The client for the local stack's own URLs.
pub fn loopback() -> Result<reqwest::Client> {
    static CLIENT: OnceLock<std::result::Result<reqwest::Client, String>> = OnceLock::new();
    cached(&CLIENT, || reqwest::Client::builder().no_proxy().tls_certs_only([]).tcp_nodelay(true))
}

/// The client for everything that is not [`loopback`].
pub fn standard() -> Result<reqwest::Client> {
    static CLIENT: OnceLock<std::result::Result<reqwest::Client, String>> = OnceLock::new();
    cached(&CLIENT, reqwest::Client::builder)
}

/// The right client for `url`: [`loopback`] for plain HTTP to this machine, else [`standard`].
pub fn for_url(url: &str) -> Result<reqwest::Client> {
    if is_loopback_http(url) { loopback() } else { standard() }
}

fn is_loopback_http(url: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else { return false };
    if u.scheme() != "http" {
        return false;
    }
    let Some(host) = u.host_str() else { return false };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_to_this_machine_is_loopback() {
        for url in ["http://127.0.0.1:8080/mcp", "http://localhost/x", "http://[::1]:9/", "http://127.3.4.5/"]
        {
            assert!(is_loopback_http(url), "{url}");
        }
        for url in [
            "https://127.0.0.1/mcp",
            "http://10.0.0.1/",
            "http://localhost.example.com/",
            "https://cognito-idp.us-east-1.amazonaws.com/x",
            "not a url",
        ] {
            assert!(!is_loopback_http(url), "{url}");
        }
    }

    #[tokio::test]
    async fn the_loopback_client_speaks_plain_http_to_this_machine() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "pong" }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let body = for_url(&url).unwrap().get(&url).send().await.unwrap().text().await.unwrap();
        assert_eq!(body, "pong");
    }
}
