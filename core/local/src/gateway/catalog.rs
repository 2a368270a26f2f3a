//! What the gateway serves: each target's catalog (tools, prompts, resources, resource
//! templates), listed once when the target becomes ready, as AgentCore lists a target's
//! catalog when it synchronizes it; and the gateway's [`View`], every ready target's catalog
//! merged the way AgentCore Gateway merges them:
//!
//! - tools and prompts are named `{target}___{name}` (devguide, "gateway-tool-naming" and
//!   "gateway-using-mcp-prompts-get");
//! - resource URIs and templates are served unchanged, and when several targets serve the same
//!   URI the one with the lowest `resourcePriority` wins (default 1000; devguide
//!   "gateway-using-mcp-resources-list" and `McpServerTargetConfiguration.resourcePriority`).
//!   AWS documents no tie-break: mcpkit takes the target whose name sorts first, and reports it.
//!
//! The view is rebuilt whenever a target's state changes, never per request, and every list is
//! sorted by its key so a cursor can be the last key served (see [`page`]).

use mcpkit_deploy::mcp::ClientOf;
use mcpkit_workspace::names::{self, NameProblem};
use rmcp::ErrorData;
use rmcp::model::{Prompt, Resource, ResourceTemplate, Tool};
use rmcp::service::{RoleClient, Service};
use std::collections::{BTreeMap, HashMap};

/// AgentCore's default `resourcePriority`.
pub const DEFAULT_PRIORITY: u32 = 1000;

/// How many items one page of a list holds. AWS paginates `tools/list` by default and documents
/// no page size; 100 keeps a typical workspace on one page.
pub const PAGE_SIZE: usize = 100;

/// One target's catalog, as its server lists it.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub tools: Vec<Tool>,
    pub prompts: Vec<Prompt>,
    pub resources: Vec<Resource>,
    pub templates: Vec<ResourceTemplate>,
}

impl Catalog {
    /// Lists everything the server advertises (every page of each list).
    pub async fn fetch<H: Service<RoleClient>>(c: &ClientOf<H>) -> Result<Catalog, String> {
        let caps = c.peer_info().map(|i| i.capabilities.clone()).unwrap_or_default();
        let tools = c.list_all_tools().await.map_err(|e| format!("tools/list: {e}"))?;
        let prompts = match caps.prompts {
            Some(_) => c.list_all_prompts().await.map_err(|e| format!("prompts/list: {e}"))?,
            None => vec![],
        };
        let (resources, templates) = match caps.resources {
            Some(_) => (
                c.list_all_resources().await.map_err(|e| format!("resources/list: {e}"))?,
                c.list_all_resource_templates()
                    .await
                    .map_err(|e| format!("resources/templates/list: {e}"))?,
            ),
            None => (vec![], vec![]),
        };
        Ok(Catalog { tools, prompts, resources, templates })
    }
}

/// A ready target, as the view needs it.
pub struct Member<'a> {
    pub server: &'a str,
    pub target: &'a str,
    pub priority: u32,
    pub catalog: &'a Catalog,
}

/// The gateway's merged catalog.
#[derive(Debug, Default)]
pub struct View {
    pub tools: Vec<Tool>,
    pub prompts: Vec<Prompt>,
    pub resources: Vec<Resource>,
    pub templates: Vec<ResourceTemplate>,
    /// Which target serves each listed resource URI.
    owners: HashMap<String, String>,
    /// Every target's templates, best first, for `resources/read` of a URI no listing has.
    routes: Vec<(UriTemplate, String)>,
    /// Names and URIs the merge found wrong, per server.
    pub problems: Vec<NameProblem>,
}

