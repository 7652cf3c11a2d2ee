#!/usr/bin/env bash
# Builds the release widget into dist/ and writes pre-compressed .br and .gz
# siblings for the proxy to serve.
# CCC_WIDGET_DIST=<dir> builds into another directory; with
# CCC_WIDGET_NO_SOFTPHONE=1 the widget is built without its cargo feature
# `softphone` (make bench compares the two bundles: what the softphone costs).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
dist="${CCC_WIDGET_DIST:-dist}"
trunk_args=(--release --offline --dist "$dist")
[ "${CCC_WIDGET_NO_SOFTPHONE:-0}" = 1 ] && trunk_args+=(--no-default-features)

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

# The release wasm is built with the machine image's pinned nightly
# (nightly-2026-05-19; `make setup` adds rust-src and the wasm target to it),
# through environment variables that reach only this build: std rebuilt for
# the widget with panics that abort at once (no unwinding or panic message
# machinery), `Debug` output reduced to type names and no panic locations.
# Native crates, clippy and every test stay on stable. Without that nightly
# (or with CCC_WIDGET_TOOLCHAIN=stable) the build falls back to stable.
# target/ccc-widget-toolchain says which one built dist/ (make bench prints it).
toolchain=stable
if [ "${CCC_WIDGET_TOOLCHAIN:-nightly}" = nightly ]; then
  if rustup component list --installed --toolchain nightly 2>/dev/null | grep -q '^rust-src' &&
    rustup target list --installed --toolchain nightly 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    toolchain=nightly
  else
    echo "warning: no nightly toolchain with rust-src and wasm32-unknown-unknown (make setup adds them);" >&2
    echo "warning: building the release wasm with stable: a larger bundle" >&2
  fi
fi
if [ "$toolchain" = nightly ]; then
  export RUSTUP_TOOLCHAIN=nightly
  export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
  # Its own target directory: std and every dependency are compiled with
  # these flags, and the stable artifacts of tests and clippy stay intact.
  export CARGO_TARGET_DIR="$PWD/target/wasm-nightly"
  export RUSTFLAGS="$RUSTFLAGS -Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=shallow -Zlocation-detail=none"
  # -Zbuild-std compiles std's own dependencies: fetch them once, since
  # Trunk's build below runs offline.
  cargo fetch --quiet --target wasm32-unknown-unknown
fi
mkdir -p target
printf '%s (%s)\n' "$toolchain" "$(rustc -V)" >target/ccc-widget-toolchain

echo "==> building the widget (trunk build ${trunk_args[*]})" >&2
trunk build "${trunk_args[@]}" >/tmp/ccc-trunk-build.log 2>&1 || {
  cat /tmp/ccc-trunk-build.log >&2
  echo "trunk build failed (log above)" >&2
  exit 1
}
# Trunk's JS minifier cannot parse wasm-bindgen's glue (the build log says
# "Failed to minify JS" and the glue ships as written, comments and all), so
# terser (tools/package.json) minifies it here, and index.html's integrity
# attribute for it gets the new hash.
for js in "$dist"/*.js; do
  name=$(basename "$js")
  terser "$js" --module --compress --mangle --output "$js.min"
  mv "$js.min" "$js"
  sri="sha384-$(node -e 'const c=require("crypto");process.stdout.write(c.createHash("sha384").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$js")"
  sed -E -i "s#(href=\"?/?$name\"?[^>]*integrity=\"?)sha384-[A-Za-z0-9+/=]+#\1$sri#" "$dist"/index.html
  grep -q -- "$sri" "$dist"/index.html || {
    echo "could not update the integrity of $name in $dist/index.html" >&2
    exit 1
  }
done
find "$dist" -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' -o -name '*.svg' \) |
  while read -r f; do
    gzip -9 -k -f -n "$f"
    brotli -q 11 -k -f "$f"
  done
