//! The AWS target's commands: `deploy --target aws [--dry-run]`, `destroy --target aws`,
//! `token --target aws`, and the gateway's address and credentials for `tools`/`call`.
//!
//! Each is the engine run over [`AwsCloud`] with the state in `.mcpkit/state/aws-<region>.json`:
//! read what the state says exists, plan, apply (independent servers concurrently), and write
//! the credentials file. What happened is in the state after every step, so any of them can be
//! interrupted and run again.

use super::artifact;
use super::cloud::{AwsCloud, Waits};
use super::resources::{self as res, ClientOut, DomainOut, GatewayOut, Outputs, PoolOut};
use super::sdk::{self, Aws, Settings};
use super::{Context, Leg, kind, leg, policy};
use mcpkit_deploy::auth::oauth::{self, ClientCredentials};
use mcpkit_deploy::paths::LocalPaths;
use mcpkit_deploy::{CredentialsFile, Reporter};
use mcpkit_engine::{self as engine, Action, Key, Observer, Plan, State, StateStore, Step};
use mcpkit_workspace::error::{Error, Problem, Result};
use mcpkit_workspace::manifest::Workspace;
use mcpkit_workspace::names;
use mcpkit_workspace::secret::Secret;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How many steps run at once: AgentCore calls are slow (polling), not heavy.
pub const CONCURRENCY: usize = 16;

pub struct Options<'a> {
    pub settings: Settings,
    pub dry_run: bool,
    /// Also make the original toolkit's test user in the gateway's pool.
    pub test_user: bool,
    /// Steps run at once (at least 1).
    pub jobs: usize,
    pub reporter: &'a dyn Reporter,
    pub waits: Waits,
}

/// One step of a deploy or destroy, for printing.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub action: Action,
    pub resource: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct DeployReport {
    pub target: &'static str,
    pub region: String,
    pub account: String,
    pub dry_run: bool,
    pub state_file: PathBuf,
    pub steps: Vec<StepReport>,
    /// What the deploy did, in the order it finished (a planned no-op becomes an update when a
    /// dependency handed it new outputs). Empty on a dry run and when nothing changed.
    pub applied: Vec<StepReport>,
    /// Set once the deploy ran (not on a dry run).
    pub connection: Option<Connection>,
    /// The test user's name, with `--test-user`.
    pub test_user: Option<String>,
    /// Said in verbose output (for example: the roles' permissions could not be checked).
    pub notes: Vec<String>,
}

/// The original toolkit's connection block.
#[derive(Debug, Serialize)]
pub struct Connection {
    pub gateway: String,
    pub gateway_url: String,
    /// `CUSTOM_JWT` (Cognito) or `AWS_IAM`.
    pub auth: &'static str,
    pub user_pool: Option<String>,
    pub token_endpoint: Option<String>,
    pub client_id: Option<Secret>,
    pub client_secret: Option<Secret>,
    pub access_token: Option<Secret>,
    pub credentials_file: PathBuf,
}

#[derive(Debug, Serialize)]
pub struct DestroyReport {
    pub region: String,
    pub deleted: Vec<String>,
    pub removed: Vec<PathBuf>,
    /// What was left on purpose, and why: log groups (`--keep-logs`), a bucket holding
    /// objects mcpkit did not put there.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<String>,
}

/// Region and profile: flags first, then mcpkit.toml's `[targets.aws]`, then the environment.
fn settings(ws: &Workspace, given: &Settings) -> Settings {
    let t = &ws.manifest().targets.aws;
    Settings {
        region: given.region.clone().or_else(|| t.region.clone()),
        profile: given.profile.clone().or_else(|| t.profile.clone()),
    }
}

/// The region a command for `ws` acts in as far as it is known without loading a profile:
/// the flag, then mcpkit.toml, then `AWS_REGION` / `AWS_DEFAULT_REGION` (the profile's own
/// region needs aws-config, which costs a start-up).
pub fn region_without_sdk(ws: &Workspace, given: &Settings) -> Option<String> {
    settings(ws, given).region.or_else(region_from_env)
}

