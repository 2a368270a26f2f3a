//! IAM policy documents for the roles mcpkit creates: trusted only by AgentCore acting for this
//! account, and allowed only what each role's holder needs, on this project's resources.
//!
//! The starter toolkit was criticised for `bedrock-agentcore:*` on `*` and for attaching
//! account-wide managed policies; here every statement names its resources. ARNs of resources
//! that do not exist yet (a runtime's id has a random suffix) are matched by their name prefix,
//! which keeps the role independent of creation order: the gateway role is made before the
//! runtimes it may call.

use serde_json::{Value, json};

/// Account, region and partition the documents are written for.
#[derive(Debug, Clone)]
pub struct Scope {
    pub partition: String,
    pub region: String,
    pub account: String,
}

impl Scope {
    fn arn(&self, service: &str, resource: &str) -> String {
        format!("arn:{}:{service}:{}:{}:{resource}", self.partition, self.region, self.account)
    }
}

/// Trust policy: `bedrock-agentcore.amazonaws.com` may assume the role, only on behalf of this
/// account's AgentCore resources in this region (the confused-deputy conditions).
pub fn trust(scope: &Scope) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "bedrock-agentcore.amazonaws.com" },
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": { "aws:SourceAccount": scope.account },
                "ArnLike": { "aws:SourceArn": scope.arn("bedrock-agentcore", "*") }
            }
        }]
    })
}

/// What one gateway's targets need from its role.
#[derive(Debug, Clone, Default)]
pub struct GatewayNeeds {
    /// Credential providers of OAuth targets (by name).
    pub credential_providers: Vec<String>,
    /// Runtimes reached with the gateway's own IAM role (by runtime name).
    pub iam_runtimes: Vec<String>,
}

fn workload_identity(scope: &Scope, name: &str) -> Value {
    json!({
        "Sid": "WorkloadIdentity",
        "Effect": "Allow",
        "Action": ["bedrock-agentcore:GetWorkloadAccessToken", "bedrock-agentcore:GetWorkloadAccessTokenForJWT"],
        "Resource": [
            scope.arn("bedrock-agentcore", "workload-identity-directory/default"),
            scope.arn("bedrock-agentcore", &format!("workload-identity-directory/default/workload-identity/{name}-*")),
        ]
    })
}

