#!/usr/bin/env bash
# Prints the performance figures (bundle bytes, command and long-poll latency,
# upstream load). Figures, not pass/fail: compare them between builds.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
cargo run --quiet --profile server -p ccc-e2e --bin bench
# Scale: upstream calls per state change (events vs polling), freshness across
# replicas (starts its own redis-server), memory per 1,000 waiting long-polls.
cargo build --quiet --profile server -p ccc-proxy --bin ccc-proxy
cargo run --quiet --profile server -p ccc-e2e --bin scale
