#!/usr/bin/env bash
# Runs the libFuzzer targets of a build made with -DINGESTOR_FUZZ=ON (`make fuzz`, fuzz/README.md).
#
#   fuzz/run_fuzzers.sh BUILD_DIR
#
# Environment: FUZZ_SECONDS (default 60) per target; FUZZ_JOBS (default 1) targets at a time;
# FUZZ_TARGETS (default: every fuzz_* binary in BUILD_DIR) names, e.g. "chunked sigv4".
# Each target starts from its seeds in fuzz/corpus/<name>/ and fuzz/regressions/<name>/ and keeps
# what it learns in BUILD_DIR/fuzz-corpus/<name>/ (the checked-in seeds are never written).
# Crashes, leaks, timeouts and OOMs are written to BUILD_DIR/crashes/<name>-*; logs to
# BUILD_DIR/fuzz-logs/<name>.log. Exits non-zero when any target found something.
set -euo pipefail

build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}

targets=()
if [[ -n "${FUZZ_TARGETS:-}" ]]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  for bin in "$build"/fuzz_*; do
    name=$(basename "$bin")
    [[ -x "$bin" && "$name" != fuzz_replay_* ]] && targets+=("${name#fuzz_}")
  done
fi
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "run_fuzzers: no fuzz targets in $build (configure with -DINGESTOR_FUZZ=ON)" >&2
  exit 2
fi
mkdir -p "$build/crashes" "$build/fuzz-logs"

run_one() {
  local name=$1 bin="$build/fuzz_$1"
  if [[ ! -x "$bin" ]]; then
    echo "$name: no binary $bin" >&2
    return 1
  fi
  local work="$build/fuzz-corpus/$name"
  mkdir -p "$work"
  local dirs=("$work" "$root/fuzz/corpus/$name")
  [[ -d "$root/fuzz/regressions/$name" ]] && dirs+=("$root/fuzz/regressions/$name")
  local status=0
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$build/crashes/$name-" "${dirs[@]}" \
    >"$build/fuzz-logs/$name.log" 2>&1 || status=$?
  local stats
  stats=$(grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^#[0-9]+[[:space:]]+DONE' \
    "$build/fuzz-logs/$name.log" | tr '\n' ' ' || true)
  if [[ $status -eq 0 ]]; then
    echo "$name: ok ($stats)"
  else
    echo "$name: FOUND A PROBLEM (exit $status), see $build/fuzz-logs/$name.log and $build/crashes/"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*fuzz invariant failed|.*runtime error)' \
      "$build/fuzz-logs/$name.log" | head -5 | sed 's/^/    /'
  fi
  return $status
}
export -f run_one
export build root seconds

echo "run_fuzzers: ${targets[*]} for ${seconds}s each, $jobs at a time"
if printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$1"' _ {}; then
  echo "run_fuzzers: nothing found"
else
  echo "run_fuzzers: problems found; move each reproducer to fuzz/regressions/<name>/ once fixed"
  exit 1
fi
