//! A workspace deployed to the local target by the real binary, destroyed (every process
//! stopped) when dropped, even on panic.

use super::{Run, Sandbox};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub struct Deployed {
    pub sb: Sandbox,
    pub ws: PathBuf,
    /// The workspace's folder in the sandbox, where commands run.
    dir: String,
}

impl Drop for Deployed {
    fn drop(&mut self) {
        let _ = self.sb.cmd(".").args(["destroy", "-y", "--workspace"]).arg(&self.ws).output();
    }
}

impl Deployed {
    /// The workspace in `dir` of `sb` (deployed or about to be).
    pub fn new(sb: Sandbox, dir: &str) -> Deployed {
        let ws = sb.path().join(dir);
        Deployed { sb, ws, dir: dir.to_string() }
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.sb.run(&self.dir, args)
    }

    pub fn status(&self) -> Value {
        let r = self.run(&["status", "--json"]);
        r.ok();
        serde_json::from_str(&r.stdout).unwrap()
    }

    pub fn gateway_url(&self) -> String {
        self.status()["gateway_url"].as_str().unwrap().to_string()
    }

    pub fn token(&self) -> String {
        let r = self.run(&["token"]);
        r.ok();
        r.stdout.trim().to_string()
    }

    pub fn local(&self) -> PathBuf {
        self.ws.join(".mcpkit/local")
    }

    pub fn identities(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.local().join("identities.json")).unwrap()).unwrap()
    }

    /// The realm of a gateway (`kind` "gateway") or a runtime ("runtime") named `name`.
    pub fn realm(&self, kind: &str, name: &str) -> Value {
        self.identities()["realms"]
            .as_object()
            .unwrap()
            .values()
            .find(|r| r["kind"] == kind && r["resource"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} realm for {name}"))
    }

    pub fn pid(&self, server: &str) -> u32 {
        self.status()["servers"].as_array().unwrap().iter().find(|s| s["name"] == server).unwrap()["pid"]
            .as_u64()
            .unwrap() as u32
    }

    pub fn wait_until(&self, what: &str, timeout: Duration, mut f: impl FnMut(&Value) -> bool) {
        let start = Instant::now();
        loop {
            let st = self.status();
            if f(&st) {
                return;
            }
            assert!(start.elapsed() < timeout, "timed out waiting for {what}: {st:#}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
