//! `oidc`: an mcpkit auth-provider plugin for an OpenID Connect provider you already run
//! (Keycloak, Okta, Auth0, Entra ID, Cognito, Dex, ...).
//!
//! The provider creates nothing: the client is registered at the identity provider (IdP) by
//! you. `provision` reads the IdP's discovery document and tells mcpkit to protect the resource
//! with a JWT authorizer that accepts tokens issued to your client; `token` fetches an access
//! token with the OAuth2 client-credentials grant; `teardown` has nothing to delete.
//!
//! Settings, from `[plugins.<name>.config]` in mcpkit.toml:
//! - `discovery_url` (required): the IdP's `.../.well-known/openid-configuration`;
//! - `client_id` (required);
//! - `client_secret_env` (required): the *name* of the environment variable that holds the
//!   client secret (the secret itself never goes in mcpkit.toml);
//! - `scopes` (optional): a list of strings, or one space-separated string.
//!
//! The logic is in pure functions ([`Settings::parse`], [`parse_discovery`],
//! [`parse_token_response`], [`token_error`], ...) so it is tested without a network; the
//! [`Oidc`] provider only adds the HTTP calls.

use base64::Engine as _;
use mcpkit_plugin_api::{
    AuthProvider, Authorizer, Capability, Client, ConfigKey, Description, ErrorKind, PluginError,
    ProvisionRequest, ProvisionResponse, ResourceRequest, TokenResponse, config_str,
};
use serde_json::{Map, Value};
use std::time::Duration;

/// The path AgentCore requires a JWT authorizer's discovery URL to end with.
pub const DISCOVERY_SUFFIX: &str = "/.well-known/openid-configuration";
/// Lifetime assumed when a token response has no `expires_in`.
pub const DEFAULT_EXPIRES_IN: u64 = 3600;
/// Targets this provider works on.
pub const TARGETS: [&str; 2] = ["local", "aws"];
/// Every setting the provider reads.
pub const KNOWN_SETTINGS: [&str; 4] = ["discovery_url", "client_id", "client_secret_env", "scopes"];

const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of an IdP's `error_description` ends up in a message.
const MAX_DESCRIPTION: usize = 300;

/// The provider's settings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub discovery_url: String,
    pub client_id: String,
    /// The name of the environment variable holding the client secret.
    pub client_secret_env: String,
    pub scopes: Vec<String>,
}

impl Settings {
    /// Reads and checks `[plugins.<name>.config]`. Unknown keys are refused (a typo would
    /// otherwise be silently ignored), and so is a `client_secret` written in the file.
    pub fn parse(config: &Map<String, Value>) -> Result<Self, PluginError> {
        if config.contains_key("client_secret") {
            return Err(PluginError::input(
                "setting `client_secret` is not accepted: keep the secret out of mcpkit.toml, put it in an \
                 environment variable and set `client_secret_env` to that variable's name",
            ));
        }
        if let Some(unknown) = config.keys().find(|k| !KNOWN_SETTINGS.contains(&k.as_str())) {
            return Err(PluginError::input(format!(
                "unknown setting `{unknown}`; the oidc provider reads {}",
                KNOWN_SETTINGS.map(|k| format!("`{k}`")).join(", ")
            )));
        }
        let discovery_url = config_str(config, "discovery_url")?.trim().to_string();
        if !(discovery_url.starts_with("https://") || discovery_url.starts_with("http://")) {
            return Err(PluginError::input(format!(
                "setting `discovery_url` must be an http:// or https:// URL, got `{discovery_url}`"
            )));
        }
        let client_id = config_str(config, "client_id")?.to_string();
        let client_secret_env = config_str(config, "client_secret_env")?.to_string();
        if !is_env_var_name(&client_secret_env) {
            // Not echoed: people paste the secret itself here.
            return Err(PluginError::input(
                "setting `client_secret_env` must be the NAME of an environment variable (letters, digits \
                 and underscores, not starting with a digit), not the secret itself",
            ));
        }
        let scopes = parse_scopes(config.get("scopes"))?;
        Ok(Settings { discovery_url, client_id, client_secret_env, scopes })
    }

