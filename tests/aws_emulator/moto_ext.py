"""Test-only wrapper around moto's server app (moto[server]==5.2.5): the small extension
mcpkit's tests add for what moto lacks. Code under test reaches it only through the normal
endpoint settings (AWS_ENDPOINT_URL, discovery URLs). README.md next to this file explains
why each piece exists and what every fault setting means.

Endpoints added (everything else goes to moto unchanged):
  GET  /{pool}/.well-known/openid-configuration  -> moto's document plus `token_endpoint`
  POST /oauth2/token, /{pool}/oauth2/token       -> Cognito-like client_credentials token endpoint
                                                    (signed with moto's own Cognito key, so moto's
                                                    /{pool}/.well-known/jwks.json verifies it)
  GET  /test-ext/ping                -> {"ok": true}
  GET  /test-ext/faults              -> fault settings plus read-only counters (see Faults)
  POST /test-ext/faults              -> merge settings (unknown keys: 400); re-seeds the random
                                        source, zeroes the counters and releases a halt
  POST /test-ext/release             -> release a halt (see `halt_after_mutating`)
  GET  /test-ext/calls               -> the call log: every SigV4-signed AWS request
  DELETE /test-ext/calls             -> clear the call log
  GET  /test-ext/inventory[?account=] -> what exists in moto (and here), all regions
  POST /moto-api/reset               -> moto's reset, plus the extension's own state
                                        (credential providers, call log, faults to defaults)

AWS operations added (bedrock-agentcore-control, restJson1, shapes from the botocore model):
  Create/Get/Update/Delete/ListOauth2CredentialProvider(s)   (POST /identities/...)
  SynchronizeGatewayTargets   (PUT /gateways/{gatewayIdentifier}/synchronizeTargets)

Fault injection (decided before moto sees the request, so an injected fault has no side
effect): throttling, 5xx, latency, IAM role propagation delay, and a "halt" after the k-th
mutating request for crash tests.

Also patched in moto: UPDATING -> READY for AgentCore resources (moto only models CREATING ->
READY), GetGatewayTarget returns `lastSynchronizedAt` once a target was synchronized,
Cognito's Update/DeleteResourceServer exist (moto answers them with a 500 page), and Cognito's
UpdateUserPoolClient resets an omitted access-token lifetime to its default.

Usage: python moto_ext.py [--host 127.0.0.1] [--port 5000]
"""

import argparse
import base64
import datetime
import functools
import hashlib
import io
import json
import os
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs

from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

import agentcore_rules as rules
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

DEFAULT_ACCOUNT = "123456789012"  # moto's default when nothing else names an account
_LOCK = threading.Lock()  # guards every piece of extension state below


# ---------------------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------------------

def _json(status, body, headers=None):
    return Response(json.dumps(body, default=_iso), status=status, headers=headers or {},
                    content_type="application/json")


def _iso(value):
    """JSON encoding of moto's naive-UTC datetimes, in the form moto itself emits."""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    raise TypeError(f"not JSON serialisable: {value!r}")


def _aws_json_error(status, code, message, **extra):
    """restJson1 / awsJson error: SDKs (botocore, aws-sdk-rust) read x-amzn-ErrorType and/or
    __type."""
    return _json(status, {"__type": code, "message": message, **extra},
                 {"x-amzn-ErrorType": code, "x-amzn-RequestId": str(uuid.uuid4())})


def _validation_error(message, field=None):
    """AgentCore's ValidationException (the model requires `reason`)."""
    extra = {"reason": "FieldValidationFailed"}
    if field:
        extra["fieldList"] = [{"name": field, "message": message}]
    return _aws_json_error(400, "ValidationException", message, **extra)


def _not_found(message):
    return _aws_json_error(404, "ResourceNotFoundException", message)


def _query_error(status, code, message, sender=True):
    """IAM / STS (awsQuery): <ErrorResponse> XML."""
    kind = "Sender" if sender else "Receiver"
    xml = (f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code>"
           f"<Message>{message}</Message></Error><RequestId>{uuid.uuid4()}</RequestId>"
           f"</ErrorResponse>")
    return Response(xml, status=status, content_type="text/xml")


def _s3_error(status, code, message):
    xml = (f"<Error><Code>{code}</Code><Message>{message}</Message>"
           f"<RequestId>{uuid.uuid4()}</RequestId></Error>")
    return Response(xml, status=status, content_type="application/xml")


_QUERY_SERVICES = {"iam", "sts"}
# 5xx error codes of the JSON services mcpkit uses, as their models name them.
_JSON_5XX_CODE = {"cognito-idp": "InternalErrorException", "ecr": "ServerException"}


def _server_error(service, status=500):
    """An injected 5xx in the protocol of `service` (503 when a halt is released)."""
    msg = "Internal error (injected by test-ext)"
    if status == 503:
        msg = "Service unavailable: released from a test-ext halt"
        if service == "s3":
            return _s3_error(503, "ServiceUnavailable", msg)
        if service in _QUERY_SERVICES:
            return _query_error(503, "ServiceUnavailable", msg, sender=False)
        return _aws_json_error(503, "ServiceUnavailableException", msg)
    if service == "s3":
        return _s3_error(500, "InternalError", msg)
    if service in _QUERY_SERVICES:
        return _query_error(500, "ServiceFailure", msg, sender=False)
    return _aws_json_error(500, _JSON_5XX_CODE.get(service, "InternalServerException"), msg)


def _throttle_response(service, status, code):
    msg = "Rate exceeded (injected by test-ext)"
    if service == "s3":
        return _s3_error(503, "SlowDown", msg)
    if service in _QUERY_SERVICES:
        return _query_error(400, "Throttling", msg)
    return _aws_json_error(status, code, msg)


@dataclass
class Captured:
    """A WSGI response held in memory, so it can be logged (and held back) before sending."""

    status_line: str
    headers: list
    body: bytes

    @property
    def status(self):
        return int(self.status_line.split()[0])


def _call(app, environ):
    """Runs a WSGI app (moto, or a werkzeug Response) and captures its response."""
    captured, chunks = {}, []

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers
        return chunks.append

    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        getattr(result, "close", lambda: None)()
    return Captured(captured["status"], captured["headers"], b"".join(chunks))


# ---------------------------------------------------------------------------------------
# Which AWS call is this?
# ---------------------------------------------------------------------------------------

@functools.cache
def _model(service_name):
    """The botocore model in the venv: the one moto routes and serialises with."""
    import botocore.session

    return botocore.session.get_session().get_service_model(service_name)


class RestRouter:
    """Names restJson operations from method + raw path, using the botocore models of the
    AgentCore control and data planes (control first; their routes don't collide)."""

    def __init__(self, *service_names):
        self.routes = []  # (literal length, method, compiled regex, operation name)
        for name in service_names:
            model = _model(name)
            for op in model.operation_names:
                http = model.operation_model(op).http
                uri = http["requestUri"].split("?")[0].rstrip("/")
                regex, literal = "", 0
                for part in re.split(r"(\{[^}]+\})", uri):
                    if part.startswith("{"):
                        label = re.sub(r"\W", "_", part.strip("{}+"))
                        any_chars = ".+" if part.endswith("+}") else "[^/]+"
                        regex += f"(?P<{label}>{any_chars})"
                    else:
                        regex += re.escape(part)
                        literal += len(part)
                self.routes.append((literal, http["method"], re.compile(f"^{regex}/?$"), op))
        self.routes.sort(key=lambda r: -r[0])  # the most specific route wins

    def match(self, method, raw_path):
        for _literal, route_method, regex, op in self.routes:
            if route_method == method:
                m = regex.match(raw_path)
                if m:
                    return op, m.groupdict()
        return None, {}


