#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit, integration, the crash harness)
# through CTest; then the web console in headless Chromium (tools/browser_test.sh; screenshots
# in build/artifacts); then the checked builds: the whole suite under ASan+UBSan, the concurrency
# tests under TSan (tools/sanitize.sh), and each fuzz target for 60 s (tools/fuzz.sh).
# Exits non-zero on any failure. TL_QUICK=1 skips the checked builds (a quick local loop);
# arguments go to the first ctest (e.g. -R server_tests).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source tools/deps.sh
tl_install_missing "${TL_TEST_PACKAGES[@]}"
tl_build "$root"
(cd build && ctest --output-on-failure --timeout 900 "$@")
tools/browser_test.sh
if [ "${TL_QUICK:-0}" != 1 ]; then
  tools/sanitize.sh asan tsan
  tools/fuzz.sh "${TL_FUZZ_SECONDS:-60}"
fi
