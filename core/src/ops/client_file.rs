//! `mcpkit connect <client> --write`: one MCP-server entry merged into an MCP client's own
//! configuration file (Claude Desktop, Cursor, VS Code, Amazon Q/Kiro).
//!
//! The file is the user's, not ours: they may have other servers in it, other settings,
//! comments, their own indentation. So it is edited as a concrete syntax tree (jsonc-parser's
//! CST), which changes only the one entry and keeps every other byte where it was. A file we
//! cannot read is refused untouched rather than "repaired", a backup of the original is kept
//! next to it before it is replaced, and merging an entry that is already there writes nothing.

use crate::error::{Error, Problem, Result, line_col};
use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstNode, CstObject, CstObjectProp, CstRootNode};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What a backup is called: the file's name with this appended
/// (`claude_desktop_config.json.mcpkit-backup`).
///
/// Not `.bak`: a `.bak` next to a config file may be the user's own, and each merge overwrites
/// the previous backup. A name that is plainly mcpkit's is one we may overwrite.
pub const BACKUP_SUFFIX: &str = ".mcpkit-backup";

/// Where an entry goes in a client's file.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The client's configuration file; it need not exist yet.
    pub path: &'a Path,
    /// The top-level key holding servers: `mcpServers` for Claude Desktop, Cursor and Amazon
    /// Q/Kiro, `servers` for VS Code.
    pub servers_key: &'static str,
    /// The server's name, the key under `servers_key`.
    pub name: &'a str,
    /// The entry itself (`{"command": …}` or `{"url": …}`), written as given.
    pub entry: Value,
    /// The entry holds a secret (a bearer token): a file made for it is made 0600.
    pub secret: bool,
}

/// What the merge did to the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// There was no entry of that name.
    Added,
    /// An entry of that name differed and was replaced.
    Replaced,
    /// The entry was already there as given; the file was not written.
    Unchanged,
}

/// The outcome of [`merge`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Written {
    /// The file written (or left alone): a symbolic link resolved to the file it points at.
    pub path: PathBuf,
    /// The copy of the original, when an existing file was replaced.
    pub backup: Option<PathBuf>,
    pub change: Change,
}

/// Merges `t.entry` as `t.servers_key.t.name` into the client's file, creating it if absent.
///
/// An existing file must be JSON with comments (and trailing commas), holding an object whose
/// `servers_key`, if present, is an object; otherwise it is refused as bad input (exit code 2)
/// and nothing is written. Before an existing file is replaced, its original bytes are kept
/// in `<file>.mcpkit-backup` ([`BACKUP_SUFFIX`]). A symbolic link is followed, so a config
/// file linked from a dotfiles repository stays a link and the repository's file changes.
pub fn merge(t: &Target) -> Result<Written> {
    let path = resolve(t.path)?;
    match read_existing(&path)? {
        None => create(&path, t),
        Some(original) => update(&path, &original, t),
    }
}

/// The file to write: `path` with symbolic links resolved. A link to a file that does not
/// exist is refused: replacing the link with a file would silently break the user's setup.
fn resolve(path: &Path) -> Result<PathBuf> {
    match std::fs::canonicalize(path) {
        Ok(real) => Ok(real),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::fs::symlink_metadata(path).is_ok() {
                return Err(Error::input(
                    Problem::new("is a symbolic link to a file that does not exist").file(path),
                )
                .with_hint("create the file it points to (it may hold just `{}`), or remove the link"));
            }
            Ok(path.to_path_buf())
        }
        Err(e) => Err(Error::io("resolve", path, e)),
    }
}

