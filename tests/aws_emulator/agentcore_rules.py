"""What AWS does that moto does not, as rules the emulator enforces (README.md, "Rules",
names the AWS page or AWS construct behind each):

- IAM policy evaluation (`evaluate`): identity policies (inline and attached managed, Allow and
  Deny, Action/NotAction, Resource/NotResource, `*` and `?` wildcards, actions matched without
  regard to case and resources with it, the condition operators mcpkit's policies use) and
  trust policies (a service principal assuming a role, with its context keys).
- AgentCore Gateway acting as its role when a gateway target is created, updated or
  synchronised (`check_target`): it lists the server's tools at once, which for an OAuth
  target means a workload access token, GetResourceOauth2Token and the provider's secret,
  the pool's discovery document (no `token_endpoint` without a domain), a client-credentials
  token with the provider's client and the target's scopes, and the runtime's authorizer
  accepting that token; for a GATEWAY_IAM_ROLE target, InvokeAgentRuntime on the runtime and
  its endpoint; and in both cases the runtime's DEFAULT endpoint being READY.
- AgentCore assuming a runtime's or gateway's role (`check_trust`): the trust policy must let
  `bedrock-agentcore.amazonaws.com` assume it with `aws:SourceAccount` and `aws:SourceArn`.
- The caller's own permissions (`required`): each AWS operation mcpkit calls, mapped to the IAM
  actions and resource ARNs AWS authorizes it against, so a test can run mcpkit as an identity
  holding exactly `mcpkit aws policy` (or less).
- IAM's size quotas on a role's inline policies and on managed policies.

Everything here reads moto's state; nothing here changes it except a gateway target's status.
"""

import json
import re
import time
import uuid
from urllib.parse import unquote

# ---------------------------------------------------------------------------------------
# IAM policy evaluation
# ---------------------------------------------------------------------------------------


def _list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _glob(pattern, value, ignore_case):
    """IAM's wildcards: `*` any run of characters, `?` any one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.S | (re.I if ignore_case else 0)) is not None


def _matches(statement, key, value, ignore_case):
    """Action/NotAction or Resource/NotResource of a statement against one value; a statement
    without either member matches (trust policies have no Resource)."""
    if key in statement:
        return any(_glob(p, value, ignore_case) for p in _list(statement[key]))
    if "Not" + key in statement:
        return not any(_glob(p, value, ignore_case) for p in _list(statement["Not" + key]))
    return key == "Resource"


_STRING_OPS = {
    "StringEquals": lambda want, got: want == got,
    "StringNotEquals": lambda want, got: want != got,
    "StringEqualsIgnoreCase": lambda want, got: want.lower() == got.lower(),
    "StringLike": lambda want, got: _glob(want, got, False),
    "StringNotLike": lambda want, got: not _glob(want, got, False),
    "ArnEquals": lambda want, got: want == got,
    "ArnLike": lambda want, got: _glob(want, got, False),
    "ArnNotEquals": lambda want, got: want != got,
    "ArnNotLike": lambda want, got: not _glob(want, got, False),
    "Bool": lambda want, got: str(want).lower() == str(got).lower(),
}


def _conditions_hold(conditions, context):
    """Every operator, every key: one of the policy's values matches the request's (for the
    negated operators, none does). A key the request lacks fails the test, except for
    ...IfExists and negated operators, as IAM evaluates them."""
    lowered = {k.lower(): v for k, v in context.items()}
    for op, tests in (conditions or {}).items():
        if_exists = op.endswith("IfExists")
        base = op[: -len("IfExists")] if if_exists else op
        check = _STRING_OPS.get(base)
        if check is None:
            return False  # an operator this emulator does not know: fail closed
        negated = "Not" in base
        for key, wanted in tests.items():
            got = lowered.get(key.lower())
            if got is None:
                if if_exists or negated:
                    continue
                return False
            wanted = [str(w) for w in _list(wanted)]
            if negated:
                if not all(check(w, str(got)) for w in wanted):
                    return False
            elif not any(check(w, str(got)) for w in wanted):
                return False
    return True


def _principal_matches(statement, principal):
    """A trust statement's Principal (or NotPrincipal) against `{"Service": ...}` and the like."""
    if "Principal" not in statement:
        return False
    p = statement["Principal"]
    if p == "*":
        return True
    for kind, value in principal.items():
        if any(_glob(v, value, False) for v in _list(p.get(kind))):
            return True
    return False


