#!/usr/bin/env bash
# Back-pressure under overload: CLIENTS connections create tokens back to back (each waits for
# its fsync'd answer, then sends the next) against tokenledgerd with a small write queue
# (--max-write-queue 16) and with the default (10000), while one more connection validates
# and records its latency. Reports accepted and refused writes per second, write and
# validation latency, and the server's peak RSS (VmHWM), so the queue bound's effect on memory
# and latency can be read side by side; with a small queue also with clients that wait the
# Retry-After they are given.
# Usage: tools/bench/overload_bench.sh [CLIENTS] [SECONDS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
clients="${1:-256}"
seconds="${2:-10}"
source "$root/tools/bench/common.sh"

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $(uname -r), $clients clients, $seconds s"
# Three runs: a small queue with clients retrying at once (the worst case) and with clients
# honouring Retry-After, and the default queue.
for run in "16 retry" "16 honour" "10000 retry"; do
  set -- $run
  queue=$1
  flags=()
  [ "$2" = honour ] && flags=(--honour-retry-after)
  echo "## --max-write-queue $queue, clients $([ "$2" = honour ] && echo "honouring Retry-After" || echo "retrying at once")"
  tl_start_server "$work/data-$queue-$2" --max-write-queue "$queue"
  "$bin/tl_bench" overload --url "$url" --admin-token-file "$work/data-$queue-$2/admin.token" \
    --clients "$clients" --seconds "$seconds" "${flags[@]}" || echo "overload run reported errors"
  grep VmHWM "/proc/$server/status" | awk '{print "server_peak_rss_kb " $2}'
  curl -s "$url/metrics" | grep '^tokenledger_writes_overloaded_total'
  tl_stop_server
done
