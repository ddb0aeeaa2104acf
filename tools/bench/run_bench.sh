#!/usr/bin/env bash
# Runs the benchmarks of docs/benchmarks.md against a fresh tokenledgerd on a temp data dir:
# durable creates/s at 1, 16 and 64 clients (reference: raw RocksDB fsync'd writes/s on the
# same disk), validations/s on one keep-alive connection (reference: /healthz on the same
# connection), and the time to /readyz after a restart with N tokens (from the persisted
# projection, and with it dropped so the whole log is replayed).
# Usage: tools/bench/run_bench.sh [SECONDS_PER_RUN] [TOKENS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seconds="${1:-5}"
tokens="${2:-100000}"
source "$root/tools/bench/common.sh"

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $(uname -r)"
"$bin/tl_bench" fsync-reference --dir "$work/ref" --seconds "$seconds"

tl_start_server "$work/data"
admin="$work/data/admin.token"
for c in 1 16 64; do
  "$bin/tl_bench" creates --url "$url" --admin-token-file "$admin" --clients "$c" --seconds "$seconds"
done
"$bin/tl_bench" validate --url "$url" --admin-token-file "$admin" --seconds "$seconds"
tl_stop_server

# Restart with exactly $tokens tokens, on a data dir of their own.
tl_start_server "$work/restart"
"$bin/tl_bench" populate --url "$url" --admin-token-file "$work/restart/admin.token" --count "$tokens" --clients 64
tl_stop_server
du -sh "$work/restart" | awk '{print "data_dir_size " $1}'
"$bin/tl_bench" restart --bin "$bin/tokenledgerd" --dir "$work/restart"
"$bin/tl_bench" restart-full-replay --bin "$bin/tokenledgerd" --dir "$work/restart"
"$bin/tl_bench" restart --bin "$bin/tokenledgerd" --dir "$work/restart"