    /// Checks the settings against a target: AgentCore (`aws`) only accepts discovery URLs
    /// ending in `/.well-known/openid-configuration`.
    pub fn check_target(&self, target: &str) -> Result<(), PluginError> {
        if !TARGETS.contains(&target) {
            return Err(PluginError::input(format!(
                "the oidc provider does not support target `{target}` (it supports {})",
                TARGETS.join(", ")
            )));
        }
        if target == "aws" && !self.discovery_url.ends_with(DISCOVERY_SUFFIX) {
            return Err(PluginError::input(format!(
                "setting `discovery_url` must end with `{DISCOVERY_SUFFIX}` on the aws target (AgentCore \
                 requires it), got `{}`",
                self.discovery_url
            )));
        }
        Ok(())
    }

    /// The client secret, from the environment.
    pub fn client_secret(&self) -> Result<String, PluginError> {
        secret_from(&self.client_secret_env, |name| std::env::var(name).ok())
    }

    /// The `scope` form parameter: the scopes joined by spaces, `None` when there are none.
    pub fn scope_param(&self) -> Option<String> {
        (!self.scopes.is_empty()).then(|| self.scopes.join(" "))
    }
}

/// `scopes`: absent, a list of strings, or one space-separated string.
pub fn parse_scopes(value: Option<&Value>) -> Result<Vec<String>, PluginError> {
    let bad = || PluginError::input("setting `scopes` must be a list of strings or a space-separated string");
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s.split_whitespace().map(str::to_string).collect()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item.as_str() {
                Some(s) if !s.is_empty() && !s.chars().any(char::is_whitespace) => Ok(s.to_string()),
                Some(s) => Err(PluginError::input(format!(
                    "setting `scopes`: `{s}` is not a scope (a scope is one non-empty word)"
                ))),
                None => Err(bad()),
            })
            .collect(),
        Some(_) => Err(bad()),
    }
}

/// A plausible environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_env_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The client secret from the variable `name`, looked up with `lookup` (the environment, or a
/// map in tests). Unset or empty is an input error. The variable is named in the message only
/// when it looks like a conventional name (upper case), in case a secret was put there.
pub fn secret_from(name: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, PluginError> {
    match lookup(name) {
        Some(secret) if !secret.is_empty() => Ok(secret),
        found => {
            let state = if found.is_some() { "is empty" } else { "is not set" };
            let conventional = name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            let var = if conventional {
                format!("environment variable `{name}`")
            } else {
                "the environment variable".to_string()
            };
            Err(PluginError::input(format!(
                "{var} named by setting `client_secret_env` {state}; export the client secret in it"
            )))
        }
    }
}

/// What the provider uses from an OpenID Connect discovery document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    pub issuer: String,
    pub jwks_uri: String,
    pub token_endpoint: String,
}

/// Validates a discovery document fetched from `url`: a JSON object with non-empty string
/// `issuer`, `jwks_uri` and `token_endpoint`. Messages name the URL.
pub fn parse_discovery(url: &str, body: &str) -> Result<Discovery, PluginError> {
    let doc: Value = serde_json::from_str(body).map_err(|e| {
        PluginError::input(format!(
            "{url} is not an OpenID Connect discovery document: it is not JSON ({e}); check `discovery_url`"
        ))
    })?;
    let Value::Object(doc) = doc else {
        return Err(PluginError::input(format!(
            "{url} is not an OpenID Connect discovery document: it is not a JSON object; check `discovery_url`"
        )));
    };
    let field = |name: &str| match doc.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(_) => Err(PluginError::input(format!(
            "the discovery document at {url} has an invalid `{name}` (expected a non-empty string)"
        ))),
        None => Err(PluginError::input(format!(
            "the discovery document at {url} has no `{name}`; is this an OpenID Connect provider?"
        ))),
    };
    Ok(Discovery {
        issuer: field("issuer")?,
        jwks_uri: field("jwks_uri")?,
        token_endpoint: field("token_endpoint")?,
    })
}

/// The state `provision` returns.
pub fn provision_state(discovery: &Discovery) -> Value {
    serde_json::json!({ "issuer": discovery.issuer, "token_endpoint": discovery.token_endpoint })
}

