//! AgentCore: a runtime per server, the gateway, an OAuth2 credential provider per OAuth target,
//! and a gateway target per server. All are polled until READY (the SDK has no waiters), and
//! calls that name a freshly made role are retried while it propagates.

use super::{AwsCloud, built, recorded_id};
use crate::artifact::PYTHON_RUNTIME;
use crate::resources::{
    self as res, Authorizer, ClientOut, CodeOut, Credentials, GatewayConfig, GatewayOut, ImageOut, Outputs,
    ProviderOut, RoleOut, RuntimeConfig, RuntimeOut, TargetConfig, TargetOut,
};
use crate::sdk::SdkResult;
use aws_sdk_bedrockagentcorecontrol::types::{
    AgentManagedRuntimeType, AgentRuntimeArtifact, AuthorizerConfiguration, AuthorizerType, Code,
    CodeConfiguration, ContainerConfiguration, CredentialProvider, CredentialProviderConfiguration,
    CredentialProviderType, CredentialProviderVendorType, CustomJwtAuthorizerConfiguration,
    CustomOauth2ProviderConfigInput, GatewayProtocolConfiguration, GatewayProtocolType,
    IamCredentialProvider, McpGatewayConfiguration, McpServerTargetConfiguration, McpTargetConfiguration,
    NetworkConfiguration, NetworkMode, OAuthCredentialProvider, Oauth2Discovery, Oauth2ProviderConfigInput,
    ProtocolConfiguration, S3Location, SearchType, ServerProtocol, SessionConfiguration,
    StreamingConfiguration, TargetConfiguration,
};
use mcpkit_engine::{Desired, Inputs, Key, Live, Record, config_hash};
use mcpkit_workspace::error::{Error, Result};
use mcpkit_workspace::names;
use serde_json::json;
use std::collections::HashMap;

/// What a runtime is made from: artifact, role ARN, authorizer (none: IAM), environment,
/// description.
/// A gateway's role, protocol, authorizer type and configuration, and description: what create
/// and update send alike.
type GatewaySettings =
    (String, GatewayProtocolConfiguration, AuthorizerType, Option<AuthorizerConfiguration>, Option<String>);

type RuntimeRequest =
    (AgentRuntimeArtifact, String, Option<AuthorizerConfiguration>, HashMap<String, String>, Option<String>);

fn runtime_live(region: &str, id: &str, arn: &str) -> Live {
    RuntimeOut {
        id: id.to_string(),
        arn: arn.to_string(),
        invocation_url: names::runtime_invocation_url(region, arn),
    }
    .live(id)
}

fn jwt_authorizer(discovery_url: String, client_id: String) -> Result<AuthorizerConfiguration> {
    Ok(AuthorizerConfiguration::CustomJwtAuthorizer(built(
        CustomJwtAuthorizerConfiguration::builder()
            .discovery_url(discovery_url)
            .allowed_clients(client_id)
            .build(),
    )?))
}

impl AwsCloud {
    async fn is_ours_arn(&self, key: &Key, arn: &str) -> Result<bool> {
        let tags = self.aws.agentcore.list_tags_for_resource().resource_arn(arn).send().await;
        let tags = tags.found("read AgentCore tags")?;
        Ok(tags.and_then(|t| t.tags().cloned()).is_some_and(|t| self.ours(key, t.iter())))
    }

    /// Everything a runtime is made from, for create and update alike (an update is a full
    /// replace in AgentCore).
    pub(super) fn runtime_request(&self, d: &Desired, inputs: &Inputs) -> Result<RuntimeRequest> {
        let c: RuntimeConfig = res::config(d)?;
        let artifact = if let Some(code) = res::input::<CodeOut>(inputs)? {
            let entry = self
                .artifacts
                .get(&c.server)
                .map(|s| s.entrypoint.clone())
                .unwrap_or_else(|| "server.py".into());
            let s3 = built(S3Location::builder().bucket(code.bucket).prefix(code.key).build())?;
            AgentRuntimeArtifact::CodeConfiguration(built(
                CodeConfiguration::builder()
                    .code(Code::S3(s3))
                    .runtime(AgentManagedRuntimeType::from(PYTHON_RUNTIME))
                    .entry_point(entry)
                    .build(),
            )?)
        } else {
            let uri = res::need::<ImageOut>(inputs)?.uri;
            AgentRuntimeArtifact::ContainerConfiguration(built(
                ContainerConfiguration::builder().container_uri(uri).build(),
            )?)
        };
        let role = match (res::input::<RoleOut>(inputs)?, &c.role) {
            (Some(r), _) => r.arn,
            (None, Some(brought)) => brought.clone(),
            (None, None) => {
                return Err(Error::world(format!(
                    "internal: runtime {} has neither its own role nor a brought one",
                    d.key.name
                )));
            }
        };
        let authorizer = if c.authorizer == Authorizer::CustomJwt {
            let (discovery, client) = Self::cognito_leg(inputs)?;
            Some(jwt_authorizer(discovery, client)?)
        } else {
            None
        };
        let env: HashMap<String, String> = c.env.into_iter().collect();
        Ok((artifact, role, authorizer, env, c.description))
    }

