//! The embedded local target: the whole topology on this machine, with no AWS account and no
//! Docker. A local OAuth2 issuer (the `local` auth provider), one runtime endpoint per server
//! (JWT-checked, proxying to a real Python process), and one gateway at `/mcp` aggregating
//! every server's tools under AgentCore's names, all served by one supervisor process.

pub mod dev;
pub mod gateway;
pub mod http;
pub mod identity;
pub mod plan;
pub mod provider;
pub mod stack;
pub mod supervisor;
pub mod venv;

use mcpkit_deploy::auth::oauth::{self, ClientCredentials};
use mcpkit_deploy::auth::providers::{Providers, default_for, plugin_error};
pub use mcpkit_deploy::{CredentialsFile, Reporter, Silent, paths, runtime};
use mcpkit_plugin_api::{Authorizer, ProvisionRequest, Resource, ResourceKind, ResourceRequest};
use mcpkit_workspace::error::{Error, Problem, Result};
use mcpkit_workspace::manifest::Workspace;
use mcpkit_workspace::secret::Secret;
use paths::LocalPaths;
use plan::{LocalPlan, ServerPlan, ServerState, Status};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The auth providers, with the built-in `local` one implemented (this crate is its home).
fn providers(ws: &Workspace) -> Providers {
    Providers::load(Some(ws)).with(std::sync::Arc::new(provider::LocalProvider))
}

/// Access tokens live one hour, as Cognito's do by default.
pub const TOKEN_TTL_SECS: u64 = 3600;

/// What deploy did to one resource.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    pub resource: String,
    pub action: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerReport {
    pub name: String,
    pub target: String,
    pub runtime_url: String,
    pub state: ServerState,
    pub tools: usize,
    pub prompts: usize,
    /// Resources and resource templates.
    pub resources: usize,
    pub restarts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Who can call the server on its port: `guarded` (the gateway and runtime endpoint only)
    /// or `open` (any local process).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposure: Option<plan::Exposure>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    pub target: &'static str,
    pub gateway: String,
    pub gateway_url: String,
    pub token_endpoint: String,
    pub discovery_url: String,
    pub user_pool: String,
    pub client_id: Secret,
    pub client_secret: Secret,
    pub access_token: Secret,
    pub credentials_file: PathBuf,
    /// False when nothing needed doing.
    pub changed: bool,
    pub actions: Vec<Action>,
    pub servers: Vec<ServerReport>,
    pub tools: Vec<String>,
    /// Names and URIs of the servers that break a rule or collide (see `gateway::catalog`).
    pub problems: Vec<mcpkit_workspace::names::NameProblem>,
}

/// Refuses auth providers the local target cannot use, naming where they are chosen.
pub fn check_providers(ws: &Workspace, providers: &Providers) -> Result<()> {
    let problems = mcpkit_deploy::auth::providers::problems(ws, providers, "local");
    if problems.is_empty() { Ok(()) } else { Err(Error::Input(problems)) }
}

/// What an auth provider provisioned for one protected resource.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Binding {
    pub provider: String,
    pub authorizer: Authorizer,
    pub client: Option<mcpkit_plugin_api::Client>,
    pub state: serde_json::Value,
}

/// Every binding of the stack (`.mcpkit/local/auth.json`, 0600: it holds client secrets).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct AuthFile {
    pub gateway: Option<Binding>,
    #[serde(default)]
    pub servers: std::collections::BTreeMap<String, Binding>,
}

impl AuthFile {
    pub fn load(paths: &LocalPaths) -> Result<Self> {
        Ok(plan::read_json(&paths.auth())?.unwrap_or_default())
    }
    pub fn save(&self, paths: &LocalPaths) -> Result<()> {
        mcpkit_workspace::fs::write_secret(
            &paths.auth(),
            &serde_json::to_vec_pretty(self).expect("serializable"),
        )
    }
}

