use super::*;
use mcpkit_engine::{Action, State, plan};
use std::collections::BTreeMap;

fn workspace(extra: &str) -> (tempfile::TempDir, Workspace) {
    let d = tempfile::tempdir().unwrap();
    for s in ["calc", "greeter"] {
        std::fs::create_dir_all(d.path().join(s)).unwrap();
        std::fs::write(d.path().join(s).join("server.py"), "").unwrap();
        std::fs::write(d.path().join(s).join("requirements.txt"), "mcp\n").unwrap();
    }
    let text = format!(
        "[project]\nname = \"shop\"\n\n[gateway]\nname = \"shop\"\n\n[servers.calc]\nentrypoint = \"calc/server.py\"\nrequirements = \"calc/requirements.txt\"\n\n[servers.greeter]\nentrypoint = \"greeter/server.py\"\nrequirements = \"greeter/requirements.txt\"\n{extra}"
    );
    let ws = Workspace::from_text(d.path(), text).unwrap();
    (d, ws)
}

fn hashes(calc: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("calc".to_string(), calc.to_string()), ("greeter".to_string(), "g1".to_string())])
}

fn ctx() -> Context {
    Context {
        scope: policy::Scope {
            partition: "aws".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
        },
    }
}

fn keys(d: &[Desired]) -> Vec<String> {
    d.iter().map(|x| x.key.id()).collect()
}

#[test]
fn the_original_toolkit_topology_with_its_names() {
    let (_d, ws) = workspace("");
    let d = desired(&ws, &ctx(), &hashes("c1")).unwrap();
    let k = keys(&d);
    for expected in [
        "iam.role:shop-role",
        "cognito.pool:gateway.shop-pool",
        "cognito.client:gateway.shop-client",
        "agentcore.gateway:shop",
        "iam.role:shop-calc-role",
        "s3.code:calc",
        "cognito.pool:calc-pool",
        "cognito.resource-server:calc-id",
        "agentcore.credential-provider:calc-identity",
        "agentcore.runtime:calc",
        "agentcore.target:calc-target",
        "agentcore.target:greeter-target",
    ] {
        assert!(k.contains(&expected.to_string()), "{expected} missing from {k:?}");
    }
    // 1 gateway role + 4 gateway pool pieces + gateway + bucket, and per server:
    // role, code, 4 pool pieces, credential provider, runtime, target.
    assert_eq!(d.len(), 7 + 2 * 9);
    let target = d.iter().find(|x| x.key.id() == "agentcore.target:calc-target").unwrap();
    let deps: Vec<String> = target.depends_on.iter().map(|k| k.id()).collect();
    assert_eq!(
        deps,
        [
            "agentcore.gateway:shop",
            "iam.role:shop-role",
            "agentcore.credential-provider:calc-identity",
            "agentcore.runtime:calc"
        ]
    );
    assert_eq!(target.config["scopes"], json!(["calc-id/invoke"]));
}

#[test]
fn a_code_change_updates_that_servers_artifact_and_runtime_only() {
    let (_d, ws) = workspace("");
    let before = desired(&ws, &ctx(), &hashes("c1")).unwrap();
    let mut state = State::default();
    for (i, d) in before.iter().enumerate() {
        let inputs = mcpkit_engine::inputs_hash(&mcpkit_engine::inputs_of(d, &state));
        state.record(
            &d.key,
            mcpkit_engine::Live { id: d.key.id(), outputs: json!({}) },
            &d.hash(),
            &inputs,
            &d.depends_on,
            i,
        );
    }
    let after = desired(&ws, &ctx(), &hashes("c2")).unwrap();
    let p = plan(&after, &state, &BTreeMap::new()).unwrap();
    let changed: Vec<(String, Action)> = p.mutating().map(|s| (s.key.id(), s.action)).collect();
    assert_eq!(
        changed,
        vec![
            ("s3.code:calc".to_string(), Action::Update),
            ("agentcore.runtime:calc".to_string(), Action::Update),
            ("agentcore.target:calc-target".to_string(), Action::Update)
        ]
    );
}

