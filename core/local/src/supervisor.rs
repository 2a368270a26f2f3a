//! The local stack's supervisor: one process (detached by `deploy`, in the foreground for
//! `mcpkit dev`) that serves HTTP and runs every server as a child process, restarting crashed
//! ones with exponential backoff. SIGHUP rereads the plan and restarts only the servers whose
//! hash changed; SIGTERM or SIGINT stops everything.

use super::AuthFile;
use super::gateway::catalog::Catalog;
use super::http::router;
use super::identity::Identities;
use super::paths::LocalPaths;
use super::plan::Exposure;
use super::plan::{self, LocalPlan, ServerPlan, ServerState};
use super::stack::{Stack, binding_authorizer, stamp};
use mcpkit_workspace::error::{Error, Result};
use mcpkit_workspace::secret::Secret;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Loaded by every server process (see the file's own comment).
const SITECUSTOMIZE: &str = include_str!("python/sitecustomize.py");

/// Runs the detached supervisor (`mcpkit __supervise`) until it is told to stop.
///
/// One thread: the gateway's work per call is small and sequential (a JWT check, an upstream
/// request, a reply), and on a single-threaded runtime no task ever wakes another thread, which
/// costs more than the work itself on a loopback hop.
pub fn run_detached(paths: LocalPaths) -> Result<()> {
    super::runtime()?.block_on(run(paths, false, None))
}

/// Runs the supervisor until it is told to stop.
pub async fn run(
    paths: LocalPaths,
    foreground: bool,
    mut reload: Option<tokio::sync::mpsc::UnboundedReceiver<()>>,
) -> Result<()> {
    // Signal handlers first: a stop that comes while the servers start must still stop them.
    let mut hup = signal(SignalKind::hangup()).map_err(|e| Error::world(format!("signals: {e}")))?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| Error::world(format!("signals: {e}")))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| Error::world(format!("signals: {e}")))?;
    let plan: LocalPlan = plan::read_json(&paths.plan())?
        .ok_or_else(|| Error::world("no local plan: run `mcpkit deploy` first"))?;
    let ids = Identities::load(&paths.identities())?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", plan.port))
        .await
        .map_err(|e| Error::world(format!("cannot listen on 127.0.0.1:{}: {e}", plan.port)))?;
    mcpkit_workspace::fs::write_atomic(
        &paths.python_shim().join("sitecustomize.py"),
        SITECUSTOMIZE.as_bytes(),
    )?;
    let auth = AuthFile::load(&paths)?;
    // The gateway's access log, moved aside when big and opened before the first request.
    super::gateway::access::AccessLog::start(&paths);
    let stack = Arc::new(Stack::new(paths.clone(), plan.clone(), ids, auth, foreground));
    let ct = CancellationToken::new();
    let app = router(stack.clone(), plan.gateway.clone(), ct.child_token());
    let server = tokio::spawn(super::http::serve(listener, app, ct.clone()));
    eprintln!("{} supervisor {} listening on {}", stamp(), std::process::id(), stack.base_url);
    // The key is made (when new) while the servers start, not before.
    let keygen = {
        let stack = stack.clone();
        tokio::spawn(async move {
            if let Err(e) = stack.key().await {
                eprintln!("{} cannot make the signing key: {e}", stamp());
            }
        })
    };
    apply(&stack, plan).await;
    let _ = keygen.await;

    loop {
        let reload_requested = async {
            match reload.as_mut() {
                Some(r) => r.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = reload_requested => reload_plan(&stack, &paths).await,
            _ = hup.recv() => reload_plan(&stack, &paths).await,
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    eprintln!("{} stopping", stamp());
    stop_all(&stack).await;
    ct.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(3), server).await;
    let _ = std::fs::remove_file(paths.status());
    Ok(())
}

/// Rereads the plan (and the identities, which a deploy may have extended) and applies it.
async fn reload_plan(stack: &Arc<Stack>, paths: &LocalPaths) {
    match plan::read_json::<LocalPlan>(&paths.plan()) {
        Ok(Some(p)) => {
            eprintln!("{} reloading (generation {})", stamp(), p.generation);
            if let Ok(ids) = Identities::load(&paths.identities()) {
                *stack.identities.write().await = ids;
            }
            if let Ok(auth) = AuthFile::load(paths)
                && *stack.auth.read().await != auth
            {
                *stack.gateway_auth.write().await = binding_authorizer(auth.gateway.as_ref());
                *stack.auth.write().await = auth;
            }
            apply(stack, p).await;
        }
        Ok(None) => eprintln!("{} reload: the plan is gone", stamp()),
        Err(e) => eprintln!("{} reload failed: {e}", stamp()),
    }
}

/// Brings the running servers in line with `plan`: stops removed and changed servers, starts
/// new and changed ones, leaves the rest alone.
pub async fn apply(stack: &Arc<Stack>, plan: LocalPlan) {
    let wanted: BTreeMap<String, ServerPlan> =
        plan.servers.iter().map(|s| (s.name.clone(), s.clone())).collect();
    *stack.plan.write().await = plan;
    let mut to_start = Vec::new();
    {
        let mut servers = stack.servers.write().await;
        let stale: Vec<String> = servers
            .iter()
            .filter(|(name, slot)| wanted.get(*name).map(|w| w.hash != slot.plan.hash).unwrap_or(true))
            .map(|(n, _)| n.clone())
            .collect();
        for name in stale {
            if let Some(slot) = servers.remove(&name) {
                eprintln!("{} stopping {name}", stamp());
                slot.cancel.cancel();
            }
        }
        for (name, sp) in &wanted {
            match servers.get_mut(name) {
                // Same code: keep it running under its new plan (its priority, say).
                Some(slot) => slot.plan = sp.clone(),
                None => to_start.push(sp.clone()),
            }
        }
    }
    for sp in to_start {
        let slot = stack.slot(&sp).await;
        let cancel = slot.cancel.clone();
        stack.servers.write().await.insert(sp.name.clone(), slot);
        tokio::spawn(supervise(stack.clone(), sp, cancel));
    }
    stack.refresh().await;
    stack.write_status().await;
}

async fn stop_all(stack: &Arc<Stack>) {
    let slots: Vec<CancellationToken> =
        stack.servers.read().await.values().map(|s| s.cancel.clone()).collect();
    for c in &slots {
        c.cancel();
    }
    // Give the supervise tasks a moment to kill and reap their children.
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let alive = stack.servers.read().await.values().any(|s| s.status.pid.is_some());
        if !alive {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The header in which the gateway and the runtime endpoint give a server its secret.
pub const SECRET_HEADER: &str = "x-mcpkit-server-secret";
/// The variable that hands a server process its secret; the `sitecustomize` shim takes it out
/// of the server's environment and answers 403 to any request without it, so no other user's
/// process (which cannot read the variable) can call the server on its loopback port.
pub const SECRET_ENV: &str = "MCPKIT_SERVER_SECRET";

/// Backoff before restart number `n` (1-based): 0.5 s doubling up to 30 s.
pub fn backoff(n: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1u64 << n.saturating_sub(1).min(6)))
        .min(Duration::from_secs(30))
}

/// Runs one server for as long as its slot lives, restarting it when it dies.
async fn supervise(stack: Arc<Stack>, sp: ServerPlan, cancel: CancellationToken) {
    let mut restarts = 0u32;
    loop {
        let started = Instant::now();
        let outcome = run_once(&stack, &sp, &cancel).await;
        if cancel.is_cancelled() {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            restarts = 0;
        }
        restarts += 1;
        let delay = backoff(restarts);
        eprintln!("{} {} {outcome}; restarting in {:.1}s", stamp(), sp.name, delay.as_secs_f32());
        stack
            .update(&sp.name, &sp.hash, |s| {
                s.status.state = ServerState::Restarting;
                s.status.pid = None;
                s.status.port = None;
                s.status.restarts += 1;
                s.status.last_error = Some(outcome.clone());
                s.catalog = Default::default();
                s.status.tools = 0;
                s.status.prompts = 0;
                s.status.resources = 0;
            })
            .await;
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = cancel.cancelled() => break,
        }
    }
    stack
        .update(&sp.name, &sp.hash, |s| {
            s.status.state = ServerState::Stopped;
            s.status.pid = None;
            s.status.port = None;
        })
        .await;
}

