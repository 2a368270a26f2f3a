//! `mcpkit connect <client>`: an MCP client's configuration for the deployed gateway.
//!
//! By default the client is set up to start `mcpkit proxy` (this binary's absolute path, the
//! workspace's absolute path, the target): the configuration holds no secret and never
//! expires, and IAM gateways work in every client. `--static-token` gives the bearer-token
//! configuration instead, for clients that cannot start a process; its token expires.
//! `--write` merges the entry into the client's own file ([`super::client_file`]).

use super::client_file::{self, Written};
use super::target::{DeployTarget, gateway_token, iam_gateway};
use crate::error::{Error, Problem, Result};
use crate::manifest::Workspace;
use serde::Serialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// MCP clients `connect` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpClient {
    ClaudeDesktop,
    ClaudeCode,
    Vscode,
    Cursor,
    AmazonQ,
    Kiro,
}

impl McpClient {
    /// Every client, by the name the command line uses.
    pub const ALL: [(&'static str, McpClient); 6] = [
        ("claude-desktop", McpClient::ClaudeDesktop),
        ("claude-code", McpClient::ClaudeCode),
        ("vscode", McpClient::Vscode),
        ("cursor", McpClient::Cursor),
        ("amazon-q", McpClient::AmazonQ),
        ("kiro", McpClient::Kiro),
    ];

    pub fn from_name(name: &str) -> Option<McpClient> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
    }

    fn title(self) -> &'static str {
        match self {
            McpClient::ClaudeDesktop => "Claude Desktop",
            McpClient::ClaudeCode => "Claude Code",
            McpClient::Vscode => "VS Code",
            McpClient::Cursor => "Cursor",
            McpClient::AmazonQ => "Amazon Q Developer",
            McpClient::Kiro => "Kiro",
        }
    }

    /// The key of the client's file that holds its servers.
    fn servers_key(self) -> &'static str {
        match self {
            McpClient::Vscode => "servers",
            _ => "mcpServers",
        }
    }

    /// The client's own configuration file (None: Claude Code, configured by its command).
    fn file(self, ws: &Workspace) -> Result<Option<PathBuf>> {
        if self == McpClient::ClaudeCode {
            return Ok(None);
        }
        let home = dirs::home_dir().ok_or_else(|| {
            Error::input(
                Problem::new("cannot tell your home folder (HOME is not set)").hint("pass --file PATH"),
            )
        })?;
        Ok(Some(match self {
            McpClient::ClaudeCode => unreachable!("answered above"),
            McpClient::ClaudeDesktop if cfg!(target_os = "macos") => {
                home.join("Library/Application Support/Claude/claude_desktop_config.json")
            }
            McpClient::ClaudeDesktop => dirs::config_dir()
                .unwrap_or_else(|| home.join(".config"))
                .join("Claude/claude_desktop_config.json"),
            // VS Code's is the folder's: the workspace's, where the user opens the project.
            McpClient::Vscode => absolute(ws.root()).join(".vscode/mcp.json"),
            McpClient::Cursor => home.join(".cursor/mcp.json"),
            McpClient::AmazonQ => home.join(".aws/amazonq/mcp.json"),
            McpClient::Kiro => home.join(".kiro/settings/mcp.json"),
        }))
    }
}

#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// This binary (`std::env::current_exe`), which the client will start.
    pub exe: PathBuf,
    /// A bearer token in the configuration instead of the proxy.
    pub static_token: bool,
    /// Merge the entry into the client's file.
    pub write: bool,
    /// The client's file, instead of where the client keeps it.
    pub file: Option<PathBuf>,
}

/// A client's configuration: what it is, where it goes, and what `--write` did.
#[derive(Debug, Clone, Serialize)]
pub struct ClientConfig {
    pub client: &'static str,
    /// Where the configuration goes: the client's file, or "a shell" for a command.
    pub location: String,
    /// The text to paste (a JSON document or a shell command).
    pub config: String,
    pub note: String,
    /// What `--write` changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written: Option<Written>,
}

