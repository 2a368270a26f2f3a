use super::*;
use crate::engine::{Action, State, plan};
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
        ["agentcore.gateway:shop", "agentcore.credential-provider:calc-identity", "agentcore.runtime:calc"]
    );
    assert_eq!(target.config["scopes"], json!(["calc-id/invoke"]));
}

#[test]
fn a_code_change_updates_that_servers_artifact_and_runtime_only() {
    let (_d, ws) = workspace("");
    let before = desired(&ws, &ctx(), &hashes("c1")).unwrap();
    let mut state = State::default();
    for (i, d) in before.iter().enumerate() {
        let inputs = crate::engine::inputs_hash(&crate::engine::inputs_of(d, &state));
        state.record(
            &d.key,
            crate::engine::Live { id: d.key.id(), outputs: json!({}) },
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
