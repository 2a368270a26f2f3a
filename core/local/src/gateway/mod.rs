//! The gateway's MCP face, as AgentCore Gateway serves an MCP-server target's whole surface:
//! every ready target's tools and prompts as `{target}___{name}`, its resources and resource
//! templates unchanged, the search tool, and each call routed to its target with the target's
//! own OAuth token. What a server sends during a call reaches the client ([`relay`]).
//! A target that is down drops out of every list and its calls fail with a clear message; the
//! other targets are not affected.

#![allow(deprecated)] // logging: see mcpkit_deploy::mcp

pub mod access;
pub mod catalog;
pub mod held;
pub mod relay;
pub mod search;

use super::plan::ServerState;
use super::stack::{Stack, Upstream};
use access::{AccessLog, Outcome, Pending};
use catalog::page;
use held::{Call, Held, Round};
use mcpkit_workspace::names;
use relay::{Current, Wants};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, DiscoverResult, ErrorCode,
    GetPromptRequestParams, GetPromptResponse, Implementation, InitializeRequestParams, InitializeResult,
    ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, LoggingLevel,
    PaginatedRequestParams, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse,
    RequestMetaObject, ResultType, ServerCapabilities, ServerConfig, SetLevelRequestParams, Tool,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use std::sync::{Arc, Mutex};

pub use search::SEARCH_TOOL;

/// Who called: the verified token's client (or subject), set by the gateway's authorizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal(pub String);

/// One session's (or, on 2026-07-28, one request's) gateway.
#[derive(Clone)]
pub struct Gateway {
    pub stack: Arc<Stack>,
    pub name: String,
    /// What `logging/setLevel` set in this session.
    log_level: Arc<Mutex<Option<LoggingLevel>>>,
    /// Where each request's line goes ([`access`]).
    access: Option<Arc<AccessLog>>,
}

fn unavailable(msg: String) -> CallToolResponse {
    CallToolResult::error(vec![ContentBlock::text(msg)]).into()
}

/// A legacy upstream leaves a result's type out; modern clients need it (rmcp takes it out
/// again for legacy clients).
fn completed(mut resp: CallToolResponse) -> CallToolResponse {
    if let CallToolResponse::Complete(r) = &mut resp {
        r.result_type.get_or_insert(ResultType::COMPLETE);
    }
    resp
}

/// The target's shared connection, for a request that is not a tool call.
async fn reach(upstream: &Upstream) -> Result<Arc<mcpkit_deploy::mcp::Client>, ErrorData> {
    upstream.client().await.map_err(|e| ErrorData::internal_error(e.to_string(), None))
}

/// A target's error as the client gets it: the server's own, or what went wrong reaching it.
fn failed(target: &str) -> impl Fn(rmcp::ServiceError) -> ErrorData + '_ {
    move |e| match e {
        rmcp::ServiceError::McpError(e) => e,
        e => ErrorData::internal_error(format!("target `{target}` failed: {e}"), None),
    }
}

fn principal(ctx: &RequestContext<RoleServer>) -> String {
    ctx.extensions
        .get::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<Principal>())
        .map(|p| p.0.clone())
        .unwrap_or_default()
}

/// The `_meta` that goes on to the server: the log level the client asked for, nothing else.
/// Protocol version, client info and capabilities are the gateway's to say, and rmcp gives
/// every request it sends a progress token of its own.
fn forwarded_meta(log_level: Option<LoggingLevel>) -> Option<RequestMetaObject> {
    log_level.map(|l| {
        let mut meta = RequestMetaObject::new();
        meta.set_log_level(l);
        meta
    })
}

impl Gateway {
    pub fn new(stack: Arc<Stack>, name: String) -> Self {
        let access = AccessLog::of(&stack.paths);
        Gateway { stack, name, log_level: Arc::new(Mutex::new(None)), access }
    }

    /// The access log's line of the request in `ctx`, written when it ends.
    fn begin(&self, ctx: &RequestContext<RoleServer>, method: &'static str, name: Option<&str>) -> Pending {
        let modern = ctx.protocol_version().is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
        Pending::new(self.access.clone(), principal(ctx), method, name, modern)
    }

