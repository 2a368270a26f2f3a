//! `mcpkit status`: the state of every server and the gateway.

use super::prelude::*;

pub fn exec(a: TargetArgs, p: &Printer) -> Result<ExitStatus> {
    let ws = workspace_in(&a)?;
    let status = ops::lifecycle::status(&ws, &target(&a))?;
    let exit = match &status {
        ops::lifecycle::Status::Aws(r) if !r.in_sync => ExitStatus::Drifted,
        _ => ExitStatus::Success,
    };
    if a.json {
        p.json(&status);
        return Ok(exit);
    }
    match status {
        ops::lifecycle::Status::Aws(r) => {
            let env = r.environment.as_ref().map(|e| format!(", environment {e}")).unwrap_or_default();
            p.line(format!("AWS stack in {}{env} ({} resources)", r.region, r.resources.len()));
            if let Some(u) = &r.gateway_url {
                p.line(format!("Gateway URL: {u}"));
            }
            for res in &r.resources {
                let fields = if res.fields.is_empty() {
                    String::new()
                } else {
                    format!(": {}", res.fields.join(", "))
                };
                p.line(format!(
                    "  {:<40} {:<8} {}{fields}  {}",
                    res.resource,
                    res.status,
                    res.sync.describe(),
                    res.id
                ));
            }
            if !r.in_sync {
                p.line("Not in sync (exit code 3): `mcpkit deploy --target aws` applies mcpkit.toml again.");
            }
        }
        ops::lifecycle::Status::Local(r) => {
            p.line(format!(
                "local stack: {}{}{}",
                if r.running { "running" } else { "not running" },
                r.gateway_url.as_ref().map(|u| format!(" at {u}")).unwrap_or_default(),
                r.environment.as_ref().map(|e| format!(" (environment {e})")).unwrap_or_default()
            ));
            for s in &r.servers {
                let err = s.last_error.as_ref().map(|e| format!("  last error: {e}")).unwrap_or_default();
                p.line(format!(
                    "  {:<20} {:<10} {} tools, {} prompts, {} resources, {} restarts{err}",
                    s.name,
                    format!("{:?}", s.state).to_lowercase(),
                    s.tools,
                    s.prompts,
                    s.resources,
                    s.restarts
                ));
            }
            p.name_problems(&r.problems);
        }
    }
    Ok(exit)
}
