//! `mcpkit deploy`: deploy to the local target or to AgentCore.

use super::prelude::*;

#[derive(Debug, Args)]
pub struct Args {
    #[command(flatten)]
    pub common: TargetArgs,
    /// Seconds to wait for every server to be ready (local target).
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Print what would be created, updated, left alone and deleted; change nothing
    /// (AWS target).
    #[arg(long)]
    pub dry_run: bool,
    /// Also create the original toolkit's test user in the gateway's Cognito pool
    /// (COGNITO_USERNAME, COGNITO_TEMP_PASSWORD, COGNITO_PASSWORD from .env; AWS target).
    #[arg(long)]
    pub test_user: bool,
    /// How many resources to create or update at once (AWS target).
    #[arg(short, long, value_name = "N", default_value_t = mcpkit_core::aws::commands::CONCURRENCY)]
    pub jobs: usize,
}

pub fn exec(a: Args, p: &Printer) -> Result<ExitStatus> {
    let ws = workspace_in(&a.common)?;
    let exe = std::env::current_exe().map_err(|e| Error::world(format!("cannot find mcpkit itself: {e}")))?;
    let progress = crate::progress::Progress::new(p.quiet() || a.common.json).verbose(p.verbose());
    let opts = ops::lifecycle::DeployOptions {
        exe,
        timeout: std::time::Duration::from_secs(a.timeout),
        dry_run: a.dry_run,
        test_user: a.test_user,
        jobs: a.jobs,
        reporter: &progress,
    };
    let deployed = ops::lifecycle::deploy(&ws, &target(&a.common), &opts)?;
    if a.common.json {
        p.json(&deployed);
        return Ok(ExitStatus::Success);
    }
    match deployed {
        ops::lifecycle::Deployed::Local(r) => local(&r, p),
        ops::lifecycle::Deployed::Aws(r) => aws(&r, p),
    }
    Ok(ExitStatus::Success)
}

fn local(r: &mcpkit_core::local::DeployReport, p: &Printer) {
    if r.changed {
        for act in &r.actions {
            p.detail(format!("  {} {}", act.action, act.resource));
        }
    } else {
        p.line("No changes: the local stack is up to date.");
    }
    for s in &r.servers {
        let state = format!("{:?}", s.state).to_lowercase();
        p.line(format!(
            "  {:<20} {state} ({} tools, {} prompts, {} resources)  {}",
            s.name, s.tools, s.prompts, s.resources, s.runtime_url
        ));
    }
    p.name_problems(&r.problems);
    p.line("");
    p.line("Gateway URL: ".to_string() + &r.gateway_url);
    p.line(format!("User Pool ID: {}", r.user_pool));
    p.line(format!("Token endpoint: {}", r.token_endpoint));
    p.line(format!("Client ID: {}", r.client_id));
    p.line(format!("Client Secret: {}", r.client_secret));
    p.line(format!("Access Token: {}", r.access_token));
    p.line(format!("Credentials: {} (mode 0600)", r.credentials_file.display()));
    p.line(format!("Tools: {}", r.tools.len()));
}

fn aws(r: &mcpkit_core::aws::commands::DeployReport, p: &Printer) {
    use mcpkit_core::engine::Action;
    let count = |act: Action| r.steps.iter().filter(|s| s.action == act).count();
    if r.dry_run {
        for s in r.steps.iter().filter(|s| s.action != Action::Noop || p.verbose()) {
            p.line(format!(
                "  {:<7} {:<48} {}",
                format!("{:?}", s.action).to_lowercase(),
                s.resource,
                s.reason
            ));
        }
        p.line(format!(
            "Plan for account {} in {}: {} to create, {} to update, {} to delete, {} unchanged.",
            r.account,
            r.region,
            count(Action::Create),
            count(Action::Update),
            count(Action::Delete),
            count(Action::Noop)
        ));
        return;
    }
    if r.applied.is_empty() {
        p.line(format!("No changes: the AWS stack in {} is up to date.", r.region));
    } else {
        for s in &r.applied {
            p.detail(format!("  {} {}", format!("{:?}", s.action).to_lowercase(), s.resource));
        }
    }
    if let Some(c) = &r.connection {
        let redacted = |s: &Option<mcpkit_core::secret::Secret>| s.as_ref().map(|s| s.to_string());
        p.line("");
        p.line(format!("Gateway URL: {}", c.gateway_url));
        if let Some(pool) = &c.user_pool {
            p.line(format!("User Pool ID: {pool}"));
        }
        if let Some(t) = &c.token_endpoint {
            p.line(format!("Token endpoint: {t}"));
        }
        for (label, v) in [
            ("Client ID", &c.client_id),
            ("Client Secret", &c.client_secret),
            ("Access Token", &c.access_token),
        ] {
            if let Some(v) = redacted(v) {
                p.line(format!("{label}: {v}"));
            }
        }
        if c.auth == "AWS_IAM" {
            p.line("Auth: AWS IAM (SigV4); `mcpkit tools --target aws` signs with your credentials");
        }
        p.line(format!("Credentials: {} (mode 0600)", c.credentials_file.display()));
    }
    if let Some(u) = &r.test_user {
        p.line(format!("Test user: {u} (password from COGNITO_PASSWORD; not shown)"));
    }
}
