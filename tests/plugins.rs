//! Auth-provider plugins: real shared libraries (Rust and C) loaded through the ABI, every way
//! a plugin can be broken reported clearly with the host surviving, `plugin list`/`plugin new`,
//! and a local deploy whose gateway trusts an external OIDC issuer (the AWS emulator's
//! Cognito) through the sample `oidc` plugin.

mod support;

use mcpkit_core::auth::plugin::DylibProvider;
use mcpkit_plugin_api::{AuthProvider, ErrorKind, ProvisionRequest, Resource, ResourceKind, ResourceRequest};
use serde_json::{Value, json};
use support::plugins::{c_plugin, cargo_plugin};
use support::{Sandbox, aws::Moto};

fn request() -> ProvisionRequest {
    ProvisionRequest {
        target: "local".into(),
        resource: Resource { kind: ResourceKind::Gateway, name: "gw".into() },
        config: Default::default(),
        context: Default::default(),
        state: None,
    }
}

#[test]
fn a_plugin_written_in_c_loads_and_answers() {
    let p = DylibProvider::load(&c_plugin("c_plugin")).unwrap();
    let d = p.describe();
    assert_eq!((d.name.as_str(), d.version.as_str()), ("c-plugin", "1.2.3"));
    let e = p.provision(request()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Input);
    assert!(e.message.contains("set `issuer`"), "{}", e.message);
    let t = p
        .token(ResourceRequest {
            target: "local".into(),
            resource: Resource { kind: ResourceKind::Gateway, name: "gw".into() },
            config: Default::default(),
            context: Default::default(),
            state: Value::Null,
        })
        .unwrap();
    assert_eq!(t.access_token, "c-token");
    assert_eq!(t.expires_in, 60);
}

#[test]
fn broken_plugins_give_clear_errors_and_the_host_survives() {
    let err = |path: &std::path::Path| DylibProvider::load(path).err().expect("must be refused");
    let mismatch = c_plugin("abi_mismatch");
    let e = err(&mismatch);
    assert!(e.contains(&mismatch.display().to_string()) && e.contains("ABI version 99"), "{e}");
    let e = err(&c_plugin("no_vtable"));
    assert!(e.contains("does not export `mcpkit_plugin_vtable`"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("libtext.so");
    std::fs::write(&text, "this is not a library").unwrap();
    let e = err(&text);
    assert!(e.contains("libtext.so") && e.contains("not a loadable shared library"), "{e}");
    let e = err(&dir.path().join("libmissing.so"));
    assert!(e.contains("no such file"), "{e}");
    // Loads, then answers garbage.
    let malformed = DylibProvider::load(&c_plugin("malformed")).unwrap();
    let e = malformed.provision(request()).unwrap_err();
    assert!(e.message.contains("malformed answer to `provision`"), "{}", e.message);
    // A panic inside a Rust plugin comes back as an error; nothing unwinds into the host.
    let panicky = DylibProvider::load(&cargo_plugin("mcpkit-test-panicky-plugin")).unwrap();
    let e = panicky.provision(request()).unwrap_err();
    assert!(
        e.message.contains("panicked") && e.message.contains("deliberate panic in provision"),
        "{}",
        e.message
    );
    // The host is fine and so is the plugin.
    assert_eq!(panicky.describe().name, "panicky");
    let e = panicky.provision(request()).unwrap_err();
    assert!(e.message.contains("panicked"));
}

#[test]
fn plugin_list_reports_each_broken_entry_without_stopping() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "p", "-t", "helloworld"]).ok();
    let user_dir = sb.config.path().join("plugins");
    std::fs::create_dir_all(&user_dir).unwrap();
    std::fs::copy(c_plugin("c_plugin"), user_dir.join("libfrom-user-dir.so")).unwrap();
    std::fs::write(sb.path().join("p/notalib.so"), "text").unwrap();
    let manifest = sb.path().join("p/mcpkit.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str(&format!(
        "\n[plugins.good]\npath = {:?}\n\n[plugins.future]\npath = {:?}\n\n[plugins.gone]\npath = \"missing/libgone.so\"\n\n[plugins.text]\npath = \"notalib.so\"\n\n[plugins.from-user-dir.config]\nissuer = \"https://idp.example\"\n\n[plugins.ghost.config]\nx = 1\n",
        c_plugin("c_plugin").display().to_string(),
        c_plugin("abi_mismatch").display().to_string()
    ));
    std::fs::write(&manifest, &text).unwrap();
    for trusted in ["good", "future", "text"] {
        sb.run("p", &["plugin", "trust", trusted]).ok();
    }
    sb.run("p", &["plugin", "trust", "gone"]).input_error().stderr_has("does not exist");
    let r = sb.run("p", &["plugin", "list", "--json"]);
    r.ok();
    let list: Value = serde_json::from_str(&r.stdout).unwrap();
    let by_name = |n: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == n)
            .cloned()
            .unwrap_or_else(|| panic!("{n} missing: {list}"))
    };
    assert_eq!(by_name("good")["version"], "1.2.3");
    assert_eq!(by_name("good")["capabilities"], json!(["inbound"]));
    assert_eq!(
        by_name("from-user-dir")["version"],
        "1.2.3",
        "settings without a path configure the user's plugin"
    );
    assert!(by_name("ghost")["error"].as_str().unwrap().contains("has no `path`"));
    assert!(by_name("future")["error"].as_str().unwrap().contains("ABI version 99"));
    assert!(by_name("gone")["error"].as_str().unwrap().to_lowercase().contains("no such file"));
    assert!(by_name("text")["error"].as_str().unwrap().contains("not a loadable shared library"));
    for builtin in ["local", "cognito", "iam"] {
        assert_eq!(by_name(builtin)["source"]["type"], "builtin");
    }
    // Validate loads only what a leg uses; a library that is not there is still reported.
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let r = sb.run("p", &["validate"]);
    r.input_error().stderr_has(&format!("mcpkit.toml:{}:", line_of("missing/libgone.so")));
    assert!(!r.stderr.contains("ABI version"), "an unused plugin was loaded: {}", r.stderr);
    std::fs::write(&manifest, text.replace("# auth = \"local\"", "auth = \"future\"")).unwrap();
    sb.run("p", &["validate"])
        .input_error()
        .stderr_has("`gateway.auth`: auth provider `future` cannot be loaded")
        .stderr_has("ABI version 99");
}

