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

/// IAM's size quotas ("IAM and AWS STS quotas", IAM User Guide): all inline policies of a
/// role together at most 10,240 characters, a managed policy at most 6,144, white space not
/// counted; 10 managed policies per role by default.
pub const INLINE_LIMIT: usize = 10_240;
pub const MANAGED_LIMIT: usize = 6_144;
pub const MANAGED_PER_ROLE: usize = 10;
/// What mcpkit fills of each quota: a little room for IAM counting differently than we do.
const FILL: f64 = 0.97;

/// A policy's size as IAM counts it: every character but white space.
pub fn size(doc: &Value) -> usize {
    doc.to_string().chars().filter(|c| !c.is_whitespace()).count()
}

/// A role's permissions: its one inline policy, and the customer-managed policies that hold
/// what did not fit (none until a gateway has dozens of servers).
#[derive(Debug, Clone, PartialEq)]
pub struct RolePolicies {
    pub inline: Value,
    pub managed: Vec<Value>,
}

fn arn_list(scope: &Scope, service: &str, resources: impl IntoIterator<Item = String>) -> Vec<String> {
    resources.into_iter().map(|r| scope.arn(service, &r)).collect()
}

/// The gateway's workload identity resources: the directory and the identity AgentCore makes
/// for the gateway, named after its lowercased name.
fn workload_identity_arns(scope: &Scope, identity_prefix: &str) -> Vec<String> {
    arn_list(
        scope,
        "bedrock-agentcore",
        [
            "workload-identity-directory/default".to_string(),
            format!("workload-identity-directory/default/workload-identity/{identity_prefix}-*"),
        ],
    )
}

/// One policy document holding the per-target statements for `providers` and `runtimes`.
/// What AgentCore Gateway does as its role for an OAuth target (on create, update and
/// synchronise, when it lists the server's tools, and on every call): a workload access
/// token for itself, then `GetResourceOauth2Token`, which IAM authorizes against the token
/// vault, the credential provider, the workload identity directory and the gateway's
/// identity, then the provider's client secret. These are the statements AWS CDK's
/// `OAuthCredentialProviderConfiguration.grantNeededPermissionsToRole` generates ("matching
/// the console-generated policy"), less `CompleteResourceTokenAuth`, which only the
/// three-legged (user) flow uses.
fn gateway_statements(
    scope: &Scope,
    identity_prefix: &str,
    providers: &[&String],
    runtimes: &[&String],
    with_identity: bool,
) -> Vec<Value> {
    let mut statements = vec![];
    let identity = workload_identity_arns(scope, identity_prefix);
    if with_identity {
        statements.push(json!({
            "Sid": "WorkloadIdentity",
            "Effect": "Allow",
            "Action": [
                "bedrock-agentcore:GetWorkloadAccessToken",
                "bedrock-agentcore:GetWorkloadAccessTokenForJWT",
                "bedrock-agentcore:GetWorkloadAccessTokenForUserId"
            ],
            "Resource": identity,
        }));
    }
    if !providers.is_empty() {
        let mut resources = vec![scope.arn("bedrock-agentcore", "token-vault/default")];
        resources.extend(identity.iter().cloned());
        resources.extend(providers.iter().map(|p| {
            scope.arn("bedrock-agentcore", &format!("token-vault/default/oauth2credentialprovider/{p}"))
        }));
        statements.push(json!({
            "Sid": "OAuthTokens",
            "Effect": "Allow",
            "Action": ["bedrock-agentcore:GetResourceOauth2Token"],
            "Resource": resources
        }));
        // The provider's secret is `bedrock-agentcore-identity!default/oauth2/{name}` plus
        // Secrets Manager's `-XXXXXX` suffix.
        let secrets = arn_list(
            scope,
            "secretsmanager",
            providers.iter().map(|p| format!("secret:bedrock-agentcore-identity!default/oauth2/{p}-??????")),
        );
        statements.push(json!({
            "Sid": "OAuthClientSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": secrets
        }));
    }
    if !runtimes.is_empty() {
        // A runtime's id is its name, a hyphen and ten random characters; the gateway
        // invokes its DEFAULT endpoint.
        let resources = arn_list(
            scope,
            "bedrock-agentcore",
            runtimes
                .iter()
                .flat_map(|r| [format!("runtime/{r}-*"), format!("runtime/{r}-*/runtime-endpoint/*")]),
        );
        statements.push(json!({
            "Sid": "InvokeRuntimes",
            "Effect": "Allow",
            "Action": ["bedrock-agentcore:InvokeAgentRuntime"],
            "Resource": resources
        }));
    }
    statements
}

