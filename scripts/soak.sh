#!/usr/bin/env bash
# Soak figures for the proxy: first the CCC-call economy (a shift start of
# 1,000 toolbars and ringing at 10,000 agents, crates/ccc-e2e/src/bin/herd.rs),
# then SOAK_SECS (default 600) of simulated agents long-polling through a
# release proxy, with state changes and injected upstream faults. Figures,
# not pass/fail. Extra flags go to the soak binary (e.g. scripts/soak.sh
# --agents 500); `scripts/soak.sh herd [flags]` runs only the economy
# figures (e.g. `scripts/soak.sh herd --scenario shift-start`), SOAK_HERD=0
# skips them.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
cargo build --quiet --profile server -p ccc-proxy -p ccc-sim -p ccc-e2e --bin ccc-proxy --bin ccc-sim --bin soak --bin herd
bin="${CARGO_TARGET_DIR:-target}/server"
if [ "${1:-}" = "herd" ]; then
  shift
  exec "$bin/herd" "$@"
fi
if [ "${SOAK_HERD:-1}" != "0" ]; then
  "$bin/herd"
fi
exec "$bin/soak" "$@"
