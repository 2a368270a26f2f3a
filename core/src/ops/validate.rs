//! `mcpkit validate`: every problem with mcpkit.toml and the files it names, changing nothing.

use crate::error::Problem;
use crate::manifest::Workspace;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ValidateReport {
    pub ok: bool,
    pub servers: usize,
    pub problems: Vec<Problem>,
}

pub fn validate(ws: &Workspace) -> ValidateReport {
    let problems = ws.validate();
    ValidateReport { ok: problems.is_empty(), servers: ws.manifest().servers.len(), problems }
}