/// The JWT authorizer settings of a binding (the local target has no IAM).
pub fn jwt_config(b: &Binding) -> Result<mcpkit_deploy::auth::jwt::AuthorizerConfig> {
    match &b.authorizer {
        Authorizer::Jwt { discovery_url, allowed_clients, allowed_audience, allowed_scopes } => {
            Ok(mcpkit_deploy::auth::jwt::AuthorizerConfig {
                discovery_url: discovery_url.clone(),
                allowed_clients: allowed_clients.clone(),
                allowed_audience: allowed_audience.clone(),
                allowed_scopes: allowed_scopes.clone(),
            })
        }
        Authorizer::Iam => Err(Error::world(format!(
            "auth provider `{}` gave an IAM authorizer, which the local target cannot check",
            b.provider
        ))),
    }
}

/// The OAuth client of a binding, for the client-credentials grant.
pub fn binding_client(b: &Binding) -> Result<ClientCredentials> {
    let c = b
        .client
        .as_ref()
        .ok_or_else(|| Error::world(format!("auth provider `{}` gave no client credentials", b.provider)))?;
    Ok(ClientCredentials {
        token_endpoint: c.token_endpoint.clone(),
        client_id: c.client_id.clone(),
        client_secret: Secret::new(c.client_secret.clone()),
        scope: c.scopes.join(" "),
    })
}

/// The context the local target gives auth providers.
pub fn provider_context(root: &Path, base_url: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    m.insert(
        "workspace".into(),
        std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf()).to_string_lossy().into(),
    );
    m.insert("base_url".into(), base_url.into());
    m
}

/// When a process started (clock ticks since boot), from `/proc`: with the pid, it names a
/// process unambiguously even after the pid is reused.
pub fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start at field 3; the start
    // time is field 22. A zombie is as good as gone.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// True while the supervisor that wrote `status` is alive.
fn supervisor_alive(status: &Status) -> bool {
    status.pid != 0 && process_start_time(status.pid) == Some(status.start_time)
}

/// The running supervisor's status, if one is running for this workspace.
pub fn running(paths: &LocalPaths) -> Option<Status> {
    let status: Status = plan::read_json(&paths.status()).ok()??;
    supervisor_alive(&status).then_some(status)
}

fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A port nobody listens on right now.
pub(crate) fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::world(format!("no free port on 127.0.0.1: {e}")))
}

