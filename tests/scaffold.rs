//! Scaffolding end to end through the real binary: what `new`, `add-server`, `import`,
//! `templates` and `validate` write and say, and that bad input is refused with a located
//! message, exit code 2, and nothing written.

mod support;

use support::{Sandbox, tree};

/// Snapshot of everything a template generates (version numbers filtered out).
fn snapshot_workspace(template: &str) {
    let sb = Sandbox::new();
    sb.run(".", &["new", "demo", "--template", template]).ok();
    let files = tree(&sb.path().join("demo"));
    let mut text = String::new();
    for (path, body) in &files {
        text.push_str(&format!("==> {path} <==\n{body}\n"));
    }
    insta::with_settings!({filters => vec![(r"mcpkit \d+\.\d+\.\d+", "mcpkit [VERSION]")]}, {
        insta::assert_snapshot!(format!("template_{template}"), text);
    });
}

#[test]
fn snapshot_calculator() {
    snapshot_workspace("calculator");
}

#[test]
fn snapshot_helloworld() {
    snapshot_workspace("helloworld");
}

#[test]
fn snapshot_blank() {
    snapshot_workspace("blank");
}

#[test]
fn new_uses_the_template_named_like_the_project() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "calculator"]).ok();
    let server = std::fs::read_to_string(sb.path().join("calculator/servers/calculator/server.py")).unwrap();
    assert!(server.contains("def multiply("));
}

#[test]
fn new_without_a_terminal_falls_back_to_helloworld_without_prompting() {
    let sb = Sandbox::new();
    let r = sb.run(".", &["new", "acme"]);
    r.ok();
    let server = std::fs::read_to_string(sb.path().join("acme/servers/acme/server.py")).unwrap();
    assert!(server.contains("def greet("), "{server}");
}

#[test]
fn new_honours_dir_description_server_and_json() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path().join("projects")).unwrap();
    let r = sb.run(
        ".",
        &[
            "new",
            "acme",
            "-t",
            "calculator",
            "--dir",
            "projects",
            "--server",
            "maths",
            "--description",
            "Say \"hi\"",
            "--json",
        ],
    );
    r.ok();
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["server"], "maths");
    assert_eq!(report["template"], "calculator");
    let ws = mcpkit_core::Workspace::load(&sb.path().join("projects/acme")).unwrap();
    let m = ws.manifest();
    assert_eq!(m.project.name, "acme");
    assert_eq!(m.gateway.name, "acme");
    assert_eq!(m.servers["maths"].description.as_deref(), Some("Say \"hi\""));
    assert!(ws.validate().is_empty());
    let py = std::fs::read_to_string(sb.path().join("projects/acme/servers/maths/server.py")).unwrap();
    assert!(py.contains(r#"instructions="Say \"hi\"""#), "{py}");
}

#[test]
fn new_refuses_a_non_empty_folder_and_touches_nothing() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path().join("taken")).unwrap();
    std::fs::write(sb.path().join("taken/keep.txt"), "mine").unwrap();
    sb.run(".", &["new", "taken"]).input_error().stderr_has("already exists and is not empty");
    assert_eq!(tree(&sb.path().join("taken")).len(), 1);
    assert_eq!(std::fs::read_to_string(sb.path().join("taken/keep.txt")).unwrap(), "mine");
    // An empty folder is fine.
    std::fs::create_dir(sb.path().join("empty")).unwrap();
    sb.run(".", &["new", "empty"]).ok();
}

#[test]
fn bad_names_are_refused_before_anything_is_written() {
    let sb = Sandbox::new();
    for (name, needle) in [
        ("../escape", "must not contain"),
        ("my_project", "does not match"),
        ("9lives", "does not match"),
        ("a--b", "does not match"),
    ] {
        sb.run(".", &["new", name]).input_error().stderr_has(needle).stderr_has("`<name>`");
    }
    // Valid project, but the derived IAM role `{gateway}-{server}-role` would be too long.
    let long = "s".repeat(48);
    sb.run(".", &["new", "a-longer-gw-name", "--server", &long]).input_error().stderr_has("IAM role name");
    assert!(tree(sb.path()).is_empty(), "nothing may be written: {:?}", tree(sb.path()).keys());
}

#[test]
fn unknown_template_lists_the_available_ones() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "x", "--template", "nope"])
        .input_error()
        .stderr_has("available: blank, calculator, helloworld");
    assert!(tree(sb.path()).is_empty());
}

