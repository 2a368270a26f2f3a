//! Every resource name mcpkit derives, and the rules each must satisfy.
//!
//! AgentCore, IAM and Cognito each have their own naming alphabet (runtime names take `_` but
//! not `-`; gateway and target names take `-` but not `_`; Cognito domains are lower case).
//! Deriving all of them in one place, from the two names the user chose (the gateway's and each
//! server's), means a name that cannot work on AWS is refused when it enters the project
//! (`new`, `add-server`, `import`, `validate`), not twenty minutes into a deploy.
//!
//! The derivation follows the original Python toolkit's table so that projects moved from it
//! keep their resource names.

use regex::Regex;
use std::sync::LazyLock;

/// A naming rule of one AWS resource kind.
#[derive(Debug)]
pub struct Rule {
    /// What the rule is for, in the user's terms ("AgentCore runtime name").
    pub what: &'static str,
    pattern: &'static str,
    min: usize,
    max: usize,
    /// Where the rule comes from.
    pub source: &'static str,
}

impl Rule {
    /// Checks `name`, explaining the violation in one sentence.
    pub fn check(&self, name: &str) -> Result<(), String> {
        let len = name.chars().count();
        if len < self.min || len > self.max {
            return Err(format!(
                "{} `{name}` is {len} characters long; it must have {} to {} ({})",
                self.what, self.min, self.max, self.source
            ));
        }
        if !compiled(self.pattern).is_match(name) {
            return Err(format!(
                "{} `{name}` does not match `{}` ({})",
                self.what, self.pattern, self.source
            ));
        }
        Ok(())
    }
}

fn compiled(pattern: &'static str) -> &'static Regex {
    static CACHE: LazyLock<std::sync::Mutex<std::collections::HashMap<&'static str, &'static Regex>>> =
        LazyLock::new(Default::default);
    let mut cache = CACHE.lock().expect("regex cache poisoned");
    cache.entry(pattern).or_insert_with(|| {
        let anchored = format!("^(?:{pattern})$");
        Box::leak(Box::new(Regex::new(&anchored).expect("naming rules are valid regexes")))
    })
}

pub const RUNTIME: Rule = Rule {
    what: "AgentCore runtime name",
    pattern: "[a-zA-Z][a-zA-Z0-9_]{0,47}",
    min: 1,
    max: 48,
    source: "bedrock-agentcore-control AgentRuntimeName",
};
pub const GATEWAY: Rule = Rule {
    what: "AgentCore gateway name",
    pattern: "([0-9a-zA-Z][-]?){1,48}",
    min: 1,
    max: 96,
    source: "bedrock-agentcore-control GatewayName",
};
pub const TARGET: Rule = Rule {
    what: "AgentCore gateway target name",
    pattern: "([0-9a-zA-Z][-]?){1,100}",
    min: 1,
    max: 200,
    source: "bedrock-agentcore-control TargetName",
};
pub const CREDENTIAL_PROVIDER: Rule = Rule {
    what: "AgentCore OAuth2 credential provider name",
    pattern: "[a-zA-Z0-9_-]+",
    min: 1,
    max: 128,
    source: "bedrock-agentcore-control CredentialProviderName",
};
pub const IAM_ROLE: Rule =
    Rule { what: "IAM role name", pattern: r"[\w+=,.@-]+", min: 1, max: 64, source: "IAM RoleName" };
pub const USER_POOL: Rule = Rule {
    what: "Cognito user pool name",
    pattern: r"[\w\s+=,.@-]+",
    min: 1,
    max: 128,
    source: "Cognito PoolName",
};
pub const USER_POOL_CLIENT: Rule = Rule {
    what: "Cognito app client name",
    pattern: r"[\w\s+=,.@-]+",
    min: 1,
    max: 128,
    source: "Cognito ClientName",
};
pub const RESOURCE_SERVER: Rule = Rule {
    what: "Cognito resource server identifier",
    pattern: r"[\x21\x23-\x5B\x5D-\x7E]+",
    min: 1,
    max: 256,
    source: "Cognito ResourceServerIdentifier",
};
pub const COGNITO_DOMAIN: Rule = Rule {
    what: "Cognito domain prefix",
    pattern: r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?",
    min: 1,
    max: 63,
    source: "Cognito DomainType",
};
pub const ECR_REPOSITORY: Rule = Rule {
    what: "ECR repository name",
    pattern: r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*",
    min: 2,
    max: 256,
    source: "ECR RepositoryName",
};

/// The user-chosen names (servers, gateways, projects) share one alphabet: letters, digits and
/// single hyphens, starting with a letter. It is the intersection of what runtime names (after
/// `-` becomes `_`) and target names accept, and it can never escape a folder.
pub const SLUG: Rule = Rule {
    what: "name",
    pattern: "[a-zA-Z]([a-zA-Z0-9]|-[a-zA-Z0-9])*",
    min: 1,
    max: 48,
    source: "letters, digits and single inner hyphens, starting with a letter",
};

/// Number of random characters appended to Cognito domain prefixes (they are unique per region
/// across all accounts, so a bare name would collide).
pub const DOMAIN_SUFFIX_LEN: usize = 8;

/// Names derived from the gateway's name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GatewayNames {
    pub gateway: String,
    /// The prefix of the gateway's workload identity: AgentCore names it after the
    /// *lowercased* gateway name (`{name}-{random}`), and IAM matches resources
    /// case-sensitively, so policies must use this form (AWS CDK, `aws-bedrockagentcore`
    /// `gateway/outbound-auth/workload-identity.ts`).
    pub workload_identity: String,
    pub role: String,
    pub pool: String,
    pub resource_server: String,
    pub scope: String,
    pub client: String,
}