/// The file's bytes, or `None` if there is no file yet.
fn read_existing(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// A new file holding only the entry, formatted the way clients write theirs.
fn create(path: &Path, t: &Target) -> Result<Written> {
    let doc = serde_json::json!({ t.servers_key: { t.name: t.entry } });
    let mut text = serde_json::to_string_pretty(&doc).expect("a JSON value always serializes");
    text.push('\n');
    if t.secret {
        crate::fs::write_secret(path, text.as_bytes())?;
    } else {
        crate::fs::write_atomic(path, text.as_bytes())?;
    }
    Ok(Written { path: path.to_path_buf(), backup: None, change: Change::Added })
}

/// Edits an existing file in place: everything is checked and the new text made before
/// anything is written, so a refusal leaves no trace.
fn update(path: &Path, original: &[u8], t: &Target) -> Result<Written> {
    let (bom, text) = decode(path, original)?;
    let root = parse(path, text)?;
    let doc = Doc { path, text };
    let servers = doc.servers_object(&root, t.servers_key)?;
    let change = doc.put_entry(&servers, t, &t.entry)?;
    if change == Change::Unchanged {
        return Ok(Written { path: path.to_path_buf(), backup: None, change });
    }
    let new_text = format!("{bom}{root}");
    let mode = mode_of(path)?;
    let backup = backup_path(path);
    write_keeping_mode(&backup, original, mode)?;
    write_keeping_mode(path, new_text.as_bytes(), mode)?;
    Ok(Written { path: path.to_path_buf(), backup: Some(backup), change })
}

/// The file as text, without a leading byte-order mark (which Windows editors write and the
/// parser does not expect) but returning it, so it is written back as it was.
fn decode<'t>(path: &Path, bytes: &'t [u8]) -> Result<(&'static str, &'t str)> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
        let (line, column) = line_col(valid, valid.len());
        Error::input(Problem::new("is not UTF-8 text").file(path).at(line, column))
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => ("\u{feff}", rest),
        None => ("", text),
    })
}

/// What the clients accept: JSON plus comments and trailing commas (VS Code's and Cursor's
/// "JSONC"). The parser's other leniencies (single quotes, hex numbers, missing commas…) stay
/// off: no client reads them, so a file using them is broken and should be said to be.
fn jsonc_options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// Parses the file, turning a syntax error into a problem at its line and column.
fn parse(path: &Path, text: &str) -> Result<CstRootNode> {
    CstRootNode::parse(text, &jsonc_options()).map_err(|e| {
        let (line, column) = line_col(text, e.range().start);
        Error::input(
            Problem::new(format!("is not valid JSON: {}", e.kind()))
                .file(path)
                .at(line, column)
                .hint("fix the file by hand (comments and trailing commas are fine), then run this again"),
        )
    })
}

/// The file being edited, for locating problems in it.
struct Doc<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Doc<'_> {
    /// The object holding servers, added (empty) if the file has none. An empty file, or one
    /// holding only comments, counts as an empty object: that is what `touch` leaves.
    fn servers_object(&self, root: &CstRootNode, key: &str) -> Result<CstObject> {
        let top = match root.value() {
            None => root.object_value_or_create().expect("a root without a value takes an object"),
            Some(value) => value.as_object().ok_or_else(|| {
                self.refuse(&value, None, "must hold an object `{ … }` at the top level".to_string())
            })?,
        };
        let Some(prop) = self.only_prop(&top, key, key)? else {
            top.append(key, CstInputValue::Object(Vec::new()));
            return Ok(top.object_value(key).expect("just added"));
        };
        let value = prop.value().expect("a parsed property has a value");
        value.as_object().ok_or_else(|| {
            self.refuse(&value, Some(key), "must be an object with one entry per server".to_string())
        })
    }

    /// Adds or replaces the entry, or reports that it is already there as given.
    fn put_entry(&self, servers: &CstObject, t: &Target, entry: &Value) -> Result<Change> {
        let field = format!("{}.{}", t.servers_key, t.name);
        match self.only_prop(servers, t.name, &field)? {
            None => {
                servers.append(t.name, to_input(entry));
                Ok(Change::Added)
            }
            Some(prop) if prop.value().and_then(|v| v.to_serde_value()).as_ref() == Some(entry) => {
                Ok(Change::Unchanged)
            }
            Some(prop) => {
                prop.set_value(to_input(entry));
                Ok(Change::Replaced)
            }
        }
    }

    /// The property `name` of `object`, if any. Written twice, it is refused: a client reads
    /// one of the two, and which one is not ours to guess.
    fn only_prop(&self, object: &CstObject, name: &str, field: &str) -> Result<Option<CstObjectProp>> {
        let mut found = object.properties().into_iter().filter(|p| p.decoded_name().as_deref() == Some(name));
        let first = found.next();
        match found.next() {
            None => Ok(first),
            Some(again) => Err(self
                .refuse(&again.into(), Some(field), "appears more than once".to_string())
                .with_hint("keep one of them and remove the others")),
        }
    }

    /// Bad input at `node`.
    fn refuse(&self, node: &CstNode, field: Option<&str>, message: String) -> Error {
        let (line, column) = line_col(self.text, offset_of(node));
        let mut p = Problem::new(message).file(self.path).at(line, column);
        if let Some(f) = field {
            p = p.field(f);
        }
        Error::input(p)
    }
}

