#!/usr/bin/env bash
# The checked builds: the whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer
# (clang, build-asan: the same build holds the fuzz targets), then the concurrency tests (the
# ledger's writer, waiters and index; the front end and router) under ThreadSanitizer
# (build-tsan). Installs what is missing; exits non-zero on any report or failure.
# Usage: tools/sanitize.sh [asan|tsan]...   (default both)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source tools/deps.sh
kinds=("$@")
[ ${#kinds[@]} -eq 0 ] && kinds=(asan tsan)
tl_install_missing "${TL_TEST_PACKAGES[@]}" "${TL_CHECKED_PACKAGES[@]}"
for kind in "${kinds[@]}"; do
  case "$kind" in
    asan)
      tl_build_checked "$root" asan
      echo "== ASan+UBSan: every test" >&2
      (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --output-on-failure --timeout 900 -j2)
      ;;
    tsan)
      tl_build_checked "$root" tsan
      echo "== TSan: the concurrency tests" >&2
      # RocksDB is not instrumented: its own atomics order a Get against a memtable insert, which
      # TSan cannot see, so reports inside librocksdb are suppressed (ours are not).
      (cd build-tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$root/tools/tsan.supp" \
        ctest --output-on-failure --timeout 900 -R '^(projections_tests|server_tests)$')
      ;;
    *) echo "tools/sanitize.sh: unknown kind $kind (asan or tsan)" >&2; exit 2 ;;
  esac
done
