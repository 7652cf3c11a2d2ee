#!/usr/bin/env bash
# Soak figures for the proxy: SOAK_SECS (default 600) of simulated agents
# long-polling through a release proxy, with state changes and injected
# upstream faults. Figures, not pass/fail. Extra flags go to the soak binary
# (e.g. scripts/soak.sh --agents 500).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
cargo build --quiet --profile server -p ccc-proxy -p ccc-sim -p ccc-e2e --bin ccc-proxy --bin ccc-sim --bin soak
exec "${CARGO_TARGET_DIR:-target}/server/soak" "$@"