/// Everything before the stack runs: identities, key, venvs, and the plan. Shared by `deploy`
/// and `dev`. Returns the plan (not written yet), what was done, and the plan it replaces.
pub fn prepare(
    ws: &Workspace,
    reporter: &dyn Reporter,
    running: Option<&Status>,
) -> Result<(LocalPlan, Vec<Action>, Option<LocalPlan>)> {
    ws.ensure_valid()?;
    let providers = providers(ws);
    check_providers(ws, &providers)?;
    let m = ws.manifest();
    let paths = LocalPaths::new(ws.root());
    mcpkit_workspace::fs::private_dir(&paths.dir())?;
    mcpkit_workspace::fs::private_dir(&paths.logs())?;
    let mut actions = Vec::new();

    // The supervisor makes the key when there is none, while the servers start; one that is
    // there must be this user's alone, checked here so deploy says so at once.
    if !paths.signing_key().exists() {
        actions.push(Action { resource: "signing key".into(), action: "create" });
    } else {
        identity::check_private(&paths.signing_key())?;
    }
    // Virtualenvs, in parallel: they are most of a cold deploy's time. Only those not
    // current are made, and the installer is chosen (uv bootstrapped, if need be) only then.
    let stale: Vec<(&String, PathBuf, PathBuf)> = m
        .servers
        .iter()
        .map(|(name, server)| (name, paths.venv(name), ws.resolve(&server.requirements)))
        .filter(|(_, venv, reqs)| !venv::is_current(venv, reqs))
        .collect();
    let installer = if stale.is_empty() {
        mcpkit_deploy::uv::Installer::Pip
    } else {
        mcpkit_deploy::uv::installer(&|n: &str| reporter.say(n))
    };
    let installer = &installer;
    let results: Vec<(String, Result<venv::VenvAction>)> = std::thread::scope(|s| {
        let handles: Vec<_> = stale
            .into_iter()
            .map(|(name, venv, reqs)| {
                let log = paths.logs().join(format!("{name}.install.log"));
                let name = name.clone();
                s.spawn(move || {
                    reporter.begin(&format!("venv:{name}"), &format!("installing {name}'s requirements"));
                    let r = venv::ensure(&venv, &reqs, &log, installer);
                    reporter.end(&format!("venv:{name}"), &format!("{name}: requirements installed"));
                    (name, r)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("venv thread")).collect()
    });
    for (name, r) in results {
        match r? {
            venv::VenvAction::Reused => {}
            venv::VenvAction::Created => {
                actions.push(Action { resource: format!("venv {name}"), action: "create" })
            }
            venv::VenvAction::Rebuilt => {
                actions.push(Action { resource: format!("venv {name}"), action: "update" })
            }
        }
    }

    let old: Option<LocalPlan> = plan::read_json(&paths.plan())?;
    let port = match (m.targets.local.port, running, old.as_ref()) {
        (Some(p), _, _) => {
            if running.map(|s| s.port) != Some(p) && !port_is_free(p) {
                return Err(Error::input(
                    ws.problem_at(&["targets", "local", "port"], format!("port {p} is already in use"))
                        .hint("choose another port, or remove the setting to let mcpkit pick a free one"),
                ));
            }
            p
        }
        (None, Some(s), _) => s.port,
        (None, None, Some(o)) if port_is_free(o.port) => o.port,
        _ => free_port()?,
    };
    let servers: Vec<ServerPlan> = m
        .servers
        .iter()
        .map(|(name, s)| {
            let n = mcpkit_workspace::names::server(&m.gateway.name, name);
            let entrypoint = mcpkit_workspace::fs::normalize(
                &std::path::absolute(ws.resolve(&s.entrypoint)).unwrap_or_default(),
            );
            let python = venv::python(&paths.venv(name));
            let mut hash = plan::server_hash(&entrypoint, &ws.resolve(&s.requirements), &s.env, &python);
            if ws.manifest().targets.local.inherit_env {
                // Another environment: the server starts again.
                hash = plan::short_hash(&format!("{hash} inherit_env"));
            }
            ServerPlan {
                name: name.clone(),
                runtime: n.runtime,
                target: n.target,
                python,
                entrypoint,
                env: s.env.clone(),
                resource_priority: s.resource_priority.unwrap_or(gateway::catalog::DEFAULT_PRIORITY),
                hash,
            }
        })
        .collect();
    // Identities, through each leg's auth provider.
    let base_url = format!("http://127.0.0.1:{port}");
    let context = provider_context(ws.root(), &base_url);
    let previous = AuthFile::load(&paths)?;
    let provision = |kind: ResourceKind,
                     name: &str,
                     chosen: &Option<String>,
                     before: Option<&Binding>|
     -> Result<Binding> {
        let provider = chosen.clone().unwrap_or_else(|| default_for("local").to_string());
        let (p, config) = providers.get(&provider)?;
        let state = before.filter(|b| b.provider == provider).map(|b| b.state.clone());
        let r = p
            .provision(ProvisionRequest {
                target: "local".into(),
                resource: Resource { kind, name: name.to_string() },
                config,
                context: context.clone(),
                state,
            })
            .map_err(plugin_error)?;
        Ok(Binding { provider, authorizer: r.authorizer, client: r.client, state: r.state })
    };
    let mut auth = AuthFile {
        gateway: Some(provision(
            ResourceKind::Gateway,
            &m.gateway.name,
            &m.gateway.auth,
            previous.gateway.as_ref(),
        )?),
        servers: Default::default(),
    };
    for (name, s) in &m.servers {
        let b = provision(ResourceKind::Runtime, name, &s.auth, previous.servers.get(name))?;
        auth.servers.insert(name.clone(), b);
    }
    // A server whose auth changed is restarted like one whose code changed.
    let servers: Vec<ServerPlan> = servers
        .into_iter()
        .map(|mut sp: ServerPlan| {
            if let Some(b) = auth.servers.get(&sp.name) {
                let fingerprint =
                    serde_json::json!([b.provider, b.authorizer, b.client.as_ref().map(|c| &c.client_id)]);
                sp.hash = plan::short_hash(&format!("{}{fingerprint}", sp.hash));
            }
            sp
        })
        .collect();
    if auth != previous {
        if previous.gateway.is_none() {
            actions.push(Action { resource: format!("identity {}", m.gateway.name), action: "create" });
        }
        auth.save(&paths)?;
    }

    let plan = LocalPlan {
        generation: old.as_ref().map(|o| o.generation + 1).unwrap_or(1),
        workspace: std::path::absolute(ws.root()).unwrap_or_else(|_| ws.root().to_path_buf()),
        gateway: m.gateway.name.clone(),
        port,
        token_ttl_secs: ws.manifest().targets.local.token_lifetime_s.unwrap_or(TOKEN_TTL_SECS),
        inherit_env: ws.manifest().targets.local.inherit_env,
        environment: ws.environment().map(str::to_string),
        servers,
    };
    if let Some(o) = &old {
        for s in &plan.servers {
            match o.servers.iter().find(|x| x.name == s.name) {
                None => actions.push(Action { resource: format!("server {}", s.name), action: "create" }),
                Some(x) if x.hash != s.hash => {
                    actions.push(Action { resource: format!("server {}", s.name), action: "restart" })
                }
                _ => {}
            }
        }
        for x in o.servers.iter().filter(|x| !plan.servers.iter().any(|s| s.name == x.name)) {
            actions.push(Action { resource: format!("server {}", x.name), action: "delete" });
        }
    } else {
        for s in &plan.servers {
            actions.push(Action { resource: format!("server {}", s.name), action: "create" });
        }
    }
    Ok((plan, actions, old))
}

/// Options of `deploy` on the local target.
pub struct DeployOptions<'a> {
    /// The mcpkit executable that runs the supervisor (`mcpkit __supervise`).
    pub exe: PathBuf,
    pub reporter: &'a dyn Reporter,
    pub timeout: Duration,
}

/// Holds the workspace's local-target lock (`.mcpkit/local.lock`) while it lives: a second
/// `deploy` or `destroy` of the same workspace waits for the first, instead of both writing
/// the plan, the identities and the auth bindings at once.
struct Exclusive(#[allow(dead_code)] nix::fcntl::Flock<std::fs::File>);

/// How long a deploy or destroy waits for another one to finish.
const LOCK_WAIT: Duration = Duration::from_secs(600);

fn exclusive(paths: &LocalPaths) -> Result<Exclusive> {
    let path = paths.mcpkit().join("local.lock");
    mcpkit_workspace::fs::private_dir(&paths.mcpkit())?;
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(Exclusive(lock)),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err((_, e)) => {
                return Err(Error::world(format!(
                    "another `mcpkit deploy` or `destroy` of this workspace is still at work ({e})"
                ))
                .with_hint("wait for it to end, then run this again"));
            }
        }
    }
}

pub fn deploy(ws: &Workspace, opts: &DeployOptions) -> Result<DeployReport> {
    let paths = LocalPaths::new(ws.root());
    let _exclusive = exclusive(&paths)?;
    let status = running(&paths);
    let (mut plan, actions, old) = prepare(ws, opts.reporter, status.as_ref())?;
    let unchanged = status.is_some() && old.as_ref().is_some_and(|o| o.same_as(&plan));
    if unchanged {
        plan.generation = old.as_ref().map(|o| o.generation).unwrap_or(plan.generation);
    } else {
        plan::write_json(&paths.plan(), &plan)?;
        match &status {
            Some(s) => {
                nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(s.pid as i32),
                    nix::sys::signal::Signal::SIGHUP,
                )
                .map_err(|e| Error::world(format!("cannot signal the supervisor ({}): {e}", s.pid)))?;
            }
            None => spawn_supervisor(&paths, &opts.exe)?,
        }
    }
    if !unchanged {
        opts.reporter.begin("start", "starting servers and gateway");
    }
    let status = wait_ready(&paths, &plan, opts.timeout);
    if !unchanged {
        opts.reporter.end("start", "servers and gateway ready");
    }
    let status = status?;
    let rt = runtime()?;
    let gateway = gateway_binding(&paths)?;
    let creds = binding_client(&gateway)?;
    let Authorizer::Jwt { discovery_url, .. } = &gateway.authorizer else {
        return Err(Error::world("the gateway has no JWT authorizer"));
    };
    // The original toolkit shows the pool: the provider's pool id when it has one.
    let user_pool = gateway
        .state
        .get("pool_id")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}-pool", plan.gateway));
    let (token, tools) = rt.block_on(check_gateway(&creds, &plan))?;
    let credentials_file = paths.credentials("local", &plan.gateway);
    let file = CredentialsFile {
        target: "local".into(),
        gateway: plan.gateway.clone(),
        gateway_url: plan.gateway_url(),
        token_endpoint: creds.token_endpoint.clone(),
        discovery_url: discovery_url.clone(),
        client_id: creds.client_id.clone(),
        client_secret: creds.client_secret.expose().to_string(),
        scope: creds.scope.clone(),
        access_token: token.access_token.expose().to_string(),
        expires_at: token.expires_at_unix(),
        issued_at: mcpkit_deploy::unix_now(),
        region: None,
    };
    mcpkit_workspace::fs::write_secret(
        &credentials_file,
        &serde_json::to_vec_pretty(&file).expect("serializable"),
    )?;
    Ok(DeployReport {
        target: "local",
        gateway: plan.gateway.clone(),
        gateway_url: plan.gateway_url(),
        token_endpoint: creds.token_endpoint,
        discovery_url: file.discovery_url,
        user_pool,
        client_id: Secret::new(creds.client_id),
        client_secret: creds.client_secret,
        access_token: token.access_token,
        credentials_file,
        changed: !unchanged,
        actions: if unchanged { vec![] } else { actions },
        servers: server_reports(&plan, &status),
        tools,
        problems: status.problems.clone(),
    })
}

