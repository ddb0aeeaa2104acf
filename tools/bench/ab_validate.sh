#!/usr/bin/env bash
# Validation throughput of two builds side by side, alternating in one go so the machine's noise
# falls on both: each build bulk-loads N tokens into its own data dir (with its own tl_bench, so
# each reads a data dir of its own format), then serves RESP while tl_bench resp-load sends
# random valid tokens (50 clients x 16 pipelined) for SECONDS, ROUNDS times each, A then B.
# Usage: tools/bench/ab_validate.sh A_BIN_DIR B_BIN_DIR [TOKENS=1000000] [SECONDS=10] [ROUNDS=5]
# e.g. a build of an older commit (git worktree add /tmp/base <commit>; build it there) vs build/bin.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
a="$1" b="$2" tokens="${3:-1000000}" seconds="${4:-10}" rounds="${5:-5}"
source "$root/tools/bench/common.sh"
for side in a b; do
  dir="${!side}"
  "$dir/tl_bench" bulk-load --dir "$work/$side" --count "$tokens" --tokens-file "$work/tokens-$side.txt" >/dev/null
done
for round in $(seq 1 "$rounds"); do
  for side in a b; do
    dir="${!side}"
    "$dir/tokenledgerd" --data-dir "$work/$side" --listen 127.0.0.1:0 --resp-listen 127.0.0.1:0 --threads 2 \
      --log-level warn > "$work/out-$side" &
    server=$!
    for _ in $(seq 1 600); do grep -q "resp listening" "$work/out-$side" && break; sleep 0.1; done
    port="$(sed -n 's/^tokenledgerd resp listening on .*://p' "$work/out-$side")"
    "$bin/tl_bench" resp-load --port "$port" --clients 50 --pipeline 16 --seconds "$seconds" --command VALIDATE \
      --tokens-file "$work/tokens-$side.txt" --label "${side}_round$round" | grep per_second
    kill -TERM "$server"
    wait "$server" || true
    server=""
  done
done
