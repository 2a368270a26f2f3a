# Written by mcpkit for the local target; loaded by the servers it starts (PYTHONPATH).
#
# Two things, each only when mcpkit asks for it, touching nothing else:
#
# - MCPKIT_BIND_PORT: mcpkit runs every server on a port of its own. Servers that honour
#   PORT/HOST (mcpkit's templates do) need nothing; servers written to listen on a fixed port
#   (mcp 1.x FastMCP's default 8000, which recent 1.x releases no longer let FASTMCP_PORT
#   override) would all collide. This moves any uvicorn server the process starts to
#   MCPKIT_BIND_HOST:MCPKIT_BIND_PORT.
# - MCPKIT_SERVER_SECRET: a loopback port is open to every process of every user on the
#   machine. This takes the secret out of the environment (the server's code never sees it)
#   and answers 403 to any HTTP request that does not carry it in `x-mcpkit-server-secret`,
#   which only the gateway and the runtime endpoint send. The variable is readable only by
#   the user who deployed (/proc/<pid>/environ is the owner's alone).
import os
import sys

_port = os.environ.get("MCPKIT_BIND_PORT")
_host = os.environ.get("MCPKIT_BIND_HOST", "127.0.0.1")
_secret = os.environ.pop("MCPKIT_SERVER_SECRET", None)


def _guard(app, secret):
    import hmac

    expected = secret.encode()
    refusal = b"mcpkit: this server answers only its gateway and runtime endpoint\n"

    async def guarded(scope, receive, send):
        if scope.get("type") in ("http", "websocket"):
            given = b""
            for name, value in scope.get("headers") or []:
                if name == b"x-mcpkit-server-secret":
                    given = value
            if not hmac.compare_digest(given, expected):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
                await send({"type": "http.response.body", "body": refusal})
                return
        await app(scope, receive, send)

    return guarded


if _port or _secret:
    import importlib.abc
    import importlib.util

    def _patch(module):
        if _port:
            original_init = module.Config.__init__

            def __init__(self, *args, **kwargs):
                original_init(self, *args, **kwargs)
                self.host = _host
                self.port = int(_port)

            module.Config.__init__ = __init__
        if _secret:
            original_load = module.Config.load

            def load(self):
                original_load(self)
                self.loaded_app = _guard(self.loaded_app, _secret)

            module.Config.load = load

    class _PatchUvicornConfig(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != "uvicorn.config":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            if spec is not None and spec.loader is not None:
                exec_module = spec.loader.exec_module

                def patched(module):
                    exec_module(module)
                    _patch(module)

                spec.loader.exec_module = patched
            return spec

    sys.meta_path.insert(0, _PatchUvicornConfig())