impl View {
    /// Merges the catalogs of the ready targets. `extra_tools` are the gateway's own (the
    /// search tool), never prefixed.
    pub fn build<'a>(members: impl IntoIterator<Item = Member<'a>>, extra_tools: Vec<Tool>) -> View {
        let mut members: Vec<Member> = members.into_iter().collect();
        members.sort_by(|a, b| a.target.cmp(b.target));
        let mut problems = Vec::new();
        let mut tools: BTreeMap<String, Tool> =
            extra_tools.into_iter().map(|t| (t.name.to_string(), t)).collect();
        let mut prompts: BTreeMap<String, Prompt> = BTreeMap::new();
        for m in &members {
            let tools_of = m.catalog.tools.iter().map(|t| (t.name.as_ref(), t));
            prefixed(m, "tool", tools_of, &mut tools, &mut problems, |t, name| t.name = name.into());
            let prompts_of = m.catalog.prompts.iter().map(|p| (p.name.as_str(), p));
            prefixed(m, "prompt", prompts_of, &mut prompts, &mut problems, |p, name| p.name = name);
        }
        // Resources and templates: best priority first, then target name.
        let mut ranked: Vec<&Member> = members.iter().collect();
        ranked.sort_by(|a, b| a.priority.cmp(&b.priority).then_with(|| a.target.cmp(b.target)));
        let mut resources: BTreeMap<String, (Resource, &Member)> = BTreeMap::new();
        let mut templates: BTreeMap<String, (ResourceTemplate, &Member)> = BTreeMap::new();
        let mut routes = Vec::new();
        for m in &ranked {
            for r in &m.catalog.resources {
                match resources.get(&r.uri) {
                    Some((_, winner)) => problems.push(collision(m, "resource", &r.uri, winner)),
                    None => {
                        resources.insert(r.uri.clone(), (r.clone(), m));
                    }
                }
            }
            for t in &m.catalog.templates {
                match templates.get(&t.uri_template) {
                    Some((_, winner)) => {
                        problems.push(collision(m, "resource template", &t.uri_template, winner))
                    }
                    None => {
                        templates.insert(t.uri_template.clone(), (t.clone(), m));
                    }
                }
                if let Some(route) = UriTemplate::parse(&t.uri_template) {
                    routes.push((route, m.target.to_string()));
                }
            }
        }
        View {
            tools: tools.into_values().collect(),
            prompts: prompts.into_values().collect(),
            owners: resources.iter().map(|(uri, (_, m))| (uri.clone(), m.target.to_string())).collect(),
            resources: resources.into_values().map(|(r, _)| r).collect(),
            templates: templates.into_values().map(|(t, _)| t).collect(),
            routes,
            problems,
        }
    }

    /// The target that answers `resources/read` of `uri`: the owner of a listed resource, else
    /// the best target with a template that matches.
    pub fn resource_target(&self, uri: &str) -> Option<&str> {
        self.owners
            .get(uri)
            .map(String::as_str)
            .or_else(|| self.routes.iter().find(|(t, _)| t.matches(uri)).map(|(_, target)| target.as_str()))
    }

    /// A fingerprint of each list's names (tools, prompts, resources and templates), so the
    /// gateway notifies sessions only of the lists that changed.
    pub fn fingerprint(&self) -> [u64; 3] {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let hash = |names: &mut dyn Iterator<Item = String>| {
            let mut h = DefaultHasher::new();
            for n in names {
                n.hash(&mut h);
            }
            h.finish()
        };
        [
            hash(&mut self.tools.iter().map(|t| serde_json::to_string(t).unwrap_or_default())),
            hash(&mut self.prompts.iter().map(|p| serde_json::to_string(p).unwrap_or_default())),
            hash(
                &mut self
                    .resources
                    .iter()
                    .map(|r| r.uri.clone())
                    .chain(self.templates.iter().map(|t| t.uri_template.clone())),
            ),
        ]
    }
}

/// Adds a member's tools or prompts to `into` under their gateway names, and what is wrong
/// with those names to `problems`.
fn prefixed<'a, T: Clone + 'a>(
    m: &Member,
    kind: &str,
    items: impl Iterator<Item = (&'a str, &'a T)>,
    into: &mut BTreeMap<String, T>,
    problems: &mut Vec<NameProblem>,
    rename: impl Fn(&mut T, String),
) {
    for (own, item) in items {
        let name = names::tool_name(m.target, own);
        if let Some(problem) = named(m.server, kind, &name, into.contains_key(&name)) {
            let shadowed = !problem.served;
            problems.push(problem);
            if shadowed {
                continue;
            }
        }
        let mut item = item.clone();
        rename(&mut item, name.clone());
        into.insert(name, item);
    }
}