/// The path to put in a client's configuration for this binary: the `mcpkit` on `path_var`
/// (PATH) when it is this very file, since `current_exe` resolves links and would give a
/// package manager's versioned path (Homebrew's Cellar, the Nix store) that an upgrade
/// removes; else the binary's own absolute path.
pub fn stable_exe(exe: &Path, path_var: Option<&std::ffi::OsStr>) -> PathBuf {
    let real = exe.canonicalize().ok();
    let on_path = path_var
        .map(std::env::split_paths)
        .into_iter()
        .flatten()
        .filter(|d| d.is_absolute())
        .map(|d| d.join("mcpkit"))
        .find(|candidate| real.is_some() && candidate.canonicalize().ok() == real);
    on_path.unwrap_or_else(|| absolute(exe))
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The server's name in the client: the gateway's, so two workspaces' entries differ.
/// In an environment it is the environment's gateway (`mcpkit-shop-dev`), so a client can hold
/// dev and prod side by side.
fn entry_name(ws: &Workspace) -> String {
    format!("mcpkit-{}", ws.gateway_names().gateway)
}

/// `mcpkit proxy` with what it needs to find this gateway again from anywhere.
fn proxy_args(ws: &Workspace, target: &DeployTarget) -> Vec<String> {
    let mut args = vec!["proxy".to_string(), "--workspace".to_string()];
    args.push(absolute(ws.root()).to_string_lossy().into_owned());
    args.extend(["--target".to_string(), target.name().to_string()]);
    if let Some(e) = ws.environment() {
        args.extend(["--env".to_string(), e.to_string()]);
    }
    if let DeployTarget::Aws(settings) = target {
        // A client started from a desktop does not see the shell's AWS_PROFILE/AWS_REGION:
        // what this command was run with goes into the entry (mcpkit.toml's are read anyway).
        if let Some(r) = settings.region.clone().or_else(crate::aws::commands::region_from_env) {
            args.extend(["--region".to_string(), r]);
        }
        let profile = std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty());
        if let Some(p) = settings.profile.clone().or(profile) {
            args.extend(["--profile".to_string(), p]);
        }
    }
    args
}

/// The environment the proxy needs from this one: mcpkit's own configuration folder (trusted
/// plugins, the user's plugins) when it is not the default.
fn proxy_env() -> Option<Value> {
    let dir = std::env::var_os("MCPKIT_CONFIG_DIR").filter(|d| !d.is_empty())?;
    let dir = absolute(Path::new(&dir));
    Some(json!({ "MCPKIT_CONFIG_DIR": dir.to_string_lossy() }))
}

/// What the client's file holds for the server: the entry to merge.
fn entry(client: McpClient, ws: &Workspace, target: &DeployTarget, o: &ConnectOptions) -> Result<Value> {
    if !o.static_token {
        let command = stable_exe(&o.exe, std::env::var_os("PATH").as_deref()).to_string_lossy().into_owned();
        let args = proxy_args(ws, target);
        let mut entry = match client {
            McpClient::Vscode => json!({ "type": "stdio", "command": command, "args": args }),
            _ => json!({ "command": command, "args": args }),
        };
        if let Some(env) = proxy_env() {
            entry["env"] = env;
        }
        return Ok(entry);
    }
    if iam_gateway(ws, target).is_some() {
        return Err(Error::input(
            Problem::new("this gateway authenticates callers with AWS IAM (SigV4): a static bearer token cannot reach it")
                .file(ws.manifest_path())
                .field("gateway.auth")
                .hint("leave out --static-token: the client then starts `mcpkit proxy`, which signs every request"),
        ));
    }
    let t = gateway_token(ws, target)?;
    let bearer = format!("Bearer {}", t.token.expose());
    Ok(match client {
        // Claude Desktop starts only local processes; mcp-remote bridges to HTTP.
        McpClient::ClaudeDesktop => json!({
            "command": "npx",
            "args": ["-y", "mcp-remote", t.url, "--header", "Authorization:${MCPKIT_AUTH}"],
            "env": { "MCPKIT_AUTH": bearer }
        }),
        McpClient::Cursor => json!({ "url": t.url, "headers": { "Authorization": bearer } }),
        _ => json!({ "type": "http", "url": t.url, "headers": { "Authorization": bearer } }),
    })
}

