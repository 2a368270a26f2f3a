//! How mcpkit reaches its users: the Python wheel (maturin, `bindings = "bin"`) installed into
//! a fresh virtualenv and used as a user would, and uv bootstrapped from PyPI on a machine
//! that has none.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::Sandbox;

/// PATH with the system's python3 and nothing of the tests' own (no uv).
const SYSTEM_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

fn mcpkit_marker(ws: &Path, server: &str) -> String {
    std::fs::read_to_string(ws.join(format!(".mcpkit/venvs/{server}/.mcpkit-requirements-sha256"))).unwrap()
}

#[test]
fn the_wheel_installs_mcpkit_on_path_and_the_installed_binary_deploys() {
    let out = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let built = Command::new(root.join("scripts/wheel.sh"))
        .env("MCPKIT_WHEEL_PROFILE", "dev")
        .env("MCPKIT_WHEEL_DIR", out.path())
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let wheels: Vec<PathBuf> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(wheels.len(), 1, "{wheels:?}");
    let wheel = &wheels[0];
    let file = wheel.file_name().unwrap().to_string_lossy().into_owned();
    let version = env!("CARGO_PKG_VERSION");
    assert!(file.starts_with(&format!("mcpkit-{version}-py3-none-")), "{file}");

    // The wheel's metadata, read with Python's own zipfile.
    let meta = Command::new(support::python())
        .args(["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(z.read(next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))).decode())"])
        .arg(wheel)
        .output()
        .unwrap();
    let meta = String::from_utf8_lossy(&meta.stdout).into_owned();
    for want in [
        "Name: mcpkit".to_string(),
        format!("Version: {version}"),
        "Summary: Build MCP servers, run them behind one authenticated gateway locally".into(),
        "License-Expression: Apache-2.0".into(),
        "Requires-Python: >=3.10".into(),
        "Classifier: Programming Language :: Rust".into(),
        "Project-URL: Repository, ".into(),
    ] {
        assert!(meta.contains(&want), "{want:?} missing from the METADATA:\n{meta}");
    }

    // A fresh virtualenv, the wheel installed offline, and `mcpkit` on its PATH.
    let venv = tempfile::tempdir().unwrap();
    let ok = |c: &mut Command| {
        let o = c.output().unwrap();
        assert!(
            o.status.success(),
            "{c:?}:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    ok(Command::new("python3").args(["-m", "venv"]).arg(venv.path()));
    ok(Command::new(venv.path().join("bin/python"))
        .args(["-m", "pip", "install", "--quiet", "--no-index", "--disable-pip-version-check"])
        .arg(wheel));
    let installed = venv.path().join("bin/mcpkit");
    assert!(installed.is_file(), "the wheel puts mcpkit in the venv's bin");
    let path = format!("{}:{}", venv.path().join("bin").display(), support::tool_path().to_string_lossy());
    let sb = Sandbox::new();
    let run = |cwd: &Path, args: &[&str]| {
        ok(Command::new("mcpkit")
            .args(args)
            .current_dir(cwd)
            .env("PATH", &path)
            .env("MCPKIT_CONFIG_DIR", sb.path().join("config"))
            .env("UV_CACHE_DIR", support::uv_cache()))
    };
    assert_eq!(run(sb.path(), &["--version"]).trim(), format!("mcpkit {version}"));
    run(sb.path(), &["new", "demo", "-t", "calculator"]);
    let ws = sb.path().join("demo");
    run(&ws, &["validate"]);
    let deployed = run(&ws, &["deploy"]);
    assert!(deployed.contains("Gateway URL"), "{deployed}");
    let tools = run(&ws, &["tools", "--json"]);
    assert!(tools.contains("demo-target___add"), "{tools}");
    run(&ws, &["destroy"]);
}

#[test]
fn without_uv_on_path_uv_is_bootstrapped_once_and_mcpkit_uv_0_keeps_pip() {
    let cache = tempfile::tempdir().unwrap();
    let sb = Sandbox::new();
    let env = [("PATH", SYSTEM_PATH), ("MCPKIT_CACHE_DIR", cache.path().to_str().unwrap())];
    sb.run_env(".", &["new", "one", "-t", "helloworld"], &env).ok();
    let first = sb.run_env("one", &["deploy"], &env);
    first.ok();
    assert!(first.stderr.contains("installing uv (once)"), "{}", first.stderr);
    let uv = cache.path().join("uv/bin/uv");
    assert!(
        Command::new(&uv).arg("--version").output().unwrap().status.success(),
        "the bootstrapped uv runs"
    );
    assert!(mcpkit_marker(&sb.path().join("one"), "one").contains("installer=uv"));
    let made = std::fs::metadata(&uv).unwrap().modified().unwrap();
    sb.run_env("one", &["destroy"], &env).ok();

    // A second workspace uses the same uv, without installing it again.
    sb.run_env(".", &["new", "two", "-t", "helloworld"], &env).ok();
    let second = sb.run_env("two", &["deploy"], &env);
    second.ok();
    assert!(!second.stderr.contains("installing uv"), "{}", second.stderr);
    assert_eq!(std::fs::metadata(&uv).unwrap().modified().unwrap(), made);
    assert!(mcpkit_marker(&sb.path().join("two"), "two").contains("installer=uv"));
    sb.run_env("two", &["destroy"], &env).ok();

    // MCPKIT_UV=0: plain pip, and the venv says so.
    let pip = [env[0], env[1], ("MCPKIT_UV", "0")];
    sb.run_env(".", &["new", "three", "-t", "helloworld"], &pip).ok();
    sb.run_env("three", &["deploy"], &pip).ok();
    assert!(mcpkit_marker(&sb.path().join("three"), "three").contains("installer=pip"));
    sb.run_env("three", &["destroy"], &pip).ok();
}

#[test]
fn a_bootstrap_that_cannot_work_falls_back_to_pip_with_one_line_and_is_not_retried_at_once() {
    // A pip that can find no `uv` (a constraint no release meets), as on a machine whose
    // index lacks it; everything else still installs.
    let cache = tempfile::tempdir().unwrap();
    let constraints = cache.path().join("no-uv.txt");
    std::fs::write(&constraints, "uv<0\n").unwrap();
    let sb = Sandbox::new();
    let env = [
        ("PATH", SYSTEM_PATH),
        ("MCPKIT_CACHE_DIR", cache.path().to_str().unwrap()),
        ("PIP_CONSTRAINT", constraints.to_str().unwrap()),
    ];
    sb.run_env(".", &["new", "one", "-t", "helloworld"], &env).ok();
    let r = sb.run_env("one", &["deploy"], &env);
    r.ok();
    assert_eq!(r.stderr.matches("using pip: uv could not be installed").count(), 1, "one line: {}", r.stderr);
    assert!(cache.path().join("uv.failed").exists());
    assert!(!cache.path().join("uv").exists(), "nothing half-installed");
    assert!(
        mcpkit_marker(&sb.path().join("one"), "one").contains("installer=pip"),
        "the venv was made with pip"
    );
    sb.run_env("one", &["destroy"], &env).ok();
    // The next deploy does not try again (and says why in its one line).
    sb.run_env(".", &["new", "two", "-t", "helloworld"], &env).ok();
    let r = sb.run_env("two", &["deploy"], &env);
    r.ok();
    assert!(r.stderr.contains("not tried again until a day has passed"), "{}", r.stderr);
    assert!(!r.stderr.contains("installing uv"), "{}", r.stderr);
    sb.run_env("two", &["destroy"], &env).ok();
}
