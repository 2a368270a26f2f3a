//! Code artifacts for AgentCore's direct code deployment: a server's source files plus its
//! requirements cross-installed as manylinux aarch64 wheels, in one zip (at most 250 MB
//! compressed, 750 MB uncompressed, POSIX permissions).
//!
//! An artifact is named by the hash of its *inputs* (source files, requirements, Python
//! version), computed without building anything, so a deploy knows whether a server changed
//! before it spends a minute installing wheels. Built zips are cached under `.mcpkit/build/`
//! by that hash, and uploaded under a key made of it, so unchanged code is neither rebuilt nor
//! uploaded.

use mcpkit_workspace::error::{Error, Problem, Result};
use mcpkit_workspace::manifest::Workspace;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The Python AgentCore runs the code with, and its name in the API.
pub const PYTHON: &str = "3.13";
pub const PYTHON_RUNTIME: &str = "PYTHON_3_13";
/// Platforms tried in order, as the starter toolkit does: the oldest manylinux first.
const PLATFORMS: &[&str] = &["aarch64-manylinux2014", "aarch64-manylinux_2_17", "aarch64-manylinux_2_28"];
pub const MAX_ZIPPED: u64 = 250 * 1024 * 1024;
pub const MAX_UNZIPPED: u64 = 750 * 1024 * 1024;

/// What goes into one server's artifact.
#[derive(Debug, Clone)]
pub struct Spec {
    pub server: String,
    /// The server's folder: everything in it is shipped.
    pub dir: PathBuf,
    /// The entry point, relative to `dir` (what AgentCore runs).
    pub entrypoint: String,
    pub requirements: PathBuf,
    pub hash: String,
}

/// The spec of `server`'s artifact, with its input hash.
pub fn spec(ws: &Workspace, server: &str) -> Result<Spec> {
    let s = ws.manifest().servers.get(server).ok_or_else(|| Error::world(format!("no server `{server}`")))?;
    let entry = ws.root().join(&s.entrypoint);
    let dir = entry.parent().map(Path::to_path_buf).unwrap_or_else(|| ws.root().to_path_buf());
    if dir == ws.root() {
        return Err(Error::input(
            Problem::new("a server deployed as code needs a folder of its own (its whole folder is shipped)")
                .file(ws.manifest_path())
                .field(format!("servers.{server}.entrypoint"))
                .hint("move the server into a sub-folder, as `mcpkit add-server` does"),
        ));
    }
    let entrypoint = entry.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
    let requirements = ws.root().join(&s.requirements);
    let mut h = Sha256::new();
    h.update(format!("python {PYTHON} platforms {PLATFORMS:?}\0entry {entrypoint}\0").as_bytes());
    h.update(std::fs::read(&requirements).map_err(|e| Error::io("read", &requirements, e))?);
    h.update([0]);
    for f in mcpkit_deploy::source_files(&dir) {
        let rel = f.strip_prefix(&dir).unwrap_or(&f);
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(std::fs::read(&f).map_err(|e| Error::io("read", &f, e))?);
        h.update([0]);
    }
    let hash = hex::encode(h.finalize())[..20].to_string();
    Ok(Spec { server: server.to_string(), dir, entrypoint, requirements, hash })
}

/// Builds (or finds in the cache) the zip for `spec`; returns its path.
pub async fn build(spec: &Spec, cache: &Path) -> Result<PathBuf> {
    let zip_path = cache.join(format!("{}-{}.zip", spec.server, spec.hash));
    if zip_path.is_file() {
        return Ok(zip_path);
    }
    std::fs::create_dir_all(cache).map_err(|e| Error::io("create folder", cache, e))?;
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{}-", spec.server))
        .tempdir_in(cache)
        .map_err(|e| Error::io("create folder in", cache, e))?;
    let deps = staging.path().join("deps");
    install_wheels(&spec.requirements, &deps).await?;
    let spec = spec.clone();
    let out = zip_path.clone();
    let tmp = staging.path().join("artifact.zip");
    tokio::task::spawn_blocking(move || write_zip(&spec, &deps, &tmp).and_then(|()| persist(&tmp, &out)))
        .await
        .map_err(|e| Error::world(format!("packaging failed: {e}")))??;
    Ok(zip_path)
}

