//! Errors as users see them.
//!
//! mcpkit distinguishes two kinds of failure, because scripts need to tell them apart:
//! *bad input* (exit code 2: the user can fix it by editing a file or a flag) and *the world
//! failed* (exit code 1: a process died, a port was taken, an API said no). Bad input always
//! names where the problem is (file, line, column, field) and, where we can, how to fix it.

use std::fmt;
use std::path::{Path, PathBuf};

/// One thing wrong with the user's input, located as precisely as we can.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// The field, key path or flag the problem is about (`servers.calc.entrypoint`, `--template`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Problem {
    pub fn new(message: impl Into<String>) -> Self {
        Problem { file: None, line: None, column: None, field: None, message: message.into(), hint: None }
    }
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    pub fn file(mut self, file: impl AsRef<Path>) -> Self {
        self.file = Some(file.as_ref().to_path_buf());
        self
    }
    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(col) = self.column {
                    write!(f, ":{col}")?;
                }
            }
            write!(f, ": ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "`{field}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

/// Every error mcpkit's operations return.
#[derive(Debug)]
pub enum Error {
    /// The user's input is wrong; nothing was changed. Exit code 2.
    Input(Vec<Problem>),
    /// Something outside the user's input failed. Exit code 1.
    World { message: String, hint: Option<String>, source: Option<Box<dyn std::error::Error + Send + Sync>> },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Bad input with one problem.
    pub fn input(problem: Problem) -> Self {
        Error::Input(vec![problem])
    }
    /// A failure of the world, with a message in the user's terms.
    pub fn world(message: impl Into<String>) -> Self {
        Error::World { message: message.into(), hint: None, source: None }
    }
    /// An I/O failure on a path, worded for the user.
    pub fn io(what: &str, path: &Path, err: std::io::Error) -> Self {
        Error::World {
            message: format!("could not {what} {}: {err}", path.display()),
            hint: None,
            source: Some(Box::new(err)),
        }
    }
    pub fn with_hint(mut self, h: impl Into<String>) -> Self {
        match &mut self {
            Error::Input(problems) => {
                if let Some(p) = problems.last_mut() {
                    p.hint = Some(h.into());
                }
            }
            Error::World { hint, .. } => *hint = Some(h.into()),
        }
        self
    }
    /// The process exit code this error maps to.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => 2,
            Error::World { .. } => 1,
        }
    }
    pub fn problems(&self) -> &[Problem] {
        match self {
            Error::Input(p) => p,
            Error::World { .. } => &[],
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(problems) => {
                for (i, p) in problems.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{p}")?;
                    if let Some(h) = &p.hint {
                        write!(f, "\n  hint: {h}")?;
                    }
                }
                Ok(())
            }
            Error::World { message, hint, .. } => {
                write!(f, "{message}")?;
                if let Some(h) = hint {
                    write!(f, "\n  hint: {h}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::World { source: Some(s), .. } => Some(s.as_ref()),
            _ => None,
        }
    }
}

/// Line and column (1-based) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map(|i| offset - i).unwrap_or(offset + 1);
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let t = "a = 1\nbb = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, 8), (2, 3));
    }

    #[test]
    fn problem_display_names_file_line_and_field() {
        let p = Problem::new("must end in .py").file("mcpkit.toml").at(7, 14).field("servers.a.entrypoint");
        assert_eq!(p.to_string(), "mcpkit.toml:7:14: `servers.a.entrypoint`: must end in .py");
    }

    #[test]
    fn input_errors_exit_2_world_errors_exit_1() {
        assert_eq!(Error::input(Problem::new("x")).exit_code(), 2);
        assert_eq!(Error::world("y").exit_code(), 1);
    }
}