def evaluate(documents, action, resource, context=None, principal=None):
    """'Allow', 'ExplicitDeny' or 'ImplicitDeny' for `action` on `resource` under the policy
    `documents` (JSON text or dicts). With `principal`, the documents are trust policies."""
    context = context or {}
    allowed = False
    for doc in documents:
        if isinstance(doc, str):
            doc = json.loads(unquote(doc) if doc.startswith("%7B") else doc)
        for st in _list(doc.get("Statement")):
            if principal is not None and not _principal_matches(st, principal):
                continue
            if not _matches(st, "Action", action, True):
                continue
            if principal is None and not _matches(st, "Resource", resource, False):
                continue
            if not _conditions_hold(st.get("Condition"), context):
                continue
            if st.get("Effect") == "Deny":
                return "ExplicitDeny"
            if st.get("Effect") == "Allow":
                allowed = True
    return "Allow" if allowed else "ImplicitDeny"


def _iam(account, arn_or_partition="aws"):
    from moto.iam.models import iam_backends

    partition = arn_or_partition.split(":")[1] if ":" in arn_or_partition else arn_or_partition
    return iam_backends[account][partition]


def role_by_arn(account, role_arn):
    try:
        return _iam(account, role_arn).get_role_by_arn(role_arn)
    except Exception:
        return None


def role_documents(role):
    """The identity policies of a moto role: inline ones, then each attached managed policy's
    default version."""
    docs = list(role.policies.values())
    for policy in role.managed_policies.values():
        for version in policy.versions:
            if version.is_default_version:
                docs.append(version.document)
    return docs


# IAM is eventually consistent: with `policy_propagation_s`, a role's permissions are those it
# had before its last policy change until that change is that many seconds old.
POLICY_HISTORY = {}  # (account, role name) -> (time of the last change, documents before it)
_POLICY_OPS = {"PutRolePolicy", "DeleteRolePolicy", "AttachRolePolicy", "DetachRolePolicy"}


def remember_policy_change(call, params):
    """Called before moto applies an IAM call that changes a role's permissions."""
    if call.op not in _POLICY_OPS:
        return
    name = params.get("RoleName")
    try:
        role = _iam(call.account).get_role(name)
    except Exception:
        return
    POLICY_HISTORY[(call.account, name)] = (time.time(), role_documents(role))


def effective_documents(account, role, propagation_s):
    docs = role_documents(role)
    changed = POLICY_HISTORY.get((account, role.name))
    if propagation_s and changed and time.time() - changed[0] < propagation_s:
        return changed[1]
    return docs


def denied_message(principal_arn, action, resource):
    """The text AWS services put in an AccessDeniedException."""
    return (f"User: {principal_arn} is not authorized to perform: {action} on resource: "
            f"{resource} because no identity-based policy allows the {action} action")


# ---------------------------------------------------------------------------------------
# IAM's size quotas ("IAM and AWS STS quotas", IAM User Guide)
# ---------------------------------------------------------------------------------------

INLINE_LIMIT = 10_240  # all inline policies of a role together, white space not counted
MANAGED_LIMIT = 6_144  # one managed policy


def _size(text):
    return sum(1 for c in text if not c.isspace())


def check_policy_size(call, params):
    """LimitExceeded (409) for a PutRolePolicy that would take a role's inline policies past
    10,240 characters, or a managed policy (version) of more than 6,144. None when fine."""
    if call.op == "PutRolePolicy":
        try:
            role = _iam(call.account).get_role(params.get("RoleName"))
        except Exception:
            return None
        others = sum(_size(d) for n, d in role.policies.items() if n != params.get("PolicyName"))
        total = others + _size(params.get("PolicyDocument", ""))
        if total > INLINE_LIMIT:
            return ("LimitExceeded", f"Maximum policy size of {INLINE_LIMIT} bytes exceeded for "
                                     f"role {params.get('RoleName')}")
    if call.op in ("CreatePolicy", "CreatePolicyVersion"):
        if _size(params.get("PolicyDocument", "")) > MANAGED_LIMIT:
            return ("LimitExceeded", f"Cannot exceed quota for PolicySize: {MANAGED_LIMIT}")
    return None


# ---------------------------------------------------------------------------------------
# Trust: AgentCore assuming a role
# ---------------------------------------------------------------------------------------

SERVICE = "bedrock-agentcore.amazonaws.com"


