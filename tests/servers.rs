//! Every built-in template makes a server that really runs: real Python, the real `mcp`
//! package, real streamable HTTP, spoken to by rmcp in both protocol eras.

mod support;

use serde_json::json;
use support::mcp::{self, Era};
use support::{Sandbox, python, start_server};

/// (template, tool, arguments, expected result)
const CASES: &[(&str, &str, &str, &str)] = &[
    ("calculator", "add", r#"{"a": 2, "b": 3}"#, r#"{"result": 5.0}"#),
    ("calculator", "multiply", r#"{"a": 4, "b": 2.5}"#, r#"{"result": 10.0}"#),
    ("helloworld", "greet", r#"{"name": "Ada"}"#, r#"{"result": "Hello, Ada!"}"#),
    ("blank", "example", r#"{"text": "ping"}"#, r#"{"result": "ping"}"#),
];

fn expected_tools(template: &str) -> Vec<&'static str> {
    match template {
        "calculator" => vec!["add", "multiply"],
        "helloworld" => vec!["greet"],
        "blank" => vec!["example"],
        other => panic!("no expectation for {other}"),
    }
}

fn scaffold(sb: &Sandbox, template: &str) -> std::path::PathBuf {
    sb.run(".", &["new", &format!("my-{template}"), "--template", template]).ok();
    sb.path().join(format!("my-{template}/servers/my-{template}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_servers_answer_both_protocol_eras() {
    for template in ["calculator", "helloworld", "blank"] {
        let sb = Sandbox::new();
        let dir = scaffold(&sb, template);
        let (_server, port) = start_server(&dir.join("server.py"));
        let url = format!("http://127.0.0.1:{port}/mcp");
        for era in [Era::Legacy, Era::Modern] {
            let client =
                mcp::connect(&url, None, era).await.unwrap_or_else(|e| panic!("{template} {era:?}: {e}"));
            let mut names: Vec<String> =
                mcp::tools(&client).await.into_iter().map(|t| t.name.to_string()).collect();
            names.sort();
            assert_eq!(names, expected_tools(template), "{template} {era:?}");
            for (_, tool, args, expected) in CASES.iter().filter(|c| c.0 == template) {
                let r = mcp::call(&client, tool, serde_json::from_str(args).unwrap()).await;
                assert_ne!(r.is_error, Some(true), "{template}.{tool} failed: {r:?}");
                let want: serde_json::Value = serde_json::from_str(expected).unwrap();
                assert_eq!(mcp::result_json(&r), want, "{template}.{tool} {era:?}");
            }
            let bad = client
                .call_tool(
                    rmcp::model::CallToolRequestParams::new("no_such_tool")
                        .with_arguments(Default::default()),
                )
                .await;
            let refused = match bad {
                Err(_) => true,
                Ok(r) => r.is_error == Some(true),
            };
            assert!(refused, "{template}: an unknown tool must fail");
            let _ = client.cancel().await;
        }
    }
}

/// AgentCore Runtime puts its own `Mcp-Session-Id` on requests; a stateless server must not
/// reject a session id it never issued.
#[tokio::test]
async fn generated_server_accepts_a_foreign_session_id() {
    let sb = Sandbox::new();
    let dir = scaffold(&sb, "calculator");
    let (_server, port) = start_server(&dir.join("server.py"));
    let http = reqwest::Client::new();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "add", "arguments": {"a": 1, "b": 1}}});
    for version in ["2025-06-18", "2025-03-26"] {
        let resp = http
            .post(format!("http://127.0.0.1:{port}/mcp"))
            .header("Accept", "application/json, text/event-stream")
            .header("Content-Type", "application/json")
            .header("Mcp-Session-Id", "agentcore-0123456789abcdef0123456789abcdef")
            .header("Mcp-Protocol-Version", version)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "{version}: {status} {text}");
        assert!(text.contains("\"result\""), "{version}: {text}");
    }
}

/// The tests a template generates pass as generated.
#[test]
fn generated_pytest_suites_pass() {
    for template in ["calculator", "helloworld", "blank"] {
        let sb = Sandbox::new();
        let dir = scaffold(&sb, template);
        let out = std::process::Command::new(python())
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
            .current_dir(&dir)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{template}: pytest failed:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("passed"), "{text}");
    }
}