_ROUTER = None  # built in make_app (loading the models takes a moment)
_CRED_SCOPE = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_READ_PREFIXES = ("Get", "List", "Describe", "Head", "BatchGet", "Simulate", "Filter")
# Operations whose JSON body the extension reads (role propagation check or its own ops).
_ROLE_CHECKED_OPS = {"CreateAgentRuntime", "UpdateAgentRuntime", "CreateGateway", "UpdateGateway"}


@dataclass
class AwsCall:
    service: str  # SigV4 signing name
    region: str  # from the credential scope
    account: str
    method: str
    path: str  # PATH_INFO (decoded)
    op: str  # operation name, or "METHOD /path" when it can't be named
    mutating: bool
    params: dict  # URI labels of restJson operations
    body: bytes | None  # read only when the extension needs it
    access_key: str = ""
    query: str = ""

    def json_body(self):
        try:
            body = json.loads(self.body or b"{}")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def form(self):
        """The parameters of an awsQuery (IAM) or awsJson (Cognito, ECR) request."""
        if self.service in _QUERY_SERVICES:
            q = parse_qs(self.query)
            q.update(parse_qs((self.body or b"").decode("utf-8", "replace")))
            return {k: v[0] for k, v in q.items()}
        return self.json_body() or {}

    def log_entry(self, status, fault=None):
        return {"service": self.service, "region": self.region, "method": self.method,
                "path": self.path, "op": self.op, "mutating": self.mutating,
                "status": status, "fault": fault}


def _read_body(environ):
    """Reads the request body and puts it back for moto."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ["wsgi.input"]
    if length:
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    return body


def _account(environ, access_key):
    """The account moto will use for this request (same precedence as moto)."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return environ["HTTP_X_MOTO_ACCOUNT_ID"]
    from moto.iam.models import get_account_id_from

    return get_account_id_from(access_key)


def classify(environ):
    """Describes a SigV4-signed request; None for anything else (discovery, moto-api, ...)."""
    m = _CRED_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not m:
        return None
    access_key, region, service = m.groups()
    method = environ["REQUEST_METHOD"]
    path = environ.get("PATH_INFO", "")
    op, params, body = None, {}, None
    if environ.get("HTTP_X_AMZ_TARGET"):  # awsJson: Cognito, ECR, ...
        op = environ["HTTP_X_AMZ_TARGET"].rsplit(".", 1)[-1]
        body = _read_body(environ)
    elif service in _QUERY_SERVICES:  # awsQuery: Action in the query string or the form
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if method == "POST":
            body = _read_body(environ)
            query.update(parse_qs(body.decode("utf-8", "replace")))
        op = (query.get("Action") or [None])[0]
    elif service == "bedrock-agentcore" and _ROUTER is not None:
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or path
        op, params = _ROUTER.match(method, raw.split("?")[0])
        body = _read_body(environ)
    if op is not None:
        mutating = not op.startswith(_READ_PREFIXES)
    else:
        op = f"{method} {path}"
        mutating = method not in ("GET", "HEAD")
    return AwsCall(service, region, _account(environ, access_key), method, path, op, mutating,
                   params, body, access_key, environ.get("QUERY_STRING", ""))


# ---------------------------------------------------------------------------------------
# Faults and the call log
# ---------------------------------------------------------------------------------------

class Faults:
    """Fault settings, their random source and the halt state. Settings (POST merges):

    throttle_rate   fraction of matching requests answered with a throttling error
    status, code    HTTP status / error code of that error for JSON services
                    (400 ThrottlingException; AgentCore's model says 429)
    error_rate      fraction of matching requests answered with a 500
    latency_ms      added to every matching request
    services        SigV4 signing names that match, e.g. ["bedrock-agentcore"]; [] = all
    path_regex      optional regex on the path that matching requests must contain
    seed            seed of the random source (re-seeded on every POST)
    role_propagation_s   Create/UpdateAgentRuntime and Create/UpdateGateway fail while their
                    roleArn names a moto IAM role younger than this (not filtered by services)
    halt_after_mutating  k: hold the response to the k-th mutating request from now, and
                    block every later AWS request, until released; null = off
    duplicate_provider_error  "ConflictException" (409) or "ValidationException" (400) for
                    CreateOauth2CredentialProvider with a name that exists
    """

    DEFAULTS = {
        "throttle_rate": 0.0,
        "status": 400,
        "code": "ThrottlingException",
        "error_rate": 0.0,
        "latency_ms": 0,
        "services": [],
        "path_regex": None,
        "seed": 0,
        "role_propagation_s": 0,
        "halt_after_mutating": None,
        "duplicate_provider_error": "ConflictException",
        "caller_policy": {},
        "policy_propagation_s": 0,
        "endpoint_lag_s": 0,
        "simulator": True,
        "gateway_checks": True,
    }
    READ_ONLY = ("injected", "mutating_seen", "halted")

    def __init__(self):
        self.settings = dict(self.DEFAULTS)
        self.rng = random.Random(self.settings["seed"])
        self.injected = 0
        self.mutating_seen = 0
        self.halt = None  # None, "halting" (k-th request in moto) or "halted" (response held)
        self.release_event = threading.Event()

    # All methods below expect _LOCK to be held.

    def snapshot(self):
        return {**self.settings, "injected": self.injected,
                "mutating_seen": self.mutating_seen, "halted": self.halt == "halted"}

    def update(self, changes):
        """Merges settings; returns an error message or None."""
        if not isinstance(changes, dict):
            return "expected a JSON object"
        unknown = set(changes) - set(self.DEFAULTS) - set(self.READ_ONLY)
        if unknown:
            return f"unknown setting(s): {', '.join(sorted(unknown))}"
        k = changes.get("halt_after_mutating")
        if k is not None and (not isinstance(k, int) or k < 1):
            return "halt_after_mutating must be a positive integer or null"
        if not isinstance(changes.get("caller_policy", {}), dict):
            return "caller_policy maps access key ids to policy documents"
        if changes.get("duplicate_provider_error", "ConflictException") not in (
                "ConflictException", "ValidationException"):
            return "duplicate_provider_error must be ConflictException or ValidationException"
        self.settings.update({k: v for k, v in changes.items() if k in self.DEFAULTS})
        self.rng = random.Random(self.settings["seed"])
        self.injected = 0
        self.mutating_seen = 0
        self.release()
        return None

    def reset(self):
        self.update(dict(self.DEFAULTS))

    def release(self):
        self.halt = None
        self.release_event.set()
        self.release_event = threading.Event()

    def matches(self, call):
        s = self.settings
        return (not s["services"] or call.service in s["services"]) and (
            not s["path_regex"] or re.search(s["path_regex"], call.path))

    def draw(self, call):
        """One random draw per matching request: 'throttle', 'error' or None."""
        if not self.matches(call):
            return None
        r = self.rng.random()
        if r < self.settings["throttle_rate"]:
            return "throttle"
        if r < self.settings["throttle_rate"] + self.settings["error_rate"]:
            return "error"
        return None

    def admit(self, call):
        """'go', 'halting' (this request is the k-th mutating one) or an Event to wait on."""
        if self.halt is not None:
            return self.release_event
        if call.mutating:
            self.mutating_seen += 1
            if self.mutating_seen == self.settings["halt_after_mutating"]:
                self.halt = "halting"
                return "halting"
        return "go"


