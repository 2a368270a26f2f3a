//! Spinners for long steps on a terminal; plain lines elsewhere (CI logs stay readable).

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use mcpkit_core::local::Reporter;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

pub struct Progress {
    quiet: bool,
    verbose: bool,
    tty: bool,
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Progress {
            quiet,
            verbose: false,
            tty: std::io::stderr().is_terminal(),
            multi: MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
        }
    }
}

impl Progress {
    /// Notes are printed (to stderr) only when verbose.
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }
}

impl Reporter for Progress {
    fn note(&self, message: &str) {
        if self.verbose && !self.quiet {
            if self.tty {
                let _ = self.multi.println(format!("note: {message}"));
            } else {
                eprintln!("note: {message}");
            }
        }
    }

    fn say(&self, message: &str) {
        if self.quiet {
            return;
        }
        if self.tty {
            let _ = self.multi.println(message);
        } else {
            eprintln!("{message}");
        }
    }

    fn begin(&self, id: &str, message: &str) {
        if self.quiet {
            return;
        }
        if !self.tty {
            eprintln!("{message}...");
            return;
        }
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"));
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        self.bars.lock().expect("progress lock").insert(id.to_string(), bar);
    }

    fn end(&self, id: &str, message: &str) {
        if self.quiet {
            return;
        }
        match self.bars.lock().expect("progress lock").remove(id) {
            Some(bar) => bar.finish_with_message(format!("✓ {message}")),
            None if !self.tty => eprintln!("{message}"),
            None => {}
        }
    }
}