/// Starts the process once and waits until it exits (or the slot is cancelled). Returns what
/// happened, for the log.
async fn run_once(stack: &Arc<Stack>, sp: &ServerPlan, cancel: &CancellationToken) -> String {
    // A port of its own for every start.
    let port = match super::free_port() {
        Ok(p) => p,
        Err(e) => return e.to_string(),
    };
    let log_path = stack.paths.server_log(&sp.name);
    let pythonpath = match std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
        Some(existing) => {
            let mut v = vec![stack.paths.python_shim()];
            v.extend(std::env::split_paths(&existing));
            std::env::join_paths(v).unwrap_or_default()
        }
        None => stack.paths.python_shim().into_os_string(),
    };
    let secret = Secret::new(format!("{:032x}", rand::random::<u128>()));
    let mut cmd = Command::new(&sp.python);
    if !stack.plan.read().await.inherit_env {
        // As on AgentCore: what mcpkit.toml declares, on a minimal base, not the environment
        // of whoever deployed (which would hide a variable missing on AWS, and leak others).
        cmd.env_clear().envs(base_env(&sp.python));
    }
    cmd.arg(&sp.entrypoint)
        .current_dir(sp.entrypoint.parent().unwrap_or(std::path::Path::new(".")))
        .envs(&sp.env)
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("FASTMCP_PORT", port.to_string())
        .env("FASTMCP_HOST", "127.0.0.1")
        .env("MCPKIT_BIND_PORT", port.to_string())
        .env("MCPKIT_BIND_HOST", "127.0.0.1")
        .env("PYTHONPATH", pythonpath)
        .env("PYTHONUNBUFFERED", "1")
        .env(SECRET_ENV, secret.expose())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    // A server dies with its supervisor, however the supervisor ends (SIGKILL included):
    // the kernel sends it SIGKILL when the thread that started it (a runtime worker, which
    // lives as long as the supervisor) is gone.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                .map_err(|e| std::io::Error::from_raw_os_error(e as i32))?;
            // The supervisor may have died between fork and here.
            if nix::unistd::getppid() == nix::unistd::Pid::from_raw(1) {
                return Err(std::io::Error::other("the supervisor is gone"));
            }
            Ok(())
        });
    }
    if stack.foreground {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    } else {
        super::stack::rotate_log(&log_path);
        let open = || mcpkit_workspace::fs::open_log(&log_path, false);
        match (open(), open()) {
            (Ok(out), Ok(err)) => {
                cmd.stdout(out).stderr(err);
            }
            (Err(e), _) | (_, Err(e)) => return format!("cannot open {}: {e}", log_path.display()),
        }
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return format!("cannot start {}: {e}", sp.python.display()),
    };
    if stack.foreground {
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let name = sp.name.clone();
            let log_path = log_path.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    super::dev::print_line(&name, &line);
                    super::dev::append(&log_path, &line);
                }
            });
        }
    }
    let pid = child.id();
    eprintln!("{} {} started (pid {}, port {port})", stamp(), sp.name, pid.unwrap_or(0));
    // Recorded with the pid, so `destroy` can stop this very process if the supervisor is
    // gone, and never another that reused the pid.
    let start_time = pid.and_then(super::process_start_time);
    stack
        .update(&sp.name, &sp.hash, |s| {
            s.status.state = ServerState::Starting;
            s.status.pid = pid;
            s.status.start_time = start_time;
            s.status.port = Some(port);
        })
        .await;
    let ready = wait_ready(stack, sp, port, secret);
    tokio::pin!(ready);
    let mut is_ready = false;
    loop {
        tokio::select! {
            status = child.wait() => {
                let what = match status {
                    Ok(s) => format!("exited ({s})"),
                    Err(e) => format!("could not be waited for: {e}"),
                };
                return what;
            }
            r = &mut ready, if !is_ready => {
                is_ready = true;
                match r {
                    Ok(n) => eprintln!("{} {} ready ({n} tools)", stamp(), sp.name),
                    Err(e) => {
                        let _ = child.kill().await;
                        return format!("did not become ready: {e}");
                    }
                }
            }
            _ = cancel.cancelled() => {
                let _ = child.kill().await;
                let _ = child.wait().await;
                stack.update(&sp.name, &sp.hash, |s| { s.status.pid = None; }).await;
                return "stopped".into();
            }
        }
    }
}

