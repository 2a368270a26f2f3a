//! OAuth2 client-credentials, the client side: discovery documents, token requests, and a
//! token source that caches a token and renews it before it expires.

use mcpkit_workspace::error::{Error, Result};
use mcpkit_workspace::secret::Secret;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

/// The parts of an OpenID Connect / RFC 8414 discovery document mcpkit uses.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub token_endpoint: Option<String>,
}

/// Fetches and parses a discovery document.
pub async fn discover(url: &str) -> Result<Discovery> {
    let resp = crate::net::for_url(url)?
        .get(url)
        .timeout(crate::net::AUTH_TIMEOUT)
        .send()
        .await
        .map_err(|e| Error::world(format!("cannot fetch the discovery document {url}: {e}")))?;
    if !resp.status().is_success() {
        return Err(Error::world(format!("discovery document {url} answered {}", resp.status())));
    }
    resp.json::<Discovery>()
        .await
        .map_err(|e| Error::world(format!("discovery document {url} is not valid: {e}")))
}

/// Client credentials of one OAuth2 client.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub token_endpoint: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Space-separated scopes to ask for; empty asks for the client's defaults.
    pub scope: String,
}

/// An access token and when it expires.
#[derive(Debug, Clone)]
pub struct Token {
    pub access_token: Secret,
    pub expires_at: SystemTime,
}

impl Token {
    /// True when less than `margin` of validity is left.
    pub fn expires_within(&self, margin: Duration) -> bool {
        self.expires_at.duration_since(SystemTime::now()).map(|left| left < margin).unwrap_or(true)
    }
    pub fn expires_at_unix(&self) -> u64 {
        self.expires_at.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Secret,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct TokenError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Requests a token with the client-credentials grant (client_secret_basic).
pub async fn client_credentials(c: &ClientCredentials) -> Result<Token> {
    let mut form = vec![("grant_type", "client_credentials")];
    if !c.scope.is_empty() {
        form.push(("scope", c.scope.as_str()));
    }
    let resp = crate::net::for_url(&c.token_endpoint)?
        .post(&c.token_endpoint)
        .timeout(crate::net::AUTH_TIMEOUT)
        .basic_auth(&c.client_id, Some(c.client_secret.expose()))
        .form(&form)
        .send()
        .await
        .map_err(|e| Error::world(format!("cannot reach the token endpoint {}: {e}", c.token_endpoint)))?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| Error::world(format!("token endpoint: {e}")))?;
    if !status.is_success() {
        let detail = serde_json::from_slice::<TokenError>(&body)
            .map(|e| {
                format!("{}{}", e.error, e.error_description.map(|d| format!(": {d}")).unwrap_or_default())
            })
            .unwrap_or_else(|_| format!("HTTP {status}"));
        return Err(Error::world(format!("the token endpoint {} refused: {detail}", c.token_endpoint)));
    }
    let t: TokenResponse = serde_json::from_slice(&body)
        .map_err(|e| Error::world(format!("the token endpoint's answer is not a token response: {e}")))?;
    Ok(Token {
        access_token: t.access_token,
        expires_at: SystemTime::now() + Duration::from_secs(t.expires_in.unwrap_or(3600)),
    })
}

/// A cached client-credentials token, renewed when less than five minutes of it are left
/// (AgentCore refuses tokens about to expire, so never hand out one that is).
pub struct TokenSource {
    creds: ClientCredentials,
    cached: Mutex<Option<Token>>,
}

impl TokenSource {
    pub fn new(creds: ClientCredentials) -> Self {
        TokenSource { creds, cached: Mutex::new(None) }
    }

    pub async fn token(&self) -> Result<Token> {
        let mut cached = self.cached.lock().await;
        if let Some(t) = cached.as_ref()
            && !t.expires_within(Duration::from_secs(300))
        {
            return Ok(t.clone());
        }
        let t = client_credentials(&self.creds).await?;
        *cached = Some(t.clone());
        Ok(t)
    }
}