def check_trust(account, region, role_arn, source_arn):
    """None when AgentCore (on behalf of `source_arn`) may assume the role, else why not."""
    role = role_by_arn(account, role_arn)
    if role is None:
        return None  # moto doesn't check unknown roles, and neither do we
    context = {"aws:SourceAccount": account, "aws:SourceArn": source_arn}
    decision = evaluate([role.assume_role_policy_document], "sts:AssumeRole", "*", context,
                        principal={"Service": SERVICE})
    if decision == "Allow":
        return None
    return (f"Role validation failed for role arn {role_arn}. The role's trust policy does not "
            f"let {SERVICE} assume it for {source_arn} (aws:SourceAccount {account}).")


# ---------------------------------------------------------------------------------------
# AgentCore Gateway listing a target's tools as its role
# ---------------------------------------------------------------------------------------


def _agentcore(account, region):
    from moto.bedrockagentcorecontrol.models import bedrockagentcorecontrol_backends

    return bedrockagentcorecontrol_backends[account][region]


def _arn(region, account, resource):
    return f"arn:aws:bedrock-agentcore:{region}:{account}:{resource}"


def runtime_of_endpoint(account, region, endpoint):
    """The moto runtime a target's endpoint URL invokes, or None (not a runtime URL)."""
    m = re.search(r"/runtimes/([^/]+)/invocations", endpoint or "")
    if not m:
        return None
    arn = unquote(m.group(1))
    for r in _agentcore(account, region).agent_runtimes.values():
        if r.agent_runtime_arn == arn:
            return r
    return None


def default_endpoint_status(account, region, runtime):
    ep = _agentcore(account, region).agent_runtime_endpoints.get((runtime.agent_runtime_id, "DEFAULT"))
    return ep.status if ep is not None else None


def check_target(account, region, gateway, target, providers, propagation_s, discovery, mint):
    """None when AgentCore Gateway can list the target's tools, else the reason it ends FAILED.
    `providers` maps credential provider ARNs to the extension's provider records;
    `discovery(pool_id)` gives a pool's discovery document (None: unknown pool);
    `mint(client_id, secret, scopes)` gives (claims, error) for a client-credentials request."""
    role = role_by_arn(account, gateway.role_arn)
    if role is None:
        return f"Failed to assume the gateway's role {gateway.role_arn}"
    session = f"arn:aws:sts::{account}:assumed-role/{role.name}/gateway-session-{uuid.uuid4()}"
    docs = effective_documents(account, role, propagation_s)

    def allowed(action, resources):
        for r in resources:
            if evaluate(docs, action, r) != "Allow":
                return f"AccessDeniedException: {denied_message(session, action, r)}"
        return None

    endpoint = (((target.target_configuration or {}).get("mcp") or {}).get("mcpServer") or {}).get("endpoint")
    runtime = runtime_of_endpoint(account, region, endpoint)
    if runtime is not None:
        status = default_endpoint_status(account, region, runtime)
        if status != "READY":
            return (f"Failed to connect to the MCP server at {endpoint}: its DEFAULT endpoint is "
                    f"{status or 'missing'}")
    for cfg in target.credential_provider_configurations or []:
        kind = cfg.get("credentialProviderType")
        if kind == "OAUTH":
            oauth = (cfg.get("credentialProvider") or {}).get("oauthCredentialProvider") or {}
            provider = providers.get(oauth.get("providerArn"))
            if provider is None:
                return f"Credential provider {oauth.get('providerArn')} not found"
            directory = _arn(region, account, "workload-identity-directory/default")
            identity = gateway.workload_identity_details["workloadIdentityArn"]
            why = (allowed("bedrock-agentcore:GetWorkloadAccessToken", [directory, identity])
                   or allowed("bedrock-agentcore:GetResourceOauth2Token",
                              [_arn(region, account, "token-vault/default"),
                               provider["credentialProviderArn"], directory, identity])
                   or allowed("secretsmanager:GetSecretValue", [provider["secretArn"]]))
            if why:
                return why
            config = next(iter(provider["config"].values())) or {}
            url = ((config.get("oauthDiscovery") or {}).get("discoveryUrl")) or ""
            m = re.search(r"/([\w-]+_[0-9a-zA-Z]+)/\.well-known/openid-configuration$", url)
            doc = discovery(m.group(1)) if m else None
            if doc is None:
                return f"Failed to fetch the OAuth discovery document {url}"
            if not doc.get("token_endpoint"):
                return (f"Failed to get an OAuth token: the discovery document {url} has no "
                        f"token_endpoint (a Cognito pool has one only once it has a domain)")
            claims, error = mint(config.get("clientId"), config.get("clientSecret"),
                                 oauth.get("scopes") or [])
            if error:
                return f"Failed to get an OAuth token from {doc['token_endpoint']}: {error}"
            why = check_runtime_accepts(runtime, claims)
            if why:
                return why
        elif kind == "GATEWAY_IAM_ROLE":
            if runtime is not None:
                arn = runtime.agent_runtime_arn
                why = allowed("bedrock-agentcore:InvokeAgentRuntime",
                              [arn, f"{arn}/runtime-endpoint/DEFAULT"])
                if why:
                    return why
                if runtime.authorizer_configuration:
                    return ("Failed to connect to the MCP server: the runtime expects a JWT and "
                            "the target signs with the gateway's IAM role")
    return None