/// Quotes a word for a POSIX shell when it needs quoting.
fn shell_word(w: &str) -> String {
    if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c)) {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// Claude Code is configured with its own command.
fn claude_code(name: &str, entry: &Value) -> String {
    let words = |v: &Value| -> Vec<String> {
        v.as_array().into_iter().flatten().filter_map(|a| a.as_str()).map(shell_word).collect()
    };
    match entry.get("url").and_then(Value::as_str) {
        Some(url) => {
            let bearer = entry["headers"]["Authorization"].as_str().unwrap_or_default();
            format!(
                "claude mcp add --transport http {} {} --header {}",
                shell_word(name),
                shell_word(url),
                shell_word(&format!("Authorization: {bearer}"))
            )
        }
        None => {
            let env: Vec<String> = entry["env"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    format!(" -e {}", shell_word(&format!("{k}={}", v.as_str().unwrap_or_default())))
                })
                .collect();
            format!(
                "claude mcp add{} {} -- {} {}",
                env.concat(),
                shell_word(name),
                shell_word(entry["command"].as_str().unwrap_or_default()),
                words(&entry["args"]).join(" ")
            )
        }
    }
}

pub fn connect(
    ws: &Workspace,
    target: &DeployTarget,
    client: McpClient,
    o: &ConnectOptions,
) -> Result<ClientConfig> {
    if !o.static_token && matches!(target, DeployTarget::Local) {
        // The client would start a proxy that refuses to run: say so now.
        crate::local::gateway_url(ws)?;
    }
    let name = entry_name(ws);
    let entry = entry(client, ws, target, o)?;
    let note = if o.static_token {
        "the token expires (an hour by default); run `mcpkit connect` again for a new one, or leave out \
         --static-token so that the client starts `mcpkit proxy`, which renews it"
            .to_string()
    } else {
        "the client starts `mcpkit proxy`, which keeps the gateway's token renewed; nothing here expires \
         or is secret"
            .to_string()
    };
    if client == McpClient::ClaudeCode {
        let note = if o.write || o.file.is_some() {
            format!("Claude Code keeps its servers itself: run the command (nothing was written); {note}")
        } else {
            note
        };
        return Ok(ClientConfig {
            client: client.title(),
            location: "a shell".to_string(),
            config: claude_code(&name, &entry),
            note,
            written: None,
        });
    }
    let file = match &o.file {
        Some(f) => f.clone(),
        None => client.file(ws)?.expect("every client but Claude Code has a file"),
    };
    let doc = json!({ client.servers_key(): { name.as_str(): entry.clone() } });
    let written = if o.write {
        Some(client_file::merge(&client_file::Target {
            path: &file,
            servers_key: client.servers_key(),
            name: &name,
            entry,
            secret: o.static_token,
        })?)
    } else {
        None
    };
    Ok(ClientConfig {
        client: client.title(),
        location: file.to_string_lossy().into_owned(),
        config: serde_json::to_string_pretty(&doc).expect("json"),
        note,
        written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configured_binary_is_the_one_on_path_when_that_links_to_this_one() {
        let d = tempfile::tempdir().unwrap();
        let cellar = d.path().join("Cellar/mcpkit/0.1.0/bin");
        std::fs::create_dir_all(&cellar).unwrap();
        let real = cellar.join("mcpkit");
        std::fs::write(&real, "").unwrap();
        let bin = d.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(&real, bin.join("mcpkit")).unwrap();
        let path = std::env::join_paths([d.path().join("elsewhere"), bin.clone()]).unwrap();
        assert_eq!(stable_exe(&real, Some(&path)), bin.join("mcpkit"));
        // Another mcpkit on PATH is not this one: the binary's own path.
        let other = d.path().join("other");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("mcpkit"), "").unwrap();
        let path = std::env::join_paths([other]).unwrap();
        assert_eq!(stable_exe(&real, Some(&path)), real);
        assert_eq!(stable_exe(&real, None), real);
    }
}