    /// The upstream of a ready target, or what to tell the client instead.
    async fn upstream(&self, target: &str) -> Result<Arc<Upstream>, Result<CallToolResponse, ErrorData>> {
        let servers = self.stack.servers.read().await;
        let Some(s) = servers.values().find(|s| s.plan.target == target) else {
            return Err(Err(ErrorData::invalid_params(format!("unknown target `{target}`"), None)));
        };
        if s.status.state != ServerState::Ready {
            let state = serde_json::to_value(s.status.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            return Err(Ok(unavailable(format!(
                "target `{target}` is not available right now ({state}); try again shortly"
            ))));
        }
        Ok(s.upstream.clone())
    }

    /// A call over the target's shared connection: one retry on a transport failure, as the
    /// server may have restarted under us.
    async fn call_shared(
        &self,
        target: &str,
        upstream: &Upstream,
        params: CallToolRequestParams,
    ) -> Result<CallToolResponse, ErrorData> {
        for attempt in 0..2 {
            let client = match upstream.client().await {
                Ok(c) => c,
                Err(e) => return Ok(unavailable(format!("target `{target}` is not reachable: {e}"))),
            };
            match client.call_tool_once(params.clone()).await {
                Ok(resp) => return Ok(resp),
                Err(rmcp::ServiceError::McpError(e)) => return Err(e),
                Err(_) if attempt == 0 => upstream.reset().await,
                Err(e) => return Ok(unavailable(format!("target `{target}` failed: {e}"))),
            }
        }
        unreachable!("the loop returns")
    }

    /// A call over a pooled relay connection, passing on what the server sends.
    async fn call_relayed(
        &self,
        target: &str,
        upstream: Arc<Upstream>,
        params: CallToolRequestParams,
        wants: Wants,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let conn = match upstream.relay(wants.declares()).await {
            Ok(c) => c,
            Err(e) => return Ok(unavailable(format!("target `{target}` is not reachable: {e}"))),
        };
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        let asks = wants.modern.then_some(tx);
        conn.relay.serve(Some(Current { wants, peer: ctx.peer.clone(), asks }));
        let task = tokio::spawn(async move {
            let r = conn.client.call_tool(params).await;
            // What the server sent before its result reaches the client before the result.
            conn.flush().await;
            conn.relay.serve(None);
            if r.is_ok() {
                upstream.give_back(conn);
            }
            r
        });
        self.finish(target, Call::new(task, rx), ctx).await
    }

    /// Drives a relayed call to its result, or holds it for the client's retry.
    async fn finish(
        &self,
        target: &str,
        call: Call,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let round = tokio::select! {
            r = held::drive(call) => r,
            _ = ctx.ct.cancelled() => return Err(ErrorData::internal_error("cancelled by the client", None)),
        };
        match round {
            Round::Done(Ok(r)) => Ok(r.into()),
            Round::Done(Err(rmcp::ServiceError::McpError(e))) => Err(e),
            Round::Done(Err(e)) => Ok(unavailable(format!("target `{target}` failed: {e}"))),
            Round::Asked(call, requests) => Ok(self.stack.held.keep(call, principal(ctx), requests).into()),
        }
    }

    /// `tools/call`: the search tool, or the call routed to its target.
    async fn route_call(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
        line: &mut Pending,
    ) -> Result<CallToolResponse, ErrorData> {
        if request.name == SEARCH_TOOL {
            return Ok(search::answer(request.arguments.as_ref(), &self.stack.view().tools).into());
        }
        let Some((target, tool)) = names::split_tool_name(&request.name) else {
            return Err(ErrorData::invalid_params(
                format!("unknown tool `{}`: gateway tools are named <target>___<tool>", request.name),
                None,
            ));
        };
        line.routed(target);
        // The retry of a call the gateway holds for this client.
        if let Some(state) = request.request_state.as_deref().filter(|s| Held::is_ours(s)) {
            let Some(mut call) = self.stack.held.take(state, &principal(&ctx)) else {
                return Err(ErrorData::invalid_params(
                    "requestState is unknown or has expired; call the tool again",
                    None,
                ));
            };
            call.answer(request.input_responses.unwrap_or_default());
            return self.finish(target, call, &ctx).await.map(completed);
        }
        let upstream = match self.upstream(target).await {
            Ok(u) => u,
            Err(answer) => return answer,
        };
        let mut params = CallToolRequestParams::new(tool.to_string());
        params.arguments = request.arguments;
        // A server's own MRTR state, from a call it answered over the shared connection.
        params.input_responses = request.input_responses;
        params.request_state = request.request_state;
        let session_level = *self.log_level.lock().expect("log level");
        let resp = match Wants::of(&ctx, session_level) {
            Some(wants) if params.request_state.is_none() => {
                // What the client wants to hear, asked of the server as 2026-07-28 asks it (a
                // server of an earlier era sends its log messages regardless).
                params.meta = forwarded_meta(wants.log_level);
                self.call_relayed(target, upstream.clone(), params, wants, &ctx).await?
            }
            _ => {
                // rmcp moves a request's `_meta` into its context.
                params.meta = forwarded_meta(ctx.meta.log_level());
                self.call_shared(target, &upstream, params).await?
            }
        };
        Ok(completed(resp))
    }

    /// `prompts/get`, routed by the prompt's prefix.
    async fn route_prompt(
        &self,
        request: GetPromptRequestParams,
        ctx: RequestContext<RoleServer>,
        line: &mut Pending,
    ) -> Result<GetPromptResponse, ErrorData> {
        // The spec's error for an unknown prompt: -32602.
        let unknown = || ErrorData::invalid_params(format!("unknown prompt `{}`", request.name), None);
        if !self.stack.view().prompts.iter().any(|p| p.name == request.name) {
            return Err(unknown());
        }
        let (target, prompt) = names::split_tool_name(&request.name).ok_or_else(unknown)?;
        line.routed(target);
        let upstream = self.upstream(target).await.map_err(|_| unknown())?;
        let mut params = GetPromptRequestParams::new(prompt.to_string());
        params.arguments = request.arguments;
        params.meta = forwarded_meta(ctx.meta.log_level());
        params.input_responses = request.input_responses;
        params.request_state = request.request_state;
        let client = reach(&upstream).await?;
        let mut resp = client.get_prompt_once(params).await.map_err(failed(target))?;
        if let GetPromptResponse::Complete(r) = &mut resp {
            r.result_type.get_or_insert(ResultType::COMPLETE);
        }
        Ok(resp)
    }

    /// `resources/read`, routed by the URI.
    async fn route_read(
        &self,
        request: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
        line: &mut Pending,
    ) -> Result<ReadResourceResponse, ErrorData> {
        // The spec's error for an unknown resource: -32002, with the URI in `data`.
        let unknown = || {
            ErrorData::new(
                ErrorCode::RESOURCE_NOT_FOUND,
                format!("resource not found: {}", request.uri),
                Some(serde_json::json!({ "uri": request.uri })),
            )
        };
        let target =
            self.stack.view().resource_target(&request.uri).map(str::to_string).ok_or_else(unknown)?;
        line.routed(&target);
        let upstream = self.upstream(&target).await.map_err(|_| unknown())?;
        let mut params = ReadResourceRequestParams::new(request.uri.clone());
        params.meta = forwarded_meta(ctx.meta.log_level());
        params.input_responses = request.input_responses;
        params.request_state = request.request_state;
        let client = reach(&upstream).await?;
        let mut resp = client.read_resource_once(params).await.map_err(failed(&target))?;
        if let ReadResourceResponse::Complete(r) = &mut resp {
            r.result_type.get_or_insert(ResultType::COMPLETE);
        }
        Ok(resp)
    }
}

impl ServerHandler for Gateway {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_prompts()
            .enable_prompts_list_changed()
            .enable_resources()
            .enable_resources_list_changed()
            .enable_logging()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(self.name.clone(), mcpkit_workspace::VERSION))
            .with_instructions(format!(
                "mcpkit local gateway `{}`: tools and prompts are named <target>___<name>; {SEARCH_TOOL} finds tools by description.",
                self.name
            ))
    }

    async fn on_initialized(&self, ctx: NotificationContext<RoleServer>) {
        // A session exists (2025-11-25 and earlier): tell it when a list changes.
        let mut changes = self.stack.changes.subscribe();
        let peer = ctx.peer;
        tokio::spawn(async move {
            let mut seen = *changes.borrow_and_update();
            loop {
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return },
                    _ = tokio::time::sleep(std::time::Duration::from_secs(30)) => {
                        if peer.is_transport_closed() { return }
                        continue;
                    }
                }
                let now = *changes.borrow_and_update();
                let gone = (now[0] != seen[0] && peer.notify_tool_list_changed().await.is_err())
                    || (now[1] != seen[1] && peer.notify_prompt_list_changed().await.is_err())
                    || (now[2] != seen[2] && peer.notify_resource_list_changed().await.is_err());
                if gone {
                    return;
                }
                seen = now;
            }
        });
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        // rmcp's own `initialize`, with its line.
        let line = self.begin(&ctx, "initialize", None);
        ctx.peer.set_peer_info(request.clone());
        let r = self.negotiate_initialize(&request);
        line.end(&r, |_| Outcome::Ok);
        r
    }

    async fn discover(&self, ctx: RequestContext<RoleServer>) -> Result<DiscoverResult, ErrorData> {
        let line = self.begin(&ctx, "server/discover", None);
        let r = Ok(DiscoverResult::from_server_info(
            self.supported_protocol_versions().into_owned(),
            self.get_info(),
        ));
        line.end(&r, |_| Outcome::Ok);
        r
    }

    async fn ping(&self, ctx: RequestContext<RoleServer>) -> Result<(), ErrorData> {
        self.begin(&ctx, "ping", None).end(&Ok::<_, ErrorData>(()), |_| Outcome::Ok);
        Ok(())
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let line = self.begin(&ctx, "logging/setLevel", None);
        *self.log_level.lock().expect("log level") = Some(request.level);
        line.end(&Ok::<_, ErrorData>(()), |_| Outcome::Ok);
        Ok(())
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let line = self.begin(&ctx, "tools/list", None);
        let view = self.stack.view();
        let r = page(&view.tools, |t| t.name.as_ref(), request.as_ref().and_then(|r| r.cursor.as_deref()))
            .map(|(tools, next)| {
                let mut r = ListToolsResult::with_all_items(tools);
                r.next_cursor = next;
                r
            });
        line.end(&r, |_| Outcome::Ok);
        r
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        (name == SEARCH_TOOL).then(search::tool)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let mut line = self.begin(&ctx, "tools/call", Some(&request.name));
        let r = self.route_call(request, ctx, &mut line).await;
        line.end(&r, |resp| match resp {
            CallToolResponse::Complete(r) if r.is_error == Some(true) => Outcome::ToolError,
            CallToolResponse::InputRequired(_) => Outcome::InputRequired,
            _ => Outcome::Ok,
        });
        r
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let line = self.begin(&ctx, "prompts/list", None);
        let view = self.stack.view();
        let r = page(&view.prompts, |p| p.name.as_str(), request.as_ref().and_then(|r| r.cursor.as_deref()))
            .map(|(prompts, next)| {
                let mut r = ListPromptsResult::with_all_items(prompts);
                r.next_cursor = next;
                r
            });
        line.end(&r, |_| Outcome::Ok);
        r
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let mut line = self.begin(&ctx, "prompts/get", Some(&request.name));
        let r = self.route_prompt(request, ctx, &mut line).await;
        line.end(&r, |resp| match resp {
            GetPromptResponse::InputRequired(_) => Outcome::InputRequired,
            _ => Outcome::Ok,
        });
        r
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let line = self.begin(&ctx, "resources/list", None);
        let view = self.stack.view();
        let r = page(&view.resources, |r| r.uri.as_str(), request.as_ref().and_then(|r| r.cursor.as_deref()))
            .map(|(resources, next)| {
                let mut r = ListResourcesResult::with_all_items(resources);
                r.next_cursor = next;
                r
            });
        line.end(&r, |_| Outcome::Ok);
        r
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let line = self.begin(&ctx, "resources/templates/list", None);
        let view = self.stack.view();
        let cursor = request.as_ref().and_then(|r| r.cursor.as_deref());
        let r = page(&view.templates, |t| t.uri_template.as_str(), cursor).map(|(templates, next)| {
            let mut r = ListResourceTemplatesResult::with_all_items(templates);
            r.next_cursor = next;
            r
        });
        line.end(&r, |_| Outcome::Ok);
        r
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let mut line = self.begin(&ctx, "resources/read", Some(&request.uri));
        let r = self.route_read(request, ctx, &mut line).await;
        line.end(&r, |resp| match resp {
            ReadResourceResponse::InputRequired(_) => Outcome::InputRequired,
            _ => Outcome::Ok,
        });
        r
    }
}