#[test]
fn iam_legs_need_no_pools_and_a_brought_role_is_not_created() {
    let (_d, ws) = workspace("");
    let text = ws.text().replace("name = \"shop\"\n\n[servers.calc]", "name = \"shop\"\nauth = \"iam\"\n\n[servers.calc]").replace(
        "entrypoint = \"calc/server.py\"",
        "entrypoint = \"calc/server.py\"\nauth = \"iam\"\nauto_create_execution_role = false\nexecution_role_arn = \"arn:aws:iam::123456789012:role/mine\"",
    );
    let ws = Workspace::from_text(ws.root(), text).unwrap();
    let d = desired(&ws, &ctx(), &hashes("c1")).unwrap();
    let k = keys(&d);
    assert!(!k.contains(&"cognito.pool:gateway.shop-pool".to_string()), "an IAM gateway has no pool");
    assert!(!k.contains(&"cognito.pool:calc-pool".to_string()));
    assert!(!k.contains(&"agentcore.credential-provider:calc-identity".to_string()));
    assert!(
        !k.contains(&"iam.role:shop-calc-role".to_string()),
        "a brought role is never created (nor deleted)"
    );
    assert!(k.contains(&"cognito.pool:greeter-pool".to_string()), "the other server keeps its pool");
    let gw = d.iter().find(|x| x.key.kind == kind::GATEWAY).unwrap();
    assert_eq!(gw.config["authorizer"], "AWS_IAM");
    let t = d.iter().find(|x| x.key.id() == "agentcore.target:calc-target").unwrap();
    assert_eq!(t.config["credentials"], "GATEWAY_IAM_ROLE");
}

#[test]
fn container_servers_get_a_repository_and_an_image() {
    let (_d, ws) = workspace("");
    let text = ws.text().replace(
        "entrypoint = \"greeter/server.py\"",
        "entrypoint = \"greeter/server.py\"\nbuild = \"container\"",
    );
    let ws = Workspace::from_text(ws.root(), text).unwrap();
    let k = keys(&desired(&ws, &ctx(), &hashes("c1")).unwrap());
    assert!(k.contains(&"ecr.repository:mcpkit/shop/greeter".to_string()), "{k:?}");
    assert!(k.contains(&"ecr.image:greeter".to_string()));
    assert!(!k.contains(&"s3.code:greeter".to_string()));
}

/// A pool's discovery document announces its token endpoint only once the pool has a domain,
/// and the credential provider is configured from that document: it comes after the domain.
#[test]
fn the_credential_provider_is_made_after_its_pools_domain() {
    let (_d, ws) = workspace("");
    let d = desired(&ws, &ctx(), &hashes("c1")).unwrap();
    let provider = d.iter().find(|x| x.key.id() == "agentcore.credential-provider:calc-identity").unwrap();
    let deps: Vec<String> = provider.depends_on.iter().map(|k| k.id()).collect();
    assert!(deps.contains(&"cognito.domain:calc".to_string()), "{deps:?}");
    let order: Vec<String> = mcpkit_engine::topo_order(&d).unwrap().iter().map(|k| k.id()).collect();
    let at = |k: &str| order.iter().position(|x| x == k).unwrap();
    assert!(at("cognito.domain:calc") < at("agentcore.credential-provider:calc-identity"));
}

/// The gateway's workload identity is named after its lowercased name, and IAM matches
/// resources case-sensitively: a gateway called `Shop` is granted `.../workload-identity/shop-*`.
#[test]
fn a_mixed_case_gateway_is_granted_its_lowercased_workload_identity() {
    let (_d, ws) = workspace("");
    let text = ws.text().replace("[gateway]\nname = \"shop\"", "[gateway]\nname = \"Shop\"");
    let ws = Workspace::from_text(ws.root(), text).unwrap();
    let d = desired(&ws, &ctx(), &hashes("c1")).unwrap();
    let role = d.iter().find(|x| x.key.id() == "iam.role:Shop-role").unwrap();
    let policy = role.config["policy"].to_string();
    assert!(policy.contains("workload-identity-directory/default/workload-identity/shop-*"), "{policy}");
    assert!(!policy.contains("workload-identity/Shop-"), "{policy}");
}

/// `mcpkit aws policy`: every resource the deployer acts on is this workspace's, and `*` only
/// for the actions IAM authorizes against `*` alone.
#[test]
fn the_deployer_policy_names_this_workspaces_resources() {
    let (_d, ws) = workspace("");
    let d = desired(&ws, &ctx(), &hashes("c1")).unwrap();
    let p = policy::deployer(&ctx().scope, &d);
    let text = p.to_string();
    for want in [
        "arn:aws:iam::123456789012:role/shop-role",
        "arn:aws:iam::123456789012:role/shop-calc-role",
        "arn:aws:s3:::mcpkit-shop-123456789012-us-east-1/*",
        "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/calc-*",
        "arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/shop-*",
        "token-vault/default/oauth2credentialprovider/greeter-identity",
        "iam:PassedToService",
    ] {
        assert!(text.contains(want), "{want} missing: {text}");
    }
    for s in p["Statement"].as_array().unwrap() {
        if s["Resource"] == "*" {
            for a in s["Action"].as_array().unwrap() {
                let a = a.as_str().unwrap();
                assert!(
                    a.contains(":Create")
                        || a.contains(":List")
                        || a.ends_with("DescribeUserPoolDomain")
                        || a.ends_with("GetAuthorizationToken"),
                    "{a} on *"
                );
            }
        }
    }
}

