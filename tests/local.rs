//! The embedded local target end to end: real processes, real HTTP, real Python MCP servers,
//! real RS256 tokens checked against real JWKS. No mocks.

mod support;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::mcp::{self, Era};
use support::{Run, Sandbox};

const FASTMCP_V1_SERVER: &str = r#"
from mcp.server.fastmcp import FastMCP

mcp = FastMCP("outside")


@mcp.tool()
def shout(name: str) -> str:
    """Shout a name."""
    return f"{name.upper()}!"


if __name__ == "__main__":
    mcp.run(transport="streamable-http")
"#;

use support::stack::Deployed as Stack;

/// calculator + helloworld in the workspace, and a third server registered from a folder
/// outside it.
fn deploy_three() -> (Stack, Run) {
    let sb = Sandbox::new();
    sb.run(".", &["new", "calc", "-t", "calculator"]).ok();
    sb.run("calc", &["add-server", "greeter", "-t", "helloworld"]).ok();
    // The third server lives outside the workspace and is written for mcp 1.x FastMCP,
    // which listens where FASTMCP_HOST/FASTMCP_PORT say and knows only `initialize`.
    let outside = sb.path().join("elsewhere");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("echo_server.py"), FASTMCP_V1_SERVER).unwrap();
    std::fs::write(outside.join("requirements.txt"), "mcp>=1.20,<2\n").unwrap();
    sb.run(
        "calc",
        &[
            "add-server",
            "outside",
            "--entrypoint",
            "../elsewhere/echo_server.py",
            "--requirements",
            "../elsewhere/requirements.txt",
        ],
    )
    .input_error(); // `..` is refused...
    sb.run(
        ".",
        &[
            "add-server",
            "outside",
            "--workspace",
            "calc",
            "--entrypoint",
            "elsewhere/echo_server.py",
            "--requirements",
            "elsewhere/requirements.txt",
        ],
    )
    .ok(); // ...a path from outside is stored absolute.
    // As in many containers: Python may not write bytecode, so only the install can.
    let run = sb.run_env("calc", &["deploy"], &[("PYTHONDONTWRITEBYTECODE", "1")]);
    (Stack::new(sb, "calc"), run)
}

/// Every secret the stack holds: client secrets, the signing key, and a live token.
fn secrets(stack: &Stack) -> Vec<String> {
    let ids = stack.identities();
    let mut v: Vec<String> = ids["realms"]
        .as_object()
        .unwrap()
        .values()
        .map(|r| r["client_secret"].as_str().unwrap().to_string())
        .collect();
    let pem = std::fs::read_to_string(stack.local().join("signing-key.pem")).unwrap();
    v.extend(pem.lines().filter(|l| !l.starts_with("-----")).map(str::to_string));
    let creds: Value =
        serde_json::from_slice(&std::fs::read(stack.ws.join(".mcpkit/credentials/local-calc.json")).unwrap())
            .unwrap();
    v.push(creds["access_token"].as_str().unwrap().to_string());
    v
}

/// A blocking `tools/list` POST with an Authorization header; returns the status.
mod reqwest {
    pub use ::reqwest::*;
    pub fn blocking_post_status(url: &str, authorization: &str) -> u16 {
        let (url, authorization) = (url.to_string(), authorization.to_string());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                ::reqwest::Client::new()
                    .post(&url)
                    .header("Authorization", authorization)
                    .header("Accept", "application/json, text/event-stream")
                    .header("MCP-Protocol-Version", "2025-06-18")
                    .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .join()
        .unwrap()
    }
}

fn port_of(url: &str) -> u16 {
    url.split(':').nth(2).unwrap().split('/').next().unwrap().parse().unwrap()
}