/// A tool's or prompt's name problem: MCP's and Bedrock's rules, or a name already taken
/// (`taken`; the first one keeps it).
fn named(server: &str, kind: &str, name: &str, taken: bool) -> Option<NameProblem> {
    if taken {
        return Some(NameProblem {
            server: server.to_string(),
            kind: kind.to_string(),
            name: name.to_string(),
            rule: format!("another {kind} of the gateway already has this name; this one is not served"),
            served: false,
        });
    }
    let broken = names::check_gateway_name(kind, name);
    (!broken.is_empty()).then(|| NameProblem {
        server: server.to_string(),
        kind: kind.to_string(),
        name: name.to_string(),
        rule: broken.join("; "),
        served: true,
    })
}

fn collision(loser: &Member, kind: &str, uri: &str, winner: &Member) -> NameProblem {
    NameProblem {
        server: loser.server.to_string(),
        kind: kind.to_string(),
        name: uri.to_string(),
        rule: format!(
            "`{}` (resource_priority {}) serves the same {kind}, and wins over `{}` (resource_priority {}): \
             the lower resource_priority wins, then the target whose name sorts first",
            winner.target, winner.priority, loser.target, loser.priority
        ),
        served: false,
    }
}

/// One page of `items` (sorted by `key`, keys unique) after `cursor`. The cursor is the last
/// key of the previous page, so it survives targets coming and going between pages: nothing
/// is served twice and nothing that stayed is skipped.
pub fn page<T: Clone>(
    items: &[T],
    key: impl Fn(&T) -> &str,
    cursor: Option<&str>,
) -> Result<(Vec<T>, Option<String>), ErrorData> {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let start = match cursor {
        None => 0,
        Some(c) => {
            let after = engine
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| ErrorData::invalid_params("invalid cursor", None))?;
            items.partition_point(|i| key(i) <= after.as_str())
        }
    };
    let end = (start + PAGE_SIZE).min(items.len());
    let next = (end < items.len()).then(|| engine.encode(key(&items[end - 1]).as_bytes()));
    Ok((items[start..end].to_vec(), next))
}

/// An RFC 6570 URI template, for matching URIs to it (not expanding it): `{var}` matches one
/// path segment, `{+var}` and `{#var}` anything, `{/var}` `/`-led segments, `{?var}` and `{&var}`
/// a query, `{.var}` and `{;var}` their prefixed forms.
#[derive(Debug)]
pub struct UriTemplate(regex::Regex);

