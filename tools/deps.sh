#!/usr/bin/env bash
# Installs the Debian 12 packages tokenledger needs, only those missing. Sourced by run.sh and
# test.sh; safe to run on its own. Needs root (or sudo) only when something is missing.
set -euo pipefail

TL_PACKAGES=(cmake ninja-build g++ libboost1.81-dev libboost-json1.81-dev libboost-test1.81-dev
             libboost-program-options1.81-dev libboost-url1.81-dev librocksdb-dev libcereal-dev
             libssl-dev zlib1g-dev curl ca-certificates)
# The real peers the integration tests drive: nginx (auth_request), redis-cli/redis-benchmark.
TL_TEST_PACKAGES=(nginx-light redis-tools)
# The checked builds (tools/sanitize.sh, tools/fuzz.sh): clang with its sanitizer and libFuzzer
# runtimes, and llvm-symbolizer for readable reports.
TL_CHECKED_PACKAGES=(clang-14 libclang-rt-14-dev llvm-14)
# The benchmarks' references and load generators (tools/bench/run_bench.sh).
TL_BENCH_PACKAGES=(nginx-light redis-server redis-tools wrk)

tl_install_missing() {
  local missing=()
  for p in "${TL_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "tokenledger: installing missing packages: ${missing[*]}" >&2
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "tokenledger: need root or sudo to install ${missing[*]}" >&2; return 1; }
    sudo=(sudo)
  fi
  # Packaged services (nginx, redis-server) must not start on install: the tests and benchmarks
  # run their own instances on loopback ports. policy-rc.d is Debian's switch for that.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    made_policy=1
  fi
  local rc=0
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq || rc=$?
  if [ $rc -eq 0 ]; then
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  fi
  [ $made_policy -eq 1 ] && "${sudo[@]}" rm -f "$policy"
  return $rc
}

tl_build() {
  local root="$1"
  if [ ! -f "$root/build/build.ninja" ]; then
    cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$root/build" -j "$(nproc)"
}

# Builds the checked configuration $2 of the checkout at $1 in $1/build-$2: asan (ASan+UBSan
# with libFuzzer coverage and the fuzz targets) or tsan (ThreadSanitizer; only what the
# concurrency tests need). clang, -O1 with line tables: fast to build, readable reports.
tl_build_checked() {
  local root="$1" kind="$2" dir="$1/build-$2"
  local flags=(-DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo
               "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only")
  case "$kind" in
    asan) flags+=(-DTL_SANITIZE=address,undefined -DTL_FUZZ=ON) ;;
    tsan) flags+=(-DTL_SANITIZE=thread) ;;
  esac
  [ -f "$dir/build.ninja" ] || cmake -S "$root" -B "$dir" -G Ninja "${flags[@]}" >/dev/null
  if [ "$kind" = tsan ]; then
    cmake --build "$dir" -j "$(nproc)" --target projections_tests server_tests
  else
    cmake --build "$dir" -j "$(nproc)"
  fi
}

# Installs what is missing and builds the checkout at $1.
tl_prepare() {
  tl_install_missing
  tl_build "$1"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  tl_install_missing "$@"
fi
