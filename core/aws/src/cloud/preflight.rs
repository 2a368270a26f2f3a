//! The preflight: before AgentCore acts as one of the topology's roles, ask IAM's policy
//! simulator (`SimulatePrincipalPolicy`) whether the role may do what AgentCore will do as it,
//! on the exact resources, so a missing statement stops the deploy with the denied action and
//! resource instead of a gateway target that ends FAILED minutes later. Where the simulator
//! cannot be asked (an emulator without it, or a caller without `iam:SimulatePrincipalPolicy`)
//! this is said once, in verbose output, and the deploy goes on.

use super::AwsCloud;
use crate::resources::{self as res, ProviderOut, RuntimeOut};
use crate::sdk::{SdkResult, message};
use aws_sdk_iam::types::PolicyEvaluationDecisionType;
use mcpkit_engine::{Desired, Inputs};
use mcpkit_workspace::error::{Error, Result};
use mcpkit_workspace::names;
use std::sync::atomic::Ordering;

/// One question to the simulator: may the role perform `action` on each of `resources`?
pub(super) struct Check {
    pub action: &'static str,
    pub resources: Vec<String>,
}

impl AwsCloud {
    /// What AgentCore Gateway does as its role for the target `d`: for an OAuth target, a
    /// workload access token, the provider's OAuth token (authorized against the vault, the
    /// provider, the directory and the gateway's identity) and the provider's secret; for an
    /// IAM target, invoking the runtime's DEFAULT endpoint.
    pub(super) async fn preflight(&self, gateway_id: &str, d: &Desired, inputs: &Inputs) -> Result<()> {
        if self.simulator_off.load(Ordering::Relaxed) {
            return Ok(());
        }
        let gw = self
            .aws
            .agentcore
            .get_gateway()
            .gateway_identifier(gateway_id)
            .send()
            .await
            .ctx("read gateway")?;
        let Some(role) = gw.role_arn().map(str::to_string) else { return Ok(()) };
        let arn = |r: &str| self.aws.arn("bedrock-agentcore", r);
        let mut checks = vec![];
        if res::config::<res::TargetConfig>(d)?.credentials == res::Credentials::Oauth {
            let directory = arn("workload-identity-directory/default");
            let identity = gw
                .workload_identity_details()
                .map(|w| w.workload_identity_arn().to_string())
                .unwrap_or_else(|| {
                    let prefix = names::gateway(gw.name()).workload_identity;
                    arn(&format!("workload-identity-directory/default/workload-identity/{prefix}-"))
                });
            let provider = res::need::<ProviderOut>(inputs)?.arn;
            let name = provider.rsplit('/').next().unwrap_or_default().to_string();
            let p = self.aws.agentcore.get_oauth2_credential_provider().name(&name).send().await;
            let secret =
                p.ctx("read credential provider")?.client_secret_arn().map(|s| s.secret_arn().to_string());
            checks.push(Check {
                action: "bedrock-agentcore:GetWorkloadAccessToken",
                resources: vec![directory.clone(), identity.clone()],
            });
            checks.push(Check {
                action: "bedrock-agentcore:GetResourceOauth2Token",
                resources: vec![arn("token-vault/default"), provider, directory, identity],
            });
            if let Some(secret) = secret {
                checks.push(Check { action: "secretsmanager:GetSecretValue", resources: vec![secret] });
            }
        } else {
            let runtime = res::need::<RuntimeOut>(inputs)?.arn;
            let endpoint = format!("{runtime}/runtime-endpoint/{}", names::RUNTIME_ENDPOINT);
            checks.push(Check {
                action: "bedrock-agentcore:InvokeAgentRuntime",
                resources: vec![runtime, endpoint],
            });
        }
        self.simulate(&role, &format!("the gateway role of target {}", d.key.name), &checks).await
    }

    /// What AgentCore Runtime does as a runtime's execution role: write the runtime's logs
    /// (group `/aws/bedrock-agentcore/runtimes/{id}-DEFAULT`) and, for a container, pull its
    /// image. The id is not known before the runtime exists; its form is `{name}-` and ten
    /// characters, which is what the role's policy grants.
    pub(super) async fn preflight_runtime(
        &self,
        role_arn: &str,
        runtime: &str,
        image: Option<&str>,
    ) -> Result<()> {
        if self.simulator_off.load(Ordering::Relaxed) || role_arn.is_empty() {
            return Ok(());
        }
        let group = self
            .aws
            .arn("logs", &format!("log-group:/aws/bedrock-agentcore/runtimes/{runtime}-0000000000-DEFAULT"));
        let mut checks = vec![
            Check { action: "logs:CreateLogGroup", resources: vec![group.clone()] },
            Check { action: "logs:CreateLogStream", resources: vec![format!("{group}:log-stream:x")] },
            Check { action: "logs:PutLogEvents", resources: vec![format!("{group}:log-stream:x")] },
        ];
        // `{account}.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}`
        if let Some(repo) =
            image.and_then(|u| u.split_once('/')).map(|(_, r)| r.split(':').next().unwrap_or(r))
        {
            let repo = self.aws.arn("ecr", &format!("repository/{repo}"));
            checks.push(Check { action: "ecr:BatchGetImage", resources: vec![repo.clone()] });
            checks.push(Check { action: "ecr:GetDownloadUrlForLayer", resources: vec![repo] });
            checks.push(Check { action: "ecr:GetAuthorizationToken", resources: vec!["*".to_string()] });
        }
        self.simulate(role_arn, &format!("the execution role of runtime {runtime}"), &checks).await
    }

    /// Asks the simulator each check; the first denial is an error naming the role, the
    /// action and the resource.
    pub(super) async fn simulate(&self, role_arn: &str, what: &str, checks: &[Check]) -> Result<()> {
        for check in checks {
            let out = self
                .aws
                .iam
                .simulate_principal_policy()
                .policy_source_arn(role_arn)
                .action_names(check.action)
                .set_resource_arns(Some(check.resources.clone()))
                .send()
                .await;
            let out = match out {
                Ok(out) => out,
                Err(e) => {
                    self.simulator_off.store(true, Ordering::Relaxed);
                    self.note(format!(
                        "IAM's policy simulator could not be asked ({}); the roles' permissions were not checked before use",
                        message(&e)
                    ));
                    return Ok(());
                }
            };
            for result in out.evaluation_results() {
                let mut denied: Vec<String> = result
                    .resource_specific_results()
                    .iter()
                    .filter(|r| r.eval_resource_decision() != &PolicyEvaluationDecisionType::Allowed)
                    .map(|r| r.eval_resource_name().to_string())
                    .collect();
                if denied.is_empty()
                    && result.resource_specific_results().is_empty()
                    && result.eval_decision() != &PolicyEvaluationDecisionType::Allowed
                {
                    denied.push(result.eval_resource_name().unwrap_or("*").to_string());
                }
                if let Some(resource) = denied.first() {
                    return Err(Error::world(format!(
                        "{what} ({role_arn}) may not perform {} on resource {resource}, which AgentCore does on its behalf",
                        result.eval_action_name()
                    ))
                    .with_hint("IAM's policy simulator says so. If you changed the role's policy, run the deploy again (mcpkit rewrites the policy of roles it made); `mcpkit aws policy --roles` prints what each role needs"));
                }
            }
        }
        Ok(())
    }
}
