#!/usr/bin/env bash
# The main job, from a fresh clone: build mcpkit, scaffold a workspace with two MCP servers,
# deploy it on the embedded local target (real Python servers behind one OAuth-protected
# gateway, no AWS account, no Docker), and use it. Everything lands under target/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p mcpkit
mcpkit="$PWD/target/release/mcpkit"
demo="$PWD/target/demo"
if [ -f "$demo/calculator/mcpkit.toml" ]; then
  "$mcpkit" destroy -y --workspace "$demo/calculator" >/dev/null || true
fi
rm -rf "$demo" && mkdir -p "$demo"
"$mcpkit" new calculator --dir "$demo"
cd "$demo/calculator"
"$mcpkit" add-server greeter --template helloworld
"$mcpkit" validate
"$mcpkit" deploy
"$mcpkit" tools
"$mcpkit" call calculator-target___add --args '{"a": 2, "b": 40}'
"$mcpkit" call greeter-target___greet --args '{"name": "world"}'
echo
echo "The stack keeps running. Try: cd $demo/calculator && $mcpkit status"
echo "Stop it with:                 cd $demo/calculator && $mcpkit destroy -y"
