# Sourced by the build and test scripts: the project's own tools first.
# tools/node_modules/.bin holds wasm-opt 132 (see tools/package.json).
export PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tools/node_modules/.bin:$PATH"
