"""Test-only wrapper around moto's server app (moto[server]==5.2.5): the small extension
mcpkit's tests add for what moto lacks. Code under test reaches it only through the normal
endpoint settings (AWS_ENDPOINT_URL, discovery URLs).

Adds:
  GET  /{pool}/.well-known/openid-configuration  -> moto's document plus `token_endpoint`
  GET  /test-ext/ping                -> {"ok": true}
  GET|POST /test-ext/faults          -> read / replace fault-injection config (JSON)
  POST /oauth2/token                 -> Cognito-like client_credentials token endpoint
                                        (signs with moto's own Cognito key, so moto's
                                        /{pool}/.well-known/jwks.json verifies it)
and a WSGI middleware that injects throttling errors / latency for a fraction of
AWS API requests (selected by SigV4 signing name and/or path regex).

Usage: python moto_ext.py [--host 127.0.0.1] [--port 5000]
"""

import argparse
import base64
import json
import os
import random
import re
import threading
import time
import uuid

from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

_LOCK = threading.Lock()
FAULTS = {
    "throttle_rate": 0.0,  # fraction of matching requests to reject
    "status": 400,  # HTTP status of injected error (AgentCore models 429)
    "code": "ThrottlingException",
    "latency_ms": 0,  # added to every matching request
    "services": [],  # SigV4 signing names to affect, e.g. ["bedrock-agentcore"]; [] = all
    "path_regex": None,  # optional regex on PATH_INFO
    "injected": 0,  # counter (read-only)
}
_CRED_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_XML_SERVICES = {"iam", "sts", "s3"}


def _signing_service(environ):
    m = _CRED_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return (m.group(2), m.group(1)) if m else (None, None)


def _json(status, body, headers=None):
    return Response(json.dumps(body), status=status, headers=headers or {},
                    content_type="application/json")


def _throttle_response(service):
    code = FAULTS["code"]
    msg = "Rate exceeded (injected by test-ext)"
    rid = str(uuid.uuid4())
    if service in _XML_SERVICES:
        if service == "s3":
            xml = f"<Error><Code>SlowDown</Code><Message>{msg}</Message><RequestId>{rid}</RequestId></Error>"
            return Response(xml, status=503, content_type="application/xml")
        xml = (f"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
               f"<Message>{msg}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>")
        return Response(xml, status=400, content_type="text/xml")
    # restJson1 / awsJson: SDKs (botocore, aws-sdk-rust) read x-amzn-ErrorType and/or __type
    return _json(FAULTS["status"], {"__type": code, "message": msg},
                 {"x-amzn-ErrorType": code, "x-amzn-RequestId": rid})


def _find_client(client_id, host):
    from moto.cognitoidp.models import cognitoidp_backends

    for _account, per_region in cognitoidp_backends.items():
        for region, backend in per_region.items():
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


def _token_endpoint(req):
    def oauth_err(err, status=400):
        return _json(status, {"error": err})

    form = req.form
    if form.get("grant_type") != "client_credentials":
        return oauth_err("unsupported_grant_type")
    cid, secret = form.get("client_id"), form.get("client_secret")
    auth = req.headers.get("Authorization", "")
    if auth.startswith("Basic "):
        cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
    pool, client = _find_client(cid, req.host)
    if client is None or not client.generate_secret or client.secret != secret:
        return oauth_err("invalid_client")
    cfg = client.extended_config
    if "client_credentials" not in cfg.get("AllowedOAuthFlows", []) or not cfg.get(
        "AllowedOAuthFlowsUserPoolClient"
    ):
        return oauth_err("unauthorized_client")
    allowed = cfg.get("AllowedOAuthScopes", [])
    requested = form.get("scope", "").split() or allowed
    if not requested or any(s not in allowed for s in requested):
        return oauth_err("invalid_scope")
    from joserfc import jwt

    now = int(time.time())
    claims = {
        "sub": client.id,
        "token_use": "access",
        "scope": " ".join(requested),
        "auth_time": now,
        "iss": f"https://cognito-idp.{pool.region}.amazonaws.com/{pool.id}",
        "exp": now + 3600,
        "iat": now,
        "version": 2,
        "jti": str(uuid.uuid4()),
        "client_id": client.id,
    }
    token = jwt.encode({"kid": "dummy", "alg": "RS256"}, claims, pool.json_web_key)
    return _json(200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"})


_DISCOVERY = re.compile(r"^/([\w-]+_[0-9a-zA-Z]+)/\.well-known/openid-configuration$")


def _call(app, environ):
    """Runs the wrapped app and returns (status code, headers, body)."""
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"] = int(status.split()[0])
        captured["headers"] = headers

    body = b"".join(app(environ, start_response))
    return captured["status"], captured["headers"], body


class TestExtMiddleware:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/test-ext/ping":
            return _json(200, {"ok": True})(environ, start_response)
        if path == "/test-ext/faults":
            req = Request(environ)
            with _LOCK:
                if req.method == "POST":
                    FAULTS.update(req.get_json(force=True))
                    FAULTS["injected"] = 0
                return _json(200, FAULTS)(environ, start_response)
        m = _DISCOVERY.match(path)
        if m and environ["REQUEST_METHOD"] == "GET":
            status, _headers, body = _call(self.app, environ)
            if status == 200:
                doc = json.loads(body)
                host = environ.get("HTTP_HOST", "127.0.0.1")
                doc["token_endpoint"] = f"http://{host}/{m.group(1)}/oauth2/token"
                return _json(200, doc)(environ, start_response)
            return Response(body, status=status)(environ, start_response)
        if path.endswith("/oauth2/token") and environ["REQUEST_METHOD"] == "POST":
            return _token_endpoint(Request(environ))(environ, start_response)

        service, _region = _signing_service(environ)
        matches = service is not None and (
            not FAULTS["services"] or service in FAULTS["services"]
        ) and (not FAULTS["path_regex"] or re.search(FAULTS["path_regex"], path))
        if matches:
            if FAULTS["latency_ms"]:
                time.sleep(FAULTS["latency_ms"] / 1000.0)
            if random.random() < FAULTS["throttle_rate"]:
                with _LOCK:
                    FAULTS["injected"] += 1
                return _throttle_response(service)(environ, start_response)
        return self.app(environ, start_response)


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


def make_app():
    patch_agentcore_update_transitions()
    return TestExtMiddleware(DomainDispatcherApplication(create_backend_app))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5000)
    a = ap.parse_args()
    os.environ.setdefault("MOTO_PORT", str(a.port))  # moto_server does the same
    run_simple(a.host, a.port, make_app(), threaded=True, request_handler=MotoRequestHandler)
