//! The one place mcpkit writes files.
//!
//! Every write goes to a temporary file in the destination's folder and is renamed over the
//! destination, so a crash or a full disk never leaves a half-written mcpkit.toml, state file
//! or credentials file behind. Files holding secrets are *created* with mode 0600 (the
//! temporary file already has it), never chmod'ed afterwards: there is no window in which
//! another user could read them.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// Writes `contents` to `path` atomically, creating parent folders.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    write_with_mode(path, contents, None)
}

/// Writes a file that holds secrets: mode 0600 from the moment it exists.
pub fn write_secret(path: &Path, contents: &[u8]) -> Result<()> {
    write_with_mode(path, contents, Some(0o600))
}

/// Opens a log file for appending: created 0600 (a server's log may hold what it printed of
/// its secrets), and never through a symbolic link (a link planted where a log goes would
/// have mcpkit write into whatever it points at).
pub fn open_log(path: &Path, truncate: bool) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true);
    if truncate {
        o.write(true).truncate(true);
    } else {
        o.append(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    o.open(path)
}

/// Creates a folder (and its parents) that only its owner may enter: 0700.
pub fn private_dir(path: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(path).map_err(|e| Error::io("create folder", path, e))?;
    // A folder made before (by an older mcpkit, or by hand) is closed too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(|e| Error::io("read", path, e))?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io("restrict", path, e))?;
        }
    }
    Ok(())
}

fn write_with_mode(path: &Path, contents: &[u8], mode: Option<u32>) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create folder", dir, e))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".mcpkit-tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(mode.unwrap_or(0o644)));
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut tmp = builder.tempfile_in(dir).map_err(|e| Error::io("create a temporary file in", dir, e))?;
    tmp.write_all(contents).map_err(|e| Error::io("write", tmp.path(), e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io("sync", tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io("replace", path, e.error))?;
    Ok(())
}

/// A folder being built next to its final place; [`Staging::commit`] renames it into place in
/// one step, and dropping it uncommitted removes everything written so far. `mcpkit new` and
/// `add-server` build whole folders this way, so a failure leaves nothing half-made.
pub struct Staging {
    dir: tempfile::TempDir,
    dest: PathBuf,
}

impl Staging {
    /// Starts staging `dest`, which must not exist or be an empty folder.
    pub fn new(dest: &Path) -> Result<Self> {
        let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create folder", parent, e))?;
        let dir = tempfile::Builder::new()
            .prefix(".mcpkit-staging-")
            .tempdir_in(parent)
            .map_err(|e| Error::io("create a staging folder in", parent, e))?;
        Ok(Staging { dir, dest: dest.to_path_buf() })
    }

    /// The folder to write into.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file relative to the staged folder.
    pub fn write(&self, rel: &Path, contents: &[u8]) -> Result<()> {
        let path = self.dir.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("create folder", parent, e))?;
        }
        std::fs::write(&path, contents).map_err(|e| Error::io("write", &path, e))
    }

    /// Moves the staged folder to its destination (replacing an empty folder there).
    pub fn commit(self) -> Result<PathBuf> {
        let staged = self.dir.keep();
        if let Err(e) = std::fs::rename(&staged, &self.dest) {
            let _ = std::fs::remove_dir_all(&staged);
            return Err(Error::io("move the new folder into", &self.dest, e));
        }
        Ok(self.dest)
    }
}

/// True when `path` is a folder with nothing in it, or does not exist.
pub fn is_absent_or_empty_dir(path: &Path) -> bool {
    match std::fs::read_dir(path) {
        Ok(mut entries) => entries.next().is_none(),
        Err(_) => !path.exists(),
    }
}

/// Joins `rel` to `root` lexically and checks the result stays inside `root` (no `..` escape,
/// no absolute path). Returns the joined path, or `None` if it escapes.
pub fn contained_join(root: &Path, rel: &Path) -> Option<PathBuf> {
    let mut depth: usize = 0;
    for c in rel.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => depth = depth.checked_sub(1)?,
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(root.join(rel))
}

/// Normalizes a path lexically (removes `.` and resolves `..` against preceding parts).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporaries() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/file.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> =
            std::fs::read_dir(p.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("file.txt")]);
    }

    #[cfg(unix)]
    #[test]
    fn secret_files_are_0600() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("creds.json");
        write_secret(&p, b"{}").unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn staging_commits_or_vanishes() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("proj");
        {
            let s = Staging::new(&dest).unwrap();
            s.write(Path::new("a/b.txt"), b"x").unwrap();
        }
        assert!(!dest.exists());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0, "dropped staging leaves nothing");
        let s = Staging::new(&dest).unwrap();
        s.write(Path::new("a/b.txt"), b"x").unwrap();
        s.commit().unwrap();
        assert_eq!(std::fs::read(dest.join("a/b.txt")).unwrap(), b"x");
    }

    #[test]
    fn containment() {
        let root = Path::new("/w");
        assert_eq!(contained_join(root, Path::new("servers/a.py")), Some(PathBuf::from("/w/servers/a.py")));
        assert_eq!(contained_join(root, Path::new("a/../b")), Some(PathBuf::from("/w/a/../b")));
        assert_eq!(contained_join(root, Path::new("../b")), None);
        assert_eq!(contained_join(root, Path::new("/etc/passwd")), None);
        assert_eq!(normalize(Path::new("a/./b/../c")), PathBuf::from("a/c"));
    }
}
