//! `mcpkit proxy` and `mcpkit connect`: MCP clients that start a process stay connected to the
//! deployed gateway through tokens that expire every two seconds, a gateway that stops and
//! starts, and a stack destroyed and deployed again. The clients are the official Python SDK's
//! stdio client and the official TypeScript SDK's (from npm), spawning the real binary; the
//! lifecycle checks drive it with rmcp's child-process transport.

mod support;

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::Sandbox;
use support::stack::Deployed;

fn fixture(rel: &str) -> String {
    format!("{}/../tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// A workspace `px` from the `blank` template (a tool, a prompt, a resource), with `local`
/// appended to its `[targets.local]` table, deployed.
fn deploy(local: &str) -> Deployed {
    deploy_with(local, |_| {})
}

/// [`deploy`], with `extra` done to the sandbox before the deploy.
fn deploy_with(local: &str, extra: impl FnOnce(&Sandbox)) -> Deployed {
    let sb = Sandbox::new();
    sb.run(".", &["new", "px", "-t", "blank"]).ok();
    extra(&sb);
    let toml = sb.path().join("px/mcpkit.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, format!("{text}\n[targets.local]\n{local}\n")).unwrap();
    sb.run("px", &["deploy"]).ok();
    Deployed::new(sb, "px")
}

/// `mcpkit proxy` for the stack, with its diagnostics in `log`.
fn proxy_args(stack: &Deployed, log: &Path) -> Vec<String> {
    vec![
        support::bin().to_string_lossy().into_owned(),
        "proxy".into(),
        "--workspace".into(),
        stack.ws.to_string_lossy().into_owned(),
        "--log-file".into(),
        log.to_string_lossy().into_owned(),
    ]
}

/// What each client does each round: the blank template's tool, prompt and resource.
fn script(duration_s: f64) -> String {
    json!({
        "duration_s": duration_s, "interval_s": 0.3,
        "call": {"name": "px-target___example", "arguments": {"text": "through the proxy"}},
        "prompt": {"name": "px-target___explain", "arguments": {"topic": "tokens"}},
        "read": "about://px",
    })
    .to_string()
}

/// Runs a client fixture (`client` is its command, before the proxy's) to the end of its script.
fn run_client(stack: &Deployed, client: Command, proxy: &[String], duration_s: f64) -> Value {
    run_script(stack, client, proxy, &script(duration_s))
}

fn run_script(stack: &Deployed, mut client: Command, proxy: &[String], script: &str) -> Value {
    let out = client
        .args(proxy)
        .env("SCRIPT", script)
        .env("MCPKIT_CONFIG_DIR", stack.sb.config.path())
        .env("PATH", support::tool_path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "the client failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Every round saw the whole surface, with no error.
#[track_caller]
fn assert_clean_rounds(seen: &Value, sdk: &str) {
    let rounds = seen["rounds"].as_array().unwrap();
    assert!(rounds.len() >= 3, "{sdk}: {seen:#}");
    for r in rounds {
        assert_eq!(r["errors"], json!([]), "{sdk}: {r:#}");
        assert!(r["tools"].as_array().unwrap().contains(&json!("px-target___example")), "{sdk}: {r:#}");
        assert_eq!(r["call"], "through the proxy", "{sdk}: {r:#}");
        assert_eq!(r["call_is_error"], false, "{sdk}: {r:#}");
        assert!(r["prompts"].as_array().unwrap().contains(&json!("px-target___explain")), "{sdk}: {r:#}");
        assert!(r["prompt"].as_str().unwrap().contains("Explain tokens"), "{sdk}: {r:#}");
        assert!(r["resources"].as_array().unwrap().contains(&json!("about://px")), "{sdk}: {r:#}");
        assert!(r["read"].as_str().is_some(), "{sdk}: {r:#}");
    }
}

fn renewals(log: &Path) -> usize {
    std::fs::read_to_string(log).unwrap_or_default().matches("renewed the gateway token").count()
}

fn credentials(stack: &Deployed) -> Value {
    let path = stack.ws.join(".mcpkit/credentials/local-px.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn both_official_sdks_use_the_whole_surface_through_the_proxy_across_token_lifetimes() {
    let stack = deploy("token_lifetime_s = 2");
    let url = stack.gateway_url();
    let before = credentials(&stack);
    let dir = tempfile::tempdir().unwrap();

    // Seven seconds of rounds: three and a half token lifetimes, renewed at 80% of each.
    let log = dir.path().join("python.log");
    let mut python = Command::new(support::python());
    python.arg(fixture("clients/proxy_client.py"));
    let seen = run_client(&stack, python, &proxy_args(&stack, &log), 7.0);
    assert_clean_rounds(&seen, "python");
    assert!(renewals(&log) >= 3, "{}", std::fs::read_to_string(&log).unwrap());

    let log = dir.path().join("node.log");
    let node = support::node::node_client(Path::new(&fixture("clients/proxy_client.mjs")));
    let seen = run_client(&stack, node, &proxy_args(&stack, &log), 7.0);
    assert_clean_rounds(&seen, "typescript");
    assert!(renewals(&log) >= 3, "{}", std::fs::read_to_string(&log).unwrap());

    // Renewed tokens are written back, 0600, for the next proxy; the file keeps the rest.
    let after = credentials(&stack);
    assert_ne!(after["access_token"], before["access_token"]);
    assert!(after["issued_at"].as_u64() > before["issued_at"].as_u64());
    assert_eq!(after["gateway_url"], url.as_str());
    assert_eq!(after["client_secret"], before["client_secret"]);
    use std::os::unix::fs::PermissionsExt;
    let mode =
        std::fs::metadata(stack.ws.join(".mcpkit/credentials/local-px.json")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // The proxy's diagnostics name the gateway, and never a secret.
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains(&url), "{logged}");
    for secret in [&after["access_token"], &after["client_secret"]] {
        assert!(!logged.contains(secret.as_str().unwrap()), "a secret in the log");
    }
}

#[test]
fn elicitation_and_sampling_cross_the_proxy_both_ways_in_both_eras() {
    // An mcp 1.x server whose tools ask the client for a name and for a completion.
    let stack = deploy_with("", |sb| {
        let dir = sb.path().join("px/fixtures/one");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(fixture("servers/surface_v1.py"), dir.join("server.py")).unwrap();
        std::fs::write(dir.join("requirements.txt"), "mcp>=1.20,<2\n").unwrap();
        let (entry, req) = ("fixtures/one/server.py", "fixtures/one/requirements.txt");
        sb.run("px", &["add-server", "one", "--entrypoint", entry, "--requirements", req]).ok();
    });
    let dir = tempfile::tempdir().unwrap();
    let mut script: Value = serde_json::from_str(&script(0.0)).unwrap();
    script["elicit"] = json!({"name": "one-target___greet_user"});
    script["sample"] = json!({"name": "one-target___haiku", "arguments": {"topic": "the moon"}});
    for mode in ["legacy", "2026-07-28"] {
        let log = dir.path().join(format!("{mode}.log"));
        let mut python = Command::new(support::python());
        python.arg(fixture("clients/proxy_client.py")).env("MODE", mode);
        let seen = run_script(&stack, python, &proxy_args(&stack, &log), &script.to_string());
        let round = &seen["rounds"][0];
        assert_eq!(round["errors"], json!([]), "{mode}: {round:#}");
        assert_eq!(round["elicit"], "Hello, Ada!", "{mode}: {round:#}");
        assert_eq!(round["sample"], "haiku: autumn moon rises", "{mode}: {round:#}");
        assert_eq!(round["call"], "through the proxy", "{mode}: {round:#}");
    }
}

/// An rmcp client of `mcpkit proxy`, as an MCP client application starts it.
async fn proxy_client(stack: &Deployed, log: &Path) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let args = proxy_args(stack, log);
    let mut cmd = tokio::process::Command::new(&args[0]);
    cmd.args(&args[1..])
        .env("MCPKIT_CONFIG_DIR", stack.sb.config.path())
        .env("PATH", support::tool_path())
        .kill_on_drop(true);
    ().serve(TokioChildProcess::new(cmd).unwrap()).await.unwrap()
}

async fn example(c: &rmcp::service::RunningService<rmcp::RoleClient, ()>) -> Result<String, String> {
    let mut params = CallToolRequestParams::new("px-target___example");
    params.arguments = Some(json!({"text": "again"}).as_object().unwrap().clone());
    let r = tokio::time::timeout(Duration::from_secs(60), c.call_tool(params))
        .await
        .map_err(|_| "no answer within 60 s".to_string())?
        .map_err(|e| e.to_string())?;
    Ok(support::mcp::result_json(&r).to_string())
}

/// Runs `mcpkit args` for the stack (successfully) off the async runtime, which the client
/// of the proxy keeps running meanwhile.
async fn in_background(stack: Deployed, args: &'static [&'static str]) -> Deployed {
    tokio::task::spawn_blocking(move || {
        stack.run(args).ok();
        stack
    })
    .await
    .unwrap()
}

fn supervisor_pid(stack: &Deployed) -> i32 {
    let status: Value =
        serde_json::from_slice(&std::fs::read(stack.local().join("status.json")).unwrap()).unwrap();
    status["pid"].as_i64().unwrap() as i32
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_proxy_outlives_a_gateway_restart_and_a_destroyed_and_redeployed_stack() {
    // A fixed port, as a user who keeps the gateway where clients know it would have.
    let port = support::free_port();
    let stack = tokio::task::spawn_blocking(move || deploy(&format!("port = {port}"))).await.unwrap();
    let url = stack.gateway_url();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("proxy.log");
    let client = proxy_client(&stack, &log).await;
    assert!(example(&client).await.unwrap().contains("again"));

    // The gateway dies: the client gets an error naming it, promptly, and stays connected.
    let pid = supervisor_pid(&stack);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    let start = Instant::now();
    while nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
        && start.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let down = example(&client).await.unwrap_err();
    assert!(down.contains(&url), "{down}");

    // Deployed again (same realms, same port): the same client session goes on.
    let stack = in_background(stack, &["deploy"]).await;
    assert!(example(&client).await.unwrap().contains("again"));

    // Destroyed: an error naming the gateway, not a hang. Deployed again, with new realms (so
    // new issuers and clients: the proxy's token is refused) — the proxy gets a new token
    // from the workspace's provider, and the client goes on.
    let stack = in_background(stack, &["destroy", "-y"]).await;
    let gone = example(&client).await.unwrap_err();
    assert!(gone.contains(&url), "{gone}");
    let stack = in_background(stack, &["deploy"]).await;
    assert!(example(&client).await.unwrap().contains("again"));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("renewed the gateway token"), "{logged}");
    client.cancel().await.unwrap();
    drop(stack);
}

#[test]
fn a_proxy_for_a_stack_never_deployed_exits_2_before_speaking_mcp() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "px", "-t", "blank"]).ok();
    let r = sb.run("px", &["proxy"]);
    r.input_error().stderr_has("not deployed").stderr_has("mcpkit deploy");
    assert_eq!(r.stdout, "", "nothing but MCP on stdout");
}

#[test]
fn token_lifetimes_out_of_range_are_refused_with_file_line_and_range() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "px", "-t", "blank"]).ok();
    let toml = sb.path().join("px/mcpkit.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        format!("{text}\n[targets.local]\ntoken_lifetime_s = 0\n\n[targets.aws]\ntoken_lifetime_s = 299\n"),
    )
    .unwrap();
    let r = sb.run("px", &["validate"]);
    r.input_error()
        .stderr_has("targets.local.token_lifetime_s")
        .stderr_has("at least 1")
        .stderr_has("targets.aws.token_lifetime_s")
        .stderr_has("300 to 86400");
    let lines = text.lines().count();
    assert!(r.stderr.contains(&format!("mcpkit.toml:{}", lines + 3)), "{}", r.stderr);
}