#[test]
fn add_server_from_template_keeps_comments_and_order() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "proj", "-t", "calculator"]).ok();
    let manifest = sb.path().join("proj/mcpkit.toml");
    let mut before = std::fs::read_to_string(&manifest).unwrap();
    before.push_str("\n# a comment the user wrote\n[targets.local]\nport = 9999 # inline comment\n");
    std::fs::write(&manifest, &before).unwrap();
    sb.run("proj", &["add-server", "greeter", "--template", "helloworld"]).ok();
    let after = std::fs::read_to_string(&manifest).unwrap();
    let mut rest = after.lines();
    for line in before.lines() {
        assert!(rest.any(|l| l == line), "line {line:?} lost or moved out of order:\n{after}");
    }
    assert!(after.contains("# a comment the user wrote"));
    assert!(after.contains("port = 9999 # inline comment"));
    assert!(after.contains("[servers.greeter]"));
    assert!(sb.path().join("proj/servers/greeter/server.py").is_file());
    sb.run("proj", &["validate"]).ok();
}

#[test]
fn add_server_refuses_duplicates_even_by_case() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "proj", "-t", "calculator"]).ok();
    let before = tree(&sb.path().join("proj"));
    sb.run("proj", &["add-server", "proj"]).input_error().stderr_has("already exists");
    sb.run("proj", &["add-server", "PROJ"]).input_error().stderr_has("already exists");
    assert_eq!(tree(&sb.path().join("proj")), before, "nothing may change");
}

#[test]
fn add_server_registers_an_existing_server_where_it_lies() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "proj", "-t", "calculator"]).ok();
    let outside = sb.path().join("elsewhere");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("srv.py"), "print('x')\n").unwrap();
    std::fs::write(outside.join("reqs.txt"), "mcp\n").unwrap();
    let inside = sb.path().join("proj/vendor");
    std::fs::create_dir(&inside).unwrap();
    std::fs::write(inside.join("s.py"), "").unwrap();
    std::fs::write(inside.join("r.txt"), "").unwrap();

    sb.run(
        ".",
        &[
            "add-server",
            "outer",
            "--workspace",
            "proj",
            "--entrypoint",
            "elsewhere/srv.py",
            "--requirements",
            "elsewhere/reqs.txt",
        ],
    )
    .ok();
    sb.run("proj", &["add-server", "inner", "--entrypoint", "vendor/s.py", "--requirements", "vendor/r.txt"])
        .ok();
    let ws = mcpkit_core::Workspace::load(&sb.path().join("proj")).unwrap();
    let outer = &ws.manifest().servers["outer"];
    assert!(std::path::Path::new(&outer.entrypoint).is_absolute(), "outside the workspace: absolute");
    assert!(outer.entrypoint.ends_with("elsewhere/srv.py"));
    assert_eq!(ws.manifest().servers["inner"].entrypoint, "vendor/s.py", "inside: relative");
    assert!(!sb.path().join("proj/servers/outer").exists(), "nothing is copied");
}

#[test]
fn add_server_checks_files() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "proj", "-t", "calculator"]).ok();
    std::fs::write(sb.path().join("proj/s.js"), "").unwrap();
    std::fs::write(sb.path().join("proj/r.txt"), "").unwrap();
    std::fs::write(sb.path().join("proj/s.py"), "").unwrap();
    std::fs::write(sb.path().join("proj/r.cfg"), "").unwrap();
    let before = std::fs::read_to_string(sb.path().join("proj/mcpkit.toml")).unwrap();
    sb.run("proj", &["add-server", "a", "--entrypoint", "s.js", "--requirements", "r.txt"])
        .input_error()
        .stderr_has("`--entrypoint`: `s.js` must be a .py file");
    sb.run("proj", &["add-server", "a", "--entrypoint", "s.py", "--requirements", "r.cfg"])
        .input_error()
        .stderr_has("`--requirements`: `r.cfg` must be a .txt file");
    sb.run("proj", &["add-server", "a", "--entrypoint", "missing.py", "--requirements", "r.txt"])
        .input_error()
        .stderr_has("missing.py does not exist");
    sb.run("proj", &["add-server", "a", "--entrypoint", "../proj/s.py", "--requirements", "r.txt"])
        .input_error()
        .stderr_has("must not contain `..`");
    assert_eq!(std::fs::read_to_string(sb.path().join("proj/mcpkit.toml")).unwrap(), before);
}