/// A workspace someone else wrote, naming a library whose initialiser runs code on load.
fn cloned_workspace_with_a_constructor_plugin(
    sb: &Sandbox,
    used: bool,
) -> (std::path::PathBuf, std::path::PathBuf) {
    sb.run(".", &["new", "p", "-t", "helloworld"]).ok();
    let lib = sb.path().join("p/vendor/libevil.so");
    std::fs::create_dir_all(lib.parent().unwrap()).unwrap();
    std::fs::copy(c_plugin("constructor"), &lib).unwrap();
    let manifest = sb.path().join("p/mcpkit.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    if used {
        text = text.replace("# auth = \"local\"", "auth = \"evil\"");
    }
    text.push_str("\n[plugins.evil]\npath = \"vendor/libevil.so\"\n");
    std::fs::write(&manifest, text).unwrap();
    (lib, sb.path().join("mark"))
}

#[test]
fn a_cloned_workspaces_plugin_runs_no_code_until_the_user_trusts_it() {
    let sb = Sandbox::new();
    let (lib, mark) = cloned_workspace_with_a_constructor_plugin(&sb, false);
    let env = [("MCPKIT_TEST_MARK", mark.to_str().unwrap())];
    // Unused and untrusted: validate and plugin list read the manifest, and load nothing.
    sb.run_env("p", &["validate"], &env).ok();
    let list = sb.run_env("p", &["plugin", "list"], &env);
    list.ok();
    assert!(list.stdout.contains("evil") && list.stdout.contains("UNTRUSTED"), "{}", list.stdout);
    assert!(list.stdout.contains("mcpkit plugin trust evil"), "{}", list.stdout);
    assert!(!mark.exists(), "the library's code ran");

    // Used by a leg: refused with the command to trust it, still without loading it.
    let sb = Sandbox::new();
    let (lib2, mark) = cloned_workspace_with_a_constructor_plugin(&sb, true);
    let env = [("MCPKIT_TEST_MARK", mark.to_str().unwrap())];
    sb.run_env("p", &["validate"], &env)
        .input_error()
        .stderr_has("`gateway.auth`: auth provider `evil` cannot be loaded")
        .stderr_has("is not trusted")
        .stderr_has("hint: read what the library is, then `mcpkit plugin trust evil`");
    sb.run_env("p", &["deploy"], &env).input_error().stderr_has("mcpkit plugin trust evil");
    assert!(!mark.exists(), "the library's code ran before it was trusted");
    let json: Value =
        serde_json::from_str(&sb.run_env("p", &["plugin", "list", "--json"], &env).stdout).unwrap();
    let evil = json.as_array().unwrap().iter().find(|e| e["name"] == "evil").unwrap().clone();
    assert_eq!(evil["trust"], "untrusted", "{evil}");

    // Trusted: now it is loaded, and works.
    let r = sb.run_env("p", &["plugin", "trust", "evil"], &env);
    r.ok();
    assert!(r.stdout.contains(&support::sha256_hex(&std::fs::read(&lib2).unwrap())), "{}", r.stdout);
    assert!(!mark.exists(), "trusting reads the library; it does not load it");
    sb.run_env("p", &["validate"], &env).ok();
    assert!(std::fs::read_to_string(&mark).unwrap().contains("loaded"));
    let record = sb.config.path().join("trusted-plugins.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&record).unwrap().permissions().mode() & 0o777, 0o600);

    // A changed library is untrusted again.
    std::fs::remove_file(&mark).unwrap();
    let mut bytes = std::fs::read(&lib2).unwrap();
    bytes.extend_from_slice(b"\0changed");
    std::fs::write(&lib2, bytes).unwrap();
    sb.run_env("p", &["validate"], &env).input_error().stderr_has("has changed since you trusted it");
    let json: Value =
        serde_json::from_str(&sb.run_env("p", &["plugin", "list", "--json"], &env).stdout).unwrap();
    let evil = json.as_array().unwrap().iter().find(|e| e["name"] == "evil").unwrap().clone();
    assert_eq!(evil["trust"], "changed", "{evil}");
    assert!(!mark.exists(), "a changed library was loaded");
    // Untrusting takes it back.
    sb.run_env("p", &["plugin", "trust", "evil"], &env).ok();
    sb.run_env("p", &["plugin", "untrust", "evil"], &env).ok();
    sb.run_env("p", &["validate"], &env).input_error().stderr_has("is not trusted");
    let _ = lib;
}

#[test]
fn providers_are_checked_for_the_target_at_validate_time() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "p", "-t", "helloworld"]).ok();
    let path = sb.path().join("p/mcpkit.toml");
    let text = support::replace_once(&path, "# auth = \"local\"", "auth = \"iam\"");
    sb.run("p", &["validate"])
        .input_error()
        .stderr_has("`gateway.auth`: auth provider `iam` is not supported on the local target");
    sb.run("p", &["validate", "--target", "aws"]).ok();
    std::fs::write(&path, text.replace("auth = \"iam\"", "auth = \"okta\"")).unwrap();
    sb.run("p", &["validate"])
        .input_error()
        .stderr_has("there is no auth provider named `okta`")
        .stderr_has("known providers: cognito, iam, local");
}