/// `AWS_REGION`, else `AWS_DEFAULT_REGION`, as aws-config reads them.
pub fn region_from_env() -> Option<String> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

/// The recorded state of the deployment of `env` (none: the workspace's own) in `region`:
/// `.mcpkit/state/aws-{region}.json`, or `aws-{env}-{region}.json` in an environment.
pub fn state_path(root: &Path, env: Option<&str>, region: &str) -> PathBuf {
    let file = match env {
        Some(e) => format!("aws-{e}-{region}.json"),
        None => format!("aws-{region}.json"),
    };
    root.join(".mcpkit").join("state").join(file)
}

/// The deployment a state file name records: `(environment, region)`, or `None` for a file
/// that is not a state file. Environment names hold no `-`, and a region is two letters and
/// words, then a number (`us-east-1`, `us-gov-west-1`), so `aws-us-east-1.json` is the
/// workspace's own even when an environment is called `us` (whose file is
/// `aws-us-us-east-1.json`). Environments mcpkit.toml no longer declares are found too.
pub fn parse_state_file(file: &str) -> Option<(Option<String>, String)> {
    let rest = file.strip_prefix("aws-")?.strip_suffix(".json")?;
    if let Some((env, region)) = rest.split_once('-')
        && names::check_environment(env).is_empty()
        && is_region(region)
    {
        return Some((Some(env.to_string()), region.to_string()));
    }
    is_region(rest).then(|| (None, rest.to_string()))
}

/// `ll(-word)+-N`: how AWS region names are made.
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts.last().is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn check_providers(ws: &Workspace) -> Result<()> {
    let providers = mcpkit_deploy::auth::providers::Providers::load(Some(ws));
    let problems = mcpkit_deploy::auth::providers::problems(ws, &providers, "aws");
    if problems.is_empty() { Ok(()) } else { Err(Error::Input(problems)) }
}

/// The cloud, the desired resources, and the artifacts' hashes, for this workspace.
fn cloud(ws: &Workspace, aws: Aws, waits: Waits) -> Result<(AwsCloud, Vec<engine::Desired>)> {
    let m = ws.manifest();
    let mut artifacts = BTreeMap::new();
    let mut hashes = BTreeMap::new();
    for name in m.servers.keys() {
        let spec = artifact::spec(ws, name)?;
        hashes.insert(name.clone(), spec.hash.clone());
        artifacts.insert(name.clone(), spec);
    }
    let ctx = Context {
        scope: policy::Scope {
            partition: aws.partition.clone(),
            region: aws.region.clone(),
            account: aws.account.clone(),
        },
    };
    let desired = super::desired(ws, &ctx, &hashes)?;
    let cloud = AwsCloud::new(ws, aws, artifacts, waits);
    Ok((cloud, desired))
}

/// Forwards the engine's progress to the CLI's spinners, and keeps what was done.
struct Progress<'a>(&'a dyn Reporter, std::sync::Mutex<Vec<StepReport>>);

impl<'a> Progress<'a> {
    fn new(reporter: &'a dyn Reporter) -> Self {
        Progress(reporter, Default::default())
    }
}

impl Observer for Progress<'_> {
    fn started(&self, step: &Step) {
        let verb = match step.action {
            Action::Create => "creating",
            Action::Update => "updating",
            Action::Delete => "deleting",
            Action::Noop => "checking",
        };
        self.0.begin(&step.key.id(), &format!("{verb} {}", step.key));
    }
    fn finished(&self, step: &Step, result: &Result<()>) {
        let done = match (result, step.action) {
            (Err(_), _) => "failed:",
            (_, Action::Create) => "created",
            (_, Action::Update) => "updated",
            (_, Action::Delete) => "deleted",
            (_, Action::Noop) => "checked",
        };
        self.0.end(&step.key.id(), &format!("{done} {}", step.key));
        if result.is_ok() {
            self.1.lock().expect("progress").push(StepReport {
                action: step.action,
                resource: step.key.to_string(),
                reason: step.reason.clone(),
            });
        }
    }
}

