#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit and integration) through CTest.
# Exits non-zero on any failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source tools/deps.sh
tl_install_missing "${TL_TEST_PACKAGES[@]}"
tl_build "$root"
cd build
ctest --output-on-failure --timeout 900 "$@"
