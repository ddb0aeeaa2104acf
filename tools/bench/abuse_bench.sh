#!/usr/bin/env bash
# The front-door abuse figures of docs/reliability.md: runs the abuse tests (tests/integration/
# abuse_tests.cc: slowloris, 10k idle connections, the connection limit, huge headers, 1 MB
# bodies, endless pipelining, and a reference run with no attack) RUNS times on the Release
# build and prints the well-behaved client's latency and the server's memory under each.
# Usage: tools/bench/abuse_bench.sh [RUNS]   (default 3)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/tools/deps.sh"
tl_prepare "$root"
runs="${1:-3}"
for i in $(seq 1 "$runs"); do
  echo "== run $i/$runs"
  "$root/build/bin/abuse_tests" --log_level=message --color_output=false 2>&1 | grep -E "validations|RSS|KiB|rounds|errors|failure"
done
