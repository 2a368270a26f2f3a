//! `mcpkit proxy`: the workspace's deployed gateway as an MCP server on stdio, for clients
//! that start a process (Claude Desktop, VS Code, Cursor, Amazon Q, Kiro). Which gateway, and
//! how a request to it is authorized, is decided here; the forwarding is `mcpkit-proxy`'s.
//!
//! - Bearer gateways (the local target, Cognito on AWS): the token comes from the gateway
//!   leg's auth provider, as `mcpkit token`'s does; the proxy starts with the credentials
//!   file's token while it is fresh (no round trip at start) and writes each renewed one back.
//! - IAM gateways: every request is signed with SigV4, credentials from aws-config's chain.

use super::target::{DeployTarget, gateway_token};
use crate::error::{Error, Problem, Result};
use crate::manifest::Workspace;
use crate::secret::Secret;
use mcpkit_deploy::paths::LocalPaths;
use mcpkit_proxy::Log;
use mcpkit_proxy::bearer::Bearer;
use mcpkit_proxy::tokens::{Fresh, Source, Tokens};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Serves the client on stdin/stdout until it closes stdin. Errors come before the first byte
/// of MCP: a stack that was never deployed is an input error (exit 2), with the usual hint.
pub fn proxy(ws: &Workspace, target: &DeployTarget, log: Log) -> Result<()> {
    mcpkit_deploy::install_crypto();
    if let Some(settings) = super::target::iam_gateway(ws, target) {
        return crate::local::runtime()?.block_on(async {
            let (url, aws) = crate::aws::commands::gateway_url(ws, settings).await?;
            let http = crate::aws::sigv4::SigV4Client::agentcore(&aws)?;
            log(&format!("proxying to {url} (SigV4, {})", aws.region));
            mcpkit_proxy::serve_stdio(url, http, log).await.map_err(stdio_error)
        });
    }
    let gateway = ws.gateway_names().gateway;
    let file = LocalPaths::new(ws.root()).credentials(target.name(), &gateway);
    let recorded = read_file(&file);
    let url = match target {
        DeployTarget::Local => crate::local::gateway_url(ws)?,
        DeployTarget::Aws(settings) => match recorded.as_ref().and_then(|r| file_url_in(r, ws, settings)) {
            Some(url) => url,
            None => crate::local::runtime()?.block_on(crate::aws::commands::gateway_url(ws, settings))?.0,
        },
    };
    let cached = recorded.as_ref().and_then(|r| cached_token(r, &url));
    let source = Arc::new(Provider {
        ws: ws.clone(),
        target: target.clone(),
        file,
        url: url.clone(),
        log: log.clone(),
    });
    let on_renewal = log.clone();
    let renewed: Arc<dyn Fn(&Fresh) + Send + Sync> = Arc::new(move |f: &Fresh| {
        let left = f.expires_at.duration_since(SystemTime::now()).unwrap_or_default();
        on_renewal(&format!("renewed the gateway token (valid for {} s)", left.as_secs()));
    });
    let tokens = Tokens::new(source, cached, renewed);
    let http = Bearer { inner: mcpkit_deploy::net::for_url(&url)?, tokens };
    log(&format!("proxying to {url}"));
    crate::local::runtime()?.block_on(mcpkit_proxy::serve_stdio(url, http, log)).map_err(stdio_error)
}

fn stdio_error(e: std::io::Error) -> Error {
    Error::world(format!("cannot take over stdin and stdout: {e}"))
}

/// The gateway URL of an AWS credentials file, if the file is for the region this proxy is
/// for as far as that is known without the SDK: a file holds the last region deployed to, and
/// a proxy for another must not talk to that one's gateway.
fn file_url_in(
    file: &serde_json::Value,
    ws: &Workspace,
    settings: &crate::aws::sdk::Settings,
) -> Option<String> {
    let region = crate::aws::commands::region_without_sdk(ws, settings)?;
    (file.get("region")?.as_str()? == region)
        .then(|| file.get("gateway_url")?.as_str().map(str::to_string))?
}

