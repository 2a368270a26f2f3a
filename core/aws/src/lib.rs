//! The AWS target: the desired topology as engine resources ([`desired`], pure: derived from
//! mcpkit.toml, the account and region, and the artifacts' input hashes), the cloud that
//! performs each step over the AWS SDK ([`cloud`]), and the commands ([`target`]).

pub mod artifact;
pub mod cloud;
pub mod commands;
pub mod logs;
pub mod policy;
pub mod resources;
pub mod sdk;
pub mod sigv4;

use mcpkit_engine::{Desired, Key};
use mcpkit_workspace::error::{Error, Problem, Result};
use mcpkit_workspace::manifest::{BuildKind, Workspace};
use mcpkit_workspace::names;
use resources::{
    ClientConfig, CodeConfig, Credentials, GatewayConfig, ImageConfig, PoolConfig, ProviderConfig,
    ResourceServerConfig, RoleConfig, RuntimeConfig, TargetConfig, to_config,
};
use serde_json::json;

/// MCP protocol versions the gateway is created with.
/// The gateway's session timeout: AgentCore's default, and the local gateway's.
pub const GATEWAY_SESSION_TIMEOUT_S: u32 = 3600;

pub const GATEWAY_PROTOCOL_VERSIONS: &[&str] = &["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"];

/// Resource kinds of the AWS target, as the engine's keys spell them ([`resources::Kind`]).
pub mod kind {
    use super::resources::Kind;
    pub const ROLE: &str = Kind::Role.as_str();
    pub const POOL: &str = Kind::Pool.as_str();
    pub const DOMAIN: &str = Kind::Domain.as_str();
    pub const RESOURCE_SERVER: &str = Kind::ResourceServer.as_str();
    pub const CLIENT: &str = Kind::Client.as_str();
    pub const BUCKET: &str = Kind::Bucket.as_str();
    pub const CODE: &str = Kind::Code.as_str();
    pub const REPOSITORY: &str = Kind::Repository.as_str();
    pub const IMAGE: &str = Kind::Image.as_str();
    pub const RUNTIME: &str = Kind::Runtime.as_str();
    pub const CREDENTIAL_PROVIDER: &str = Kind::CredentialProvider.as_str();
    pub const GATEWAY: &str = Kind::Gateway.as_str();
    pub const TARGET: &str = Kind::Target.as_str();
}

/// How one leg is secured on AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// A Cognito pool chain of its own (the default).
    Cognito,
    /// AWS IAM: SigV4, no pool.
    Iam,
}

/// The AgentCore authorizer of a leg.
fn authorizer(leg: Leg) -> resources::Authorizer {
    match leg {
        Leg::Iam => resources::Authorizer::AwsIam,
        Leg::Cognito => resources::Authorizer::CustomJwt,
    }
}

pub fn leg(chosen: &Option<String>) -> Leg {
    match chosen.as_deref() {
        Some("iam") => Leg::Iam,
        _ => Leg::Cognito,
    }
}

/// Where the topology is deployed: what the names and policies of account-scoped resources
/// are made of.
#[derive(Debug, Clone)]
pub struct Context {
    pub scope: policy::Scope,
}

