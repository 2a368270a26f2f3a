//! What changed outside mcpkit: a resource's live configuration, field by field, against what
//! mcpkit sends for it (the same request builders deploy uses, so the two cannot disagree).
//! Asked only of resources whose configuration in mcpkit.toml did not change since the last
//! deploy: for those, what mcpkit sends is what it applied.
//!
//! Fields are named as the AWS API names them. Values are never reported (a runtime's
//! environment may hold what its owner considers secret); for environment variables, the
//! names of those that differ are.

use super::AwsCloud;
use crate::kind;
use crate::resources::{self as res, ClientConfig, ResourceServerConfig, TargetOut};
use crate::sdk::SdkResult;
use mcpkit_engine::{Desired, Inputs, Record};
use mcpkit_workspace::error::Result;
use std::collections::{BTreeSet, HashMap};

impl AwsCloud {
    /// The fields of `r`'s live resource that differ from what mcpkit sends for `d`. Kinds
    /// mcpkit does not read back (roles, pools, domains, buckets, artifacts, providers), and a
    /// resource that is gone, have none: `refresh` reports a missing one.
    pub async fn drift(&self, d: &Desired, r: &Record, inputs: &Inputs) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut differs = |field: &str, same: bool| {
            if !same {
                out.push(field.to_string());
            }
        };
        match d.key.kind.as_str() {
            kind::RUNTIME => {
                let (artifact, role, authorizer, env, description) = self.runtime_request(d, inputs)?;
                let got = self.aws.agentcore.get_agent_runtime().agent_runtime_id(&r.id).send().await;
                let Some(live) = got.found("read runtime")? else { return Ok(vec![]) };
                differs("agentRuntimeArtifact", live.agent_runtime_artifact() == Some(&artifact));
                differs("roleArn", live.role_arn() == role);
                differs("authorizerConfiguration", live.authorizer_configuration() == authorizer.as_ref());
                differs("description", text(live.description()) == text(description.as_deref()));
                let changed = changed_keys(&env, live.environment_variables());
                if !changed.is_empty() {
                    let names: Vec<String> = changed.into_iter().collect();
                    out.push(format!("environmentVariables ({})", names.join(", ")));
                }
            }
            kind::GATEWAY => {
                let (role, protocol, authorizer_type, authorizer, description) =
                    self.gateway_settings(d, inputs)?;
                let got = self.aws.agentcore.get_gateway().gateway_identifier(&r.id).send().await;
                let Some(live) = got.found("read gateway")? else { return Ok(vec![]) };
                differs("roleArn", live.role_arn() == Some(role.as_str()));
                differs("protocolConfiguration", live.protocol_configuration() == Some(&protocol));
                differs("authorizerType", *live.authorizer_type() == authorizer_type);
                differs("authorizerConfiguration", live.authorizer_configuration() == authorizer.as_ref());
                differs("description", text(live.description()) == text(description.as_deref()));
            }
            kind::TARGET => {
                let Some(TargetOut { gateway_id, .. }) = res::recorded(Some(r))? else { return Ok(vec![]) };
                let (target, credentials, _) = self.target_settings(d, inputs)?;
                let got = self
                    .aws
                    .agentcore
                    .get_gateway_target()
                    .gateway_identifier(&gateway_id)
                    .target_id(&r.id)
                    .send()
                    .await;
                let Some(live) = got.found("read gateway target")? else { return Ok(vec![]) };
                differs("targetConfiguration", live.target_configuration() == Some(&target));
                differs(
                    "credentialProviderConfigurations",
                    live.credential_provider_configurations() == [credentials],
                );
            }
            kind::CLIENT => {
                let Some(res::ClientOut { pool_id, client_id }) = res::recorded(Some(r))? else {
                    return Ok(vec![]);
                };
                let c: ClientConfig = res::config(d)?;
                let got = self
                    .aws
                    .cognito
                    .describe_user_pool_client()
                    .user_pool_id(&pool_id)
                    .client_id(&client_id)
                    .send()
                    .await;
                let Some(live) = got.found("read Cognito client")?.and_then(|o| o.user_pool_client) else {
                    return Ok(vec![]);
                };
                differs("AllowedOAuthScopes", sorted(live.allowed_o_auth_scopes()) == sorted(&c.scopes));
                let flows: Vec<String> =
                    live.allowed_o_auth_flows().iter().map(|f| f.as_str().to_string()).collect();
                differs("AllowedOAuthFlows", sorted(&flows) == sorted(&c.flows));
                if let Some(s) = c.token_lifetime_s {
                    let unit = live.token_validity_units().and_then(|u| u.access_token()).map(|u| u.as_str());
                    let seconds = match unit {
                        Some("seconds") => live.access_token_validity().map(|v| v as u64),
                        Some("minutes") => live.access_token_validity().map(|v| v as u64 * 60),
                        Some("days") => live.access_token_validity().map(|v| v as u64 * 86400),
                        _ => live.access_token_validity().map(|v| v as u64 * 3600),
                    };
                    differs("AccessTokenValidity", seconds == Some(s));
                }
            }
            kind::RESOURCE_SERVER => {
                let Some(res::ResourceServerOut { pool_id, identifier }) = res::recorded(Some(r))? else {
                    return Ok(vec![]);
                };
                let c: ResourceServerConfig = res::config(d)?;
                let got = self
                    .aws
                    .cognito
                    .describe_resource_server()
                    .user_pool_id(&pool_id)
                    .identifier(&identifier)
                    .send()
                    .await;
                let Some(live) = got.found("read Cognito resource server")?.and_then(|o| o.resource_server)
                else {
                    return Ok(vec![]);
                };
                let scopes: Vec<String> = live.scopes().iter().map(|s| s.scope_name().to_string()).collect();
                differs("Scopes", sorted(&scopes) == sorted(&c.scopes));
            }
            _ => {}
        }
        Ok(out)
    }
}

/// The names of variables set differently (or only) on one side.
fn changed_keys(want: &HashMap<String, String>, live: Option<&HashMap<String, String>>) -> BTreeSet<String> {
    let empty = HashMap::new();
    let live = live.unwrap_or(&empty);
    want.keys().chain(live.keys()).filter(|k| want.get(*k) != live.get(*k)).cloned().collect()
}

/// An absent text and an empty one are the same setting (AgentCore may answer either).
fn text(t: Option<&str>) -> &str {
    t.unwrap_or_default()
}

fn sorted(v: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = v.iter().map(String::as_str).collect();
    v.sort();
    v
}