    async fn runtime_wait(&self, id: &str) -> Result<()> {
        self.wait_ready(&format!("runtime {id}"), || async {
            let out = self.aws.agentcore.get_agent_runtime().agent_runtime_id(id).send().await;
            Ok(out.found("read runtime")?.map(|o| {
                (o.status().as_str().to_string(), o.failure_reason().unwrap_or_default().to_string())
            }))
        })
        .await
    }

    /// Waits for the runtime's DEFAULT endpoint, which the gateway target invokes: after a
    /// create or update it is CREATING or UPDATING for a while after the runtime is READY, and
    /// a target made meanwhile lists nothing, or the previous version's tools. AWS's starter
    /// toolkit waits the same way (`wait_for_agent_endpoint_ready`), and likewise takes a
    /// missing endpoint for one not made yet.
    async fn endpoint_wait(&self, runtime_id: &str) -> Result<()> {
        self.wait_ready(&format!("the DEFAULT endpoint of runtime {runtime_id}"), || async {
            let out = self
                .aws
                .agentcore
                .get_agent_runtime_endpoint()
                .agent_runtime_id(runtime_id)
                .endpoint_name(names::RUNTIME_ENDPOINT)
                .send()
                .await;
            Ok(Some(match out.found("read runtime endpoint")? {
                Some(o) => {
                    (o.status().as_str().to_string(), o.failure_reason().unwrap_or_default().to_string())
                }
                None => ("CREATING".to_string(), String::new()),
            }))
        })
        .await
    }

    pub(super) async fn runtime_read(&self, key: &Key, recorded: Option<&Record>) -> Result<Option<Live>> {
        let ac = &self.aws.agentcore;
        if let Some(id) = recorded_id(recorded) {
            let out = ac.get_agent_runtime().agent_runtime_id(id).send().await.found("read runtime")?;
            return Ok(
                out.map(|o| runtime_live(&self.aws.region, o.agent_runtime_id(), o.agent_runtime_arn()))
            );
        }
        let mut runtimes = ac.list_agent_runtimes().into_paginator().items().send();
        while let Some(r) = runtimes.next().await {
            let r = r.ctx("list runtimes")?;
            if r.agent_runtime_name() == key.name {
                if !self.is_ours_arn(key, r.agent_runtime_arn()).await? {
                    return Err(self.conflict(key, r.agent_runtime_arn()));
                }
                return Ok(Some(runtime_live(&self.aws.region, r.agent_runtime_id(), r.agent_runtime_arn())));
            }
        }
        Ok(None)
    }

    /// The container image a runtime runs, if it is one.
    fn image_of(artifact: &AgentRuntimeArtifact) -> Option<&str> {
        match artifact {
            AgentRuntimeArtifact::ContainerConfiguration(c) => Some(c.container_uri()),
            _ => None,
        }
    }

    pub(super) async fn runtime_create(&self, d: &Desired, inputs: &Inputs) -> Result<Live> {
        let (artifact, role, authorizer, env, description) = self.runtime_request(d, inputs)?;
        self.preflight_runtime(&role, &d.key.name, Self::image_of(&artifact)).await?;
        let req = self
            .aws
            .agentcore
            .create_agent_runtime()
            .agent_runtime_name(&d.key.name)
            .agent_runtime_artifact(artifact)
            .role_arn(role)
            .network_configuration(built(
                NetworkConfiguration::builder().network_mode(NetworkMode::Public).build(),
            )?)
            .protocol_configuration(built(
                ProtocolConfiguration::builder().server_protocol(ServerProtocol::Mcp).build(),
            )?)
            .set_authorizer_configuration(authorizer)
            .set_environment_variables(Some(env))
            .set_description(description)
            .set_tags(Some(self.tags(&d.key)));
        let out = self.role_retry(&format!("create runtime {}", d.key.name), || req.clone().send()).await?;
        self.runtime_wait(out.agent_runtime_id()).await?;
        self.endpoint_wait(out.agent_runtime_id()).await?;
        Ok(runtime_live(&self.aws.region, out.agent_runtime_id(), out.agent_runtime_arn()))
    }

