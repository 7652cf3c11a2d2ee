#!/usr/bin/env bash
# Every check CI runs, in order of cost. Fails on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "format (cargo fmt --check)"
cargo fmt --all -- --check

step "lint native crates (clippy -D warnings)"
cargo clippy --workspace --all-targets --all-features --quiet -- -D warnings

step "lint the widget for wasm32 (clippy -D warnings)"
cargo clippy -p ccc-toolbar --target wasm32-unknown-unknown --all-targets --quiet -- -D warnings

step "native tests (model, simulator, proxy, widget logic)"
cargo test --workspace --all-features --exclude ccc-e2e 2>&1

step "widget tests in headless Chromium (wasm-bindgen-test)"
CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver} \
  cargo test -p ccc-toolbar --target wasm32-unknown-unknown 2>&1

step "release bundle"
scripts/build-widget.sh

if [ -d crates/ccc-e2e ]; then
  step "end-to-end: widget + proxy + simulator in headless Chromium"
  # Each test runs its own Chromium and stack: two at a time on small machines.
  cargo test -p ccc-e2e 2>&1 -- --test-threads=2
fi
