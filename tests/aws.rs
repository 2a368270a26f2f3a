//! The AWS target against the emulator (moto in server mode plus `tests/aws_emulator/`), with
//! the real binary talking to it through `AWS_ENDPOINT_URL` only: a full deploy checked
//! through the AWS SDK, idempotence, code changes, crashes after every mutating call,
//! throttling and 5xx, IAM propagation, conflicts, destroy, and secrets kept out of output.

mod support;

use serde_json::{Value, json};
use support::aws::Moto;
use support::{Run, Sandbox};

/// A workspace `shop` with two servers: `shop` (calculator) and `greeter` (helloworld).
fn workspace(sb: &Sandbox, two: bool) {
    sb.run(".", &["new", "shop", "-t", "calculator"]).ok();
    if two {
        sb.run("shop", &["add-server", "greeter", "-t", "helloworld"]).ok();
    }
}

fn mcpkit(sb: &Sandbox, moto: &Moto, args: &[&str]) -> Run {
    mcpkit_as(sb, moto, "testing", args)
}

/// mcpkit signing its AWS requests with the access key `key` (the emulator's `caller_policy`
/// says what that identity may do).
fn mcpkit_as(sb: &Sandbox, moto: &Moto, key: &str, args: &[&str]) -> Run {
    let mut env = moto.env();
    for (k, v) in env.iter_mut() {
        if k == "AWS_ACCESS_KEY_ID" {
            *v = key.to_string();
        }
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    sb.run_env("shop", args, &env)
}

/// A change to one server's code (and so to its artifact's hash).
fn change_code(sb: &Sandbox, server: &str) {
    let path = sb.path().join(format!("shop/servers/{server}/server.py"));
    let code = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{code}\n# changed\n")).unwrap();
}

/// The emulator and a workspace already deployed to it.
fn deployed(two: bool) -> (Moto, Sandbox) {
    let moto = Moto::start();
    let sb = Sandbox::new();
    workspace(&sb, two);
    mcpkit(&sb, &moto, &["deploy", "--target", "aws"]).ok();
    (moto, sb)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

fn credentials(sb: &Sandbox) -> Value {
    let path = sb.path().join("shop/.mcpkit/credentials/aws-shop.json");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the credentials file is 0600");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn state(sb: &Sandbox) -> Value {
    serde_json::from_slice(&std::fs::read(sb.path().join("shop/.mcpkit/state/aws-us-east-1.json")).unwrap())
        .unwrap()
}

fn recorded_id(state: &Value, key: &str) -> String {
    state["resources"][key]["id"].as_str().unwrap_or_else(|| panic!("{key} not in the state")).to_string()
}

/// How many of each kind of resource exist in the emulator.
fn counts(moto: &Moto) -> Value {
    let inv = moto.inventory();
    let n = |v: &Value| v.as_array().map(|a| a.len()).unwrap_or(0);
    json!({
        "total": inv["total"],
        "pools": n(&inv["cognito"]["user_pools"]),
        "domains": n(&inv["cognito"]["domains"]),
        "resource_servers": n(&inv["cognito"]["resource_servers"]),
        "clients": n(&inv["cognito"]["clients"]),
        "roles": n(&inv["iam"]["roles"]),
        "buckets": n(&inv["s3"]["buckets"]),
        "runtimes": n(&inv["agentcore"]["runtimes"]),
        "gateways": n(&inv["agentcore"]["gateways"]),
        "targets": n(&inv["agentcore"]["gateway_targets"]),
        "providers": n(&inv["agentcore"]["credential_providers"]),
    })
}

/// The topology of `servers` Cognito-secured servers behind a Cognito-secured gateway.
fn expected(servers: u64) -> Value {
    json!({
        "pools": 1 + servers, "domains": 1 + servers, "resource_servers": 1 + servers,
        "clients": 1 + servers, "roles": 1 + servers, "buckets": 1, "runtimes": servers,
        "gateways": 1, "targets": servers, "providers": servers,
    })
}

fn assert_topology(moto: &Moto, servers: u64) {
    assert_topologies(moto, servers, 1);
}

/// `copies` whole topologies of `servers` servers side by side (environments), nothing shared.
fn assert_topologies(moto: &Moto, servers: u64, copies: u64) {
    let mut c = counts(moto);
    c.as_object_mut().unwrap().remove("total");
    let want: serde_json::Map<String, Value> = expected(servers)
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), json!(v.as_u64().unwrap() * copies)))
        .collect();
    assert_eq!(c, Value::Object(want), "{}", serde_json::to_string_pretty(&moto.inventory()).unwrap());
}

/// Starts `mcpkit -q <args>` and kills it once the emulator holds the answer to its `k`-th
/// mutating call (which took effect), as a crash right after that call would.
fn kill_after_mutating(sb: &Sandbox, moto: &Moto, k: usize, args: &[&str]) {
    moto.faults(json!({ "halt_after_mutating": k }));
    let mut child = {
        let mut c = sb.cmd("shop");
        c.arg("-q").args(args);
        for (key, v) in moto.env() {
            c.env(key, v);
        }
        c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        support::ChildGuard(c.spawn().unwrap())
    };
    let start = std::time::Instant::now();
    while moto.fault_state()["halted"] != true {
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!("k={k}: the deploy ended ({status}) before the halt");
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(120), "k={k}: never halted");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    // Requests the killed process had sent but the emulator had not read yet must meet the
    // halt (and be refused), not land after the release and race the next run.
    std::thread::sleep(std::time::Duration::from_millis(500));
    moto.faults(json!({ "halt_after_mutating": null }));
}

fn no_secrets(run: &Run, secrets: &[&str]) {
    for s in secrets.iter().filter(|s| s.len() > 8) {
        assert!(!run.stdout.contains(s) && !run.stderr.contains(s), "a secret was printed:\n{run:?}");
    }
}