/// The token endpoint remembered in the state, if any.
pub fn token_endpoint_from_state(state: &Value) -> Option<String> {
    match state.get("token_endpoint") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

/// What `provision` answers, from the settings, the discovery document and the secret.
pub fn provision_response(
    settings: &Settings,
    discovery: &Discovery,
    client_secret: String,
) -> ProvisionResponse {
    ProvisionResponse {
        authorizer: Authorizer::Jwt {
            discovery_url: settings.discovery_url.clone(),
            allowed_clients: vec![settings.client_id.clone()],
            allowed_audience: Vec::new(),
            allowed_scopes: settings.scopes.clone(),
        },
        client: Some(Client {
            client_id: settings.client_id.clone(),
            client_secret,
            token_endpoint: discovery.token_endpoint.clone(),
            scopes: settings.scopes.clone(),
        }),
        state: provision_state(discovery),
    }
}

/// `application/x-www-form-urlencoded` encoding of one value, for the Basic credentials.
/// RFC 3986's unreserved characters (and `*`) stay as they are, so that an IdP that does not
/// decode the credentials (some do not) still sees the usual secrets unchanged.
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The `Authorization` header of `client_secret_basic` (RFC 6749 section 2.3.1: id and secret
/// are form-encoded, joined by `:`, then base64-encoded).
pub fn basic_authorization(client_id: &str, client_secret: &str) -> String {
    let pair = format!("{}:{}", form_encode(client_id), form_encode(client_secret));
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}

/// The form of the client-credentials request.
pub fn token_form(scope: Option<&str>) -> Vec<(&'static str, String)> {
    let mut form = vec![("grant_type", "client_credentials".to_string())];
    if let Some(scope) = scope {
        form.push(("scope", scope.to_string()));
    }
    form
}

/// Reads a successful token response. Never quotes the body (it holds a token).
pub fn parse_token_response(endpoint: &str, body: &str) -> Result<TokenResponse, PluginError> {
    let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(body) else {
        return Err(PluginError::world(format!(
            "the token endpoint {endpoint} did not answer with a JSON object"
        )));
    };
    let access_token = match doc.get("access_token") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        _ => {
            return Err(PluginError::world(format!(
                "the token endpoint {endpoint} answered without an `access_token`"
            )));
        }
    };
    let expires_in = match doc.get("expires_in") {
        None | Some(Value::Null) => DEFAULT_EXPIRES_IN,
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .unwrap_or(DEFAULT_EXPIRES_IN),
        // Some IdPs send it as a string.
        Some(Value::String(s)) => s.trim().parse().unwrap_or(DEFAULT_EXPIRES_IN),
        Some(_) => DEFAULT_EXPIRES_IN,
    };
    Ok(TokenResponse { access_token, expires_in })
}

/// The error for a token request answered with HTTP `status`: the status and the OAuth
/// `error` / `error_description` fields, nothing else of the body, with every string in
/// `secrets` masked. A refused client (400, 401, 403) is an input error.
pub fn token_error(endpoint: &str, status: u16, body: &str, secrets: &[&str]) -> PluginError {
    let doc: Option<Map<String, Value>> = match serde_json::from_str(body) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    };
    let text = |key: &str| -> Option<String> {
        let s = doc.as_ref()?.get(key)?.as_str()?;
        let s: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let s = redact(s.trim(), secrets);
        if s.is_empty() {
            return None;
        }
        Some(if s.chars().count() > MAX_DESCRIPTION {
            format!("{}...", s.chars().take(MAX_DESCRIPTION).collect::<String>())
        } else {
            s
        })
    };
    let mut message =
        format!("the token endpoint {endpoint} refused the client-credentials request: HTTP {status}");
    match (text("error"), text("error_description")) {
        (Some(e), Some(d)) => message.push_str(&format!(": {e}: {d}")),
        (Some(e), None) => message.push_str(&format!(": {e}")),
        (None, Some(d)) => message.push_str(&format!(": {d}")),
        (None, None) => {}
    }
    let kind = if matches!(status, 400 | 401 | 403) { ErrorKind::Input } else { ErrorKind::World };
    if kind == ErrorKind::Input {
        message.push_str("; check `client_id`, the secret in `client_secret_env` and `scopes`");
    }
    PluginError { message, kind }
}