FAULTS = Faults()
CALLS = []  # the call log (AwsCall.log_entry dicts)


def _young_role_error(call):
    """The real service's answer while a new role hasn't propagated, when
    `role_propagation_s` says the role named by `roleArn` is too young."""
    limit = FAULTS.settings["role_propagation_s"]
    role_arn = (call.json_body() or {}).get("roleArn")
    if not limit or call.op not in _ROLE_CHECKED_OPS or not isinstance(role_arn, str):
        return None
    from moto.core.utils import utcnow

    role = rules.role_by_arn(call.account, role_arn)
    if role is None:  # unknown role or partition: moto doesn't check roles, neither do we
        return None
    age = (utcnow() - role.create_date).total_seconds()
    if age >= limit:
        return None
    return _validation_error(
        f"Role validation failed for role arn {role_arn}. (injected by test-ext: the role "
        f"is {age:.1f}s old, role_propagation_s={limit})", "roleArn")


# ---------------------------------------------------------------------------------------
# OAuth2 credential providers (AgentCore Identity; moto has no identity operations)
# ---------------------------------------------------------------------------------------

PROVIDERS = {}  # (account, region) -> {name: provider dict}
_NAME = re.compile(r"[a-zA-Z0-9\-_]+")
# DiscoveryUrlType's pattern in the model
_DISCOVERY_URL = re.compile(
    r"[^\s?#]+/\.well-known/(openid-configuration|oauth-authorization-server)(/[^\s?#]+)?")
# Which member of the Oauth2ProviderConfigInput union each vendor uses; the rest use
# includedOauth2ProviderConfig.
_VENDOR_CONFIG = {
    "CustomOauth2": "customOauth2ProviderConfig",
    "GoogleOauth2": "googleOauth2ProviderConfig",
    "GithubOauth2": "githubOauth2ProviderConfig",
    "SlackOauth2": "slackOauth2ProviderConfig",
    "SalesforceOauth2": "salesforceOauth2ProviderConfig",
    "MicrosoftOauth2": "microsoftOauth2ProviderConfig",
    "AtlassianOauth2": "atlassianOauth2ProviderConfig",
    "LinkedinOauth2": "linkedinOauth2ProviderConfig",
}


def _shape(name):
    return _model("bedrock-agentcore-control").shape_for(name)