fn document(statements: Vec<Value>) -> Value {
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The gateway role's policies. Each OAuth target adds about 250 characters, so a gateway of
/// a few dozen servers outgrows a role's inline budget: the targets that do not fit go into
/// managed policies (the same statements, for other targets), each filled to its own quota.
/// `identity_prefix` is the gateway's lowercased name ([`mcpkit_workspace::names::GatewayNames`]).
pub fn gateway(scope: &Scope, identity_prefix: &str, needs: &GatewayNeeds) -> Result<RolePolicies, String> {
    let oauth = !needs.credential_providers.is_empty();
    // Targets in a stable order: one unit (a provider or a runtime) at a time.
    let units: Vec<(bool, &String)> = needs
        .credential_providers
        .iter()
        .map(|p| (true, p))
        .chain(needs.iam_runtimes.iter().map(|r| (false, r)))
        .collect();
    let build = |units: &[(bool, &String)], first: bool| {
        let providers: Vec<&String> = units.iter().filter(|u| u.0).map(|u| u.1).collect();
        let runtimes: Vec<&String> = units.iter().filter(|u| !u.0).map(|u| u.1).collect();
        document(gateway_statements(scope, identity_prefix, &providers, &runtimes, first && oauth))
    };
    let mut docs: Vec<Vec<(bool, &String)>> = vec![vec![]];
    for unit in units {
        let current = docs.last_mut().expect("one document at least");
        current.push(unit);
        let first = docs.len() == 1;
        let limit = if first { INLINE_LIMIT } else { MANAGED_LIMIT };
        let current = docs.last().expect("one document at least");
        if size(&build(current, first)) as f64 > limit as f64 * FILL && current.len() > 1 {
            let unit = docs.last_mut().expect("one document").pop().expect("the unit just pushed");
            docs.push(vec![unit]);
        }
    }
    let mut docs = docs.into_iter().enumerate().map(|(i, units)| build(&units, i == 0));
    let inline = docs.next().expect("the inline document");
    let managed: Vec<Value> = docs.collect();
    if managed.len() > MANAGED_PER_ROLE {
        return Err(format!(
            "the gateway role's permissions for {} servers need {} managed policies, and IAM attaches at most {MANAGED_PER_ROLE} to a role by default",
            needs.credential_providers.len() + needs.iam_runtimes.len(),
            managed.len()
        ));
    }
    Ok(RolePolicies { inline, managed })
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
        json!({
            "Sid": "WorkloadIdentity",
            "Effect": "Allow",
            "Action": [
                "bedrock-agentcore:GetWorkloadAccessToken",
                "bedrock-agentcore:GetWorkloadAccessTokenForJWT"
            ],
            "Resource": workload_identity_arns(scope, runtime),
        }),
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

/// What the identity that runs `mcpkit deploy/status/token/destroy --target aws` needs for a
/// topology, action by action, on this workspace's resources: the policy `mcpkit aws policy`
/// prints. Derived from the same desired resources the deploy makes, so it cannot drift from
/// what the deploy does. Actions that IAM authorizes only against `*` (the Service
/// Authorization Reference lists no resource type for them: creating a runtime or a gateway,
/// listing, a Cognito pool's creation) get `*` and nothing else does.
pub fn deployer(scope: &Scope, desired: &[mcpkit_engine::Desired]) -> Value {
    use super::kind;
    let of = |k: &str| -> Vec<String> {
        desired.iter().filter(|d| d.key.kind == k).map(|d| d.key.name.clone()).collect()
    };
    let arn = |service: &str, r: &str| scope.arn(service, r);
    let iam_arn = |r: &str| format!("arn:{}:iam::{}:{r}", scope.partition, scope.account);
    let mut statements = vec![json!({
        "Sid": "ListAndCreate",
        "Effect": "Allow",
        "Action": [
            "bedrock-agentcore:CreateAgentRuntime", "bedrock-agentcore:ListAgentRuntimes",
            "bedrock-agentcore:CreateGateway", "bedrock-agentcore:ListGateways",
            "cognito-idp:CreateUserPool", "cognito-idp:ListUserPools", "cognito-idp:DescribeUserPoolDomain",
            "iam:ListPolicies"
        ],
        "Resource": "*"
    })];
    let roles: Vec<String> = of(kind::ROLE);
    if !roles.is_empty() {
        statements.push(json!({
            "Sid": "Roles",
            "Effect": "Allow",
            "Action": [
                "iam:CreateRole", "iam:GetRole", "iam:TagRole", "iam:UpdateAssumeRolePolicy",
                "iam:PutRolePolicy", "iam:ListRolePolicies", "iam:DeleteRolePolicy",
                "iam:ListAttachedRolePolicies", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
                "iam:DeleteRole", "iam:SimulatePrincipalPolicy"
            ],
            "Resource": roles.iter().map(|r| iam_arn(&format!("role/{r}"))).collect::<Vec<_>>()
        }));
        statements.push(json!({
            "Sid": "PassRoles",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": roles.iter().map(|r| iam_arn(&format!("role/{r}"))).collect::<Vec<_>>(),
            "Condition": { "StringEquals": { "iam:PassedToService": "bedrock-agentcore.amazonaws.com" } }
        }));
        statements.push(json!({
            "Sid": "RolePolicies",
            "Effect": "Allow",
            "Action": [
                "iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:ListPolicyVersions",
                "iam:DeletePolicyVersion", "iam:DeletePolicy"
            ],
            "Resource": roles
                .iter()
                .map(|r| iam_arn(&format!("policy{}{r}-*", mcpkit_workspace::names::MANAGED_POLICY_PATH)))
                .collect::<Vec<_>>()
        }));
    }
    if desired.iter().any(|d| d.key.kind == kind::POOL) {
        statements.push(json!({
            "Sid": "CognitoPools",
            "Effect": "Allow",
            "Action": [
                "cognito-idp:DescribeUserPool", "cognito-idp:DeleteUserPool",
                "cognito-idp:CreateUserPoolDomain", "cognito-idp:DeleteUserPoolDomain",
                "cognito-idp:CreateResourceServer", "cognito-idp:DescribeResourceServer",
                "cognito-idp:UpdateResourceServer", "cognito-idp:DeleteResourceServer",
                "cognito-idp:CreateUserPoolClient", "cognito-idp:DescribeUserPoolClient",
                "cognito-idp:UpdateUserPoolClient", "cognito-idp:DeleteUserPoolClient",
                "cognito-idp:ListUserPoolClients", "cognito-idp:ListTagsForResource",
                "cognito-idp:TagResource", "cognito-idp:AdminCreateUser", "cognito-idp:AdminSetUserPassword"
            ],
            // Pool ids are random: the account's pools in this region.
            "Resource": [arn("cognito-idp", "userpool/*")]
        }));
    }
    for bucket in of(kind::BUCKET) {
        statements.push(json!({
            "Sid": "CodeBucket",
            "Effect": "Allow",
            "Action": [
                "s3:CreateBucket", "s3:ListBucket", "s3:GetBucketTagging", "s3:PutBucketTagging",
                "s3:PutBucketPublicAccessBlock", "s3:DeleteBucket"
            ],
            "Resource": [format!("arn:{}:s3:::{bucket}", scope.partition)]
        }));
        // GetObject: AgentCore reads the code object as the caller of Create/UpdateAgentRuntime.
        statements.push(json!({
            "Sid": "CodeObjects",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
            "Resource": [format!("arn:{}:s3:::{bucket}/*", scope.partition)]
        }));
    }
    let repositories: Vec<String> = desired
        .iter()
        .filter(|d| d.key.kind == kind::IMAGE)
        .filter_map(|d| d.config["repository"].as_str().map(String::from))
        .collect();
    if !repositories.is_empty() {
        statements.push(json!({
            "Sid": "ImageRegistryLogin",
            "Effect": "Allow",
            "Action": ["ecr:GetAuthorizationToken"],
            "Resource": "*"
        }));
        statements.push(json!({
            "Sid": "Images",
            "Effect": "Allow",
            "Action": [
                "ecr:CreateRepository", "ecr:DescribeRepositories", "ecr:DeleteRepository",
                "ecr:DescribeImages", "ecr:BatchDeleteImage", "ecr:ListTagsForResource", "ecr:TagResource",
                "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage"
            ],
            "Resource": repositories.iter().map(|r| arn("ecr", &format!("repository/{r}"))).collect::<Vec<_>>()
        }));
    }
    let mut agentcore = vec![];
    for r in of(kind::RUNTIME) {
        agentcore.push(arn("bedrock-agentcore", &format!("runtime/{r}-*")));
        agentcore.push(arn("bedrock-agentcore", &format!("runtime/{r}-*/runtime-endpoint/*")));
    }
    for g in of(kind::GATEWAY) {
        let prefix = mcpkit_workspace::names::gateway(&g).workload_identity;
        agentcore.push(arn("bedrock-agentcore", &format!("gateway/{prefix}-*")));
    }
    if !agentcore.is_empty() {
        statements.push(json!({
            "Sid": "RuntimesAndGateways",
            "Effect": "Allow",
            "Action": [
                "bedrock-agentcore:GetAgentRuntime", "bedrock-agentcore:UpdateAgentRuntime",
                "bedrock-agentcore:DeleteAgentRuntime", "bedrock-agentcore:GetAgentRuntimeEndpoint",
                "bedrock-agentcore:GetGateway", "bedrock-agentcore:UpdateGateway", "bedrock-agentcore:DeleteGateway",
                "bedrock-agentcore:CreateGatewayTarget", "bedrock-agentcore:GetGatewayTarget",
                "bedrock-agentcore:UpdateGatewayTarget", "bedrock-agentcore:DeleteGatewayTarget",
                "bedrock-agentcore:ListGatewayTargets", "bedrock-agentcore:SynchronizeGatewayTargets",
                "bedrock-agentcore:TagResource", "bedrock-agentcore:ListTagsForResource"
            ],
            "Resource": agentcore
        }));
    }
    let runtimes = of(kind::RUNTIME);
    if !runtimes.is_empty() {
        // `mcpkit logs` reads the runtimes' log groups; destroy deletes them (AgentCore leaves
        // them). Listing takes the account's log groups as its resource.
        statements.push(json!({
            "Sid": "RuntimeLogGroups",
            "Effect": "Allow",
            "Action": ["logs:FilterLogEvents", "logs:DeleteLogGroup"],
            "Resource": runtimes
                .iter()
                .map(|r| arn("logs", &format!("log-group:/aws/bedrock-agentcore/runtimes/{r}-*")))
                .collect::<Vec<_>>()
        }));
        statements.push(json!({
            "Sid": "ListLogGroups",
            "Effect": "Allow",
            "Action": ["logs:DescribeLogGroups"],
            "Resource": [arn("logs", "log-group:*")]
        }));
    }
    let providers: Vec<String> = of(kind::CREDENTIAL_PROVIDER);
    if !providers.is_empty() {
        let mut vault = vec![arn("bedrock-agentcore", "token-vault/default")];
        vault.extend(
            providers.iter().map(|p| {
                arn("bedrock-agentcore", &format!("token-vault/default/oauth2credentialprovider/{p}"))
            }),
        );
        statements.push(json!({
            "Sid": "CredentialProviders",
            "Effect": "Allow",
            "Action": [
                "bedrock-agentcore:CreateOauth2CredentialProvider", "bedrock-agentcore:GetOauth2CredentialProvider",
                "bedrock-agentcore:UpdateOauth2CredentialProvider", "bedrock-agentcore:DeleteOauth2CredentialProvider",
                "bedrock-agentcore:TagResource", "bedrock-agentcore:ListTagsForResource"
            ],
            "Resource": vault
        }));
        // AgentCore Identity keeps each provider's client secret in Secrets Manager, as the
        // caller (the BedrockAgentCoreFullAccess managed policy grants the same actions).
        statements.push(json!({
            "Sid": "CredentialProviderSecrets",
            "Effect": "Allow",
            "Action": [
                "secretsmanager:CreateSecret", "secretsmanager:PutSecretValue",
                "secretsmanager:DeleteSecret", "secretsmanager:TagResource"
            ],
            "Resource": providers
                .iter()
                .map(|p| arn("secretsmanager", &format!("secret:bedrock-agentcore-identity!default/oauth2/{p}-*")))
                .collect::<Vec<_>>()
        }));
    }
    if desired.iter().any(|d| d.key.kind == kind::RUNTIME) {
        // The first runtime in an account makes AgentCore's runtime-identity service-linked
        // role (as BedrockAgentCoreFullAccess allows).
        statements.push(json!({
            "Sid": "RuntimeIdentityServiceLinkedRole",
            "Effect": "Allow",
            "Action": ["iam:CreateServiceLinkedRole"],
            "Resource": [iam_arn("role/aws-service-role/runtime-identity.bedrock-agentcore.amazonaws.com/AWSServiceRoleForBedrockAgentCoreRuntimeIdentity")],
            "Condition": { "StringEquals": { "iam:AWSServiceName": "runtime-identity.bedrock-agentcore.amazonaws.com" } }
        }));
    }
    document(statements)
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

    fn statement<'a>(doc: &'a Value, sid: &str) -> &'a Value {
        doc["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == sid).unwrap()
    }

    fn inline(needs: &GatewayNeeds) -> Value {
        let p = gateway(&scope(), "shop", needs).unwrap();
        assert!(p.managed.is_empty());
        p.inline
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
        for doc in [inline(&needs), runtime(&scope(), "calc", Some("mcpkit/shop/calc"))] {
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
        let g = resources(&inline(&needs));
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

    /// GetResourceOauth2Token is authorized against four resources (AWS CDK's generated
    /// policy): a role that names only the vault and the provider is refused by AgentCore.
    #[test]
    fn oauth_tokens_name_the_vault_the_provider_and_the_gateways_workload_identity() {
        let needs = GatewayNeeds { credential_providers: vec!["calc-identity".into()], iam_runtimes: vec![] };
        let doc = gateway(&scope(), &mcpkit_workspace::names::gateway("Shop").workload_identity, &needs)
            .unwrap()
            .inline;
        let arn = |r: &str| format!("arn:aws:bedrock-agentcore:us-east-1:123456789012:{r}");
        let tokens = statement(&doc, "OAuthTokens");
        assert_eq!(tokens["Action"], json!(["bedrock-agentcore:GetResourceOauth2Token"]));
        let res: Vec<&str> =
            tokens["Resource"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
        for want in [
            arn("token-vault/default"),
            arn("token-vault/default/oauth2credentialprovider/calc-identity"),
            arn("workload-identity-directory/default"),
            // Lowercased: AgentCore names the identity after the lowercased gateway name.
            arn("workload-identity-directory/default/workload-identity/shop-*"),
        ] {
            assert!(res.contains(&want.as_str()), "{want} missing from {res:?}");
        }
        let wi = statement(&doc, "WorkloadIdentity");
        assert!(
            wi["Action"].as_array().unwrap().contains(&json!("bedrock-agentcore:GetWorkloadAccessToken"))
        );
        assert_eq!(
            statement(&doc, "OAuthClientSecrets")["Resource"],
            json!([
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:bedrock-agentcore-identity!default/oauth2/calc-identity-??????"
            ])
        );
    }

    #[test]
    fn a_gateway_with_only_oauth_targets_cannot_invoke_runtimes() {
        let needs = GatewayNeeds { credential_providers: vec!["a-identity".into()], iam_runtimes: vec![] };
        assert!(!inline(&needs).to_string().contains("InvokeAgentRuntime"));
    }

    #[test]
    fn a_gateway_with_only_iam_targets_gets_no_token_permissions() {
        let needs = GatewayNeeds { credential_providers: vec![], iam_runtimes: vec!["a".into()] };
        let doc = inline(&needs).to_string();
        assert!(!doc.contains("GetResourceOauth2Token") && !doc.contains("WorkloadAccessToken"), "{doc}");
    }

    /// Sixty servers with names of realistic length: the inline policy stays within IAM's
    /// aggregate inline quota, every managed policy within its own, few are needed, and every
    /// server's resources are granted exactly once.
    #[test]
    fn sixty_servers_stay_within_iams_policy_quotas() {
        let names: Vec<String> = (0..60).map(|i| format!("inventory-service-{i:02}")).collect();
        let needs = GatewayNeeds {
            credential_providers: names[..40].iter().map(|n| format!("{n}-identity")).collect(),
            iam_runtimes: names[40..].iter().map(|n| n.replace('-', "_")).collect(),
        };
        let p = gateway(&scope(), "shop-gateway", &needs).unwrap();
        assert!(size(&p.inline) <= INLINE_LIMIT, "inline {}", size(&p.inline));
        assert!(!p.managed.is_empty() && p.managed.len() <= 3, "{} managed policies", p.managed.len());
        for m in &p.managed {
            assert!(size(m) <= MANAGED_LIMIT, "managed {}", size(m));
        }
        let all: Vec<String> = std::iter::once(&p.inline).chain(&p.managed).flat_map(resources).collect();
        for prov in &needs.credential_providers {
            let grant = format!("oauth2credentialprovider/{prov}");
            assert_eq!(all.iter().filter(|r| r.ends_with(&grant)).count(), 1, "{prov}");
            let secret = format!("oauth2/{prov}-??????");
            assert_eq!(all.iter().filter(|r| r.ends_with(&secret)).count(), 1, "{prov}");
        }
        for rt in &needs.iam_runtimes {
            assert_eq!(all.iter().filter(|r| r.ends_with(&format!("runtime/{rt}-*"))).count(), 1, "{rt}");
        }
        // The same topology as one document would not fit inline.
        let one = document(gateway_statements(
            &scope(),
            "shop-gateway",
            &needs.credential_providers.iter().collect::<Vec<_>>(),
            &needs.iam_runtimes.iter().collect::<Vec<_>>(),
            true,
        ));
        assert!(size(&one) > INLINE_LIMIT, "the test must exceed the quota: {}", size(&one));
    }

    #[test]
    fn a_few_servers_fit_inline() {
        let needs = GatewayNeeds {
            credential_providers: (0..5).map(|i| format!("s{i}-identity")).collect(),
            iam_runtimes: vec![],
        };
        assert!(gateway(&scope(), "shop", &needs).unwrap().managed.is_empty());
    }
}
