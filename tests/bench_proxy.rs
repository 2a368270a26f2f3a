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

const STARTS: usize = 30;
const CALLS: usize = 400;
const MCP_REMOTE: &str = "mcp-remote@0.15.1";
const AWS_PROXY: &str = "mcp-proxy-for-aws==1.7.0";
/// mcp-proxy-for-aws takes ~3 s to start here (Python imports): fewer runs of it.
const AWS_PROXY_STARTS: usize = 5;

/// A virtualenv with AWS's `mcp-proxy-for-aws`, made with the test venv's uv and cached.
fn aws_proxy_env() -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("aws-proxy-1.7.0");
    let exe = dir.join("bin/mcp-proxy-for-aws");
    if !exe.exists() {
        let uv = support::python_env().join("bin/uv");
        let ok =
            Command::new(&uv).arg("venv").arg(&dir).arg("--python").arg(support::python()).status().unwrap();
        assert!(ok.success(), "uv venv");
        let ok = Command::new(&uv)
            .args(["pip", "install", "--python"])
            .arg(dir.join("bin/python"))
            .arg(AWS_PROXY)
            .env("UV_CACHE_DIR", support::uv_cache())
            .status()
            .unwrap();
        assert!(ok.success(), "uv pip install {AWS_PROXY}");
    }
    exe
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;

fn pct(mut v: Vec<Duration>, p: f64) -> f64 {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

/// Time from spawning `cmd` to the first line it writes after being sent `initialize`, and the
/// process's peak resident memory then (KiB).
fn start_to_answer(mut cmd: Command) -> (Duration, u64) {
    let start = Instant::now();
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{INITIALIZE}").unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let took = start.elapsed();
    assert!(line.contains("\"result\""), "no initialize result from {cmd:?}: {line}");
    let hwm = rss_kib(child.id(), "VmHWM:");
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    (took, hwm)
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or(0)
}

async fn call<H: rmcp::service::Service<rmcp::RoleClient>>(
    c: &rmcp::service::RunningService<rmcp::RoleClient, H>,
    i: usize,
) -> Duration {
    let start = Instant::now();
    let r = support::mcp::call(c, "px-target___example", json!({"text": format!("t{i}")})).await;
    assert_ne!(r.is_error, Some(true));
    start.elapsed()
}

/// An rmcp client of a stdio proxy, and the proxy's pid.
async fn stdio_client(program: &str, args: &[String], env: &[(&str, String)]) -> (support::mcp::Client, u32) {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).kill_on_drop(true).stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (transport, _) = TokioChildProcess::builder(cmd).stderr(Stdio::null()).spawn().unwrap();
    let pid = transport.id().unwrap();
    (().serve(transport).await.unwrap(), pid)
}

fn main() {
    mcpkit_core::install_crypto();
    let sb = Sandbox::new();
    sb.run(".", &["new", "px", "-t", "blank"]).ok();
    sb.run("px", &["deploy"]).ok();
    // Destroyed however the bench ends, so no stack outlives it.
    struct Destroy<'a>(&'a Sandbox);
    impl Drop for Destroy<'_> {
        fn drop(&mut self) {
            let _ = self.0.run("px", &["destroy", "-y"]);
        }
    }
    let _destroy = Destroy(&sb);
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
        ours.push(start_to_answer(c).0);
        let mut c = Command::new("npx");
        c.args(&remote_args).current_dir(&node);
        theirs.push(start_to_answer(c).0);
    }
    // mcp-proxy-for-aws signs SigV4 and refuses an Authorization header, so it cannot carry
    // this gateway's bearer token: its floor is measured against the server itself, without
    // auth (`--skip-auth`), which is less work than the job the other two do.
    let aws_proxy = aws_proxy_env();
    let (_server, port) = support::start_server(&ws.join("servers/px/server.py"));
    let aws_args: Vec<String> = vec![
        format!("http://127.0.0.1:{port}/mcp"),
        "--skip-auth".into(),
        "--region".into(),
        "us-east-1".into(),
    ];
    let mut aws = Vec::new();
    let mut aws_hwm = 0;
    for _ in 0..AWS_PROXY_STARTS {
        let mut c = Command::new(&aws_proxy);
        c.args(&aws_args).env_remove("PYTHONDONTWRITEBYTECODE").env("AWS_REGION", "us-east-1");
        let (took, hwm) = start_to_answer(c);
        aws.push(took);
        aws_hwm = aws_hwm.max(hwm);
    }
    println!("start to first initialize answer (p50 / p90 ms):");
    println!("  mcpkit proxy        {:8.1} {:8.1}   ({STARTS} runs)", pct(ours.clone(), 0.5), pct(ours, 0.9));
    println!(
        "  npx mcp-remote      {:8.1} {:8.1}   ({STARTS} runs)",
        pct(theirs.clone(), 0.5),
        pct(theirs, 0.9)
    );
    println!(
        "  mcp-proxy-for-aws   {:8.1} {:8.1}   ({AWS_PROXY_STARTS} runs, its venv's entry point, to the server without auth; VmHWM {:.1} MiB)",
        pct(aws.clone(), 0.5),
        pct(aws, 0.9),
        aws_hwm as f64 / 1024.0
    );

    // 2. Added latency per call, and 3. memory.
    // One thread, as the proxy runs: the direct client and the proxy's upstream then differ only by the hop.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        // The baseline is the proxy's own upstream: rmcp's client on mcpkit's loopback HTTP
        // client, so the difference is the stdio hop and the proxy, nothing else.
        let secret = mcpkit_core::secret::Secret::new(token.clone());
        let direct = mcpkit_core::mcp::connect(&url, Some(&secret), mcpkit_core::mcp::Lifecycle::Legacy)
            .await
            .unwrap();
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
        println!("resident memory after the calls (VmRSS / VmHWM / RssAnon / RssFile MiB):");
        for (name, pid) in [("mcpkit proxy", proxy_pid), ("mcp-remote", remote_pid)] {
            let mib = |f: &str| rss_kib(pid, f) as f64 / 1024.0;
            println!(
                "  {name:16} {:8.1} {:8.1} {:8.1} {:8.1}",
                mib("VmRSS:"),
                mib("VmHWM:"),
                mib("RssAnon:"),
                mib("RssFile:")
            );
        }
        let _ = proxy.cancel().await;
        let _ = remote.cancel().await;
        let _ = direct.cancel().await;
    });
}
