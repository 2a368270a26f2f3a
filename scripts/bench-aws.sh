#!/usr/bin/env bash
# Benchmarks of the AWS target against the emulator (moto + tests/aws_emulator), as recorded in
# docs/benchmarks.md:
#   1. deploying 10 servers with 50 ms added to every AWS call: mcpkit's default (independent
#      resources at once) against `-j 1` (the same calls one after another, the original
#      toolkit's order);
#   2. an unchanged re-deploy of those 10 servers (same latency).
# Needs hyperfine, a release build, and the test virtualenv (run `bash scripts/test.sh` once).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/target/release/mcpkit
PYBIN=$(ls -td "$ROOT"/target/tmp/pyenv-*/bin | head -1)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
LATENCY_MS=${LATENCY_MS:-50}
RUNS=${RUNS:-3}

"$PYBIN/python" tests/aws_emulator/moto_ext.py --port "$PORT" >/dev/null 2>&1 &
MOTO=$!
WORK=$(mktemp -d)
trap 'kill $MOTO; rm -rf "$WORK"' EXIT
until curl -sf "$URL/test-ext/ping" >/dev/null; do sleep 0.2; done

export PATH=$PYBIN:$PATH UV_CACHE_DIR=$ROOT/target/tmp/uv-cache MCPKIT_CONFIG_DIR=$WORK/config
export AWS_ENDPOINT_URL=$URL AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_EC2_METADATA_DISABLED=true

cd "$WORK"
"$BIN" -q new shop -t calculator
cd shop
for i in 1 2 3 4 5 6 7 8 9; do "$BIN" -q add-server "s$i" -t helloworld; done
# Build the ten code artifacts once (they are cached by content), outside the measurements.
"$BIN" -q deploy --target aws
"$BIN" -q destroy --target aws -y

fresh="curl -s -X POST $URL/moto-api/reset >/dev/null; rm -rf .mcpkit/state; curl -s -X POST -d '{\"latency_ms\": $LATENCY_MS}' $URL/test-ext/faults >/dev/null"
hyperfine --runs "$RUNS" --prepare "$fresh" \
    -n "parallel (default)" "$BIN -q deploy --target aws" \
    -n "one after another (-j 1)" "$BIN -q deploy --target aws -j 1"

"$BIN" -q deploy --target aws
curl -s -X DELETE "$URL/test-ext/calls" >/dev/null
hyperfine --warmup 1 --runs 10 -n "unchanged re-deploy, 10 servers" "$BIN -q deploy --target aws"
echo "AWS calls made by the 11 re-deploys above:"
curl -s "$URL/test-ext/calls" | python3 -c 'import json, sys; c = json.load(sys.stdin); print(len(c), "calls,", sum(x["mutating"] for x in c), "mutating")'