/// The gateway role's inline policy.
pub fn gateway(scope: &Scope, gateway: &str, needs: &GatewayNeeds) -> Value {
    let mut statements = vec![workload_identity(scope, gateway)];
    if !needs.credential_providers.is_empty() {
        let mut vault = vec![scope.arn("bedrock-agentcore", "token-vault/default")];
        vault.extend(needs.credential_providers.iter().map(|p| {
            scope.arn("bedrock-agentcore", &format!("token-vault/default/oauth2credentialprovider/{p}"))
        }));
        statements.push(json!({
            "Sid": "OAuthTokens",
            "Effect": "Allow",
            "Action": ["bedrock-agentcore:GetResourceOauth2Token"],
            "Resource": vault
        }));
        let secrets: Vec<String> = needs
            .credential_providers
            .iter()
            .map(|p| {
                scope.arn("secretsmanager", &format!("secret:bedrock-agentcore-identity!default/oauth2/{p}*"))
            })
            .collect();
        statements.push(json!({
            "Sid": "OAuthClientSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": secrets
        }));
    }
    if !needs.iam_runtimes.is_empty() {
        let runtimes: Vec<String> = needs
            .iam_runtimes
            .iter()
            .flat_map(|r| {
                [
                    scope.arn("bedrock-agentcore", &format!("runtime/{r}-*")),
                    scope.arn("bedrock-agentcore", &format!("runtime/{r}-*/runtime-endpoint/*")),
                ]
            })
            .collect();
        statements.push(json!({
            "Sid": "InvokeRuntimes",
            "Effect": "Allow",
            "Action": ["bedrock-agentcore:InvokeAgentRuntime"],
            "Resource": runtimes
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// A runtime execution role's inline policy: its own logs, traces and metrics, its workload
/// identity, and pulling its own image when it is a container.
pub fn runtime(scope: &Scope, runtime: &str, ecr_repository: Option<&str>) -> Value {
    let log_group = format!("log-group:/aws/bedrock-agentcore/runtimes/{runtime}-*");
    let mut statements = vec![
        json!({
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [scope.arn("logs", &log_group), scope.arn("logs", &format!("{log_group}:log-stream:*"))]
        }),
        json!({
            "Sid": "DescribeLogGroups",
            "Effect": "Allow",
            "Action": ["logs:DescribeLogGroups"],
            "Resource": [scope.arn("logs", "log-group:*")]
        }),
        json!({
            "Sid": "Traces",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": ["*"]
        }),
        json!({
            "Sid": "Metrics",
            "Effect": "Allow",
            "Action": ["cloudwatch:PutMetricData"],
            "Resource": ["*"],
            "Condition": { "StringEquals": { "cloudwatch:namespace": "bedrock-agentcore" } }
        }),
        workload_identity(scope, runtime),
    ];
    if let Some(repo) = ecr_repository {
        statements.push(json!({
            "Sid": "PullImage",
            "Effect": "Allow",
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": [scope.arn("ecr", &format!("repository/{repo}"))]
        }));
        statements.push(json!({
            "Sid": "EcrToken",
            "Effect": "Allow",
            "Action": ["ecr:GetAuthorizationToken"],
            "Resource": ["*"]
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope { partition: "aws".into(), region: "us-east-1".into(), account: "123456789012".into() }
    }

    fn resources(doc: &Value) -> Vec<String> {
        doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["Resource"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()))
            .collect()
    }

    #[test]
    fn trust_is_limited_to_this_account_and_region() {
        let t = trust(&scope());
        let c = &t["Statement"][0]["Condition"];
        assert_eq!(c["StringEquals"]["aws:SourceAccount"], "123456789012");
        assert_eq!(c["ArnLike"]["aws:SourceArn"], "arn:aws:bedrock-agentcore:us-east-1:123456789012:*");
    }

    #[test]
    fn no_wildcard_actions_and_agentcore_resources_named() {
        let needs = GatewayNeeds {
            credential_providers: vec!["calc-identity".into()],
            iam_runtimes: vec!["greeter".into()],
        };
        for doc in [gateway(&scope(), "shop", &needs), runtime(&scope(), "calc", Some("mcpkit/shop/calc"))] {
            for s in doc["Statement"].as_array().unwrap() {
                for a in s["Action"].as_array().unwrap() {
                    assert!(!a.as_str().unwrap().ends_with('*'), "wildcard action {a}");
                }
            }
            for r in resources(&doc) {
                if r.contains("bedrock-agentcore") || r.contains("secretsmanager") {
                    assert!(r.contains(":123456789012:"), "{r} is not scoped to the account");
                    assert_ne!(r, "*");
                }
            }
        }
        let g = resources(&gateway(&scope(), "shop", &needs));
        assert!(g.contains(
            &"arn:aws:bedrock-agentcore:us-east-1:123456789012:token-vault/default/oauth2credentialprovider/calc-identity"
                .to_string()
        ));
        assert!(
            g.contains(&"arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/greeter-*".to_string())
        );
        // Nothing about runtimes the gateway reaches with OAuth.
        assert!(!g.iter().any(|r| r.contains("runtime/calc")));
    }

    #[test]
    fn a_gateway_with_only_oauth_targets_cannot_invoke_runtimes() {
        let needs = GatewayNeeds { credential_providers: vec!["a-identity".into()], iam_runtimes: vec![] };
        let doc = gateway(&scope(), "shop", &needs);
        assert!(!doc.to_string().contains("InvokeAgentRuntime"));
    }
}
