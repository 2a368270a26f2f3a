//! `mcpkit dev`: the local stack in the foreground. Server output is multiplexed onto stdout,
//! each line prefixed with its server's name in a colour of its own, and a server is restarted
//! when its files change.

use super::paths::LocalPaths;
use super::{Reporter, plan, prepare, running, supervisor};
use mcpkit_workspace::error::{Error, Problem, Result};
use mcpkit_workspace::manifest::Workspace;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Runs the stack in the foreground until Ctrl-C, restarting servers whose files change.
pub fn run(root: &Path, reporter: &dyn Reporter) -> Result<()> {
    let ws = Workspace::load(root)?;
    let paths = LocalPaths::new(ws.root());
    if running(&paths).is_some() {
        return Err(Error::input(
            Problem::new("the local stack is already running in the background")
                .hint("run `mcpkit destroy` first, or use `mcpkit logs -f` to watch it"),
        ));
    }
    let (p, _, _) = prepare(&ws, reporter, None)?;
    plan::write_json(&paths.plan(), &p)?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let watched: Vec<PathBuf> =
        p.servers.iter().filter_map(|s| s.entrypoint.parent().map(Path::to_path_buf)).collect();
    let root = ws.root().to_path_buf();
    let plan_path = paths.plan();
    // Keep the port we listen on: the watcher's `prepare` must not pick another one.
    let current = plan::Status {
        generation: 0,
        pid: 0,
        start_time: 0,
        port: p.port,
        servers: Default::default(),
        problems: vec![],
    };
    // The watcher lives as long as this function; events are debounced on a thread.
    let (ev_tx, ev_rx) = std::sync::mpsc::channel::<()>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            // Editors' swap files, bytecode caches and mcpkit's own state do not count.
            let relevant = ev.paths.iter().any(|p| {
                let s = p.to_string_lossy();
                let hidden = p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
                !hidden && !s.contains("/.mcpkit/") && !s.contains("__pycache__")
            });
            if relevant && !matches!(ev.kind, notify::EventKind::Access(_)) {
                let _ = ev_tx.send(());
            }
        }
    })
    .map_err(|e| Error::world(format!("cannot watch files: {e}")))?;
    use notify::Watcher;
    let _ =
        watcher.watch(&root.join(mcpkit_workspace::manifest::MANIFEST), notify::RecursiveMode::NonRecursive);
    for d in &watched {
        let _ = watcher.watch(d, notify::RecursiveMode::Recursive);
    }
    std::thread::spawn(move || {
        while ev_rx.recv().is_ok() {
            // Debounce: editors write in bursts.
            std::thread::sleep(Duration::from_millis(300));
            while ev_rx.try_recv().is_ok() {}
            let next = Workspace::load(&root).and_then(|ws| prepare(&ws, &super::Silent, Some(&current)));
            match next {
                Ok((p, actions, _)) => {
                    if !actions.is_empty() && plan::write_json(&plan_path, &p).is_ok() {
                        eprintln!("mcpkit dev: change detected, reloading");
                        let _ = tx.send(());
                    }
                }
                Err(e) => eprintln!("mcpkit dev: {e}"),
            }
        }
    });
    eprintln!("mcpkit dev: gateway at {} (Ctrl-C stops everything)", p.gateway_url());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::world(format!("cannot start an async runtime: {e}")))?;
    let result = rt.block_on(supervisor::run(paths.clone(), true, Some(rx)));
    drop(watcher);
    result
}

const COLOURS: [u8; 6] = [36, 35, 33, 32, 34, 31];

fn colour(name: &str) -> u8 {
    let h = name.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    COLOURS[(h as usize) % COLOURS.len()]
}

/// Prints one line of a server's output, prefixed (coloured when stdout is a terminal).
pub fn print_line(server: &str, line: &str) {
    use std::io::IsTerminal;
    let mut out = std::io::stdout().lock();
    if std::io::stdout().is_terminal() {
        let _ = writeln!(out, "\x1b[{}m{server:>12} |\x1b[0m {line}", colour(server));
    } else {
        let _ = writeln!(out, "{server:>12} | {line}");
    }
}

/// Appends a line to a log file (the same logs `mcpkit logs` reads).
pub fn append(path: &Path, line: &str) {
    if let Ok(mut f) = mcpkit_workspace::fs::open_log(path, false) {
        let _ = writeln!(f, "{line}");
    }
}