fn server_reports(plan: &LocalPlan, status: &Status) -> Vec<ServerReport> {
    plan.servers
        .iter()
        .map(|s| {
            let st = status.servers.get(&s.name);
            ServerReport {
                name: s.name.clone(),
                target: s.target.clone(),
                runtime_url: plan::runtime_url(&plan.base_url(), &s.runtime),
                state: st.map(|x| x.state).unwrap_or(ServerState::Stopped),
                tools: st.map(|x| x.tools).unwrap_or(0),
                prompts: st.map(|x| x.prompts).unwrap_or(0),
                resources: st.map(|x| x.resources).unwrap_or(0),
                restarts: st.map(|x| x.restarts).unwrap_or(0),
                pid: st.and_then(|x| x.pid),
                port: st.and_then(|x| x.port),
                last_error: st.and_then(|x| x.last_error.clone()),
                exposure: st.and_then(|x| x.exposure),
            }
        })
        .collect()
}

/// The gateway's binding, as its auth provider provisioned it.
fn gateway_binding(paths: &LocalPaths) -> Result<Binding> {
    AuthFile::load(paths)?
        .gateway
        .ok_or_else(|| Error::world("the gateway's identity is missing; run `mcpkit deploy`"))
}

/// The gateway's client credentials, as its auth provider provisioned them.
pub fn gateway_credentials(paths: &LocalPaths) -> Result<ClientCredentials> {
    binding_client(&gateway_binding(paths)?)
}