def _pattern_error(value, field, pattern):
    return _validation_error(
        f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {pattern}", field)


def _check_name(body):
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 128 or not _NAME.fullmatch(name):
        return None, _pattern_error(name, "name", _NAME.pattern)
    return name, None


def _check_provider_input(body):
    """Validates a Create/Update body; returns a ValidationException response or None."""
    vendor = body.get("credentialProviderVendor")
    if vendor not in _shape("CredentialProviderVendorType").enum:
        return _validation_error(f"Invalid credentialProviderVendor: {vendor}",
                                 "credentialProviderVendor")
    config = body.get("oauth2ProviderConfigInput")
    if not isinstance(config, dict) or len(config) != 1:
        return _validation_error("oauth2ProviderConfigInput must set exactly one member",
                                 "oauth2ProviderConfigInput")
    key = next(iter(config))
    expected = _VENDOR_CONFIG.get(vendor, "includedOauth2ProviderConfig")
    if key != expected:
        return _validation_error(f"{vendor} requires {expected}, got {key}",
                                 "oauth2ProviderConfigInput")
    if key == "customOauth2ProviderConfig":
        discovery = (config[key] or {}).get("oauthDiscovery")
        if not isinstance(discovery, dict) or len(discovery) != 1:
            return _validation_error(
                "oauthDiscovery must set exactly one of discoveryUrl, "
                "authorizationServerMetadata",
                "oauth2ProviderConfigInput.customOauth2ProviderConfig.oauthDiscovery")
        url = discovery.get("discoveryUrl")
        if "discoveryUrl" in discovery and not (
                isinstance(url, str) and _DISCOVERY_URL.fullmatch(url)):
            return _pattern_error(
                url, "oauth2ProviderConfigInput.customOauth2ProviderConfig.oauthDiscovery"
                ".discoveryUrl", _DISCOVERY_URL.pattern)
    tags = body.get("tags", {})
    if not isinstance(tags, dict) or len(tags) > 50 or not all(
            isinstance(k, str) and 1 <= len(k) <= 128 and isinstance(v, str)
            for k, v in tags.items()):
        return _validation_error("tags must map at most 50 keys (1-128 chars) to strings",
                                 "tags")
    return None


def _config_output(vendor, config_input):
    """Oauth2ProviderConfigOutput: the input members the output shape has (never the
    client secret), plus the `oauthDiscovery` every output member requires."""
    key, cfg = next(iter(config_input.items()))
    allowed = _shape("Oauth2ProviderConfigOutput").members[key].members
    out = {k: v for k, v in (cfg or {}).items() if k in allowed and k != "clientSecret"}
    if "oauthDiscovery" not in out:
        endpoints = ("issuer", "authorizationEndpoint", "tokenEndpoint")
        if all((cfg or {}).get(k) for k in endpoints):
            out["oauthDiscovery"] = {"authorizationServerMetadata": {k: cfg[k] for k in endpoints}}
        else:  # what a built-in vendor resolves to isn't emulated: a visible placeholder
            out["oauthDiscovery"] = {"discoveryUrl": f"https://{vendor.lower()}.test-ext.invalid"
                                                     "/.well-known/openid-configuration"}
    return {key: out}


def _provider_view(p, full=True):
    summary = {k: p[k] for k in ("name", "credentialProviderVendor", "credentialProviderArn",
                                 "createdTime", "lastUpdatedTime")}
    if not full:
        return summary
    return {**summary,
            "clientSecretArn": {"secretArn": p["secretArn"]},
            "clientSecretSource": "MANAGED",
            "callbackUrl": p["callbackUrl"],
            "oauth2ProviderConfigOutput": _config_output(p["credentialProviderVendor"],
                                                         p["config"]),
            "status": "READY"}


def _secret_of(config_input):
    return (next(iter(config_input.values())) or {}).get("clientSecret")


def _agentcore_tagger(call):
    from moto.bedrockagentcorecontrol.models import bedrockagentcorecontrol_backends

    return bedrockagentcorecontrol_backends[call.account][call.region].tagger


def create_oauth2_credential_provider(call):
    body = call.json_body()
    if body is None:
        return _validation_error("The request body is not a JSON object")
    name, error = _check_name(body)
    error = error or _check_provider_input(body)
    if error:
        return error
    store = PROVIDERS.setdefault((call.account, call.region), {})
    if name in store:
        code = FAULTS.settings["duplicate_provider_error"]
        message = f"Credential provider with name: {name} already exists"
        if code == "ValidationException":
            return _validation_error(message, "name")
        return _aws_json_error(409, "ConflictException", message)
    now = time.time()
    suffix = uuid.uuid4().hex[:6]
    secret = _secret_of(body["oauth2ProviderConfigInput"])
    store[name] = p = {
        "name": name,
        "credentialProviderVendor": body["credentialProviderVendor"],
        "credentialProviderArn": f"arn:aws:bedrock-agentcore:{call.region}:{call.account}:"
                                 f"token-vault/default/oauth2credentialprovider/{name}",
        "secretArn": f"arn:aws:secretsmanager:{call.region}:{call.account}:secret:"
                     f"bedrock-agentcore-identity!default/oauth2/{name}-{suffix}",
        "callbackUrl": f"https://bedrock-agentcore.{call.region}.amazonaws.com/identities/"
                       f"oauth2/callback/{uuid.uuid4()}",
        "config": body["oauth2ProviderConfigInput"],
        "secretSha256": hashlib.sha256(secret.encode()).hexdigest() if secret else None,
        "createdTime": now,
        "lastUpdatedTime": now,
    }
    if body.get("tags"):
        _agentcore_tagger(call).tag_resource(
            p["credentialProviderArn"], [{"Key": k, "Value": v} for k, v in body["tags"].items()])
    # AgentCore keeps the client secret in a Secrets Manager secret of its own (the token vault),
    # `bedrock-agentcore-identity!default/oauth2/{name}`, and deletes it with the provider.
    secret_arn = _vault_secrets(call).create_secret(
        name=_vault_secret_name(name), secret_string=secret or "", secret_binary=None,
        description=f"AgentCore Identity OAuth2 client secret of {name}", tags=None,
        kms_key_id=None, client_request_token=None, replica_regions=[], force_overwrite=False)
    p["secretArn"] = json.loads(secret_arn)["ARN"]
    # The service answers while the provider (and its secret) is still being made; Get
    # reports READY from then on.
    return _json(201, {**_provider_view(p), "status": "CREATING"})


def _vault_secret_name(provider):
    """The token-vault secret AgentCore makes for a provider's client secret (starter toolkit
    `identity/helpers.py`; docs/research/operating.md)."""
    return f"bedrock-agentcore-identity!default/oauth2/{provider}"


def _vault_secrets(call):
    from moto.secretsmanager.models import secretsmanager_backends

    return secretsmanager_backends[call.account][call.region]


def _existing_provider(call):
    """(body, provider, error response)."""
    body = call.json_body()
    if body is None:
        return None, None, _validation_error("The request body is not a JSON object")
    name, error = _check_name(body)
    if error:
        return body, None, error
    p = PROVIDERS.get((call.account, call.region), {}).get(name)
    if p is None:
        return body, None, _not_found(f"Credential provider with name: {name} not found")
    return body, p, None


def get_oauth2_credential_provider(call):
    _body, p, error = _existing_provider(call)
    return error or _json(200, _provider_view(p))


def update_oauth2_credential_provider(call):
    body, p, error = _existing_provider(call)
    error = error or _check_provider_input(body)
    if error:
        return error
    secret = _secret_of(body["oauth2ProviderConfigInput"])
    p.update(credentialProviderVendor=body["credentialProviderVendor"],
             config=body["oauth2ProviderConfigInput"], lastUpdatedTime=time.time())
    if secret:
        p["secretSha256"] = hashlib.sha256(secret.encode()).hexdigest()
    return _json(200, _provider_view(p))


def delete_oauth2_credential_provider(call):
    _body, p, error = _existing_provider(call)
    if error:
        return error
    del PROVIDERS[(call.account, call.region)][p["name"]]
    _agentcore_tagger(call).delete_all_tags_for_resource(p["credentialProviderArn"])
    vault = _vault_secrets(call)
    if _vault_secret_name(p["name"]) in vault.secrets:
        vault.delete_secret(_vault_secret_name(p["name"]), None, True)
    return Response(status=204, headers={"x-amzn-RequestId": str(uuid.uuid4())})


def list_oauth2_credential_providers(call):
    body = call.json_body() or {}
    providers = list(PROVIDERS.get((call.account, call.region), {}).values())
    start = int(body.get("nextToken") or 0)
    size = body.get("maxResults") or len(providers)
    page = providers[start:start + size]
    result = {"credentialProviders": [_provider_view(p, full=False) for p in page]}
    if start + size < len(providers):
        result["nextToken"] = str(start + size)
    return _json(200, result)


# ---------------------------------------------------------------------------------------
# SynchronizeGatewayTargets (moto lacks it)
# ---------------------------------------------------------------------------------------

def synchronize_gateway_targets(call):
    from moto.bedrockagentcorecontrol.models import bedrockagentcorecontrol_backends
    from moto.core.utils import utcnow

    body = call.json_body()
    ids = (body or {}).get("targetIdList")
    if not isinstance(ids, list) or len(ids) != 1:
        return _validation_error("targetIdList must hold exactly one target id", "targetIdList")
    backend = bedrockagentcorecontrol_backends[call.account][call.region]
    gateway_id = call.params.get("gatewayIdentifier", "")
    if gateway_id not in backend.gateways:
        return _not_found(f"Could not find Gateway with ID {gateway_id}")
    target = backend.gateway_targets.get((gateway_id, ids[0]))
    if target is None:
        return _not_found(f"Could not find Target {ids[0]} for Gateway {gateway_id}")
    target.status = "READY"
    target.last_synchronized_at = utcnow()
    target.sync_count += 1
    return _json(202, {"targets": [target.to_dict()]})


# Operations the extension answers itself, by name (all bedrock-agentcore-control).
EXT_OPS = {
    "CreateOauth2CredentialProvider": create_oauth2_credential_provider,
    "GetOauth2CredentialProvider": get_oauth2_credential_provider,
    "UpdateOauth2CredentialProvider": update_oauth2_credential_provider,
    "DeleteOauth2CredentialProvider": delete_oauth2_credential_provider,
    "ListOauth2CredentialProviders": list_oauth2_credential_providers,
    "SynchronizeGatewayTargets": synchronize_gateway_targets,
}


# ---------------------------------------------------------------------------------------
# Inventory
# ---------------------------------------------------------------------------------------

def inventory(account):
    """What exists for `account`, all regions; `total` counts every listed resource (objects
    and image counts are details of their bucket / repository)."""
    from moto.bedrockagentcorecontrol.models import bedrockagentcorecontrol_backends
    from moto.cognitoidp.models import cognitoidp_backends
    from moto.ecr.models import ecr_backends
    from moto.iam.models import iam_backends
    from moto.s3.models import s3_backends

    def regions(backends):
        return sorted(backends[account].items()) if account in backends else []

    cognito = {"user_pools": [], "domains": [], "resource_servers": [], "clients": []}
    for region, b in regions(cognitoidp_backends):
        for domain, d in list(b.user_pool_domains.items()):
            cognito["domains"].append({"region": region, "domain": domain,
                                       "user_pool_id": d.user_pool_id})
        for pool in list(b.user_pools.values()):
            cognito["user_pools"].append({"region": region, "id": pool.id, "name": pool.name})
            for rs in list(pool.resource_servers.values()):
                cognito["resource_servers"].append(
                    {"region": region, "user_pool_id": pool.id, "identifier": rs.identifier,
                     "name": rs.name})
            for c in list(pool.clients.values()):
                cognito["clients"].append({"region": region, "user_pool_id": pool.id,
                                           "id": c.id, "name": c.extended_config.get("ClientName")})

    iam = {"roles": [], "policies": []}
    for _partition, b in regions(iam_backends):
        for role in list(b.roles.values()):
            iam["roles"].append({"name": role.name, "arn": role.arn,
                                 "inline_policies": sorted(role.policies),
                                 "attached_policies": sorted(role.managed_policies)})
        for arn, policy in list(b.managed_policies.items()):
            if ":iam::aws:policy" not in arn:  # customer-managed only
                iam["policies"].append({"name": policy.name, "arn": arn})

    s3 = {"buckets": []}
    for _partition, b in regions(s3_backends):
        for name, bucket in list(b.buckets.items()):
            s3["buckets"].append({"name": name, "region": bucket.region_name,
                                  "keys": sorted(bucket.keys.keys())})

    ecr = {"repositories": []}
    for region, b in regions(ecr_backends):
        for name, repo in list(b.repositories.items()):
            ecr["repositories"].append({"region": region, "name": name, "uri": repo.uri,
                                        "images": len(repo.images)})

    agentcore = {"runtimes": [], "runtime_endpoints": [], "gateways": [], "gateway_targets": [],
                 "memories": [], "credential_providers": []}
    for region, b in regions(bedrockagentcorecontrol_backends):
        for r in list(b.agent_runtimes.values()):
            agentcore["runtimes"].append(
                {"region": region, "id": r.agent_runtime_id, "name": r.agent_runtime_name,
                 "version": r.agent_runtime_version, "status": r.status})
        for (rid, name), _e in list(b.agent_runtime_endpoints.items()):
            agentcore["runtime_endpoints"].append(
                {"region": region, "runtime_id": rid, "name": name})
        for g in list(b.gateways.values()):
            agentcore["gateways"].append({"region": region, "id": g.gateway_id, "name": g.name,
                                          "status": g.status})
        for (gid, tid), t in list(b.gateway_targets.items()):
            agentcore["gateway_targets"].append(
                {"region": region, "gateway_id": gid, "id": tid, "name": t.name,
                 "status": t.status, "sync_count": t.sync_count})
        for m in list(b.memories.values()):
            agentcore["memories"].append({"region": region, "id": m.memory_id, "name": m.name})
    with _LOCK:
        for (acct, region), store in sorted(PROVIDERS.items()):
            if acct == account:
                for p in store.values():
                    agentcore["credential_providers"].append(
                        {"region": region, "name": p["name"], "arn": p["credentialProviderArn"],
                         "vendor": p["credentialProviderVendor"],
                         "client_secret_sha256": p["secretSha256"]})

    from moto.logs.models import logs_backends
    from moto.secretsmanager.models import secretsmanager_backends

    other = {"log_groups": [], "secrets": []}
    for region, b in regions(logs_backends):
        for name in list(b.groups.keys()):
            other["log_groups"].append({"region": region, "name": name})
    for region, b in regions(secretsmanager_backends):
        for name, sec in list(b.secrets.items()):
            if not getattr(sec, "deleted_date", None):
                other["secrets"].append({"region": region, "name": sec.name})

    result = {"cognito": cognito, "iam": iam, "s3": s3, "ecr": ecr, "agentcore": agentcore,
              "other": other}
    total = sum(len(items) for group in result.values() for items in group.values())
    return {"account": account, "total": total, **result}


# ---------------------------------------------------------------------------------------
# Cognito client-credentials token endpoint (moto has none)
# ---------------------------------------------------------------------------------------

def _find_client(client_id, host):
    from moto.cognitoidp.models import cognitoidp_backends

    for _account, per_region in cognitoidp_backends.items():
        for _region, backend in per_region.items():
            for pool in backend.user_pools.values():
                client = pool.clients.get(client_id)
                if client is None:
                    continue
                # If called via a Cognito-domain Host header, require the right pool
                prefix = (host or "").split(".auth.")[0] if ".auth." in (host or "") else None
                if prefix and backend.user_pool_domains.get(prefix, None) is not None:
                    if backend.user_pool_domains[prefix].user_pool_id != pool.id:
                        continue
                return pool, client
    return None, None


_TOKEN_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def _access_token_seconds(config):
    """How long an app client's access tokens last, from its AccessTokenValidity and
    TokenValidityUnits (as a CreateUserPoolClient/UpdateUserPoolClient request or moto's stored
    `extended_config` has them): the unit defaults to hours, an unset validity to one hour.
    None for a unit Cognito does not know."""
    validity = config.get("AccessTokenValidity")
    if validity is None:
        return 3600
    unit = (config.get("TokenValidityUnits") or {}).get("AccessToken") or "hours"
    factor = _TOKEN_UNITS.get(unit)
    return None if factor is None else int(validity) * factor


def _mint(cid, secret, requested, host=None):
    """A client-credentials token as Cognito's token endpoint issues it:
    (token, claims, None), or (None, None, OAuth error code)."""
    pool, client = _find_client(cid, host)
    if client is None or not client.generate_secret or client.secret != secret:
        return None, None, "invalid_client"
    cfg = client.extended_config
    if "client_credentials" not in cfg.get("AllowedOAuthFlows", []) or not cfg.get(
        "AllowedOAuthFlowsUserPoolClient"
    ):
        return None, None, "unauthorized_client"
    allowed = cfg.get("AllowedOAuthScopes", [])
    requested = requested or allowed
    if not requested or any(s not in allowed for s in requested):
        return None, None, "invalid_scope"
    from joserfc import jwt

    now = int(time.time())
    lifetime = _access_token_seconds(cfg) or 3600
    claims = {
        "sub": client.id,
        "token_use": "access",
        "scope": " ".join(requested),
        "auth_time": now,
        "iss": f"https://cognito-idp.{pool.region}.amazonaws.com/{pool.id}",
        "exp": now + lifetime,
        "iat": now,
        "version": 2,
        "jti": str(uuid.uuid4()),
        "client_id": client.id,
    }
    return jwt.encode({"kid": "dummy", "alg": "RS256"}, claims, pool.json_web_key), claims, None


def _token_endpoint(req):
    form = req.form
    if form.get("grant_type") != "client_credentials":
        return _json(400, {"error": "unsupported_grant_type"})
    cid, secret = form.get("client_id"), form.get("client_secret")
    auth = req.headers.get("Authorization", "")
    if auth.startswith("Basic "):
        cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
    token, claims, error = _mint(cid, secret, form.get("scope", "").split(), req.host)
    if error:
        return _json(400, {"error": error})
    return _json(200, {"access_token": token, "expires_in": claims["exp"] - claims["iat"],
                       "token_type": "Bearer"})


def _pool_domain(pool_id):
    """(pool exists, its domain prefix or None)."""
    from moto.cognitoidp.models import cognitoidp_backends

    for _account, per_region in cognitoidp_backends.items():
        for _region, backend in per_region.items():
            if pool_id in backend.user_pools:
                for prefix, d in backend.user_pool_domains.items():
                    if d.user_pool_id == pool_id:
                        return True, prefix
                return True, None
    return False, None


def _discovery(pool_id, host=None):
    """What a pool's discovery document says about its token endpoint: Cognito announces
    `token_endpoint` only once the pool has a domain. None for an unknown pool."""
    exists, domain = _pool_domain(pool_id)
    if not exists:
        return None
    host = host or f"127.0.0.1:{os.environ.get('MOTO_PORT', '5000')}"
    return {"token_endpoint": f"http://{host}/{pool_id}/oauth2/token"} if domain else {}


_DISCOVERY = re.compile(r"^/([\w-]+_[0-9a-zA-Z]+)/\.well-known/openid-configuration$")


# ---------------------------------------------------------------------------------------
# AWS's rules (agentcore_rules.py): what the caller may do, IAM's quotas, AgentCore assuming
# roles and acting as the gateway's role
# ---------------------------------------------------------------------------------------

def _access_denied(call, action, resource):
    msg = rules.denied_message(f"arn:aws:iam::{call.account}:user/{call.access_key}", action, resource)
    if call.service == "s3":
        return _s3_error(403, "AccessDenied", msg)
    if call.service in _QUERY_SERVICES:
        return _query_error(403, "AccessDenied", msg)
    status = 400 if call.service == "cognito-idp" else 403
    return _aws_json_error(status, "AccessDeniedException", msg)


def _source_arn(call, body):
    """The ARN AgentCore assumes a role for: the runtime or gateway being made or changed."""
    acct, region, p = call.account, call.region, call.params
    base = f"arn:aws:bedrock-agentcore:{region}:{acct}"
    if call.op == "CreateAgentRuntime":
        return f"{base}:runtime/{body.get('agentRuntimeName')}-0000000000"
    if call.op == "UpdateAgentRuntime":
        return f"{base}:runtime/{p.get('agentRuntimeId')}"
    if call.op == "CreateGateway":
        return f"{base}:gateway/{str(body.get('name', '')).lower()}-0000000000"
    return f"{base}:gateway/{p.get('gatewayIdentifier')}"


def _out_of_range(shape, value, path):
    """The first integer in `value` outside its model's min/max, as AWS reports it, or None.
    AWS validates every request against the service model; moto checks no range."""
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                why = _out_of_range(member, value[name], f"{path}.{name}" if path else name)
                if why:
                    return why
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            why = _out_of_range(shape.member, item, f"{path}[{i}]")
            if why:
                return why
    elif shape.type_name in ("integer", "long") and isinstance(value, int):
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and value < low:
            return f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have value greater than or equal to {low}"
        if high is not None and value > high:
            return f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have value less than or equal to {high}"
    return None


def _check_ranges(call):
    """A ValidationException for an AgentCore control-plane request with a number out of its
    model's range (`resourcePriority` 0-1000, `sessionTimeoutInSeconds` 900-28800, ...)."""
    if call.service != "bedrock-agentcore" or call.op is None or call.op in EXT_OPS:
        return None
    try:
        shape = _model("bedrock-agentcore-control").operation_model(call.op).input_shape
    except Exception:
        return None
    why = shape is not None and _out_of_range(shape, call.json_body() or {}, "")
    return _validation_error(f"1 validation error detected: {why}") if why else None


_CLIENT_OPS = {"CreateUserPoolClient", "UpdateUserPoolClient"}


def _check_token_validity(call):
    """Cognito's InvalidParameterException for an app client whose access tokens would last
    less than five minutes or more than one day (AccessTokenValidity in TokenValidityUnits,
    hours by default). moto stores any value."""
    if call.service != "cognito-idp" or call.op not in _CLIENT_OPS:
        return None
    seconds = _access_token_seconds(call.json_body() or {})
    if seconds is None or 300 <= seconds <= 86400:
        return None
    return _aws_json_error(400, "InvalidParameterException", "Invalid range for token validity.")


_RESERVED_IN_DOMAINS = ("aws", "amazon", "cognito")


def _check_domain_words(call):
    """Cognito's refusal of a domain prefix holding a reserved word anywhere in it (not in the
    API reference; AWS's answer as users met it: aws-amplify/amplify-cli#3854, an environment
    named `newcognito`; aws-solutions/content-analysis-on-aws#8). moto takes any prefix."""
    if call.service != "cognito-idp" or call.op != "CreateUserPoolDomain":
        return None
    domain = str((call.json_body() or {}).get("Domain", "")).lower()
    word = next((w for w in _RESERVED_IN_DOMAINS if w in domain), None)
    if word is None:
        return None
    return _aws_json_error(400, "InvalidParameterException", f"Domain cannot contain reserved word: {word}")


def _check_unique_name(call):
    """AgentCore's ConflictException for a runtime or gateway name already in use in the
    account and region (moto makes a second of the same name). CreateGateway's `name`: "The
    name must be unique within your account" (bedrock-agentcore-control service model); both
    operations list ConflictException, and AWS answers a second CreateAgentRuntime of a name
    with it (callers catch it to update instead, e.g. lukasdeveloperacc/Study
    `agent_core/runtime_deploy.py`)."""
    if call.service != "bedrock-agentcore" or call.op not in ("CreateGateway", "CreateAgentRuntime"):
        return None
    from moto.bedrockagentcorecontrol.models import bedrockagentcorecontrol_backends

    body = call.json_body() or {}
    backend = bedrockagentcorecontrol_backends[call.account][call.region]
    if call.op == "CreateGateway":
        name = body.get("name")
        taken = any(g.name == name for g in list(backend.gateways.values()))
        what = "Gateway"
    else:
        name = body.get("agentRuntimeName")
        taken = any(r.agent_runtime_name == name for r in list(backend.agent_runtimes.values()))
        what = "Agent Runtime"
    if not taken:
        return None
    return _aws_json_error(409, "ConflictException", f"{what} with name {name} already exists")


def _rules_before(call):
    """AWS's refusal of `call`, or None. Expects _LOCK to be held."""
    out_of_range = (_check_ranges(call) or _check_token_validity(call) or _check_domain_words(call)
                    or _check_unique_name(call))
    if out_of_range:
        return out_of_range
    policy = FAULTS.settings["caller_policy"].get(call.access_key)
    form = call.form()
    if policy is not None:
        denied = rules.caller_denial(call, form, call.json_body() or {}, policy)
        if denied:
            return _access_denied(call, *denied)
    if call.service == "iam":
        too_big = rules.check_policy_size(call, form)
        if too_big:
            return _query_error(409, *too_big)
        rules.remember_policy_change(call, form)
    if call.op in _ROLE_CHECKED_OPS:
        body = call.json_body() or {}
        if isinstance(body.get("roleArn"), str):
            why = rules.check_trust(call.account, call.region, body["roleArn"], _source_arn(call, body))
            if why:
                return _validation_error(why, "roleArn")
    return None


_TARGET_OPS = {"CreateGatewayTarget", "UpdateGatewayTarget", "SynchronizeGatewayTargets"}


def _rules_after(call, captured):
    """After a successful call: AgentCore Gateway lists a new, changed or synchronised
    target's tools as its role, and the target ends FAILED when it cannot. Expects _LOCK."""
    if call.op not in _TARGET_OPS or not FAULTS.settings["gateway_checks"]:
        return
    from moto.bedrockagentcorecontrol.models import bedrockagentcorecontrol_backends

    backend = bedrockagentcorecontrol_backends[call.account][call.region]
    gateway = backend.gateways.get(call.params.get("gatewayIdentifier", ""))
    if gateway is None:
        return
    try:
        answer = json.loads(captured.body or b"{}")
    except ValueError:
        answer = {}
    target_id = answer.get("targetId") or call.params.get("targetId") or (
        ((call.json_body() or {}).get("targetIdList") or [None])[0])
    target = backend.gateway_targets.get((gateway.gateway_id, target_id))
    if target is None:
        return
    providers = {p["credentialProviderArn"]: p
                 for p in PROVIDERS.get((call.account, call.region), {}).values()}

    def mint(cid, secret, scopes):
        _token, claims, error = _mint(cid, secret, scopes)
        return claims, error

    why = rules.check_target(call.account, call.region, gateway, target, providers,
                             FAULTS.settings["policy_propagation_s"], _discovery, mint)
    if why:
        target.status = "FAILED"
        target.status_reasons = [why]
    else:
        target.status_reasons = []


def simulate_principal_policy(call):
    """IAM's policy simulator over the role's identity policies (inline and attached), with
    one result per action and resource, as `aws iam simulate-principal-policy` shows them.
    With the setting `simulator: false` it answers as a service without the action does."""
    if not FAULTS.settings["simulator"]:
        return _query_error(400, "InvalidAction",
                            "The action SimulatePrincipalPolicy is not valid for this web service.")
    form = call.form()
    role = rules.role_by_arn(call.account, form.get("PolicySourceArn", ""))
    if role is None:
        return _query_error(404, "NoSuchEntity", "The principal does not exist")
    actions = [v for k, v in sorted(form.items()) if k.startswith("ActionNames.member.")]
    resources = [v for k, v in sorted(form.items()) if k.startswith("ResourceArns.member.")] or ["*"]
    docs = rules.role_documents(role)
    members = []
    decisions = {"Allow": "allowed", "ExplicitDeny": "explicitDeny", "ImplicitDeny": "implicitDeny"}
    for action in actions:
        per_resource = [(r, decisions[rules.evaluate(docs, action, r)]) for r in resources]
        overall = "allowed" if all(d == "allowed" for _r, d in per_resource) else next(
            d for _r, d in per_resource if d != "allowed")
        specific = "".join(
            f"<member><EvalResourceName>{r}</EvalResourceName>"
            f"<EvalResourceDecision>{d}</EvalResourceDecision></member>" for r, d in per_resource)
        members.append(
            f"<member><EvalActionName>{action}</EvalActionName><EvalResourceName>*</EvalResourceName>"
            f"<EvalDecision>{overall}</EvalDecision><MatchedStatements/><MissingContextValues/>"
            f"<ResourceSpecificResults>{specific}</ResourceSpecificResults></member>")
    xml = ('<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
           f"<SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>"
           f"{''.join(members)}</EvaluationResults></SimulatePrincipalPolicyResult>"
           f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
           "</SimulatePrincipalPolicyResponse>")
    return Response(xml, status=200, content_type="text/xml")


# ---------------------------------------------------------------------------------------
# The middleware
# ---------------------------------------------------------------------------------------

def _reset_extension():
    with _LOCK:
        PROVIDERS.clear()
        CALLS.clear()
        FAULTS.reset()
        rules.POLICY_HISTORY.clear()


class TestExtMiddleware:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        response = self._extension_endpoint(environ)
        if response is not None:
            return response(environ, start_response)
        call = classify(environ)
        if call is None:  # unsigned: discovery documents, jwks, moto-api, ...
            return self.app(environ, start_response)
        captured = self._aws(call, environ)
        start_response(captured.status_line, captured.headers)
        return [captured.body]

    def _extension_endpoint(self, environ):
        """The extension's own endpoints, as a WSGI app, or None."""
        path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
        if path == "/test-ext/ping":
            return _json(200, {"ok": True})
        if path == "/test-ext/faults":
            with _LOCK:
                if method == "POST":
                    error = FAULTS.update(Request(environ).get_json(force=True, silent=True))
                    if error:
                        return _json(400, {"error": error})
                return _json(200, FAULTS.snapshot())
        if path == "/test-ext/release" and method == "POST":
            with _LOCK:
                FAULTS.release()
                return _json(200, FAULTS.snapshot())
        if path == "/test-ext/calls":
            with _LOCK:
                if method == "DELETE":
                    CALLS.clear()
                return _json(200, list(CALLS))
        if path == "/test-ext/inventory":
            default = os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT)
            return _json(200, inventory(Request(environ).args.get("account", default)))
        if path == "/moto-api/reset" and method == "POST":
            captured = _call(self.app, environ)
            _reset_extension()
            return Response(captured.body, status=captured.status_line,
                            headers=captured.headers)
        m = _DISCOVERY.match(path)
        if m and method == "GET":
            captured = _call(self.app, environ)
            if captured.status != 200:
                return Response(captured.body, status=captured.status_line)
            doc = json.loads(captured.body)
            doc.update(_discovery(m.group(1), environ.get("HTTP_HOST")) or {})
            return _json(200, doc)
        if path.endswith("/oauth2/token") and method == "POST":
            return _token_endpoint(Request(environ))
        return None

    def _aws(self, call, environ):
        """A signed AWS request: halt gate, faults, then the extension or moto; logged."""
        with _LOCK:
            halted = FAULTS.release_event if FAULTS.halt is not None else None
            delay_ms = FAULTS.settings["latency_ms"] if FAULTS.matches(call) else 0
        if halted is not None:
            return self._blocked(call, environ, halted)
        if delay_ms:
            time.sleep(delay_ms / 1000.0)
        with _LOCK:
            fault = FAULTS.draw(call)
            if fault == "throttle":
                response = _throttle_response(call.service, FAULTS.settings["status"],
                                              FAULTS.settings["code"])
            elif fault == "error":
                response = _server_error(call.service)
            else:
                response = _young_role_error(call)
                fault = "role_propagation" if response is not None else None
            if response is not None:
                FAULTS.injected += 1
                captured = _call(response, environ)
                CALLS.append(call.log_entry(captured.status, fault))
                return captured
            response = _rules_before(call)
            if response is not None:  # what AWS refuses: not a fault, nothing happens
                captured = _call(response, environ)
                CALLS.append(call.log_entry(captured.status, "refused"))
                return captured
            admission = FAULTS.admit(call)
            release = FAULTS.release_event
        if isinstance(admission, threading.Event):  # another request halted meanwhile
            return self._blocked(call, environ, admission)

        handler = EXT_OPS.get(call.op) if call.service == "bedrock-agentcore" else None
        if call.service == "iam" and call.op == "SimulatePrincipalPolicy":
            handler = simulate_principal_policy
        if handler is not None:
            with _LOCK:
                captured = _call(handler(call), environ)
        else:
            captured = _call(self.app, environ)
        with _LOCK:
            if 200 <= captured.status < 300:
                _rules_after(call, captured)
            CALLS.append(call.log_entry(captured.status))
            if admission == "halting" and not release.is_set():
                FAULTS.halt = "halted"
        if admission == "halting":
            release.wait()  # the test kills the client meanwhile, then releases us
        return captured

    @staticmethod
    def _blocked(call, environ, release):
        """Requests arriving during a halt wait for the release, then get a 503 without
        reaching moto."""
        release.wait()
        captured = _call(_server_error(call.service, 503), environ)
        with _LOCK:
            CALLS.append(call.log_entry(captured.status, "halted"))
        return captured


