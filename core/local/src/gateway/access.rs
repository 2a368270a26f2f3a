//! The gateway's access log, `.mcpkit/local/logs/gateway.log`: one line per MCP request the
//! gateway handles, space-separated `key=value` fields after an RFC 3339 UTC time:
//!
//! ```text
//! 2026-12-02T05:10:00.123Z client=abc123 method=tools/call target=calc-target name=calc-target___add duration_ms=3 outcome=ok
//! ```
//!
//! `client` is the verified token's client (see [`super::Principal`]), `target` the gateway
//! target the request was routed to and `name` the tool, prompt or resource URI it named (`-`
//! when there is none), `outcome` one of `ok`, `tool-error` (a tool result with `isError`),
//! `input-required` (the call is held for the client's retry), `error code=<JSON-RPC code>`,
//! `cancelled` (the client went away first) or `401`. Who asked what, where it went, how long
//! it took and how it ended: never a token, an argument or a result. A line that cannot be
//! written is dropped; no request ever fails for it.

use super::super::paths::LocalPaths;
use super::super::stack::{LOG_ROTATE_BYTES, rotate_log};
use rmcp::ErrorData;
use rmcp::model::ErrorCode;
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// How a request ended, as the log says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// A tool result with `isError: true`.
    ToolError,
    /// A 2026-07-28 call answered with `input_required`, held for the client's retry.
    InputRequired,
    /// A JSON-RPC error, with its code.
    Error(i32),
    /// The request's handler was dropped before it answered (the client went away).
    Cancelled,
    /// Refused by the gateway's authorizer, before any MCP handling.
    Unauthorized,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::ToolError => f.write_str("tool-error"),
            Outcome::InputRequired => f.write_str("input-required"),
            Outcome::Error(code) => write!(f, "error code={code}"),
            Outcome::Cancelled => f.write_str("cancelled"),
            Outcome::Unauthorized => f.write_str("401"),
        }
    }
}

/// One line of the log.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub client: &'a str,
    pub method: &'a str,
    pub target: Option<&'a str>,
    pub name: Option<&'a str>,
    pub duration: Duration,
    pub outcome: Outcome,
}

impl Entry<'_> {
    /// The line (without its newline) as written at `at`.
    pub fn line(&self, at: SystemTime) -> String {
        format!(
            "{} client={} method={} target={} name={} duration_ms={} outcome={}",
            rfc3339(at),
            field(self.client),
            field(self.method),
            field(self.target.unwrap_or("")),
            field(self.name.unwrap_or("")),
            self.duration.as_millis(),
            self.outcome,
        )
    }
}

/// The longest a field gets, in characters: a name or a URI is the client's to choose.
const FIELD_MAX: usize = 256;