#[test]
fn malformed_manifest_is_located_by_line_and_column() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "proj", "-t", "calculator"]).ok();
    let path = sb.path().join("proj/mcpkit.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("name = \"proj\"\n\n[gateway]", "name = \"proj\"\nbroken = \n[gateway]"),
    )
    .unwrap();
    sb.run("proj", &["validate"])
        .input_error()
        .stderr_has("mcpkit.toml:6:")
        .stderr_has("invalid mcpkit.toml");
    // A type error is located too.
    std::fs::write(&path, text.replace("[project]\nname = \"proj\"", "[project]\nname = 42")).unwrap();
    sb.run("proj", &["validate"]).input_error().stderr_has("mcpkit.toml:5:");
    // Unknown keys are refused (typos must not be silently ignored).
    std::fs::write(&path, text.replace("[project]\n", "[project]\nnmae = \"x\"\n")).unwrap();
    sb.run("proj", &["validate"]).input_error().stderr_has("unknown field `nmae`");
}

#[test]
fn validate_lists_every_problem_with_its_line() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "proj", "-t", "calculator"]).ok();
    let path = sb.path().join("proj/mcpkit.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\n[servers.bad_name]\nentrypoint = \"x.js\"\nrequirements = \"nope.txt\"\n");
    std::fs::write(&path, &text).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let r = sb.run("proj", &["validate"]);
    r.input_error()
        .stderr_has(&format!("mcpkit.toml:{}:", line_of("[servers.bad_name]")))
        .stderr_has("`servers.bad_name`")
        .stderr_has(&format!("mcpkit.toml:{}:", line_of("x.js")))
        .stderr_has("`servers.bad_name.entrypoint`: `x.js` must be a .py file")
        .stderr_has(&format!("mcpkit.toml:{}:", line_of("nope.txt")))
        .stderr_has("nope.txt does not exist");
    let json = sb.run("proj", &["validate", "--json"]);
    assert_eq!(json.code, 2);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["problems"].as_array().unwrap().len(), 3, "{}", json.stdout);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "validate changes nothing");
}

#[test]
fn a_resource_priority_agentcore_cannot_take_is_refused_at_its_line() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "proj", "-t", "calculator"]).ok();
    let path = sb.path().join("proj/mcpkit.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("[servers.proj]\n", "[servers.proj]\nresource_priority = 1001\n");
    std::fs::write(&path, &text).unwrap();
    let line = text.lines().position(|l| l.contains("resource_priority")).unwrap() + 1;
    sb.run("proj", &["validate"]).input_error().stderr_has(&format!("mcpkit.toml:{line}:")).stderr_has(
        "`servers.proj.resource_priority`: resource_priority 1001 is out of range: AgentCore takes 0 to 1000",
    );
    // Negative does not parse as a priority at all, and says where.
    std::fs::write(&path, text.replace("= 1001", "= -1")).unwrap();
    sb.run("proj", &["validate"]).input_error().stderr_has(&format!("mcpkit.toml:{line}:"));
    std::fs::write(&path, text.replace("= 1001", "= 0")).unwrap();
    sb.run("proj", &["validate"]).ok();
}

#[test]
fn validate_outside_a_workspace_says_how_to_start() {
    let sb = Sandbox::new();
    sb.run(".", &["validate"]).input_error().stderr_has("no mcpkit.toml").stderr_has("mcpkit new");
}

const CONFIGS: &str = r#"[
  {"name": "calc", "description": "Calculator", "entrypoint": "calc/server.py", "requirements_file": "calc/requirements.txt"},
  {"name": "greeter", "entrypoint": "greet/main.py", "requirements_file": "greet/requirements.txt", "auto_create_execution_role": false, "auto_create_ecr": false}
]"#;

fn toolkit_layout(sb: &Sandbox) {
    for (d, f) in [("calc", "server.py"), ("greet", "main.py")] {
        std::fs::create_dir_all(sb.path().join(d)).unwrap();
        std::fs::write(sb.path().join(d).join(f), "").unwrap();
        std::fs::write(sb.path().join(d).join("requirements.txt"), "mcp\n").unwrap();
    }
}

#[test]
fn import_turns_the_original_command_line_into_a_manifest() {
    let sb = Sandbox::new();
    toolkit_layout(&sb);
    sb.run(
        ".",
        &["import", "--gateway-name", "my-gw", "--runtime-configs", CONFIGS, "--region", "eu-west-1"],
    )
    .ok();
    let ws = mcpkit_core::Workspace::load(sb.path()).unwrap();
    let m = ws.manifest();
    assert_eq!(m.gateway.name, "my-gw");
    assert_eq!(m.targets.aws.region.as_deref(), Some("eu-west-1"));
    assert_eq!(m.servers["calc"].entrypoint, "calc/server.py");
    assert_eq!(m.servers["calc"].description.as_deref(), Some("Calculator"));
    assert!(m.servers["calc"].auto_create_execution_role);
    assert!(!m.servers["greeter"].auto_create_execution_role);
    assert!(!m.servers["greeter"].auto_create_ecr);
    assert!(ws.validate().is_empty());
    // A second import would overwrite: refused.
    sb.run(".", &["import", "--gateway-name", "my-gw", "--runtime-configs", CONFIGS])
        .input_error()
        .stderr_has("already exists");
}