/// Names derived from one server's name (and its gateway's).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServerNames {
    pub server: String,
    pub runtime: String,
    pub role: String,
    pub pool: String,
    pub resource_server: String,
    pub scope: String,
    pub client: String,
    pub target: String,
    pub identity: String,
    pub ecr_repository: String,
}

pub const SCOPE: &str = "invoke";

/// The IAM path of the customer-managed policies mcpkit attaches to a role whose statements
/// outgrow IAM's inline budget (see `aws::policy`).
pub const MANAGED_POLICY_PATH: &str = "/mcpkit/";

/// The `n`-th (from 1) managed policy of role `role`.
pub fn managed_policy(role: &str, n: usize) -> String {
    format!("{role}-{n}")
}

pub fn gateway(gateway: &str) -> GatewayNames {
    GatewayNames {
        gateway: gateway.to_string(),
        workload_identity: gateway.to_lowercase(),
        role: format!("{gateway}-role"),
        pool: format!("{gateway}-pool"),
        resource_server: format!("{gateway}-id"),
        scope: format!("{gateway}-id/{SCOPE}"),
        client: format!("{gateway}-client"),
    }
}

pub fn server(gateway: &str, server: &str) -> ServerNames {
    ServerNames {
        server: server.to_string(),
        runtime: server.replace('-', "_"),
        role: format!("{gateway}-{server}-role"),
        pool: format!("{server}-pool"),
        resource_server: format!("{server}-id"),
        scope: format!("{server}-id/{SCOPE}"),
        client: format!("{server}-client"),
        target: format!("{server}-target"),
        identity: format!("{server}-identity"),
        ecr_repository: format!("mcpkit/{}/{}", gateway.to_lowercase(), server.to_lowercase()),
    }
}

/// An environment's name, the part every physical name of that environment carries: it goes
/// into runtime names (which allow no `-`), gateway names (no `_`), Cognito domain prefixes and
/// ECR repositories (lower case only), so it is lower-case letters and digits, and short enough
/// to leave the names it joins room (docs/research/environment-names.md).
pub const ENVIRONMENT: Rule = Rule {
    what: "environment name",
    pattern: "[a-z][a-z0-9]{0,9}",
    min: 1,
    max: 10,
    source: "mcpkit: valid inside every AWS name it joins",
};

/// Words Cognito refuses anywhere in a domain prefix (not in the API reference; AWS's answer
/// as users met it, aws-amplify/amplify-cli#3854: an environment named `newcognito`).
pub const COGNITO_RESERVED: [&str; 3] = ["cognito", "amazon", "aws"];