def check_runtime_accepts(runtime, claims):
    """The runtime's customJWTAuthorizer against a token's claims: the issuer its discovery URL
    names, and a client it allows. None when accepted (or there is no such runtime)."""
    if runtime is None:
        return None
    jwt = (runtime.authorizer_configuration or {}).get("customJWTAuthorizer")
    if not jwt:
        return "Failed to connect to the MCP server: the runtime does not take OAuth tokens (AWS_IAM)"
    issuer = claims.get("iss", "")
    pool = issuer.rsplit("/", 1)[-1]
    if f"/{pool}/" not in jwt.get("discoveryUrl", ""):
        return (f"Failed to connect to the MCP server: 401 from the runtime (the token's issuer "
                f"{issuer} is not its authorizer's)")
    clients = jwt.get("allowedClients") or []
    if clients and claims.get("client_id") not in clients:
        return (f"Failed to connect to the MCP server: 401 from the runtime (client "
                f"{claims.get('client_id')} is not allowed)")
    return None


# ---------------------------------------------------------------------------------------
# The caller's permissions: which IAM actions on which resources each operation needs
# ---------------------------------------------------------------------------------------

_STAR_COGNITO = {"CreateUserPool", "ListUserPools", "DescribeUserPoolDomain"}
_STAR_AGENTCORE = {"CreateAgentRuntime", "ListAgentRuntimes", "CreateGateway", "ListGateways"}
_FREE = {"GetCallerIdentity"}  # sts:GetCallerIdentity needs no permission


def required(call, params, body):
    """[(action, resource, context)] that `call` needs, as AWS authorizes it; [] when none.
    `params` are a query/JSON request's parameters, `body` a restJson request's JSON body."""
    acct, region = call.account, call.region
    if call.op in _FREE:
        return []
    if call.service == "iam":
        role = params.get("RoleName")
        if call.op in ("CreatePolicy",):
            path = params.get("Path") or "/"
            return [(f"iam:{call.op}", f"arn:aws:iam::{acct}:policy{path}{params.get('PolicyName')}", {})]
        if "PolicyArn" in params and not role:
            return [(f"iam:{call.op}", params["PolicyArn"], {})]
        if call.op == "SimulatePrincipalPolicy":
            return [("iam:SimulatePrincipalPolicy", params.get("PolicySourceArn", "*"), {})]
        if role:
            return [(f"iam:{call.op}", f"arn:aws:iam::{acct}:role/{role}", {})]
        return [(f"iam:{call.op}", "*", {})]
    if call.service == "cognito-idp":
        if call.op in _STAR_COGNITO:
            return [(f"cognito-idp:{call.op}", "*", {})]
        if params.get("ResourceArn"):
            return [(f"cognito-idp:{call.op}", params["ResourceArn"], {})]
        pool = params.get("UserPoolId", "*")
        return [(f"cognito-idp:{call.op}", f"arn:aws:cognito-idp:{region}:{acct}:userpool/{pool}", {})]
    if call.service == "s3":
        return _s3_required(call)
    if call.service == "ecr":
        if call.op == "GetAuthorizationToken":
            return [("ecr:GetAuthorizationToken", "*", {})]
        repo = params.get("repositoryName", "*")
        return [(f"ecr:{call.op}", f"arn:aws:ecr:{region}:{acct}:repository/{repo}", {})]
    if call.service == "bedrock-agentcore":
        return _agentcore_required(call, body or {})
    if call.service == "logs":
        # Service Authorization Reference, Amazon CloudWatch Logs: FilterLogEvents and
        # DeleteLogGroup act on the log group; DescribeLogGroups lists the account's.
        group = (body or {}).get("logGroupName") or params.get("logGroupName")
        if call.op == "DescribeLogGroups" or not group:
            return [(f"logs:{call.op}", f"arn:aws:logs:{region}:{acct}:log-group:*", {})]
        return [(f"logs:{call.op}", f"arn:aws:logs:{region}:{acct}:log-group:{group}", {})]
    return []


