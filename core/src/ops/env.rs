//! `mcpkit env`: the environments mcpkit.toml declares (`[environments.<name>]`), what is
//! deployed in each, and adding one.

use crate::error::{Error, Result};
use crate::manifest::{AwsTarget, Workspace};
use serde::Serialize;

/// One environment (or the workspace's own deployment, `name: None`) and where it is deployed.
#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentReport {
    pub name: Option<String>,
    /// False for a deployment whose environment mcpkit.toml no longer declares.
    pub declared: bool,
    /// The AWS region and profile it deploys to, as mcpkit.toml sets them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The local stack runs this environment (one runs at a time).
    pub local: Option<LocalDeployment>,
    pub aws: Vec<crate::aws::commands::Recorded>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LocalDeployment {
    pub running: bool,
    pub gateway_url: Option<String>,
}

/// Every environment, the workspace's own first, with what its recorded state says is
/// deployed. Nothing is asked of AWS.
pub fn list(ws: &Workspace) -> Result<Vec<EnvironmentReport>> {
    let m = ws.manifest();
    let local = crate::local::status(ws)?;
    let aws = crate::aws::commands::recorded_deployments(ws)?;
    let mut names: Vec<Option<String>> =
        std::iter::once(None).chain(m.environments.keys().cloned().map(Some)).collect();
    for r in &aws {
        if !names.contains(&r.environment) {
            names.push(r.environment.clone());
        }
    }
    let mut out = Vec::new();
    for name in names {
        let seen = match &name {
            Some(e) if m.environments.contains_key(e) => Some(ws.in_environment(e)?),
            Some(_) => None,
            None => Some(ws.clone()),
        };
        let settings = seen.as_ref().map(|w| w.manifest().targets.aws.clone()).unwrap_or_default();
        let deployed_locally = local.gateway_url.is_some() && local.environment == name;
        out.push(EnvironmentReport {
            declared: seen.is_some(),
            region: settings.region,
            profile: settings.profile,
            local: deployed_locally
                .then(|| LocalDeployment { running: local.running, gateway_url: local.gateway_url.clone() }),
            aws: aws.iter().filter(|r| r.environment == name).cloned().collect(),
            name,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct AddReport {
    pub name: String,
    pub manifest: std::path::PathBuf,
}

/// Declares environment `name` (with the AWS settings given), refusing a name that could not
/// become every AWS name it joins, or whose names would collide with another deployment's:
/// the problems `validate` would find in the new table, found before anything is written.
pub fn add(ws: &mut Workspace, name: &str, aws: &AwsTarget) -> Result<AddReport> {
    let mut next = ws.clone();
    next.add_environment(name, aws)?;
    let field = format!("environments.{name}");
    let problems: Vec<_> = next
        .validate()
        .into_iter()
        .filter(|p| {
            p.field.as_deref().is_some_and(|f| f == field || f.starts_with(&format!("{field}.")))
                || p.message.contains(&format!("environment `{name}`"))
        })
        .collect();
    if !problems.is_empty() {
        return Err(Error::Input(problems));
    }
    next.save()?;
    *ws = next;
    Ok(AddReport { name: name.to_string(), manifest: ws.manifest_path() })
}