impl UriTemplate {
    pub fn parse(template: &str) -> Option<UriTemplate> {
        let mut pattern = String::from("^");
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            pattern.push_str(&regex::escape(&rest[..open]));
            let close = rest[open..].find('}')? + open;
            let expr = &rest[open + 1..close];
            pattern.push_str(match expr.chars().next()? {
                '+' | '#' => ".*",
                '/' => "(?:/[^/?#]*)*",
                '?' | '&' => r"(?:[?&][^#]*)?",
                '.' => r"(?:\.[^/?#.]*)*",
                ';' => "(?:;[^/?#;]*)*",
                _ => "[^/?#]+",
            });
            rest = &rest[close + 1..];
        }
        pattern.push_str(&regex::escape(rest));
        pattern.push('$');
        regex::Regex::new(&pattern).ok().map(UriTemplate)
    }

    pub fn matches(&self, uri: &str) -> bool {
        self.0.is_match(uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn tool(name: &str) -> Tool {
        Tool::new(name.to_string(), "d", Arc::new(serde_json::Map::new()))
    }

    fn catalog(tools: &[&str], resources: &[&str], templates: &[&str]) -> Catalog {
        Catalog {
            tools: tools.iter().map(|t| tool(t)).collect(),
            prompts: vec![Prompt::new("summarize", Some("s"), None)],
            resources: resources.iter().map(|u| Resource::new(*u, "r")).collect(),
            templates: templates.iter().map(|u| ResourceTemplate::new(*u, "t")).collect(),
        }
    }

    #[test]
    fn the_view_prefixes_tools_and_prompts_and_leaves_uris_alone() {
        let a = catalog(&["add"], &["config://app"], &["users://{id}/profile"]);
        let b = catalog(&["greet"], &["docs://readme"], &[]);
        let v = View::build(
            [
                Member { server: "b", target: "b-target", priority: 1000, catalog: &b },
                Member { server: "a", target: "a-target", priority: 1000, catalog: &a },
            ],
            vec![tool("x_search")],
        );
        let names: Vec<&str> = v.tools.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(names, ["a-target___add", "b-target___greet", "x_search"]);
        let prompts: Vec<&str> = v.prompts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(prompts, ["a-target___summarize", "b-target___summarize"]);
        assert_eq!(v.resource_target("config://app"), Some("a-target"));
        assert_eq!(v.resource_target("docs://readme"), Some("b-target"));
        assert_eq!(v.resource_target("users://42/profile"), Some("a-target"));
        assert_eq!(v.resource_target("users://42/other"), None);
        assert!(v.problems.is_empty(), "{:?}", v.problems);
    }

    #[test]
    fn a_shared_uri_goes_to_the_lowest_priority_and_is_reported() {
        let a = catalog(&[], &["config://app"], &[]);
        let b = catalog(&[], &["config://app"], &[]);
        let c = catalog(&[], &["config://app"], &[]);
        let v = View::build(
            [
                Member { server: "a", target: "a-target", priority: 1000, catalog: &a },
                Member { server: "b", target: "b-target", priority: 5, catalog: &b },
                Member { server: "c", target: "c-target", priority: 5, catalog: &c },
            ],
            vec![],
        );
        assert_eq!(v.resources.len(), 1);
        assert_eq!(v.resource_target("config://app"), Some("b-target"));
        let losers: Vec<&str> = v.problems.iter().map(|p| p.server.as_str()).collect();
        assert_eq!(losers, ["c", "a"]);
        assert!(v.problems[0].rule.contains("`b-target` (resource_priority 5)"), "{:?}", v.problems);
    }

    #[test]
    fn bad_and_duplicate_names_are_reported_with_their_rule() {
        let long = "t".repeat(60);
        let a = catalog(&["add", "add", &long, "two words"], &[], &[]);
        let v =
            View::build([Member { server: "a", target: "a-target", priority: 1000, catalog: &a }], vec![]);
        let p: Vec<(&str, bool)> = v.problems.iter().map(|p| (p.rule.as_str(), p.served)).collect();
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].0.contains("already has this name") && !p[0].1);
        assert!(p[1].0.contains("Bedrock") && p[1].1);
        assert!(p[2].0.contains("SEP-986") && p[2].1);
        // Served (with a warning) unless shadowed.
        assert_eq!(v.tools.len(), 3);
    }

    #[test]
    fn pages_follow_the_last_key_and_refuse_a_forged_cursor() {
        let items: Vec<String> = (0..250).map(|i| format!("k{i:03}")).collect();
        let (p1, c1) = page(&items, |s| s, None).unwrap();
        assert_eq!((p1.len(), p1[0].as_str()), (100, "k000"));
        // An item before the cursor disappears: the next page is still right.
        let fewer: Vec<String> = items.iter().filter(|s| *s != "k010").cloned().collect();
        let (p2, c2) = page(&fewer, |s| s, c1.as_deref()).unwrap();
        assert_eq!(p2[0], "k100");
        let (p3, c3) = page(&fewer, |s| s, c2.as_deref()).unwrap();
        assert_eq!((p3.len(), p3[0].as_str(), c3), (50, "k200", None));
        let err = page(&items, |s| s, Some("%%%")).unwrap_err();
        assert_eq!(err.code, rmcp::model::ErrorCode::INVALID_PARAMS);
    }

    #[test]
    fn uri_templates_match_as_rfc_6570_expands() {
        let t = |s| UriTemplate::parse(s).unwrap();
        assert!(t("users://{id}/profile").matches("users://7/profile"));
        assert!(!t("users://{id}/profile").matches("users://7/8/profile"));
        assert!(t("file:///{+path}").matches("file:///a/b/c.txt"));
        assert!(t("search://q{?term,limit}").matches("search://q?term=x&limit=2"));
        assert!(t("a.b://{x}").matches("a.b://y") && !t("a.b://{x}").matches("aXb://y"));
    }
}