#[test]
fn a_full_deploy_builds_the_topology_and_every_resource_is_configured() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    workspace(&sb, true);
    // The greeter wins a resource URI the two might share.
    let manifest = sb.path().join("shop/mcpkit.toml");
    support::replace_once(&manifest, "[servers.greeter]\n", "[servers.greeter]\nresource_priority = 10\n");
    let plan = mcpkit(&sb, &moto, &["deploy", "--target", "aws", "--dry-run"]);
    plan.ok();
    assert!(plan.stdout.contains("25 to create, 0 to update, 0 to delete, 0 unchanged"), "{}", plan.stdout);
    assert!(moto.mutating_calls().is_empty(), "a dry run changes nothing: {:?}", moto.mutating_calls());

    let run = mcpkit(&sb, &moto, &["deploy", "--target", "aws"]);
    run.ok();
    assert_topology(&moto, 2);
    let creds = credentials(&sb);
    let st = state(&sb);
    assert!(run.stdout.contains("Gateway URL: https://"), "{}", run.stdout);
    assert!(
        run.stdout.contains("Client Secret: <redacted>") && run.stdout.contains("Access Token: <redacted>")
    );

    let sdk = moto.sdk();
    let ac = aws_sdk_bedrockagentcorecontrol::Client::new(&sdk);
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&sdk);
    let iam = aws_sdk_iam::Client::new(&sdk);
    let s3 = aws_sdk_s3::Client::new(&sdk);
    block_on(async {
        // The gateway: MCP, semantic search, the protocol versions, JWT of the gateway's pool
        // and client, the gateway role.
        let gid = recorded_id(&st, "agentcore.gateway:shop");
        let gw = ac.get_gateway().gateway_identifier(&gid).send().await.unwrap();
        assert_eq!(gw.name(), "shop");
        assert_eq!(gw.status().as_str(), "READY");
        assert_eq!(gw.authorizer_type().as_str(), "CUSTOM_JWT");
        assert!(gw.role_arn().unwrap().ends_with(":role/shop-role"));
        let Some(aws_sdk_bedrockagentcorecontrol::types::GatewayProtocolConfiguration::Mcp(mcp)) =
            gw.protocol_configuration()
        else {
            panic!("no MCP configuration")
        };
        assert_eq!(mcp.search_type().map(|s| s.as_str()), Some("SEMANTIC"));
        assert!(mcp.supported_versions().contains(&"2025-03-26".to_string()));
        // Sessions and response streaming, which progress, logs, elicitation and sampling need.
        let session = mcp.session_configuration().and_then(|s| s.session_timeout_in_seconds());
        assert_eq!(session, Some(3600));
        let streaming = mcp.streaming_configuration().and_then(|s| s.enable_response_streaming());
        assert_eq!(streaming, Some(true));
        let Some(aws_sdk_bedrockagentcorecontrol::types::AuthorizerConfiguration::CustomJwtAuthorizer(jwt)) =
            gw.authorizer_configuration()
        else {
            panic!("no JWT authorizer")
        };
        let gw_pool = recorded_id(&st, "cognito.pool:gateway.shop-pool");
        assert_eq!(jwt.discovery_url(), format!("{}/{gw_pool}/.well-known/openid-configuration", moto.url()));
        assert_eq!(jwt.allowed_clients(), [creds["client_id"].as_str().unwrap().to_string()]);
        assert_eq!(creds["discovery_url"], jwt.discovery_url());
        let tags = ac.list_tags_for_resource().resource_arn(gw.gateway_arn()).send().await.unwrap();
        assert_eq!(tags.tags().unwrap().get("mcpkit:project").map(String::as_str), Some("shop"));

        for (server, entry) in [("shop", "server.py"), ("greeter", "server.py")] {
            // The runtime: code from the bucket, Python, its entry point, its own role, JWT of
            // its own pool and client.
            let rid = recorded_id(&st, &format!("agentcore.runtime:{server}"));
            let rt = ac.get_agent_runtime().agent_runtime_id(&rid).send().await.unwrap();
            assert_eq!(rt.agent_runtime_name(), server);
            assert!(rt.role_arn().ends_with(&format!(":role/shop-{server}-role")), "{}", rt.role_arn());
            let Some(aws_sdk_bedrockagentcorecontrol::types::AgentRuntimeArtifact::CodeConfiguration(code)) =
                rt.agent_runtime_artifact()
            else {
                panic!("not a code deployment")
            };
            assert_eq!(code.runtime().as_str(), "PYTHON_3_13");
            assert_eq!(code.entry_point(), [entry.to_string()]);
            let Some(aws_sdk_bedrockagentcorecontrol::types::Code::S3(loc)) = code.code() else { panic!() };
            assert_eq!(loc.bucket(), "mcpkit-shop-123456789012-us-east-1");
            assert!(loc.prefix().starts_with(&format!("{server}/")) && loc.prefix().ends_with(".zip"));
            let obj = s3.head_object().bucket(loc.bucket()).key(loc.prefix()).send().await.unwrap();
            assert!(obj.content_length().unwrap() > 1000, "the zip holds the dependencies");
            assert_eq!(rt.protocol_configuration().unwrap().server_protocol().as_str(), "MCP");
            let Some(aws_sdk_bedrockagentcorecontrol::types::AuthorizerConfiguration::CustomJwtAuthorizer(
                jwt,
            )) = rt.authorizer_configuration()
            else {
                panic!("no JWT authorizer on the runtime")
            };
            let pool = recorded_id(&st, &format!("cognito.pool:{server}-pool"));
            let client = recorded_id(&st, &format!("cognito.client:{server}-client"));
            assert!(jwt.discovery_url().contains(&pool));
            assert_eq!(jwt.allowed_clients(), std::slice::from_ref(&client));

            // Its client: client_credentials only, the server's scope, a secret.
            let c = cognito
                .describe_user_pool_client()
                .user_pool_id(&pool)
                .client_id(&client)
                .send()
                .await
                .unwrap();
            let c = c.user_pool_client().unwrap();
            assert_eq!(
                c.allowed_o_auth_flows().iter().map(|f| f.as_str()).collect::<Vec<_>>(),
                ["client_credentials"]
            );
            assert_eq!(c.allowed_o_auth_scopes(), [format!("{server}-id/invoke")]);
            let secret = c.client_secret().unwrap().to_string();
            no_secrets(&run, &[&secret]);

            // The credential provider holds that client and its secret.
            let inv = moto.inventory();
            let provider = inv["agentcore"]["credential_providers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == format!("{server}-identity"))
                .unwrap()
                .clone();
            let sha = support::sha256_hex(secret.as_bytes());
            assert_eq!(provider["client_secret_sha256"], sha, "{provider}");

            // The target: the runtime's invocation URL, OAuth with the server's scope.
            let tid = recorded_id(&st, &format!("agentcore.target:{server}-target"));
            let t = ac.get_gateway_target().gateway_identifier(&gid).target_id(&tid).send().await.unwrap();
            assert_eq!(t.name(), format!("{server}-target"));
            let Some(aws_sdk_bedrockagentcorecontrol::types::TargetConfiguration::Mcp(
                aws_sdk_bedrockagentcorecontrol::types::McpTargetConfiguration::McpServer(m),
            )) = t.target_configuration()
            else {
                panic!("not an MCP server target")
            };
            let priority = if server == "greeter" { Some(10) } else { None };
            assert_eq!(m.resource_priority(), priority, "{server}");
            let encoded = rt.agent_runtime_arn().replace(':', "%3A").replace('/', "%2F");
            assert_eq!(
                m.endpoint(),
                format!(
                    "https://bedrock-agentcore.us-east-1.amazonaws.com/runtimes/{encoded}/invocations?qualifier=DEFAULT"
                )
            );
            let cp = &t.credential_provider_configurations()[0];
            assert_eq!(cp.credential_provider_type().as_str(), "OAUTH");
            let Some(aws_sdk_bedrockagentcorecontrol::types::CredentialProvider::OauthCredentialProvider(o)) =
                cp.credential_provider()
            else {
                panic!("no OAuth provider")
            };
            assert_eq!(o.scopes(), [format!("{server}-id/invoke")]);
            assert!(o.provider_arn().ends_with(&format!("oauth2credentialprovider/{server}-identity")));

            // The runtime role: trusted by AgentCore for this account only; its policy names
            // this runtime's log group.
            let role = iam.get_role().role_name(format!("shop-{server}-role")).send().await.unwrap();
            let trust = percent_decode(role.role().unwrap().assume_role_policy_document().unwrap());
            assert!(
                trust.contains("bedrock-agentcore.amazonaws.com") && trust.contains("aws:SourceAccount"),
                "{trust}"
            );
            let policy = iam
                .get_role_policy()
                .role_name(format!("shop-{server}-role"))
                .policy_name("mcpkit")
                .send()
                .await
                .unwrap();
            let policy = percent_decode(policy.policy_document());
            assert!(policy.contains(&format!("/aws/bedrock-agentcore/runtimes/{server}-*")), "{policy}");
        }
        // The gateway role may fetch exactly the two providers' tokens.
        let policy = iam.get_role_policy().role_name("shop-role").policy_name("mcpkit").send().await.unwrap();
        let policy = percent_decode(policy.policy_document());
        assert!(policy.contains("oauth2credentialprovider/shop-identity"));
        assert!(policy.contains("oauth2credentialprovider/greeter-identity"));
        assert!(!policy.contains("\"Resource\":\"*\""), "{policy}");
    });

    // The access token is a real JWT for the gateway's client.
    let token = creds["access_token"].as_str().unwrap();
    let claims = support::jwt_claims(token);
    assert_eq!(claims["client_id"], creds["client_id"]);
    assert_eq!(claims["scope"], "shop-id/invoke");
    no_secrets(&run, &[creds["client_secret"].as_str().unwrap(), token]);

    // `token` prints a fresh token and nothing else.
    let t = mcpkit(&sb, &moto, &["token", "--target", "aws"]);
    t.ok();
    assert_eq!(support::jwt_claims(t.stdout.trim())["client_id"], creds["client_id"]);
    assert!(t.stderr.is_empty(), "{}", t.stderr);

    let status = mcpkit(&sb, &moto, &["status", "--target", "aws", "--json"]);
    status.ok();
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["resources"].as_array().unwrap().len(), 25);
    assert!(status["resources"].as_array().unwrap().iter().all(|r| r["status"] == "ready"));
}

fn percent_decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn an_unchanged_redeploy_makes_no_mutating_call_and_a_code_change_touches_only_its_server() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    workspace(&sb, true);
    mcpkit(&sb, &moto, &["deploy", "--target", "aws"]).ok();

    moto.clear_calls();
    let again = mcpkit(&sb, &moto, &["deploy", "--target", "aws"]);
    again.ok();
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);
    assert_eq!(moto.mutating_calls(), Vec::<String>::new());

    let plan = mcpkit(&sb, &moto, &["deploy", "--target", "aws", "--dry-run"]);
    assert!(plan.stdout.contains("0 to create, 0 to update, 0 to delete, 25 unchanged"), "{}", plan.stdout);

    // A change to one server's code: its artifact, its runtime and its target only.
    change_code(&sb, "greeter");
    let plan = mcpkit(&sb, &moto, &["deploy", "--target", "aws", "--dry-run"]);
    assert!(plan.stdout.contains("0 to create, 3 to update, 0 to delete, 22 unchanged"), "{}", plan.stdout);
    moto.clear_calls();
    let run = mcpkit(&sb, &moto, &["deploy", "--target", "aws", "--json"]);
    run.ok();
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let mut applied: Vec<String> = report["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} {}", s["action"].as_str().unwrap(), s["resource"].as_str().unwrap()))
        .collect();
    applied.sort();
    assert_eq!(
        applied,
        [
            "update agentcore.runtime greeter",
            "update agentcore.target greeter-target",
            "update s3.code greeter"
        ]
    );
    let calls = moto.calls();
    let mutating: Vec<&Value> = calls.iter().filter(|c| c["mutating"] == true).collect();
    let ops: Vec<&str> = mutating.iter().map(|c| c["op"].as_str().unwrap()).collect();
    assert_eq!(ops.len(), 3, "{ops:?}");
    assert!(ops.iter().any(|o| o.contains("PUT /mcpkit-shop")), "the new code is uploaded: {ops:?}");
    assert!(ops.contains(&"UpdateAgentRuntime"), "{ops:?}");
    assert!(
        ops.contains(&"SynchronizeGatewayTargets") || ops.contains(&"UpdateGatewayTarget"),
        "the gateway re-reads the tools: {ops:?}"
    );
    let st = state(&sb);
    let greeter = recorded_id(&st, "agentcore.runtime:greeter");
    for c in &mutating {
        let path = c["path"].as_str().unwrap();
        assert!(
            !path.contains(&recorded_id(&st, "agentcore.runtime:shop")),
            "the other server was touched: {c}"
        );
        if c["op"] == "UpdateAgentRuntime" {
            assert!(path.contains(&greeter), "{c}");
        }
    }
    assert_topology(&moto, 2);
}

/// Kills `mcpkit deploy` right after the k-th mutating AWS call took effect (its answer never
/// arrives), for every k; each time a second deploy must converge to exactly the topology, or
/// a destroy straight after the crash must leave nothing.
#[test]
fn a_deploy_killed_after_any_mutating_call_resumes_and_destroy_leaves_nothing() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    workspace(&sb, false);
    moto.clear_calls();
    mcpkit(&sb, &moto, &["deploy", "--target", "aws"]).ok();
    let total = moto.mutating_calls().len();
    assert!(total >= 15, "{:?}", moto.mutating_calls());
    mcpkit(&sb, &moto, &["destroy", "--target", "aws", "-y"]).ok();

    for k in 1..=total {
        moto.reset();
        kill_after_mutating(&sb, &moto, k, &["deploy", "--target", "aws"]);

        // Odd k: destroy straight away (it must find what the killed run made); even k:
        // deploy again first, which must converge to exactly the topology.
        if k % 2 == 0 {
            let again = mcpkit(&sb, &moto, &["deploy", "--target", "aws"]);
            assert_eq!(again.code, 0, "k={k}: the re-deploy failed:\n{}", again.stderr);
            assert_topology(&moto, 1);
        }
        let destroy = mcpkit(&sb, &moto, &["destroy", "--target", "aws", "-y"]);
        assert_eq!(destroy.code, 0, "k={k}: destroy failed:\n{}", destroy.stderr);
        assert_eq!(counts(&moto)["total"], 0, "k={k}: left behind: {}", moto.inventory());
    }
}

#[test]
fn throttling_5xx_and_iam_propagation_are_survived_and_destroy_is_idempotent() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    workspace(&sb, true);
    moto.faults(json!({ "throttle_rate": 0.10, "error_rate": 0.05, "seed": 7, "role_propagation_s": 6 }));
    let run = mcpkit(&sb, &moto, &["deploy", "--target", "aws"]);
    run.ok();
    let faults = moto.fault_state();
    assert!(faults["injected"].as_u64().unwrap() >= 5, "faults were injected: {faults}");
    let kinds: Vec<String> =
        moto.calls().iter().filter_map(|c| c["fault"].as_str().map(String::from)).collect();
    assert!(kinds.iter().any(|k| k == "role_propagation"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "throttle") && kinds.iter().any(|k| k == "error"), "{kinds:?}");
    assert_topology(&moto, 2);

    mcpkit(&sb, &moto, &["destroy", "--target", "aws", "-y"]).ok();
    assert_eq!(counts(&moto)["total"], 0, "{}", moto.inventory());
    moto.faults(json!({ "throttle_rate": 0.0, "error_rate": 0.0, "role_propagation_s": 0 }));
    let again = mcpkit(&sb, &moto, &["destroy", "--target", "aws", "-y"]);
    again.ok();
    assert!(again.stdout.contains("Nothing to destroy"), "{}", again.stdout);
    assert!(!sb.path().join("shop/.mcpkit/credentials/aws-shop.json").exists());
}

