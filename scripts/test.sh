#!/usr/bin/env bash
# Installs what the tests need, builds everything and runs the whole test suite (ctest).
#   ./scripts/test.sh            # RelWithDebInfo build in build/
#   PRESET=asan ./scripts/test.sh  # AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
PRESET="${PRESET:-default}"
scripts/deps.sh
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/portico-ccache}"
cmake --preset "$PRESET" >/dev/null
cmake --build --preset "$PRESET" -j "$(nproc)"
ctest --preset "$PRESET"
# Every fuzz target briefly (clang build in build-fuzz/; FUZZ_SECONDS=0 skips them).
if [[ "${FUZZ_SECONDS:-10}" != 0 ]]; then
  scripts/fuzz.sh "${FUZZ_SECONDS:-10}"
fi
