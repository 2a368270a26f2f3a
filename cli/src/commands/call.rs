//! `mcpkit call`: call a tool through the deployed gateway, showing what it reports while it
//! runs: its progress (a bar on a terminal, plain lines otherwise) and its log messages, on
//! stderr so that stdout holds only the result.

use super::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use mcpkit_core::mcp::Event;

#[derive(Debug, Args)]
pub struct Args {
    /// The tool, as the gateway names it (`<server>-target___<tool>`).
    pub tool: String,
    /// Arguments as a JSON object.
    #[arg(long, default_value = "{}")]
    pub args: String,
    #[command(flatten)]
    pub common: TargetArgs,
}

/// Progress steps of a bar: a server's progress may be fractional.
const STEPS: u64 = 1000;

fn reporter(terminal: bool) -> (Option<ProgressBar>, impl Fn(Event) + Send + Sync + 'static) {
    let bar = terminal.then(|| {
        let bar = ProgressBar::new(STEPS);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {percent:>3}% {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar
    });
    let shown = bar.clone();
    let on_event = move |e: Event| match e {
        Event::Progress(p) => {
            let message = p.message.unwrap_or_default();
            match (&shown, p.total) {
                (Some(bar), Some(total)) if total > 0.0 => {
                    bar.set_position(((p.progress / total).clamp(0.0, 1.0) * STEPS as f64) as u64);
                    bar.set_message(message);
                }
                (Some(bar), _) => bar.set_message(format!("{} {message}", p.progress)),
                (None, total) => {
                    let total = total.map(|t| format!("/{t}")).unwrap_or_default();
                    eprintln!("progress: {}{total} {message}", p.progress);
                }
            }
        }
        Event::Log(l) => {
            let logger = l.logger.map(|n| format!(" {n}")).unwrap_or_default();
            let data = match l.data {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            let line = format!("[{}{logger}] {data}", l.level);
            match &shown {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
    };
    (bar, on_event)
}

pub fn exec(a: Args, p: &Printer) -> Result<ExitStatus> {
    let ws = workspace_in(&a.common)?;
    let (bar, on_event) = reporter(std::io::stderr().is_terminal() && !p.quiet());
    let r = ops::target::call(&ws, &target(&a.common), &a.tool, &a.args, on_event);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let r = r?;
    if a.common.json {
        p.json(&r);
    } else if let Some(s) = &r.structured_content {
        p.line(serde_json::to_string_pretty(s).unwrap_or_default());
    } else {
        for c in &r.content {
            match c.as_text() {
                Some(t) => p.line(&t.text),
                None => p.line(serde_json::to_string(c).unwrap_or_default()),
            }
        }
    }
    Ok(if r.is_error == Some(true) { ExitStatus::Failure } else { ExitStatus::Success })
}
