"""In-process tests of the calculator tools: no network, no subprocess."""

import os
import sys

import anyio

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import server  # noqa: E402


def call(name, **arguments):
    return anyio.run(server.mcp.call_tool, name, arguments)


def test_lists_both_tools():
    tools = anyio.run(server.mcp.list_tools)
    assert sorted(t.name for t in tools) == ["add", "multiply"]


def test_add():
    assert call("add", a=2, b=3).structured_content == {"result": 5}


def test_multiply():
    assert call("multiply", a=4, b=2.5).structured_content == {"result": 10}