    pub(super) async fn runtime_update(
        &self,
        d: &Desired,
        current: &Record,
        inputs: &Inputs,
    ) -> Result<Live> {
        let (artifact, role, authorizer, env, description) = self.runtime_request(d, inputs)?;
        self.preflight_runtime(&role, &d.key.name, Self::image_of(&artifact)).await?;
        let req = self
            .aws
            .agentcore
            .update_agent_runtime()
            .agent_runtime_id(&current.id)
            .agent_runtime_artifact(artifact)
            .role_arn(role)
            .network_configuration(built(
                NetworkConfiguration::builder().network_mode(NetworkMode::Public).build(),
            )?)
            .protocol_configuration(built(
                ProtocolConfiguration::builder().server_protocol(ServerProtocol::Mcp).build(),
            )?)
            .set_authorizer_configuration(authorizer)
            .set_environment_variables(Some(env))
            .set_description(description);
        let out = self.role_retry(&format!("update runtime {}", d.key.name), || req.clone().send()).await?;
        self.runtime_wait(&current.id).await?;
        self.endpoint_wait(&current.id).await?;
        // Adopted runtimes get mcpkit's tags.
        if recorded_id(Some(current)).is_some() && current.hash.is_empty() {
            self.aws
                .agentcore
                .tag_resource()
                .resource_arn(out.agent_runtime_arn())
                .set_tags(Some(self.tags(&d.key)))
                .send()
                .await
                .ctx("tag runtime")?;
        }
        Ok(runtime_live(&self.aws.region, &current.id, out.agent_runtime_arn()))
    }

    pub(super) async fn runtime_delete(&self, r: &Record) -> Result<()> {
        let ac = &self.aws.agentcore;
        ac.delete_agent_runtime().agent_runtime_id(&r.id).send().await.gone_ok("delete runtime")?;
        self.wait_gone(&format!("runtime {}", r.key.name), || async {
            Ok(ac.get_agent_runtime().agent_runtime_id(&r.id).send().await.found("read runtime")?.is_some())
        })
        .await?;
        // AgentCore leaves the runtime's log groups behind (no AWS tool deletes them either:
        // docs/research/operating.md). Deleted here, with the runtime, so an interrupted
        // destroy that resumes still knows the runtime's id.
        if !self.keep_logs {
            for group in self.log_groups(&r.id).await? {
                self.aws
                    .logs
                    .delete_log_group()
                    .log_group_name(&group)
                    .send()
                    .await
                    .gone_ok(&format!("delete the log group {group}"))?;
            }
        }
        Ok(())
    }