/// The Cognito chain protecting `name`: pool, domain, resource server (scope `invoke`), client.
/// Returns the pool, the client and the domain, which dependents read (discovery URL, client
/// id) or wait for (a pool's token endpoint exists only once it has a domain). `prefix` sets
/// the gateway's chain apart from a server's of the same name. `token_lifetime_s` is the
/// client's access-token validity (absent: Cognito's default, an hour).
fn cognito_chain(
    out: &mut Vec<Desired>,
    prefix: &str,
    name: &str,
    token_lifetime_s: Option<u64>,
) -> [Key; 3] {
    let pool = Key::new(kind::POOL, format!("{prefix}{name}-pool"));
    let rs = Key::new(kind::RESOURCE_SERVER, format!("{prefix}{name}-id"));
    let client = Key::new(kind::CLIENT, format!("{prefix}{name}-client"));
    out.push(Desired {
        key: pool.clone(),
        depends_on: vec![],
        config: to_config(&PoolConfig { allow_admin_create_user_only: true }),
    });
    let domain = Key::new(kind::DOMAIN, format!("{prefix}{name}"));
    out.push(Desired { key: domain.clone(), depends_on: vec![pool.clone()], config: json!({}) });
    out.push(Desired {
        key: rs.clone(),
        depends_on: vec![pool.clone()],
        config: to_config(&ResourceServerConfig { scopes: vec![names::SCOPE.to_string()] }),
    });
    out.push(Desired {
        key: client.clone(),
        depends_on: vec![pool.clone(), rs],
        config: to_config(&ClientConfig {
            flows: vec!["client_credentials".into()],
            scopes: vec![format!("{name}-id/{}", names::SCOPE)],
            token_lifetime_s,
        }),
    });
    [pool, client, domain]
}

