//! `mcpkit logs --target aws`: the runtimes' application logs from CloudWatch Logs.
//!
//! AgentCore writes a runtime's stdout and stderr to the log group of its endpoint,
//! `/aws/bedrock-agentcore/runtimes/{agentRuntimeId}-DEFAULT`, in streams
//! `YYYY/MM/DD/[runtime-logs]<uuid>`; the same group holds `otel-rt-logs`, the OpenTelemetry
//! copy, which is left out. AgentCore makes the group on the runtime's first log line, so a
//! runtime that never logged has none (AWS CDK `runtime-base.ts` `applicationLogGroup`;
//! starter toolkit `utils/runtime/logs.py`; docs/research/operating.md).

use crate::kind;
use crate::resources::{self as res, RuntimeOut};
use crate::sdk::{self, Aws};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use mcpkit_engine::{Key, State};
use mcpkit_workspace::error::{Error, Problem, Result};
use mcpkit_workspace::manifest::Workspace;
use serde::Serialize;
use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The stream AgentCore writes OpenTelemetry logs to, beside the application's own.
pub const OTEL_STREAM: &str = "otel-rt-logs";

/// A runtime endpoint's application log group.
pub fn log_group(runtime_id: &str) -> String {
    format!("/aws/bedrock-agentcore/runtimes/{runtime_id}-{}", mcpkit_workspace::names::RUNTIME_ENDPOINT)
}

/// Every log group of a runtime (one per endpoint) starts with this.
pub fn log_group_prefix(runtime_id: &str) -> String {
    format!("/aws/bedrock-agentcore/runtimes/{runtime_id}-")
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LogLine {
    pub server: String,
    /// Milliseconds since the Unix epoch, as CloudWatch records it.
    pub timestamp: i64,
    pub stream: String,
    pub message: String,
}

/// What `logs` reports besides lines: a runtime with nothing to read yet.
pub trait LogSink {
    fn line(&mut self, line: &LogLine) -> Result<()>;
    fn note(&mut self, note: &str);
}

/// One server's logs as they are followed: its runtime's group (none: not deployed), the
/// time read up to, and the events already shown at exactly that time. CloudWatch is asked
/// from that time on, inclusive, so only those need remembering: memory stays bounded however
/// long `-f` runs.
struct Source {
    server: String,
    group: Option<String>,
    from: i64,
    shown_at_from: HashSet<String>,
    /// "Nothing to read" was said, and not since contradicted.
    silent: bool,
}

impl Source {
    /// The events not shown yet, and the time and ids advanced past them.
    fn take_new(&mut self, mut events: Vec<(String, LogLine)>) -> Vec<LogLine> {
        // In time order, so an early event listed after a later one is not taken for old.
        events.sort_by_key(|(_, l)| l.timestamp);
        let mut out = Vec::new();
        for (id, line) in events {
            if line.timestamp < self.from
                || (line.timestamp == self.from && !self.shown_at_from.insert(id.clone()))
            {
                continue;
            }
            if line.timestamp > self.from {
                self.from = line.timestamp;
                self.shown_at_from = HashSet::from([id]);
            }
            out.push(LogLine { server: self.server.clone(), ..line });
        }
        out
    }
}

/// Where each server's logs are: its runtime's group, from the recorded state.
fn sources(ws: &Workspace, state: &State, server: Option<&str>, since: SystemTime) -> Result<Vec<Source>> {
    let servers: Vec<&String> = match server {
        Some(s) => match ws.manifest().servers.get_key_value(s) {
            Some((k, _)) => vec![k],
            None => {
                return Err(Error::input(
                    Problem::new(format!("there is no server `{s}` in this workspace")).field("<server>"),
                ));
            }
        },
        None => ws.manifest().servers.keys().collect(),
    };
    let mut out = Vec::new();
    for s in servers {
        let record = state.get(&Key::new(kind::RUNTIME, ws.server_names(s).runtime));
        let group = match res::recorded::<RuntimeOut>(record)? {
            Some(_) => record.map(|r| log_group(&r.id)),
            None => None,
        };
        out.push(Source {
            server: s.clone(),
            group,
            from: millis(since),
            shown_at_from: HashSet::new(),
            silent: false,
        });
    }
    Ok(out)
}

/// Reads (and with `follow`, keeps reading) the runtimes' logs since `since`, every server's
/// interleaved by time. Following polls each group, backing off from 1 s to 10 s while
/// nothing new comes, and stops on Ctrl-C.
pub fn logs(
    ws: &Workspace,
    settings: &sdk::Settings,
    server: Option<&str>,
    since: SystemTime,
    follow: bool,
    sink: &mut dyn LogSink,
) -> Result<()> {
    mcpkit_deploy::runtime()?.block_on(async {
        let (aws, state) = crate::commands::deployed(ws, settings).await?;
        let mut sources = sources(ws, &state, server, since)?;
        let mut delay = Duration::from_secs(1);
        loop {
            let mut batch = Vec::new();
            for src in &mut sources {
                let Some(group) = src.group.clone() else {
                    if !std::mem::replace(&mut src.silent, true) {
                        sink.note(&format!("{}: not deployed yet, so no logs", src.server));
                    }
                    continue;
                };
                match events(&aws, &group, src.from).await? {
                    None => {
                        if !std::mem::replace(&mut src.silent, true) {
                            sink.note(&format!(
                                "{}: the runtime has not logged yet (no log group {group})",
                                src.server
                            ));
                        }
                    }
                    Some(events) => {
                        src.silent = false;
                        batch.extend(src.take_new(events));
                    }
                }
            }
            batch.sort_by(|a, b| (a.timestamp, &a.server).cmp(&(b.timestamp, &b.server)));
            for line in &batch {
                sink.line(line)?;
            }
            if !follow {
                return Ok(());
            }
            delay = if batch.is_empty() {
                (delay * 2).min(Duration::from_secs(10))
            } else {
                Duration::from_secs(1)
            };
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = tokio::signal::ctrl_c() => return Ok(()),
            }
        }
    })
}

