#!/usr/bin/env bash
# The main job, from a fresh clone: build mcpkit, scaffold a workspace with two servers, and
# check it. Everything lands under target/demo/ (recreated on every run).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p mcpkit
mcpkit="$PWD/target/release/mcpkit"
demo="$PWD/target/demo"
rm -rf "$demo" && mkdir -p "$demo"
"$mcpkit" new calculator --dir "$demo"
cd "$demo/calculator"
"$mcpkit" add-server greeter --template helloworld
"$mcpkit" validate
