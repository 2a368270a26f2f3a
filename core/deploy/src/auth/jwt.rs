//! JWT authorizers: what AgentCore's `customJWTAuthorizer` does, for the local gateway and
//! runtime endpoints.
//!
//! Keys come from the issuer's discovery document and JWKS, fetched over HTTP and cached (a
//! token signed with an unknown key id triggers one refetch, at most every 30 seconds). Only
//! RS256 is accepted, so `alg=none` and HS256-signed-with-the-public-key tokens are refused
//! before any signature check. Parsing and verification are jsonwebtoken's.
//!
//! A client sends the same token with every call for up to an hour, so a token that passed is
//! remembered (by its exact text, for at most five minutes and never past its `exp`): the
//! gateway's hot path then skips the RSA verification. A changed byte is a different token.

use crate::auth::oauth::{Discovery, discover};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

/// What an authorizer accepts, in AgentCore's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizerConfig {
    pub discovery_url: String,
    /// `client_id` claims accepted (Cognito access tokens carry no `aud`).
    #[serde(default)]
    pub allowed_clients: Vec<String>,
    #[serde(default)]
    pub allowed_audience: Vec<String>,
    /// When not empty, the token's `scope` must contain one of these.
    #[serde(default)]
    pub allowed_scopes: Vec<String>,
}

/// Why a request was refused. The message is safe to show: it never contains the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    Missing,
    Invalid(String),
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Denied::Missing => f.write_str("missing bearer token"),
            Denied::Invalid(why) => write!(f, "invalid token: {why}"),
        }
    }
}

/// The claims mcpkit looks at; the rest are kept for handlers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub exp: u64,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub token_use: Option<String>,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub aud: Option<serde_json::Value>,
}

struct Keys {
    discovery: Discovery,
    jwks: JwkSet,
    fetched: Instant,
}

pub struct JwtAuthorizer {
    config: AuthorizerConfig,
    keys: RwLock<Option<Keys>>,
    /// Held by the one request fetching keys; when the last fetch failed, and how often.
    refreshing: tokio::sync::Mutex<Backoff>,
    /// Tokens that passed, with when they did.
    verified: std::sync::Mutex<std::collections::HashMap<String, (Claims, Instant)>>,
}

#[derive(Default)]
struct Backoff {
    failures: u32,
    until: Option<Instant>,
}