/// Every problem with an environment's own name.
pub fn check_environment(name: &str) -> Vec<String> {
    let mut out: Vec<String> = ENVIRONMENT.check(name).err().into_iter().collect();
    if let Some(w) = COGNITO_RESERVED.iter().find(|w| name.contains(*w)) {
        out.push(format!(
            "environment name `{name}` contains `{w}`, which Cognito refuses in a domain prefix (aws-amplify/amplify-cli#3854)"
        ));
    }
    out
}

/// The gateway's names in environment `env` (none: the workspace's own names, as ever): the
/// gateway is `{gateway}-{env}`, and everything derived from the gateway follows.
pub fn gateway_in(gateway_name: &str, env: Option<&str>) -> GatewayNames {
    match env {
        Some(e) => gateway(&format!("{gateway_name}-{e}")),
        None => gateway(gateway_name),
    }
}

/// A server's names in environment `env`. The runtime is `{runtime}__{env}`: a server name
/// (single hyphens) never makes `__`, so no server of the workspace's own can take an
/// environment's runtime name. The server's Cognito realm (pool, resource server, scope,
/// client) and its credential provider are named after [`server_realm`]. The target keeps its
/// name: it lives inside the environment's own gateway, and its name is the prefix of every
/// tool name (`{target}___{tool}`), which must not change from one environment to the next.
pub fn server_in(gateway_name: &str, server_name: &str, env: Option<&str>) -> ServerNames {
    let Some(e) = env else { return server(gateway_name, server_name) };
    let realm = server_realm(server_name, env);
    let mut n = server(&format!("{gateway_name}-{e}"), server_name);
    n.runtime = format!("{}__{e}", n.runtime);
    n.pool = format!("{realm}-pool");
    n.resource_server = format!("{realm}-id");
    n.scope = format!("{realm}-id/{SCOPE}");
    n.client = format!("{realm}-client");
    n.identity = format!("{realm}-identity");
    n
}

/// The name a server's Cognito realm is made from (`{realm}-pool`, `{realm}-id`, ...): the
/// server's name, or `{server}-{env}` in an environment.
pub fn server_realm(server_name: &str, env: Option<&str>) -> String {
    match env {
        Some(e) => format!("{server_name}-{e}"),
        None => server_name.to_string(),
    }
}

/// The Cognito domain prefix for an identity realm: the lower-cased name, words Cognito
/// reserves removed, and a random suffix (kept in the deploy state) for global uniqueness.
pub fn cognito_domain(name: &str, suffix: &str) -> String {
    let mut base = name.to_lowercase();
    // Until none is left: taking one out can join the letters around it into another
    // ("cogawsnito" is "cognito" once "aws" is gone), and Cognito refuses any prefix holding one.
    while let Some(reserved) = COGNITO_RESERVED.into_iter().find(|r| base.contains(r)) {
        base = base.replace(reserved, "");
    }
    let base: String = base.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    let room = COGNITO_DOMAIN.max - suffix.len() - 1;
    let base = base.chars().take(room).collect::<String>();
    let base = base.trim_matches('-');
    if base.is_empty() { format!("mcpkit-{suffix}") } else { format!("{base}-{suffix}") }
}

/// The S3 bucket holding a project's code artifacts. Bucket names are global across all AWS
/// accounts, so the account and region are part of it; S3 allows 3-63 lower-case letters,
/// digits and hyphens.
pub fn artifact_bucket(project: &str, account: &str, region: &str) -> String {
    bucket_name(project, &format!("-{account}-{region}"))
}

/// The code bucket of environment `env` (none: [`artifact_bucket`]):
/// `mcpkit-{project}-{env}-{account}-{region}`, the project part shortened first, so the
/// environment is always in it and no environment's deploy or destroy touches another's
/// artifacts.
pub fn artifact_bucket_in(project: &str, env: Option<&str>, account: &str, region: &str) -> String {
    match env {
        Some(e) => bucket_name(project, &format!("-{e}-{account}-{region}")),
        None => artifact_bucket(project, account, region),
    }
}

/// `mcpkit-{project}{tail}` within S3's 63 characters, the project part shortened to fit and
/// made of what bucket names allow.
fn bucket_name(project: &str, tail: &str) -> String {
    let base: String = format!("mcpkit-{}", project.to_lowercase())
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(63 - tail.len())
        .collect();
    format!("{}{tail}", base.trim_end_matches('-'))
}