# ---------------------------------------------------------------------------------------
# moto patches and startup
# ---------------------------------------------------------------------------------------

def patch_agentcore_update_transitions():
    """moto 5.2.5 sets status='UPDATING' on Update* but only models CREATING->READY,
    so UPDATING never ends. Add UPDATING->READY so it progresses like CREATING."""
    from moto.bedrockagentcorecontrol import models as m

    for cls in (m.AgentRuntime, m.AgentRuntimeEndpoint, m.Gateway, m.GatewayTarget):
        orig = cls.__init__

        def __init__(self, *a, __orig=orig, **kw):
            __orig(self, *a, **kw)
            self._transitions = list(self._transitions) + [("UPDATING", "READY")]

        cls.__init__ = __init__


def _random_id(n=10):
    import string

    return "".join(random.choice(string.ascii_letters + string.digits) for _ in range(n))


def patch_agentcore_names():
    """Ids and ARNs as AgentCore makes them, which IAM policies match by name: a runtime's id is
    `{name}-{10 characters}` and its ARN `...:runtime/{id}` (moto: a random hex id and an
    `agent/{uuid}:{version}` ARN); a gateway's id is `{lowercased name}-{10 characters}`, and
    so is its workload identity's name (moto: random hex)."""
    from moto.bedrockagentcorecontrol import models as m

    def arn(obj, resource):
        return f"arn:aws:bedrock-agentcore:{obj.region_name}:{obj.account_id}:{resource}"

    runtime_init, runtime_update = m.AgentRuntime.__init__, m.AgentRuntime.update

    def runtime_init_patched(self, *a, **kw):
        runtime_init(self, *a, **kw)
        self.agent_runtime_id = f"{self.agent_runtime_name}-{_random_id()}"
        self.agent_runtime_arn = arn(self, f"runtime/{self.agent_runtime_id}")
        self.workload_identity_details = {"workloadIdentityArn": arn(
            self, f"workload-identity-directory/default/workload-identity/{self.agent_runtime_id}")}
        self.versions = []
        self._snapshot_version()

    def runtime_update_patched(self, *a, **kw):
        real = self.agent_runtime_arn
        self.agent_runtime_arn = f"agent/{uuid.uuid4()}:{self.agent_runtime_version}"  # moto parses it
        runtime_update(self, *a, **kw)
        self.agent_runtime_arn = real
        for v in self.versions:
            v["agentRuntimeArn"] = real

    m.AgentRuntime.__init__ = runtime_init_patched
    m.AgentRuntime.update = runtime_update_patched

    gateway_init = m.Gateway.__init__

    def gateway_init_patched(self, *a, **kw):
        gateway_init(self, *a, **kw)
        self.gateway_id = f"{self.name.lower()}-{_random_id().lower()}"
        self.gateway_arn = arn(self, f"gateway/{self.gateway_id}")
        self.gateway_url = (f"https://{self.gateway_id}.gateway.bedrock-agentcore."
                            f"{self.region_name}.amazonaws.com")
        self.workload_identity_details = {"workloadIdentityArn": arn(
            self, f"workload-identity-directory/default/workload-identity/{self.gateway_id}")}

    m.Gateway.__init__ = gateway_init_patched