#[test]
fn what_was_deleted_outside_is_recreated_and_a_stranger_of_the_same_name_is_a_conflict() {
    let (moto, sb) = deployed(false);
    let st = state(&sb);
    let sdk = moto.sdk();
    let ac = aws_sdk_bedrockagentcorecontrol::Client::new(&sdk);
    let gid = recorded_id(&st, "agentcore.gateway:shop");
    let tid = recorded_id(&st, "agentcore.target:shop-target");
    block_on(async {
        ac.delete_gateway_target().gateway_identifier(&gid).target_id(&tid).send().await.unwrap();
    });
    let plan = mcpkit(&sb, &moto, &["deploy", "--target", "aws", "--dry-run"]);
    assert!(
        plan.stdout.contains("agentcore.target shop-target") && plan.stdout.contains("recorded, but gone")
    );
    mcpkit(&sb, &moto, &["deploy", "--target", "aws"]).ok();
    assert_topology(&moto, 1);

    // A second workspace of another project wants a runtime called `shop`: not its own.
    let other = Sandbox::new();
    other.run(".", &["new", "shop", "-t", "calculator"]).ok();
    support::replace_once(&other.path().join("shop/mcpkit.toml"), "name = \"shop\"", "name = \"elsewhere\"");
    let run = mcpkit(&other, &moto, &["deploy", "--target", "aws"]);
    run.input_error();
    run.stderr_has("already exists in this AWS account").stderr_has("project `elsewhere`");
}

#[test]
fn a_container_build_without_an_engine_fails_before_anything_is_made() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    workspace(&sb, false);
    support::replace_once(
        &sb.path().join("shop/mcpkit.toml"),
        "entrypoint = \"servers/shop/server.py\"",
        "entrypoint = \"servers/shop/server.py\"\nbuild = \"container\"",
    );
    // A PATH whose docker (if any) has no engine: only the test tools.
    let run = mcpkit(&sb, &moto, &["deploy", "--target", "aws"]);
    if support::container_engine_running() {
        eprintln!("a container engine runs here; skipping the no-engine check");
        return;
    }
    run.input_error().stderr_has("docker, podman or finch");
    assert!(moto.mutating_calls().is_empty(), "{:?}", moto.mutating_calls());
}

#[test]
fn bad_aws_input_is_refused_with_exit_2() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    workspace(&sb, false);
    // An auth provider that cannot run on AWS.
    support::replace_once(&sb.path().join("shop/mcpkit.toml"), "# auth = \"local\"", "auth = \"local\"");
    mcpkit(&sb, &moto, &["deploy", "--target", "aws"]).input_error().stderr_has("mcpkit.toml");
    assert!(moto.mutating_calls().is_empty());
    // Nothing deployed: token and status say so.
    let sb2 = Sandbox::new();
    workspace(&sb2, false);
    mcpkit(&sb2, &moto, &["token", "--target", "aws"]).input_error().stderr_has("nothing is deployed");
    // Destroying needs a yes, and there is no terminal to ask.
    mcpkit(&sb2, &moto, &["destroy", "--target", "aws"]).input_error().stderr_has("-y");
}

#[test]
fn the_original_toolkits_test_user_comes_from_dotenv_behind_a_flag() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    workspace(&sb, false);
    std::fs::write(
        sb.path().join("shop/.env"),
        "COGNITO_USERNAME=alice\nCOGNITO_TEMP_PASSWORD=Temporary-Pass1!\nCOGNITO_PASSWORD=Permanent-Pass1!\n",
    )
    .unwrap();
    let run = mcpkit(&sb, &moto, &["deploy", "--target", "aws", "--test-user"]);
    run.ok();
    assert!(run.stdout.contains("Test user: alice"), "{}", run.stdout);
    no_secrets(&run, &["Temporary-Pass1!", "Permanent-Pass1!"]);
    let pool = recorded_id(&state(&sb), "cognito.pool:gateway.shop-pool");
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&moto.sdk());
    let user = block_on(cognito.admin_get_user().user_pool_id(&pool).username("alice").send()).unwrap();
    assert_eq!(user.user_status().map(|s| s.as_str()), Some("CONFIRMED"), "the permanent password is set");
    // Without the flag, no user is made.
    let sb2 = Sandbox::new();
    workspace(&sb2, false);
    let moto2 = Moto::start();
    mcpkit(&sb2, &moto2, &["deploy", "--target", "aws"]).ok();
    let pool = recorded_id(&state(&sb2), "cognito.pool:gateway.shop-pool");
    let users = block_on(
        aws_sdk_cognitoidentityprovider::Client::new(&moto2.sdk()).list_users().user_pool_id(&pool).send(),
    )
    .unwrap();
    assert!(users.users().is_empty());
}

#[test]
fn iam_legs_deploy_without_pools_and_the_gateway_role_may_invoke_exactly_its_runtimes() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    workspace(&sb, true);
    let toml = sb.path().join("shop/mcpkit.toml");
    support::replace_once(&toml, "# auth = \"local\"", "auth = \"iam\"");
    support::replace_once(
        &toml,
        "entrypoint = \"servers/shop/server.py\"",
        "entrypoint = \"servers/shop/server.py\"\nauth = \"iam\"",
    );
    let run = mcpkit(&sb, &moto, &["deploy", "--target", "aws"]);
    run.ok();
    assert!(run.stdout.contains("AWS IAM"), "{}", run.stdout);
    let st = state(&sb);
    let inv = moto.inventory();
    let pools: Vec<&str> = inv["cognito"]["user_pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(pools, ["greeter-pool"], "only the OAuth server has a pool");
    let sdk = moto.sdk();
    let ac = aws_sdk_bedrockagentcorecontrol::Client::new(&sdk);
    let iam = aws_sdk_iam::Client::new(&sdk);
    block_on(async {
        let gid = recorded_id(&st, "agentcore.gateway:shop");
        let gw = ac.get_gateway().gateway_identifier(&gid).send().await.unwrap();
        assert_eq!(gw.authorizer_type().as_str(), "AWS_IAM");
        assert!(gw.authorizer_configuration().is_none());
        let rt = ac
            .get_agent_runtime()
            .agent_runtime_id(recorded_id(&st, "agentcore.runtime:shop"))
            .send()
            .await
            .unwrap();
        assert!(rt.authorizer_configuration().is_none(), "an IAM runtime has no JWT authorizer");
        let t = ac
            .get_gateway_target()
            .gateway_identifier(&gid)
            .target_id(recorded_id(&st, "agentcore.target:shop-target"))
            .send()
            .await
            .unwrap();
        let cp = &t.credential_provider_configurations()[0];
        assert_eq!(cp.credential_provider_type().as_str(), "GATEWAY_IAM_ROLE");
        let policy = iam.get_role_policy().role_name("shop-role").policy_name("mcpkit").send().await.unwrap();
        let policy = percent_decode(policy.policy_document());
        assert!(policy.contains("bedrock-agentcore:InvokeAgentRuntime"), "{policy}");
        assert!(policy.contains(":runtime/shop-*"), "{policy}");
        assert!(!policy.contains(":runtime/greeter"), "greeter is reached with OAuth: {policy}");
    });
    let creds = std::fs::read_to_string(sb.path().join("shop/.mcpkit/credentials/aws-shop.json")).unwrap();
    assert!(creds.contains("AWS_IAM") && !creds.contains("client_secret"), "{creds}");
    mcpkit(&sb, &moto, &["token", "--target", "aws"]).input_error().stderr_has("AWS IAM");
    mcpkit(&sb, &moto, &["destroy", "--target", "aws", "-y"]).ok();
    assert_eq!(counts(&moto)["total"], 0, "{}", moto.inventory());
}

// ---------------------------------------------------------------------------------------
// Fidelity: the emulator fails where AWS fails (tests/aws_emulator/README.md, "Rules"), and
// mcpkit's topology passes every rule.
// ---------------------------------------------------------------------------------------

use aws_sdk_bedrockagentcorecontrol::Client as AgentCore;