#[test]
fn import_applies_the_original_checks() {
    let sb = Sandbox::new();
    toolkit_layout(&sb);
    let cases: &[(&str, &str)] = &[
        ("{not json", "not valid JSON"),
        (r#"{"name": "x"}"#, "must be a JSON array"),
        ("[]", "at least one runtime config"),
        (
            r#"[{"entrypoint": "calc/server.py", "requirements_file": "calc/requirements.txt"}]"#,
            "`--runtime-configs[0].name`: is required",
        ),
        (
            r#"[{"name": "a", "entrypoint": "calc/server.js", "requirements_file": "calc/requirements.txt"}]"#,
            "must be a .py file",
        ),
        (
            r#"[{"name": "a", "entrypoint": "calc/server.py", "requirements_file": "calc/requirements.in"}]"#,
            "must be a .txt file",
        ),
        (
            r#"[{"name": "a", "entrypoint": "../calc/server.py", "requirements_file": "calc/requirements.txt"}]"#,
            "must not contain `..`",
        ),
        (
            r#"[{"name": "a", "entrypoint": "calc/none.py", "requirements_file": "calc/requirements.txt"}]"#,
            "does not exist",
        ),
        (
            r#"[{"name": "a_b", "entrypoint": "calc/server.py", "requirements_file": "calc/requirements.txt"}]"#,
            "does not match",
        ),
        (
            r#"[{"name": "a", "entrypoint": "calc/server.py", "requirements_file": "calc/requirements.txt", "extra": 1}]"#,
            "unknown field",
        ),
        (
            r#"[{"name": "a", "entrypoint": "calc/server.py", "requirements_file": "calc/requirements.txt"}, {"name": "A", "entrypoint": "calc/server.py", "requirements_file": "calc/requirements.txt"}]"#,
            "duplicate server name",
        ),
    ];
    for (json, needle) in cases {
        sb.run(".", &["import", "--gateway-name", "gw", "--runtime-configs", json])
            .input_error()
            .stderr_has(needle);
    }
    sb.run(".", &["import", "--gateway-name", "bad_gw", "--runtime-configs", CONFIGS])
        .input_error()
        .stderr_has("`--gateway-name`");
    assert!(!sb.path().join("mcpkit.toml").exists(), "nothing may be written");
}

#[test]
fn templates_lists_builtins_and_user_templates() {
    let sb = Sandbox::new();
    let user = sb.config.path().join("templates/mine");
    std::fs::create_dir_all(&user).unwrap();
    std::fs::write(
        user.join("template.toml"),
        "description = \"My own\"\n[variables.greeting]\ndefault = \"Hi\"\n",
    )
    .unwrap();
    std::fs::write(user.join("server.py.hbs"), "# {{greeting}} from {{server_name}}\n").unwrap();
    std::fs::write(user.join("requirements.txt.hbs"), "{{mcp_requirement}}\n").unwrap();
    let r = sb.run(".", &["templates", "--json"]);
    r.ok();
    let list: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["blank", "calculator", "helloworld", "mine", "plugin"],
        "server templates first, then the plugin one"
    );
    assert!(!names.contains(&"workspace"), "the workspace skeleton is not a server template");
    let text = sb.run(".", &["templates"]);
    assert!(text.stdout.contains("My own"));
    // A user template renders, with its variable defaults and overrides.
    sb.run(".", &["new", "p", "-t", "mine", "--var", "greeting=Howdy"]).ok();
    assert_eq!(std::fs::read_to_string(sb.path().join("p/servers/p/server.py")).unwrap(), "# Howdy from p\n");
}

#[test]
fn a_broken_user_template_fails_cleanly() {
    let sb = Sandbox::new();
    let user = sb.config.path().join("templates/broken");
    std::fs::create_dir_all(&user).unwrap();
    std::fs::write(user.join("template.toml"), "description = \"Broken\"\n").unwrap();
    std::fs::write(user.join("server.py.hbs"), "{{undefined_variable}}\n").unwrap();
    sb.run(".", &["new", "p", "-t", "broken"]).input_error().stderr_has("failed to render");
    assert!(!sb.path().join("p").exists(), "a failing new leaves no half-made folder");
    assert_eq!(std::fs::read_dir(sb.path()).unwrap().count(), 0, "no staging leftovers");
}