def patch_default_endpoints():
    """AgentCore makes a runtime's DEFAULT endpoint with the runtime and moves it to each new
    version; for a while after the runtime is READY the endpoint is still CREATING or UPDATING
    (the `endpoint_lag_s` setting says how long). moto makes no endpoint by itself."""
    from moto.bedrockagentcorecontrol import models as m
    from moto.moto_api._internal.managed_state_model import ManagedState

    def lagging_status(self):
        if time.time() < getattr(self, "ready_at", 0):
            return self._status
        return ManagedState.status.fget(self)

    m.AgentRuntimeEndpoint.status = property(lagging_status, ManagedState.status.fset)

    def lag():
        return time.time() + float(FAULTS.settings.get("endpoint_lag_s") or 0)

    create, update = m.BedrockAgentCoreControlBackend.create_agent_runtime, m.BedrockAgentCoreControlBackend.update_agent_runtime

    def create_patched(self, *a, **kw):
        runtime = create(self, *a, **kw)
        ep = self.create_agent_runtime_endpoint(runtime.agent_runtime_id, "DEFAULT", None, None, None)
        ep.agent_runtime_arn = runtime.agent_runtime_arn
        ep.agent_runtime_endpoint_arn = f"{runtime.agent_runtime_arn}/runtime-endpoint/DEFAULT"
        ep.ready_at = lag()
        return runtime

    def update_patched(self, agent_runtime_id, *a, **kw):
        runtime = update(self, agent_runtime_id, *a, **kw)
        ep = self.agent_runtime_endpoints.get((agent_runtime_id, "DEFAULT"))
        if ep is not None:
            ep.target_version = ep.live_version = runtime.agent_runtime_version
            ep.status = "UPDATING"
            ep.ready_at = lag()
        return runtime

    m.BedrockAgentCoreControlBackend.create_agent_runtime = create_patched
    m.BedrockAgentCoreControlBackend.update_agent_runtime = update_patched