fn persist(tmp: &Path, out: &Path) -> Result<()> {
    std::fs::rename(tmp, out).map_err(|e| Error::io("write", out, e))
}

/// Cross-installs the requirements as aarch64 wheels into `target`: uv (from PATH or
/// bootstrapped), else pip with `--platform`. Only binary wheels: AgentCore cannot compile
/// anything.
async fn install_wheels(requirements: &Path, target: &Path) -> Result<()> {
    let installer = tokio::task::spawn_blocking(|| mcpkit_deploy::uv::installer(&|n: &str| eprintln!("{n}")))
        .await
        .map_err(|e| Error::world(format!("choosing the package installer failed: {e}")))?;
    let mut last = String::new();
    for platform in PLATFORMS {
        let mut cmd = if let mcpkit_deploy::uv::Installer::Uv(uv) = &installer {
            let mut c = tokio::process::Command::new(uv);
            c.args(["pip", "install", "--quiet", "--target"])
                .arg(target)
                .args(["--python-version", PYTHON, "--python-platform", platform, "--only-binary", ":all:"])
                .arg("-r")
                .arg(requirements);
            c
        } else {
            let pip_platform = platform.replace("aarch64-", "").replace('-', "_") + "_aarch64";
            let mut c = tokio::process::Command::new("python3");
            c.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target"])
                .arg(target)
                .args(["--platform", &pip_platform, "--python-version", PYTHON, "--only-binary=:all:"])
                .arg("-r")
                .arg(requirements);
            c
        };
        let out = cmd
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| Error::world(format!("cannot run the package installer (uv or pip): {e}")))?;
        if out.status.success() {
            return Ok(());
        }
        last = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let _ = std::fs::remove_dir_all(target);
    }
    Err(Error::world(format!(
        "cannot install {} as linux/arm64 wheels for Python {PYTHON}:\n{last}",
        requirements.display()
    ))
    .with_hint(
        "every requirement needs a manylinux aarch64 wheel on the index (no source builds, no git URLs)",
    ))
}

/// Writes the zip: dependencies at the root, then the server's own files (which win on a
/// name clash). Fixed timestamps and POSIX modes; sizes checked against AgentCore's limits.
fn write_zip(spec: &Spec, deps: &Path, out: &Path) -> Result<()> {
    use zip::write::SimpleFileOptions;
    let file = std::fs::File::create(out).map_err(|e| Error::io("create", out, e))?;
    let mut zip = zip::ZipWriter::new(file);
    let mut unzipped: u64 = 0;
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    if deps.is_dir() {
        for f in walk(deps) {
            let rel = f.strip_prefix(deps).unwrap_or(&f).to_string_lossy().to_string();
            files.push((rel, f));
        }
    }
    for f in mcpkit_deploy::source_files(&spec.dir) {
        let rel = f.strip_prefix(&spec.dir).unwrap_or(&f).to_string_lossy().to_string();
        files.push((rel, f));
    }
    let mut seen = std::collections::BTreeMap::new();
    for (i, (rel, _)) in files.iter().enumerate() {
        seen.insert(rel.clone(), i);
    }
    let zip_err = |e: zip::result::ZipError| Error::world(format!("writing {}: {e}", out.display()));
    for (i, (rel, path)) in files.iter().enumerate() {
        if seen[rel] != i {
            continue;
        }
        let meta = std::fs::metadata(path).map_err(|e| Error::io("read", path, e))?;
        unzipped += meta.len();
        if unzipped > MAX_UNZIPPED {
            return Err(too_big(spec, "uncompressed", MAX_UNZIPPED));
        }
        let executable = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0;
        let opts = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(if executable { 0o755 } else { 0o644 })
            .last_modified_time(zip::DateTime::default());
        zip.start_file(rel.as_str(), opts).map_err(zip_err)?;
        let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
        zip.write_all(&bytes).map_err(|e| Error::io("write", out, e))?;
    }
    zip.finish().map_err(zip_err)?;
    let size = std::fs::metadata(out).map_err(|e| Error::io("read", out, e))?.len();
    if size > MAX_ZIPPED {
        return Err(too_big(spec, "compressed", MAX_ZIPPED));
    }
    Ok(())
}

