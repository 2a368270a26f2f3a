//! `mcpkit logs`: the local stack's log files, optionally followed.

use crate::error::{Error, Problem, Result};
use crate::local::paths::LocalPaths;
use crate::manifest::Workspace;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

/// The log files to show: one server's, or every server's and the supervisor's.
pub fn files(ws: &Workspace, server: Option<&str>) -> Result<Vec<(String, PathBuf)>> {
    let paths = LocalPaths::new(ws.root());
    match server {
        Some(s) => {
            if !ws.manifest().servers.contains_key(s) {
                return Err(Error::input(
                    Problem::new(format!("there is no server `{s}` in this workspace")).field("<server>"),
                ));
            }
            Ok(vec![(s.to_string(), paths.server_log(s))])
        }
        None => {
            let mut v = vec![("supervisor".to_string(), paths.supervisor_log())];
            v.extend(ws.manifest().servers.keys().map(|s| (s.clone(), paths.server_log(s))));
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

#[cfg(test)]
mod tests {
    use super::*;

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