def patch_gateway_target_sync():
    """Gateway targets remember SynchronizeGatewayTargets: `lastSynchronizedAt` in their
    Get/Update/Sync responses, and a count for the inventory."""
    from moto.bedrockagentcorecontrol.models import GatewayTarget

    GatewayTarget.last_synchronized_at = None
    GatewayTarget.sync_count = 0
    to_dict = GatewayTarget.to_dict

    def patched_to_dict(self):
        result = to_dict(self)
        if self.last_synchronized_at is not None:
            result["lastSynchronizedAt"] = self.last_synchronized_at
        if getattr(self, "status_reasons", None):
            result["statusReasons"] = self.status_reasons
        return result

    GatewayTarget.to_dict = patched_to_dict


def patch_cognito_resource_servers():
    """moto 5.2.5 has Create/Describe/ListResourceServers but not Update or Delete (it answers
    them with a 500 HTML page); add both, with Cognito's errors."""
    from moto.cognitoidp import models as m
    from moto.cognitoidp import responses as r

    def update_resource_server(self, user_pool_id, identifier, name, scopes):
        server = self.describe_resource_server(user_pool_id, identifier)
        server.name, server.scopes = name, scopes
        return server

    def delete_resource_server(self, user_pool_id, identifier):
        self.describe_resource_server(user_pool_id, identifier)  # raises when unknown
        del self.user_pools[user_pool_id].resource_servers[identifier]

    m.CognitoIdpBackend.update_resource_server = update_resource_server
    m.CognitoIdpBackend.delete_resource_server = delete_resource_server

    def update_handler(self):
        server = self.backend.update_resource_server(
            self._get_param("UserPoolId"), self._get_param("Identifier"),
            self._get_param("Name"), self._get_param("Scopes"))
        return r.ActionResult({"ResourceServer": server.to_json()})

    def delete_handler(self):
        self.backend.delete_resource_server(self._get_param("UserPoolId"), self._get_param("Identifier"))
        return r.EmptyResult()

    r.CognitoIdpResponse.update_resource_server = update_handler
    r.CognitoIdpResponse.delete_resource_server = delete_handler


