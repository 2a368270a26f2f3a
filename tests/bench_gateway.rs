//! Benchmark of the local target (run with `cargo bench --bench gateway`; results go to
//! docs/benchmarks.md). Measures, side by side in one run:
//! - `tools/call` latency and throughput straight to a server and through the gateway (same
//!   rmcp client code, concurrency 1 and 16), interleaved to cancel out machine noise;
//! - the gateway process's resident memory after the load;
//! - a warm deploy (virtualenvs cached) of two servers until ready, and a destroy.

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::Sandbox;
use support::mcp::{self, Era};

const CALLS_C1: usize = 400;
const CALLS_PER_TASK_C16: usize = 100;

async fn latency(url: &str, token: Option<&str>, n: usize) -> Vec<Duration> {
    let c = mcp::connect(url, token, Era::Legacy).await.unwrap();
    let name = if token.is_some() { "calc-target___add" } else { "add" };
    for _ in 0..20 {
        mcp::call(&c, name, json!({"a": 1, "b": 2})).await;
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        let r = mcp::call(&c, name, json!({"a": i, "b": 1})).await;
        out.push(t.elapsed());
        assert_ne!(r.is_error, Some(true));
    }
    let _ = c.cancel().await;
    out
}

async fn throughput(url: &str, token: Option<&str>, tasks: usize, per_task: usize) -> f64 {
    let name = if token.is_some() { "calc-target___add" } else { "add" };
    let mut clients = Vec::new();
    for _ in 0..tasks {
        clients.push(std::sync::Arc::new(mcp::connect(url, token, Era::Legacy).await.unwrap()));
    }
    let start = Instant::now();
    let handles: Vec<_> = clients
        .iter()
        .cloned()
        .map(|c| {
            tokio::spawn(async move {
                for i in 0..per_task {
                    mcp::call(&c, name, json!({"a": i, "b": 1})).await;
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    (tasks * per_task) as f64 / start.elapsed().as_secs_f64()
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

fn rss_kib(pid: u64) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines().find(|l| l.starts_with("VmRSS:")).unwrap().split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// CPU time (user + system) a process has used so far, in clock ticks (1/100 s on Linux).
fn cpu_ticks(pid: u64) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest: Vec<&str> = s.rsplit_once(')').unwrap().1.split_whitespace().collect();
    rest[11].parse::<u64>().unwrap() + rest[12].parse::<u64>().unwrap()
}

fn main() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "calc", "-t", "calculator"]).ok();
    sb.run("calc", &["add-server", "greeter", "-t", "helloworld"]).ok();
    sb.run("calc", &["deploy"]).ok();
    let status: Value = serde_json::from_str(&sb.run("calc", &["status", "--json"]).stdout).unwrap();
    let gateway = status["gateway_url"].as_str().unwrap().to_string();
    let server_port =
        status["servers"].as_array().unwrap().iter().find(|s| s["name"] == "calc").unwrap()["port"]
            .as_u64()
            .unwrap();
    let direct = format!("http://127.0.0.1:{server_port}/mcp");
    let token = sb.run("calc", &["token"]).stdout.trim().to_string();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    let supervisor = status["pid"].as_u64().unwrap();
    let (mut d1, mut g1) = (Vec::new(), Vec::new());
    let (mut d16, mut g16) = (Vec::new(), Vec::new());
    let mut gateway_ticks = 0;
    rt.block_on(async {
        for _round in 0..3 {
            d1.extend(latency(&direct, None, CALLS_C1).await);
            let before = cpu_ticks(supervisor);
            g1.extend(latency(&gateway, Some(&token), CALLS_C1).await);
            gateway_ticks += cpu_ticks(supervisor) - before;
            d16.push(throughput(&direct, None, 16, CALLS_PER_TASK_C16).await);
            g16.push(throughput(&gateway, Some(&token), 16, CALLS_PER_TASK_C16).await);
        }
    });
    let rss = rss_kib(supervisor);
    // Per call at c=1, including each round's connect and warm-up calls (20 of 420).
    let cpu_per_call_us = gateway_ticks as f64 * 10_000.0 / (3 * (CALLS_C1 + 20)) as f64;
    let (dp50, gp50) = (pct(&mut d1, 0.5), pct(&mut g1, 0.5));
    let (dp99, gp99) = (pct(&mut d1, 0.99), pct(&mut g1, 0.99));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (dt, gt) = (mean(&d16), mean(&g16));

    // Warm deploys and destroys (virtualenvs are cached and survive destroy).
    let mut deploys = Vec::new();
    let mut destroys = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        sb.run("calc", &["destroy", "-y"]).ok();
        destroys.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        sb.run("calc", &["deploy"]).ok();
        deploys.push(t.elapsed().as_secs_f64());
    }
    sb.run("calc", &["destroy", "-y"]).ok();

    println!("| measure | direct | through gateway | gateway vs direct |");
    println!("|---|---|---|---|");
    println!("| tools/call p50, c=1 | {dp50:.3} ms | {gp50:.3} ms | +{:.3} ms |", gp50 - dp50);
    println!("| tools/call p99, c=1 | {dp99:.3} ms | {gp99:.3} ms | +{:.3} ms |", gp99 - dp99);
    println!("| throughput, c=16 | {dt:.0} calls/s | {gt:.0} calls/s | {:.0}% |", 100.0 * gt / dt);
    println!();
    println!("gateway process RSS after the load: {:.1} MiB", rss as f64 / 1024.0);
    println!("gateway process CPU per call at c=1: {cpu_per_call_us:.0} µs");
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    println!("warm deploy of 2 servers until ready (median of 5): {:.2} s", med(&mut deploys));
    println!("destroy (median of 5): {:.3} s", med(&mut destroys));
}
