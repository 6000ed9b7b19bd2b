#!/usr/bin/env bash
# Runs a command (jest and its arguments) against a Temporal server that jest does not start: a dev server
# started here, before jest, the way an operator starts one (bare: no search attributes, headless), and
# stopped after it. The tests then see what they see on a server someone else runs: they register a
# namespace of their own run there and add the search attributes as `quarantine worker` does.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=$(node -e 'require("./dist/stack/temporal-cli").ensureTemporalCli().then((path) => console.log(path))')
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
# Its log goes to a file, shown only if it never serves: deleting the run's namespace at the end makes it
# log errors for the incidents still open there, which say nothing about the tests.
log=$(mktemp)
"$binary" server start-dev --ip 127.0.0.1 --port "$port" --http-port "$(free_port)" --metrics-port "$(free_port)" --headless --log-level error >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log"' EXIT
serving=no
for _ in $(seq 120); do
  if "$binary" operator cluster health --address "127.0.0.1:$port" >/dev/null 2>&1; then serving=yes; break; fi
  sleep 0.5
done
if [ "$serving" != yes ]; then
  echo "the Temporal server on 127.0.0.1:$port did not serve within 60 s:" >&2
  cat "$log" >&2
  exit 1
fi
echo "Temporal server outside jest: 127.0.0.1:$port (pid $server)" >&2
QUARANTINE_TEST_TEMPORAL_ADDRESS="127.0.0.1:$port" "$@"
