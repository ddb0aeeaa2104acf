#!/usr/bin/env bash
# Installs the Debian 12 packages tokenledger needs, only those missing. Sourced by run.sh and
# test.sh; safe to run on its own. Needs root (or sudo) only when something is missing.
set -euo pipefail

TL_PACKAGES=(cmake ninja-build g++ libboost1.81-dev libboost-json1.81-dev libboost-test1.81-dev
             libboost-program-options1.81-dev libboost-url1.81-dev librocksdb-dev libcereal-dev
             libssl-dev curl ca-certificates)

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
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

tl_build() {
  local root="$1"
  if [ ! -f "$root/build/build.ninja" ]; then
    cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$root/build" -j "$(nproc)"
}

# Installs what is missing and builds the checkout at $1.
tl_prepare() {
  tl_install_missing
  tl_build "$1"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  tl_install_missing "$@"
fi