/// How long a verified token is remembered, and how many are.
const REMEMBER: Duration = Duration::from_secs(300);
const REMEMBER_AT_MOST: usize = 1024;

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl JwtAuthorizer {
    pub fn new(config: AuthorizerConfig) -> Self {
        JwtAuthorizer {
            config,
            keys: RwLock::new(None),
            refreshing: Default::default(),
            verified: Default::default(),
        }
    }

    pub fn config(&self) -> &AuthorizerConfig {
        &self.config
    }

    /// Checks an `Authorization` header value.
    pub async fn authorize(&self, header: Option<&str>) -> Result<Claims, Denied> {
        let header = header.map(str::trim).filter(|h| !h.is_empty()).ok_or(Denied::Missing)?;
        let token = match header.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
            _ => return Err(Denied::Invalid("the Authorization header is not `Bearer <token>`".into())),
        };
        if let Some(claims) = self.remembered(token) {
            return Ok(claims);
        }
        let claims = self.verify(token).await?;
        let mut verified = self.verified.lock().expect("verified tokens");
        if verified.len() >= REMEMBER_AT_MOST {
            verified.clear();
        }
        verified.insert(token.to_string(), (claims.clone(), Instant::now()));
        Ok(claims)
    }

    /// A token that passed recently and has not expired since.
    fn remembered(&self, token: &str) -> Option<Claims> {
        let verified = self.verified.lock().expect("verified tokens");
        let (claims, when) = verified.get(token)?;
        (when.elapsed() < REMEMBER && unix_now() <= claims.exp + LEEWAY_SECS).then(|| claims.clone())
    }

    /// The full check: header, key, signature, claims.
    async fn verify(&self, token: &str) -> Result<Claims, Denied> {
        let head = decode_header(token).map_err(|e| Denied::Invalid(format!("malformed token ({e})")))?;
        if head.alg != Algorithm::RS256 {
            return Err(Denied::Invalid(format!("algorithm {:?} is not accepted; only RS256", head.alg)));
        }
        let kid = head.kid.ok_or_else(|| Denied::Invalid("the token has no key id".into()))?;
        let (jwk, issuer) = self.key(&kid).await?;
        let key =
            DecodingKey::from_jwk(&jwk).map_err(|e| Denied::Invalid(format!("unusable key {kid}: {e}")))?;
        let mut v = Validation::new(Algorithm::RS256);
        v.leeway = LEEWAY_SECS;
        v.validate_nbf = true;
        v.set_issuer(&[issuer]);
        v.set_required_spec_claims(&["exp", "iss"]);
        if self.config.allowed_audience.is_empty() {
            v.validate_aud = false;
        } else {
            v.set_audience(&self.config.allowed_audience);
        }
        let claims = decode::<Claims>(token, &key, &v).map_err(|e| Denied::Invalid(e.to_string()))?.claims;
        if claims.token_use.as_deref().is_some_and(|u| u != "access") {
            return Err(Denied::Invalid("not an access token".into()));
        }
        if !self.config.allowed_clients.is_empty() {
            let client = claims.client_id.as_deref().unwrap_or_default();
            if !self.config.allowed_clients.iter().any(|c| c == client) {
                return Err(Denied::Invalid("the token's client is not allowed".into()));
            }
        }
        if !self.config.allowed_scopes.is_empty() {
            let scopes = claims.scope.as_deref().unwrap_or_default();
            if !scopes.split_whitespace().any(|s| self.config.allowed_scopes.iter().any(|a| a == s)) {
                return Err(Denied::Invalid("the token lacks an allowed scope".into()));
            }
        }
        Ok(claims)
    }

    /// The key with id `kid` and the issuer, refetching the JWKS once if the key is unknown.
    ///
    /// A fetch holds no lock the other requests need: they keep checking tokens against the
    /// keys they have while one request (the others wait for it) fetches new ones. A fetch that
    /// failed is not tried again for a while (1 s, doubling to 60 s), so a slow or dead issuer
    /// costs each request nothing but a quick refusal.
    async fn key(&self, kid: &str) -> Result<(jsonwebtoken::jwk::Jwk, String), Denied> {
        if let Some(found) = self.cached(kid).await? {
            return Ok(found);
        }
        let mut backoff = self.refreshing.lock().await;
        if let Some(found) = self.cached(kid).await? {
            return Ok(found);
        }
        if backoff.until.is_some_and(|t| Instant::now() < t) {
            return Err(Denied::Invalid(
                "cannot load the issuer's keys (failed moments ago; retrying soon)".into(),
            ));
        }
        match self.fetch().await {
            Ok(fresh) => {
                *backoff = Backoff::default();
                let found = fresh.jwks.find(kid).cloned();
                let issuer = fresh.discovery.issuer.clone();
                *self.keys.write().await = Some(fresh);
                found.map(|j| (j, issuer)).ok_or_else(|| Denied::Invalid("signed with an unknown key".into()))
            }
            Err(e) => {
                backoff.failures += 1;
                let wait = Duration::from_secs(1u64 << backoff.failures.min(6).saturating_sub(1))
                    .min(Duration::from_secs(60));
                backoff.until = Some(Instant::now() + wait);
                Err(Denied::Invalid(format!("cannot load the issuer's keys: {e}")))
            }
        }
    }

    /// The key `kid` from the keys at hand: `None` when they should be fetched again.
    async fn cached(&self, kid: &str) -> Result<Option<(jsonwebtoken::jwk::Jwk, String)>, Denied> {
        let keys = self.keys.read().await;
        let Some(k) = keys.as_ref() else { return Ok(None) };
        if let Some(j) = k.jwks.find(kid) {
            return Ok(Some((j.clone(), k.discovery.issuer.clone())));
        }
        if k.fetched.elapsed() < Duration::from_secs(30) {
            return Err(Denied::Invalid("signed with an unknown key".into()));
        }
        Ok(None)
    }

    async fn fetch(&self) -> mcpkit_workspace::Result<Keys> {
        let discovery = discover(&self.config.discovery_url).await?;
        let jwks: JwkSet = crate::net::for_url(&discovery.jwks_uri)?
            .get(&discovery.jwks_uri)
            .timeout(crate::net::AUTH_TIMEOUT)
            .send()
            .await
            .map_err(|e| mcpkit_workspace::Error::world(format!("cannot fetch {}: {e}", discovery.jwks_uri)))?
            .json()
            .await
            .map_err(|e| {
                mcpkit_workspace::Error::world(format!("{} is not a JWKS: {e}", discovery.jwks_uri))
            })?;
        Ok(Keys { discovery, jwks, fetched: Instant::now() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{Json, Router, routing::get};
    use mcpkit_workspace::secret::Secret;

    /// A fresh RS256 key: signs tokens, and its public half as a JWKS.
    struct Key {
        encoding: jsonwebtoken::EncodingKey,
        jwks: jsonwebtoken::jwk::JwkSet,
    }

    impl Key {
        fn new() -> Key {
            use rsa::pkcs8::{EncodePrivateKey, LineEnding};
            let rsa = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
            let pem = rsa.to_pkcs8_pem(LineEnding::LF).unwrap();
            let encoding = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
            let mut jwk =
                jsonwebtoken::jwk::Jwk::from_encoding_key(&encoding, jsonwebtoken::Algorithm::RS256).unwrap();
            jwk.common.key_id = Some("k1".into());
            Key { encoding, jwks: jsonwebtoken::jwk::JwkSet { keys: vec![jwk] } }
        }

        /// A Cognito-shaped access token.
        fn mint(&self, issuer: &str, client_id: &str, scope: &str, ttl: u64) -> Result<Secret, ()> {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
            let claims = serde_json::json!({
                "sub": client_id, "client_id": client_id, "scope": scope, "token_use": "access",
                "iss": issuer, "iat": now, "exp": now + ttl, "jti": format!("{now}"), "version": 2,
            });
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
            header.kid = Some("k1".into());
            Ok(Secret::new(jsonwebtoken::encode(&header, &claims, &self.encoding).unwrap()))
        }
    }

    /// An issuer on a free port serving discovery and the JWKS of a fresh key.
    async fn issuer() -> (String, Key) {
        let key = Key::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (b, jwks) = (base.clone(), key.jwks.clone());
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || {
                    let b = b.clone();
                    async move { Json(serde_json::json!({ "issuer": b, "jwks_uri": format!("{b}/jwks") })) }
                }),
            )
            .route("/jwks", get(move || std::future::ready(Json(jwks.clone()))));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (base, key)
    }

    #[tokio::test]
    async fn a_remembered_token_passes_and_any_other_text_is_verified_afresh() {
        crate::install_crypto();
        let (base, key) = issuer().await;
        let config = AuthorizerConfig {
            discovery_url: format!("{base}/.well-known/openid-configuration"),
            allowed_clients: vec!["good".into()],
            allowed_audience: vec![],
            allowed_scopes: vec![],
        };
        let auth = JwtAuthorizer::new(config);
        let token = key.mint(&base, "good", "x/invoke", 3600).unwrap();
        let header = format!("Bearer {}", token.expose());
        for _ in 0..3 {
            assert_eq!(auth.authorize(Some(&header)).await.unwrap().client_id.as_deref(), Some("good"));
        }
        assert!(auth.remembered(token.expose()).is_some());
        // The same claims with a changed signature byte: a different token, checked and refused.
        let mut forged = token.expose().as_bytes().to_vec();
        let at = token.expose().rfind('.').unwrap() + 10;
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(matches!(auth.authorize(Some(&format!("Bearer {forged}"))).await, Err(Denied::Invalid(_))));
        // A token of a client that is not allowed is never remembered.
        let other = key.mint(&base, "other", "x/invoke", 3600).unwrap();
        assert!(auth.authorize(Some(&format!("Bearer {}", other.expose()))).await.is_err());
        assert!(auth.remembered(other.expose()).is_none());
    }
}
