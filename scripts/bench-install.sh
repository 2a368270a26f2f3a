#!/usr/bin/env bash
# The first deploy as a new user meets it, on a machine without uv (docs/benchmarks.md,
# "First deploy without uv"): the two-server demo (`mcpkit new calculator` + `add-server
# greeter`), empty virtualenvs, package downloads already in pip's and uv's caches.
#   pip        MCPKIT_UV=0: python3 -m venv + pip
#   bootstrap  uv not installed yet: mcpkit installs it into its cache, then uses it
#   uv         a second workspace, uv already bootstrapped
# Rounds alternate, so the machine's noise falls on all three alike.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/target/dist/mcpkit}
ROUNDS=${ROUNDS:-2}
export PATH=/usr/local/bin:/usr/bin:/bin
command -v uv >/dev/null && { echo "uv is on PATH; this measures a machine without it" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

deploy() { # label, env...
    local label=$1; shift
    local ws="$work/ws-$label-$RANDOM"
    mkdir -p "$ws"
    (cd "$ws" && env "$@" "$BIN" -q new calculator -t calculator >/dev/null \
        && cd calculator && env "$@" "$BIN" -q add-server greeter -t helloworld >/dev/null)
    local start end
    start=$(date +%s.%N)
    (cd "$ws/calculator" && env "$@" "$BIN" -q deploy >/dev/null)
    end=$(date +%s.%N)
    (cd "$ws/calculator" && env "$@" "$BIN" -q destroy >/dev/null)
    printf '%-10s %6.2f s\n' "$label" "$(echo "$end - $start" | bc)"
}

# Warm the download caches once (not measured).
cache="$work/cache-warm"
deploy warmup-pip MCPKIT_UV=0 >/dev/null
deploy warmup-uv MCPKIT_CACHE_DIR="$cache" >/dev/null
for round in $(seq "$ROUNDS"); do
    echo "round $round"
    deploy pip MCPKIT_UV=0
    fresh="$work/cache-$round"
    deploy bootstrap MCPKIT_CACHE_DIR="$fresh"
    deploy uv MCPKIT_CACHE_DIR="$fresh"
    b0=$(date +%s.%N)
    python3 -m venv "$work/uv-alone-$round" && "$work/uv-alone-$round/bin/python" -m pip install --quiet --disable-pip-version-check uv
    b1=$(date +%s.%N)
    printf '%-10s %6.2f s\n' "uv alone" "$(echo "$b1 - $b0" | bc)"
done