/// `text` with every non-empty string of `secrets` replaced by `[redacted]`.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    secrets.iter().filter(|s| !s.is_empty()).fold(text.to_string(), |t, s| t.replace(s, "[redacted]"))
}

/// The provider.
pub struct Oidc {
    agent: ureq::Agent,
}

impl Default for Oidc {
    fn default() -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(HTTP_TIMEOUT))
            // Statuses are read and reported here, with the OAuth error fields.
            .http_status_as_error(false)
            .user_agent(concat!("mcpkit-plugin-oidc/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Oidc { agent }
    }
}

impl Oidc {
    /// GETs and validates the discovery document.
    fn discover(&self, url: &str) -> Result<Discovery, PluginError> {
        let mut response = self
            .agent
            .get(url)
            .header("Accept", "application/json")
            .call()
            .map_err(|e| PluginError::world(format!("cannot fetch the discovery document {url}: {e}")))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let kind = if (400..500).contains(&status) { ErrorKind::Input } else { ErrorKind::World };
            return Err(PluginError {
                message: format!(
                    "fetching the discovery document {url} failed: HTTP {status}; check `discovery_url`"
                ),
                kind,
            });
        }
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| PluginError::world(format!("cannot read the discovery document {url}: {e}")))?;
        parse_discovery(url, &body)
    }

    /// The client-credentials grant against `endpoint`.
    fn request_token(
        &self,
        endpoint: &str,
        settings: &Settings,
        secret: &str,
    ) -> Result<TokenResponse, PluginError> {
        let scope = settings.scope_param();
        let mut response = self
            .agent
            .post(endpoint)
            .header("Accept", "application/json")
            .header("Authorization", &basic_authorization(&settings.client_id, secret))
            .send_form(token_form(scope.as_deref()))
            // ureq's errors describe the transport (DNS, TLS, timeout), never the request's
            // headers or body; redacted anyway.
            .map_err(|e| {
                PluginError::world(format!(
                    "cannot reach the token endpoint {endpoint}: {}",
                    redact(&e.to_string(), &[secret])
                ))
            })?;
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().map_err(|e| {
            PluginError::world(format!("cannot read the answer of the token endpoint {endpoint}: {e}"))
        })?;
        if !(200..300).contains(&status) {
            return Err(token_error(endpoint, status, &body, &[secret]));
        }
        parse_token_response(endpoint, &body)
    }
}

impl AuthProvider for Oidc {
    fn describe(&self) -> Description {
        let key = |name: &str, description: &str, required: bool| ConfigKey {
            name: name.into(),
            description: description.into(),
            required,
        };
        Description {
            name: "oidc".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description:
                "Bring your own OpenID Connect provider: JWT authorizer from its discovery document, \
                          tokens by the client-credentials grant"
                    .into(),
            capabilities: vec![Capability::Inbound, Capability::Outbound],
            targets: TARGETS.iter().map(|t| t.to_string()).collect(),
            config: vec![
                key("discovery_url", "the provider's .../.well-known/openid-configuration URL", true),
                key("client_id", "the OAuth2 client registered at the provider", true),
                key(
                    "client_secret_env",
                    "the name of the environment variable holding the client secret",
                    true,
                ),
                key("scopes", "scopes to request and to require: a list, or a space-separated string", false),
            ],
        }
    }

    fn provision(&self, request: ProvisionRequest) -> Result<ProvisionResponse, PluginError> {
        let settings = Settings::parse(&request.config)?;
        settings.check_target(&request.target)?;
        let secret = settings.client_secret()?;
        let discovery = self.discover(&settings.discovery_url)?;
        Ok(provision_response(&settings, &discovery, secret))
    }

    fn token(&self, request: ResourceRequest) -> Result<TokenResponse, PluginError> {
        let settings = Settings::parse(&request.config)?;
        let secret = settings.client_secret()?;
        let endpoint = match token_endpoint_from_state(&request.state) {
            Some(endpoint) => endpoint,
            None => self.discover(&settings.discovery_url)?.token_endpoint,
        };
        self.request_token(&endpoint, &settings, &secret)
    }