/// `connect` in a sandbox whose home is `home`.
fn connect(stack: &Deployed, home: &Path, args: &[&str]) -> support::Run {
    let config = home.join(".config");
    let (home, config) = (home.to_str().unwrap(), config.to_str().unwrap());
    let args = [&["connect"], args].concat();
    stack.sb.run_env("px", &args, &[("HOME", home), ("XDG_CONFIG_HOME", config)])
}

#[test]
fn connect_writes_a_proxy_entry_into_client_files_keeping_everything_else() {
    let stack = deploy("");
    let home = tempfile::tempdir().unwrap();
    let cursor = home.path().join(".cursor/mcp.json");
    std::fs::create_dir_all(cursor.parent().unwrap()).unwrap();
    let original = "{\n    // my servers\n    \"mcpServers\": {\n        \"other\": { \"command\": \"other-server\" },\n        \"another\": { \"url\": \"https://example.com/mcp\" }, /* remote */\n    },\n    \"theme\": \"dark\"\n}\n";
    std::fs::write(&cursor, original).unwrap();

    let r = connect(&stack, home.path(), &["cursor", "--write"]);
    r.ok().stderr_has("added").stderr_has(&cursor.to_string_lossy());
    let text = std::fs::read_to_string(&cursor).unwrap();
    for kept in [
        "// my servers",
        "\"other\": { \"command\": \"other-server\" },",
        "/* remote */",
        "\"theme\": \"dark\"",
    ] {
        assert!(text.contains(kept), "{kept:?} lost:\n{text}");
    }
    let doc = parse_jsonc(&text);
    let entry = &doc["mcpServers"]["mcpkit-px"];
    assert_eq!(entry["command"], support::bin().to_string_lossy().as_ref());
    let ws = std::path::absolute(&stack.ws).unwrap();
    assert_eq!(entry["args"], json!(["proxy", "--workspace", ws, "--target", "local"]));
    assert!(!text.contains("Bearer"), "no secret in the file");
    // The proxy finds the same mcpkit configuration (trusted plugins) as this command did.
    assert_eq!(entry["env"]["MCPKIT_CONFIG_DIR"], stack.sb.config.path().to_string_lossy().as_ref());
    assert_eq!(std::fs::read_to_string(format!("{}.mcpkit-backup", cursor.display())).unwrap(), original);
    // Again: nothing to change, nothing written.
    connect(&stack, home.path(), &["cursor", "--write"]).ok().stderr_has("already had");
    assert_eq!(std::fs::read_to_string(&cursor).unwrap(), text);

    // The entry works: the TypeScript SDK starts exactly what it says.
    let command = entry["command"].as_str().unwrap().to_string();
    let mut args: Vec<String> = vec![command];
    args.extend(entry["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()));
    let node = support::node::node_client(Path::new(&fixture("clients/proxy_client.mjs")));
    let seen = run_client(&stack, node, &args, 0.5);
    assert_eq!(seen["rounds"][0]["errors"], json!([]), "{seen:#}");
    assert_eq!(seen["rounds"][0]["call"], "through the proxy");

    // VS Code's file is the workspace's; Claude Desktop's is under the config folder.
    connect(&stack, home.path(), &["vscode", "--write"]).ok();
    let vscode = parse_jsonc(&std::fs::read_to_string(stack.ws.join(".vscode/mcp.json")).unwrap());
    assert_eq!(vscode["servers"]["mcpkit-px"]["type"], "stdio");
    connect(&stack, home.path(), &["claude-desktop", "--write"]).ok();
    let desktop = home.path().join(".config/Claude/claude_desktop_config.json");
    assert_eq!(
        parse_jsonc(&std::fs::read_to_string(desktop).unwrap())["mcpServers"]["mcpkit-px"]["args"][0],
        "proxy"
    );
    // Claude Code is configured by its own command, printed.
    let code = connect(&stack, home.path(), &["claude-code", "--write"]);
    code.ok();
    assert!(code.stdout.starts_with("claude mcp add -e MCPKIT_CONFIG_DIR="), "{}", code.stdout);
    assert!(code.stdout.contains(" mcpkit-px -- "), "{}", code.stdout);
    assert!(code.stdout.contains(" proxy --workspace "), "{}", code.stdout);
}

#[test]
fn connect_refuses_a_malformed_client_file_naming_it_and_writes_nothing() {
    let stack = deploy("");
    let home = tempfile::tempdir().unwrap();
    let file: PathBuf = home.path().join(".aws/amazonq/mcp.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let broken = "{\n  \"mcpServers\": {\n    \"a\": \n  }\n}\n";
    std::fs::write(&file, broken).unwrap();
    let r = connect(&stack, home.path(), &["amazon-q", "--write"]);
    r.input_error().stderr_has(&format!("{}:4", file.display()));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), broken);
    assert!(!Path::new(&format!("{}.mcpkit-backup", file.display())).exists());
    assert!(std::fs::read_dir(file.parent().unwrap()).unwrap().count() == 1, "no temporary file left");
}

#[test]
fn static_token_configuration_is_still_there_for_clients_that_cannot_start_a_process() {
    let stack = deploy("");
    let home = tempfile::tempdir().unwrap();
    let url = stack.gateway_url();
    let r = connect(&stack, home.path(), &["vscode", "--static-token"]);
    r.ok().stderr_has("expires");
    let config: Value = serde_json::from_str(&r.stdout).unwrap();
    let entry = &config["servers"]["mcpkit-px"];
    assert_eq!(entry["type"], "http");
    assert_eq!(entry["url"], url.as_str());
    let bearer = entry["headers"]["Authorization"].as_str().unwrap();
    assert!(bearer.starts_with("Bearer ey"), "{bearer}");
}

fn parse_jsonc(text: &str) -> Value {
    jsonc_parser::parse_to_serde_value::<Value>(text, &Default::default()).unwrap()
}
