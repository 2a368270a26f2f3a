//! Output: human lines on stdout, errors on stderr, JSON when asked.

use mcpkit_core::Error;

pub struct Printer {
    quiet: bool,
    verbose: u8,
}

impl Printer {
    pub fn new(quiet: bool, verbose: u8) -> Self {
        Printer { quiet, verbose }
    }

    pub fn verbose(&self) -> bool {
        self.verbose > 0
    }
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// A line of normal output.
    pub fn line(&self, s: impl AsRef<str>) {
        if !self.quiet {
            println!("{}", s.as_ref());
        }
    }

    /// A line shown with `-v`.
    pub fn detail(&self, s: impl AsRef<str>) {
        if !self.quiet && self.verbose > 0 {
            println!("{}", s.as_ref());
        }
    }

    /// A report as pretty JSON on stdout (even with `-q`: it was asked for).
    pub fn json<T: serde::Serialize>(&self, value: &T) {
        match serde_json::to_string_pretty(value) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("error: cannot render JSON: {e}"),
        }
    }

    /// A warning, on stderr (so it never mixes into output meant for a pipe).
    pub fn warn(&self, s: impl AsRef<str>) {
        eprintln!("warning: {}", s.as_ref());
    }

    /// What the gateway found wrong in the servers' names and URIs, one warning each.
    pub fn name_problems(&self, problems: &[mcpkit_core::names::NameProblem]) {
        for n in problems {
            let served = if n.served { "served anyway" } else { "not served" };
            self.warn(format!("server `{}`: {} `{}` ({served}): {}", n.server, n.kind, n.name, n.rule));
        }
    }

    pub fn error(&self, e: &Error) {
        match e {
            Error::Input(problems) => {
                for p in problems {
                    eprintln!("error: {p}");
                    if let Some(h) = &p.hint {
                        eprintln!("  hint: {h}");
                    }
                }
            }
            Error::World { .. } => eprintln!("error: {e}"),
        }
    }
}
