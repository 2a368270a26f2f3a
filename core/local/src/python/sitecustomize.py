# Written by mcpkit for the local target; loaded by the servers it starts (PYTHONPATH).
#
# mcpkit runs every server on a port of its own. Servers that honour PORT/HOST (mcpkit's
# templates do) need nothing; servers written to listen on a fixed port (mcp 1.x FastMCP's
# default 8000, which recent 1.x releases no longer let FASTMCP_PORT override) would all
# collide. When MCPKIT_BIND_PORT is set, this moves any uvicorn server the process starts to
# MCPKIT_BIND_HOST:MCPKIT_BIND_PORT. It touches nothing else and does nothing when unset.
import os
import sys

_port = os.environ.get("MCPKIT_BIND_PORT")
_host = os.environ.get("MCPKIT_BIND_HOST", "127.0.0.1")

if _port:
    import importlib.abc
    import importlib.util

    def _patch(module):
        original = module.Config.__init__

        def __init__(self, *args, **kwargs):
            original(self, *args, **kwargs)
            self.host = _host
            self.port = int(_port)

        module.Config.__init__ = __init__

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
