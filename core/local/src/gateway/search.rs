//! AgentCore Gateway's built-in search tool, lexical here where AWS's is semantic.

use rmcp::model::{CallToolResult, ContentBlock, Tool};
use std::sync::Arc;

/// The search tool's name, as AgentCore names it.
pub const SEARCH_TOOL: &str = "x_amz_bedrock_agentcore_search";

pub fn tool() -> Tool {
    let schema = serde_json::json!({
        "type": "object",
        "properties": { "query": { "type": "string", "description": "What you want to do, in plain words" } },
        "required": ["query"]
    });
    let serde_json::Value::Object(schema) = schema else { unreachable!() };
    Tool::new(
        SEARCH_TOOL,
        "Search this gateway's tools by what they do; returns the best matches.",
        Arc::new(schema),
    )
}

/// Answers a search over `tools`.
pub fn answer(args: Option<&serde_json::Map<String, serde_json::Value>>, tools: &[Tool]) -> CallToolResult {
    let query = args.and_then(|a| a.get("query")).and_then(|q| q.as_str()).unwrap_or_default();
    if query.trim().is_empty() {
        return CallToolResult::error(vec![ContentBlock::text("`query` must be a non-empty string")]);
    }
    let candidates = tools.iter().filter(|t| t.name != SEARCH_TOOL).cloned().collect();
    let ranked = rank(query, candidates);
    let tools: Vec<serde_json::Value> =
        ranked.iter().map(|t| serde_json::to_value(t).unwrap_or_default()).collect();
    let body = serde_json::json!({ "tools": tools });
    let mut r = CallToolResult::structured(body);
    if r.content.is_empty() {
        r.content = vec![ContentBlock::text(serde_json::to_string(&tools).unwrap_or_default())];
    }
    r
}

/// Lexical ranking: query words found in a tool's name count three times, in its description
/// once. Tools that match nothing are left out; at most ten are returned.
pub fn rank(query: &str, tools: Vec<Tool>) -> Vec<Tool> {
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 1)
        .map(|w| w.to_lowercase())
        .collect();
    let mut scored: Vec<(usize, Tool)> = tools
        .into_iter()
        .map(|t| {
            let name = t.name.to_lowercase();
            let desc = t.description.as_deref().unwrap_or_default().to_lowercase();
            let score: usize = words
                .iter()
                .map(|w| 3 * usize::from(name.contains(w.as_str())) + desc.matches(w.as_str()).count())
                .sum();
            (score, t)
        })
        .filter(|(s, _)| *s > 0)
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    scored.into_iter().take(10).map(|(_, t)| t).collect()
}