fn assert_no_secret(text: &str, secrets: &[String], where_: &str) {
    for s in secrets.iter().filter(|s| s.len() >= 16) {
        assert!(!text.contains(s.as_str()), "a secret leaked into {where_}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_lists_and_calls_through_the_gateway_in_both_eras() {
    let (stack, deploy) = tokio::task::spawn_blocking(deploy_three).await.unwrap();
    deploy.ok();
    assert!(deploy.stdout.contains("Gateway URL: http://127.0.0.1:"), "{}", deploy.stdout);
    assert!(deploy.stdout.contains("Client Secret: <redacted>"));
    assert!(deploy.stdout.contains("Access Token: <redacted>"));
    let url = stack.gateway_url();
    let token = stack.token();
    for era in [Era::Legacy, Era::Modern] {
        let c = mcp::connect(&url, Some(&token), era).await.unwrap_or_else(|e| panic!("{era:?}: {e}"));
        let mut names: Vec<String> = mcp::tools(&c).await.into_iter().map(|t| t.name.to_string()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "calc-target___add",
                "calc-target___multiply",
                "greeter-target___greet",
                "outside-target___shout",
                "x_amz_bedrock_agentcore_search"
            ],
            "{era:?}"
        );
        let r = mcp::call(&c, "calc-target___add", json!({"a": 20, "b": 22})).await;
        assert_eq!(mcp::result_json(&r), json!({"result": 42.0}), "{era:?}");
        let r = mcp::call(&c, "greeter-target___greet", json!({"name": "Ada"})).await;
        assert_eq!(mcp::result_json(&r), json!({"result": "Hello, Ada!"}));
        let r = mcp::call(&c, "outside-target___shout", json!({"name": "ada"})).await;
        assert_eq!(mcp::result_json(&r), json!({"result": "ADA!"}));
        let r =
            mcp::call(&c, "x_amz_bedrock_agentcore_search", json!({"query": "multiply two numbers"})).await;
        let found = mcp::result_json(&r);
        assert_eq!(found["tools"][0]["name"], "calc-target___multiply", "{found}");
        let _ = c.cancel().await;
    }
    // The CLI's own client agrees.
    let tools = stack.run(&["tools", "--json"]);
    tools.ok();
    assert_eq!(serde_json::from_str::<Value>(&tools.stdout).unwrap().as_array().unwrap().len(), 5);
    let call = stack.run(&["call", "calc-target___multiply", "--args", r#"{"a": 6, "b": 7}"#]);
    call.ok();
    assert!(call.stdout.contains("42"), "{}", call.stdout);
    stack.run(&["call", "calc-target___add", "--args", "[1]"]).input_error().stderr_has("`--args`");
    let status = stack.status();
    assert_eq!(status["running"], true);
    assert!(status["gateway_url"].as_str().unwrap().ends_with("/mcp"));
    for s in status["servers"].as_array().unwrap() {
        assert_eq!(s["state"], "ready", "{s}");
    }
}

fn sign(claims: &Value, key: &EncodingKey, alg: Algorithm, kid: &str) -> String {
    let mut h = Header::new(alg);
    h.kid = Some(kid.to_string());
    jsonwebtoken::encode(&h, claims, key).unwrap()
}

fn b64(v: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_matrix_is_refused_with_401() {
    let (stack, deploy) = tokio::task::spawn_blocking(deploy_three).await.unwrap();
    deploy.ok();
    let url = stack.gateway_url();
    let base = url.trim_end_matches("/mcp").to_string();
    let realm = |kind: &str, name: &str| stack.realm(kind, name);
    let gw = &realm("gateway", "calc");
    let greeter = realm("runtime", "greeter");
    // A gateway and a server with the same name get realms of their own.
    assert_ne!(realm("runtime", "calc")["id"], gw["id"]);
    let pem = std::fs::read(stack.local().join("signing-key.pem")).unwrap();
    let key = EncodingKey::from_rsa_pem(&pem).unwrap();
    let gw_id = gw["id"].as_str().unwrap().to_string();
    let greeter_issuer = format!("{base}/realms/{}", greeter["id"].as_str().unwrap());
    let jwks: Value = reqwest::get(format!("{base}/realms/{gw_id}/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_string();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let issuer = format!("{base}/realms/{gw_id}");
    let claims = |iss: &str, client: &str, exp: u64| {
        json!({"sub": client, "client_id": client, "scope": "calc-id/invoke", "token_use": "access",
               "iss": iss, "iat": now, "exp": exp})
    };
    let client_id = gw["client_id"].as_str().unwrap();
    // The well-formed token works, so the refusals below are about what they change.
    let good = sign(&claims(&issuer, client_id, now + 600), &key, Algorithm::RS256, &kid);
    let other_key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    let other_pem =
        rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&other_key, rsa::pkcs8::LineEnding::LF).unwrap();
    let other = EncodingKey::from_rsa_pem(other_pem.as_bytes()).unwrap();
    let public_pem = {
        use rsa::pkcs8::DecodePrivateKey;
        let k = rsa::RsaPrivateKey::from_pkcs8_pem(std::str::from_utf8(&pem).unwrap()).unwrap();
        rsa::pkcs8::EncodePublicKey::to_public_key_pem(&k.to_public_key(), rsa::pkcs8::LineEnding::LF)
            .unwrap()
    };
    let alg_none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string().as_bytes()),
        b64(claims(&issuer, client_id, now + 600).to_string().as_bytes())
    );
    let cases: Vec<(&str, Option<String>)> = vec![
        ("none", None),
        ("garbage", Some("not-a-jwt".into())),
        ("expired", Some(sign(&claims(&issuer, client_id, now - 3600), &key, Algorithm::RS256, &kid))),
        (
            "wrong signature",
            Some(sign(&claims(&issuer, client_id, now + 600), &other, Algorithm::RS256, &kid)),
        ),
        (
            "wrong issuer",
            Some(sign(&claims(&greeter_issuer, client_id, now + 600), &key, Algorithm::RS256, &kid)),
        ),
        (
            "wrong client",
            Some(sign(&claims(&issuer, "someone-else", now + 600), &key, Algorithm::RS256, &kid)),
        ),
        ("alg=none", Some(alg_none)),
        (
            "HS256 with the public key",
            Some(sign(
                &claims(&issuer, client_id, now + 600),
                &EncodingKey::from_secret(public_pem.as_bytes()),
                Algorithm::HS256,
                &kid,
            )),
        ),
    ];
    let runtime_token = sign(
        &claims(&greeter_issuer, greeter["client_id"].as_str().unwrap(), now + 600),
        &key,
        Algorithm::RS256,
        &kid,
    );
    let http = reqwest::Client::new();
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}});
    let post = |target: String, token: Option<&String>| {
        let mut r = http
            .post(target)
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", "2025-06-18")
            .json(&list);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let ok = post(url.clone(), Some(&good)).await.unwrap();
    assert_eq!(ok.status(), 200, "{}", ok.text().await.unwrap());
    let runtime = format!("{base}/runtimes/greeter/invocations?qualifier=DEFAULT");
    for (what, token) in &cases {
        for target in [&url, &runtime] {
            let r = post(target.clone(), token.as_ref()).await.unwrap();
            assert_eq!(r.status(), 401, "{what} at {target}");
            let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_string();
            assert!(
                challenge.starts_with("Bearer ") && challenge.contains("resource_metadata=\""),
                "{what}: {challenge}"
            );
        }
    }
    // Realms do not mix: the gateway's token is no good at a runtime, and a runtime's token
    // (good at its runtime) is no good at the gateway.
    assert_eq!(post(runtime.clone(), Some(&good)).await.unwrap().status(), 401);
    assert_eq!(post(runtime.clone(), Some(&runtime_token)).await.unwrap().status(), 200);
    assert_eq!(post(url.clone(), Some(&runtime_token)).await.unwrap().status(), 401);
    // A runtime endpoint is a whole MCP endpoint: with its own realm's token, tools answer.
    let rt = mcp::connect(&runtime, Some(&runtime_token), Era::Legacy).await.unwrap();
    let r = mcp::call(&rt, "greet", json!({"name": "Di"})).await;
    assert_eq!(mcp::result_json(&r), json!({"result": "Hello, Di!"}));
    let _ = rt.cancel().await;
    // RFC 9728 metadata points at the gateway realm's issuer.
    let prm: Value = reqwest::get(format!("{base}/.well-known/oauth-protected-resource/mcp"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prm["resource"], url.as_str());
    assert_eq!(prm["authorization_servers"][0], issuer.as_str());
    // A page from another origin may not use the gateway.
    let r = http
        .post(&url)
        .header("Origin", "https://evil.example")
        .bearer_auth(&good)
        .json(&list)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The token endpoint refuses a wrong secret, and takes client_secret_post as well as basic.
    let token_url = format!("{issuer}/oauth2/token");
    let r = http
        .post(&token_url)
        .basic_auth(client_id, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let secret = gw["client_secret"].as_str().unwrap();
    let r = http
        .post(&token_url)
        .form(&[("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 3600);
    let c = mcp::connect(&url, Some(t["access_token"].as_str().unwrap()), Era::Legacy).await.unwrap();
    assert!(!mcp::tools(&c).await.is_empty());
    let _ = c.cancel().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_is_restarted_while_the_others_keep_answering() {
    let (stack, deploy) = tokio::task::spawn_blocking(deploy_three).await.unwrap();
    deploy.ok();
    let url = stack.gateway_url();
    let token = stack.token();
    let c = mcp::connect(&url, Some(&token), Era::Legacy).await.unwrap();
    let victim = stack.pid("calc");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(victim as i32), nix::sys::signal::Signal::SIGKILL)
        .unwrap();
    // While it is down: its tools drop out, its calls fail clearly, the others answer.
    let start = Instant::now();
    let mut saw_down = false;
    let mut saw_error = false;
    while start.elapsed() < Duration::from_secs(20) {
        let names: Vec<String> = mcp::tools(&c).await.into_iter().map(|t| t.name.to_string()).collect();
        let greet = mcp::call(&c, "greeter-target___greet", json!({"name": "Bo"})).await;
        assert_eq!(
            mcp::result_json(&greet),
            json!({"result": "Hello, Bo!"}),
            "the other targets keep answering"
        );
        if !names.iter().any(|n| n.starts_with("calc-target___")) {
            saw_down = true;
            let r = mcp::call(&c, "calc-target___add", json!({"a": 1, "b": 1})).await;
            if r.is_error == Some(true) {
                assert!(format!("{:?}", r.content).contains("not available"), "{r:?}");
                saw_error = true;
            } else {
                // It came back between the listing and the call: then it must answer right.
                assert_eq!(mcp::result_json(&r), json!({"result": 2.0}));
            }
        } else if saw_down && saw_error {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(saw_down, "the killed target's tools should drop out of the listing while it restarts");
    assert!(saw_error, "a call to the target while it is down should fail with a clear message");
    stack.wait_until("calc restarted", Duration::from_secs(30), |st| {
        st["servers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "calc" && s["state"] == "ready" && s["restarts"] == 1)
    });
    assert_ne!(stack.pid("calc"), victim);
    let r = mcp::call(&c, "calc-target___add", json!({"a": 1, "b": 2})).await;
    assert_eq!(mcp::result_json(&r), json!({"result": 3.0}));
    let _ = c.cancel().await;
}

#[test]
fn redeploy_is_a_no_op_and_a_change_restarts_only_its_server() {
    let (stack, deploy) = deploy_three();
    deploy.ok();
    let before = (stack.pid("calc"), stack.pid("greeter"), stack.pid("outside"));
    let again = stack.run(&["deploy", "--json"]);
    again.ok();
    let report: Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(report["changed"], false);
    assert_eq!(report["actions"], json!([]));
    assert_eq!((stack.pid("calc"), stack.pid("greeter"), stack.pid("outside")), before);
    // Change the greeter's code only.
    support::replace_once(&stack.ws.join("servers/greeter/server.py"), "Hello, {name}!", "Hi, {name}!");
    let changed = stack.run(&["deploy", "--json"]);
    changed.ok();
    let report: Value = serde_json::from_str(&changed.stdout).unwrap();
    assert_eq!(report["actions"], json!([{"resource": "server greeter", "action": "restart"}]));
    assert_eq!(stack.pid("calc"), before.0);
    assert_ne!(stack.pid("greeter"), before.1);
    assert_eq!(stack.pid("outside"), before.2);
    let r = stack.run(&["call", "greeter-target___greet", "--args", r#"{"name": "Cy"}"#]);
    r.ok();
    assert!(r.stdout.contains("Hi, Cy!"), "{}", r.stdout);

    // Ready-to-paste client configuration carries the gateway URL and a working token.
    let url = stack.gateway_url();
    let vscode = stack.run(&["connect", "vscode", "--static-token"]);
    vscode.ok();
    let config: Value = serde_json::from_str(&vscode.stdout).unwrap();
    let entry = &config["servers"]["mcpkit-calc"];
    assert_eq!(entry["type"], "http");
    assert_eq!(entry["url"], url.as_str());
    let bearer = entry["headers"]["Authorization"].as_str().unwrap().to_string();
    assert!(vscode.stderr.contains(".vscode/mcp.json"), "{}", vscode.stderr);
    let resp = reqwest::blocking_post_status(&url, &bearer);
    assert_eq!(resp, 200, "the pasted token works");
    let code = stack.run(&["connect", "claude-code", "--static-token"]);
    code.ok();
    assert!(code.stdout.starts_with(&format!(
        "claude mcp add --transport http mcpkit-calc {url} --header 'Authorization: Bearer "
    )));
    let desktop: Value =
        serde_json::from_str(&stack.run(&["connect", "claude-desktop", "--static-token"]).stdout).unwrap();
    assert_eq!(desktop["mcpServers"]["mcpkit-calc"]["args"][2], url.as_str());
    for client in ["cursor", "amazon-q"] {
        let c: Value =
            serde_json::from_str(&stack.run(&["connect", client, "--static-token"]).stdout).unwrap();
        assert_eq!(c["mcpServers"]["mcpkit-calc"]["url"], url.as_str(), "{client}");
    }
    // Logs: one server's, or all with prefixes.
    let logs = stack.run(&["logs", "greeter"]);
    logs.ok();
    assert!(logs.stdout.contains("Uvicorn running"), "{}", logs.stdout);
    let all = stack.run(&["logs"]);
    assert!(
        all.stdout.contains("  supervisor | ") && all.stdout.contains("     greeter | "),
        "{}",
        all.stdout
    );
    stack.run(&["logs", "nope"]).input_error().stderr_has("no server `nope`");
}

#[test]
fn destroy_leaves_no_process_no_port_and_no_state_and_no_old_token_works_again() {
    let (stack, deploy) = deploy_three();
    deploy.ok();
    let status = stack.status();
    let port = port_of(status["gateway_url"].as_str().unwrap());
    let mut pids: Vec<u32> =
        status["servers"].as_array().unwrap().iter().map(|s| s["pid"].as_u64().unwrap() as u32).collect();
    pids.push(status["pid"].as_u64().unwrap() as u32);
    let ports: Vec<u16> =
        status["servers"].as_array().unwrap().iter().map(|s| s["port"].as_u64().unwrap() as u16).collect();
    let creds = stack.ws.join(".mcpkit/credentials/local-calc.json");
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::metadata(stack.local().join("identities.json")).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(stack.local().join("signing-key.pem")).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let old_token = stack.token();
    let key = std::fs::read(stack.local().join("signing-key.pem")).unwrap();
    stack.run(&["destroy", "-y"]).ok();
    for pid in &pids {
        let alive = std::path::Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ");
        assert!(!alive, "process {pid} survived destroy");
    }
    for p in std::iter::once(port).chain(ports) {
        assert!(std::net::TcpStream::connect(("127.0.0.1", p)).is_err(), "port {p} still open");
    }
    // Only the workspace's signing key is left of the local state.
    let left: Vec<_> = std::fs::read_dir(stack.local()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["signing-key.pem"]);
    assert!(!creds.exists());
    assert!(stack.ws.join(".mcpkit/venvs/calc").exists(), "venvs are a cache and survive destroy");
    // Their bytecode was compiled when they were installed (the deploy ran with
    // PYTHONDONTWRITEBYTECODE set, so no import wrote it): a server starts without compiling.
    let lib = stack.ws.join(".mcpkit/venvs/calc/lib");
    let site = std::fs::read_dir(&lib).unwrap().next().unwrap().unwrap().path().join("site-packages");
    let compiled = std::fs::read_dir(site.join("mcp/__pycache__")).map(|d| d.count()).unwrap_or(0);
    assert!(compiled > 0, "no bytecode under {}", site.join("mcp").display());
    stack.run(&["token"]).input_error().stderr_has("not running");
    stack.run(&["destroy", "-y"]).ok(); // idempotent

    // The next deploy reuses the key, and a token of the destroyed deployment, though signed
    // by that same key, is refused: new realms, so a new issuer and a new client.
    stack.run(&["deploy"]).ok();
    assert_eq!(std::fs::read(stack.local().join("signing-key.pem")).unwrap(), key);
    let url = stack.gateway_url();
    assert_eq!(reqwest::blocking_post_status(&url, &format!("Bearer {old_token}")), 401);
    assert_eq!(reqwest::blocking_post_status(&url, &format!("Bearer {}", stack.token())), 200);
}

#[test]
fn no_secret_reaches_stdout_stderr_or_logs() {
    let (stack, deploy) = deploy_three();
    deploy.ok();
    let mut outputs = vec![("deploy", deploy)];
    outputs.push(("deploy -v", stack.run(&["deploy", "-v"])));
    outputs.push(("deploy --json", stack.run(&["deploy", "--json"])));
    outputs.push(("status", stack.run(&["status", "--json"])));
    outputs.push(("tools", stack.run(&["tools"])));
    outputs.push(("call", stack.run(&["call", "calc-target___add", "--args", r#"{"a": 1, "b": 2}"#])));
    outputs.push(("logs", stack.run(&["logs"])));
    let secrets = secrets(&stack);
    assert!(secrets.len() > 4);
    for (what, out) in &outputs {
        out.ok();
        assert_no_secret(&out.stdout, &secrets, &format!("{what} stdout"));
        assert_no_secret(&out.stderr, &secrets, &format!("{what} stderr"));
    }
    // `--json` reports redact too.
    assert!(outputs[2].1.stdout.contains("\"client_secret\": \"<redacted>\""));
    for entry in std::fs::read_dir(stack.local().join("logs")).unwrap() {
        let p = entry.unwrap().path();
        assert_no_secret(
            &std::fs::read_to_string(&p).unwrap_or_default(),
            &secrets,
            &p.display().to_string(),
        );
    }
    // `token` is the one command whose job is to print one.
    let t = stack.run(&["token"]);
    t.ok();
    assert_eq!(t.stdout.trim().split('.').count(), 3);
    assert!(t.stderr.is_empty());
}

#[test]
fn auth_providers_the_local_target_cannot_use_are_refused_at_validate_time() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "p", "-t", "helloworld"]).ok();
    let text =
        support::replace_once(&sb.path().join("p/mcpkit.toml"), "# auth = \"local\"", "auth = \"cognito\"");
    let line = text.lines().position(|l| l == "auth = \"cognito\"").unwrap() + 1;
    sb.run("p", &["deploy"])
        .input_error()
        .stderr_has(&format!("mcpkit.toml:{line}:"))
        .stderr_has("not supported on the local target");
    assert!(!sb.path().join("p/.mcpkit/local/plan.json").exists());
}

#[test]
fn dev_runs_in_the_foreground_reloads_on_change_and_stops_on_ctrl_c() {
    use std::io::{BufRead, BufReader};
    let sb = Sandbox::new();
    sb.run(".", &["new", "calc", "-t", "calculator"]).ok();
    let child = sb
        .cmd("calc")
        .arg("dev")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut dev = support::ChildGuard(child);
    let stdout = dev.0.stdout.take().unwrap();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(l);
        }
    });
    let stack = Stack::new(sb, "calc");
    let ready = |st: &Value| st["running"] == true && st["servers"][0]["state"] == "ready";
    stack.wait_until("dev ready", Duration::from_secs(120), ready);
    let r = stack.run(&["call", "calc-target___add", "--args", r#"{"a": 1, "b": 2}"#]);
    r.ok();
    assert!(r.stdout.contains("3.0"), "{}", r.stdout);
    let first = stack.pid("calc");
    let path = stack.sb.path().join("calc/servers/calc/server.py");
    support::replace_once(&path, "return a + b", "return a + b + 100");
    stack.wait_until("restart after the edit", Duration::from_secs(60), |st| {
        ready(st) && st["servers"][0]["pid"].as_u64() != Some(first as u64)
    });
    let r = stack.run(&["call", "calc-target___add", "--args", r#"{"a": 1, "b": 2}"#]);
    assert!(r.stdout.contains("103.0"), "{}", r.stdout);
    let status = stack.status();
    let port = port_of(status["gateway_url"].as_str().unwrap());
    let server_pid = stack.pid("calc");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(dev.0.id() as i32), nix::sys::signal::Signal::SIGINT)
        .unwrap();
    let start = Instant::now();
    while dev.0.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < Duration::from_secs(15), "dev did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "gateway port still open");
    assert!(!std::path::Path::new(&format!("/proc/{server_pid}")).exists(), "server process survived");
    let out = lines.lock().unwrap().join("\n");
    assert!(out.contains("calc |"), "server output is multiplexed with a prefix:\n{out}");
}

#[test]
fn a_server_that_cannot_start_fails_the_deploy_with_its_log() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "calc", "-t", "calculator"]).ok();
    let stack = Stack::new(sb, "calc");
    let path = stack.ws.join("servers/calc/server.py");
    let code = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("raise SystemExit('missing DATABASE_URL')\n{code}")).unwrap();
    let start = Instant::now();
    let r = stack.run(&["deploy", "--timeout", "60"]);
    assert_eq!(r.code, 1, "a failing server is a failure of the world, not of the input:\n{}", r.stderr);
    assert!(r.stderr.contains("server `calc` keeps failing"), "{}", r.stderr);
    assert!(r.stderr.contains("missing DATABASE_URL"), "the server's own words are shown:\n{}", r.stderr);
    assert!(start.elapsed() < Duration::from_secs(45), "it fails early, not at the timeout");
    // Fixed, the next deploy brings it up.
    std::fs::write(&path, code).unwrap();
    stack.run(&["deploy"]).ok();
    stack.run(&["call", "calc-target___add", "--args", r#"{"a": 1, "b": 1}"#]).ok();
}

#[test]
fn a_supervisor_killed_outright_leaves_no_server_behind_after_destroy() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "calc", "-t", "calculator"]).ok();
    let stack = Stack::new(sb, "calc");
    stack.run(&["deploy"]).ok();
    let st = stack.status();
    let server = &st["servers"][0];
    let (pid, port) = (server["pid"].as_u64().unwrap() as i32, server["port"].as_u64().unwrap() as u16);
    let supervisor = st["pid"].as_u64().unwrap() as i32;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(supervisor), nix::sys::signal::Signal::SIGKILL)
        .unwrap();
    let r = stack.run(&["destroy", "-y"]);
    r.ok();
    let gone = |pid: i32| {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(gone(pid) && gone(supervisor)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(gone(supervisor) && gone(pid), "a process outlived destroy: {}", r.stderr);
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(), "port {port} still taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_answers_only_its_gateway_and_runtime_endpoint() {
    let (stack, deploy) = tokio::task::spawn_blocking(deploy_three).await.unwrap();
    deploy.ok();
    let status = tokio::task::block_in_place(|| stack.status());
    let http = ::reqwest::Client::new();
    for s in status["servers"].as_array().unwrap() {
        assert_eq!(s["exposure"], "guarded", "{s}");
        let port = s["port"].as_u64().unwrap();
        let url = format!("http://127.0.0.1:{port}/mcp");
        let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
        let post = |secret: Option<String>| {
            let mut r = http
                .post(&url)
                .header("Accept", "application/json, text/event-stream")
                .header("MCP-Protocol-Version", "2025-06-18")
                .json(&list);
            if let Some(s) = secret {
                r = r.header("x-mcpkit-server-secret", s);
            }
            r.send()
        };
        // Any other process on the machine, and a wrong secret: refused.
        let r = post(None).await.unwrap();
        assert_eq!(r.status(), 403, "{}", s["name"]);
        assert_eq!(post(Some("0".repeat(32))).await.unwrap().status(), 403);
        // The server's code never sees its secret; the process's owner could read it.
        let pid = s["pid"].as_u64().unwrap() as u32;
        let secret = mcp::initial_env(pid, "MCPKIT_SERVER_SECRET").expect("started with a secret");
        assert_ne!(post(Some(secret)).await.unwrap().status(), 403);
    }
    // The gateway still reaches every server.
    let c = mcp::connect(&stack.gateway_url(), Some(&stack.token()), Era::Legacy).await.unwrap();
    let r = mcp::call(&c, "outside-target___shout", json!({"name": "ada"})).await;
    assert_eq!(mcp::result_json(&r), json!({"result": "ADA!"}));
    let _ = c.cancel().await;
}

#[test]
fn a_server_sees_only_its_declared_variables_and_the_base_set_unless_told_to_inherit() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "calc", "-t", "calculator"]).ok();
    let manifest = sb.path().join("calc/mcpkit.toml");
    support::replace_once(&manifest, "[servers.calc]\n", "[servers.calc]\nenv = { DECLARED = \"yes\" }\n");
    let stack = Stack::new(sb, "calc");
    let leak = [("MCPKIT_TEST_UNRELATED", "from-the-deployer")];
    stack.sb.run_env("calc", &["deploy"], &leak).ok();
    let pid = stack.pid("calc");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let names: Vec<String> = environ
        .split(|b| *b == 0)
        .filter(|kv| !kv.is_empty())
        .map(|kv| String::from_utf8_lossy(kv).split('=').next().unwrap().to_string())
        .collect();
    let get = |k: &str| mcp::initial_env(pid, k);
    assert_eq!(get("DECLARED").as_deref(), Some("yes"));
    assert!(get("MCPKIT_TEST_UNRELATED").is_none(), "the deployer's environment leaked: {names:?}");
    assert!(get("PATH").unwrap().starts_with(&stack.ws.join(".mcpkit/venvs").display().to_string()));
    assert!(get("HOME").is_some() && get("PORT").is_some() && get("VIRTUAL_ENV").is_some());
    let allowed = [
        "PATH",
        "HOME",
        "LANG",
        "LC_ALL",
        "TZ",
        "TMPDIR",
        "VIRTUAL_ENV",
        "PORT",
        "HOST",
        "FASTMCP_PORT",
        "FASTMCP_HOST",
        "MCPKIT_BIND_PORT",
        "MCPKIT_BIND_HOST",
        "MCPKIT_SERVER_SECRET",
        "PYTHONPATH",
        "PYTHONUNBUFFERED",
        "DECLARED",
    ];
    let extra: Vec<&String> = names.iter().filter(|n| !allowed.contains(&n.as_str())).collect();
    assert!(extra.is_empty(), "variables beyond the declared and the base set: {extra:?}");
    // Told to, it inherits everything (and restarts to do so).
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{text}\n[targets.local]\ninherit_env = true\n")).unwrap();
    stack.sb.run_env("calc", &["deploy"], &leak).ok();
    let pid = stack.pid("calc");
    assert_eq!(mcp::initial_env(pid, "MCPKIT_TEST_UNRELATED").as_deref(), Some("from-the-deployer"));
}

#[test]
fn state_is_private_and_a_planted_symlink_or_a_readable_key_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    sb.run(".", &["new", "calc", "-t", "calculator"]).ok();
    let stack = Stack::new(sb, "calc");
    // A link planted where the supervisor's log goes: mcpkit does not write through it.
    let logs = stack.local().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let victim = stack.sb.path().join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    std::os::unix::fs::symlink(&victim, logs.join("supervisor.log")).unwrap();
    let r = stack.run(&["deploy"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("supervisor.log"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    std::fs::remove_file(logs.join("supervisor.log")).unwrap();

    stack.run(&["deploy"]).ok();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for f in [
        "plan.json",
        "status.json",
        "identities.json",
        "signing-key.pem",
        "logs/supervisor.log",
        "logs/calc.log",
    ] {
        assert_eq!(mode(&stack.local().join(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&stack.local()), 0o700);
    assert_eq!(mode(&logs), 0o700);
    // A key others may read signs nothing.
    stack.run(&["destroy", "-y"]).ok();
    let key = stack.local().join("signing-key.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = stack.run(&["deploy"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("signing-key.pem is refused") && r.stderr.contains("0600"), "{}", r.stderr);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn two_deploys_at_once_end_with_one_consistent_stack() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "calc", "-t", "calculator"]).ok();
    let stack = Stack::new(sb, "calc");
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| stack.run(&["deploy"]));
        let b = s.spawn(|| stack.run(&["deploy"]));
        (a.join().unwrap(), b.join().unwrap())
    });
    a.ok();
    b.ok();
    // One of them did the work; the other, once the first was done, found nothing to do.
    assert!(a.stdout.contains("No changes") || b.stdout.contains("No changes"), "{}\n{}", a.stdout, b.stdout);
    let st = stack.status();
    assert_eq!(st["running"], true);
    assert_eq!(st["servers"][0]["state"], "ready");
    let c = stack.run(&["call", "calc-target___add", "--args", r#"{"a": 1, "b": 2}"#]);
    c.ok();
    assert!(c.stdout.contains('3'), "{}", c.stdout);
}

#[test]
fn a_connection_that_sends_no_request_is_closed_after_the_header_timeout() {
    use std::io::{Read, Write};
    let sb = Sandbox::new();
    sb.run(".", &["new", "calc", "-t", "calculator"]).ok();
    let stack = Stack::new(sb, "calc");
    stack.run(&["deploy"]).ok();
    let port = port_of(&stack.gateway_url());
    // Half a request, then nothing: the gateway hangs up instead of holding the connection.
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n").unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let start = Instant::now();
    let mut buf = Vec::new();
    let _ = tcp.read_to_end(&mut buf);
    let held = start.elapsed();
    assert!(held < Duration::from_secs(20), "held for {held:?}");
    assert!(held >= Duration::from_secs(8), "closed before the timeout: {held:?}");
    // The gateway keeps serving.
    stack.run(&["tools"]).ok();
}

#[test]
fn deploy_env_runs_the_servers_as_that_environment_and_one_stack_at_a_time() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "calc", "-t", "calculator"]).ok();
    let manifest = sb.path().join("calc/mcpkit.toml");
    support::replace_once(
        &manifest,
        "[servers.calc]\n",
        "[servers.calc]\nenv = { STAGE = \"base\", KEEP = \"1\" }\n",
    );
    sb.run("calc", &["env", "add", "staging"]).ok();
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        format!("{text}\n[environments.staging.servers.calc]\nenv = {{ STAGE = \"staging\" }}\n"),
    )
    .unwrap();
    let stack = Stack::new(sb, "calc");

    stack.sb.run_env("calc", &["deploy"], &[("MCPKIT_ENV", "staging")]).ok();
    let pid = stack.pid("calc");
    assert_eq!(mcp::initial_env(pid, "STAGE").as_deref(), Some("staging"), "the overlay's value");
    assert_eq!(mcp::initial_env(pid, "KEEP").as_deref(), Some("1"), "what the overlay leaves alone");
    let status = stack.sb.run("calc", &["status", "--env", "staging", "--json"]);
    status.ok();
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(
        status["Local"]["environment"].as_str().or(status["environment"].as_str()),
        Some("staging"),
        "{status}"
    );
    stack.sb.run("calc", &["tools", "--env", "staging"]).ok();
    // Another environment than the one running is refused, not served by the wrong servers.
    stack
        .sb
        .run("calc", &["tools"])
        .input_error()
        .stderr_has("the local stack runs environment `staging`, not no environment")
        .stderr_has("--env staging");
    stack.sb.run("calc", &["tools", "--env", "nope"]).input_error().stderr_has("no environment `nope`");
    let list = stack.sb.run("calc", &["env", "list", "--json"]);
    list.ok();
    let list: Value = serde_json::from_str(&list.stdout).unwrap();
    let staging = list.as_array().unwrap().iter().find(|e| e["name"] == "staging").unwrap();
    assert_eq!(staging["local"]["running"], true, "{list}");
    let own = list.as_array().unwrap().iter().find(|e| e["name"].is_null()).unwrap();
    assert!(own["local"].is_null(), "{list}");

    stack.sb.run("calc", &["destroy", "--env", "qa"]).input_error();
    stack.sb.run("calc", &["destroy"]).input_error().stderr_has("runs environment `staging`");
    // Deploying the workspace's own replaces it, with the base values.
    stack.sb.run("calc", &["deploy"]).ok();
    let pid = stack.pid("calc");
    assert_eq!(mcp::initial_env(pid, "STAGE").as_deref(), Some("base"));
    stack.sb.run("calc", &["tools"]).ok();
}

#[test]
fn env_add_refuses_names_aws_would_refuse_and_keeps_the_file() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "calc", "-t", "calculator"]).ok();
    let manifest = sb.path().join("calc/mcpkit.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let commented = format!("# the team's workspace\n{text}");
    std::fs::write(&manifest, &commented).unwrap();
    for bad in ["Prod", "dev-1", "newcognito", "production1"] {
        sb.run("calc", &["env", "add", bad]).input_error().stderr_has("environment");
        assert_eq!(std::fs::read_to_string(&manifest).unwrap(), commented, "{bad}: nothing written");
    }
    // A server whose names collide with another's in the environment.
    sb.run("calc", &["add-server", "calc-dev", "-t", "blank"]).ok();
    let before = std::fs::read_to_string(&manifest).unwrap();
    sb.run("calc", &["env", "add", "dev"])
        .input_error()
        .stderr_has("credential provider `calc-dev-identity`")
        .stderr_has("environments.dev");
    assert_eq!(std::fs::read_to_string(&manifest).unwrap(), before);
    sb.run("calc", &["env", "add", "prod", "--region", "eu-west-1"]).ok();
    let after = std::fs::read_to_string(&manifest).unwrap();
    assert!(after.starts_with("# the team's workspace\n"), "comments kept");
    assert!(after.contains("[environments.prod.targets.aws]\nregion = \"eu-west-1\""), "{after}");
    sb.run("calc", &["env", "add", "prod"]).input_error().stderr_has("already exists");
    sb.run("calc", &["validate", "--env", "prod"]).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_access_log_has_a_line_per_request_and_no_secret() {
    use rmcp::model::{CallToolRequestParams, GetPromptRequestParams, ReadResourceRequestParams};
    use std::collections::BTreeMap;
    use std::os::unix::fs::PermissionsExt;
    let stack = tokio::task::spawn_blocking(|| {
        let sb = Sandbox::new();
        sb.run(".", &["new", "calc", "-t", "calculator"]).ok();
        // A prompt and a resource beside the calculator's tools, so every kind of request has a
        // target to go to.
        support::replace_once(
            &sb.path().join("calc/servers/calc/server.py"),
            "def main() -> None:",
            "@mcp.prompt()\ndef explain(op: str) -> str:\n    \"\"\"Explain an operation.\"\"\"\n    \
             return f\"Explain {op} step by step\"\n\n\n@mcp.resource(\"calc://constants\")\n\
             def constants() -> str:\n    \"\"\"Useful constants.\"\"\"\n    return \"pi=3.14159\"\n\n\n\
             def main() -> None:",
        );
        sb.run("calc", &["deploy"]).ok();
        Stack::new(sb, "calc")
    })
    .await
    .unwrap();
    let (url, token) = tokio::task::block_in_place(|| (stack.gateway_url(), stack.token()));
    let log = stack.local().join("logs/gateway.log");
    // `deploy` checked the gateway with a tools/list of its own: the log is there already.
    let before = std::fs::read_to_string(&log).unwrap().lines().count();
    assert!(before >= 1);

    let c = mcp::connect(&url, Some(&token), Era::Legacy).await.unwrap();
    assert_eq!(mcp::tools(&c).await.len(), 3);
    let r = mcp::call(&c, "calc-target___add", json!({"a": 12345, "b": 67890})).await;
    assert_eq!(mcp::result_json(&r), json!({"result": 80235.0}));
    let bad = c
        .call_tool(
            CallToolRequestParams::new("calc-target___add")
                .with_arguments(json!({"a": "twelve thousand", "b": 1}).as_object().unwrap().clone()),
        )
        .await;
    assert!(bad.as_ref().map(|r| r.is_error == Some(true)).unwrap_or(true), "{bad:?}");
    let _ = c.call_tool(CallToolRequestParams::new("calc-target___nope")).await;
    assert!(c.call_tool(CallToolRequestParams::new("nope")).await.is_err());
    let prompts = c.list_all_prompts().await.unwrap();
    assert_eq!(prompts.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["calc-target___explain"]);
    let mut p = GetPromptRequestParams::new("calc-target___explain");
    p.arguments = json!({"op": "13579"}).as_object().cloned();
    let got = c.get_prompt(p).await.unwrap();
    assert!(serde_json::to_string(&got.messages).unwrap().contains("Explain 13579 step by step"));
    assert_eq!(c.list_all_resources().await.unwrap().len(), 1);
    let read = c.read_resource(ReadResourceRequestParams::new("calc://constants")).await.unwrap();
    assert!(serde_json::to_string(&read.contents).unwrap().contains("pi=3.14159"));
    assert!(c.read_resource(ReadResourceRequestParams::new("nowhere://x")).await.is_err());
    let _ = c.cancel().await;
    // 2026-07-28: `server/discover` and a stateless call.
    let m = mcp::connect(&url, Some(&token), Era::Modern).await.unwrap();
    let r = mcp::call(&m, "calc-target___multiply", json!({"a": 24680, "b": 2})).await;
    assert_eq!(mcp::result_json(&r), json!({"result": 49360.0}));
    let _ = m.cancel().await;

    let text = std::fs::read_to_string(&log).unwrap();
    let creds: Value =
        serde_json::from_slice(&std::fs::read(stack.ws.join(".mcpkit/credentials/local-calc.json")).unwrap())
            .unwrap();
    let client = creds["client_id"].as_str().unwrap();
    // Each line: an RFC 3339 UTC time, then key=value fields (`outcome=error code=N`).
    let lines: Vec<(String, BTreeMap<String, String>)> = text
        .lines()
        .skip(before)
        .map(|l| {
            let (time, rest) = l.split_once(' ').unwrap();
            assert!(
                time.len() == 24 && time.as_bytes()[10] == b'T' && time.ends_with('Z') && time.contains('.'),
                "{l}"
            );
            let fields = rest
                .split(' ')
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap_or_else(|| panic!("{l}"));
                    (k.to_string(), v.to_string())
                })
                .collect::<BTreeMap<_, _>>();
            assert_eq!(fields["client"], client, "{l}");
            assert!(fields["duration_ms"].parse::<u64>().unwrap() < 60_000, "{l}");
            (l.to_string(), fields)
        })
        .collect();
    let find = |method: &str, name: &str| -> Vec<&BTreeMap<String, String>> {
        lines.iter().map(|(_, f)| f).filter(|f| f["method"] == method && f["name"] == name).collect()
    };
    let one = |method: &str, name: &str| -> &BTreeMap<String, String> {
        let found = find(method, name);
        assert_eq!(found.len(), 1, "{method} {name}: {text}");
        found[0]
    };
    assert_eq!(one("initialize", "-")["outcome"], "ok");
    assert_eq!(one("server/discover", "-")["outcome"], "ok");
    for method in ["tools/list", "prompts/list", "resources/list"] {
        let f = one(method, "-");
        assert_eq!((f["target"].as_str(), f["outcome"].as_str()), ("-", "ok"), "{method}");
    }
    let calls = find("tools/call", "calc-target___add");
    assert_eq!(calls.len(), 2, "{text}");
    assert_eq!((calls[0]["target"].as_str(), calls[0]["outcome"].as_str()), ("calc-target", "ok"));
    // A tool's error result, and an unknown tool: not `ok`.
    assert_eq!(calls[1]["target"], "calc-target");
    assert_eq!(calls[1]["outcome"], "tool-error", "{text}");
    let nope = one("tools/call", "calc-target___nope");
    assert_eq!(nope["target"], "calc-target");
    assert_ne!(nope["outcome"], "ok");
    let bare = one("tools/call", "nope");
    assert_eq!(
        (bare["target"].as_str(), bare["outcome"].as_str(), bare["code"].as_str()),
        ("-", "error", "-32602")
    );
    let f = one("tools/call", "calc-target___multiply");
    assert_eq!((f["target"].as_str(), f["outcome"].as_str()), ("calc-target", "ok"));
    let f = one("prompts/get", "calc-target___explain");
    assert_eq!((f["target"].as_str(), f["outcome"].as_str()), ("calc-target", "ok"));
    let f = one("resources/read", "calc://constants");
    assert_eq!((f["target"].as_str(), f["outcome"].as_str()), ("calc-target", "ok"));
    let f = one("resources/read", "nowhere://x");
    assert_eq!((f["target"].as_str(), f["outcome"].as_str(), f["code"].as_str()), ("-", "error", "-32002"));
    assert_eq!(lines.len(), 13, "one line per request and no more: {text}");

    // Who, what, where, how long, how it ended: never a token, a secret, an argument or a result.
    let mut secrets = vec![token.clone(), creds["access_token"].as_str().unwrap().to_string()];
    secrets.extend(
        stack.identities()["realms"].as_object().unwrap().values().map(|r| r["client_secret"].to_string()),
    );
    secrets.push(creds["client_secret"].as_str().unwrap().to_string());
    let secrets: Vec<String> = secrets.into_iter().map(|s| s.trim_matches('"').to_string()).collect();
    assert_no_secret(&text, &secrets, "gateway.log");
    assert!(!text.contains("Bearer") && !text.contains("eyJ"), "{text}");
    for value in
        ["12345", "67890", "80235", "twelve", "13579", "24680", "49360", "step by step", "3.14159", "pi="]
    {
        assert!(!text.contains(value), "{value:?} is in the access log: {text}");
    }
    assert_eq!(std::fs::metadata(&log).unwrap().permissions().mode() & 0o777, 0o600);

    // `mcpkit logs gateway` shows the file, and `mcpkit logs` includes it.
    let (one_log, all) =
        tokio::task::block_in_place(|| (stack.run(&["logs", "gateway"]), stack.run(&["logs"])));
    one_log.ok();
    for (l, _) in &lines {
        assert!(
            one_log.stdout.lines().any(|s| s == l),
            "{l} missing from `logs gateway`: {}",
            one_log.stdout
        );
    }
    all.ok();
    assert!(all.stdout.contains(&format!("     gateway | {}", lines[0].0)), "{}", all.stdout);
}