/// Fetches a gateway token the way a client would and lists the tools through the gateway;
/// every server with tools must show up.
async fn check_gateway(creds: &ClientCredentials, plan: &LocalPlan) -> Result<(oauth::Token, Vec<String>)> {
    mcpkit_deploy::install_crypto();
    let token = oauth::client_credentials(creds).await?;
    let client = mcpkit_deploy::mcp::connect(
        &plan.gateway_url(),
        Some(&token.access_token),
        mcpkit_deploy::mcp::Lifecycle::Modern,
    )
    .await?;
    let tools = client
        .list_all_tools()
        .await
        .map_err(|e| Error::world(format!("tools/list through the gateway: {e}")))?;
    let _ = client.cancel().await;
    let names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    Ok((token, names))
}

fn spawn_supervisor(paths: &LocalPaths, exe: &Path) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let log = paths.supervisor_log();
    stack::rotate_log(&log);
    let open = || mcpkit_workspace::fs::open_log(&log, false);
    let (out, err) =
        (open().map_err(|e| Error::io("open", &log, e))?, open().map_err(|e| Error::io("open", &log, e))?);
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("__supervise")
        .arg("--workspace")
        .arg(&paths.root)
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err);
    // A session of its own: the stack outlives the terminal that deployed it.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map(|_| ()).map_err(|e| std::io::Error::from_raw_os_error(e as i32))
        });
    }
    cmd.spawn().map_err(|e| Error::world(format!("cannot start the supervisor {}: {e}", exe.display())))?;
    Ok(())
}