#[test]
fn plugin_new_scaffolds_a_crate_that_builds_with_plain_cargo_and_loads() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "p", "-t", "helloworld"]).ok();
    sb.run("p", &["plugin", "new", "my-idp"]).ok();
    let dir = sb.path().join("p/plugins/my-idp");
    assert!(dir.join("Cargo.toml").is_file() && dir.join("vendor/mcpkit-plugin-api/src/ffi.rs").is_file());
    let ws = mcpkit_core::Workspace::load(&sb.path().join("p")).unwrap();
    assert!(ws.manifest().plugins["my-idp"].path.as_deref().unwrap().ends_with("libmcpkit_plugin_my_idp.so"));
    // Not built yet: listed as broken, with the path it expects.
    let r = sb.run("p", &["plugin", "list"]);
    assert!(r.stdout.contains("my-idp") && r.stdout.to_lowercase().contains("no such file"), "{}", r.stdout);
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet"])
        .current_dir(&dir)
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .unwrap();
    assert!(status.success(), "the scaffolded plugin must build with plain `cargo build --release`");
    // Built, it is a library like any other: trusted before it is loaded.
    let r = sb.run("p", &["plugin", "list", "--json"]);
    assert!(r.stdout.contains("\"untrusted\""), "{}", r.stdout);
    sb.run("p", &["plugin", "trust", "my-idp"]).ok();
    let r = sb.run("p", &["plugin", "list", "--json"]);
    let list: Value = serde_json::from_str(&r.stdout).unwrap();
    let mine = list.as_array().unwrap().iter().find(|e| e["name"] == "my-idp").unwrap();
    assert!(mine.get("error").is_none(), "{mine}");
    sb.run("p", &["plugin", "new", "my-idp"]).input_error().stderr_has("already");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_gateway_can_trust_an_external_oidc_issuer_through_the_oidc_plugin() {
    let (moto, idp, plugin) = tokio::task::spawn_blocking(|| {
        let moto = Moto::start();
        let idp = moto.cognito_client("ext");
        (moto, idp, cargo_plugin("mcpkit-plugin-oidc"))
    })
    .await
    .unwrap();
    let sb = Sandbox::new();
    sb.run(".", &["new", "p", "-t", "calculator"]).ok();
    let manifest = sb.path().join("p/mcpkit.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace("# auth = \"local\"", "auth = \"oidc\"");
    let text = format!(
        "{text}\n[plugins.oidc]\npath = {:?}\n\n[plugins.oidc.config]\ndiscovery_url = {:?}\nclient_id = {:?}\nclient_secret_env = \"EXT_OIDC_SECRET\"\nscopes = [{:?}]\n",
        plugin.display().to_string(),
        idp["discovery_url"].as_str().unwrap(),
        idp["client_id"].as_str().unwrap(),
        idp["scope"].as_str().unwrap(),
    );
    std::fs::write(&manifest, text).unwrap();
    sb.run("p", &["plugin", "trust", "oidc"]).ok();
    let secret = idp["client_secret"].as_str().unwrap().to_string();
    let env = [("EXT_OIDC_SECRET", secret.as_str())];
    struct Destroy<'a>(&'a Sandbox);
    impl Drop for Destroy<'_> {
        fn drop(&mut self) {
            let _ = self.0.run("p", &["destroy", "-y"]);
        }
    }
    let _destroy = Destroy(&sb);
    let deploy = sb.run_env("p", &["deploy"], &env);
    deploy.ok();
    assert!(!deploy.stdout.contains(&secret) && !deploy.stderr.contains(&secret));
    // The gateway token now comes from the external issuer, through the plugin.
    let token = sb.run_env("p", &["token"], &env);
    token.ok();
    let token = token.stdout.trim().to_string();
    let claims: Value = {
        use base64::Engine;
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
            .unwrap()
    };
    assert_eq!(
        claims["iss"].as_str().unwrap(),
        format!("https://cognito-idp.us-east-1.amazonaws.com/{}", idp["pool_id"].as_str().unwrap())
    );
    assert_eq!(claims["client_id"], idp["client_id"]);
    let status: Value = serde_json::from_str(&sb.run("p", &["status", "--json"]).stdout).unwrap();
    let url = status["gateway_url"].as_str().unwrap().to_string();
    let c = support::mcp::connect(&url, Some(&token), support::mcp::Era::Modern).await.unwrap();
    let r = support::mcp::call(&c, "p-target___add", json!({"a": 40, "b": 2})).await;
    assert_eq!(support::mcp::result_json(&r), json!({"result": 42.0}));
    let _ = c.cancel().await;
    // The CLI's own calls work too, and a token of the local issuer is no longer accepted.
    sb.run_env("p", &["call", "p-target___multiply", "--args", r#"{"a": 6, "b": 7}"#], &env).ok();
    let ids: Value =
        serde_json::from_slice(&std::fs::read(sb.path().join("p/.mcpkit/local/identities.json")).unwrap())
            .unwrap();
    let kinds: Vec<&str> =
        ids["realms"].as_object().unwrap().values().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["runtime"], "the gateway has no local realm when the oidc plugin secures it");
    let resp = reqwest::Client::new()
        .post(&url)
        .bearer_auth("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
        .header("Accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    drop(moto);
}