/// The object key of a server's code artifact: content-addressed, so unchanged code is never
/// uploaded again.
pub fn artifact_key(server: &str, hash: &str) -> String {
    format!("{server}/{hash}.zip")
}

/// Whether an object key is one [`artifact_key`] makes (any server, any version): what
/// destroy may delete from mcpkit's bucket. Anything else is someone else's.
pub fn is_artifact_key(key: &str) -> bool {
    key.split_once('/').is_some_and(|(server, file)| {
        SLUG.check(server).is_ok()
            && file
                .strip_suffix(".zip")
                .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
    })
}

/// A Cognito pool's OpenID discovery document. `base` is the cognito-idp endpoint
/// (`https://cognito-idp.{region}.amazonaws.com` unless an endpoint override says otherwise).
pub fn cognito_discovery_url(base: &str, pool_id: &str) -> String {
    format!("{}/{pool_id}/.well-known/openid-configuration", base.trim_end_matches('/'))
}

/// The token endpoint of a Cognito domain prefix. A pool's discovery document announces its
/// `token_endpoint` only once the pool has a domain, which is why everything that fetches
/// tokens through discovery (an OAuth2 credential provider) is made after the domain.
pub fn cognito_domain_token_endpoint(prefix: &str, region: &str) -> String {
    format!("https://{prefix}.auth.{region}.amazoncognito.com/oauth2/token")
}

/// The runtime endpoint AgentCore makes with every runtime, and the one gateway targets invoke.
pub const RUNTIME_ENDPOINT: &str = "DEFAULT";

/// Where a gateway target reaches a runtime: the regional invocation URL with the runtime ARN
/// fully percent-encoded and the DEFAULT endpoint.
pub fn runtime_invocation_url(region: &str, runtime_arn: &str) -> String {
    // Everything but RFC 3986's unreserved characters, as Python's `quote(arn, safe="")`.
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    let arn = percent_encoding::utf8_percent_encode(runtime_arn, SET);
    format!(
        "https://bedrock-agentcore.{region}.amazonaws.com/runtimes/{arn}/invocations?qualifier={RUNTIME_ENDPOINT}"
    )
}

/// Deploy-state key names of the gateway's own identity resources are prefixed with
/// `gateway.`: the gateway and a server may share a name (a new project's do), and each has
/// its own Cognito pool of the same physical name. Server names cannot contain `.`.
pub const GATEWAY_KEY_PREFIX: &str = "gateway.";

/// The physical name behind a deploy-state key name (see [`GATEWAY_KEY_PREFIX`]).
pub fn physical(key_name: &str) -> &str {
    key_name.strip_prefix(GATEWAY_KEY_PREFIX).unwrap_or(key_name)
}

/// The name a gateway gives a target's tool: `{target}___{tool}` (three underscores), as
/// AgentCore Gateway does, so tool names are the same locally and on AWS.
pub fn tool_name(target: &str, tool: &str) -> String {
    format!("{target}{TOOL_SEPARATOR}{tool}")
}

pub const TOOL_SEPARATOR: &str = "___";

/// Splits a gateway tool name into target and tool. Target names cannot contain `_`, so the
/// first `___` is the separator.
pub fn split_tool_name(name: &str) -> Option<(&str, &str)> {
    name.split_once(TOOL_SEPARATOR).filter(|(t, n)| !t.is_empty() && !n.is_empty())
}

/// The MCP rule for a tool name (SEP-986, adopted in the 2025-11-25 specification): 1 to 128
/// characters of ASCII letters, digits, `_`, `-` and `.`. MCP applies it to tools; the gateway
/// holds prompts to it too, since it names both the same way (`{target}___{name}`).
pub const MCP_NAME: Rule = Rule {
    what: "gateway name",
    pattern: r"[A-Za-z0-9_.\-]+",
    min: 1,
    max: 128,
    source: "MCP tool names, SEP-986: 1-128 of A-Z a-z 0-9 _ - .",
};