fn too_big(spec: &Spec, how: &str, limit: u64) -> Error {
    Error::world(format!(
        "the code artifact of `{}` is larger than AgentCore's {how} limit of {} MB",
        spec.server,
        limit / 1024 / 1024
    ))
    .with_hint("trim the requirements, or deploy it as a container (`build = \"container\"`)")
}

/// Every file below `dir`, sorted (wheels' own caches included: they are the package).
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() && e.file_name() != "__pycache__" => stack.push(p),
                Ok(t) if t.is_file() => out.push(p),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// Finds a container engine that can build images: docker, podman or finch, the first whose
/// daemon answers. A client without a daemon (a CI image with only the docker CLI) is no engine.
pub fn container_engine() -> Result<PathBuf> {
    let mut tried = Vec::new();
    for name in ["docker", "podman", "finch"] {
        let Some(path) = mcpkit_deploy::which(name) else { continue };
        let ok = std::process::Command::new(&path)
            .arg("info")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(path);
        }
        tried.push(format!("{name} (found, but its engine is not running)"));
    }
    let found = if tried.is_empty() { "none is installed".to_string() } else { tried.join(", ") };
    Err(Error::input(
        Problem::new(format!(
            "building a container image needs docker, podman or finch with a running engine; {found}"
        ))
        .field("build")
        .hint("start Docker (or Podman, or Finch), or deploy the server as code: `build = \"code\"`"),
    ))
}

/// The Dockerfile used when a server brings none: the image the starter toolkit uses, run as
/// a non-root user, serving on AgentCore's MCP port.
const DOCKERFILE: &str = "FROM ghcr.io/astral-sh/uv:python3.13-bookworm-slim
WORKDIR /app
COPY requirements.txt /app/requirements.txt
RUN uv pip install --system --no-cache -r /app/requirements.txt
COPY . /app
RUN useradd -m -u 1000 app
USER 1000
ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000
CMD [\"python\", \"{entrypoint}\"]
";

/// Builds the server's image for linux/arm64 and pushes it as `uri`. The build context is a
/// copy of the server's folder with its requirements, so the user's folder is never touched;
/// the server's own Dockerfile wins over the generated one.
pub async fn build_image(
    engine: &Path,
    spec: &Spec,
    uri: &str,
    registry: &str,
    password: &str,
    cache: &Path,
) -> Result<()> {
    std::fs::create_dir_all(cache).map_err(|e| Error::io("create folder", cache, e))?;
    let ctx = tempfile::Builder::new()
        .prefix(&format!(".{}-image-", spec.server))
        .tempdir_in(cache)
        .map_err(|e| Error::io("create folder in", cache, e))?;
    for f in mcpkit_deploy::source_files(&spec.dir) {
        let rel = f.strip_prefix(&spec.dir).unwrap_or(&f);
        let to = ctx.path().join(rel);
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p).map_err(|e| Error::io("create folder", p, e))?;
        }
        std::fs::copy(&f, &to).map_err(|e| Error::io("copy", &f, e))?;
    }
    let req = ctx.path().join("requirements.txt");
    if !req.exists() {
        std::fs::copy(&spec.requirements, &req).map_err(|e| Error::io("copy", &spec.requirements, e))?;
    }
    let dockerfile = ctx.path().join("Dockerfile");
    if !dockerfile.exists() {
        std::fs::write(&dockerfile, DOCKERFILE.replace("{entrypoint}", &spec.entrypoint))
            .map_err(|e| Error::io("write", &dockerfile, e))?;
    }
    let host = registry.split('/').next().unwrap_or(registry);
    run_engine(engine, &["login", "--username", "AWS", "--password-stdin", host], Some(password)).await?;
    let context = ctx.path().to_string_lossy().to_string();
    run_engine(engine, &["build", "--platform", "linux/arm64", "-t", uri, &context], None).await?;
    run_engine(engine, &["push", uri], None).await
}

