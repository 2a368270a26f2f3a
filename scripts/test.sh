#!/usr/bin/env bash
# The whole test suite, from a fresh clone. The tests install what they need themselves (a
# Python virtualenv with the `mcp` package, cached under target/tmp/), so this is all it takes.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked "$@"