fn step_reports(plan: &Plan) -> Vec<StepReport> {
    plan.steps
        .iter()
        .map(|s| StepReport { action: s.action, resource: s.key.to_string(), reason: s.reason.clone() })
        .collect()
}

pub fn deploy(ws: &Workspace, opts: &Options) -> Result<DeployReport> {
    ws.ensure_valid()?;
    check_providers(ws)?;
    let settings = settings(ws, &opts.settings);
    let rt = mcpkit_deploy::runtime()?;
    rt.block_on(async {
        let aws = sdk::connect(&settings).await?;
        let (mut cloud, desired) = cloud(ws, aws, opts.waits.clone())?;
        let path = state_path(ws.root(), ws.environment(), &cloud.aws.region);
        let store = StateStore::open(&path)?;
        let mut state = store.load()?;
        opts.reporter.begin("refresh", "reading what exists");
        let live = engine::refresh(&cloud, &state).await;
        opts.reporter.end("refresh", "read what exists");
        let mut plan = engine::plan(&desired, &state, &live?)?;
        // What was changed outside mcpkit is put back as mcpkit.toml says.
        for (key, fields) in drifted(&cloud, &desired, &state, &plan).await? {
            plan.repair(&key, format!("changed outside mcpkit: {}", fields.join(", ")));
            cloud.repairs.insert(key);
        }
        let mut report = DeployReport {
            target: "aws",
            region: cloud.aws.region.clone(),
            account: cloud.aws.account.clone(),
            dry_run: opts.dry_run,
            state_file: path.clone(),
            steps: step_reports(&plan),
            applied: vec![],
            connection: None,
            test_user: None,
            notes: vec![],
        };
        if opts.dry_run {
            return Ok(report);
        }
        // Fail before making anything when an image must be built and cannot be.
        if plan.mutating().any(|s| s.key.kind == kind::IMAGE) {
            artifact::container_engine()?;
        }
        let progress = Progress::new(opts.reporter);
        let applied =
            engine::apply(&cloud, &desired, &plan, &store, &mut state, opts.jobs.max(1), &progress).await;
        for note in cloud.notes.lock().expect("notes").iter() {
            opts.reporter.note(note);
        }
        applied?;
        report.notes = cloud.notes.lock().expect("notes").clone();
        report.applied = progress.1.into_inner().expect("progress");
        report.connection = Some(connection(ws, &cloud.aws, &state, true).await?);
        if opts.test_user {
            report.test_user = Some(test_user(ws, &cloud.aws, &state).await?);
        }
        Ok(report)
    })
}

/// The IAM policies of a workspace's AWS topology: what the deploying identity needs, and
/// what mcpkit gives each role it makes (`mcpkit aws policy`).
#[derive(Debug, Serialize)]
pub struct PolicyReport {
    pub account: String,
    pub region: String,
    /// For the identity that runs deploy, status, token and destroy.
    pub deployer: serde_json::Value,
    /// Each role mcpkit makes: its trust policy, inline policy and managed policies.
    pub roles: BTreeMap<String, serde_json::Value>,
}

