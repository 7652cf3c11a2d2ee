#!/usr/bin/env bash
# Runs the end-to-end suite REPEAT times in a row (default 10) against one
# release build of the widget, stopping at the first failing run: the
# flakiness check behind "the e2e suite passes ten times in a row".
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

repeat=${REPEAT:-10}
case $repeat in '' | *[!0-9]* | 0) echo "REPEAT must be a positive whole number, not '$repeat'" >&2; exit 2 ;; esac

scripts/build-widget.sh
cargo test -p ccc-e2e --no-run --quiet 2>&1

log_dir=artifacts/e2e-repeat
mkdir -p "$log_dir"
started=$SECONDS
for i in $(seq 1 "$repeat"); do
  log="$log_dir/run-$i.log"
  run_started=$SECONDS
  if cargo test -p ccc-e2e --quiet -- --test-threads=2 >"$log" 2>&1; then
    passed=$(grep -Eo '^test result: ok\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
    printf 'run %d/%d: ok, %d tests, %d s\n' "$i" "$repeat" "$passed" $((SECONDS - run_started))
  else
    printf 'run %d/%d: FAILED after %d s; the log is %s\n' "$i" "$repeat" $((SECONDS - run_started)) "$log" >&2
    grep -E '^(test .* FAILED|---- |thread .* panicked)' "$log" >&2 || true
    exit 1
  fi
done
printf 'the end-to-end suite passed %d times in a row in %d s\n' "$repeat" $((SECONDS - started))