/// Bedrock's model APIs refuse tool names over 64 characters (Converse's `toolSpec.name`,
/// `[a-zA-Z0-9_-]+`, 1-64), so an agent on Bedrock cannot use a longer gateway tool name even
/// where MCP allows it (the starter toolkit hit it: aws/bedrock-agentcore-starter-toolkit#308).
/// AgentCore documents no limit of its own on the prefixed name.
pub const BEDROCK_TOOL_NAME: Rule = Rule {
    what: "gateway name",
    pattern: r"[a-zA-Z0-9_\-]+",
    min: 1,
    max: 64,
    source: "Bedrock Converse toolSpec.name: 1-64 of a-z A-Z 0-9 _ -",
};

/// What is wrong with a name the gateway would serve, as `mcpkit deploy` and `status` report it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NameProblem {
    /// The server whose listing has it.
    pub server: String,
    /// `tool`, `prompt`, `resource` or `resource template`.
    pub kind: String,
    /// The name (or URI) as the gateway would serve it.
    pub name: String,
    /// The rule broken, in one sentence.
    pub rule: String,
    /// True when the gateway serves it anyway (a warning), false when it cannot.
    pub served: bool,
}

/// Checks a prefixed gateway tool or prompt name against MCP's rule (which makes it unusable
/// by conforming clients) and Bedrock's (which makes it unusable by Bedrock agents).
pub fn check_gateway_name(kind: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Err(e) = MCP_NAME.check(name) {
        out.push(e.replacen("gateway name", &format!("gateway {kind} name"), 1));
    } else if kind == "tool"
        && let Err(e) = BEDROCK_TOOL_NAME.check(name)
    {
        out.push(e.replacen("gateway name", &format!("gateway {kind} name"), 1));
    }
    out
}

/// Checks a user-chosen name (`kind` is "server", "gateway" or "project") and every name
/// derived from it. Returns one message per violated rule.
pub fn check_slug(kind: &str, name: &str) -> Result<(), String> {
    if name.contains('/') || name.contains('\\') || name.contains("..") {
        return Err(format!("{kind} name `{name}` must not contain `/`, `\\` or `..`"));
    }
    SLUG.check(name).map_err(|e| e.replacen("name", &format!("{kind} name"), 1))
}

/// Every problem with a gateway name and the names derived from it.
pub fn check_gateway(gateway_name: &str) -> Vec<String> {
    check_gateway_in(gateway_name, None)
}

/// [`check_gateway`], for the names the gateway has in environment `env`.
pub fn check_gateway_in(gateway_name: &str, env: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if let Err(e) = check_slug("gateway", gateway_name) {
        out.push(e);
        return out;
    }
    let n = gateway_in(gateway_name, env);
    let checks: [(&Rule, &str); 6] = [
        (&GATEWAY, &n.gateway),
        (&IAM_ROLE, &n.role),
        (&USER_POOL, &n.pool),
        (&RESOURCE_SERVER, &n.resource_server),
        (&USER_POOL_CLIENT, &n.client),
        (&COGNITO_DOMAIN, &cognito_domain(&n.gateway, &"x".repeat(DOMAIN_SUFFIX_LEN))),
    ];
    out.extend(checks.iter().filter_map(|(rule, name)| rule.check(name).err()));
    out
}

/// Every problem with a server name and the names derived from it.
pub fn check_server(gateway_name: &str, server_name: &str) -> Vec<String> {
    check_server_in(gateway_name, server_name, None)
}