/// `mcpkit aws policy`: derived from the desired topology itself. The account is `account`,
/// or the caller's (STS), so the ARNs are exact.
pub fn policy(ws: &Workspace, given: &Settings, account: Option<String>) -> Result<PolicyReport> {
    ws.ensure_valid()?;
    let settings = settings(ws, given);
    let rt = mcpkit_deploy::runtime()?;
    let (partition, region, account) = match account {
        Some(a) => {
            let region = rt.block_on(sdk::region(&settings))?;
            (sdk::partition_of(&region).to_string(), region, a)
        }
        None => {
            let aws = rt.block_on(sdk::connect(&settings))?;
            (aws.partition.clone(), aws.region.clone(), aws.account.clone())
        }
    };
    let scope = policy::Scope { partition, region: region.clone(), account: account.clone() };
    let mut hashes = BTreeMap::new();
    for name in ws.manifest().servers.keys() {
        hashes.insert(name.clone(), String::new());
    }
    let desired = super::desired(ws, &Context { scope: scope.clone() }, &hashes)?;
    let roles = desired
        .iter()
        .filter(|d| d.key.kind == kind::ROLE)
        .map(|d| (d.key.name.clone(), d.config.clone()))
        .collect();
    Ok(PolicyReport { account, region, deployer: policy::deployer(&scope, &desired), roles })
}

/// What the state records of the resource `key`, typed by its kind.
fn recorded<T: Outputs>(state: &State, key: &Key) -> Result<T> {
    res::recorded(state.get(key))?.ok_or_else(|| {
        Error::world(format!("{key} is not deployed")).with_hint("run `mcpkit deploy --target aws`")
    })
}

/// The gateway's record.
fn gateway_of(state: &State, gateway: &str) -> Result<GatewayOut> {
    recorded(state, &Key::new(kind::GATEWAY, gateway))
}

/// The gateway's client credentials (Cognito inbound), with the token endpoint from the pool's
/// discovery document, else the domain's.
async fn gateway_client(aws: &Aws, state: &State, gateway: &str) -> Result<(ClientCredentials, String)> {
    let g = names::gateway(gateway);
    let (pool, client, domain) = super::gateway_chain(gateway);
    let pool: PoolOut = recorded(state, &pool)?;
    let client: ClientOut = recorded(state, &client)?;
    let domain: DomainOut = recorded(state, &domain)?;
    let secret = super::cloud::client_secret(aws, &client).await?;
    let announced = oauth::discover(&pool.discovery_url).await.ok().and_then(|d| d.token_endpoint);
    let token_endpoint = announced.unwrap_or(domain.token_endpoint);
    Ok((
        ClientCredentials {
            token_endpoint,
            client_id: client.client_id.clone(),
            client_secret: secret,
            scope: g.scope,
        },
        pool.pool_id,
    ))
}