/// A target's status once AgentCore is done with it, and its reasons.
async fn settled(ac: &AgentCore, gid: &str, tid: &str) -> (String, String) {
    for _ in 0..100 {
        let t = ac.get_gateway_target().gateway_identifier(gid).target_id(tid).send().await.unwrap();
        let s = t.status().as_str().to_string();
        if !["CREATING", "UPDATING", "SYNCHRONIZING"].contains(&s.as_str()) {
            return (s, t.status_reasons().join("; "));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("target {tid} never settled");
}

async fn sync(ac: &AgentCore, gid: &str, tid: &str) -> (String, String) {
    ac.synchronize_gateway_targets().gateway_identifier(gid).target_id_list(tid).send().await.unwrap();
    settled(ac, gid, tid).await
}

/// Synchronises a target that must end FAILED, as AgentCore fails it; returns AWS's reason.
async fn sync_failed(ac: &AgentCore, gid: &str, tid: &str) -> String {
    let (status, why) = sync(ac, gid, tid).await;
    assert_eq!(status, "FAILED", "{why}");
    why
}

async fn role_policy(iam: &aws_sdk_iam::Client, role: &str) -> Value {
    let p = iam.get_role_policy().role_name(role).policy_name("mcpkit").send().await.unwrap();
    serde_json::from_str(&percent_decode(p.policy_document())).unwrap()
}

async fn put_role_policy(iam: &aws_sdk_iam::Client, role: &str, doc: &Value) {
    iam.put_role_policy()
        .role_name(role)
        .policy_name("mcpkit")
        .policy_document(doc.to_string())
        .send()
        .await
        .unwrap();
}

/// `doc` with `edit` applied to the resources of the statement `sid`.
fn edit_statement(doc: &Value, sid: &str, edit: impl Fn(&mut Vec<Value>)) -> Value {
    let mut doc = doc.clone();
    for s in doc["Statement"].as_array_mut().unwrap() {
        if s["Sid"] == sid {
            edit(s["Resource"].as_array_mut().unwrap());
        }
    }
    doc
}

/// A gateway (Cognito) in front of `shop` (AWS IAM outbound) and `greeter` (OAuth outbound).
fn mixed_workspace(sb: &Sandbox) {
    workspace(sb, true);
    support::replace_once(
        &sb.path().join("shop/mcpkit.toml"),
        "entrypoint = \"servers/shop/server.py\"",
        "entrypoint = \"servers/shop/server.py\"\nauth = \"iam\"",
    );
}

/// What AgentCore Gateway does as its role when a target is made or synchronised, in the
/// emulator: mcpkit's policies pass, and each statement an older or hand-written policy
/// lacks makes the target FAILED with AWS's reason.
#[test]
fn the_gateway_role_is_checked_as_agentcore_uses_it_and_mcpkits_policy_passes() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    mixed_workspace(&sb);
    mcpkit(&sb, &moto, &["deploy", "--target", "aws"]).ok();
    let st = state(&sb);
    let gid = recorded_id(&st, "agentcore.gateway:shop");
    let oauth = recorded_id(&st, "agentcore.target:greeter-target");
    let iam_target = recorded_id(&st, "agentcore.target:shop-target");
    let sdk = moto.sdk();
    let ac = AgentCore::new(&sdk);
    let iam = aws_sdk_iam::Client::new(&sdk);
    block_on(async {
        assert_eq!(settled(&ac, &gid, &oauth).await.0, "READY");
        assert_eq!(settled(&ac, &gid, &iam_target).await.0, "READY");
        let good = role_policy(&iam, "shop-role").await;

        // mcpkit's policy before this fix: GetResourceOauth2Token on the vault and the provider.
        let old = edit_statement(&good, "OAuthTokens", |r| {
            r.retain(|a| !a.as_str().unwrap().contains("workload-identity"))
        });
        put_role_policy(&iam, "shop-role", &old).await;
        let why = sync_failed(&ac, &gid, &oauth).await;
        assert!(
            why.contains("not authorized to perform: bedrock-agentcore:GetResourceOauth2Token")
                && why.contains(":workload-identity-directory/default"),
            "{why}"
        );

        // The gateway's identity named with the gateway's name as typed: IAM is case-sensitive.
        let typed = edit_statement(&good, "OAuthTokens", |r| {
            for a in r.iter_mut() {
                *a = json!(a.as_str().unwrap().replace("workload-identity/shop-", "workload-identity/Shop-"));
            }
        });
        put_role_policy(&iam, "shop-role", &typed).await;
        let why = sync_failed(&ac, &gid, &oauth).await;
        assert!(why.contains("workload-identity/shop-"), "{why}");

        // No secret: the provider's client secret cannot be read.
        let mut no_secret = good.clone();
        no_secret["Statement"].as_array_mut().unwrap().retain(|s| s["Sid"] != "OAuthClientSecrets");
        put_role_policy(&iam, "shop-role", &no_secret).await;
        let why = sync_failed(&ac, &gid, &oauth).await;
        assert!(why.contains("secretsmanager:GetSecretValue"), "{why}");

        // The IAM target: InvokeAgentRuntime on the runtime and on its DEFAULT endpoint (a
        // grant of the runtime's own ARN alone is not enough).
        let runtime_arn =
            st["resources"]["agentcore.runtime:shop"]["outputs"]["arn"].as_str().unwrap().to_string();
        let no_invoke = edit_statement(&good, "InvokeRuntimes", |r| *r = vec![json!(runtime_arn)]);
        put_role_policy(&iam, "shop-role", &no_invoke).await;
        let why = sync_failed(&ac, &gid, &iam_target).await;
        assert!(why.contains("InvokeAgentRuntime") && why.contains("/runtime-endpoint/DEFAULT"), "{why}");

        // An explicit Deny wins over mcpkit's Allow.
        let mut denied = good.clone();
        denied["Statement"].as_array_mut().unwrap().push(json!({
            "Effect": "Deny", "Action": "bedrock-agentcore:GetResource*", "Resource": "*"
        }));
        put_role_policy(&iam, "shop-role", &denied).await;
        assert_eq!(sync(&ac, &gid, &oauth).await.0, "FAILED");

        // mcpkit's policy again: both targets list their tools.
        put_role_policy(&iam, "shop-role", &good).await;
        assert_eq!(sync(&ac, &gid, &oauth).await, ("READY".to_string(), String::new()));
        assert_eq!(sync(&ac, &gid, &iam_target).await.0, "READY");
    });
}

/// A gateway named with capitals: its workload identity is named after the lowercased name,
/// and mcpkit's policy says so, so the deploy passes the emulator's check.
#[test]
fn a_mixed_case_gateway_name_deploys() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    workspace(&sb, false);
    support::replace_once(
        &sb.path().join("shop/mcpkit.toml"),
        "Tools appear as `<server>-target___<tool>`.\nname = \"shop\"",
        "Tools appear as `<server>-target___<tool>`.\nname = \"Shop\"",
    );
    mcpkit(&sb, &moto, &["deploy", "--target", "aws"]).ok();
    let st = state(&sb);
    let gid = recorded_id(&st, "agentcore.gateway:Shop");
    assert!(gid.starts_with("shop-"), "AgentCore lowercases the name in ids: {gid}");
    let ac = AgentCore::new(&moto.sdk());
    let tid = recorded_id(&st, "agentcore.target:shop-target");
    assert_eq!(block_on(settled(&ac, &gid, &tid)).0, "READY");
}

/// A pool's discovery document has a token endpoint only while the pool has a domain; a
/// credential provider of a pool without one cannot fetch tokens (why mcpkit makes the
/// provider after the domain).
#[test]
fn a_pool_without_a_domain_announces_no_token_endpoint_and_its_target_fails() {
    let (moto, sb) = deployed(false);
    let st = state(&sb);
    let pool = recorded_id(&st, "cognito.pool:shop-pool");
    let domain = recorded_id(&st, "cognito.domain:shop");
    let discovery = format!("/{pool}/.well-known/openid-configuration");
    let doc = |moto: &Moto| -> Value {
        let url = format!("{}{discovery}", moto.url());
        std::thread::spawn(move || {
            block_on(async { ::reqwest::get(url).await.unwrap().json::<Value>().await.unwrap() })
        })
        .join()
        .unwrap()
    };
    assert!(doc(&moto)["token_endpoint"].is_string(), "{}", doc(&moto));
    let sdk = moto.sdk();
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&sdk);
    let ac = AgentCore::new(&sdk);
    block_on(async {
        cognito.delete_user_pool_domain().domain(&domain).user_pool_id(&pool).send().await.unwrap();
    });
    assert!(doc(&moto).get("token_endpoint").is_none(), "{}", doc(&moto));
    let gid = recorded_id(&st, "agentcore.gateway:shop");
    let tid = recorded_id(&st, "agentcore.target:shop-target");
    let (status, why) = block_on(sync(&ac, &gid, &tid));
    assert_eq!(status, "FAILED");
    assert!(why.contains("no token_endpoint"), "{why}");
}

/// After a runtime update its DEFAULT endpoint is UPDATING for a while; a target synchronised
/// meanwhile fails. mcpkit waits for the endpoint before it touches the target.
#[test]
fn a_target_is_synchronised_only_once_its_runtimes_endpoint_is_ready() {
    let (moto, sb) = deployed(false);
    let st = state(&sb);
    let rid = recorded_id(&st, "agentcore.runtime:shop");
    let gid = recorded_id(&st, "agentcore.gateway:shop");
    let tid = recorded_id(&st, "agentcore.target:shop-target");
    moto.faults(json!({ "endpoint_lag_s": 3 }));
    let ac = AgentCore::new(&moto.sdk());
    block_on(async {
        // An update straight through the SDK, then a synchronisation without waiting.
        let rt = ac.get_agent_runtime().agent_runtime_id(&rid).send().await.unwrap();
        ac.update_agent_runtime()
            .agent_runtime_id(&rid)
            .set_agent_runtime_artifact(rt.agent_runtime_artifact().cloned())
            .role_arn(rt.role_arn())
            .set_network_configuration(rt.network_configuration().cloned())
            .set_protocol_configuration(rt.protocol_configuration().cloned())
            .set_authorizer_configuration(rt.authorizer_configuration().cloned())
            .send()
            .await
            .unwrap();
        let why = sync_failed(&ac, &gid, &tid).await;
        assert!(why.contains("DEFAULT endpoint is UPDATING"), "{why}");
    });

    // A code change through mcpkit, with the endpoint lagging: it waits, and the target is
    // READY at the end.
    change_code(&sb, "shop");
    moto.faults(json!({ "endpoint_lag_s": 2 }));
    moto.clear_calls();
    mcpkit(&sb, &moto, &["deploy", "--target", "aws"]).ok();
    let ops: Vec<String> = moto.calls().iter().map(|c| c["op"].as_str().unwrap().to_string()).collect();
    let polled = ops.iter().rposition(|o| o == "GetAgentRuntimeEndpoint").expect("the endpoint was polled");
    let touched = ops
        .iter()
        .position(|o| o == "SynchronizeGatewayTargets" || o == "UpdateGatewayTarget")
        .expect("the target was synchronised");
    assert!(polled < touched, "the target was touched before the endpoint was READY: {ops:?}");
    assert_eq!(block_on(settled(&ac, &gid, &tid)).0, "READY");
}

/// AgentCore assumes a runtime's role only when its trust policy lets the service do so for
/// this account and this runtime.
#[test]
fn agentcore_refuses_a_role_it_may_not_assume() {
    use aws_sdk_bedrockagentcorecontrol::types::{
        AgentRuntimeArtifact, ContainerConfiguration, NetworkConfiguration, NetworkMode,
    };
    let moto = Moto::start();
    let sdk = moto.sdk();
    let iam = aws_sdk_iam::Client::new(&sdk);
    let ac = AgentCore::new(&sdk);
    let trust = |service: &str, account: &str| {
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account},
                          "ArnLike": {"aws:SourceArn": format!("arn:aws:bedrock-agentcore:us-east-1:{account}:*")}}
        }]})
        .to_string()
    };
    block_on(async {
        let mut results = vec![];
        for (role, doc) in [
            ("lambda-trust", trust("lambda.amazonaws.com", "123456789012")),
            ("other-account", trust("bedrock-agentcore.amazonaws.com", "999999999999")),
            ("right", trust("bedrock-agentcore.amazonaws.com", "123456789012")),
        ] {
            let arn = iam
                .create_role()
                .role_name(role)
                .assume_role_policy_document(doc)
                .send()
                .await
                .unwrap()
                .role()
                .unwrap()
                .arn()
                .to_string();
            let res = ac
                .create_agent_runtime()
                .agent_runtime_name(role.replace('-', "_"))
                .agent_runtime_artifact(AgentRuntimeArtifact::ContainerConfiguration(
                    ContainerConfiguration::builder()
                        .container_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1")
                        .build()
                        .unwrap(),
                ))
                .role_arn(arn)
                .network_configuration(
                    NetworkConfiguration::builder().network_mode(NetworkMode::Public).build().unwrap(),
                )
                .send()
                .await;
            results.push(res.map(|_| ()).map_err(|e| {
                aws_sdk_bedrockagentcorecontrol::error::ProvideErrorMetadata::message(&e)
                    .unwrap_or_default()
                    .to_string()
            }));
        }
        for r in &results[..2] {
            assert!(r.as_ref().unwrap_err().contains("Role validation failed"), "{results:?}");
        }
        assert!(results[2].is_ok(), "{results:?}");
    });
}

