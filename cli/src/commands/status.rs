//! `mcpkit status`: the state of every server and the gateway.

use super::prelude::*;

pub fn exec(a: TargetArgs, p: &Printer) -> Result<ExitStatus> {
    let ws = workspace(&a.workspace)?;
    if a.target == args::Target::Aws {
        let r = mcpkit_core::aws::target::status(&ws, &aws_settings(&a))?;
        if a.json {
            p.json(&r);
        } else {
            p.line(format!("AWS stack in {} ({} resources)", r.region, r.resources.len()));
            if let Some(u) = &r.gateway_url {
                p.line(format!("Gateway URL: {u}"));
            }
            for res in &r.resources {
                p.line(format!("  {:<32} {:<10} {}", res.resource, res.status, res.id));
            }
        }
        return Ok(ExitStatus::Success);
    }
    let r = mcpkit_core::local::status(&ws)?;
    if a.json {
        p.json(&r);
    } else {
        p.line(format!(
            "local stack: {}{}",
            if r.running { "running" } else { "not running" },
            r.gateway_url.as_ref().map(|u| format!(" at {u}")).unwrap_or_default()
        ));
        for s in &r.servers {
            let err = s.last_error.as_ref().map(|e| format!("  last error: {e}")).unwrap_or_default();
            p.line(format!(
                "  {:<20} {:<10} {} tools, {} restarts{err}",
                s.name,
                format!("{:?}", s.state).to_lowercase(),
                s.tools,
                s.restarts
            ));
        }
    }
    Ok(ExitStatus::Success)
}
