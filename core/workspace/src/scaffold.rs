//! Templates: the built-in ones embedded in the binary, and the user's own.
//!
//! A template is a folder with a `template.toml` (description, kind, variables with defaults)
//! and files. Files ending in `.hbs` are rendered with Handlebars (strict mode: a missing
//! variable is an error, not an empty string) and lose the suffix; other files are copied as
//! they are. User templates (in `~/.config/mcpkit/templates/` or `--template-dir`) override
//! built-ins of the same name.

use crate::error::{Error, Problem, Result};
use handlebars::Handlebars;
use include_dir::{Dir, include_dir};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../templates");

pub const TEMPLATE_TOML: &str = "template.toml";

/// What a template makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An MCP server (`mcpkit new`, `mcpkit add-server`).
    #[default]
    Server,
    /// The files of a workspace around its servers.
    Workspace,
    /// An auth-provider plugin crate (`mcpkit plugin new`).
    Plugin,
}

/// `template.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub description: String,
    #[serde(default)]
    pub kind: Kind,
    /// Variables the template uses beyond the standard ones, with their defaults.
    #[serde(default)]
    pub variables: BTreeMap<String, Variable>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    pub default: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase", tag = "type", content = "path")]
pub enum Source {
    Builtin,
    User(PathBuf),
}

/// A template: its metadata and files (path relative to the template folder, bytes).
#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    pub meta: Meta,
    pub source: Source,
    files: Vec<(PathBuf, Vec<u8>)>,
}

/// What `mcpkit templates` lists about a template.
#[derive(Debug, Clone, Serialize)]
pub struct Info {
    pub name: String,
    pub description: String,
    pub kind: Kind,
    pub source: Source,
    pub variables: BTreeMap<String, Variable>,
}

/// All templates available to a command.
#[derive(Debug, Clone)]
pub struct Registry {
    templates: BTreeMap<String, Template>,
}

/// The folder of the user's own templates: `$MCPKIT_CONFIG_DIR/templates`, by default
/// `~/.config/mcpkit/templates`.
pub fn user_template_dir() -> Option<PathBuf> {
    crate::config_dir().map(|d| d.join("templates"))
}

impl Registry {
    /// Built-ins, then the user's template folder, then `extra` folders (later ones win).
    pub fn load(extra: &[PathBuf]) -> Result<Self> {
        let mut templates = BTreeMap::new();
        for dir in BUILTIN.dirs() {
            let t = builtin(dir)?;
            templates.insert(t.name.clone(), t);
        }
        let mut folders: Vec<PathBuf> = user_template_dir().into_iter().filter(|d| d.is_dir()).collect();
        for d in extra {
            if !d.is_dir() {
                return Err(Error::input(
                    Problem::new(format!("template folder {} does not exist", d.display()))
                        .field("--template-dir"),
                ));
            }
            folders.push(d.clone());
        }
        for folder in folders {
            let entries = std::fs::read_dir(&folder).map_err(|e| Error::io("read", &folder, e))?;
            let mut dirs: Vec<PathBuf> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.join(TEMPLATE_TOML).is_file())
                .collect();
            dirs.sort();
            for d in dirs {
                let t = from_folder(&d)?;
                templates.insert(t.name.clone(), t);
            }
        }
        Ok(Registry { templates })
    }

    pub fn get(&self, name: &str) -> Option<&Template> {
        self.templates.get(name)
    }

    /// A template of the given kind, or a clear error listing the ones that exist.
    pub fn require(&self, name: &str, kind: Kind) -> Result<&Template> {
        match self.templates.get(name).filter(|t| t.meta.kind == kind) {
            Some(t) => Ok(t),
            None => Err(Error::input(
                Problem::new(format!("there is no {} template named `{name}`", kind_word(kind)))
                    .field("--template")
                    .hint(format!("available: {}", self.names(kind).join(", "))),
            )),
        }
    }

    /// Names of the templates of a kind, sorted.
    pub fn names(&self, kind: Kind) -> Vec<String> {
        self.templates.values().filter(|t| t.meta.kind == kind).map(|t| t.name.clone()).collect()
    }

    /// Everything `mcpkit templates` shows, server templates first.
    pub fn infos(&self) -> Vec<Info> {
        let mut v: Vec<Info> = self
            .templates
            .values()
            .filter(|t| t.meta.kind != Kind::Workspace)
            .map(|t| Info {
                name: t.name.clone(),
                description: t.meta.description.clone(),
                kind: t.meta.kind,
                source: t.source.clone(),
                variables: t.meta.variables.clone(),
            })
            .collect();
        v.sort_by_key(|i| (i.kind != Kind::Server, i.name.clone()));
        v
    }
}

fn kind_word(k: Kind) -> &'static str {
    match k {
        Kind::Server => "server",
        Kind::Workspace => "workspace",
        Kind::Plugin => "plugin",
    }
}

fn builtin(dir: &Dir<'static>) -> Result<Template> {
    let name = dir.path().file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    let meta_file = dir
        .get_file(dir.path().join(TEMPLATE_TOML))
        .ok_or_else(|| Error::world(format!("built-in template `{name}` has no template.toml")))?;
    let meta = parse_meta(&PathBuf::from(format!("<builtin>/{name}/{TEMPLATE_TOML}")), meta_file.contents())?;
    let mut files = Vec::new();
    collect_embedded(dir, dir.path(), &mut files);
    Ok(Template { name, meta, source: Source::Builtin, files })
}

fn collect_embedded(dir: &Dir<'static>, base: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for f in dir.files() {
        let rel = f.path().strip_prefix(base).unwrap_or(f.path()).to_path_buf();
        if rel != Path::new(TEMPLATE_TOML) {
            out.push((rel, f.contents().to_vec()));
        }
    }
    for d in dir.dirs() {
        collect_embedded(d, base, out);
    }
}