/// IAM's quota on a role's inline policies: 10,240 characters, white space not counted.
#[test]
fn a_role_policy_over_iams_quota_is_refused() {
    let moto = Moto::start();
    let iam = aws_sdk_iam::Client::new(&moto.sdk());
    let statement = |i: usize| json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::bucket-{i:04}-{}/*", "x".repeat(60))});
    block_on(async {
        iam.create_role().role_name("big").assume_role_policy_document("{}").send().await.unwrap();
        let fits: Vec<Value> = (0..60).map(statement).collect();
        let over: Vec<Value> = (0..120).map(statement).collect();
        let doc = |s: &[Value]| json!({"Version": "2012-10-17", "Statement": s}).to_string();
        assert!(doc(&fits).len() < 10_240 && doc(&over).len() > 10_240);
        iam.put_role_policy()
            .role_name("big")
            .policy_name("a")
            .policy_document(doc(&fits))
            .send()
            .await
            .unwrap();
        let err =
            iam.put_role_policy().role_name("big").policy_name("b").policy_document(doc(&fits)).send().await;
        let err = err.unwrap_err();
        assert_eq!(aws_sdk_iam::error::ProvideErrorMetadata::code(&err), Some("LimitExceeded"));
    });
}

/// IAM is eventually consistent: a server added to a deployed workspace changes the gateway
/// role's policy, and AgentCore may list the new target's tools before the change is in
/// force. The target ends FAILED for an access denial, and mcpkit tries it again.
#[test]
fn a_target_denied_while_its_roles_policy_propagates_is_tried_again() {
    let (moto, sb) = deployed(false);
    sb.run("shop", &["add-server", "greeter", "-t", "helloworld"]).ok();
    moto.faults(json!({ "policy_propagation_s": 5 }));
    moto.clear_calls();
    mcpkit(&sb, &moto, &["deploy", "--target", "aws"]).ok();
    let st = state(&sb);
    let tid = recorded_id(&st, "agentcore.target:greeter-target");
    let retried = moto
        .calls()
        .iter()
        .filter(|c| c["op"] == "UpdateGatewayTarget" && c["path"].as_str().unwrap().contains(&tid))
        .count();
    assert!(retried >= 1, "the failed target was not tried again: {:?}", moto.mutating_calls());
    let ac = AgentCore::new(&moto.sdk());
    let gid = recorded_id(&st, "agentcore.gateway:shop");
    assert_eq!(block_on(settled(&ac, &gid, &tid)).0, "READY");
    assert_topology(&moto, 2);
}

/// `mcpkit aws policy` is what a CI role needs: an identity holding exactly it deploys,
/// reads the status, fetches a token and destroys; one missing a statement is told which
/// action on which resource was denied.
#[test]
fn the_printed_deployer_policy_is_enough_and_a_missing_action_is_named() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    workspace(&sb, true);
    let printed = mcpkit(&sb, &moto, &["aws", "policy", "--json"]);
    printed.ok();
    let report: Value = serde_json::from_str(&printed.stdout).unwrap();
    let policy = report["deployer"].clone();
    assert_eq!(report["account"], "123456789012");
    assert!(report["roles"]["shop-role"]["policy"].is_object());
    let without = |action: &str| {
        let mut p = policy.clone();
        for s in p["Statement"].as_array_mut().unwrap() {
            s["Action"].as_array_mut().unwrap().retain(|a| a != action);
        }
        p
    };
    moto.faults(json!({ "caller_policy": {
        "deployer": policy,
        "no-gateway": without("bedrock-agentcore:CreateGateway"),
        "no-pass-role": without("iam:PassRole"),
        "no-code-read": without("s3:GetObject"),
    }}));

    for (key, action) in [
        ("no-gateway", "bedrock-agentcore:CreateGateway"),
        ("no-pass-role", "iam:PassRole"),
        ("no-code-read", "s3:GetObject"),
    ] {
        let run = mcpkit_as(&sb, &moto, key, &["deploy", "--target", "aws"]);
        assert_eq!(run.code, 1, "{run:?}");
        run.stderr_has(&format!("not authorized to perform: {action}")).stderr_has("mcpkit aws policy");
        mcpkit_as(&sb, &moto, "deployer", &["destroy", "--target", "aws", "-y"]).ok();
    }

    moto.clear_calls();
    mcpkit_as(&sb, &moto, "deployer", &["deploy", "--target", "aws"]).ok();
    assert_topology(&moto, 2);
    mcpkit_as(&sb, &moto, "deployer", &["status", "--target", "aws"]).ok();
    mcpkit_as(&sb, &moto, "deployer", &["token", "--target", "aws"]).ok();
    mcpkit_as(&sb, &moto, "deployer", &["destroy", "--target", "aws", "-y"]).ok();
    assert_eq!(counts(&moto)["total"], 0, "{}", moto.inventory());
    let refused: Vec<Value> = moto.calls().into_iter().filter(|c| c["fault"] == "refused").collect();
    assert!(refused.is_empty(), "the printed policy lacks: {refused:?}");
}

/// Before AgentCore acts as the gateway's role, mcpkit asks IAM's policy simulator, and a
/// role that would be refused stops the deploy with the action and resource, before the
/// target is touched. Without a simulator, verbose output says so and the deploy goes on.
#[test]
fn the_preflight_names_what_the_gateway_role_may_not_do_before_the_target_is_touched() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    workspace(&sb, false);
    moto.faults(json!({ "simulator": false }));
    let run = mcpkit(&sb, &moto, &["-v", "deploy", "--target", "aws"]);
    run.ok();
    run.stderr_has("policy simulator could not be asked");
    moto.faults(json!({ "simulator": true }));

    let iam = aws_sdk_iam::Client::new(&moto.sdk());
    block_on(async {
        let good = role_policy(&iam, "shop-role").await;
        let old = edit_statement(&good, "OAuthTokens", |r| {
            r.retain(|a| !a.as_str().unwrap().contains("workload-identity"))
        });
        put_role_policy(&iam, "shop-role", &old).await;
    });
    change_code(&sb, "shop");
    moto.clear_calls();
    let run = mcpkit(&sb, &moto, &["deploy", "--target", "aws"]);
    assert_eq!(run.code, 1, "{run:?}");
    run.stderr_has("may not perform bedrock-agentcore:GetResourceOauth2Token")
        .stderr_has(":workload-identity-directory/default");
    let ops: Vec<String> = moto.mutating_calls();
    assert!(!ops.iter().any(|o| o.contains("GatewayTarget")), "the target was touched: {ops:?}");
    assert!(!run.stderr.contains("policy simulator could not be asked"));
}

/// Sixty servers behind one gateway (AWS IAM on both legs, so the test stays small): the
/// gateway role's grants outgrow IAM's inline quota, which the emulator enforces, and spill
/// into a managed policy; AgentCore finds every runtime's grant there when it checks each
/// target; destroy removes the managed policy with the role.
#[test]
fn sixty_servers_fit_iams_quotas_and_destroy_leaves_nothing() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    workspace(&sb, false);
    let root = sb.path().join("shop");
    let toml = root.join("mcpkit.toml");
    support::replace_once(&toml, "# auth = \"local\"", "auth = \"iam\"");
    std::fs::create_dir_all(root.join("many")).unwrap();
    std::fs::write(root.join("many/requirements.txt"), "").unwrap();
    let mut text = std::fs::read_to_string(&toml).unwrap();
    for i in 0..60 {
        let name = format!("inventory-service-{i:02}");
        std::fs::write(root.join(format!("many/{name}.py")), "print('hello')\n").unwrap();
        text.push_str(&format!(
            "\n[servers.{name}]\nentrypoint = \"many/{name}.py\"\nrequirements = \"many/requirements.txt\"\nauth = \"iam\"\n"
        ));
    }
    std::fs::write(&toml, text).unwrap();
    support::replace_once(
        &toml,
        "entrypoint = \"servers/shop/server.py\"",
        "entrypoint = \"servers/shop/server.py\"\nauth = \"iam\"",
    );
    let run = mcpkit(&sb, &moto, &["deploy", "--target", "aws"]);
    run.ok();
    let inv = moto.inventory();
    let role =
        inv["iam"]["roles"].as_array().unwrap().iter().find(|r| r["name"] == "shop-role").unwrap().clone();
    let attached: Vec<&str> =
        role["attached_policies"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert_eq!(attached, ["arn:aws:iam::123456789012:policy/mcpkit/shop-role-1"], "{role}");
    let targets = inv["agentcore"]["gateway_targets"].as_array().unwrap();
    assert_eq!(targets.len(), 61);
    assert!(targets.iter().all(|t| t["status"] == "READY"), "{targets:?}");

    // An unchanged re-deploy touches nothing, the managed policy included.
    moto.clear_calls();
    mcpkit(&sb, &moto, &["deploy", "--target", "aws"]).ok();
    assert_eq!(moto.mutating_calls(), Vec::<String>::new());

    mcpkit(&sb, &moto, &["destroy", "--target", "aws", "-y"]).ok();
    assert_eq!(counts(&moto)["total"], 0, "{}", moto.inventory());
}

/// The last steps of what AgentCore Gateway does for an OAuth target: a client-credentials
/// token with the provider's client and secret, and the runtime's authorizer accepting it.
/// A provider holding a wrong secret, or a runtime that allows another client, fails the
/// target; mcpkit's own configuration passes.
#[test]
fn a_token_the_identity_provider_or_the_runtime_would_refuse_fails_the_target() {
    use aws_sdk_bedrockagentcorecontrol::types::{
        AuthorizerConfiguration, CredentialProviderVendorType, CustomJwtAuthorizerConfiguration,
        CustomOauth2ProviderConfigInput, Oauth2Discovery, Oauth2ProviderConfigInput,
    };
    let (moto, sb) = deployed(false);
    let st = state(&sb);
    let gid = recorded_id(&st, "agentcore.gateway:shop");
    let tid = recorded_id(&st, "agentcore.target:shop-target");
    let rid = recorded_id(&st, "agentcore.runtime:shop");
    let pool = recorded_id(&st, "cognito.pool:shop-pool");
    let client = recorded_id(&st, "cognito.client:shop-client");
    let discovery = format!("{}/{pool}/.well-known/openid-configuration", moto.url());
    let ac = AgentCore::new(&moto.sdk());
    let provider = |secret: &str| {
        Oauth2ProviderConfigInput::CustomOauth2ProviderConfig(
            CustomOauth2ProviderConfigInput::builder()
                .oauth_discovery(Oauth2Discovery::DiscoveryUrl(discovery.clone()))
                .client_id(&client)
                .client_secret(secret)
                .build(),
        )
    };
    block_on(async {
        assert_eq!(settled(&ac, &gid, &tid).await.0, "READY");
        // The provider with a secret that is not the client's.
        ac.update_oauth2_credential_provider()
            .name("shop-identity")
            .credential_provider_vendor(CredentialProviderVendorType::CustomOauth2)
            .oauth2_provider_config_input(provider("not-the-secret"))
            .send()
            .await
            .unwrap();
        let why = sync_failed(&ac, &gid, &tid).await;
        assert!(why.contains("invalid_client"), "{why}");

        // The right secret again, and a runtime that allows another client only.
        let cognito = aws_sdk_cognitoidentityprovider::Client::new(&moto.sdk());
        let c =
            cognito.describe_user_pool_client().user_pool_id(&pool).client_id(&client).send().await.unwrap();
        let secret = c.user_pool_client().unwrap().client_secret().unwrap().to_string();
        ac.update_oauth2_credential_provider()
            .name("shop-identity")
            .credential_provider_vendor(CredentialProviderVendorType::CustomOauth2)
            .oauth2_provider_config_input(provider(&secret))
            .send()
            .await
            .unwrap();
        assert_eq!(sync(&ac, &gid, &tid).await.0, "READY");
        let rt = ac.get_agent_runtime().agent_runtime_id(&rid).send().await.unwrap();
        let other = AuthorizerConfiguration::CustomJwtAuthorizer(
            CustomJwtAuthorizerConfiguration::builder()
                .discovery_url(&discovery)
                .allowed_clients("someone-else")
                .build()
                .unwrap(),
        );
        ac.update_agent_runtime()
            .agent_runtime_id(&rid)
            .set_agent_runtime_artifact(rt.agent_runtime_artifact().cloned())
            .role_arn(rt.role_arn())
            .set_network_configuration(rt.network_configuration().cloned())
            .set_protocol_configuration(rt.protocol_configuration().cloned())
            .authorizer_configuration(other)
            .send()
            .await
            .unwrap();
        let why = sync_failed(&ac, &gid, &tid).await;
        assert!(why.contains("is not allowed"), "{why}");
    });
}

#[test]
fn the_emulator_refuses_numbers_out_of_the_models_range_as_agentcore_does() {
    use aws_sdk_bedrockagentcorecontrol::types::{
        GatewayProtocolConfiguration, McpGatewayConfiguration, McpServerTargetConfiguration,
        McpTargetConfiguration, SessionConfiguration, TargetConfiguration,
    };
    let moto = Moto::start();
    let ac = aws_sdk_bedrockagentcorecontrol::Client::new(&moto.sdk());
    block_on(async {
        let target = TargetConfiguration::Mcp(McpTargetConfiguration::McpServer(
            McpServerTargetConfiguration::builder()
                .endpoint("https://example.com/mcp")
                .resource_priority(1001)
                .build()
                .unwrap(),
        ));
        let e = ac
            .create_gateway_target()
            .gateway_identifier("gw-0000000000")
            .name("x-target")
            .target_configuration(target)
            .send()
            .await
            .unwrap_err();
        let e = e.into_service_error();
        assert_eq!(e.meta().code(), Some("ValidationException"), "{e:?}");
        assert!(
            e.meta().message().unwrap().contains("targetConfiguration.mcp.mcpServer.resourcePriority"),
            "{e:?}"
        );
        let protocol = GatewayProtocolConfiguration::Mcp(
            McpGatewayConfiguration::builder()
                .session_configuration(SessionConfiguration::builder().session_timeout_in_seconds(60).build())
                .build(),
        );
        let e = ac
            .update_gateway()
            .gateway_identifier("gw-0000000000")
            .name("gw")
            .role_arn("arn:aws:iam::123456789012:role/r")
            .protocol_type(aws_sdk_bedrockagentcorecontrol::types::GatewayProtocolType::Mcp)
            .protocol_configuration(protocol)
            .authorizer_type(aws_sdk_bedrockagentcorecontrol::types::AuthorizerType::AwsIam)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(e.meta().message().unwrap().contains("greater than or equal to 900"), "{e:?}");
    });
}

/// `[targets.aws] token_lifetime_s` is the gateway client's access-token validity (Cognito takes
/// 300 to 86400 seconds, sent in seconds on create and on every update); a value outside is
/// refused before anything is made. `mcpkit proxy` for a stack never deployed exits 2.
#[test]
fn token_lifetime_s_sets_the_gateway_clients_token_validity() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    workspace(&sb, false);
    let proxy = mcpkit(&sb, &moto, &["proxy", "--target", "aws"]);
    proxy.input_error().stderr_has("nothing is deployed to AWS");
    assert_eq!(proxy.stdout, "");

    let toml = sb.path().join("shop/mcpkit.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, format!("{text}\n[targets.aws]\ntoken_lifetime_s = 299\n")).unwrap();
    mcpkit(&sb, &moto, &["deploy", "--target", "aws"]).input_error().stderr_has("300 to 86400");
    assert_eq!(moto.mutating_calls(), Vec::<String>::new(), "nothing made");

    for lifetime in [900, 1200] {
        std::fs::write(&toml, format!("{text}\n[targets.aws]\ntoken_lifetime_s = {lifetime}\n")).unwrap();
        mcpkit(&sb, &moto, &["deploy", "--target", "aws"]).ok();
        let token = mcpkit(&sb, &moto, &["token", "--target", "aws"]);
        token.ok();
        let claims = support::jwt_claims(token.stdout.trim());
        assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), lifetime);
        let file = credentials(&sb);
        let recorded = file["expires_at"].as_u64().unwrap() - file["issued_at"].as_u64().unwrap();
        assert!(recorded.abs_diff(lifetime) <= 2, "{file}");
    }
}

/// A gateway whose name holds Cognito's reserved words only once another is taken out
/// (`cogawsnito`): the derived domain prefix holds none, and Cognito takes it.
#[test]
fn a_domain_prefix_never_holds_a_reserved_word() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    workspace(&sb, false);
    let toml = sb.path().join("shop/mcpkit.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, text.replacen("name = \"shop\"\n", "name = \"cogawsnito\"\n", 2)).unwrap();
    let r = mcpkit(&sb, &moto, &["deploy", "--target", "aws"]);
    r.ok();
    let domains: Vec<String> = moto.inventory()["cognito"]["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["domain"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(!domains.is_empty());
    for d in &domains {
        assert!(!["aws", "amazon", "cognito"].iter().any(|w| d.contains(w)), "{d}");
    }
}

/// Declares environments `dev` and `prod` with `mcpkit env add`; prod's greeter gets a
/// variable of its own.
fn environments(sb: &Sandbox, moto: &Moto) {
    mcpkit(sb, moto, &["env", "add", "dev"]).ok();
    mcpkit(sb, moto, &["env", "add", "prod", "--region", "us-east-1"]).ok();
    let manifest = sb.path().join("shop/mcpkit.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        format!("{text}\n[environments.prod.servers.greeter]\nenv = {{ STAGE = \"prod\" }}\n"),
    )
    .unwrap();
}

fn env_state(sb: &Sandbox, env: &str) -> Value {
    let path = sb.path().join(format!("shop/.mcpkit/state/aws-{env}-us-east-1.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn names_of(inv: &Value, service: &str, kind: &str, field: &str) -> Vec<String> {
    let mut v: Vec<String> = inv[service][kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn environments_deploy_side_by_side_and_destroying_one_leaves_the_other_working() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    workspace(&sb, true);
    environments(&sb, &moto);
    mcpkit(&sb, &moto, &["deploy", "--target", "aws", "--env", "dev"]).ok();
    // MCPKIT_ENV chooses the environment as --env does.
    let env: Vec<(String, String)> =
        moto.env().into_iter().chain([("MCPKIT_ENV".into(), "prod".into())]).collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    sb.run_env("shop", &["deploy", "--target", "aws"], &env).ok();

    // Two complete topologies, nothing shared: every count doubles, code buckets included.
    assert_topologies(&moto, 2, 2);
    let inv = moto.inventory();
    assert_eq!(names_of(&inv, "agentcore", "gateways", "name"), ["shop-dev", "shop-prod"]);
    assert_eq!(
        names_of(&inv, "agentcore", "runtimes", "name"),
        ["greeter__dev", "greeter__prod", "shop__dev", "shop__prod"]
    );
    assert_eq!(
        names_of(&inv, "agentcore", "credential_providers", "name"),
        ["greeter-dev-identity", "greeter-prod-identity", "shop-dev-identity", "shop-prod-identity"]
    );
    assert!(
        !sb.path().join("shop/.mcpkit/state/aws-us-east-1.json").exists(),
        "no environment writes the workspace's own state"
    );

    let sdk = moto.sdk();
    let ac = aws_sdk_bedrockagentcorecontrol::Client::new(&sdk);
    let iam = aws_sdk_iam::Client::new(&sdk);
    block_on(async {
        for env in ["dev", "prod"] {
            let st = env_state(&sb, env);
            let gid = recorded_id(&st, &format!("agentcore.gateway:shop-{env}"));
            let gw = ac.get_gateway().gateway_identifier(&gid).send().await.unwrap();
            assert!(gw.role_arn().unwrap().ends_with(&format!(":role/shop-{env}-role")));
            let tags = ac.list_tags_for_resource().resource_arn(gw.gateway_arn()).send().await.unwrap();
            assert_eq!(tags.tags().unwrap().get("mcpkit:environment").map(String::as_str), Some(env));
            // Each gateway's targets are its own environment's runtimes, under the same
            // target names (so tool names are the same in every environment).
            let targets = ac.list_gateway_targets().gateway_identifier(&gid).send().await.unwrap();
            let mut names: Vec<&str> = targets.items().iter().map(|t| t.name()).collect();
            names.sort();
            assert_eq!(names, ["greeter-target", "shop-target"]);
            for server in ["shop", "greeter"] {
                let rid = recorded_id(&st, &format!("agentcore.runtime:{server}__{env}"));
                let rt = ac.get_agent_runtime().agent_runtime_id(&rid).send().await.unwrap();
                assert!(
                    rt.role_arn().ends_with(&format!(":role/shop-{env}-{server}-role")),
                    "{}",
                    rt.role_arn()
                );
                let Some(aws_sdk_bedrockagentcorecontrol::types::AgentRuntimeArtifact::CodeConfiguration(
                    code,
                )) = rt.agent_runtime_artifact()
                else {
                    panic!("not a code deployment")
                };
                let Some(aws_sdk_bedrockagentcorecontrol::types::Code::S3(loc)) = code.code() else {
                    panic!()
                };
                assert_eq!(loc.bucket(), format!("mcpkit-shop-{env}-123456789012-us-east-1"));
                let stage = rt.environment_variables().and_then(|v| v.get("STAGE")).map(String::as_str);
                let want = (env == "prod" && server == "greeter").then_some("prod");
                assert_eq!(stage, want, "{server} in {env}: the environment's own variables only");
                let Some(
                    aws_sdk_bedrockagentcorecontrol::types::AuthorizerConfiguration::CustomJwtAuthorizer(jwt),
                ) = rt.authorizer_configuration()
                else {
                    panic!("no JWT authorizer on the runtime")
                };
                let pool = recorded_id(&st, &format!("cognito.pool:{server}-{env}-pool"));
                assert!(jwt.discovery_url().contains(&pool), "{server} in {env} trusts its own pool");
            }
            let role = iam.get_role().role_name(format!("shop-{env}-role")).send().await.unwrap();
            let tags: Vec<(String, String)> =
                role.role().unwrap().tags().iter().map(|t| (t.key.clone(), t.value.clone())).collect();
            assert!(tags.contains(&("mcpkit:environment".into(), env.into())), "{tags:?}");
        }
    });

    // An unchanged re-deploy of either changes nothing.
    for env in ["dev", "prod"] {
        moto.clear_calls();
        let again = mcpkit(&sb, &moto, &["deploy", "--target", "aws", "--env", env]);
        again.ok();
        assert!(again.stdout.contains("No changes"), "{env}: {}", again.stdout);
        assert_eq!(moto.mutating_calls(), Vec::<String>::new(), "{env}");
    }

    // `env list` says where each is deployed, from the state alone.
    let list = mcpkit(&sb, &moto, &["env", "list", "--json"]);
    list.ok();
    let list: Value = serde_json::from_str(&list.stdout).unwrap();
    let by_name = |n: Value| list.as_array().unwrap().iter().find(|e| e["name"] == n).cloned().unwrap();
    assert_eq!(by_name(Value::Null)["aws"], json!([]));
    for env in ["dev", "prod"] {
        let e = by_name(json!(env));
        assert_eq!(e["aws"][0]["region"], "us-east-1", "{e}");
        assert_eq!(e["aws"][0]["resources"], 25, "{e}");
        assert!(e["aws"][0]["gateway_url"].as_str().unwrap().contains(&format!("shop-{env}-")), "{e}");
    }

    // Destroying dev leaves every prod resource in place and prod's token still works.
    let prod_before = moto.inventory();
    mcpkit(&sb, &moto, &["destroy", "--target", "aws", "--env", "dev", "-y"]).ok();
    assert_topology(&moto, 2);
    let after = moto.inventory();
    for (service, kind, field) in [
        ("agentcore", "gateways", "id"),
        ("agentcore", "runtimes", "id"),
        ("agentcore", "credential_providers", "name"),
        ("iam", "roles", "name"),
    ] {
        let prod: Vec<String> =
            names_of(&prod_before, service, kind, field).into_iter().filter(|n| n.contains("prod")).collect();
        assert_eq!(names_of(&after, service, kind, field), prod, "{service} {kind}");
    }
    assert!(!sb.path().join("shop/.mcpkit/state/aws-dev-us-east-1.json").exists());
    assert!(!sb.path().join("shop/.mcpkit/credentials/aws-shop-dev.json").exists());
    let token = mcpkit(&sb, &moto, &["token", "--target", "aws", "--env", "prod"]);
    token.ok();
    let creds: Value = serde_json::from_slice(
        &std::fs::read(sb.path().join("shop/.mcpkit/credentials/aws-shop-prod.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(support::jwt_claims(token.stdout.trim())["client_id"], creds["client_id"]);
    moto.clear_calls();
    mcpkit(&sb, &moto, &["deploy", "--target", "aws", "--env", "prod"]).ok();
    assert_eq!(moto.mutating_calls(), Vec::<String>::new(), "prod was not touched by dev's destroy");

    // dev is gone; asking for it says so, naming the environment.
    mcpkit(&sb, &moto, &["status", "--target", "aws", "--env", "dev"])
        .input_error()
        .stderr_has("in environment `dev`")
        .stderr_has("--env dev");
    mcpkit(&sb, &moto, &["status", "--target", "aws", "--env", "qa"])
        .input_error()
        .stderr_has("declares dev, prod");
}

#[test]
fn a_workspace_deployed_before_environments_is_untouched_and_an_environment_killed_midway_resumes() {
    let (moto, sb) = deployed(false);
    mcpkit(&sb, &moto, &["env", "add", "dev"]).ok();
    // Declaring an environment changes nothing of the workspace's own deployment.
    moto.clear_calls();
    mcpkit(&sb, &moto, &["deploy", "--target", "aws"]).ok();
    assert_eq!(moto.mutating_calls(), Vec::<String>::new());

    // dev, killed after half of its mutating calls, then deployed again.
    let base_total = counts(&moto)["total"].as_u64().unwrap();
    kill_after_mutating(&sb, &moto, 9, &["deploy", "--target", "aws", "--env", "dev"]);
    mcpkit(&sb, &moto, &["deploy", "--target", "aws", "--env", "dev"]).ok();
    assert_topologies(&moto, 1, 2);
    moto.clear_calls();
    mcpkit(&sb, &moto, &["deploy", "--target", "aws"]).ok();
    mcpkit(&sb, &moto, &["deploy", "--target", "aws", "--env", "dev"]).ok();
    assert_eq!(moto.mutating_calls(), Vec::<String>::new());

    // Destroying dev leaves exactly the workspace's own deployment, which still serves tokens.
    mcpkit(&sb, &moto, &["destroy", "--target", "aws", "--env", "dev", "-y"]).ok();
    assert_eq!(counts(&moto)["total"].as_u64().unwrap(), base_total);
    assert_topology(&moto, 1);
    mcpkit(&sb, &moto, &["token", "--target", "aws"]).ok();
    mcpkit(&sb, &moto, &["destroy", "--target", "aws", "-y"]).ok();
    assert_eq!(counts(&moto)["total"], 0, "{}", moto.inventory());
}

#[test]
fn agentcore_refuses_a_second_runtime_or_gateway_of_a_name() {
    let (moto, sb) = deployed(false);
    let st = state(&sb);
    let ac = aws_sdk_bedrockagentcorecontrol::Client::new(&moto.sdk());
    block_on(async {
        let gw = ac
            .get_gateway()
            .gateway_identifier(recorded_id(&st, "agentcore.gateway:shop"))
            .send()
            .await
            .unwrap();
        let again = ac
            .create_gateway()
            .name("shop")
            .role_arn(gw.role_arn().unwrap())
            .protocol_type(aws_sdk_bedrockagentcorecontrol::types::GatewayProtocolType::Mcp)
            .authorizer_type(aws_sdk_bedrockagentcorecontrol::types::AuthorizerType::AwsIam)
            .send()
            .await;
        let e = again.expect_err("a second gateway `shop`");
        assert!(format!("{:?}", e).contains("ConflictException"), "{e:?}");
        let rt = ac
            .get_agent_runtime()
            .agent_runtime_id(recorded_id(&st, "agentcore.runtime:shop"))
            .send()
            .await
            .unwrap();
        let again = ac
            .create_agent_runtime()
            .agent_runtime_name("shop")
            .role_arn(rt.role_arn())
            .set_agent_runtime_artifact(rt.agent_runtime_artifact().cloned())
            .set_network_configuration(rt.network_configuration().cloned())
            .send()
            .await;
        let e = again.expect_err("a second runtime `shop`");
        assert!(format!("{:?}", e).contains("ConflictException"), "{e:?}");
    });
}

fn status_json(sb: &Sandbox, moto: &Moto) -> (i32, Value) {
    let r = mcpkit(sb, moto, &["status", "--target", "aws", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("{r:?}"));
    (r.code, v)
}

fn sync_of<'a>(status: &'a Value, resource: &str) -> &'a Value {
    status["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == resource)
        .unwrap_or_else(|| panic!("{resource} not in {status}"))
}

#[test]
fn status_names_drift_exits_3_and_deploy_puts_back_what_was_changed_outside() {
    let (moto, sb) = deployed(false);
    let (code, st) = status_json(&sb, &moto);
    assert_eq!(code, 0, "{st}");
    assert_eq!(st["in_sync"], true);
    assert!(st["resources"].as_array().unwrap().iter().all(|r| r["sync"] == "in-sync"), "{st}");

    // In the "console": a variable added to the runtime, another scope on the target.
    let state = state(&sb);
    let rid = recorded_id(&state, "agentcore.runtime:shop");
    let gid = recorded_id(&state, "agentcore.gateway:shop");
    let tid = recorded_id(&state, "agentcore.target:shop-target");
    let ac = aws_sdk_bedrockagentcorecontrol::Client::new(&moto.sdk());
    block_on(async {
        let rt = ac.get_agent_runtime().agent_runtime_id(&rid).send().await.unwrap();
        let mut env = rt.environment_variables().cloned().unwrap_or_default();
        env.insert("INJECTED".into(), "by hand".into());
        ac.update_agent_runtime()
            .agent_runtime_id(&rid)
            .set_agent_runtime_artifact(rt.agent_runtime_artifact().cloned())
            .role_arn(rt.role_arn())
            .set_network_configuration(rt.network_configuration().cloned())
            .set_protocol_configuration(rt.protocol_configuration().cloned())
            .set_authorizer_configuration(rt.authorizer_configuration().cloned())
            .set_environment_variables(Some(env))
            .send()
            .await
            .unwrap();
        let t = ac.get_gateway_target().gateway_identifier(&gid).target_id(&tid).send().await.unwrap();
        use aws_sdk_bedrockagentcorecontrol::types::{CredentialProvider, CredentialProviderConfiguration};
        let creds: Vec<CredentialProviderConfiguration> = t
            .credential_provider_configurations()
            .iter()
            .map(|c| {
                let Some(CredentialProvider::OauthCredentialProvider(o)) = c.credential_provider() else {
                    panic!("an OAuth target")
                };
                let mut o = o.clone();
                o.scopes.push("shop-id/admin".into());
                CredentialProviderConfiguration::builder()
                    .credential_provider_type(c.credential_provider_type().clone())
                    .credential_provider(CredentialProvider::OauthCredentialProvider(o))
                    .build()
                    .unwrap()
            })
            .collect();
        ac.update_gateway_target()
            .gateway_identifier(&gid)
            .target_id(&tid)
            .name(t.name())
            .set_target_configuration(t.target_configuration().cloned())
            .set_credential_provider_configurations(Some(creds))
            .send()
            .await
            .unwrap();
    });
    let (code, st) = status_json(&sb, &moto);
    assert_eq!(code, 3, "{st}");
    assert_eq!(st["in_sync"], false);
    let rt = sync_of(&st, "agentcore.runtime shop");
    assert_eq!(rt["sync"], "changed-outside", "{rt}");
    assert_eq!(rt["fields"], json!(["environmentVariables (INJECTED)"]), "{rt}");
    assert!(!st.to_string().contains("by hand"), "values are never reported");
    let t = sync_of(&st, "agentcore.target shop-target");
    assert_eq!(t["sync"], "changed-outside", "{t}");
    assert_eq!(t["fields"], json!(["credentialProviderConfigurations"]), "{t}");
    assert_eq!(sync_of(&st, "agentcore.gateway shop")["sync"], "in-sync");
    let text = mcpkit(&sb, &moto, &["status", "--target", "aws"]);
    assert_eq!(text.code, 3);
    assert!(
        text.stdout.contains("changed outside mcpkit: environmentVariables (INJECTED)"),
        "{}",
        text.stdout
    );

    // deploy puts back what mcpkit.toml says, touching those two only.
    moto.clear_calls();
    mcpkit(&sb, &moto, &["deploy", "--target", "aws"]).ok();
    let mut ops: Vec<String> = moto.mutating_calls();
    ops.sort();
    assert!(ops.iter().any(|o| o.contains("UpdateAgentRuntime")), "{ops:?}");
    assert!(ops.iter().any(|o| o.contains("UpdateGatewayTarget")), "{ops:?}");
    assert!(ops.iter().all(|o| o.contains("UpdateAgentRuntime") || o.contains("GatewayTarget")), "{ops:?}");
    let (code, st) = status_json(&sb, &moto);
    assert_eq!(code, 0, "{st}");

    // An edit of mcpkit.toml: pending, until deployed.
    let manifest = sb.path().join("shop/mcpkit.toml");
    support::replace_once(&manifest, "[servers.shop]\n", "[servers.shop]\nenv = { MODE = \"fast\" }\n");
    let (code, st) = status_json(&sb, &moto);
    assert_eq!(code, 3);
    let rt = sync_of(&st, "agentcore.runtime shop");
    assert_eq!(rt["sync"], "pending", "{rt}");
    assert_eq!(rt["fields"], json!(["configuration changed"]));
    mcpkit(&sb, &moto, &["deploy", "--target", "aws"]).ok();
    assert_eq!(status_json(&sb, &moto).0, 0);

    // Deleted in the console: missing.
    block_on(async {
        ac.delete_gateway_target().gateway_identifier(&gid).target_id(&tid).send().await.unwrap();
    });
    let (code, st) = status_json(&sb, &moto);
    assert_eq!(code, 3);
    assert_eq!(sync_of(&st, "agentcore.target shop-target")["sync"], "missing");
    assert_eq!(sync_of(&st, "agentcore.target shop-target")["status"], "gone");
}

/// Writes `message` into the runtime's log group the way AgentCore does: the endpoint's group,
/// a `[runtime-logs]` stream of the day (and OpenTelemetry's copy, which mcpkit leaves out).
fn runtime_log(moto: &Moto, runtime_id: &str, at_ms: i64, message: &str) {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&moto.sdk());
    let group = format!("/aws/bedrock-agentcore/runtimes/{runtime_id}-DEFAULT");
    block_on(async {
        let _ = logs.create_log_group().log_group_name(&group).send().await;
        for stream in ["2026/12/02/[runtime-logs]0b6c3f5e-7d1a-4c55-9a3e-1f2e3d4c5b6a", "otel-rt-logs"] {
            let _ = logs.create_log_stream().log_group_name(&group).log_stream_name(stream).send().await;
            let text = if stream == "otel-rt-logs" {
                format!("{{\"otel\": \"{message}\"}}")
            } else {
                message.to_string()
            };
            logs.put_log_events()
                .log_group_name(&group)
                .log_stream_name(stream)
                .log_events(
                    aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                        .timestamp(at_ms)
                        .message(text)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        }
    });
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[test]
fn logs_come_from_each_runtimes_log_group_and_destroy_removes_the_groups() {
    let (moto, sb) = deployed(true);
    let st = state(&sb);
    let shop = recorded_id(&st, "agentcore.runtime:shop");
    let greeter = recorded_id(&st, "agentcore.runtime:greeter");

    // Nothing logged yet: said, not failed.
    let r = mcpkit(&sb, &moto, &["logs", "--target", "aws"]);
    r.ok();
    assert!(r.stderr.contains("shop: the runtime has not logged yet"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);

    let now = now_ms();
    runtime_log(&moto, &shop, now - 300_000, "shop: an old line");
    runtime_log(&moto, &greeter, now - 90_000, "greeter: started");
    runtime_log(&moto, &shop, now - 60_000, "shop: started");

    let one = mcpkit(&sb, &moto, &["logs", "--target", "aws", "shop"]);
    one.ok();
    let lines: Vec<&str> = one.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", one.stdout);
    assert!(lines[0].ends_with("shop: an old line") && lines[1].ends_with("shop: started"), "{lines:?}");
    assert!(!one.stdout.contains("otel"), "OpenTelemetry's copy is left out");

    let all = mcpkit(&sb, &moto, &["logs", "--target", "aws", "--since", "2m"]);
    all.ok();
    let lines: Vec<&str> = all.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", all.stdout);
    assert!(lines[0].contains("greeter |") && lines[0].ends_with("greeter: started"), "by time: {lines:?}");
    assert!(lines[1].contains("shop |") && lines[1].ends_with("shop: started"), "{lines:?}");

    let json = mcpkit(&sb, &moto, &["logs", "--target", "aws", "--json", "shop"]);
    json.ok();
    let first: Value = serde_json::from_str(json.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["server"], "shop");
    assert_eq!(first["message"], "shop: an old line");
    assert_eq!(first["timestamp"], now - 300_000);
    mcpkit(&sb, &moto, &["logs", "--target", "aws", "--since", "yesterday"])
        .input_error()
        .stderr_has("--since");
    mcpkit(&sb, &moto, &["logs", "--target", "aws", "nope"]).input_error().stderr_has("no server `nope`");

    // -f picks up a line written after it started, and stops cleanly on Ctrl-C.
    let mut c = sb.cmd("shop");
    c.args(["logs", "--target", "aws", "-f", "--since", "10s", "shop"]);
    for (k, v) in moto.env() {
        c.env(k, v);
    }
    c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null());
    let mut child = support::ChildGuard(c.spawn().unwrap());
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    runtime_log(&moto, &shop, now_ms(), "shop: a new line");
    let line = rx.recv_timeout(std::time::Duration::from_secs(30)).expect("the followed line");
    assert!(line.ends_with("shop: a new line"), "{line}");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.0.id() as i32), nix::sys::signal::Signal::SIGINT)
        .unwrap();
    let status = child.0.wait().unwrap();
    assert!(status.success(), "Ctrl-C ends -f cleanly: {status}");

    // destroy removes the groups (after their runtimes), and every token-vault secret.
    let inv = moto.inventory();
    assert_eq!(inv["other"]["log_groups"].as_array().unwrap().len(), 2, "{inv}");
    assert_eq!(
        inv["other"]["secrets"].as_array().unwrap().len(),
        2,
        "a secret per credential provider: {inv}"
    );
    mcpkit(&sb, &moto, &["destroy", "--target", "aws", "-y"]).ok();
    assert_eq!(counts(&moto)["total"], 0, "{}", moto.inventory());
    let again = mcpkit(&sb, &moto, &["destroy", "--target", "aws", "-y"]);
    again.ok();
    assert!(again.stdout.contains("Nothing to destroy"), "{}", again.stdout);
}

#[test]
fn destroy_keep_logs_leaves_only_the_log_groups() {
    let (moto, sb) = deployed(false);
    let shop = recorded_id(&state(&sb), "agentcore.runtime:shop");
    runtime_log(&moto, &shop, now_ms(), "shop: started");
    let r = mcpkit(&sb, &moto, &["destroy", "--target", "aws", "-y", "--keep-logs"]);
    r.ok();
    let group = format!("/aws/bedrock-agentcore/runtimes/{shop}-DEFAULT");
    assert!(r.stdout.contains(&format!("Kept log group {group}.")), "{}", r.stdout);
    let inv = moto.inventory();
    assert_eq!(inv["total"], 1, "{inv}");
    assert_eq!(inv["other"]["log_groups"][0]["name"], group);
}

#[test]
fn destroy_keeps_a_bucket_that_holds_someone_elses_objects() {
    let (moto, sb) = deployed(false);
    let s3 = aws_sdk_s3::Client::new(&moto.sdk());
    let bucket = "mcpkit-shop-123456789012-us-east-1";
    block_on(async {
        s3.put_object()
            .bucket(bucket)
            .key("reports/2026-12.csv")
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"a,b\n"))
            .send()
            .await
            .unwrap();
    });
    let r = mcpkit(&sb, &moto, &["destroy", "--target", "aws", "-y"]);
    r.ok();
    assert!(
        r.stdout
            .contains(&format!("Kept S3 bucket {bucket} (it holds 1 object(s) mcpkit did not put there)")),
        "{}",
        r.stdout
    );
    let inv = moto.inventory();
    assert_eq!(inv["total"], 1, "only the bucket is left: {inv}");
    let keys: Vec<String> = block_on(async {
        let l = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
        l.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect()
    });
    assert_eq!(keys, ["reports/2026-12.csv"], "mcpkit's artifacts went, the stranger's object stayed");
}