/// The environment every server starts from (unless `inherit_env`): the virtualenv first on a
/// standard PATH, and the deployer's HOME, language and time zone, which a Python program
/// needs to behave; then mcpkit adds the local contract (PORT, HOST, ...) and mcpkit.toml's
/// `env`.
fn base_env(python: &std::path::Path) -> Vec<(String, String)> {
    let venv = python.parent().and_then(|bin| bin.parent());
    let bin = python.parent().map(|b| b.display().to_string()).unwrap_or_default();
    let mut env = vec![("PATH".to_string(), format!("{bin}:/usr/local/bin:/usr/bin:/bin"))];
    if let Some(v) = venv {
        env.push(("VIRTUAL_ENV".into(), v.display().to_string()));
    }
    for k in BASE_ENV_INHERITED {
        if let Some(v) = std::env::var_os(k) {
            env.push((k.to_string(), v.to_string_lossy().into_owned()));
        }
    }
    if !env.iter().any(|(k, _)| k == "LANG") {
        env.push(("LANG".into(), "C.UTF-8".into()));
    }
    env
}

/// What a server keeps of the deployer's environment.
pub const BASE_ENV_INHERITED: &[&str] = &["HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"];

/// How the server answers a request without its secret: refused when the shim guards it (a
/// uvicorn server: mcpkit's templates, FastMCP), answered when the server listens some other
/// way the shim cannot reach.
async fn exposure(port: u16) -> Exposure {
    let Ok(http) = mcpkit_deploy::net::loopback() else { return Exposure::Open };
    match http.get(format!("http://127.0.0.1:{port}/mcp")).send().await {
        Ok(r) if r.status() == reqwest::StatusCode::FORBIDDEN => Exposure::Guarded,
        _ => Exposure::Open,
    }
}