def patch_cognito_client_update():
    """moto 5.2.5's UpdateUserPoolClient merges the request into the stored client; Cognito sets
    what the request leaves out to its default. Do that for the access-token lifetime the token
    endpoint reads, so an update that omits it gives one-hour tokens again, as on AWS."""
    from moto.cognitoidp import models as m

    orig = m.CognitoIdpBackend.update_user_pool_client

    def update_user_pool_client(self, user_pool_id, client_id, extended_config):
        client = orig(self, user_pool_id, client_id, extended_config)
        for key in ("AccessTokenValidity", "TokenValidityUnits"):
            if key not in extended_config:
                client.extended_config.pop(key, None)
        return client

    m.CognitoIdpBackend.update_user_pool_client = update_user_pool_client


def make_app():
    global _ROUTER
    patch_agentcore_update_transitions()
    patch_cognito_resource_servers()
    patch_cognito_client_update()
    patch_gateway_target_sync()
    patch_agentcore_names()
    patch_default_endpoints()
    _ROUTER = RestRouter("bedrock-agentcore-control", "bedrock-agentcore")
    return TestExtMiddleware(DomainDispatcherApplication(create_backend_app))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5000)
    a = ap.parse_args()
    os.environ.setdefault("MOTO_PORT", str(a.port))  # moto_server does the same
    run_simple(a.host, a.port, make_app(), threaded=True, request_handler=MotoRequestHandler)
