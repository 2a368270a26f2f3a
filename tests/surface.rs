//! The whole MCP surface through the local gateway, as AgentCore Gateway carries it for
//! MCP-server targets: prompts, resources, resource templates, progress, log messages,
//! elicitation and sampling, in both eras, checked by two clients nobody here wrote the
//! protocol code of: rmcp and the official Python SDK. The servers are real Python processes on
//! mcp 1.x (FastMCP, sessions) and mcp 2.x (MCPServer, stateless).

mod support;

use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::mcp::{self, Answering, Era};
use support::stack::Deployed;
use support::{Run, Sandbox};

fn fixture(rel: &str) -> String {
    format!("{}/../tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// A workspace made from the `blank` template, with the two surface servers beside it:
/// `one` (mcp 1.x) and `two` (mcp 2.x). `extra` edits the workspace before the deploy.
fn deploy_surface(extra: impl FnOnce(&Path)) -> (Deployed, Run) {
    let sb = Sandbox::new();
    sb.run(".", &["new", "surf", "-t", "blank"]).ok();
    for (name, file, reqs) in [
        ("one", "surface_v1.py", "mcp>=1.20,<2\n".to_string()),
        ("two", "surface_v2.py", format!("{}\n", mcpkit_core::MCP_REQUIREMENT)),
    ] {
        let dir = sb.path().join("surf/fixtures").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(fixture(&format!("servers/{file}")), dir.join("server.py")).unwrap();
        std::fs::write(dir.join("requirements.txt"), reqs).unwrap();
        let entry = format!("fixtures/{name}/server.py");
        let req = format!("fixtures/{name}/requirements.txt");
        sb.run("surf", &["add-server", name, "--entrypoint", &entry, "--requirements", &req]).ok();
    }
    extra(&sb.path().join("surf"));
    let run = sb.run("surf", &["deploy"]);
    (Deployed::new(sb, "surf"), run)
}

/// Runs the official Python SDK's client against the gateway; returns what it saw.
fn python_client(url: &str, token: &str, mode: &str, prefix: &str) -> Value {
    let out = std::process::Command::new(support::python())
        .arg(fixture("clients/surface_client.py"))
        .args([url, token, mode, prefix])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the Python SDK client failed ({mode}, {prefix}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

#[test]
fn the_official_python_sdk_sees_the_whole_surface_through_the_gateway_in_both_eras() {
    let (stack, deploy) = deploy_surface(|_| {});
    deploy.ok();
    // The blank template's prompt and resource beside its tool, counted per server.
    assert!(
        deploy.stdout.contains("surf                 ready (1 tools, 1 prompts, 1 resources)"),
        "{}",
        deploy.stdout
    );
    let (url, token) = (stack.gateway_url(), stack.token());
    for mode in ["legacy", "2026-07-28"] {
        for (prefix, prompt, arg, sdk) in
            [("one-target___", "summarize", "text", 1), ("two-target___", "review", "code", 2)]
        {
            let seen = python_client(&url, &token, mode, prefix);
            let ctx = format!("{mode}, {prefix}: {seen:#}");
            let tools = strings(&seen["tools"]);
            for t in ["count", "greet_user", "haiku"] {
                assert!(tools.contains(&format!("{prefix}{t}")), "{ctx}");
            }
            // Prompts are prefixed like tools; their arguments are the server's.
            assert_eq!(seen["prompts"][format!("{prefix}{prompt}")][0], arg, "{ctx}");
            assert!(seen["prompts"]["surf-target___explain"].is_array(), "{ctx}");
            assert!(seen["prompt_text"].as_str().unwrap().contains("x = 1"), "{ctx}");
            // Resources and templates keep their URIs, and each is read from its own server.
            let resources = strings(&seen["resources"]);
            assert!(
                resources.contains(&"config://surface1".into())
                    && resources.contains(&"config://surface2".into())
            );
            assert_eq!(seen["reads"]["config://surface1"], r#"{"sdk": 1}"#, "{ctx}");
            assert_eq!(seen["reads"]["config://surface2"], r#"{"sdk": 2}"#, "{ctx}");
            assert_eq!(seen["template_reads"]["notes://rust/today"], "today's note on rust (v1)", "{ctx}");
            assert_eq!(seen["template_reads"]["notes://rust/latest"], "latest note on rust (v2)", "{ctx}");
            // Progress and log messages reach the client; so do the server's questions.
            assert_eq!(seen["count"], "counted to 3", "{ctx}");
            let progress: Vec<Value> = seen["progress"].as_array().unwrap().clone();
            assert_eq!(
                progress,
                [json!([1.0, 3.0, "step 1"]), json!([2.0, 3.0, "step 2"]), json!([3.0, 3.0, "step 3"])],
                "{ctx}"
            );
            assert!(strings(&seen["logs"]).contains(&"counted 2 of 3".to_string()), "{ctx}");
            assert_eq!(seen["greet"], "Hello, Ada!", "{ctx}");
            assert_eq!(strings(&seen["elicited"]), ["What is your name?"], "{ctx}");
            assert_eq!(seen["haiku"], "haiku: autumn moon rises", "{ctx}");
            assert_eq!(strings(&seen["sampled"]), ["A haiku about autumn"], "{ctx}");
            // The spec's errors for an unknown resource (-32002 until 2026-07-28 made it
            // -32602) and an unknown prompt, and still serving.
            let not_found = if mode == "legacy" { -32002 } else { -32602 };
            assert_eq!(seen["errors"], json!({"read": not_found, "prompt": -32602}), "{ctx} (sdk {sdk})");
            assert_eq!(seen["after_errors"], 8, "{ctx}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmcp_sees_the_whole_surface_and_a_target_that_goes_down_takes_its_prompts_and_resources_along() {
    let (stack, deploy) = tokio::task::spawn_blocking(|| deploy_surface(|_| {})).await.unwrap();
    deploy.ok();
    let (url, token) = (stack.gateway_url(), stack.token());
    for era in [Era::Legacy, Era::Modern] {
        let answering = Answering::default();
        let c = mcp::connect_as(&url, &token, era, answering.clone()).await.unwrap();
        let caps = c.peer_info().unwrap().capabilities.clone();
        assert!(caps.prompts.is_some() && caps.resources.is_some() && caps.tools.is_some(), "{era:?}");
        let prompts: Vec<String> = c.list_all_prompts().await.unwrap().into_iter().map(|p| p.name).collect();
        assert!(
            prompts.contains(&"one-target___summarize".into())
                && prompts.contains(&"two-target___review".into())
        );
        let templates = c.list_all_resource_templates().await.unwrap();
        assert!(templates.iter().any(|t| t.uri_template == "notes://{topic}/latest"), "{era:?}");
        let mut args = serde_json::Map::new();
        args.insert("code".into(), json!("fn main() {}"));
        let mut p = rmcp::model::GetPromptRequestParams::new("two-target___review");
        p.arguments = Some(args);
        let got = c.get_prompt(p).await.unwrap();
        let text = serde_json::to_value(&got.messages[0].content).unwrap();
        assert!(text["text"].as_str().unwrap().contains("fn main() {}"), "{text}");
        let read = c
            .read_resource(rmcp::model::ReadResourceRequestParams::new("notes://rust/latest"))
            .await
            .unwrap();
        assert_eq!(serde_json::to_value(&read.contents[0]).unwrap()["text"], "latest note on rust (v2)");
        // A progress token brings the server's progress and its log messages.
        let mut call = rmcp::model::CallToolRequestParams::new("one-target___count")
            .with_arguments(json!({"n": 2}).as_object().unwrap().clone());
        let mut meta = rmcp::model::RequestMetaObject::with_progress_token(rmcp::model::ProgressToken(
            rmcp::model::NumberOrString::Number(7),
        ));
        #[allow(deprecated)]
        meta.set_log_level(rmcp::model::LoggingLevel::Info);
        call.meta = Some(meta);
        let r = c.call_tool(call).await.unwrap();
        assert_eq!(mcp::result_json(&r), json!({"result": "counted to 2"}));
        for (tool, args, expect) in [
            ("one-target___greet_user", json!({}), "Hello, Ada!"),
            ("two-target___greet_user", json!({}), "Hello, Ada!"),
            ("one-target___haiku", json!({"topic": "rust"}), "haiku: autumn moon rises"),
            ("two-target___haiku", json!({"topic": "rust"}), "haiku: autumn moon rises"),
        ] {
            let r = mcp::call(&c, tool, args).await;
            assert_eq!(mcp::result_json(&r), json!({"result": expect}), "{era:?} {tool}");
        }
        let seen = answering.seen.lock().unwrap().clone();
        assert_eq!(seen.progress.len(), 2, "{era:?} {seen:?}");
        assert_eq!(seen.progress[1], (2.0, Some(2.0), Some("step 2".to_string())), "{era:?}");
        assert!(seen.logs.contains(&json!("counted 2 of 2")), "{era:?} {seen:?}");
        assert_eq!((seen.elicited.len(), seen.sampled), (2, 2), "{era:?} {seen:?}");
        // Bad input gets the spec's errors, and the gateway keeps serving.
        let e =
            c.read_resource(rmcp::model::ReadResourceRequestParams::new("nowhere://x")).await.unwrap_err();
        let not_found = if era == Era::Legacy { -32002 } else { -32602 };
        assert!(matches!(&e, rmcp::ServiceError::McpError(e) if e.code.0 == not_found), "{era:?} {e}");
        let e =
            c.get_prompt(rmcp::model::GetPromptRequestParams::new("one-target___nope")).await.unwrap_err();
        assert!(matches!(&e, rmcp::ServiceError::McpError(e) if e.code.0 == -32602), "{e}");
        assert_eq!(mcp::tools(&c).await.len(), 8);
        let _ = c.cancel().await;
    }

    // A legacy session hears of list changes; the target that goes down leaves every list.
    let answering = Answering::default();
    let c = mcp::connect_as(&url, &token, Era::Legacy, answering.clone()).await.unwrap();
    let pid = tokio::task::block_in_place(|| stack.pid("one"));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL)
        .unwrap();
    let gone = async {
        loop {
            let prompts = c.list_all_prompts().await.unwrap();
            let resources = c.list_all_resources().await.unwrap();
            let templates = c.list_all_resource_templates().await.unwrap();
            if !prompts.iter().any(|p| p.name.starts_with("one-target___"))
                && !resources.iter().any(|r| r.uri == "config://surface1")
                && !templates.iter().any(|t| t.uri_template == "notes://{topic}/today")
            {
                assert!(
                    prompts.iter().any(|p| p.name.starts_with("two-target___")),
                    "the other target stays"
                );
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), gone)
        .await
        .expect("the dead target's prompts stayed listed");
    let back = async {
        while !c.list_all_prompts().await.unwrap().iter().any(|p| p.name == "one-target___summarize") {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), back).await.expect("the restarted target came back");
    assert!(answering.seen.lock().unwrap().list_changed >= 2, "{:?}", answering.seen.lock().unwrap());
    let _ = c.cancel().await;

    // The runtime endpoint passes prompts and resources through unchanged.
    let status = tokio::task::block_in_place(|| stack.status());
    let two = status["servers"].as_array().unwrap().iter().find(|s| s["name"] == "two").unwrap().clone();
    let realm = tokio::task::block_in_place(|| stack.realm("runtime", "two"));
    let base = url.trim_end_matches("/mcp");
    let t: Value = reqwest::Client::new()
        .post(format!("{base}/realms/{}/oauth2/token", realm["id"].as_str().unwrap()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", realm["client_id"].as_str().unwrap()),
            ("client_secret", realm["client_secret"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let runtime = two["runtime_url"].as_str().unwrap();
    let c = mcp::connect(runtime, Some(t["access_token"].as_str().unwrap()), Era::Modern).await.unwrap();
    let prompts: Vec<String> = c.list_all_prompts().await.unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(prompts, ["review"], "unprefixed: straight from the server");
    let read =
        c.read_resource(rmcp::model::ReadResourceRequestParams::new("config://surface2")).await.unwrap();
    assert_eq!(serde_json::to_value(&read.contents[0]).unwrap()["text"], r#"{"sdk": 2}"#);
    let _ = c.cancel().await;
}

const NAMES_SERVER: &str = r#"
import os
from mcp.server.mcpserver import MCPServer

mcp = MCPServer("names")


@mcp.tool(name="a_tool_name_so_long_that_bedrock_models_refuse_to_call_it_at_all")
def long() -> str:
    return "long"


@mcp.resource("config://surface2")
def shadowed() -> str:
    return "the names server's copy"


if __name__ == "__main__":
    mcp.run(transport="streamable-http", host=os.environ["HOST"], port=int(os.environ["PORT"]),
            streamable_http_path="/mcp", stateless_http=True, json_response=True)
"#;

#[test]
fn the_cli_covers_the_surface_and_deploy_reports_names_and_uris_that_cannot_work() {
    let (stack, deploy) = deploy_surface(|ws| {
        let dir = ws.join("fixtures/names");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("server.py"), NAMES_SERVER).unwrap();
        std::fs::write(dir.join("requirements.txt"), format!("{}\n", mcpkit_core::MCP_REQUIREMENT)).unwrap();
        // `two` wins the shared URI by its priority, whatever the names sort to.
        support::replace_once(
            &ws.join("mcpkit.toml"),
            "[servers.two]\n",
            "[servers.two]\nresource_priority = 5\n",
        );
        std::fs::write(
            ws.join("mcpkit.toml"),
            std::fs::read_to_string(ws.join("mcpkit.toml")).unwrap()
                + "\n[servers.names]\nentrypoint = \"fixtures/names/server.py\"\nrequirements = \"fixtures/names/requirements.txt\"\n",
        )
        .unwrap();
    });
    deploy.ok();
    assert!(
        deploy.stderr.contains("warning: server `names`: tool `names-target___a_tool_name_so_long_that_bedrock_models_refuse_to_call_it_at_all` (served anyway): gateway tool name")
            && deploy.stderr.contains("Bedrock"),
        "{}",
        deploy.stderr
    );
    assert!(
        deploy.stderr.contains("warning: server `names`: resource `config://surface2` (not served): `two-target` (resource_priority 5)"),
        "{}",
        deploy.stderr
    );
    let status = stack.status();
    let problems = status["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{status:#}");
    assert!(stack.run(&["status"]).stderr.contains("resource `config://surface2`"));

    let r = stack.run(&["read", "config://surface2"]);
    r.ok();
    assert_eq!(r.stdout.trim(), r#"{"sdk": 2}"#);
    let r = stack.run(&["read", "notes://rust/today"]);
    r.ok();
    assert_eq!(r.stdout.trim(), "today's note on rust (v1)");
    let r = stack.run(&["read", "nowhere://x"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("resource not found: nowhere://x"), "{}", r.stderr);

    let r = stack.run(&["prompts", "--json"]);
    r.ok();
    let prompts: Value = serde_json::from_str(&r.stdout).unwrap();
    let names: Vec<&str> = prompts.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["one-target___summarize", "surf-target___explain", "two-target___review"]);
    let r = stack.run(&["prompts"]);
    assert!(
        r.stdout.contains("two-target___review") && r.stdout.contains("(code, [language])"),
        "{}",
        r.stdout
    );
    let r = stack.run(&["prompt", "two-target___review", "--args", r#"{"code": "x = 1"}"#]);
    r.ok();
    assert!(r.stdout.contains("user: Review this python code:\nx = 1"), "{}", r.stdout);
    stack
        .run(&["prompt", "two-target___review", "--args", r#"{"code": 1}"#])
        .input_error()
        .stderr_has("`--args`");

    let r = stack.run(&["resources"]);
    r.ok();
    assert!(r.stdout.contains("config://surface1") && r.stdout.contains("templates:"), "{}", r.stdout);
    assert!(r.stdout.contains("notes://{topic}/today"), "{}", r.stdout);
    let r = stack.run(&["resources", "--json"]);
    let listed: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(listed["templates"].as_array().unwrap().len(), 2, "{listed:#}");

    // Not a terminal: the tool's progress and log messages as plain lines on stderr.
    let r = stack.run(&["call", "one-target___count", "--args", r#"{"n": 2}"#]);
    r.ok();
    assert_eq!(serde_json::from_str::<Value>(&r.stdout).unwrap(), json!({"result": "counted to 2"}));
    assert!(
        r.stderr.contains("progress: 1/2 step 1") && r.stderr.contains("progress: 2/2 step 2"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("[info] counted 1 of 2"), "{}", r.stderr);
    let r = stack.run(&["call", "two-target___count", "--args", r#"{"n": 1}"#]);
    r.ok();
    assert!(r.stderr.contains("progress: 1/1 step 1") && r.stderr.contains("counted 1 of 1"), "{}", r.stderr);
}