/// Every resource of the topology, with its dependencies. `code_hashes` gives each server's
/// artifact hash (of what would be uploaded), so a code change is an update of that server's
/// artifact and runtime, and a re-synchronisation of its target, only.
pub fn desired(
    ws: &Workspace,
    ctx: &Context,
    code_hashes: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<Desired>> {
    ws.ensure_valid()?;
    let m = ws.manifest();
    let g = ws.gateway_names();
    let mut out = Vec::new();

    let mut needs = policy::GatewayNeeds::default();
    for (name, s) in &m.servers {
        let n = ws.server_names(name);
        match leg(&s.auth) {
            Leg::Cognito => needs.credential_providers.push(n.identity),
            Leg::Iam => needs.iam_runtimes.push(n.runtime),
        }
    }
    let gateway_role = Key::new(kind::ROLE, &g.role);
    let policies = policy::gateway(&ctx.scope, &g.workload_identity, &needs).map_err(|e| {
        Error::input(Problem::new(e).file(ws.manifest_path()).hint(
            "put fewer servers behind one gateway, or ask AWS to raise the role's managed-policy quota",
        ))
    })?;
    let role_config = RoleConfig {
        description: format!("mcpkit: AgentCore gateway {}", g.gateway),
        trust: policy::trust(&ctx.scope),
        policy: policies.inline,
        managed: policies.managed,
    };
    out.push(Desired { key: gateway_role.clone(), depends_on: vec![], config: to_config(&role_config) });
    let inbound = leg(&m.gateway.auth);
    let mut gateway_deps = vec![gateway_role.clone()];
    if inbound == Leg::Cognito {
        let [pool, client, _domain] =
            cognito_chain(&mut out, names::GATEWAY_KEY_PREFIX, &g.gateway, m.targets.aws.token_lifetime_s);
        gateway_deps.extend([pool, client]);
    }
    let gateway = Key::new(kind::GATEWAY, &g.gateway);
    out.push(Desired {
        key: gateway.clone(),
        depends_on: gateway_deps,
        config: to_config(&GatewayConfig {
            protocol: "MCP".into(),
            supported_versions: GATEWAY_PROTOCOL_VERSIONS.iter().map(|v| v.to_string()).collect(),
            search: "SEMANTIC".into(),
            authorizer: authorizer(inbound),
            description: m.gateway.description.clone(),
            session_timeout_s: GATEWAY_SESSION_TIMEOUT_S,
            response_streaming: true,
        }),
    });

    let uses_code = m.servers.values().any(|s| s.build == BuildKind::Code);
    let bucket_name =
        names::artifact_bucket_in(&m.project.name, ws.environment(), &ctx.scope.account, &ctx.scope.region);
    let bucket = Key::new(kind::BUCKET, &bucket_name);
    if uses_code {
        out.push(Desired { key: bucket.clone(), depends_on: vec![], config: json!({}) });
    }
    for (name, s) in &m.servers {
        let n = ws.server_names(name);
        let mut runtime_deps = Vec::new();
        let repository = (s.build == BuildKind::Container).then(|| n.ecr_repository.clone());
        if s.auto_create_execution_role {
            let role = Key::new(kind::ROLE, &n.role);
            out.push(Desired {
                key: role.clone(),
                depends_on: vec![],
                config: to_config(&RoleConfig {
                    description: format!("mcpkit: AgentCore runtime {}", n.runtime),
                    trust: policy::trust(&ctx.scope),
                    policy: policy::runtime(&ctx.scope, &n.runtime, repository.as_deref()),
                    managed: vec![],
                }),
            });
            runtime_deps.push(role);
        }
        let code_hash = code_hashes.get(name).cloned().unwrap_or_default();
        match s.build {
            BuildKind::Code => {
                let code = Key::new(kind::CODE, name);
                out.push(Desired {
                    key: code.clone(),
                    depends_on: vec![bucket.clone()],
                    config: to_config(&CodeConfig {
                        hash: code_hash.clone(),
                        key: names::artifact_key(name, &code_hash),
                    }),
                });
                runtime_deps.push(code);
            }
            BuildKind::Container => {
                let mut image_deps = vec![];
                if s.auto_create_ecr {
                    let repo = Key::new(kind::REPOSITORY, &n.ecr_repository);
                    out.push(Desired { key: repo.clone(), depends_on: vec![], config: json!({}) });
                    image_deps.push(repo);
                }
                let image = Key::new(kind::IMAGE, name);
                out.push(Desired {
                    key: image.clone(),
                    depends_on: image_deps,
                    config: to_config(&ImageConfig {
                        hash: code_hash.clone(),
                        repository: n.ecr_repository.clone(),
                    }),
                });
                runtime_deps.push(image);
            }
        }
        let outbound = leg(&s.auth);
        // The gateway role's policy must name this target's provider or runtime before
        // AgentCore lists the target's tools as that role.
        let mut target_deps = vec![gateway.clone(), gateway_role.clone()];
        if outbound == Leg::Cognito {
            let [pool, client, domain] = cognito_chain(&mut out, "", &ws.server_realm(name), None);
            runtime_deps.extend([pool.clone(), client.clone()]);
            let identity = Key::new(kind::CREDENTIAL_PROVIDER, &n.identity);
            // The provider fetches tokens through the pool's discovery document, which has a
            // `token_endpoint` only once the pool has its domain.
            out.push(Desired {
                key: identity.clone(),
                depends_on: vec![pool, client, domain],
                config: to_config(&ProviderConfig { vendor: "CustomOauth2".into() }),
            });
            target_deps.push(identity);
        }
        let runtime = Key::new(kind::RUNTIME, &n.runtime);
        out.push(Desired {
            key: runtime.clone(),
            depends_on: runtime_deps,
            config: to_config(&RuntimeConfig {
                protocol: "MCP".into(),
                server: name.clone(),
                build: s.build,
                code: code_hash.clone(),
                env: s.env.clone(),
                role: s.execution_role_arn.clone(),
                authorizer: authorizer(outbound),
                description: s.description.clone(),
            }),
        });
        target_deps.push(runtime);
        out.push(Desired {
            key: Key::new(kind::TARGET, &n.target),
            depends_on: target_deps,
            config: to_config(&TargetConfig {
                credentials: if outbound == Leg::Iam {
                    Credentials::GatewayIamRole
                } else {
                    Credentials::Oauth
                },
                scopes: if outbound == Leg::Iam { vec![] } else { vec![n.scope.clone()] },
                code: code_hash,
                resource_priority: s.resource_priority,
            }),
        });
    }
    mcpkit_engine::topo_order(&out)?;
    Ok(out)
}

#[cfg(test)]
mod tests;

/// Deploy-state keys of the gateway's Cognito chain.
pub fn gateway_chain(gateway: &str) -> (Key, Key, Key) {
    let p = names::GATEWAY_KEY_PREFIX;
    (
        Key::new(kind::POOL, format!("{p}{gateway}-pool")),
        Key::new(kind::CLIENT, format!("{p}{gateway}-client")),
        Key::new(kind::DOMAIN, format!("{p}{gateway}")),
    )
}
