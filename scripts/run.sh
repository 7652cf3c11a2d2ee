#!/usr/bin/env bash
# Starts the proxy with the CCC simulator in-process (the embedded default).
# The proxy prints the URL once it is listening.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
LISTEN=${1:-127.0.0.1:8080}

echo "==> building the proxy and the simulator" >&2
cargo build --quiet --profile server -p ccc-proxy
# Two example caller ids, so the dial box offers a choice (the simulator
# accepts any; real CCC only the instance's own numbers).
exec target/server/ccc-proxy --demo --listen "$LISTEN" --static-dir dist \
  --caller-ids 02160001000,02160001001
