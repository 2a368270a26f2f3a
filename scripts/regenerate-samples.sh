#!/usr/bin/env bash
# Rebuilds samples/calculator with the current mcpkit (a test checks it matches).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -p mcpkit
rm -rf samples/calculator
./target/debug/mcpkit new calculator --dir samples
./target/debug/mcpkit add-server greeter --template helloworld --workspace samples/calculator
