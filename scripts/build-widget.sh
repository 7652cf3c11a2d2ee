#!/usr/bin/env bash
# Builds the release widget into dist/ and writes pre-compressed .br and .gz
# siblings for the proxy to serve.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

# Panic locations name source files: keep the build machine's cargo registry
# path out of the wasm (bytes, and hygiene). The toolchain's own paths are
# already /rustc/<hash>/... in the shipped std.
# Each registry index directory (`index.crates.io-<hash>`) maps to `c`, so a
# location reads `c/<crate>-<version>/src/...`: short, and the same on every
# machine.
registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
remap="--remap-path-prefix=$registry=c"
for index in "$registry"/*/; do
  remap="$remap --remap-path-prefix=${index%/}=c"
done
export RUSTFLAGS="$remap ${RUSTFLAGS:-}"

echo "==> building the widget (trunk build --release --offline)" >&2
trunk build --release --offline >/tmp/ccc-trunk-build.log 2>&1 || {
  cat /tmp/ccc-trunk-build.log >&2
  echo "trunk build failed (log above)" >&2
  exit 1
}
find dist -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' -o -name '*.svg' \) |
  while read -r f; do
    gzip -9 -k -f -n "$f"
    brotli -q 11 -k -f "$f"
  done
