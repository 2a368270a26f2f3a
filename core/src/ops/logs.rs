//! `mcpkit logs`: the local stack's log files, optionally followed.

use crate::error::{Error, Problem, Result};
use crate::local::paths::LocalPaths;
use crate::manifest::Workspace;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

/// What `mcpkit logs` calls the local gateway's access log (a server of that name wins).
pub const GATEWAY: &str = "gateway";

/// The log files to show: one server's, the gateway's access log (`gateway`, unless a server
/// has that name: its log is the same file, `logs/gateway.log`), or every server's, the
/// supervisor's and the gateway's.
pub fn files(ws: &Workspace, server: Option<&str>) -> Result<Vec<(String, PathBuf)>> {
    let paths = LocalPaths::new(ws.root());
    let servers = &ws.manifest().servers;
    match server {
        Some(s) if servers.contains_key(s) => Ok(vec![(s.to_string(), paths.server_log(s))]),
        Some(GATEWAY) => Ok(vec![(GATEWAY.to_string(), paths.gateway_log())]),
        Some(s) => Err(Error::input(
            Problem::new(format!("there is no server `{s}` in this workspace"))
                .field("<server>")
                .hint(format!("`{GATEWAY}` shows the gateway's access log")),
        )),
        None => {
            let mut v = vec![
                ("supervisor".to_string(), paths.supervisor_log()),
                (GATEWAY.to_string(), paths.gateway_log()),
            ];
            for s in servers.keys() {
                // A server named like one of mcpkit's own logs writes to that very file: it is
                // shown once, under the server's name.
                let log = paths.server_log(s);
                v.retain(|(_, p)| *p != log);
                v.push((s.clone(), log));
            }
            Ok(v)
        }
    }
}

/// Writes the logs to `out`, each line prefixed with its source when there are several;
/// with `follow`, keeps writing new lines until the process is interrupted.
pub fn show(files: &[(String, PathBuf)], follow: bool, out: &mut dyn Write) -> Result<()> {
    let prefix = files.len() > 1;
    let mut offsets = vec![0u64; files.len()];
    // Bytes, not text: a server may log anything, and a line that is not UTF-8 is shown with
    // replacement characters instead of stopping its file.
    let mut partial = vec![Vec::<u8>::new(); files.len()];
    loop {
        for (i, (label, path)) in files.iter().enumerate() {
            let Ok(mut f) = std::fs::File::open(path) else { continue };
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            if len < offsets[i] {
                offsets[i] = 0; // truncated or recreated
            }
            if f.seek(SeekFrom::Start(offsets[i])).is_err() {
                continue;
            }
            let mut buf = Vec::new();
            let n = f.read_to_end(&mut buf).unwrap_or(0);
            offsets[i] += n as u64;
            partial[i].extend_from_slice(&buf);
            while let Some(pos) = partial[i].iter().position(|b| *b == b'\n') {
                let raw: Vec<u8> = partial[i].drain(..=pos).collect();
                let line = String::from_utf8_lossy(&raw[..raw.len() - 1]);
                let r = if prefix { writeln!(out, "{label:>12} | {line}") } else { writeln!(out, "{line}") };
                r.map_err(|e| Error::world(format!("cannot write: {e}")))?;
            }
        }
        out.flush().ok();
        if !follow {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `mcpkit logs --target aws`: the runtimes' logs from CloudWatch (`crate::aws::logs`).
pub fn aws(
    ws: &Workspace,
    target: &crate::ops::target::DeployTarget,
    server: Option<&str>,
    since: Option<&str>,
    follow: bool,
    sink: &mut dyn crate::aws::logs::LogSink,
) -> Result<()> {
    let crate::ops::target::DeployTarget::Aws(settings) = target else {
        return Err(Error::input(Problem::new("not the AWS target").field("--target")));
    };
    let now = std::time::SystemTime::now();
    // Without --since: the last hour, enough for a first look, and what `aws logs tail --since 1h`
    // (the starter toolkit's suggestion) shows.
    let since = match since {
        Some(s) => crate::aws::logs::parse_since(s, now)?,
        None => now - Duration::from_secs(3600),
    };
    crate::aws::logs::logs(ws, settings, server, since, follow, sink)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace(servers: &[&str]) -> Workspace {
        let mut text = "[project]\nname = \"shop\"\n\n[gateway]\nname = \"shop\"\n".to_string();
        for s in servers {
            text.push_str(&format!("\n[servers.{s}]\nentrypoint = \"{s}.py\"\nrequirements = \"r.txt\"\n"));
        }
        Workspace::from_text(std::path::Path::new("/ws"), text).unwrap()
    }

    /// `gateway` names the gateway's access log, in the list of all logs too; a server of that
    /// name wins (its log is the same file), and is listed once.
    #[test]
    fn gateway_names_the_access_log_unless_a_server_has_that_name() {
        let logs = PathBuf::from("/ws/.mcpkit/local/logs");
        let ws = workspace(&["api"]);
        assert_eq!(files(&ws, Some("gateway")).unwrap(), vec![("gateway".into(), logs.join("gateway.log"))]);
        assert_eq!(files(&ws, Some("api")).unwrap(), vec![("api".into(), logs.join("api.log"))]);
        let e = files(&ws, Some("nope")).unwrap_err().to_string();
        assert!(e.contains("no server `nope`"), "{e}");
        let labels = |ws: &Workspace| -> Vec<(String, PathBuf)> { files(ws, None).unwrap() };
        assert_eq!(
            labels(&ws),
            vec![
                ("supervisor".into(), logs.join("supervisor.log")),
                ("gateway".into(), logs.join("gateway.log")),
                ("api".into(), logs.join("api.log")),
            ]
        );
        let ws = workspace(&["api", "gateway"]);
        assert_eq!(files(&ws, Some("gateway")).unwrap(), vec![("gateway".into(), logs.join("gateway.log"))]);
        let all = labels(&ws);
        assert_eq!(all.iter().filter(|(_, p)| *p == logs.join("gateway.log")).count(), 1, "{all:?}");
        assert_eq!(all.len(), 3, "{all:?}");
    }

    /// A line that is not UTF-8 is shown (with replacement characters), and the lines after it
    /// and the other files go on printing.
    #[test]
    fn a_line_that_is_not_utf8_does_not_stop_its_file() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.log");
        let b = d.path().join("b.log");
        std::fs::write(&a, b"first\nbad \xff\xfe bytes\nlast\n").unwrap();
        std::fs::write(&b, b"other\n").unwrap();
        let mut out = Vec::new();
        show(&[("a".into(), a), ("b".into(), b)], false, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        for want in ["a | first", "a | bad \u{fffd}\u{fffd} bytes", "a | last", "b | other"] {
            assert!(out.contains(want), "{want:?} missing from {out:?}");
        }
    }
}