async fn run_engine(engine: &Path, args: &[&str], stdin: Option<&str>) -> Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(engine)
        .args(args)
        .stdin(if stdin.is_some() { std::process::Stdio::piped() } else { std::process::Stdio::null() })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| Error::world(format!("cannot run {}: {e}", engine.display())))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes())
            .await
            .map_err(|e| Error::world(format!("{}: {e}", engine.display())))?;
    }
    let out =
        child.wait_with_output().await.map_err(|e| Error::world(format!("{}: {e}", engine.display())))?;
    if out.status.success() {
        return Ok(());
    }
    let tail: Vec<&str> = std::str::from_utf8(&out.stderr).unwrap_or("").lines().rev().take(15).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(Error::world(format!("`{} {}` failed:\n{}", engine.display(), args[0], tail.join("\n"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> (tempfile::TempDir, Workspace) {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("calc/__pycache__")).unwrap();
        std::fs::write(d.path().join("calc/server.py"), "print('hi')\n").unwrap();
        std::fs::write(d.path().join("calc/__pycache__/server.pyc"), "junk").unwrap();
        std::fs::write(d.path().join("calc/requirements.txt"), "").unwrap();
        let text = "[project]\nname = \"shop\"\n\n[gateway]\nname = \"shop\"\n\n[servers.calc]\nentrypoint = \"calc/server.py\"\nrequirements = \"calc/requirements.txt\"\n";
        let ws = Workspace::from_text(d.path(), text.into()).unwrap();
        (d, ws)
    }

    #[test]
    fn the_hash_follows_sources_and_requirements_not_caches() {
        let (d, ws) = workspace();
        let a = spec(&ws, "calc").unwrap();
        assert_eq!(a.entrypoint, "server.py");
        std::fs::write(d.path().join("calc/__pycache__/server.pyc"), "other junk").unwrap();
        assert_eq!(spec(&ws, "calc").unwrap().hash, a.hash);
        std::fs::write(d.path().join("calc/server.py"), "print('changed')\n").unwrap();
        let b = spec(&ws, "calc").unwrap();
        assert_ne!(b.hash, a.hash);
        std::fs::write(d.path().join("calc/requirements.txt"), "mcp\n").unwrap();
        assert_ne!(spec(&ws, "calc").unwrap().hash, b.hash);
    }

    #[test]
    fn the_zip_holds_sources_with_posix_modes_and_no_caches() {
        let (d, ws) = workspace();
        let s = spec(&ws, "calc").unwrap();
        let deps = d.path().join("deps/pkg");
        std::fs::create_dir_all(&deps).unwrap();
        std::fs::write(deps.join("__init__.py"), "x = 1\n").unwrap();
        let out = d.path().join("a.zip");
        write_zip(&s, &d.path().join("deps"), &out).unwrap();
        let mut z = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
        let mut names: Vec<String> =
            (0..z.len()).map(|i| z.by_index(i).unwrap().name().to_string()).collect();
        names.sort();
        assert_eq!(names, ["pkg/__init__.py", "requirements.txt", "server.py"]);
        let f = z.by_name("server.py").unwrap();
        assert_eq!(f.unix_mode().unwrap() & 0o777, 0o644);
    }
}
