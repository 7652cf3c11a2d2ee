#!/usr/bin/env bash
# Prints the performance figures (bundle bytes, command and long-poll latency,
# upstream load). Figures, not pass/fail: compare them between builds.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
cargo run --quiet --profile server -p ccc-e2e --bin bench
