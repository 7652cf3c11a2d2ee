#!/usr/bin/env bash
# Prints the performance figures (bundle bytes, time to first state, command
# and long-poll latency, upstream load). Figures, not pass/fail: compare
# them between builds.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

# Where the widget's bytes go: twiggy over the release wasm, optimised like
# the bundle but keeping function names (-g), so the table names functions.
if ! command -v twiggy >/dev/null; then
  echo "==> installing twiggy (once)" >&2
  cargo install twiggy --version 0.8.0 --locked --quiet
fi
# The release wasm of dist/: built by nightly in its own target directory
# (scripts/build-widget.sh), or by stable when nightly was missing.
wasm=target/wasm32-unknown-unknown/release/ccc_toolbar.wasm
if grep -q '^nightly' target/ccc-widget-toolchain 2>/dev/null; then
  wasm=target/wasm-nightly/wasm32-unknown-unknown/release/ccc_toolbar.wasm
fi
if [ -f "$wasm" ]; then
  tmp=$(mktemp -d)
  wasm-bindgen "$wasm" --out-dir "$tmp" --target web --no-typescript
  wasm-opt -Oz --converge -g "$tmp/ccc_toolbar_bg.wasm" -o "$tmp/named.wasm"
  echo "twiggy top 10 of the widget's wasm (release, wasm-opt -Oz; the names"
  echo "section, kept only for this table, is left out of the rows but not of the sum):"
  twiggy top -n 11 "$tmp/named.wasm" | grep -v '"function names" subsection' 
  rm -rf "$tmp"
fi

# The same bundle without the widget's cargo feature `softphone`: the bench
# prints the difference (what the softphone costs). dist/ stays as it is.
if [ -z "${CCC_BENCH:-}" ] || [[ ",$CCC_BENCH," == *,bundle,* ]]; then
  CCC_WIDGET_DIST=target/dist-no-softphone CCC_WIDGET_NO_SOFTPHONE=1 scripts/build-widget.sh
fi

cargo run --quiet --profile server -p ccc-e2e --bin bench
# CCC_BENCH=bundle,first-state (for example) runs only those bench sections.
[ -z "${CCC_BENCH:-}" ] || exit 0
# Scale: upstream calls per state change (events vs polling), freshness across
# replicas (starts its own redis-server), memory per 1,000 waiting long-polls.
cargo build --quiet --profile server -p ccc-proxy --bin ccc-proxy
cargo run --quiet --profile server -p ccc-e2e --bin scale
