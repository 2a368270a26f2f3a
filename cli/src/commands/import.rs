//! `mcpkit import`: the original toolkit's command line as mcpkit.toml.

use super::prelude::*;

#[derive(Debug, Args)]
pub struct Args {
    /// The gateway's name (the original toolkit's --gateway-name).
    #[arg(long)]
    pub gateway_name: String,
    /// JSON array of runtime configs: name, description, entrypoint, requirements_file,
    /// auto_create_execution_role, auto_create_ecr.
    #[arg(long)]
    pub runtime_configs: String,
    #[arg(long)]
    pub region: Option<String>,
    #[arg(long)]
    pub gateway_description: Option<String>,
    /// Where to write mcpkit.toml (default: the current folder).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

pub fn exec(a: Args, p: &Printer) -> Result<ExitStatus> {
    let opts = ops::import::ImportOptions {
        gateway_name: a.gateway_name,
        runtime_configs: a.runtime_configs,
        region: a.region,
        gateway_description: a.gateway_description,
        dir: a.dir.unwrap_or(cwd()?),
    };
    let r = ops::import::import(&opts)?;
    if a.json {
        p.json(&r);
    } else {
        p.line(format!(
            "Wrote {} with gateway `{}` and {} server(s): {}",
            r.workspace.join("mcpkit.toml").display(),
            r.gateway,
            r.servers.len(),
            r.servers.join(", ")
        ));
    }
    Ok(ExitStatus::Success)
}
