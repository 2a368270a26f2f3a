//! The AWS target's resource contract, typed: the kinds, and for each kind the configuration
//! `desired` writes and the outputs the cloud records. The engine keeps both as JSON (it
//! hashes configurations and hands outputs to dependents); this module is where they turn
//! into these types and back, at the cloud boundary, so a misspelt field or a missing output
//! is an error naming the resource, never an empty string sent to AWS.

use mcpkit_engine::{Desired, Inputs, Key, Live, Record};
use mcpkit_workspace::manifest::BuildKind;
use mcpkit_workspace::{Error, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Every kind of resource the AWS target makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Role,
    Pool,
    Domain,
    ResourceServer,
    Client,
    Bucket,
    Code,
    Repository,
    Image,
    Runtime,
    CredentialProvider,
    Gateway,
    Target,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::Role,
        Kind::Pool,
        Kind::Domain,
        Kind::ResourceServer,
        Kind::Client,
        Kind::Bucket,
        Kind::Code,
        Kind::Repository,
        Kind::Image,
        Kind::Runtime,
        Kind::CredentialProvider,
        Kind::Gateway,
        Kind::Target,
    ];

    /// The kind's name in engine keys and the state file.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Role => "iam.role",
            Kind::Pool => "cognito.pool",
            Kind::Domain => "cognito.domain",
            Kind::ResourceServer => "cognito.resource-server",
            Kind::Client => "cognito.client",
            Kind::Bucket => "s3.bucket",
            Kind::Code => "s3.code",
            Kind::Repository => "ecr.repository",
            Kind::Image => "ecr.image",
            Kind::Runtime => "agentcore.runtime",
            Kind::CredentialProvider => "agentcore.credential-provider",
            Kind::Gateway => "agentcore.gateway",
            Kind::Target => "agentcore.target",
        }
    }

    /// The kind of an engine key; an unknown kind (a state file from elsewhere) is an error.
    pub fn of(key: &Key) -> Result<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == key.kind)
            .ok_or_else(|| Error::world(format!("{key}: mcpkit makes no resource of kind `{}`", key.kind)))
    }
}

/// How an AgentCore resource authenticates callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Authorizer {
    #[serde(rename = "AWS_IAM")]
    AwsIam,
    #[serde(rename = "CUSTOM_JWT")]
    CustomJwt,
}

/// How a gateway target authenticates to its runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Credentials {
    #[serde(rename = "OAUTH")]
    Oauth,
    #[serde(rename = "GATEWAY_IAM_ROLE")]
    GatewayIamRole,
}