/// Fetches a token, retrying while a new Cognito domain does not resolve yet (DNS for a new
/// domain takes up to a minute).
async fn fetch_token(creds: &ClientCredentials) -> Result<oauth::Token> {
    let mut attempt = 0;
    loop {
        match oauth::client_credentials(creds).await {
            Ok(t) => return Ok(t),
            Err(e) if attempt < 12 && e.to_string().contains("cannot reach") => {
                attempt += 1;
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The connection block, and (when `write`) the credentials file, 0600 from its creation.
async fn connection(ws: &Workspace, aws: &Aws, state: &State, write: bool) -> Result<Connection> {
    let m = ws.manifest();
    let gateway = ws.gateway_names().gateway;
    let gateway_url = gateway_of(state, &gateway)?.url;
    let credentials_file = LocalPaths::new(ws.root()).credentials("aws", &gateway);
    if leg(&m.gateway.auth) == Leg::Iam {
        if write {
            let file = serde_json::json!({
                "target": "aws", "gateway": gateway, "gateway_url": gateway_url, "auth": "AWS_IAM",
                "region": aws.region,
            });
            mcpkit_workspace::fs::write_secret(
                &credentials_file,
                &serde_json::to_vec_pretty(&file).expect("json"),
            )?;
        }
        return Ok(Connection {
            gateway,
            gateway_url,
            auth: "AWS_IAM",
            user_pool: None,
            token_endpoint: None,
            client_id: None,
            client_secret: None,
            access_token: None,
            credentials_file,
        });
    }
    let (creds, pool_id) = gateway_client(aws, state, &gateway).await?;
    let token = fetch_token(&creds).await?;
    if write {
        let pool = super::gateway_chain(&gateway).0;
        let pool: PoolOut = recorded(state, &pool)?;
        let file = CredentialsFile {
            target: "aws".into(),
            gateway: gateway.clone(),
            gateway_url: gateway_url.clone(),
            token_endpoint: creds.token_endpoint.clone(),
            discovery_url: pool.discovery_url.clone(),
            client_id: creds.client_id.clone(),
            client_secret: creds.client_secret.expose().to_string(),
            scope: creds.scope.clone(),
            access_token: token.access_token.expose().to_string(),
            expires_at: token.expires_at_unix(),
            issued_at: mcpkit_deploy::unix_now(),
            region: Some(aws.region.clone()),
        };
        mcpkit_workspace::fs::write_secret(
            &credentials_file,
            &serde_json::to_vec_pretty(&file).expect("json"),
        )?;
    }
    Ok(Connection {
        gateway,
        gateway_url,
        auth: "CUSTOM_JWT",
        user_pool: Some(pool_id),
        token_endpoint: Some(creds.token_endpoint.clone()),
        client_id: Some(Secret::new(creds.client_id)),
        client_secret: Some(creds.client_secret),
        access_token: Some(token.access_token),
        credentials_file,
    })
}

/// The original toolkit's optional test user, from `.env` in the workspace (or the
/// environment): `COGNITO_USERNAME`, `COGNITO_TEMP_PASSWORD`, `COGNITO_PASSWORD`.
pub const TEST_USER_DEFAULTS: [(&str, &str); 3] = [
    ("COGNITO_USERNAME", "testuser"),
    ("COGNITO_TEMP_PASSWORD", "Temp123!"),
    ("COGNITO_PASSWORD", "MyPassword123!"),
];

/// Makes (or resets) the test user in the gateway's pool: created with the temporary password,
/// then given the permanent one. Users go with the pool, so destroy needs nothing more.
async fn test_user(ws: &Workspace, aws: &Aws, state: &State) -> Result<String> {
    use super::sdk::SdkResult;
    let dotenv = ws.root().join(".env");
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    if dotenv.exists() {
        for item in dotenvy::from_path_iter(&dotenv)
            .map_err(|e| Error::world(format!("{}: {e}", dotenv.display())))?
        {
            let (k, v) = item.map_err(|e| {
                Error::input(Problem::new(format!("not a valid .env file: {e}")).file(&dotenv))
            })?;
            vars.insert(k, v);
        }
    }
    let get = |name: &str, default: &str| {
        vars.get(name).cloned().or_else(|| std::env::var(name).ok()).unwrap_or_else(|| default.to_string())
    };
    let [(u, du), (t, dt), (p, dp)] = TEST_USER_DEFAULTS;
    let (username, temporary, permanent) = (get(u, du), Secret::new(get(t, dt)), Secret::new(get(p, dp)));
    let gateway = ws.gateway_names().gateway;
    let pool = super::gateway_chain(&gateway).0;
    let pool: PoolOut = recorded(state, &pool)?;
    let created = aws
        .cognito
        .admin_create_user()
        .user_pool_id(&pool.pool_id)
        .username(&username)
        .temporary_password(temporary.expose())
        .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
        .send()
        .await;
    match created {
        Err(e) if sdk::code(&e) == Some("UsernameExistsException") => {}
        other => {
            other.ctx("create the test user")?;
        }
    }
    aws.cognito
        .admin_set_user_password()
        .user_pool_id(&pool.pool_id)
        .username(&username)
        .password(permanent.expose())
        .permanent(true)
        .send()
        .await
        .ctx("set the test user's password")?;
    Ok(username)
}

/// A deployment the workspace's recorded state knows of (read from the state files alone).
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    /// None: the workspace's own deployment.
    pub environment: Option<String>,
    pub region: String,
    /// Resources in the state.
    pub resources: usize,
    pub gateway_url: Option<String>,
}

/// Every deployment recorded under `.mcpkit/state/`, by environment and region. States of
/// environments mcpkit.toml no longer declares are listed too: they are still deployed.
pub fn recorded_deployments(ws: &Workspace) -> Result<Vec<Recorded>> {
    let dir = ws.root().join(".mcpkit").join("state");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(Error::io("read", &dir, e)),
    };
    let m = ws.manifest();
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read", &dir, e))?;
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some((environment, region)) = parse_state_file(&file) else { continue };
        let path = entry.path();
        let state = State::read(&path)?;
        let gateway = names::gateway_in(&m.gateway.name, environment.as_deref()).gateway;
        out.push(Recorded {
            gateway_url: gateway_of(&state, &gateway).ok().map(|g| g.url).filter(|u| !u.is_empty()),
            resources: state.records().count(),
            environment,
            region,
        });
    }
    out.sort_by(|a, b| (&a.environment, &a.region).cmp(&(&b.environment, &b.region)));
    Ok(out)
}

/// ` in environment `dev`` when the workspace is seen in one, for messages.
fn in_env(ws: &Workspace) -> String {
    ws.environment().map(|e| format!(" in environment `{e}`")).unwrap_or_default()
}

/// Opens the recorded state of the configured region for reading.
pub(crate) async fn deployed(ws: &Workspace, given: &Settings) -> Result<(Aws, State)> {
    let aws = sdk::connect(&settings(ws, given)).await?;
    let path = state_path(ws.root(), ws.environment(), &aws.region);
    if !path.exists() {
        return Err(Error::input(
            Problem::new(format!(
                "nothing is deployed to AWS in {} from this workspace{}",
                aws.region,
                in_env(ws)
            ))
            .field("--target")
            .hint(format!(
                "run `mcpkit deploy --target aws{}` first (or pass the --region you deployed to)",
                ws.environment().map(|e| format!(" --env {e}")).unwrap_or_default()
            )),
        ));
    }
    Ok((aws, State::read(&path)?))
}

/// The gateway's URL and a fresh access token (Cognito inbound only).
pub fn token(ws: &Workspace, given: &Settings) -> Result<mcpkit_deploy::GatewayToken> {
    mcpkit_deploy::runtime()?.block_on(async {
        let (aws, state) = deployed(ws, given).await?;
        let gateway = ws.gateway_names().gateway;
        if leg(&ws.manifest().gateway.auth) == Leg::Iam {
            return Err(Error::input(
                Problem::new("this gateway authenticates callers with AWS IAM (SigV4), not with tokens")
                    .file(ws.manifest_path())
                    .field("gateway.auth"),
            ));
        }
        let gw = gateway_of(&state, &gateway)?;
        let (creds, _) = gateway_client(&aws, &state, &gateway).await?;
        let token = fetch_token(&creds).await?;
        let lifetime = token.expires_at.duration_since(std::time::SystemTime::now()).unwrap_or_default();
        Ok(mcpkit_deploy::GatewayToken { url: gw.url, token: token.access_token, lifetime })
    })
}

/// What destroy may leave: the runtimes' log groups (`--keep-logs`).
#[derive(Debug, Clone, Default)]
pub struct DestroyOptions {
    pub waits: Waits,
    pub keep_logs: bool,
}

/// Deletes everything the state says mcpkit made, dependents first; resumable, and what is
/// already gone is fine. Then checks through the live API that nothing it recorded is left.
/// Removes the state and the credentials file at the end.
pub fn destroy(
    ws: &Workspace,
    given: &Settings,
    reporter: &dyn Reporter,
    opts: DestroyOptions,
) -> Result<DestroyReport> {
    let settings = settings(ws, given);
    mcpkit_deploy::runtime()?.block_on(async {
        let aws = sdk::connect(&settings).await?;
        let region = aws.region.clone();
        let path = state_path(ws.root(), ws.environment(), &region);
        let store = StateStore::open(&path)?;
        let mut state = store.load()?;
        let before = state.clone();
        let deleted: Vec<String> = state.records().map(|r| r.key.to_string()).collect();
        let mut cloud = AwsCloud::new(ws, aws, BTreeMap::new(), opts.waits);
        cloud.keep_logs = opts.keep_logs;
        engine::destroy(&cloud, &store, &mut state, &Progress::new(reporter)).await?;
        // Then ask AWS, not the state: whatever the state named that still exists (a delete
        // AWS acknowledged but did not do, a log group written after its runtime went).
        let mut left: Vec<String> = Vec::new();
        let kept_on_purpose = std::mem::take(&mut *cloud.kept.lock().expect("kept"));
        for (key, live) in engine::refresh(&cloud, &before).await? {
            if let Some(l) = live
                && !kept_on_purpose.contains_key(&key)
            {
                left.push(format!("{key} ({})", l.id));
            }
        }
        let mut kept: Vec<String> = kept_on_purpose.into_values().collect();
        for r in before.records().filter(|r| r.key.kind == kind::RUNTIME && !r.id.is_empty()) {
            let groups = cloud.log_groups(&r.id).await?;
            if opts.keep_logs {
                kept.extend(groups.into_iter().map(|g| format!("log group {g}")));
            } else {
                left.extend(groups.into_iter().map(|g| format!("log group {g}")));
            }
        }
        if !left.is_empty() {
            return Err(Error::world(format!(
                "destroyed what the state recorded, but AWS still has: {}",
                left.join(", ")
            ))
            .with_hint("AWS acknowledged their deletes; if they are still there in a few minutes, delete them in the console"));
        }
        let mut removed = Vec::new();
        for p in [path.clone(), path.with_extension("lock")] {
            if std::fs::remove_file(&p).is_ok() {
                removed.push(p);
            }
        }
        let gateway = ws.gateway_names().gateway;
        let creds = LocalPaths::new(ws.root()).credentials("aws", &gateway);
        if std::fs::remove_file(&creds).is_ok() {
            removed.push(creds);
        }
        Ok(DestroyReport { region, deleted, removed, kept })
    })
}

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub region: String,
    /// The environment, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub gateway_url: Option<String>,
    pub resources: Vec<ResourceStatus>,
    /// Every resource is as mcpkit.toml asks and as mcpkit left it (`mcpkit status` exits 3
    /// when not).
    pub in_sync: bool,
}