#[test]
fn cli_basics() {
    let sb = Sandbox::new();
    let v = sb.run(".", &["--version"]);
    v.ok();
    assert!(v.stdout.starts_with("mcpkit "));
    let h = sb.run(".", &["--help"]);
    h.ok();
    for cmd in ["new", "add-server", "templates", "import", "validate", "completions"] {
        assert!(h.stdout.contains(cmd), "--help lists {cmd}");
    }
    let c = sb.run(".", &["completions", "bash"]);
    c.ok();
    assert!(c.stdout.contains("mcpkit"));
    sb.run(".", &["new"]).input_error();
}

/// `samples/calculator` is committed as mcpkit makes it; this keeps it honest.
#[test]
fn committed_sample_is_what_mcpkit_makes() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "calculator"]).ok();
    sb.run("calculator", &["add-server", "greeter", "--template", "helloworld"]).ok();
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/calculator");
    assert_eq!(
        tree(&sb.path().join("calculator")),
        tree(&sample),
        "regenerate with: scripts/regenerate-samples.sh"
    );
}

#[test]
fn a_description_with_triple_quotes_stays_in_the_docstring() {
    let sb = Sandbox::new();
    let evil = r#"ends here """; open("pwned", "w").write("x") # and a \ backslash"#;
    for t in ["blank", "calculator", "helloworld"] {
        let name = format!("p{t}");
        sb.run(".", &["new", &name, "-t", t, "--description", evil]).ok();
        let dir = sb.path().join(format!("{name}/servers/{name}"));
        let out = std::process::Command::new(support::python())
            .args(["-c", "import server; print(server.__doc__)"])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{t}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(evil),
            "{t}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(!dir.join("pwned").exists(), "{t}: the description ran as Python");
    }
}

/// `[environments.<name>]` overlays are checked when they enter the project: the name, every
/// name the environment derives, the servers it names, and its keys (an unknown one is an
/// error with its line, as anywhere in mcpkit.toml).
#[test]
fn environments_are_validated_with_file_line_and_field() {
    let sb = Sandbox::new();
    sb.run(".", &["new", "px", "-t", "blank"]).ok();
    let toml = sb.path().join("px/mcpkit.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let with = |extra: &str| std::fs::write(&toml, format!("{text}\n{extra}")).unwrap();
    let line_of = |needle: &str| {
        let all = std::fs::read_to_string(&toml).unwrap();
        all.lines().position(|l| l.contains(needle)).unwrap() + 1
    };

    with(
        "[environments.prod.targets.aws]\nregion = \"eu-west-1\"\ntoken_lifetime_s = 900\n\n[environments.prod.servers.px]\nenv = { LOG_LEVEL = \"DEBUG\" }\n",
    );
    sb.run("px", &["validate"]).ok();

    with("[environments.Prod]\n");
    let r = sb.run("px", &["validate"]);
    r.input_error()
        .stderr_has("environment name `Prod`")
        .stderr_has(&format!("mcpkit.toml:{}", line_of("[environments.Prod]")));

    with("[environments.newcognito]\n");
    sb.run("px", &["validate"]).input_error().stderr_has("Cognito refuses");

    with("[environments.dev.servers.nope]\nenv = {}\n");
    sb.run("px", &["validate"]).input_error().stderr_has("no server `nope`");

    with("[environments.dev.targets.aws]\nregoin = \"eu-west-1\"\n");
    sb.run("px", &["validate"])
        .input_error()
        .stderr_has("regoin")
        .stderr_has(&format!("mcpkit.toml:{}", line_of("regoin")));

    with("[environments.dev.targets.aws]\ntoken_lifetime_s = 60\n");
    sb.run("px", &["validate"]).input_error().stderr_has("environments.dev.targets.aws.token_lifetime_s");

    // A server name that fits alone but not with an environment's part.
    let long = "s".repeat(40);
    std::fs::write(&toml, &text).unwrap();
    sb.run("px", &["add-server", &long, "-t", "blank"]).ok();
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, format!("{text}\n[environments.staging]\n")).unwrap();
    sb.run("px", &["validate"])
        .input_error()
        .stderr_has("in environment `staging`")
        .stderr_has("AgentCore runtime name");
}