/// A value as one field: `-` when empty; whitespace and control characters percent-escaped,
/// so a line stays one line of space-separated fields whatever a client sends; cut at
/// [`FIELD_MAX`] characters.
fn field(s: &str) -> String {
    if s.is_empty() {
        return "-".into();
    }
    let mut out = String::with_capacity(s.len().min(FIELD_MAX));
    for (i, c) in s.chars().enumerate() {
        if i == FIELD_MAX {
            out.push('…');
            break;
        }
        if c.is_whitespace() || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `at` in RFC 3339, UTC, to the millisecond: `2026-12-02T05:10:00.123Z`.
pub fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// The open log: one writer per file in the process, shared by every session's gateway.
pub struct AccessLog {
    path: PathBuf,
    /// The file, opened append-only (0600, never through a link), and how big it is.
    file: Mutex<(File, u64)>,
}

/// The logs open in this process, by path (a process normally serves one stack; tests and
/// embedders may serve several).
static OPEN: LazyLock<Mutex<HashMap<PathBuf, Arc<AccessLog>>>> = LazyLock::new(Default::default);

impl AccessLog {
    /// Opens the log at `path` for appending, through the one helper that opens logs.
    pub fn open(path: &Path) -> std::io::Result<AccessLog> {
        let file = mcpkit_workspace::fs::open_log(path, false)?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(AccessLog { path: path.to_path_buf(), file: Mutex::new((file, len)) })
    }

    /// The access log of the stack whose files are at `paths`, opened on first use; `None` when
    /// it cannot be opened (tried again next time).
    pub fn of(paths: &LocalPaths) -> Option<Arc<AccessLog>> {
        let path = paths.gateway_log();
        let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(log) = open.get(&path) {
            return Some(log.clone());
        }
        let log = Arc::new(AccessLog::open(&path).ok()?);
        open.insert(path, log.clone());
        Some(log)
    }

    /// At the supervisor's start: moves a big log aside (as the servers' logs are moved at each
    /// start) and opens the log afresh, so no writer of an earlier stack at these paths is kept.
    pub fn start(paths: &LocalPaths) {
        let path = paths.gateway_log();
        let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
        open.remove(&path);
        rotate_log(&path);
        if let Ok(log) = AccessLog::open(&path) {
            open.insert(path, Arc::new(log));
        }
    }

    /// Appends `entry`'s line, in one write. Errors are ignored: the log never fails a
    /// request. Past [`LOG_ROTATE_BYTES`] the file is moved aside to `gateway.log.1` and a new
    /// one begun.
    pub fn write(&self, entry: &Entry) {
        let mut line = entry.line(SystemTime::now());
        line.push('\n');
        let mut guard = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if guard.1 > LOG_ROTATE_BYTES {
            rotate_log(&self.path);
            if let Ok(f) = mcpkit_workspace::fs::open_log(&self.path, false) {
                let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                *guard = (f, len);
            }
        }
        if guard.0.write_all(line.as_bytes()).is_ok() {
            guard.1 += line.len() as u64;
        }
    }
}

/// A request the gateway is handling: its line, written when it ends ([`Pending::end`]), or as
/// `cancelled` if its handler is dropped first.
pub struct Pending {
    log: Option<Arc<AccessLog>>,
    client: String,
    method: &'static str,
    name: Option<String>,
    target: Option<String>,
    started: Instant,
    /// 2026-07-28: rmcp turns a resource's -32002 into -32602 for the client, and so does
    /// the log.
    modern: bool,
}

impl Pending {
    pub fn new(
        log: Option<Arc<AccessLog>>,
        client: String,
        method: &'static str,
        name: Option<&str>,
        modern: bool,
    ) -> Pending {
        Pending {
            log,
            client,
            method,
            name: name.map(str::to_string),
            target: None,
            started: Instant::now(),
            modern,
        }
    }

    /// The gateway target the request went to.
    pub fn routed(&mut self, target: &str) {
        self.target = Some(target.to_string());
    }

    /// Writes the line of a request that answered `r`; `ok` says how a result ended.
    pub fn end<T>(mut self, r: &Result<T, ErrorData>, ok: impl FnOnce(&T) -> Outcome) {
        let outcome = match r {
            Ok(v) => ok(v),
            Err(e) if self.modern && e.code == ErrorCode::RESOURCE_NOT_FOUND => {
                Outcome::Error(ErrorCode::INVALID_PARAMS.0)
            }
            Err(e) => Outcome::Error(e.code.0),
        };
        self.write(outcome);
    }

    fn write(&mut self, outcome: Outcome) {
        if let Some(log) = self.log.take() {
            log.write(&Entry {
                client: &self.client,
                method: self.method,
                target: self.target.as_deref(),
                name: self.name.as_deref(),
                duration: self.started.elapsed(),
                outcome,
            });
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.write(Outcome::Cancelled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn times_are_rfc3339_utc_to_the_millisecond() {
        let at = |secs: u64, ms: u64| SystemTime::UNIX_EPOCH + Duration::from_millis(secs * 1000 + ms);
        assert_eq!(rfc3339(at(0, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(at(951_782_400, 7)), "2000-02-29T00:00:00.007Z");
        assert_eq!(rfc3339(at(1_798_175_400, 123)), "2026-12-25T05:10:00.123Z");
        assert_eq!(rfc3339(at(4_107_542_399, 999)), "2100-02-28T23:59:59.999Z");
    }

    #[test]
    fn a_line_is_one_line_of_fields_whatever_the_client_sends() {
        let e = Entry {
            client: "abc123",
            method: "tools/call",
            target: Some("calc-target"),
            name: Some("calc-target___add"),
            duration: Duration::from_micros(3_400),
            outcome: Outcome::Ok,
        };
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_798_175_400_123);
        assert_eq!(
            e.line(at),
            "2026-12-25T05:10:00.123Z client=abc123 method=tools/call target=calc-target \
             name=calc-target___add duration_ms=3 outcome=ok"
        );
        let odd = Entry {
            client: "",
            target: None,
            name: Some("evil\nname x=1"),
            outcome: Outcome::Error(-32602),
            ..e.clone()
        };
        let line = odd.line(at);
        assert!(
            line.ends_with("client=- method=tools/call target=- name=evil%0Aname%20x=1 duration_ms=3 outcome=error code=-32602"),
            "{line}"
        );
        let long = "x".repeat(1000);
        let line = Entry { name: Some(&long), ..e }.line(at);
        assert!(line.contains(&format!("name={}… ", "x".repeat(FIELD_MAX))), "{line}");
    }

    #[test]
    fn the_log_is_private_appended_to_and_a_dropped_request_is_logged_cancelled() {
        let d = tempfile::tempdir().unwrap();
        let paths = LocalPaths::new(d.path());
        std::fs::create_dir_all(paths.logs()).unwrap();
        std::fs::write(paths.gateway_log(), "earlier\n").unwrap();
        std::fs::set_permissions(paths.gateway_log(), std::fs::Permissions::from_mode(0o600)).unwrap();
        AccessLog::start(&paths);
        let log = AccessLog::of(&paths).unwrap();
        let done = Pending::new(Some(log.clone()), "c1".into(), "tools/list", None, false);
        done.end(&Ok::<_, ErrorData>(()), |_| Outcome::Ok);
        let mut gone = Pending::new(Some(log.clone()), "c1".into(), "tools/call", Some("t___x"), false);
        gone.routed("t");
        drop(gone);
        let missing = Pending::new(Some(log), "c1".into(), "resources/read", Some("a://b"), true);
        missing
            .end(&Err::<(), _>(ErrorData::new(ErrorCode::RESOURCE_NOT_FOUND, "no", None)), |_| Outcome::Ok);
        let text = std::fs::read_to_string(paths.gateway_log()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(lines[0], "earlier");
        assert!(lines[1].ends_with("client=c1 method=tools/list target=- name=- duration_ms=0 outcome=ok"));
        assert!(
            lines[2].contains("method=tools/call target=t name=t___x ")
                && lines[2].ends_with("outcome=cancelled")
        );
        assert!(lines[3].ends_with("outcome=error code=-32602"), "{}", lines[3]);
        let mode = std::fs::metadata(paths.gateway_log()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        // A new log is made 0600, and a link where the log goes is not followed.
        let d2 = tempfile::tempdir().unwrap();
        let p2 = LocalPaths::new(d2.path());
        std::fs::create_dir_all(p2.logs()).unwrap();
        let elsewhere = d2.path().join("elsewhere");
        std::os::unix::fs::symlink(&elsewhere, p2.gateway_log()).unwrap();
        assert!(AccessLog::of(&p2).is_none());
        assert!(!elsewhere.exists());
        std::fs::remove_file(p2.gateway_log()).unwrap();
        let log = AccessLog::of(&p2).unwrap();
        log.write(&Entry {
            client: "c",
            method: "ping",
            target: None,
            name: None,
            duration: Duration::ZERO,
            outcome: Outcome::Ok,
        });
        let mode = std::fs::metadata(p2.gateway_log()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