#[derive(Debug, Serialize)]
pub struct ResourceStatus {
    pub resource: String,
    pub id: String,
    /// `ready`, `pending` (a create did not finish), `gone` (deleted outside mcpkit), or
    /// `absent` (in mcpkit.toml, never deployed).
    pub status: &'static str,
    pub sync: SyncState,
    /// What differs: the fields changed outside mcpkit, or why deploy would act.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// How a resource compares with mcpkit.toml and with what mcpkit applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncState {
    InSync,
    /// mcpkit.toml asks for something else: deploy will update (or make, or delete) it.
    Pending,
    /// Its live configuration is not what mcpkit applied.
    ChangedOutside,
    /// Deleted outside mcpkit.
    Missing,
}

impl SyncState {
    /// As `mcpkit status` prints it.
    pub fn describe(self) -> &'static str {
        match self {
            SyncState::InSync => "in sync",
            SyncState::Pending => "changed in mcpkit.toml (deploy will update)",
            SyncState::ChangedOutside => "changed outside mcpkit",
            SyncState::Missing => "missing",
        }
    }
}

/// Every resource the plan leaves alone whose live configuration is not what mcpkit applied,
/// with the fields that differ (read concurrently; reads only).
async fn drifted(
    cloud: &AwsCloud,
    desired: &[engine::Desired],
    state: &State,
    plan: &Plan,
) -> Result<BTreeMap<Key, Vec<String>>> {
    let by_key: BTreeMap<&Key, &engine::Desired> = desired.iter().map(|d| (&d.key, d)).collect();
    let checks = plan.steps.iter().filter(|s| s.action == Action::Noop).filter_map(|s| {
        let d = by_key.get(&s.key)?;
        let r = state.get(&s.key)?;
        Some(async move {
            let fields = cloud.drift(d, r, &engine::inputs_of(d, state)).await?;
            Ok::<_, Error>((s.key.clone(), fields))
        })
    });
    let mut out = BTreeMap::new();
    for r in futures::future::join_all(checks).await {
        let (k, fields) = r?;
        if !fields.is_empty() {
            out.insert(k, fields);
        }
    }
    Ok(out)
}

