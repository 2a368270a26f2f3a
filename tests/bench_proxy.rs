//! Benchmark of `mcpkit proxy` (run with `cargo bench --bench proxy`; results go to
//! docs/benchmarks.md). Against one deployed local stack, side by side in one run:
//! - from process start to the answer to the first `initialize`, with a cached token, for
//!   `mcpkit proxy` and for `npx mcp-remote` (the ecosystem's bearer-token bridge);
//! - `tools/call` latency straight to the gateway over HTTP and through each proxy over stdio
//!   (the same rmcp client code), interleaved, so the difference is what the proxy adds;
//! - each proxy's resident memory after the calls.

mod support;

use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::Sandbox;
use support::mcp::{self, Era};

const STARTS: usize = 30;
const CALLS: usize = 400;
const MCP_REMOTE: &str = "mcp-remote@0.15.1";

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;

fn pct(mut v: Vec<Duration>, p: f64) -> f64 {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

/// Time from spawning `cmd` to the first line it writes after being sent `initialize`.
fn start_to_answer(mut cmd: Command) -> Duration {
    let start = Instant::now();
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{INITIALIZE}").unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let took = start.elapsed();
    assert!(line.contains("\"result\""), "no initialize result: {line}");
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    took
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or(0)
}

async fn call(c: &mcp::Client, i: usize) -> Duration {
    let start = Instant::now();
    let r = mcp::call(c, "px-target___example", json!({"text": format!("t{i}")})).await;
    assert_ne!(r.is_error, Some(true));
    start.elapsed()
}

/// An rmcp client of a stdio proxy, and the proxy's pid.
async fn stdio_client(program: &str, args: &[String], env: &[(&str, String)]) -> (mcp::Client, u32) {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).kill_on_drop(true).stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let transport = TokioChildProcess::new(cmd).unwrap();
    let pid = transport.id().unwrap();
    (().serve(transport).await.unwrap(), pid)
}

fn main() {
    mcpkit_core::install_crypto();
    let sb = Sandbox::new();
    sb.run(".", &["new", "px", "-t", "blank"]).ok();
    sb.run("px", &["deploy"]).ok();
    let ws = sb.path().join("px");
    let status: serde_json::Value =
        serde_json::from_str(&sb.run("px", &["status", "--json"]).stdout).unwrap();
    let url = status["gateway_url"].as_str().unwrap().to_string();
    let token = sb.run("px", &["token"]).stdout.trim().to_string();
    let node = support::node::install(MCP_REMOTE);
    let bin = support::bin();
    let proxy_args: Vec<String> =
        vec!["proxy".into(), "--workspace".into(), ws.to_string_lossy().into_owned()];
    let remote_args: Vec<String> = vec![
        "--no-install".into(),
        "mcp-remote".into(),
        url.clone(),
        "--header".into(),
        format!("Authorization:Bearer {token}"),
    ];
    let config = sb.config.path().to_path_buf();

    // 1. Start to first answer, alternating the two so that noise falls on both.
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..STARTS {
        let mut c = Command::new(&bin);
        c.args(&proxy_args).env("MCPKIT_CONFIG_DIR", &config);
        ours.push(start_to_answer(c));
        let mut c = Command::new("npx");
        c.args(&remote_args).current_dir(&node);
        theirs.push(start_to_answer(c));
    }
    println!("start to first initialize answer, {STARTS} runs (p50 / p90 ms):");
    println!("  mcpkit proxy      {:8.1} {:8.1}", pct(ours.clone(), 0.5), pct(ours, 0.9));
    println!("  npx mcp-remote    {:8.1} {:8.1}", pct(theirs.clone(), 0.5), pct(theirs, 0.9));

    // 2. Added latency per call, and 3. memory.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let direct = mcp::connect(&url, Some(&token), Era::Legacy).await.unwrap();
        let env = [("MCPKIT_CONFIG_DIR", config.to_string_lossy().into_owned())];
        let (proxy, proxy_pid) = stdio_client(bin.to_str().unwrap(), &proxy_args, &env).await;
        let npx_env = [("PATH", std::env::var("PATH").unwrap_or_default())];
        let remote_bin = node.join("node_modules/.bin/mcp-remote");
        let (remote, remote_pid) =
            stdio_client(remote_bin.to_str().unwrap(), &remote_args[2..], &npx_env).await;
        for i in 0..20 {
            call(&direct, i).await;
            call(&proxy, i).await;
            call(&remote, i).await;
        }
        let (mut d, mut p, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..CALLS {
            d.push(call(&direct, i).await);
            p.push(call(&proxy, i).await);
            r.push(call(&remote, i).await);
        }
        let (d50, p50, r50) = (pct(d.clone(), 0.5), pct(p.clone(), 0.5), pct(r.clone(), 0.5));
        println!("tools/call through the gateway, {CALLS} calls each, interleaved (p50 / p90 ms):");
        println!("  direct (HTTP)             {d50:8.3} {:8.3}", pct(d, 0.9));
        println!("  via mcpkit proxy (stdio)  {p50:8.3} {:8.3}   added p50 {:.3}", pct(p, 0.9), p50 - d50);
        println!("  via mcp-remote (stdio)    {r50:8.3} {:8.3}   added p50 {:.3}", pct(r, 0.9), r50 - d50);
        println!("resident memory after the calls (VmRSS / VmHWM MiB):");
        for (name, pid) in [("mcpkit proxy", proxy_pid), ("mcp-remote", remote_pid)] {
            let (rss, hwm) = (rss_kib(pid, "VmRSS:"), rss_kib(pid, "VmHWM:"));
            println!("  {name:16} {:8.1} {:8.1}", rss as f64 / 1024.0, hwm as f64 / 1024.0);
        }
        let _ = proxy.cancel().await;
        let _ = remote.cancel().await;
        let _ = direct.cancel().await;
    });
    let _ = sb.run("px", &["destroy", "-y"]);
}