/// The configurations are hashed into the state: a change of their JSON would make every
/// deployed workspace update every resource once. The typed configurations serialize to
/// exactly what the untyped ones did.
#[test]
fn configurations_keep_the_json_the_state_hashes() {
    let (_d, ws) = workspace("");
    let d = desired(&ws, &ctx(), &hashes("c1")).unwrap();
    let config = |id: &str| d.iter().find(|x| x.key.id() == id).unwrap().config.clone();
    assert_eq!(
        config("agentcore.runtime:calc"),
        json!({
            "protocol": "MCP", "server": "calc", "build": "code", "code": "c1", "env": {},
            "role": null, "authorizer": "CUSTOM_JWT", "description": null,
        })
    );
    assert_eq!(
        config("agentcore.target:calc-target"),
        json!({ "credentials": "OAUTH", "scopes": ["calc-id/invoke"], "code": "c1" })
    );
    assert_eq!(config("cognito.pool:calc-pool"), json!({ "allow_admin_create_user_only": true }));
    assert_eq!(config("cognito.resource-server:calc-id"), json!({ "scopes": ["invoke"] }));
    assert_eq!(
        config("cognito.client:calc-client"),
        json!({ "flows": ["client_credentials"], "scopes": ["calc-id/invoke"] })
    );
    assert_eq!(config("agentcore.credential-provider:calc-identity"), json!({ "vendor": "CustomOauth2" }));
    let role = config("iam.role:shop-calc-role");
    let keys: Vec<&String> = role.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["description", "policy", "trust"], "no `managed` key when nothing spills over");
    let gw = config("agentcore.gateway:shop");
    assert_eq!(gw["authorizer"], "CUSTOM_JWT");
    assert_eq!(gw["search"], "SEMANTIC");
}

#[test]
fn in_an_environment_every_account_unique_name_carries_it_and_target_names_do_not() {
    let (_d, ws) = workspace("\n[environments.dev]\n");
    let dev = ws.in_environment("dev").unwrap();
    let d = desired(&dev, &ctx(), &hashes("c1")).unwrap();
    let k = keys(&d);
    for expected in [
        "iam.role:shop-dev-role",
        "cognito.pool:gateway.shop-dev-pool",
        "cognito.client:gateway.shop-dev-client",
        "agentcore.gateway:shop-dev",
        "iam.role:shop-dev-calc-role",
        "s3.bucket:mcpkit-shop-dev-123456789012-us-east-1",
        "cognito.pool:calc-dev-pool",
        "cognito.resource-server:calc-dev-id",
        "cognito.client:calc-dev-client",
        "cognito.domain:calc-dev",
        "agentcore.credential-provider:calc-dev-identity",
        "agentcore.runtime:calc__dev",
        "agentcore.target:calc-target",
    ] {
        assert!(k.contains(&expected.to_string()), "{expected} missing from {k:?}");
    }
    assert_eq!(d.len(), 7 + 2 * 9, "the same topology");
    let target = d.iter().find(|x| x.key.id() == "agentcore.target:calc-target").unwrap();
    assert_eq!(target.config["scopes"], json!(["calc-dev-id/invoke"]));
    let client = d.iter().find(|x| x.key.id() == "cognito.client:calc-dev-client").unwrap();
    assert_eq!(
        client.config["scopes"],
        json!(["calc-dev-id/invoke"]),
        "the client asks for its own realm's scope"
    );
    // Without the environment, the names (and so the state) of before environments existed.
    let base = keys(&desired(&ws, &ctx(), &hashes("c1")).unwrap());
    assert!(base.contains(&"agentcore.runtime:calc".to_string()) && !base.iter().any(|k| k.contains("dev")));
}

#[test]
fn state_files_name_their_environment_and_region() {
    use commands::{parse_state_file, state_path};
    let root = std::path::Path::new("/w");
    assert!(state_path(root, None, "us-east-1").ends_with(".mcpkit/state/aws-us-east-1.json"));
    assert!(state_path(root, Some("dev"), "us-east-1").ends_with(".mcpkit/state/aws-dev-us-east-1.json"));
    assert_eq!(parse_state_file("aws-us-east-1.json"), Some((None, "us-east-1".into())));
    assert_eq!(parse_state_file("aws-us-us-east-1.json"), Some((Some("us".into()), "us-east-1".into())));
    assert_eq!(
        parse_state_file("aws-dev-us-gov-west-1.json"),
        Some((Some("dev".into()), "us-gov-west-1".into()))
    );
    assert_eq!(parse_state_file("aws-us-east-1.lock"), None);
    assert_eq!(parse_state_file("aws-Dev-us-east-1.json"), None, "not an environment's name");
    assert_eq!(parse_state_file("local.json"), None);
}
