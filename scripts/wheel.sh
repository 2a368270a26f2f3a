#!/usr/bin/env bash
# Builds mcpkit's Python wheel into target/wheels/ (or $MCPKIT_WHEEL_DIR) with maturin, which
# comes from PyPI into a virtualenv of its own under target/tmp/. The profile is `dist` (the
# shipping one), or $MCPKIT_WHEEL_PROFILE (the tests use `dev`, which they have built already).
set -euo pipefail
cd "$(dirname "$0")/.."
MATURIN_VERSION=1.16.0
tools="target/tmp/wheel-tools-$MATURIN_VERSION"
if [ ! -e "$tools/.ready" ]; then
    rm -rf "$tools"
    python3 -m venv "$tools"
    "$tools/bin/python" -m pip install --quiet --disable-pip-version-check "maturin==$MATURIN_VERSION"
    touch "$tools/.ready"
fi
out="${MCPKIT_WHEEL_DIR:-target/wheels}"
profile="${MCPKIT_WHEEL_PROFILE:-dist}"
# maturin reads the README next to pyproject.toml: the project's own, copied in for the build.
cp README.md cli/README.md
trap 'rm -f cli/README.md' EXIT
"$tools/bin/maturin" build --quiet --locked -m cli/Cargo.toml --profile "$profile" --out "$out"
ls -1 "$out"/mcpkit-*.whl
