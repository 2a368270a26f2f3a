//! Building plugins for tests: Rust plugin crates with cargo, C fixtures with the C compiler,
//! each once per test binary, into Cargo's target folder.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn out_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plugins")
}

static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);

fn once(key: &str, build: impl FnOnce() -> PathBuf) -> PathBuf {
    let mut guard = BUILT.lock().unwrap();
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(p) = map.get(key) {
        return p.clone();
    }
    let p = build();
    map.insert(key.to_string(), p.clone());
    p
}

/// Builds a workspace plugin package (a cdylib) and returns its library. A target folder of
/// its own keeps this build from waiting on the one running the tests.
pub fn cargo_plugin(package: &str) -> PathBuf {
    once(package, || {
        let target = out_dir().join("cargo-target");
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", package])
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(root())
            .status()
            .unwrap();
        assert!(status.success(), "building {package} failed");
        target.join("debug").join(format!("lib{}.so", package.replace('-', "_")))
    })
}

/// Compiles a C fixture from `tests/fixtures/plugins/<name>.c` into `lib<name>.so`.
pub fn c_plugin(name: &str) -> PathBuf {
    once(&format!("c:{name}"), || {
        let dir = out_dir().join("c");
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join(format!("lib{name}.so"));
        let src = root().join(format!("tests/fixtures/plugins/{name}.c"));
        let status =
            Command::new("cc").args(["-shared", "-fPIC", "-O1", "-o"]).arg(&out).arg(&src).status().unwrap();
        assert!(status.success(), "cc {} failed", src.display());
        out
    })
}
