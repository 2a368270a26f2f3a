//! Benchmark of the local target (run with `cargo bench --bench gateway`; results go to
//! docs/benchmarks.md). Measures, side by side in one run:
//! - `tools/call`, `prompts/get` and `resources/read` latency and throughput straight to a
//!   server and through the gateway (same rmcp client code, concurrency 1 and 16), interleaved
//!   to cancel out machine noise;
//! - the gateway process's resident memory after the load;
//! - a warm deploy (virtualenvs cached) of three servers until ready, and a destroy;
//! - `tools/list` through a gateway of 20 servers with 10 tools each.

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::Sandbox;
use support::mcp::{self, Era};

const CALLS_C1: usize = 400;
const CALLS_PER_TASK_C16: usize = 100;

/// What a measured request does.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// `tools/call` of the calculator's `add`.
    Call,
    /// `prompts/get` of the blank template's `explain`.
    Prompt,
    /// `resources/read` of the blank template's `about://notes`.
    Read,
}

impl Op {
    const ALL: [Op; 3] = [Op::Call, Op::Prompt, Op::Read];

    fn label(self) -> &'static str {
        match self {
            Op::Call => "tools/call",
            Op::Prompt => "prompts/get",
            Op::Read => "resources/read",
        }
    }

    /// One request; `gateway` says whether names carry the target prefix.
    async fn once(self, c: &mcp::Client, gateway: bool, i: usize) {
        match self {
            Op::Call => {
                let name = if gateway { "calc-target___add" } else { "add" };
                let r = mcp::call(c, name, json!({"a": i, "b": 1})).await;
                assert_ne!(r.is_error, Some(true));
            }
            Op::Prompt => {
                let name = if gateway { "notes-target___explain" } else { "explain" };
                let mut p = rmcp::model::GetPromptRequestParams::new(name);
                p.arguments = json!({"topic": format!("t{i}")}).as_object().cloned();
                assert!(!c.get_prompt(p).await.unwrap().messages.is_empty());
            }
            Op::Read => {
                let p = rmcp::model::ReadResourceRequestParams::new("about://notes");
                assert!(!c.read_resource(p).await.unwrap().contents.is_empty());
            }
        }
    }
}