/// The application events of `group` from `start_ms` on, with their event ids; `None` when
/// the group does not exist (yet).
async fn events(aws: &Aws, group: &str, start_ms: i64) -> Result<Option<Vec<(String, LogLine)>>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let r = aws
            .logs
            .filter_log_events()
            .log_group_name(group)
            .start_time(start_ms)
            .set_next_token(token.clone())
            .send()
            .await;
        let asked = token.take();
        let page = match r {
            Ok(p) => p,
            Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => return Err(sdk::failure(&format!("read the log group {group}"), &e)),
        };
        for e in page.events() {
            let stream = e.log_stream_name().unwrap_or_default();
            if stream == OTEL_STREAM {
                continue;
            }
            let id = e.event_id().map(str::to_string).unwrap_or_else(|| {
                format!("{stream}/{}/{}", e.timestamp().unwrap_or(0), e.message().unwrap_or_default())
            });
            out.push((
                id,
                LogLine {
                    server: String::new(),
                    timestamp: e.timestamp().unwrap_or(0),
                    stream: stream.to_string(),
                    message: e.message().unwrap_or_default().trim_end_matches('\n').to_string(),
                },
            ));
        }
        // A page may be empty and still have a next one (FilterLogEvents scans in slices); the
        // end is no token, or the token it was given back.
        match page.next_token() {
            Some(t) if !t.is_empty() && Some(t) != asked.as_deref() => token = Some(t.to_string()),
            _ => return Ok(Some(out)),
        }
    }
}

fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// A log line's time as `mcpkit logs` prints it (RFC 3339, UTC, milliseconds).
pub fn format_time(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// `--since`: a duration back from now (`30s`, `10m`, `2h`, `1d`) or an RFC 3339 time.
pub fn parse_since(s: &str, now: SystemTime) -> Result<SystemTime> {
    if let Ok(d) = humantime::parse_duration(s) {
        return Ok(now.checked_sub(d).unwrap_or(UNIX_EPOCH));
    }
    humantime::parse_rfc3339_weak(s).map_err(|_| {
        Error::input(
            Problem::new(format!("`{s}` is neither a duration nor an RFC 3339 time"))
                .field("--since")
                .hint("for example --since 30s, 10m, 2h, or 2026-12-01T09:00:00Z"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn following_shows_each_event_once_and_remembers_only_the_latest_instant() {
        let line = |ts: i64, m: &str| LogLine {
            server: String::new(),
            timestamp: ts,
            stream: "s".into(),
            message: m.into(),
        };
        let mut src = Source {
            server: "calc".into(),
            group: None,
            from: 100,
            shown_at_from: HashSet::new(),
            silent: false,
        };
        let first = src.take_new(vec![
            ("a".into(), line(100, "a")),
            ("b".into(), line(105, "b")),
            ("c".into(), line(105, "c")),
        ]);
        assert_eq!(first.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(first.iter().all(|l| l.server == "calc"));
        assert_eq!(
            (src.from, src.shown_at_from.len()),
            (105, 2),
            "only the events at the latest time are kept"
        );
        // The next poll starts at 105 inclusive: b and c come again, with one new at 105 and one later.
        let again = src.take_new(vec![
            ("b".into(), line(105, "b")),
            ("c".into(), line(105, "c")),
            ("d".into(), line(105, "d")),
            ("e".into(), line(110, "e")),
        ]);
        assert_eq!(again.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(), ["d", "e"]);
        assert_eq!((src.from, src.shown_at_from.len()), (110, 1));
    }

    #[test]
    fn since_takes_durations_and_times() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse_since("30s", now).unwrap(), now - Duration::from_secs(30));
        assert_eq!(parse_since("10m", now).unwrap(), now - Duration::from_secs(600));
        assert_eq!(parse_since("2h", now).unwrap(), now - Duration::from_secs(7200));
        assert_eq!(
            parse_since("2026-12-01T09:00:00Z", now).unwrap(),
            UNIX_EPOCH + Duration::from_secs(1_796_115_600)
        );
        let e = parse_since("yesterday", now).unwrap_err().to_string();
        assert!(e.contains("--since") || e.contains("yesterday"), "{e}");
        assert_eq!(log_group("calc-AbCdEf1234"), "/aws/bedrock-agentcore/runtimes/calc-AbCdEf1234-DEFAULT");
    }
}