    fn teardown(&self, _request: ResourceRequest) -> Result<(), PluginError> {
        // The client lives at your IdP, which mcpkit does not own: nothing to delete.
        Ok(())
    }
}

mcpkit_plugin_api::export_auth_plugin!(Oidc::default());

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn base() -> Value {
        json!({
            "discovery_url": "https://idp.example.com/realms/x/.well-known/openid-configuration",
            "client_id": "mcpkit",
            "client_secret_env": "OIDC_CLIENT_SECRET",
        })
    }

    fn with(key: &str, value: Value) -> Map<String, Value> {
        let mut c = config(base());
        c.insert(key.into(), value);
        c
    }

    #[test]
    fn settings_parse() {
        let s = Settings::parse(&config(base())).unwrap();
        assert_eq!(s.client_id, "mcpkit");
        assert_eq!(s.client_secret_env, "OIDC_CLIENT_SECRET");
        assert!(s.scopes.is_empty());
        assert_eq!(s.scope_param(), None);
    }

    #[test]
    fn scopes_as_list_or_string() {
        let s = Settings::parse(&with("scopes", json!(["mcp/invoke", "openid"]))).unwrap();
        assert_eq!(s.scopes, ["mcp/invoke", "openid"]);
        let s = Settings::parse(&with("scopes", json!("  mcp/invoke   openid "))).unwrap();
        assert_eq!(s.scopes, ["mcp/invoke", "openid"]);
        assert_eq!(s.scope_param().as_deref(), Some("mcp/invoke openid"));
        assert!(Settings::parse(&with("scopes", json!(""))).unwrap().scopes.is_empty());
        for bad in [json!(3), json!([1]), json!(["a b"]), json!([""]), json!({"a": 1})] {
            let e = Settings::parse(&with("scopes", bad.clone())).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Input, "{bad}");
            assert!(e.message.contains("`scopes`"), "{}", e.message);
        }
    }

    #[test]
    fn required_settings() {
        for key in ["discovery_url", "client_id", "client_secret_env"] {
            let mut c = config(base());
            c.remove(key);
            let e = Settings::parse(&c).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Input);
            assert!(e.message.contains(&format!("`{key}` is required")), "{}", e.message);
        }
        let e = Settings::parse(&with("client_id", json!(""))).unwrap_err();
        assert!(e.message.contains("non-empty string"), "{}", e.message);
        let e = Settings::parse(&with("discovery_url", json!("idp.example.com"))).unwrap_err();
        assert!(e.message.contains("http:// or https://"), "{}", e.message);
    }

    #[test]
    fn unknown_keys_and_inline_secrets_are_refused() {
        let e = Settings::parse(&with("client-id", json!("x"))).unwrap_err();
        assert!(e.message.contains("unknown setting `client-id`"), "{}", e.message);
        let e = Settings::parse(&with("client_secret", json!("hunter2"))).unwrap_err();
        assert!(e.message.contains("client_secret_env"), "{}", e.message);
        assert!(!e.message.contains("hunter2"));
        // A secret pasted as the variable name is not echoed.
        let e = Settings::parse(&with("client_secret_env", json!("s3cr3t/+=="))).unwrap_err();
        assert!(e.message.contains("NAME of an environment variable"), "{}", e.message);
        assert!(!e.message.contains("s3cr3t"));
    }

    #[test]
    fn targets() {
        let s = Settings::parse(&config(base())).unwrap();
        s.check_target("local").unwrap();
        s.check_target("aws").unwrap();
        assert_eq!(s.check_target("gcp").unwrap_err().kind, ErrorKind::Input);
        let s = Settings::parse(&with("discovery_url", json!("http://localhost:8080/realms/x"))).unwrap();
        s.check_target("local").unwrap();
        let e = s.check_target("aws").unwrap_err();
        assert!(e.message.contains(DISCOVERY_SUFFIX), "{}", e.message);
    }

    #[test]
    fn secret_from_environment() {
        assert_eq!(secret_from("OIDC_CLIENT_SECRET", |_| Some("s".into())).unwrap(), "s");
        let e = secret_from("OIDC_CLIENT_SECRET", |_| None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Input);
        assert!(
            e.message.contains("`OIDC_CLIENT_SECRET`") && e.message.contains("is not set"),
            "{}",
            e.message
        );
        let e = secret_from("OIDC_CLIENT_SECRET", |_| Some(String::new())).unwrap_err();
        assert!(e.message.contains("is empty"), "{}", e.message);
        // Not a conventional name: maybe a secret, so not quoted.
        let e = secret_from("aB3xYz9Q", |_| None).unwrap_err();
        assert!(!e.message.contains("aB3xYz9Q"), "{}", e.message);
        assert!(is_env_var_name("_X1") && !is_env_var_name("1X") && !is_env_var_name("A-B"));
    }

    const URL: &str = "https://idp.example.com/.well-known/openid-configuration";

    #[test]
    fn discovery_is_validated() {
        let d = parse_discovery(
            URL,
            r#"{"issuer": "https://idp.example.com", "jwks_uri": "https://idp.example.com/jwks",
                "token_endpoint": "https://idp.example.com/token", "extra": [1]}"#,
        )
        .unwrap();
        assert_eq!(d.issuer, "https://idp.example.com");
        assert_eq!(d.token_endpoint, "https://idp.example.com/token");
        assert_eq!(
            provision_state(&d),
            json!({"issuer": "https://idp.example.com", "token_endpoint": "https://idp.example.com/token"})
        );

        let cases = [
            ("<html>", "not JSON"),
            ("[1, 2]", "not a JSON object"),
            (r#"{"jwks_uri": "j", "token_endpoint": "t"}"#, "no `issuer`"),
            (r#"{"issuer": "i", "token_endpoint": "t"}"#, "no `jwks_uri`"),
            (r#"{"issuer": "i", "jwks_uri": "j"}"#, "no `token_endpoint`"),
            (r#"{"issuer": 1, "jwks_uri": "j", "token_endpoint": "t"}"#, "invalid `issuer`"),
            (r#"{"issuer": "i", "jwks_uri": "j", "token_endpoint": ""}"#, "invalid `token_endpoint`"),
        ];
        for (body, expected) in cases {
            let e = parse_discovery(URL, body).unwrap_err();
            assert!(e.message.contains(expected), "{body}: {}", e.message);
            assert!(e.message.contains(URL), "names the URL: {}", e.message);
        }
    }

    #[test]
    fn provision_response_shape() {
        let s = Settings::parse(&with("scopes", json!("a b"))).unwrap();
        let d = Discovery { issuer: "i".into(), jwks_uri: "j".into(), token_endpoint: "https://t".into() };
        let r = serde_json::to_value(provision_response(&s, &d, "sec".into())).unwrap();
        assert_eq!(
            r,
            json!({
                "authorizer": {
                    "type": "jwt",
                    "discovery_url": s.discovery_url,
                    "allowed_clients": ["mcpkit"],
                    "allowed_audience": [],
                    "allowed_scopes": ["a", "b"],
                },
                "client": {"client_id": "mcpkit", "client_secret": "sec", "token_endpoint": "https://t", "scopes": ["a", "b"]},
                "state": {"issuer": "i", "token_endpoint": "https://t"},
            })
        );
    }

    #[test]
    fn state_token_endpoint() {
        assert_eq!(
            token_endpoint_from_state(&json!({"token_endpoint": "https://t"})).as_deref(),
            Some("https://t")
        );
        assert_eq!(token_endpoint_from_state(&Value::Null), None);
        assert_eq!(token_endpoint_from_state(&json!({"token_endpoint": ""})), None);
        assert_eq!(token_endpoint_from_state(&json!("x")), None);
    }

    #[test]
    fn client_credentials_request() {
        // RFC 6749 2.3.1: form-encode, then base64. "a b:c/d" -> "a+b:c%2Fd".
        assert_eq!(form_encode("a b:c/d*-._~+=%é"), "a+b%3Ac%2Fd*-._~%2B%3D%25%C3%A9");
        assert_eq!(basic_authorization("client", "secret"), "Basic Y2xpZW50OnNlY3JldA==");
        assert_eq!(basic_authorization("a b", "c/d"), "Basic YStiOmMlMkZk");
        assert_eq!(token_form(None), [("grant_type", "client_credentials".to_string())]);
        assert_eq!(token_form(Some("x y"))[1], ("scope", "x y".to_string()));
    }

    #[test]
    fn token_responses() {
        let t = parse_token_response("https://t", r#"{"access_token": "abc", "expires_in": 300}"#).unwrap();
        assert_eq!((t.access_token.as_str(), t.expires_in), ("abc", 300));
        assert_eq!(parse_token_response("https://t", r#"{"access_token": "abc"}"#).unwrap().expires_in, 3600);
        assert_eq!(
            parse_token_response("https://t", r#"{"access_token": "abc", "expires_in": "120"}"#)
                .unwrap()
                .expires_in,
            120
        );
        let e = parse_token_response("https://t", r#"{"token": "leaked-token"}"#).unwrap_err();
        assert!(e.message.contains("access_token") && !e.message.contains("leaked-token"), "{}", e.message);
        let e = parse_token_response("https://t", "access_token=leaked-token").unwrap_err();
        assert!(!e.message.contains("leaked-token"), "{}", e.message);
    }

    #[test]
    fn token_errors_never_leak_the_secret() {
        let body = r#"{"error": "invalid_client", "error_description": "bad secret hunter2 for client", "x": "hunter2"}"#;
        let e = token_error("https://t/token", 401, body, &["hunter2"]);
        assert_eq!(e.kind, ErrorKind::Input);
        assert!(
            e.message.contains("HTTP 401: invalid_client: bad secret [redacted] for client"),
            "{}",
            e.message
        );
        assert!(e.message.contains("https://t/token"));
        assert!(!e.message.contains("hunter2"));

        let e = token_error("https://t/token", 503, "<html>down, token=xyz</html>", &["s"]);
        assert_eq!(e.kind, ErrorKind::World);
        assert!(e.message.ends_with("HTTP 503"), "{}", e.message);
        let e = token_error("https://t", 400, r#"{"error": "invalid_scope"}"#, &[]);
        assert!(e.message.contains("HTTP 400: invalid_scope;"), "{}", e.message);
        let long = format!(r#"{{"error_description": "{}"}}"#, "x".repeat(1000));
        assert!(token_error("https://t", 400, &long, &[]).message.len() < 500);
    }

    #[test]
    fn describe_is_complete() {
        let d = Oidc::default().describe();
        assert_eq!(d.name, "oidc");
        assert_eq!(d.capabilities, [Capability::Inbound, Capability::Outbound]);
        assert_eq!(d.targets, ["local", "aws"]);
        let names: Vec<_> = d.config.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, KNOWN_SETTINGS);
    }

    #[test]
    fn through_the_c_abi() {
        // The exported table, as the host calls it: describe, and a provision refused before
        // any network use.
        let table = unsafe { &*mcpkit_plugin_vtable() };
        assert_eq!(mcpkit_plugin_abi_version(), mcpkit_plugin_api::ABI_VERSION);
        assert_eq!(table.abi_version, mcpkit_plugin_api::ABI_VERSION);
        let read = |b: mcpkit_plugin_api::ffi::Buffer| -> Value {
            let v = serde_json::from_slice(unsafe { std::slice::from_raw_parts(b.ptr, b.len) }).unwrap();
            unsafe { (table.free)(b) };
            v
        };
        let d = read(unsafe { (table.describe)() });
        assert_eq!(d["ok"]["name"], "oidc");
        let req = serde_json::to_vec(&json!({
            "target": "local",
            "resource": {"kind": "gateway", "name": "gw"},
            "config": {"client_id": "x"},
        }))
        .unwrap();
        let r = read(unsafe { (table.provision)(req.as_ptr(), req.len()) });
        assert_eq!(r["error"]["kind"], "input");
        assert!(r["error"]["message"].as_str().unwrap().contains("discovery_url"), "{r}");
        let r = read(unsafe { (table.teardown)(req.as_ptr(), req.len()) });
        assert_eq!(r, json!({"ok": null}));
    }
}