/// Waits until the server answers through the gateway's upstream (with the runtime's own OAuth
/// token), then records its catalog: tools, prompts, resources and templates.
async fn wait_ready(stack: &Arc<Stack>, sp: &ServerPlan, port: u16, secret: Secret) -> Result<usize> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        if Instant::now() > deadline {
            return Err(Error::world("the server did not listen within 60 s"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let upstream = stack.servers.read().await.get(&sp.name).map(|s| s.upstream.clone());
    let upstream = upstream.ok_or_else(|| Error::world("the server was removed"))?;
    upstream.set_port(port, secret).await;
    let mut last = None;
    while Instant::now() < deadline {
        match async {
            let c = upstream.client().await?;
            Catalog::fetch(&c).await.map_err(Error::world)
        }
        .await
        {
            Ok(catalog) => {
                let n = catalog.tools.len();
                let exposure = exposure(port).await;
                stack
                    .update(&sp.name, &sp.hash, |s| {
                        s.status.tools = n;
                        s.status.prompts = catalog.prompts.len();
                        s.status.resources = catalog.resources.len() + catalog.templates.len();
                        s.status.exposure = Some(exposure);
                        s.catalog = catalog;
                        s.status.state = ServerState::Ready;
                        s.status.last_error = None;
                    })
                    .await;
                return Ok(n);
            }
            Err(e) => {
                upstream.reset().await;
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    Err(last.unwrap_or_else(|| Error::world("timed out")))
}
