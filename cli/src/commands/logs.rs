//! `mcpkit logs`: the servers', the supervisor's and the gateway's (access) logs; on AWS, the
//! runtimes' logs from CloudWatch.

use super::prelude::*;
use mcpkit_core::aws::logs::{LogLine, LogSink};

#[derive(Debug, Args)]
pub struct Args {
    /// Only this server; locally, `gateway` is the gateway's access log (a server named
    /// `gateway` wins). Default: all, locally with the supervisor's and the gateway's logs.
    pub server: Option<String>,
    /// Keep printing new lines as they come (Ctrl-C stops).
    #[arg(short, long)]
    pub follow: bool,
    /// AWS: from this long ago (`30s`, `10m`, `2h`) or this RFC 3339 time (default: 1h).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    #[command(flatten)]
    pub common: TargetArgs,
}

/// Prints CloudWatch's lines: time, then the server (coloured on a terminal) when there are
/// several.
struct Lines {
    json: bool,
    prefix: bool,
    colour: bool,
    width: usize,
}

impl LogSink for Lines {
    fn line(&mut self, l: &LogLine) -> Result<()> {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let r = if self.json {
            writeln!(out, "{}", serde_json::to_string(l).expect("plain data"))
        } else {
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(l.timestamp.max(0) as u64);
            let time = mcpkit_core::aws::logs::format_time(t);
            if self.prefix {
                let name = format!("{:>w$}", l.server, w = self.width);
                let name = if self.colour { colour(&l.server, &name) } else { name };
                writeln!(out, "{time} {name} | {}", l.message)
            } else {
                writeln!(out, "{time} {}", l.message)
            }
        };
        r.map_err(|e| Error::world(format!("cannot write: {e}")))
    }
    fn note(&mut self, note: &str) {
        eprintln!("{note}");
    }
}

/// A stable colour per server.
fn colour(server: &str, text: &str) -> String {
    const COLOURS: [console::Color; 5] = [
        console::Color::Cyan,
        console::Color::Magenta,
        console::Color::Green,
        console::Color::Yellow,
        console::Color::Blue,
    ];
    let i = server.bytes().fold(0usize, |a, b| a.wrapping_mul(31).wrapping_add(b as usize)) % COLOURS.len();
    console::style(text).fg(COLOURS[i]).force_styling(true).to_string()
}

pub fn exec(a: Args, _p: &Printer) -> Result<ExitStatus> {
    let ws = workspace_in(&a.common)?;
    let target = target(&a.common);
    if let ops::target::DeployTarget::Aws(_) = target {
        let width = match &a.server {
            Some(s) => s.len(),
            None => ws.manifest().servers.keys().map(String::len).max().unwrap_or(0),
        };
        let mut sink = Lines {
            json: a.common.json,
            prefix: a.server.is_none(),
            colour: std::io::stdout().is_terminal(),
            width,
        };
        ops::logs::aws(&ws, &target, a.server.as_deref(), a.since.as_deref(), a.follow, &mut sink)?;
        return Ok(ExitStatus::Success);
    }
    for (flag, given) in [("--since", a.since.is_some()), ("--json", a.common.json)] {
        if given {
            return Err(Error::input(
                mcpkit_core::Problem::new(format!(
                    "{flag} is for `--target aws`: local logs are the servers' own files"
                ))
                .field(flag),
            ));
        }
    }
    let files = ops::logs::files(&ws, a.server.as_deref())?;
    ops::logs::show(&files, a.follow, &mut std::io::stdout())?;
    Ok(ExitStatus::Success)
}
