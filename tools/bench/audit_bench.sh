#!/usr/bin/env bash
# The audit benchmarks of docs/benchmarks.md on a synthetic ledger of N events (default 1M;
# 10M for the replay target): full replay into the projection (tokenctl replay), the server's
# rebuild at start (time to /readyz with no saved projection), exports to a file (tokenctl
# export, JSONL and CSV; and GET /v1/export over HTTP), and as-of queries on the running server
# (listing and validate as of a time in the middle of the history) next to the same query
# without as_of, plus verify-export. Reference in the same run: reading the export file back
# (cat > /dev/null) and sha256sum over it, and reading + decoding the log without applying it
# (tokenctl events of a namespace that does not exist), so disk and CPU speed of the moment can
# be judged.
# Usage: tools/bench/audit_bench.sh [EVENTS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
events="${1:-1000000}"
source "$root/tools/bench/common.sh"

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" -v name="$4" 'BEGIN { s = b - a; printf "%s %.2f s (%.0f events/s)\n", name, s, n / s }'; }
ms() { awk -v a="$1" -v b="$2" -v name="$3" 'BEGIN { printf "%s %.1f ms\n", name, (b - a) * 1000 }'; }

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $(uname -r), $events events"
"$bin/tl_bench" synth-ledger --dir "$work/data" --count "$events" --tokens-file "$work/tokens"
du -sh "$work/data" | awk '{print "data_dir_size " $1}'
head_seq="$events"

for run in 1 2 3; do  # three runs: this machine's noise is of the order of the margins
  t0=$(now); "$bin/tokenctl" --data-dir "$work/data" replay --as-of "$head_seq" --namespace none >/dev/null 2>&1; t1=$(now)
  rate "$events" "$t0" "$t1" "replay_full_run$run"
done
t0=$(now); "$bin/tokenctl" --data-dir "$work/data" events --namespace none >/dev/null 2>&1; t1=$(now)
rate "$events" "$t0" "$t1" "reference_read_and_decode_only"

# The server's first start finds no saved projection: it replays and saves it.
t0=$(now)
tl_start_server "$work/data"
t1=$(now)
rate "$events" "$t0" "$t1" "server_rebuild_to_listening"
auth="Authorization: Bearer $(cat "$work/data/admin.token")"

t0=$(now); curl -sf -H "$auth" -o "$work/http.jsonl" "$url/v1/export?format=jsonl"; t1=$(now)
rate "$events" "$t0" "$t1" "http_export_jsonl"

# As of a time in the middle of the history (events span the 400 days before now).
middle=$(date -u -d "@$(( $(date +%s) - 200 * 86400 ))" +%Y-%m-%dT%H:%M:%SZ)
secret=$(sed -n "$(( events / 3000 ))p" "$work/tokens")  # a token created a third into the history
for i in 1 2 3; do
  curl -sf -H "$auth" -o /dev/null -w 'list_now %{time_total}\n' "$url/v1/namespaces/bench7/tokens?limit=100"
  curl -sf -H "$auth" -o /dev/null -w 'list_as_of %{time_total}\n' "$url/v1/namespaces/bench7/tokens?limit=100&as_of=$middle"
  curl -sf -H "$auth" -o /dev/null -w 'list_as_of_active %{time_total}\n' \
    "$url/v1/namespaces/bench7/tokens?limit=100&status=active&as_of=$middle"
  curl -sf -o /dev/null -w 'validate_as_of %{time_total}\n' -d "{\"token\":\"$secret\",\"as_of\":\"$middle\"}" "$url/v1/validate"
done | awk '{ s[$1] += $2; n[$1]++ } END { for (k in s) printf "%s %.2f ms (mean of %d)\n", k, s[k] / n[k] * 1000, n[k] }' | sort
curl -sf -d "{\"token\":\"$secret\",\"as_of\":\"$middle\"}" "$url/v1/validate" | sed 's/^/validate_as_of_answer /'; echo
tl_stop_server

t0=$(now); "$bin/tokenctl" --data-dir "$work/data" replay --as-of "$middle" --namespace bench7 >/dev/null 2>&1; t1=$(now)
ms "$t0" "$t1" "replay_as_of_middle"
t0=$(now); "$bin/tokenctl" --data-dir "$work/data" export --format jsonl -o "$work/export.jsonl" 2>/dev/null; t1=$(now)
rate "$events" "$t0" "$t1" "export_jsonl_to_file"
ls -l "$work/export.jsonl" | awk '{printf "export_jsonl_bytes %.0f\n", $5}'
t0=$(now); "$bin/tokenctl" --data-dir "$work/data" export --format csv -o "$work/export.csv" 2>/dev/null; t1=$(now)
rate "$events" "$t0" "$t1" "export_csv_to_file"
key=$("$bin/tokenctl" --data-dir "$work/data" public-key)
t0=$(now); "$bin/tokenctl" verify-export "$work/export.jsonl" --public-key "$key" >/dev/null; t1=$(now)
rate "$events" "$t0" "$t1" "verify_export_jsonl"
t0=$(now); cat "$work/export.jsonl" > /dev/null; t1=$(now)
rate "$events" "$t0" "$t1" "reference_cat_export"
t0=$(now); sha256sum "$work/export.jsonl" > /dev/null; t1=$(now)
rate "$events" "$t0" "$t1" "reference_sha256sum_export"
t0=$(now); "$bin/tokenctl" --data-dir "$work/data" verify >/dev/null; t1=$(now)
rate "$events" "$t0" "$t1" "verify_data_dir"
