//! The AWS target's desired topology: what `mcpkit deploy --target aws` must make, as engine
//! resources with their dependencies, derived from mcpkit.toml alone (names from
//! [`crate::names`]). The steps that create them over the AWS SDK come with the rest of the
//! AWS target; this part is pure, so the plan (`--dry-run`) is known before any API call.

use crate::engine::{Desired, Key};
use crate::error::Result;
use crate::manifest::{BuildKind, Workspace};
use crate::names;
use serde_json::json;

/// MCP protocol versions the gateway is created with.
pub const GATEWAY_PROTOCOL_VERSIONS: &[&str] = &["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"];

/// Resource kinds of the AWS target.
pub mod kind {
    pub const ROLE: &str = "iam.role";
    pub const POOL: &str = "cognito.pool";
    pub const DOMAIN: &str = "cognito.domain";
    pub const RESOURCE_SERVER: &str = "cognito.resource-server";
    pub const CLIENT: &str = "cognito.client";
    pub const BUCKET: &str = "s3.bucket";
    pub const CODE: &str = "s3.code";
    pub const REPOSITORY: &str = "ecr.repository";
    pub const IMAGE: &str = "ecr.image";
    pub const RUNTIME: &str = "agentcore.runtime";
    pub const CREDENTIAL_PROVIDER: &str = "agentcore.credential-provider";
    pub const GATEWAY: &str = "agentcore.gateway";
    pub const TARGET: &str = "agentcore.target";
}

/// How one leg is secured on AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leg {
    /// A Cognito pool chain of its own (the default).
    Cognito,
    /// AWS IAM: SigV4, no pool.
    Iam,
}

fn leg(chosen: &Option<String>) -> Leg {
    match chosen.as_deref() {
        Some("iam") => Leg::Iam,
        _ => Leg::Cognito,
    }
}

/// The Cognito chain protecting `name`: pool, domain, resource server (scope `invoke`), client.
fn cognito_chain(out: &mut Vec<Desired>, name: &str) -> Key {
    let pool = Key::new(kind::POOL, format!("{name}-pool"));
    let rs = Key::new(kind::RESOURCE_SERVER, format!("{name}-id"));
    let client = Key::new(kind::CLIENT, format!("{name}-client"));
    out.push(Desired {
        key: pool.clone(),
        depends_on: vec![],
        config: json!({ "allow_admin_create_user_only": true }),
    });
    out.push(Desired {
        key: Key::new(kind::DOMAIN, name),
        depends_on: vec![pool.clone()],
        config: json!({}),
    });
    out.push(Desired {
        key: rs.clone(),
        depends_on: vec![pool.clone()],
        config: json!({ "scopes": [names::SCOPE] }),
    });
    out.push(Desired {
        key: client.clone(),
        depends_on: vec![pool, rs],
        config: json!({ "flows": ["client_credentials"], "scopes": [format!("{name}-id/{}", names::SCOPE)] }),
    });
    client
}

/// Every resource of the topology, with its dependencies. `code_hashes` gives each server's
/// artifact hash (the content of what would be uploaded), so a code change is an update of
/// that server's artifact and runtime only.
pub fn desired(
    ws: &Workspace,
    code_hashes: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<Desired>> {
    ws.ensure_valid()?;
    let m = ws.manifest();
    let g = names::gateway(&m.gateway.name);
    let mut out = Vec::new();

    let gateway_role = Key::new(kind::ROLE, &g.role);
    out.push(Desired { key: gateway_role.clone(), depends_on: vec![], config: json!({ "for": "gateway" }) });
    let inbound = leg(&m.gateway.auth);
    let mut gateway_deps = vec![gateway_role.clone()];
    if inbound == Leg::Cognito {
        gateway_deps.push(cognito_chain(&mut out, &g.gateway));
    }
    let gateway = Key::new(kind::GATEWAY, &g.gateway);
    out.push(Desired {
        key: gateway.clone(),
        depends_on: gateway_deps,
        config: json!({
            "protocol": "MCP",
            "supported_versions": GATEWAY_PROTOCOL_VERSIONS,
            "search": "SEMANTIC",
            "authorizer": if inbound == Leg::Iam { "AWS_IAM" } else { "CUSTOM_JWT" },
            "description": m.gateway.description,
        }),
    });

    let uses_code = m.servers.values().any(|s| s.build == BuildKind::Code);
    let bucket = Key::new(kind::BUCKET, format!("mcpkit-{}", m.project.name.to_lowercase()));
    if uses_code {
        out.push(Desired { key: bucket.clone(), depends_on: vec![], config: json!({}) });
    }
    for (name, s) in &m.servers {
        let n = names::server(&m.gateway.name, name);
        let mut runtime_deps = Vec::new();
        if s.auto_create_execution_role {
            let role = Key::new(kind::ROLE, &n.role);
            out.push(Desired {
                key: role.clone(),
                depends_on: vec![],
                config: json!({ "for": "runtime", "build": s.build }),
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
                    config: json!({ "hash": code_hash }),
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
                    config: json!({ "hash": code_hash }),
                });
                runtime_deps.push(image);
            }
        }
        let outbound = leg(&s.auth);
        let mut target_deps = vec![gateway.clone()];
        if outbound == Leg::Cognito {
            let client = cognito_chain(&mut out, name);
            runtime_deps.push(client.clone());
            let identity = Key::new(kind::CREDENTIAL_PROVIDER, &n.identity);
            out.push(Desired {
                key: identity.clone(),
                depends_on: vec![client],
                config: json!({ "vendor": "CustomOauth2" }),
            });
            target_deps.push(identity);
        }
        let runtime = Key::new(kind::RUNTIME, &n.runtime);
        out.push(Desired {
            key: runtime.clone(),
            depends_on: runtime_deps,
            config: json!({
                "protocol": "MCP",
                "build": s.build,
                "code": code_hash,
                "env": s.env,
                "role": s.execution_role_arn,
                "authorizer": if outbound == Leg::Iam { "AWS_IAM" } else { "CUSTOM_JWT" },
                "description": s.description,
            }),
        });
        target_deps.push(runtime);
        out.push(Desired {
            key: Key::new(kind::TARGET, &n.target),
            depends_on: target_deps,
            config: json!({
                "credentials": if outbound == Leg::Iam { "GATEWAY_IAM_ROLE" } else { "OAUTH" },
                "scopes": if outbound == Leg::Iam { vec![] } else { vec![n.scope.clone()] },
            }),
        });
    }
    crate::engine::topo_order(&out)?;
    Ok(out)
}

#[cfg(test)]
mod tests;