/// The credentials file as JSON, if there is one that parses.
fn read_file(path: &std::path::Path) -> Option<serde_json::Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn unix(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// The file's token, if it is for `url`. A file from before `issued_at` was recorded gives
/// none: how far into its life that token is cannot be told.
fn cached_token(file: &serde_json::Value, url: &str) -> Option<Fresh> {
    if file.get("gateway_url")?.as_str()? != url {
        return None;
    }
    let token = file.get("access_token")?.as_str().filter(|t| !t.is_empty())?;
    let issued_at = file.get("issued_at")?.as_u64().filter(|s| *s > 0)?;
    let expires_at = file.get("expires_at")?.as_u64()?;
    Some(Fresh { token: Secret::new(token), issued_at: unix(issued_at), expires_at: unix(expires_at) })
}

/// Tokens from the gateway leg's auth provider, kept in the target's credentials file.
struct Provider {
    ws: Workspace,
    target: DeployTarget,
    file: PathBuf,
    /// The gateway this proxy forwards to.
    url: String,
    log: Log,
}

impl Source for Provider {
    fn fetch(&self) -> futures::future::BoxFuture<'static, std::result::Result<Fresh, String>> {
        // Providers block (a plugin's `token`, an SDK call on a runtime of its own): on a
        // thread of their own, never on the proxy's runtime.
        let (ws, target) = (self.ws.clone(), self.target.clone());
        let (url, log) = (self.url.clone(), self.log.clone());
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let _ = tx.send(gateway_token(&ws, &target));
        });
        Box::pin(async move {
            match rx.await {
                Ok(Ok(t)) => {
                    if t.url != url {
                        // Deployed again elsewhere (a new port, a new gateway id): this
                        // proxy's client must be started again to follow it.
                        log(&format!(
                            "the gateway is now at {}; restart the MCP client's server to use it",
                            t.url
                        ));
                    }
                    Ok(Fresh::issued_now(t.token, t.lifetime))
                }
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("the auth provider stopped without an answer".to_string()),
            }
        })
    }

    /// Writes the token into the credentials file, keeping the rest of it; a missing file is
    /// left missing (deploy writes it whole).
    fn store(&self, fresh: &Fresh) {
        let Some(mut file) = read_file(&self.file) else { return };
        let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        file["access_token"] = fresh.token.expose().into();
        file["issued_at"] = secs(fresh.issued_at).into();
        file["expires_at"] = secs(fresh.expires_at).into();
        let bytes = serde_json::to_vec_pretty(&file).expect("json");
        if let Err(e) = crate::fs::write_secret(&self.file, &bytes) {
            (self.log)(&format!("cannot update {}: {e}", self.file.display()));
        }
    }
}

/// `--log-file`: where the proxy's diagnostics go besides stderr (0600, never through a link).
pub fn log_to(file: Option<&std::path::Path>) -> Result<Log> {
    let file = match file {
        Some(path) => Some(std::sync::Mutex::new(crate::fs::open_log(path, false).map_err(|e| {
            Error::input(
                Problem::new(format!("cannot open the log file: {e}")).file(path).field("--log-file"),
            )
        })?)),
        None => None,
    };
    Ok(Arc::new(move |line: &str| {
        use std::io::Write;
        eprintln!("mcpkit proxy: {line}");
        if let Some(f) = &file {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
            let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(f, "{}.{:03} {line}", now.as_secs(), now.subsec_millis());
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_token_is_used_only_for_its_gateway_and_with_its_issue_time() {
        let file = serde_json::json!({
            "gateway_url": "http://127.0.0.1:1/mcp", "access_token": "t", "issued_at": 100, "expires_at": 3700,
        });
        let f = cached_token(&file, "http://127.0.0.1:1/mcp").expect("cached");
        assert_eq!(f.renew_at(), unix(100 + 2880));
        assert!(cached_token(&file, "http://127.0.0.1:2/mcp").is_none(), "another gateway's token");
        let mut old = file.clone();
        old.as_object_mut().unwrap().remove("issued_at");
        assert!(cached_token(&old, "http://127.0.0.1:1/mcp").is_none(), "no issue time");
    }
}