/// Waits until the supervisor has applied `plan` and every server is ready. Fails early, with
/// the relevant log's last lines, when the supervisor dies or a server keeps crashing.
fn wait_ready(paths: &LocalPaths, plan: &LocalPlan, timeout: Duration) -> Result<Status> {
    let start = Instant::now();
    let mut seen_supervisor = false;
    loop {
        let status: Option<Status> = plan::read_json(&paths.status()).ok().flatten();
        if let Some(st) = &status {
            let alive = supervisor_alive(st);
            seen_supervisor |= alive;
            if alive && st.generation == plan.generation {
                let all_ready = plan.servers.iter().all(|s| {
                    st.servers.get(&s.name).is_some_and(|x| x.state == ServerState::Ready && x.hash == s.hash)
                });
                if all_ready {
                    return Ok(st.clone());
                }
                if let Some((name, x)) =
                    st.servers.iter().find(|(_, x)| x.restarts >= 3 && x.state != ServerState::Ready)
                {
                    return Err(Error::world(format!(
                        "server `{name}` keeps failing ({}); last lines of {}:\n{}",
                        x.last_error.as_deref().unwrap_or("unknown"),
                        paths.server_log(name).display(),
                        venv::tail_lines(&paths.server_log(name), 15)
                    ))
                    .with_hint("fix the server, then run `mcpkit deploy` again; `mcpkit logs` shows more"));
                }
            }
        }
        if start.elapsed() > Duration::from_secs(3)
            && !seen_supervisor
            && status.as_ref().is_none_or(|s| !supervisor_alive(s))
        {
            let tail = venv::tail_lines(&paths.supervisor_log(), 10);
            if start.elapsed() > Duration::from_secs(10) || tail.contains("error") {
                return Err(Error::world(format!(
                    "the local stack did not start; last lines of {}:\n{tail}",
                    paths.supervisor_log().display()
                )));
            }
        }
        if start.elapsed() > timeout {
            return Err(Error::world(format!(
                "the local stack was not ready within {} s; see `mcpkit status` and `mcpkit logs`",
                timeout.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub target: &'static str,
    pub running: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// The environment the stack runs, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub servers: Vec<ServerReport>,
    pub problems: Vec<mcpkit_workspace::names::NameProblem>,
}

pub fn status(ws: &Workspace) -> Result<StatusReport> {
    let paths = LocalPaths::new(ws.root());
    let plan: Option<LocalPlan> = plan::read_json(&paths.plan())?;
    let st = running(&paths);
    let Some(plan) = plan else {
        return Ok(StatusReport {
            target: "local",
            running: false,
            pid: None,
            gateway_url: None,
            token_endpoint: None,
            environment: None,
            servers: vec![],
            problems: vec![],
        });
    };
    let empty = Status {
        generation: 0,
        pid: 0,
        start_time: 0,
        port: plan.port,
        servers: Default::default(),
        problems: vec![],
    };
    Ok(StatusReport {
        target: "local",
        running: st.is_some(),
        pid: st.as_ref().map(|s| s.pid),
        gateway_url: Some(plan.gateway_url()),
        token_endpoint: gateway_credentials(&paths).ok().map(|c| c.token_endpoint),
        environment: plan.environment.clone(),
        servers: server_reports(&plan, st.as_ref().unwrap_or(&empty)),
        problems: st.map(|s| s.problems).unwrap_or_default(),
    })
}

/// One local stack runs at a time: a command for another environment than the one it runs
/// is refused rather than quietly served by the wrong servers.
fn same_environment(ws: &Workspace, plan: &LocalPlan) -> Result<()> {
    if plan.environment.as_deref() == ws.environment() {
        return Ok(());
    }
    let name = |e: Option<&str>| e.map(|e| format!("environment `{e}`")).unwrap_or("no environment".into());
    let flag = |e: Option<&str>| e.map(|e| format!(" --env {e}")).unwrap_or_default();
    Err(Error::input(
        Problem::new(format!(
            "the local stack runs {}, not {}",
            name(plan.environment.as_deref()),
            name(ws.environment())
        ))
        .field("--env")
        .hint(format!(
            "{} to use it, or run `mcpkit deploy{}` to run that one instead (one local stack at a time)",
            match plan.environment.as_deref() {
                Some(e) => format!("pass --env {e}"),
                None => "leave out --env".to_string(),
            },
            flag(ws.environment())
        )),
    ))
}

/// The running stack's plan, or a clear error saying how to start it.
pub fn deployed(ws: &Workspace) -> Result<(LocalPaths, LocalPlan)> {
    let paths = LocalPaths::new(ws.root());
    let plan: Option<LocalPlan> = plan::read_json(&paths.plan())?;
    match (plan, running(&paths)) {
        (Some(p), Some(_)) => {
            same_environment(ws, &p)?;
            Ok((paths, p))
        }
        _ => Err(Error::input(
            Problem::new("the local stack is not running").hint("run `mcpkit deploy` first"),
        )),
    }
}

/// The gateway's URL, once deployed, whether or not it is running now (a proxy started while
/// the stack restarts waits for it; one started for a stack never deployed is refused).
pub fn gateway_url(ws: &Workspace) -> Result<String> {
    let paths = LocalPaths::new(ws.root());
    match plan::read_json::<LocalPlan>(&paths.plan())? {
        Some(p) => {
            same_environment(ws, &p)?;
            Ok(p.gateway_url())
        }
        None => Err(Error::input(
            Problem::new("the local stack is not deployed").hint("run `mcpkit deploy` first"),
        )),
    }
}

/// A fresh gateway access token (from the gateway's auth provider) and the gateway URL.
pub fn token(ws: &Workspace) -> Result<mcpkit_deploy::GatewayToken> {
    let (paths, plan) = deployed(ws)?;
    let auth = AuthFile::load(&paths)?;
    let b =
        auth.gateway.ok_or_else(|| Error::world("the gateway's identity is missing; run `mcpkit deploy`"))?;
    let providers = providers(ws);
    let (p, config) = providers.get(&b.provider)?;
    let t = p
        .token(ResourceRequest {
            target: "local".into(),
            resource: Resource { kind: ResourceKind::Gateway, name: plan.gateway.clone() },
            config,
            context: provider_context(ws.root(), &plan.base_url()),
            state: b.state.clone(),
        })
        .map_err(plugin_error)?;
    Ok(mcpkit_deploy::GatewayToken {
        url: plan.gateway_url(),
        token: Secret::new(t.access_token),
        lifetime: std::time::Duration::from_secs(t.expires_in),
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct DestroyReport {
    pub target: &'static str,
    pub stopped: bool,
    /// Servers still running after their supervisor was gone, which destroy had to kill.
    pub orphans: Vec<String>,
    pub removed: Vec<PathBuf>,
    /// What providers could not release (reported, not fatal: the local state is gone anyway).
    pub teardown_errors: Vec<String>,
}

pub fn destroy(ws: &Workspace) -> Result<DestroyReport> {
    use nix::sys::signal::{Signal, kill, killpg};
    use nix::unistd::Pid;
    let paths = LocalPaths::new(ws.root());
    let _exclusive = exclusive(&paths)?;
    // `destroy --env dev` must not take down the staging stack that runs instead.
    if let Some(plan) = plan::read_json::<LocalPlan>(&paths.plan())? {
        same_environment(ws, &plan)?;
    }
    let mut stopped = false;
    let mut orphans = Vec::new();
    // What the supervisor last wrote, whether or not it is still alive.
    if let Some(st) = plan::read_json::<Status>(&paths.status()).ok().flatten() {
        if supervisor_alive(&st) {
            let pid = Pid::from_raw(st.pid as i32);
            let _ = kill(pid, Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while supervisor_alive(&st) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if supervisor_alive(&st) {
                // The supervisor leads its own session and process group: take all of it.
                let _ = killpg(pid, Signal::SIGKILL);
            }
            stopped = true;
        }
        // Servers the supervisor did not stop (it was killed, say): each recorded process that
        // is still the one recorded (same pid, same start time).
        for (name, s) in &st.servers {
            if let (Some(pid), Some(start)) = (s.pid, s.start_time)
                && process_start_time(pid) == Some(start)
            {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
                orphans.push(name.clone());
                stopped = true;
            }
        }
    }
    // Each leg's provider tears down what it provisioned (the `local` provider's realms go
    // with the folder below anyway; a plugin may have something of its own to release).
    let mut teardown_errors = Vec::new();
    if let Ok(auth) = AuthFile::load(&paths) {
        let providers = providers(ws);
        let base = plan::read_json::<LocalPlan>(&paths.plan())
            .ok()
            .flatten()
            .map(|p| p.base_url())
            .unwrap_or_default();
        let legs = auth
            .gateway
            .iter()
            .map(|b| (ResourceKind::Gateway, ws.manifest().gateway.name.clone(), b))
            .chain(auth.servers.iter().map(|(n, b)| (ResourceKind::Runtime, n.clone(), b)));
        for (kind, name, b) in legs {
            // A plugin that cannot be used now (untrusted since, say) is not loaded: its
            // teardown is reported as not done, and the local state goes all the same.
            let (p, config) = match providers.get(&b.provider) {
                Ok(pc) => pc,
                Err(e) => {
                    teardown_errors.push(format!("{name}: {e}"));
                    continue;
                }
            };
            let r = p.teardown(ResourceRequest {
                target: "local".into(),
                resource: Resource { kind, name: name.clone() },
                config,
                context: provider_context(ws.root(), &base),
                state: b.state.clone(),
            });
            if let Err(e) = r {
                teardown_errors.push(format!("{name}: {}", e.message));
            }
        }
    }
    // Everything of the deployment goes. The workspace's signing key stays, like the
    // virtualenvs: making an RSA key costs up to a second of CPU on every deploy after a
    // destroy, and keeping it lets no old token back in (the next deploy's realms have new
    // ids, so new issuers, and new clients).
    let mut removed = Vec::new();
    if let Ok(entries) = std::fs::read_dir(paths.dir()) {
        for e in entries.flatten() {
            let path = e.path();
            if path == paths.signing_key() {
                continue;
            }
            let r = if e.file_type().is_ok_and(|t| t.is_dir()) {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            r.map_err(|err| Error::io("remove", &path, err))?;
            removed.push(path);
        }
    }
    if let Ok(entries) = std::fs::read_dir(paths.credentials_dir()) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with("local-") {
                let _ = std::fs::remove_file(e.path());
                removed.push(e.path());
            }
        }
    }
    Ok(DestroyReport { target: "local", stopped, orphans, removed, teardown_errors })
}
