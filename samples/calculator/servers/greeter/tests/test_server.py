"""In-process tests of the greeter tools: no network, no subprocess."""

import os
import sys

import anyio

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import server  # noqa: E402


def test_lists_greet():
    tools = anyio.run(server.mcp.list_tools)
    assert [t.name for t in tools] == ["greet"]


def test_greet():
    result = anyio.run(server.mcp.call_tool, "greet", {"name": "Ada"})
    assert result.structured_content == {"result": "Hello, Ada!"}