    /// The log groups of runtime `id`'s endpoints that exist.
    pub async fn log_groups(&self, id: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut pages = self
            .aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix(crate::logs::log_group_prefix(id))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.ctx("list the runtime's log groups")?;
            out.extend(page.log_groups().iter().filter_map(|g| g.log_group_name().map(str::to_string)));
        }
        Ok(out)
    }

    fn provider_config(
        &self,
        inputs: &Inputs,
        secret: &mcpkit_workspace::secret::Secret,
    ) -> Result<Oauth2ProviderConfigInput> {
        let (discovery, client) = Self::cognito_leg(inputs)?;
        Ok(Oauth2ProviderConfigInput::CustomOauth2ProviderConfig(
            CustomOauth2ProviderConfigInput::builder()
                .oauth_discovery(Oauth2Discovery::DiscoveryUrl(discovery))
                .client_id(client)
                .client_secret(secret.expose())
                .build(),
        ))
    }

    async fn leg_secret(&self, inputs: &Inputs) -> Result<mcpkit_workspace::secret::Secret> {
        self.client_secret(&res::need::<ClientOut>(inputs)?).await
    }

    pub(super) async fn provider_read(&self, key: &Key, recorded: Option<&Record>) -> Result<Option<Live>> {
        let out = self
            .aws
            .agentcore
            .get_oauth2_credential_provider()
            .name(&key.name)
            .send()
            .await
            .found("read credential provider")?;
        let Some(out) = out else { return Ok(None) };
        let arn = out.credential_provider_arn();
        if recorded_id(recorded).is_none() && !self.is_ours_arn(key, arn).await? {
            return Err(self.conflict(key, arn));
        }
        Ok(Some(ProviderOut { arn: arn.to_string() }.live(&key.name)))
    }

    pub(super) async fn provider_create(&self, d: &Desired, inputs: &Inputs) -> Result<Live> {
        let secret = self.leg_secret(inputs).await?;
        let out = self
            .aws
            .agentcore
            .create_oauth2_credential_provider()
            .name(&d.key.name)
            .credential_provider_vendor(CredentialProviderVendorType::CustomOauth2)
            .oauth2_provider_config_input(self.provider_config(inputs, &secret)?)
            .set_tags(Some(self.tags(&d.key)))
            .send()
            .await
            .ctx(&format!("create credential provider {}", d.key.name))?;
        self.provider_wait(&d.key.name).await?;
        Ok(ProviderOut { arn: out.credential_provider_arn().to_string() }.live(&d.key.name))
    }

    pub(super) async fn provider_update(&self, d: &Desired, inputs: &Inputs) -> Result<Live> {
        let secret = self.leg_secret(inputs).await?;
        let out = self
            .aws
            .agentcore
            .update_oauth2_credential_provider()
            .name(&d.key.name)
            .credential_provider_vendor(CredentialProviderVendorType::CustomOauth2)
            .oauth2_provider_config_input(self.provider_config(inputs, &secret)?)
            .send()
            .await
            .ctx(&format!("update credential provider {}", d.key.name))?;
        self.provider_wait(&d.key.name).await?;
        Ok(ProviderOut { arn: out.credential_provider_arn().to_string() }.live(&d.key.name))
    }

    /// A credential provider reports a status (CREATING, READY, CREATE_FAILED, ...) in newer
    /// API versions; one without a status is ready (older answers have none).
    async fn provider_wait(&self, name: &str) -> Result<()> {
        self.wait_ready(&format!("credential provider {name}"), || async {
            let out = self.aws.agentcore.get_oauth2_credential_provider().name(name).send().await;
            Ok(out.found("read credential provider")?.map(|o| {
                (
                    o.status().map(|s| s.as_str().to_string()).unwrap_or_else(|| "READY".to_string()),
                    o.failure_reason().unwrap_or_default().to_string(),
                )
            }))
        })
        .await
    }

    pub(super) async fn provider_delete(&self, r: &Record) -> Result<()> {
        self.aws
            .agentcore
            .delete_oauth2_credential_provider()
            .name(&r.id)
            .send()
            .await
            .gone_ok("delete credential provider")
    }

    fn gateway_live(id: &str, arn: &str, url: &str) -> Live {
        GatewayOut { id: id.to_string(), arn: arn.to_string(), url: url.to_string() }.live(id)
    }

    pub(super) fn gateway_settings(&self, d: &Desired, inputs: &Inputs) -> Result<GatewaySettings> {
        let role = res::need::<RoleOut>(inputs)?.arn;
        let c: GatewayConfig = res::config(d)?;
        let protocol = GatewayProtocolConfiguration::Mcp(
            McpGatewayConfiguration::builder()
                .set_supported_versions(Some(c.supported_versions))
                .search_type(SearchType::Semantic)
                .session_configuration(
                    SessionConfiguration::builder()
                        .session_timeout_in_seconds(c.session_timeout_s as i32)
                        .build(),
                )
                .streaming_configuration(
                    StreamingConfiguration::builder().enable_response_streaming(c.response_streaming).build(),
                )
                .build(),
        );
        let (kind, auth) = if c.authorizer == Authorizer::AwsIam {
            (AuthorizerType::AwsIam, None)
        } else {
            let (discovery, client) = Self::cognito_leg(inputs)?;
            (AuthorizerType::CustomJwt, Some(jwt_authorizer(discovery, client)?))
        };
        Ok((role, protocol, kind, auth, c.description))
    }

    async fn gateway_wait(&self, id: &str) -> Result<()> {
        self.wait_ready(&format!("gateway {id}"), || async {
            let out = self.aws.agentcore.get_gateway().gateway_identifier(id).send().await;
            Ok(out
                .found("read gateway")?
                .map(|o| (o.status().as_str().to_string(), o.status_reasons().join("; "))))
        })
        .await
    }

    pub(super) async fn gateway_read(&self, key: &Key, recorded: Option<&Record>) -> Result<Option<Live>> {
        let ac = &self.aws.agentcore;
        if let Some(id) = recorded_id(recorded) {
            let out = ac.get_gateway().gateway_identifier(id).send().await.found("read gateway")?;
            return Ok(out.map(|o| {
                Self::gateway_live(o.gateway_id(), o.gateway_arn(), o.gateway_url().unwrap_or_default())
            }));
        }
        let mut gateways = ac.list_gateways().into_paginator().items().send();
        while let Some(g) = gateways.next().await {
            let g = g.ctx("list gateways")?;
            if g.name() == key.name {
                let got =
                    ac.get_gateway().gateway_identifier(g.gateway_id()).send().await.ctx("read gateway")?;
                if !self.is_ours_arn(key, got.gateway_arn()).await? {
                    return Err(self.conflict(key, got.gateway_arn()));
                }
                return Ok(Some(Self::gateway_live(
                    got.gateway_id(),
                    got.gateway_arn(),
                    got.gateway_url().unwrap_or_default(),
                )));
            }
        }
        Ok(None)
    }

    pub(super) async fn gateway_create(&self, d: &Desired, inputs: &Inputs) -> Result<Live> {
        let (role, protocol, kind, auth, description) = self.gateway_settings(d, inputs)?;
        let req = self
            .aws
            .agentcore
            .create_gateway()
            .name(&d.key.name)
            .role_arn(role)
            .protocol_type(GatewayProtocolType::Mcp)
            .protocol_configuration(protocol)
            .authorizer_type(kind)
            .set_authorizer_configuration(auth)
            .set_description(description)
            .set_tags(Some(self.tags(&d.key)));
        let out = self.role_retry(&format!("create gateway {}", d.key.name), || req.clone().send()).await?;
        self.gateway_wait(out.gateway_id()).await?;
        Ok(Self::gateway_live(out.gateway_id(), out.gateway_arn(), out.gateway_url().unwrap_or_default()))
    }

    pub(super) async fn gateway_update(
        &self,
        d: &Desired,
        current: &Record,
        inputs: &Inputs,
    ) -> Result<Live> {
        let (role, protocol, kind, auth, description) = self.gateway_settings(d, inputs)?;
        let req = self
            .aws
            .agentcore
            .update_gateway()
            .gateway_identifier(&current.id)
            .name(&d.key.name)
            .role_arn(role)
            .protocol_type(GatewayProtocolType::Mcp)
            .protocol_configuration(protocol)
            .authorizer_type(kind)
            .set_authorizer_configuration(auth)
            .set_description(description);
        let out = self.role_retry(&format!("update gateway {}", d.key.name), || req.clone().send()).await?;
        self.gateway_wait(&current.id).await?;
        if current.hash.is_empty() {
            self.aws
                .agentcore
                .tag_resource()
                .resource_arn(out.gateway_arn())
                .set_tags(Some(self.tags(&d.key)))
                .send()
                .await
                .ctx("tag gateway")?;
        }
        Ok(Self::gateway_live(&current.id, out.gateway_arn(), out.gateway_url().unwrap_or_default()))
    }

    pub(super) async fn gateway_delete(&self, r: &Record) -> Result<()> {
        let ac = &self.aws.agentcore;
        ac.delete_gateway().gateway_identifier(&r.id).send().await.gone_ok("delete gateway")?;
        self.wait_gone(&format!("gateway {}", r.key.name), || async {
            Ok(ac.get_gateway().gateway_identifier(&r.id).send().await.found("read gateway")?.is_some())
        })
        .await
    }

    /// The target's endpoint and credentials, and a hash of them (the target's "shape"): when
    /// only the server's code changed, the shape is the same and a synchronisation suffices.
    pub(super) fn target_settings(
        &self,
        d: &Desired,
        inputs: &Inputs,
    ) -> Result<(TargetConfiguration, CredentialProviderConfiguration, String)> {
        let runtime_arn = res::need::<RuntimeOut>(inputs)?.arn;
        let c: TargetConfig = res::config(d)?;
        let endpoint = names::runtime_invocation_url(&self.aws.region, &runtime_arn);
        let target = TargetConfiguration::Mcp(McpTargetConfiguration::McpServer(built(
            McpServerTargetConfiguration::builder()
                .endpoint(&endpoint)
                .set_resource_priority(c.resource_priority.map(|p| p as i32))
                .build(),
        )?));
        let scopes = c.scopes;
        let (creds, provider) = if c.credentials == Credentials::Oauth {
            let provider = res::need::<ProviderOut>(inputs)?.arn;
            let c = built(
                CredentialProviderConfiguration::builder()
                    .credential_provider_type(CredentialProviderType::Oauth)
                    .credential_provider(CredentialProvider::OauthCredentialProvider(built(
                        OAuthCredentialProvider::builder()
                            .provider_arn(&provider)
                            .set_scopes(Some(scopes.clone()))
                            .build(),
                    )?))
                    .build(),
            )?;
            (c, provider)
        } else {
            let c = built(
                CredentialProviderConfiguration::builder()
                    .credential_provider_type(CredentialProviderType::GatewayIamRole)
                    .credential_provider(CredentialProvider::IamCredentialProvider(built(
                        IamCredentialProvider::builder().service("bedrock-agentcore").build(),
                    )?))
                    .build(),
            )?;
            (c, String::new())
        };
        let shape = config_hash(&json!({
            "endpoint": endpoint,
            "provider": provider,
            "credentials": c.credentials,
            "scopes": scopes,
        }));
        Ok((target, creds, shape))
    }

    fn target_live(gateway_id: &str, target_id: &str, shape: &str) -> Live {
        TargetOut { gateway_id: gateway_id.to_string(), shape: shape.to_string() }.live(target_id)
    }

    async fn target_wait(&self, gateway_id: &str, target_id: &str) -> Result<()> {
        self.wait_ready(&format!("gateway target {target_id}"), || async {
            let out = self
                .aws
                .agentcore
                .get_gateway_target()
                .gateway_identifier(gateway_id)
                .target_id(target_id)
                .send()
                .await;
            Ok(out
                .found("read gateway target")?
                .map(|o| (o.status().as_str().to_string(), o.status_reasons().join("; "))))
        })
        .await
    }

    pub(super) async fn target_read(
        &self,
        key: &Key,
        recorded: Option<&Record>,
        inputs: &Inputs,
    ) -> Result<Option<Live>> {
        let ac = &self.aws.agentcore;
        let mine = res::recorded::<TargetOut>(recorded)?;
        let gateway_id = match &mine {
            Some(t) => t.gateway_id.clone(),
            None => res::need::<GatewayOut>(inputs)?.id,
        };
        // A target found by name (adopted) has no known shape: its next update is a full one.
        let shape = mine.map(|t| t.shape).unwrap_or_default();
        if let Some(id) = recorded_id(recorded) {
            let out = ac.get_gateway_target().gateway_identifier(&gateway_id).target_id(id).send().await;
            return Ok(out
                .found("read gateway target")?
                .map(|o| Self::target_live(&gateway_id, o.target_id(), &shape)));
        }
        // A target belongs to its gateway: the gateway being this project's makes it ours.
        let mut targets =
            ac.list_gateway_targets().gateway_identifier(&gateway_id).into_paginator().items().send();
        while let Some(t) = targets.next().await {
            // The gateway gone: so is the target.
            let Some(t) = t.found("list gateway targets")? else { return Ok(None) };
            if t.name() == key.name {
                return Ok(Some(Self::target_live(&gateway_id, t.target_id(), &shape)));
            }
        }
        Ok(None)
    }

    pub(super) async fn target_create(&self, d: &Desired, inputs: &Inputs) -> Result<Live> {
        let gateway_id = res::need::<GatewayOut>(inputs)?.id;
        let (target, creds, shape) = self.target_settings(d, inputs)?;
        self.preflight(&gateway_id, d, inputs).await?;
        let out = self
            .aws
            .agentcore
            .create_gateway_target()
            .gateway_identifier(&gateway_id)
            .name(&d.key.name)
            .target_configuration(target.clone())
            .credential_provider_configurations(creds.clone())
            .send()
            .await
            .ctx(&format!("create gateway target {}", d.key.name))?;
        self.target_settle(&d.key.name, &gateway_id, out.target_id(), &target, &creds).await?;
        Ok(Self::target_live(&gateway_id, out.target_id(), &shape))
    }

    /// Waits for a target just created, updated or synchronised to be READY. AgentCore lists
    /// the server's tools at once, as the gateway's role; IAM is eventually consistent, so a
    /// policy changed seconds ago (a server was added) may not be in force yet and the target
    /// ends FAILED for an access denial. Within the propagation window such a target is
    /// updated again (which makes AgentCore list the tools again), with back-off.
    async fn target_settle(
        &self,
        name: &str,
        gateway_id: &str,
        target_id: &str,
        target: &TargetConfiguration,
        creds: &CredentialProviderConfiguration,
    ) -> Result<()> {
        let start = std::time::Instant::now();
        let mut delay = std::time::Duration::from_secs(1);
        loop {
            let err = match self.target_wait(gateway_id, target_id).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            let text = err.to_string();
            let denied = text.contains("AccessDenied") || text.contains("not authorized");
            if !denied {
                return Err(err);
            }
            if start.elapsed() + delay > self.waits.role_propagation {
                return Err(err.with_hint(
                    "the gateway's IAM role may not do what AgentCore does on its behalf; `mcpkit deploy --target aws` rewrites its policy, and `mcpkit aws policy --roles` shows what it should hold",
                ));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(std::time::Duration::from_secs(15));
            self.target_put(name, gateway_id, target_id, target, creds).await?;
        }
    }

    /// A full update of a target (AgentCore lists its tools again).
    async fn target_put(
        &self,
        name: &str,
        gateway_id: &str,
        target_id: &str,
        target: &TargetConfiguration,
        creds: &CredentialProviderConfiguration,
    ) -> Result<()> {
        self.aws
            .agentcore
            .update_gateway_target()
            .gateway_identifier(gateway_id)
            .target_id(target_id)
            .name(name)
            .target_configuration(target.clone())
            .credential_provider_configurations(creds.clone())
            .send()
            .await
            .ctx(&format!("update gateway target {name}"))
            .map(|_| ())
    }

    /// Same endpoint and credentials: the server's code changed, so the gateway re-reads its
    /// tools (SynchronizeGatewayTargets). Otherwise a full update (which synchronises too).
    pub(super) async fn target_update(&self, d: &Desired, current: &Record, inputs: &Inputs) -> Result<Live> {
        let gateway_id = res::need::<GatewayOut>(inputs)?.id;
        let (target, creds, shape) = self.target_settings(d, inputs)?;
        self.preflight(&gateway_id, d, inputs).await?;
        let ac = &self.aws.agentcore;
        let same_shape = res::recorded::<TargetOut>(Some(current))?.is_some_and(|t| t.shape == shape);
        if same_shape && !self.repairs.contains(&d.key) {
            ac.synchronize_gateway_targets()
                .gateway_identifier(&gateway_id)
                .target_id_list(&current.id)
                .send()
                .await
                .ctx(&format!("synchronize gateway target {}", d.key.name))?;
        } else {
            self.target_put(&d.key.name, &gateway_id, &current.id, &target, &creds).await?;
        }
        self.target_settle(&d.key.name, &gateway_id, &current.id, &target, &creds).await?;
        Ok(Self::target_live(&gateway_id, &current.id, &shape))
    }

    pub(super) async fn target_delete(&self, r: &Record) -> Result<()> {
        let ac = &self.aws.agentcore;
        // Never finished: nothing recorded of it; the gateway's delete takes its targets.
        let Some(TargetOut { gateway_id, .. }) = res::recorded(Some(r))? else { return Ok(()) };
        ac.delete_gateway_target()
            .gateway_identifier(&gateway_id)
            .target_id(&r.id)
            .send()
            .await
            .gone_ok("delete gateway target")?;
        self.wait_gone(&format!("gateway target {}", r.key.name), || async {
            let out = ac.get_gateway_target().gateway_identifier(&gateway_id).target_id(&r.id).send().await;
            Ok(out.found("read gateway target")?.is_some())
        })
        .await
    }
}
