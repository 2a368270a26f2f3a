//! `mcpkit validate`: every problem with mcpkit.toml, the files it names and the auth
//! providers it chooses for a target, changing nothing.

use crate::auth::providers::{Providers, problems};
use crate::error::Problem;
use crate::manifest::Workspace;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ValidateReport {
    pub ok: bool,
    pub target: String,
    pub servers: usize,
    pub problems: Vec<Problem>,
}

/// Validates for `target` (`local` or `aws`): auth providers must exist, load, and support it.
pub fn validate(ws: &Workspace, target: &str) -> ValidateReport {
    let mut found = ws.validate();
    found.extend(problems(ws, &Providers::load(Some(ws)), target));
    ValidateReport {
        ok: found.is_empty(),
        target: target.to_string(),
        servers: ws.manifest().servers.len(),
        problems: found,
    }
}