/// [`check_server`], for the names the server has in environment `env`.
pub fn check_server_in(gateway_name: &str, server_name: &str, env: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if let Err(e) = check_slug("server", server_name) {
        out.push(e);
        return out;
    }
    let n = server_in(gateway_name, server_name, env);
    let checks: [(&Rule, &str); 8] = [
        (&RUNTIME, &n.runtime),
        (&TARGET, &n.target),
        (&IAM_ROLE, &n.role),
        (&USER_POOL, &n.pool),
        (&RESOURCE_SERVER, &n.resource_server),
        (&USER_POOL_CLIENT, &n.client),
        (&CREDENTIAL_PROVIDER, &n.identity),
        (&ECR_REPOSITORY, &n.ecr_repository),
    ];
    out.extend(checks.iter().filter_map(|(rule, name)| rule.check(name).err()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_the_original_toolkit_table() {
        let g = gateway("my-gw");
        assert_eq!(g.role, "my-gw-role");
        assert_eq!(g.pool, "my-gw-pool");
        assert_eq!(g.resource_server, "my-gw-id");
        assert_eq!(g.scope, "my-gw-id/invoke");
        assert_eq!(g.client, "my-gw-client");
        let s = server("my-gw", "order-api");
        assert_eq!(s.runtime, "order_api");
        assert_eq!(s.target, "order-api-target");
        assert_eq!(s.identity, "order-api-identity");
        assert_eq!(s.pool, "order-api-pool");
        assert_eq!(s.client, "order-api-client");
        assert_eq!(s.scope, "order-api-id/invoke");
        assert_eq!(s.role, "my-gw-order-api-role");
    }

    #[test]
    fn aws_rules_accept_and_refuse() {
        assert!(RUNTIME.check("calc_1").is_ok());
        assert!(RUNTIME.check("calc-1").is_err());
        assert!(RUNTIME.check("1calc").is_err());
        assert!(RUNTIME.check(&"a".repeat(49)).is_err());
        assert!(GATEWAY.check("a-b-c").is_ok());
        assert!(GATEWAY.check("a--b").is_err());
        assert!(GATEWAY.check("a_b").is_err());
        assert!(TARGET.check("x-target").is_ok());
        assert!(IAM_ROLE.check(&"r".repeat(65)).is_err());
        assert!(COGNITO_DOMAIN.check("abc-def").is_ok());
        assert!(COGNITO_DOMAIN.check("-abc").is_err());
        assert!(COGNITO_DOMAIN.check("Abc").is_err());
        assert!(COGNITO_DOMAIN.check(&"a".repeat(64)).is_err());
    }

    #[test]
    fn user_names_are_slugs() {
        assert!(check_server("gw", "calculator").is_empty());
        assert!(check_server("gw", "hello-world2").is_empty());
        for bad in ["", "../x", "a/b", "9lives", "a_b", "a--b", "trailing-", "-lead", "with space"] {
            assert!(!check_server("gw", bad).is_empty(), "{bad:?} should be refused");
        }
        // 48 characters is a valid runtime name, but the derived role `{gw}-{server}-role` is not.
        let long = "a".repeat(48);
        let problems = check_server("a-very-long-gateway-name", &long);
        assert!(problems.iter().any(|p| p.contains("IAM role name")), "{problems:?}");
    }

    #[test]
    fn environment_names_are_checked_and_carried_by_every_name_that_needs_them() {
        assert!(check_environment("prod").is_empty());
        assert!(check_environment("dev2").is_empty());
        for bad in ["Prod", "2dev", "dev-1", "dev_1", "", "production1", "newcognito", "awsdev"] {
            assert!(!check_environment(bad).is_empty(), "{bad}");
        }
        let g = gateway_in("shop", Some("dev"));
        assert_eq!(
            (g.gateway.as_str(), g.role.as_str(), g.pool.as_str()),
            ("shop-dev", "shop-dev-role", "shop-dev-pool")
        );
        assert_eq!(gateway_in("shop", None), gateway("shop"), "no environment: the names of today");
        let s = server_in("shop", "order-api", Some("prod"));
        assert_eq!(s.runtime, "order_api__prod");
        assert_eq!(s.role, "shop-prod-order-api-role");
        assert_eq!(
            (s.pool.as_str(), s.identity.as_str()),
            ("order-api-prod-pool", "order-api-prod-identity")
        );
        assert_eq!(s.ecr_repository, "mcpkit/shop-prod/order-api");
        assert_eq!(
            (s.resource_server.as_str(), s.scope.as_str(), s.client.as_str()),
            ("order-api-prod-id", "order-api-prod-id/invoke", "order-api-prod-client")
        );
        assert_eq!(s.target, "order-api-target", "tool names are the same in every environment");
        assert_eq!(artifact_bucket_in("shop", None, "1", "r-1"), artifact_bucket("shop", "1", "r-1"));
        let long = "p".repeat(60);
        let b = artifact_bucket_in(&long, Some("prod"), "123456789012", "us-east-1");
        assert!(b.len() <= 63 && b.ends_with("-prod-123456789012-us-east-1"), "{b}");
        assert_eq!(server_in("shop", "order-api", None), server("shop", "order-api"));
        // No server of the workspace's own takes an environment's runtime name.
        assert_ne!(
            server_in("shop", "order-prod", None).runtime,
            server_in("shop", "order", Some("prod")).runtime
        );
        // Long names that fit without an environment may not fit with one.
        let long = "s".repeat(40);
        assert!(check_server_in("g", &long, None).is_empty());
        assert!(!check_server_in("g", &long, Some("staging")).is_empty());
    }

    #[test]
    fn artifact_keys_are_recognised_and_nothing_else() {
        assert!(is_artifact_key(&artifact_key("order-api", "0123456789abcdef0123")));
        for other in ["notes.txt", "order-api/readme.md", "order-api/x.zip", "a/b/0123.zip", "/0123.zip"] {
            assert!(!is_artifact_key(other), "{other}");
        }
    }

    #[test]
    fn cognito_domains_are_valid_and_avoid_reserved_words() {
        let d = cognito_domain("My-AWS-Cognito-Pool", "abcd1234");
        assert_eq!(d, "my---pool-abcd1234");
        assert!(COGNITO_DOMAIN.check(&d).is_ok());
        let d = cognito_domain(&"x".repeat(80), "abcd1234");
        assert_eq!(d.len(), 63);
        assert!(COGNITO_DOMAIN.check(&d).is_ok());
        assert_eq!(cognito_domain("aws", "abcd1234"), "mcpkit-abcd1234");
        // A reserved word the removal of another one makes.
        for name in ["cogawsnito", "amawszon", "aamazonws"] {
            let d = cognito_domain(name, "abcd1234");
            assert!(!["cognito", "amazon", "aws"].iter().any(|r| d.contains(r)), "{name}: {d}");
        }
    }

    #[test]
    fn gateway_names_follow_mcp_and_bedrock_rules() {
        assert!(check_gateway_name("tool", "calc-target___add").is_empty());
        let long = format!("calc-target___{}", "a".repeat(60));
        let p = check_gateway_name("tool", &long);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("Bedrock") && p[0].contains("74 characters"), "{p:?}");
        // Prompts are not Bedrock tools: only MCP's rule applies.
        assert!(check_gateway_name("prompt", &long).is_empty());
        let p = check_gateway_name("tool", "calc-target___say hello");
        assert!(p[0].contains("SEP-986") && p[0].contains("gateway tool name"), "{p:?}");
        let p = check_gateway_name("prompt", &format!("t___{}", "x".repeat(130)));
        assert!(p[0].contains("128"), "{p:?}");
    }

    #[test]
    fn tool_names_round_trip() {
        let n = tool_name("calc-target", "add_numbers");
        assert_eq!(n, "calc-target___add_numbers");
        assert_eq!(split_tool_name(&n), Some(("calc-target", "add_numbers")));
        assert_eq!(split_tool_name("x_amz_bedrock_agentcore_search"), None);
        assert_eq!(split_tool_name("a___b___c"), Some(("a", "b___c")));
    }

    #[test]
    fn aws_derived_names_follow_the_service_rules() {
        let b = artifact_bucket("My_Shop", "123456789012", "eu-west-1");
        assert_eq!(b, "mcpkit-my-shop-123456789012-eu-west-1");
        let long = artifact_bucket(&"x".repeat(80), "123456789012", "ap-southeast-2");
        assert!(long.len() <= 63 && long.ends_with("-123456789012-ap-southeast-2"), "{long}");
        let arn = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/calc-abc1234567";
        assert_eq!(
            runtime_invocation_url("us-east-1", arn),
            "https://bedrock-agentcore.us-east-1.amazonaws.com/runtimes/arn%3Aaws%3Abedrock-agentcore%3Aus-east-1%3A123456789012%3Aruntime%2Fcalc-abc1234567/invocations?qualifier=DEFAULT"
        );
        assert_eq!(
            cognito_discovery_url("https://cognito-idp.us-east-1.amazonaws.com/", "us-east-1_abc"),
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc/.well-known/openid-configuration"
        );
        assert_eq!(artifact_key("calc", "0f1e"), "calc/0f1e.zip");
    }
}
