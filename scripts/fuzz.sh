#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`: clang-14, ASan + UBSan, in build-fuzz/) and runs
# each for SECONDS (default 60) on a copy of its seed corpus, one after the other.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     # TARGET: http_template, json_to_wire, ...
# Each target stops at its first crash, leak, timeout or failed check, and the script then fails;
# the input is kept in build-fuzz/fuzz-artifacts/ (add it to tests/fuzz/corpus/<target>/ with
# the fix). The working corpora live in build-fuzz/fuzz-corpus/ and grow across runs; the
# repository's seeds grow only by hand. FUZZ_ARGS adds libFuzzer flags (e.g. FUZZ_ARGS="-runs=10000000").
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-60}"
shift || true
scripts/deps.sh clang-14 libclang-rt-14-dev
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/portico-ccache}"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"

targets=("$@")
if ((${#targets[@]} == 0)); then  # every target CMake configured (tests/fuzz/CMakeLists.txt)
  while read -r name; do [[ -n "$name" ]] && targets+=("${name%_fuzz}"); done \
    <build-fuzz/tests/fuzz/fuzzers.txt
fi
out=build-fuzz/fuzz-artifacts
mkdir -p "$out"
failed=()
for t in "${targets[@]}"; do
  bin="build-fuzz/tests/fuzz/${t}_fuzz"
  [[ -x "$bin" ]] || { echo "fuzz: no binary $bin" >&2; exit 2; }
  corpus="build-fuzz/fuzz-corpus/$t"
  mkdir -p "$corpus"
  cp -n "tests/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null || true
  log="$out/$t.log"
  dict=()
  [[ -f "tests/fuzz/$t.dict" ]] && dict=(-dict="tests/fuzz/$t.dict")
  # -timeout: one input taking longer is a hang (a failure); -rss_limit_mb: the 2 GB default.
  # shellcheck disable=SC2086
  if "$bin" "$corpus" "${dict[@]}" -max_total_time="$SECONDS_EACH" -timeout=10 \
       -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/$t-" \
       ${FUZZ_ARGS:-} >"$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$t")
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  printf 'fuzz: %-18s %-6s %12s runs %8s exec/s  (%s)\n' "$t" "$status" "${runs:-?}" "${rate:-?}" "$log"
  if [[ $status == FAILED ]]; then
    grep -E 'ERROR|FUZZ_CHECK|SUMMARY|Test unit written|runtime error' "$log" | head -20 >&2 || true
  fi
done
echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