// ----- configurations (what `desired` writes; hashed by the engine) -------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoleConfig {
    pub description: String,
    pub trust: Value,
    pub policy: Value,
    /// Managed policies holding what did not fit inline (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed: Vec<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PoolConfig {
    pub allow_admin_create_user_only: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResourceServerConfig {
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientConfig {
    pub flows: Vec<String>,
    pub scopes: Vec<String>,
    /// Access-token validity in seconds; absent (and so left out of the desired hash of every
    /// client that sets none): Cognito's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetime_s: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeConfig {
    pub hash: String,
    pub key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageConfig {
    pub hash: String,
    pub repository: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuntimeConfig {
    pub protocol: String,
    pub server: String,
    pub build: BuildKind,
    pub code: String,
    pub env: BTreeMap<String, String>,
    /// A role the user brought (`execution_role_arn`); otherwise the runtime's own role.
    pub role: Option<String>,
    pub authorizer: Authorizer,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderConfig {
    pub vendor: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GatewayConfig {
    pub protocol: String,
    pub supported_versions: Vec<String>,
    pub search: String,
    pub authorizer: Authorizer,
    pub description: Option<String>,
    /// `sessionConfiguration.sessionTimeoutInSeconds`: sessions for clients of 2025-11-25 and
    /// earlier, which elicitation and sampling need (devguide "gateway-sessions"; 900-28800).
    pub session_timeout_s: u32,
    /// `streamingConfiguration.enableResponseStreaming`: progress, log messages, elicitation
    /// and sampling travel as server-sent events ("gateway-mcp-streaming").
    pub response_streaming: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetConfig {
    pub credentials: Credentials,
    pub scopes: Vec<String>,
    pub code: String,
    /// `resourcePriority`: the lowest wins a resource URI several targets serve (0-1000,
    /// AgentCore's default 1000 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_priority: Option<u32>,
}

/// A configuration as the engine keeps it.
pub fn to_config<T: Serialize>(config: &T) -> Value {
    serde_json::to_value(config).expect("configurations are plain data")
}

/// The configuration of a desired resource.
pub fn config<T: DeserializeOwned>(d: &Desired) -> Result<T> {
    T::deserialize(&d.config).map_err(|e| {
        Error::world(format!("internal: the configuration of {} is not what mcpkit writes: {e}", d.key))
    })
}

// ----- outputs (what the cloud records; read by dependents and commands) --------------------

/// The outputs of one kind of resource.
pub trait Outputs: Serialize + DeserializeOwned {
    const KIND: Kind;

    /// As the engine records them, under the resource's physical id.
    fn live(&self, id: &str) -> Live {
        Live { id: id.to_string(), outputs: serde_json::to_value(self).expect("outputs are plain data") }
    }
}

fn parse<T: Outputs>(what: &dyn std::fmt::Display, outputs: &Value) -> Result<T> {
    T::deserialize(outputs).map_err(|e| {
        Error::world(format!("the recorded outputs of {what} are incomplete ({e})"))
            .with_hint("run `mcpkit deploy --target aws` again: it reads the resource back and records it")
    })
}

/// The outputs of the dependency of `T`'s kind, when the resource has one.
pub fn input<T: Outputs>(inputs: &Inputs) -> Result<Option<T>> {
    match inputs.iter().find(|(k, _)| k.kind == T::KIND.as_str()) {
        Some((key, live)) => parse(key, &live.outputs).map(Some),
        None => Ok(None),
    }
}

/// The outputs of the dependency of `T`'s kind, which this step needs.
pub fn need<T: Outputs>(inputs: &Inputs) -> Result<T> {
    input(inputs)?
        .ok_or_else(|| Error::world(format!("internal: the {} this step needs is missing", T::KIND.as_str())))
}

/// What a finished create recorded; `None` for a resource whose create did not finish (its
/// record has no outputs yet).
pub fn recorded<T: Outputs>(record: Option<&Record>) -> Result<Option<T>> {
    match record {
        Some(r) if r.outputs.as_object().is_some_and(|o| !o.is_empty()) => {
            parse(&r.key, &r.outputs).map(Some)
        }
        _ => Ok(None),
    }
}

/// What a finished create recorded, which the caller needs.
pub fn must<T: Outputs>(record: &Record) -> Result<T> {
    recorded(Some(record))?.ok_or_else(|| {
        Error::world(format!("{} was never finished, so nothing is recorded of it", record.key))
            .with_hint("run `mcpkit deploy --target aws` again: it finishes what was interrupted")
    })
}

macro_rules! outputs {
    ($(#[$doc:meta])* $name:ident ($kind:ident) { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Serialize, Deserialize)]
        pub struct $name { $($(#[$fdoc])* pub $field: $ty),* }
        impl Outputs for $name {
            const KIND: Kind = Kind::$kind;
        }
    };
}

outputs!(RoleOut(Role) { arn: String, name: String });
outputs!(PoolOut(Pool) { pool_id: String, arn: Option<String>, discovery_url: String });
outputs!(DomainOut(Domain) { pool_id: String, domain: String, token_endpoint: String });
outputs!(ResourceServerOut(ResourceServer) { pool_id: String, identifier: String });
outputs!(ClientOut(Client) { pool_id: String, client_id: String });
outputs!(BucketOut(Bucket) { bucket: String });
outputs!(CodeOut(Code) { bucket: String, key: String });
outputs!(RepositoryOut(Repository) { uri: String, name: String });
outputs!(ImageOut(Image) { uri: String, repository: String, tag: String });
outputs!(RuntimeOut(Runtime) { id: String, arn: String, invocation_url: String });
outputs!(ProviderOut(CredentialProvider) { arn: String });
outputs!(GatewayOut(Gateway) { id: String, arn: String, url: String });
outputs!(
    /// `shape`: a hash of the target's endpoint and credentials (see `target_settings`).
    TargetOut(Target) { gateway_id: String, shape: String }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_name_and_is_found_by_it() {
        for k in Kind::ALL {
            assert_eq!(Kind::of(&Key::new(k.as_str(), "x")).unwrap(), k);
        }
        let names: std::collections::BTreeSet<_> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), Kind::ALL.len());
        assert!(Kind::of(&Key::new("agentcore.runtimes", "x")).is_err(), "a typo is an error");
    }

    /// A dependency whose outputs lack a field is an error naming the resource and the field,
    /// not an empty string.
    #[test]
    fn a_missing_output_names_the_resource_and_the_field() {
        let inputs: Inputs = [(
            Key::new(Kind::Runtime.as_str(), "calc"),
            Live { id: "calc-1".into(), outputs: serde_json::json!({ "id": "calc-1" }) },
        )]
        .into();
        let err = need::<RuntimeOut>(&inputs).unwrap_err().to_string();
        assert!(err.contains("agentcore.runtime calc") && err.contains("arn"), "{err}");
        assert!(input::<GatewayOut>(&inputs).unwrap().is_none());
    }

    #[test]
    fn configurations_round_trip_with_aws_spellings() {
        let t = TargetConfig {
            credentials: Credentials::GatewayIamRole,
            scopes: vec![],
            code: "h".into(),
            resource_priority: None,
        };
        let v = to_config(&t);
        assert_eq!(v["credentials"], "GATEWAY_IAM_ROLE");
        let d = Desired { key: Key::new(Kind::Target.as_str(), "x-target"), depends_on: vec![], config: v };
        assert_eq!(config::<TargetConfig>(&d).unwrap().credentials, Credentials::GatewayIamRole);
        let bad = Desired { config: serde_json::json!({ "credentials": "OAUTH2" }), ..d };
        assert!(config::<TargetConfig>(&bad).unwrap_err().to_string().contains("agentcore.target x-target"));
    }
}
