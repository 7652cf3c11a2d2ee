#!/usr/bin/env bash
# Starts the proxy with the CCC simulator in-process (the embedded default).
# The proxy prints the URL once it is listening.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
LISTEN=${1:-127.0.0.1:8080}

echo "==> building the proxy and the simulator" >&2
cargo build --quiet --profile server -p ccc-proxy
exec target/server/ccc-proxy --demo --listen "$LISTEN" --static-dir dist
