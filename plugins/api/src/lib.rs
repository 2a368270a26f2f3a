//! The auth-provider plugin interface of mcpkit.
//!
//! An auth provider secures one leg of the topology: *inbound* (clients to the gateway) or
//! *outbound* (the gateway to a runtime). It provisions an identity for a protected resource,
//! says how that resource should check tokens (its authorizer), hands out client credentials,
//! fetches tokens, and tears its identity down again.
//!
//! Built-in providers (`local`, `cognito`, `iam`) implement [`AuthProvider`] directly. Custom
//! providers are shared libraries that speak a small C ABI: two exported symbols and a table
//! of functions exchanging UTF-8 JSON documents (see [`ffi`] and `docs/plugins.md`). Rust
//! plugins get all of that from one macro, [`export_auth_plugin!`], over a plain trait
//! implementation; plugins in C, Zig or Go implement the same table by hand.

pub mod ffi;

use serde::{Deserialize, Serialize};

/// The version of the C ABI and its JSON documents. A plugin built for another version is
/// refused when it is loaded.
pub const ABI_VERSION: u32 = 1;

/// What a provider can secure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    /// Clients to the gateway.
    Inbound,
    /// The gateway to a runtime.
    Outbound,
}

/// A setting a provider takes from `[plugins.<name>.config]` (or the built-in's defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigKey {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub required: bool,
}

/// `describe`: who the provider is and what it can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    pub capabilities: Vec<Capability>,
    /// Targets it works on: `local`, `aws`.
    pub targets: Vec<String>,
    #[serde(default)]
    pub config: Vec<ConfigKey>,
}

/// The kind of protected resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    Gateway,
    Runtime,
}

/// A protected resource: the gateway, or one server's runtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub kind: ResourceKind,
    /// The gateway's or the server's name in mcpkit.toml.
    pub name: String,
}

/// `provision`: make (or find again) the identity protecting `resource` on `target`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvisionRequest {
    pub target: String,
    pub resource: Resource,
    /// The provider's settings from mcpkit.toml.
    #[serde(default)]
    pub config: serde_json::Map<String, serde_json::Value>,
    /// What the target tells providers (the local target: `workspace`, `base_url`).
    #[serde(default)]
    pub context: serde_json::Map<String, serde_json::Value>,
    /// The state returned by an earlier `provision` of the same resource, if any.
    #[serde(default)]
    pub state: Option<serde_json::Value>,
}

/// How the protected resource checks the tokens presented to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Authorizer {
    /// A JWT authorizer, AgentCore's `customJWTAuthorizer`.
    Jwt {
        discovery_url: String,
        #[serde(default)]
        allowed_clients: Vec<String>,
        #[serde(default)]
        allowed_audience: Vec<String>,
        #[serde(default)]
        allowed_scopes: Vec<String>,
    },
    /// AWS IAM (SigV4).
    Iam,
}

/// OAuth2 client credentials for reaching the protected resource. Its `Debug` never shows
/// the secret (a plugin's log line or panic message must not leak it).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub client_secret: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("token_endpoint", &self.token_endpoint)
            .field("scopes", &self.scopes)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvisionResponse {
    pub authorizer: Authorizer,
    /// Credentials a caller uses (none for IAM).
    #[serde(default)]
    pub client: Option<Client>,
    /// Opaque to mcpkit; given back to `provision`, `token` and `teardown`.
    #[serde(default)]
    pub state: serde_json::Value,
}

/// `token` and `teardown` both name the resource and carry the state `provision` returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceRequest {
    pub target: String,
    pub resource: Resource,
    #[serde(default)]
    pub config: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub context: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub state: serde_json::Value,
}

/// `token`: a fresh access token for the resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Whose fault a failure is: `input` (the user's settings; exit code 2) or `world`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    Input,
    #[default]
    World,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginError {
    pub message: String,
    #[serde(default)]
    pub kind: ErrorKind,
}

impl PluginError {
    pub fn input(message: impl Into<String>) -> Self {
        PluginError { message: message.into(), kind: ErrorKind::Input }
    }
    pub fn world(message: impl Into<String>) -> Self {
        PluginError { message: message.into(), kind: ErrorKind::World }
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}

/// An auth provider. Calls are synchronous and may block (on HTTP, say); mcpkit calls them
/// from a blocking context.
pub trait AuthProvider: Send + Sync {
    fn describe(&self) -> Description;
    fn provision(&self, request: ProvisionRequest) -> Result<ProvisionResponse, PluginError>;
    fn token(&self, request: ResourceRequest) -> Result<TokenResponse, PluginError>;
    fn teardown(&self, request: ResourceRequest) -> Result<(), PluginError>;
}

/// Reads a string setting, with a located message when it is missing or not a string.
pub fn config_str<'a>(
    config: &'a serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Result<&'a str, PluginError> {
    match config.get(key) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(PluginError::input(format!("setting `{key}` must be a non-empty string"))),
        None => Err(PluginError::input(format!("setting `{key}` is required"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clients_debug_hides_its_secret() {
        let c = Client {
            client_id: "id".into(),
            client_secret: "s3cr3t-value".into(),
            token_endpoint: "https://idp/token".into(),
            scopes: vec![],
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t-value") && shown.contains("<redacted>"), "{shown}");
    }
}