def _s3_required(call):
    parts = call.path.lstrip("/").split("/", 1)
    bucket, key = parts[0], (parts[1] if len(parts) > 1 else "")
    query = call.query or ""
    if key:
        action = {"PUT": "s3:PutObject", "DELETE": "s3:DeleteObject"}.get(call.method, "s3:GetObject")
        return [(action, f"arn:aws:s3:::{bucket}/{key}", {})]
    if "tagging" in query:
        action = "s3:PutBucketTagging" if call.method == "PUT" else "s3:GetBucketTagging"
    elif "publicAccessBlock" in query:
        action = "s3:PutBucketPublicAccessBlock"
    elif "delete" in query and call.method == "POST":
        return [("s3:DeleteObject", f"arn:aws:s3:::{bucket}/*", {})]
    elif call.method == "PUT":
        action = "s3:CreateBucket"
    elif call.method == "DELETE":
        action = "s3:DeleteBucket"
    else:
        action = "s3:ListBucket"  # HEAD bucket, ListObjectsV2
    return [(action, f"arn:aws:s3:::{bucket}", {})]


def _agentcore_required(call, body):
    acct, region, op, p = call.account, call.region, call.op, call.params
    action = f"bedrock-agentcore:{op}"
    if op in _STAR_AGENTCORE:
        needs = [(action, "*", {})]
        if op in ("CreateAgentRuntime", "CreateGateway") and body.get("roleArn"):
            needs.append(("iam:PassRole", body["roleArn"], {"iam:PassedToService": SERVICE}))
        return needs + _code_read(body)
    if "agentRuntimeId" in p:
        arn = _runtime_arn(acct, region, p["agentRuntimeId"])
        if "endpointName" in p:
            return [(action, f"{arn}/runtime-endpoint/{p['endpointName']}", {})]
        needs = [(action, arn, {})]
        if op == "UpdateAgentRuntime" and body.get("roleArn"):
            needs.append(("iam:PassRole", body["roleArn"], {"iam:PassedToService": SERVICE}))
        return needs + _code_read(body)
    if "gatewayIdentifier" in p:
        needs = [(action, _gateway_arn(acct, region, p["gatewayIdentifier"]), {})]
        if op == "UpdateGateway" and body.get("roleArn"):
            needs.append(("iam:PassRole", body["roleArn"], {"iam:PassedToService": SERVICE}))
        return needs
    if "resourceArn" in p:
        return [(action, unquote(p["resourceArn"]), {})]
    if "Oauth2CredentialProvider" in op:
        vault = _arn(region, acct, "token-vault/default")
        if op.startswith("List"):
            return [(action, vault, {})]
        name = body.get("name", "")
        secret = f"arn:aws:secretsmanager:{region}:{acct}:secret:bedrock-agentcore-identity!default/oauth2/{name}-abcdef"
        needs = [(action, vault, {}), (action, f"{vault}/oauth2credentialprovider/{name}", {})]
        if op.startswith("Create"):
            needs.append(("secretsmanager:CreateSecret", secret, {}))
        elif op.startswith("Update"):
            needs.append(("secretsmanager:PutSecretValue", secret, {}))
        elif op.startswith("Delete"):
            needs.append(("secretsmanager:DeleteSecret", secret, {}))
        return needs
    return [(action, "*", {})]


def _code_read(body):
    """AgentCore reads a runtime's code object from S3 as the caller of Create/UpdateAgentRuntime."""
    code = (((body.get("agentRuntimeArtifact") or {}).get("codeConfiguration") or {}).get("code") or {}).get("s3")
    if not code:
        return []
    return [("s3:GetObject", f"arn:aws:s3:::{code.get('bucket')}/{code.get('prefix')}", {})]


def _runtime_arn(acct, region, runtime_id):
    return _arn(region, acct, f"runtime/{runtime_id}")


def _gateway_arn(acct, region, gateway_id):
    return _arn(region, acct, f"gateway/{gateway_id}")


def caller_denial(call, params, body, policy):
    """(action, resource) of the first thing `policy` does not allow `call`, or None."""
    for action, resource, context in required(call, params, body):
        if evaluate([policy], action, resource, context) != "Allow":
            return action, resource
    return None