fn from_folder(dir: &Path) -> Result<Template> {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    let meta_path = dir.join(TEMPLATE_TOML);
    let bytes = std::fs::read(&meta_path).map_err(|e| Error::io("read", &meta_path, e))?;
    let meta = parse_meta(&meta_path, &bytes)?;
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| Error::io("read", &d, e))? {
            let path = entry.map_err(|e| Error::io("read", &d, e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path != meta_path {
                let rel = path.strip_prefix(dir).unwrap_or(&path).to_path_buf();
                files.push((rel, std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?));
            }
        }
    }
    files.sort();
    Ok(Template { name, meta, source: Source::User(dir.to_path_buf()), files })
}

fn parse_meta(path: &Path, bytes: &[u8]) -> Result<Meta> {
    let text = String::from_utf8_lossy(bytes);
    toml_edit::de::from_str(&text).map_err(|e| {
        let mut p = Problem::new(format!("invalid template.toml: {}", e.message().trim())).file(path);
        if let Some(s) = e.span() {
            let (l, c) = crate::error::line_col(&text, s.start);
            p = p.at(l, c);
        }
        Error::input(p)
    })
}

/// A rendered file: where it goes (relative) and its contents.
pub type Rendered = Vec<(PathBuf, Vec<u8>)>;

impl Template {
    /// Renders every file. `vars` are the standard variables; the template's own variables
    /// are added with their defaults unless `vars` sets them.
    pub fn render(&self, vars: &BTreeMap<String, String>) -> Result<Rendered> {
        let mut ctx = serde_json::Map::new();
        for (k, v) in &self.meta.variables {
            ctx.insert(k.clone(), v.default.clone().into());
        }
        for (k, v) in vars {
            ctx.insert(k.clone(), v.clone().into());
        }
        let hb = engine();
        let ctx = serde_json::Value::Object(ctx);
        let mut out = Vec::with_capacity(self.files.len());
        for (rel, bytes) in &self.files {
            let rel_str = rel.to_string_lossy();
            if let Some(stripped) = rel_str.strip_suffix(".hbs") {
                let src = std::str::from_utf8(bytes).map_err(|_| {
                    Error::world(format!("template `{}`: {} is not UTF-8", self.name, rel.display()))
                })?;
                let text = hb.render_template(src, &ctx).map_err(|e| {
                    Error::input(
                        Problem::new(format!(
                            "template `{}` failed to render {}: {e}",
                            self.name,
                            rel.display()
                        ))
                        .hint(
                            "a user template may use a variable that is not defined; see `mcpkit templates`",
                        ),
                    )
                })?;
                out.push((PathBuf::from(stripped), text.into_bytes()));
            } else {
                out.push((rel.clone(), bytes.clone()));
            }
        }
        Ok(out)
    }
}

/// The Handlebars engine: strict, no HTML escaping (we render Python, TOML and Markdown), and
/// helpers that quote values for the languages we render into.
fn engine() -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    hb.register_helper("toml", quoting(toml_string));
    hb.register_helper("py", quoting(py_string));
    hb.register_helper("py_doc", quoting(docstring_text));
    hb
}

fn first_param(h: &handlebars::Helper<'_>) -> String {
    h.param(0)
        .map(|p| p.value().as_str().map(str::to_string).unwrap_or_else(|| p.value().to_string()))
        .unwrap_or_default()
}

/// A helper writing its first parameter as `quote` renders it.
fn quoting(quote: fn(&str) -> String) -> Box<dyn handlebars::HelperDef + Send + Sync> {
    Box::new(
        move |h: &handlebars::Helper<'_>,
              _: &Handlebars<'_>,
              _: &handlebars::Context,
              _: &mut handlebars::RenderContext<'_, '_>,
              out: &mut dyn handlebars::Output|
              -> handlebars::HelperResult {
            out.write(&quote(&first_param(h)))?;
            Ok(())
        },
    )
}

/// `{{toml x}}`: x as a TOML basic string literal.
fn toml_string(s: &str) -> String {
    toml_edit::Value::from(s).to_string()
}

/// `{{py x}}`: x as a Python string literal (JSON string syntax is valid Python).
fn py_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// `{{py_doc x}}`: x as the text of a Python docstring. A description is the user's (or the
/// original toolkit's, through `import`); a `"""` in it must not end the docstring and run
/// the rest as Python, and a backslash must not start an escape.
fn docstring_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docstring_text_cannot_end_the_docstring() {
        assert_eq!(docstring_text(r#"a """ b \ c"#), r#"a \"\"\" b \\ c"#);
    }

    #[test]
    fn builtins_are_embedded() {
        let r = Registry::load(&[]).unwrap();
        let servers = r.names(Kind::Server);
        for t in ["blank", "calculator", "helloworld"] {
            assert!(servers.contains(&t.to_string()), "{servers:?}");
        }
        assert!(r.require("nope", Kind::Server).unwrap_err().to_string().contains("available: blank"));
    }

    #[test]
    fn helpers_quote() {
        let hb = engine();
        let ctx = serde_json::json!({"d": "say \"hi\"\n"});
        assert_eq!(hb.render_template("{{py d}}", &ctx).unwrap(), r#""say \"hi\"\n""#);
        let toml = hb.render_template("x = {{toml d}}", &ctx).unwrap();
        let parsed: toml_edit::DocumentMut = toml.parse().unwrap();
        assert_eq!(parsed["x"].as_str(), Some("say \"hi\"\n"), "{toml}");
        assert!(hb.render_template("{{missing}}", &ctx).is_err(), "strict mode");
    }
}