/// What the state says exists, read from the live API and compared with what mcpkit.toml now
/// asks for (drift): in sync, pending a deploy, changed outside mcpkit (which fields), or
/// missing.
pub fn status(ws: &Workspace, given: &Settings) -> Result<StatusReport> {
    mcpkit_deploy::runtime()?.block_on(async {
        let (aws, state) = deployed(ws, given).await?;
        let region = aws.region.clone();
        let (cloud, desired) = cloud(ws, aws, Waits::default())?;
        let live = engine::refresh(&cloud, &state).await?;
        let plan = engine::plan(&desired, &state, &live)?;
        let mut drift = drifted(&cloud, &desired, &state, &plan).await?;
        let gateway = ws.gateway_names().gateway;
        let gateway_url = gateway_of(&state, &gateway).ok().map(|g| g.url);
        let mut records: Vec<_> = state.records().collect();
        records.sort_by_key(|r| r.order);
        let mut resources = Vec::new();
        for r in records {
            let status = match (r.status, live.get(&r.key)) {
                (engine::RecordStatus::Pending, _) => "pending",
                (_, Some(None)) => "gone",
                _ => "ready",
            };
            let step = plan.steps.iter().find(|s| s.key == r.key);
            let (sync, fields) = match (status, step) {
                ("gone", _) => (SyncState::Missing, vec![]),
                (_, Some(s)) if s.action != Action::Noop => (SyncState::Pending, vec![s.reason.clone()]),
                _ => match drift.remove(&r.key) {
                    Some(fields) => (SyncState::ChangedOutside, fields),
                    None => (SyncState::InSync, vec![]),
                },
            };
            resources.push(ResourceStatus {
                resource: r.key.to_string(),
                id: r.id.clone(),
                status,
                sync,
                fields,
            });
        }
        // In mcpkit.toml, never deployed (a server added since).
        for s in plan.steps.iter().filter(|s| state.get(&s.key).is_none()) {
            resources.push(ResourceStatus {
                resource: s.key.to_string(),
                id: String::new(),
                status: "absent",
                sync: SyncState::Pending,
                fields: vec![s.reason.clone()],
            });
        }
        let in_sync = resources.iter().all(|r| r.sync == SyncState::InSync);
        Ok(StatusReport {
            region,
            environment: ws.environment().map(str::to_string),
            gateway_url,
            resources,
            in_sync,
        })
    })
}

/// The deployed gateway's URL, and the SDK configuration (credentials, region) to sign requests
/// to it with: for gateways that authenticate callers with AWS IAM. Async, so that the
/// configuration is used on the runtime it was loaded on.
pub async fn gateway_url(ws: &Workspace, given: &Settings) -> Result<(String, Aws)> {
    let (aws, state) = deployed(ws, given).await?;
    let gateway = ws.gateway_names().gateway;
    let url = gateway_of(&state, &gateway)?.url;
    if url.is_empty() {
        return Err(Error::world(format!("{} {gateway} has no recorded URL", kind::GATEWAY))
            .with_hint("run `mcpkit deploy --target aws`"));
    }
    Ok((url, aws))
}
