#!/usr/bin/env bash
# Installs what building and testing the toolbar needs, and nothing that is
# already there. Safe to run again: quiet when everything is present.
#
#   - Rust target wasm32-unknown-unknown (rustup); on the image's pinned
#     nightly too, with rust-src (the release wasm's -Zbuild-std)
#   - Trunk 0.21.14 (cargo install --locked)
#   - wasm-bindgen-cli, the exact version of the wasm-bindgen crate in Cargo.lock
#   - wasm-opt from binaryen 132 and terser (npm, locked in tools/package-lock.json):
#     Debian's wasm-opt 108 corrupts wasm-bindgen's externref table; and
#     axe-core for the end-to-end accessibility audit
#   - Debian packages: chromium, chromium-driver (browser tests), brotli and
#     gzip (pre-compressed assets), a CJK font (the zh-CN interface in test
#     screenshots; agents' desktops have one), npm (only if missing),
#     redis-server (the proxy's replica tests start their own on a free port),
#     kamailio with its websocket and auth_ephemeral modules (the softphone
#     relay's interop test starts its own on a free port)
set -euo pipefail

cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# --- Rust target ----------------------------------------------------------
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding Rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# --- Nightly for the release wasm (scripts/build-widget.sh) -------------------
# The machine image pins nightly-2026-05-19 (`nightly` in rustup); the release
# wasm is built with it for -Zbuild-std and friends, which need std's sources
# and the wasm target on that toolchain. Native crates stay on stable. Without
# a nightly the build falls back to stable (with a warning): nothing to add.
if rustup toolchain list 2>/dev/null | grep -q '^nightly-'; then
  if ! rustup component list --installed --toolchain nightly 2>/dev/null | grep -q '^rust-src'; then
    say "adding rust-src to the nightly toolchain (release wasm, -Zbuild-std)"
    rustup component add rust-src --toolchain nightly
  fi
  if ! rustup target list --installed --toolchain nightly 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "adding wasm32-unknown-unknown to the nightly toolchain"
    rustup target add wasm32-unknown-unknown --toolchain nightly
  fi
fi

# --- Debian packages ------------------------------------------------------
need_pkgs=()
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_pkgs+=(chromium-driver)
command -v npm >/dev/null 2>&1 || need_pkgs+=(npm)
command -v brotli >/dev/null 2>&1 || need_pkgs+=(brotli)
command -v gzip >/dev/null 2>&1 || need_pkgs+=(gzip)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need_pkgs+=(fonts-wqy-microhei)
command -v redis-server >/dev/null 2>&1 || need_pkgs+=(redis-server)
# Kamailio: the softphone relay's interop test registers through it.
[ -x /usr/sbin/kamailio ] || need_pkgs+=(kamailio)
dpkg -s kamailio-websocket-modules >/dev/null 2>&1 || need_pkgs+=(kamailio-websocket-modules)
dpkg -s kamailio-autheph-modules >/dev/null 2>&1 || need_pkgs+=(kamailio-autheph-modules)
if ((${#need_pkgs[@]})); then
  say "installing Debian packages: ${need_pkgs[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to install: ${need_pkgs[*]}" >&2; exit 1; }
    SUDO=sudo
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# --- wasm-opt (binaryen from npm, exact version from the lock file) ----------
if [ "$(tools/node_modules/.bin/wasm-opt --version 2>/dev/null || true)" != "wasm-opt version 132 (version_132)" ] ||
  [ ! -f tools/node_modules/axe-core/axe.min.js ] ||
  [ ! -x tools/node_modules/.bin/terser ]; then
  say "installing npm tools: wasm-opt (binaryen 132), terser, axe-core"
  (cd tools && npm ci --silent --no-audit --no-fund --loglevel=error >/dev/null)
fi

# --- Trunk ------------------------------------------------------------------
if [ "$(trunk --version 2>/dev/null || true)" != "trunk $TRUNK_VERSION" ]; then
  say "installing Trunk $TRUNK_VERSION (takes a few minutes, once)"
  cargo install trunk --version "$TRUNK_VERSION" --locked --quiet
fi

# --- wasm-bindgen CLI (must equal the crate version exactly) -----------------
if [ ! -f Cargo.lock ]; then
  cargo generate-lockfile --quiet
fi
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$WB_VERSION" ]; then
  echo "could not read the wasm-bindgen version from Cargo.lock" >&2
  exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WB_VERSION" ] ||
  ! command -v wasm-bindgen-test-runner >/dev/null 2>&1; then
  say "installing wasm-bindgen-cli $WB_VERSION (about two minutes, once)"
  # Not --locked: its lock file pins a crate version the registry here lacks.
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --quiet
fi
