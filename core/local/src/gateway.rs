//! The gateway's MCP face: every ready target's tools as `{target}___{tool}`, the search tool,
//! and `tools/call` routed to the target's runtime endpoint with the target's own OAuth token.
//! A target that is down drops out of the listing and its calls fail with a clear message;
//! the other targets are not affected.

use super::plan::ServerState;
use super::stack::Stack;
use mcpkit_workspace::names;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use std::sync::Arc;

/// AgentCore Gateway's built-in search tool (semantic there, lexical here).
pub const SEARCH_TOOL: &str = "x_amz_bedrock_agentcore_search";

#[derive(Clone)]
pub struct Gateway {
    pub stack: Arc<Stack>,
    pub name: String,
}

impl Gateway {
    /// Every ready target's tools, prefixed.
    async fn all_tools(&self) -> Vec<Tool> {
        let servers = self.stack.servers.read().await;
        let mut out = Vec::new();
        for slot in servers.values().filter(|s| s.status.state == ServerState::Ready) {
            for t in &slot.tools {
                let mut t = t.clone();
                t.name = names::tool_name(&slot.plan.target, &t.name).into();
                out.push(t);
            }
        }
        out
    }

    async fn search(&self, args: Option<&serde_json::Map<String, serde_json::Value>>) -> CallToolResult {
        let query = args.and_then(|a| a.get("query")).and_then(|q| q.as_str()).unwrap_or_default();
        if query.trim().is_empty() {
            return CallToolResult::error(vec![ContentBlock::text("`query` must be a non-empty string")]);
        }
        let ranked = rank(query, self.all_tools().await);
        let tools: Vec<serde_json::Value> =
            ranked.iter().map(|t| serde_json::to_value(t).unwrap_or_default()).collect();
        let body = serde_json::json!({ "tools": tools });
        let mut r = CallToolResult::structured(body);
        if r.content.is_empty() {
            r.content = vec![ContentBlock::text(serde_json::to_string(&tools).unwrap_or_default())];
        }
        r
    }
}

fn search_tool() -> Tool {
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

fn unavailable(msg: String) -> Result<CallToolResponse, ErrorData> {
    Ok(CallToolResult::error(vec![ContentBlock::text(msg)]).into())
}

impl ServerHandler for Gateway {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(self.name.clone(), mcpkit_workspace::VERSION))
            .with_instructions(format!(
                "mcpkit local gateway `{}`: tools are named <target>___<tool>; {SEARCH_TOOL} finds tools by description.",
                self.name
            ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let mut tools = vec![search_tool()];
        tools.extend(self.all_tools().await);
        Ok(ListToolsResult::with_all_items(tools))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        (name == SEARCH_TOOL).then(search_tool)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if request.name == SEARCH_TOOL {
            return Ok(self.search(request.arguments.as_ref()).await.into());
        }
        let Some((target, tool)) = names::split_tool_name(&request.name) else {
            return Err(ErrorData::invalid_params(
                format!("unknown tool `{}`: gateway tools are named <target>___<tool>", request.name),
                None,
            ));
        };
        let (upstream, state) = {
            let servers = self.stack.servers.read().await;
            match servers.values().find(|s| s.plan.target == target) {
                Some(s) => (s.upstream.clone(), s.status.state),
                None => {
                    return Err(ErrorData::invalid_params(format!("unknown target `{target}`"), None));
                }
            }
        };
        if state != ServerState::Ready {
            let state = serde_json::to_value(state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            return unavailable(format!(
                "target `{target}` is not available right now ({state}); try again shortly"
            ));
        }
        let mut params = CallToolRequestParams::new(tool.to_string());
        params.arguments = request.arguments;
        // One retry on a transport failure: the runtime may have restarted under us.
        for attempt in 0..2 {
            let client = match upstream.client().await {
                Ok(c) => c,
                Err(e) => return unavailable(format!("target `{target}` is not reachable: {e}")),
            };
            match client.call_tool_once(params.clone()).await {
                Ok(mut resp) => {
                    // A legacy upstream leaves the result type out; modern clients need it.
                    if let CallToolResponse::Complete(r) = &mut resp {
                        r.result_type.get_or_insert(rmcp::model::ResultType::COMPLETE);
                    }
                    return Ok(resp);
                }
                Err(rmcp::ServiceError::McpError(e)) => return Err(e),
                Err(e) if attempt == 0 => {
                    upstream.reset().await;
                    let _ = e;
                }
                Err(e) => return unavailable(format!("target `{target}` failed: {e}")),
            }
        }
        unreachable!("the loop returns")
    }
}