/// Where `node` starts in the text: the CST keeps no positions, but each node prints as
/// exactly its source, so the text before it is everything printed before it.
fn offset_of(node: &CstNode) -> usize {
    let mut offset = 0;
    let mut current = node.clone();
    loop {
        offset += current.previous_siblings().map(|s| s.to_string().len()).sum::<usize>();
        match current.parent() {
            Some(parent) => current = parent.into(),
            None => return offset,
        }
    }
}

/// A serde_json value as the CST's input type, keeping the order of object keys.
fn to_input(value: &Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(items) => CstInputValue::Array(items.iter().map(to_input).collect()),
        Value::Object(map) => {
            CstInputValue::Object(map.iter().map(|(k, v)| (k.clone(), to_input(v))).collect())
        }
    }
}

/// `<file>.mcpkit-backup`, next to the file.
fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(BACKUP_SUFFIX);
    path.with_file_name(name)
}

/// The file's permission bits, to give the new file (and the backup) the same.
fn mode_of(path: &Path) -> Result<u32> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| Error::io("read", path, e))?;
    Ok(meta.permissions().mode() & 0o7777)
}

/// Writes atomically with the original's permissions. The workspace helper creates files
/// 0644, which would expose a 0600 config (it may hold tokens) until a chmod; so the file is
/// created 0600 ([`crate::fs::write_secret`]) and only then opened up to the original mode.
fn write_keeping_mode(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    crate::fs::write_secret(path, contents)?;
    if mode == 0o600 {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("set the permissions of", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn calc() -> Value {
        json!({"command": "uvx", "args": ["calc-mcp", "--port", 8080], "env": {"TOKEN": "a\"b\\c"}})
    }

    fn target<'a>(path: &'a Path, name: &'a str, entry: Value) -> Target<'a> {
        Target { path, servers_key: "mcpServers", name, entry, secret: false }
    }

    /// The file as a value, read by the parser's AST (not the CST the merge edits), with its
    /// defaults. (`parse_to_serde_value` would need the crate's `serde` feature too.)
    fn parse_back(path: &Path) -> Value {
        let text = std::fs::read_to_string(path).unwrap();
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let ast = jsonc_parser::parse_to_ast(text, &Default::default(), &Default::default()).unwrap();
        ast.value.map(Value::from).unwrap_or_default()
    }

    fn backup_of(path: &Path) -> PathBuf {
        backup_path(&std::fs::canonicalize(path).unwrap())
    }

    #[test]
    fn a_new_file_holds_exactly_the_entry() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("Claude/claude_desktop_config.json");
        let w = merge(&target(&path, "calc", calc())).unwrap();
        assert_eq!(w.change, Change::Added);
        assert_eq!(w.backup, None);
        let expected = serde_json::to_string_pretty(&json!({"mcpServers": {"calc": calc()}})).unwrap() + "\n";
        assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
        assert!(expected.contains("\n  \"mcpServers\": {\n    \"calc\""), "2-space indentation: {expected}");
        assert!(!backup_of(&path).exists());
    }

    const CURSOR: &str = r#"// Cursor's MCP settings
{
    "theme": "dark", /* not ours */
    "mcpServers": {
        // the first server
        "alpha": {
            "command": "alpha-mcp",
            "args": ["--verbose"],
        },
        /* the second one */
        "beta": { "url": "https://beta.example/mcp" },
    },
    "telemetry": false
}
"#;

    #[test]
    fn an_existing_file_keeps_everything_but_the_entry() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("mcp.json");
        std::fs::write(&path, CURSOR).unwrap();
        let w = merge(&target(&path, "calc", calc())).unwrap();
        assert_eq!(w.change, Change::Added);
        let text = std::fs::read_to_string(&path).unwrap();
        for line in CURSOR.lines() {
            assert!(text.lines().any(|l| l == line), "line {line:?} was lost from:\n{text}");
        }
        assert!(text.starts_with(&CURSOR[..CURSOR.find("    },\n    \"telemetry\"").unwrap()]), "{text}");
        assert!(
            text.contains("\n        \"calc\": {\n            \"args\": [\"calc-mcp\""),
            "4-space indent: {text}"
        );
        let v = parse_back(&path);
        assert_eq!(v["mcpServers"]["calc"], calc());
        assert_eq!(v["mcpServers"]["beta"], json!({"url": "https://beta.example/mcp"}));
        assert_eq!((v["theme"].clone(), v["telemetry"].clone()), (json!("dark"), json!(false)));
        assert_eq!(w.backup.as_deref(), Some(backup_of(&path).as_path()));
        assert_eq!(std::fs::read_to_string(w.backup.unwrap()).unwrap(), CURSOR);
    }

    #[test]
    fn a_missing_servers_key_is_added() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("settings.json");
        std::fs::write(&path, "{\n  // mine\n  \"editor.tabSize\": 2\n}\n").unwrap();
        let t = Target { servers_key: "servers", ..target(&path, "calc", calc()) };
        assert_eq!(merge(&t).unwrap().change, Change::Added);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\n  // mine\n  \"editor.tabSize\": 2,\n"), "{text}");
        assert_eq!(parse_back(&path), json!({"editor.tabSize": 2, "servers": {"calc": calc()}}));
    }

    #[test]
    fn replacing_an_entry_changes_only_that_entry() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("mcp.json");
        let before = "{\n  \"mcpServers\": {\n    \"alpha\": {\"command\": \"a\"}, // keep\n    \"calc\": ";
        let old = "{\"command\": \"old-calc\"}";
        let after = ",\n    \"omega\": {\"url\": \"https://o.example\"}\n  }\n}\n";
        std::fs::write(&path, format!("{before}{old}{after}")).unwrap();
        let w = merge(&target(&path, "calc", calc())).unwrap();
        assert_eq!(w.change, Change::Replaced);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(before) && text.ends_with(after), "{text}");
        assert!(!text.contains("old-calc"));
        let v = parse_back(&path);
        assert_eq!(v["mcpServers"]["calc"], calc());
        assert_eq!(v["mcpServers"].as_object().unwrap().len(), 3);
        assert_eq!(std::fs::read_to_string(w.backup.unwrap()).unwrap(), format!("{before}{old}{after}"));
    }

    #[test]
    fn merging_the_same_entry_twice_writes_nothing_the_second_time() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("mcp.json");
        std::fs::write(&path, CURSOR).unwrap();
        merge(&target(&path, "calc", calc())).unwrap();
        std::fs::remove_file(backup_of(&path)).unwrap();
        let past = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(past).unwrap();
        let bytes = std::fs::read(&path).unwrap();

        let w = merge(&target(&path, "calc", calc())).unwrap();
        assert_eq!(w.change, Change::Unchanged);
        assert_eq!(w.backup, None);
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), past);
        assert!(!backup_of(&path).exists());
    }

    /// Refuses with exit code 2, naming the file, and leaves no trace.
    fn assert_refused(text: &str, line: usize) -> String {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("mcp.json");
        std::fs::write(&path, text).unwrap();
        let err = merge(&target(&path, "calc", calc())).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{err}");
        let shown = err.to_string();
        let file = std::fs::canonicalize(&path).unwrap();
        assert!(shown.starts_with(&format!("{}:{line}:", file.display())), "{shown}");
        assert_eq!(err.problems()[0].line, Some(line));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        assert!(!backup_of(&path).exists());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1, "nothing else written");
        shown
    }

    #[test]
    fn a_malformed_file_is_refused_untouched() {
        let shown = assert_refused(r#"{"mcpServers": {"a": }"#, 1);
        assert!(shown.contains("is not valid JSON"), "{shown}");
        assert_refused("{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"x\"\n  }\n", 2);
        assert_refused("{\n  'mcpServers': {}\n}\n", 2);
    }

    #[test]
    fn a_root_that_is_not_an_object_is_refused() {
        let shown = assert_refused("// servers\n[\n  {\"mcpServers\": {}}\n]\n", 2);
        assert_eq!(assert_refused("[]", 1).split(": ").last(), shown.split(": ").last());
        assert!(shown.contains(":2:1: must hold an object"), "{shown}");
    }

    #[test]
    fn servers_that_are_not_an_object_are_refused() {
        let shown = assert_refused("{\n  \"other\": 1,\n  \"mcpServers\": \"calc\"\n}\n", 3);
        assert!(shown.contains(":3:17: `mcpServers`: must be an object"), "{shown}");
        assert_refused("{\"mcpServers\": null}", 1);
    }

    #[test]
    fn a_name_written_twice_is_refused() {
        let shown = assert_refused("{\"mcpServers\": {\n  \"calc\": {},\n  \"calc\": {}\n}}\n", 3);
        assert!(shown.contains("`mcpServers.calc`: appears more than once"), "{shown}");
    }

    #[test]
    fn an_empty_file_takes_the_entry() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("mcp.json");
        std::fs::write(&path, "").unwrap();
        assert_eq!(merge(&target(&path, "calc", calc())).unwrap().change, Change::Added);
        assert_eq!(parse_back(&path), json!({"mcpServers": {"calc": calc()}}));
    }

    #[test]
    fn a_byte_order_mark_is_kept() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("mcp.json");
        std::fs::write(&path, "\u{feff}{\"mcpServers\": {}}\n").unwrap();
        merge(&target(&path, "calc", calc())).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("\u{feff}{"), "{text:?}");
        assert_eq!(parse_back(&path), json!({"mcpServers": {"calc": calc()}}));
    }

    #[cfg(unix)]
    #[test]
    fn permissions_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        for mode in [0o600, 0o640] {
            let path = d.path().join(format!("mcp-{mode:o}.json"));
            std::fs::write(&path, "{}").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            merge(&target(&path, "calc", calc())).unwrap();
            let got = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(got(&path), mode);
            assert_eq!(got(&backup_of(&path)), mode);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_file_stays_a_symlink() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("dotfiles/claude.json");
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        std::fs::write(&real, "{\"mcpServers\": {}}\n").unwrap();
        let link = d.path().join("claude_desktop_config.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();

        let w = merge(&target(&link, "calc", calc())).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(w.path, std::fs::canonicalize(&real).unwrap());
        assert_eq!(parse_back(&real)["mcpServers"]["calc"], calc());
        assert_eq!(w.backup, Some(backup_of(&real)));

        let dangling = d.path().join("dangling.json");
        std::os::unix::fs::symlink(d.path().join("nowhere.json"), &dangling).unwrap();
        assert_eq!(merge(&target(&dangling, "calc", calc())).unwrap_err().exit_code(), 2);
        assert!(std::fs::symlink_metadata(&dangling).unwrap().file_type().is_symlink());
    }
}
