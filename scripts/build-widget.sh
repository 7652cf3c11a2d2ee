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
# Trunk's JS minifier cannot parse wasm-bindgen's glue (the build log says
# "Failed to minify JS" and the glue ships as written, comments and all), so
# terser (tools/package.json) minifies it here, and index.html's integrity
# attribute for it gets the new hash.
for js in dist/*.js; do
  name=$(basename "$js")
  terser "$js" --module --compress --mangle --output "$js.min"
  mv "$js.min" "$js"
  sri="sha384-$(node -e 'const c=require("crypto");process.stdout.write(c.createHash("sha384").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$js")"
  sed -E -i "s#(href=\"?/?$name\"?[^>]*integrity=\"?)sha384-[A-Za-z0-9+/=]+#\1$sri#" dist/index.html
  grep -q -- "$sri" dist/index.html || {
    echo "could not update the integrity of $name in dist/index.html" >&2
    exit 1
  }
done
find dist -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' -o -name '*.svg' \) |
  while read -r f; do
    gzip -9 -k -f -n "$f"
    brotli -q 11 -k -f "$f"
  done