/// A client of the gateway (with its token) or straight to a server (with its secret).
#[derive(Clone, Copy)]
enum Via<'a> {
    Gateway(&'a str),
    Direct(Option<&'a str>),
}

async fn client(url: &str, via: Via<'_>) -> mcp::Client {
    match via {
        Via::Gateway(token) => mcp::connect(url, Some(token), Era::Legacy).await.unwrap(),
        Via::Direct(secret) => mcp::connect_direct(url, secret, Era::Legacy).await.unwrap(),
    }
}

async fn latency(url: &str, via: Via<'_>, op: Op, n: usize) -> Vec<Duration> {
    let c = client(url, via).await;
    let gateway = matches!(via, Via::Gateway(_));
    for i in 0..20 {
        op.once(&c, gateway, i).await;
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        op.once(&c, gateway, i).await;
        out.push(t.elapsed());
    }
    let _ = c.cancel().await;
    out
}

async fn throughput(url: &str, via: Via<'_>, op: Op, tasks: usize, per_task: usize) -> f64 {
    let gateway = matches!(via, Via::Gateway(_));
    let mut clients = Vec::new();
    for _ in 0..tasks {
        clients.push(std::sync::Arc::new(client(url, via).await));
    }
    let start = Instant::now();
    let handles: Vec<_> = clients
        .iter()
        .cloned()
        .map(|c| {
            tokio::spawn(async move {
                for i in 0..per_task {
                    op.once(&c, gateway, i).await;
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

/// One operation's samples: latencies at c=1 and throughputs at c=16, direct and through the
/// gateway.
#[derive(Default)]
struct Samples {
    direct_c1: Vec<Duration>,
    gateway_c1: Vec<Duration>,
    direct_c16: Vec<f64>,
    gateway_c16: Vec<f64>,
}

const MANY_TOOLS: &str = r#"
import os
from mcp.server.mcpserver import MCPServer

mcp = MCPServer("many")


def make(i):
    def tool(x: int) -> int:
        return x + i
    tool.__doc__ = f"Adds {i} to x."
    return tool


for i in range(10):
    mcp.tool(name=f"tool_{i}")(make(i))

if __name__ == "__main__":
    mcp.run(transport="streamable-http", host=os.environ["HOST"], port=int(os.environ["PORT"]),
            streamable_http_path="/mcp", stateless_http=True, json_response=True)
"#;

/// `tools/list` through a gateway of 20 servers with 10 tools each: the p50 of one page and of
/// the whole list (every page), in ms.
fn many_servers(rt: &tokio::runtime::Runtime) -> (f64, f64, usize) {
    let sb = Sandbox::new();
    sb.run(".", &["new", "many", "-t", "blank"]).ok();
    for i in 0..20 {
        let dir = sb.path().join(format!("many/fleet/s{i:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("server.py"), MANY_TOOLS).unwrap();
        std::fs::write(dir.join("requirements.txt"), format!("{}\n", mcpkit_core::MCP_REQUIREMENT)).unwrap();
        let (e, r) = (format!("fleet/s{i:02}/server.py"), format!("fleet/s{i:02}/requirements.txt"));
        sb.run("many", &["add-server", &format!("s{i:02}"), "--entrypoint", &e, "--requirements", &r]).ok();
    }
    sb.run("many", &["deploy"]).ok();
    let status: Value = serde_json::from_str(&sb.run("many", &["status", "--json"]).stdout).unwrap();
    let url = status["gateway_url"].as_str().unwrap().to_string();
    let token = sb.run("many", &["token"]).stdout.trim().to_string();
    let (mut page, mut all, mut count) = (Vec::new(), Vec::new(), 0);
    rt.block_on(async {
        let c = mcp::connect(&url, Some(&token), Era::Legacy).await.unwrap();
        for round in 0..220 {
            let t = Instant::now();
            let first = c.list_tools(None).await.unwrap();
            let one = t.elapsed();
            let t = Instant::now();
            count = c.list_all_tools().await.unwrap().len();
            if round >= 20 {
                page.push(one);
                all.push(t.elapsed());
            }
            assert!(first.next_cursor.is_some(), "201 tools take more than one page");
        }
        let _ = c.cancel().await;
    });
    sb.run("many", &["destroy", "-y"]).ok();
    (pct(&mut page, 0.5), pct(&mut all, 0.5), count)
}

fn main() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "calc", "-t", "calculator"]).ok();
    sb.run("calc", &["add-server", "greeter", "-t", "helloworld"]).ok();
    sb.run("calc", &["add-server", "notes", "-t", "blank"]).ok();
    sb.run("calc", &["deploy"]).ok();
    let status: Value = serde_json::from_str(&sb.run("calc", &["status", "--json"]).stdout).unwrap();
    let gateway = status["gateway_url"].as_str().unwrap().to_string();
    let server = |name: &str| {
        status["servers"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap().clone()
    };
    let direct = |op: Op| {
        let s = server(if matches!(op, Op::Call) { "calc" } else { "notes" });
        let url = format!("http://127.0.0.1:{}/mcp", s["port"].as_u64().unwrap());
        (url, mcp::initial_env(s["pid"].as_u64().unwrap() as u32, "MCPKIT_SERVER_SECRET"))
    };
    let token = sb.run("calc", &["token"]).stdout.trim().to_string();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    let supervisor = status["pid"].as_u64().unwrap();
    let mut results: Vec<Samples> = Op::ALL.iter().map(|_| Samples::default()).collect();
    let mut gateway_ticks = 0;
    rt.block_on(async {
        for _round in 0..3 {
            for (k, op) in Op::ALL.into_iter().enumerate() {
                let (url, secret) = direct(op);
                let direct = Via::Direct(secret.as_deref());
                let r = &mut results[k];
                r.direct_c1.extend(latency(&url, direct, op, CALLS_C1).await);
                let before = cpu_ticks(supervisor);
                r.gateway_c1.extend(latency(&gateway, Via::Gateway(&token), op, CALLS_C1).await);
                if matches!(op, Op::Call) {
                    gateway_ticks += cpu_ticks(supervisor) - before;
                }
                r.direct_c16.push(throughput(&url, direct, op, 16, CALLS_PER_TASK_C16).await);
                r.gateway_c16
                    .push(throughput(&gateway, Via::Gateway(&token), op, 16, CALLS_PER_TASK_C16).await);
            }
        }
    });
    let rss = rss_kib(supervisor);
    // Per call at c=1, including each round's connect and warm-up calls (20 of 420).
    let cpu_per_call_us = gateway_ticks as f64 * 10_000.0 / (3 * (CALLS_C1 + 20)) as f64;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;

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
    let (page_p50, all_p50, listed) = many_servers(&rt);

    println!("| measure | direct | through gateway | gateway vs direct |");
    println!("|---|---|---|---|");
    for (k, op) in Op::ALL.into_iter().enumerate() {
        let Samples { direct_c1: d1, gateway_c1: g1, direct_c16: d16, gateway_c16: g16 } = &mut results[k];
        let (dp50, gp50) = (pct(d1, 0.5), pct(g1, 0.5));
        let (dp99, gp99) = (pct(d1, 0.99), pct(g1, 0.99));
        let (dt, gt) = (mean(d16), mean(g16));
        let l = op.label();
        println!("| {l} p50, c=1 | {dp50:.3} ms | {gp50:.3} ms | +{:.3} ms |", gp50 - dp50);
        println!("| {l} p99, c=1 | {dp99:.3} ms | {gp99:.3} ms | +{:.3} ms |", gp99 - dp99);
        println!("| {l} throughput, c=16 | {dt:.0}/s | {gt:.0}/s | {:.0}% |", 100.0 * gt / dt);
    }
    println!();
    println!("gateway process RSS after the load: {:.1} MiB", rss as f64 / 1024.0);
    println!("gateway process CPU per tools/call at c=1: {cpu_per_call_us:.0} µs");
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    println!("warm deploy of 3 servers until ready (median of 5): {:.2} s", med(&mut deploys));
    println!("destroy (median of 5): {:.3} s", med(&mut destroys));
    println!(
        "tools/list through a gateway of 20 servers x 10 tools ({listed} tools): one page p50 {page_p50:.3} ms, all pages p50 {all_p50:.3} ms"
    );
}
