//! `mcpkit templates`: the built-in and user templates.

use crate::error::Result;
use crate::scaffold::{Info, Registry};
use std::path::PathBuf;

pub fn templates(template_dirs: &[PathBuf]) -> Result<Vec<Info>> {
    Ok(Registry::load(template_dirs)?.infos())
}
