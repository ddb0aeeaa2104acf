#!/usr/bin/env bash
# The gateway benchmarks of docs/benchmarks.md, side by side in one run, on this machine (the
# load generators share its cores with the servers):
#   1. N tokens through the real ledger (tl_bench bulk-load), then tokenledgerd restarted on them;
#   2. wrk -t2 -c64: nginx `return 200` vs tokenledgerd GET /v1/auth (random valid tokens);
#   3. wrk -t2 -c64 through nginx auth_request: to an nginx `return 200` vs to tokenledgerd;
#   4. RESP, 50 connections x 16 pipelined: Redis GET on N 64-hex keys vs VALIDATE on N tokens
#      (tl_bench resp-load for both), plus redis-benchmark -r on Redis and on one fixed token;
#   5. memory: active-index bytes and server RSS per active token vs Redis bytes per key;
#   6. latency of /v1/auth at half the wrk peak, open loop (tl_bench http-rate);
#   7. a perf profile of tokenledgerd under the wrk /v1/auth load (when perf works here).
# Usage: tools/bench/gateway_bench.sh [TOKENS=1000000] [SECONDS=10]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tokens="${1:-1000000}"
seconds="${2:-10}"
source "$root/tools/deps.sh"
tl_install_missing "${TL_BENCH_PACKAGES[@]}"
tl_build "$root" >/dev/null
bin="$root/build/bin"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Loopback ports that nobody answers on right now.
port_base=$((20000 + RANDOM % 20000))
# alloc_port VAR: sets VAR to the next such port (no subshell, so the base advances).
alloc_port() {
  while (exec 3<>"/dev/tcp/127.0.0.1/$port_base") 2>/dev/null; do port_base=$((port_base + 1)); done
  printf -v "$1" '%s' "$port_base"
  port_base=$((port_base + 1))
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
# wrk -t2 -c64 for $seconds on URL with random tokens; prints "requests/s cpu-us-per-request"
# where the CPU is that of the server processes PIDS... (user + system; non-2xx must be 0).
run_wrk() {
  local url="$1" out before after
  shift
  before=$(cpu_ticks "$@")
  out="$(TOKENS_FILE="$work/tokens.txt" wrk -t2 -c64 -d"${seconds}s" -s "$root/tools/bench/wrk_tokens.lua" "$url")"
  after=$(cpu_ticks "$@")
  if grep -q "Non-2xx" <<<"$out"; then echo "wrk on $url got errors: $out" >&2; exit 1; fi
  awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" '/^Requests\/sec/ {rps = $2} / requests in / {n = $1}
    END {printf "%.0f %.1f", rps, t / hz * 1e6 / n}' <<<"$out"
}

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(uname -r)"
echo "# $(nginx -v 2>&1), $(redis-server --version | cut -d' ' -f1-3), $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"

# 1. The ledger with N tokens.
"$bin/tl_bench" bulk-load --dir "$work/data" --count "$tokens" --tokens-file "$work/tokens.txt"
alloc_port tl_port; alloc_port resp_port
"$bin/tokenledgerd" --data-dir "$work/empty" --listen "127.0.0.1:$tl_port" --threads 2 --log-level warn >/dev/null &
empty_pid=$!; pids+=("$empty_pid")
wait_port "$tl_port"
sleep 1
empty_rss=$(rss_kb "$empty_pid")
kill -TERM "$empty_pid"; wait "$empty_pid" || true
"$bin/tokenledgerd" --data-dir "$work/data" --listen "127.0.0.1:$tl_port" --resp-listen "127.0.0.1:$resp_port" \
  --threads 2 --log-level warn >/dev/null &
tl_pid=$!; pids+=("$tl_pid")
wait_port "$tl_port"
curl -sf "http://127.0.0.1:$tl_port/readyz" >/dev/null

# nginx, two instances of 2 workers each (as tokenledgerd has 2 I/O threads): "ref" answers
# `return 200` (the reference server, and the reference auth server); "gw" is the gateway, with
# auth_request to ref or to tokenledgerd in front of a static file.
alloc_port ref_port; alloc_port gw_nginx_port; alloc_port gw_tl_port
mkdir -p "$work/ref/tmp" "$work/nginx/tmp" "$work/nginx/www"
echo ok > "$work/nginx/www/index.html"
user_line=""; [ "$(id -u)" -eq 0 ] && user_line="user root;"
nginx_head() {  # DIR
  cat <<CONF
$user_line
worker_processes 2;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
CONF
}
temp_paths() {  # DIR
  echo "client_body_temp_path $1/tmp/body; proxy_temp_path $1/tmp/proxy; fastcgi_temp_path $1/tmp/fastcgi;"
  echo "uwsgi_temp_path $1/tmp/uwsgi; scgi_temp_path $1/tmp/scgi;"
}
cat > "$work/ref/nginx.conf" <<CONF
$(nginx_head "$work/ref")
http {
  access_log off;
  $(temp_paths "$work/ref")
  # No body, like tokenledgerd's 200: nginx keeps an auth_request upstream connection alive
  # only when the sub-request response has no body to skip.
  server { listen 127.0.0.1:$ref_port; location / { return 200; } }
}
CONF
cat > "$work/nginx/nginx.conf" <<CONF
$(nginx_head "$work/nginx")
http {
  access_log off;
  $(temp_paths "$work/nginx")
  upstream nginx_auth { server 127.0.0.1:$ref_port; keepalive 64; }
  upstream tokenledger { server 127.0.0.1:$tl_port; keepalive 64; }
  server {
    listen 127.0.0.1:$gw_nginx_port; root $work/nginx/www;
    location / { auth_request /_auth; }
    location = /_auth { internal; proxy_pass http://nginx_auth/; proxy_http_version 1.1; proxy_set_header Connection "";
                        proxy_pass_request_body off; proxy_set_header Content-Length ""; }
  }
  server {
    listen 127.0.0.1:$gw_tl_port; root $work/nginx/www;
    location / { auth_request /_auth; }
    location = /_auth { internal; proxy_pass http://tokenledger/v1/auth; proxy_http_version 1.1; proxy_set_header Connection "";
                        proxy_pass_request_body off; proxy_set_header Content-Length ""; }
  }
}
CONF
nginx -p "$work/ref" -c "$work/ref/nginx.conf" -g "daemon off;" &
ref_master=$!; pids+=("$ref_master")
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g "daemon off;" &
pids+=($!)
wait_port "$gw_tl_port"
wait_port "$ref_port"
ref_workers=$(pgrep -P "$ref_master" | tr '\n' ' ')
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(head -1 "$work/tokens.txt")" \
      "http://127.0.0.1:$gw_tl_port/index.html")" = 200 ] || { echo "gateway check failed" >&2; exit 1; }

# 2 and 3: each pair twice, interleaved, so drift on this shared machine hits both sides.
declare -A best
for round in 1 2; do
  for name in nginx_return200 tokenledgerd_auth gateway_to_nginx gateway_to_tokenledgerd; do
    case $name in
      nginx_return200) url="http://127.0.0.1:$ref_port/"; cpu_pids=($ref_workers) ;;
      tokenledgerd_auth) url="http://127.0.0.1:$tl_port/v1/auth"; cpu_pids=("$tl_pid") ;;
      gateway_to_nginx) url="http://127.0.0.1:$gw_nginx_port/index.html"; cpu_pids=($ref_workers) ;;
      gateway_to_tokenledgerd) url="http://127.0.0.1:$gw_tl_port/index.html"; cpu_pids=("$tl_pid") ;;
    esac
    read -r rps cpu < <(run_wrk "$url" "${cpu_pids[@]}") || true
    [ -n "${rps:-}" ] || { echo "wrk on $url failed" >&2; exit 1; }
    echo "wrk_${name}_round${round} $rps req/s (auth/answering server: $cpu us CPU per request)"
    [ "${best[$name]:-0}" -lt "$rps" ] && best[$name]=$rps
  done
done

# 4. RESP: Redis with N 64-hex keys, then the same client against both.
alloc_port redis_port
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
  --dir "$work" --logfile "$work/redis.log" &
redis_pid=$!; pids+=("$redis_pid")
wait_port "$redis_port"
redis_base=$(redis-cli -p "$redis_port" info memory | awk -F: '/^used_memory:/ {print $2+0}')
redis_rss_base=$(rss_kb "$redis_pid")
prefix="$(printf 'a%.0s' $(seq 1 52))"
"$bin/tl_bench" redis-keys --count "$tokens" --keys-file "$work/keys.txt" --resp-file "$work/keys.resp" \
  --key-prefix "$prefix"
redis-cli -p "$redis_port" --pipe < "$work/keys.resp" | tail -1
redis_used=$(redis-cli -p "$redis_port" info memory | awk -F: '/^used_memory:/ {print $2+0}')
redis_rss=$(rss_kb "$redis_pid")
for round in 1 2; do
  "$bin/tl_bench" resp-load --port "$redis_port" --clients 50 --pipeline 16 --seconds "$seconds" --command GET \
    --keys-file "$work/keys.txt" --label "resp_redis_get_round$round"
  "$bin/tl_bench" resp-load --port "$resp_port" --clients 50 --pipeline 16 --seconds "$seconds" --command VALIDATE \
    --tokens-file "$work/tokens.txt" --label "resp_tokenledgerd_validate_round$round"
done | tee "$work/resp.txt"
n_bench=$((seconds * 150000))
rb_rate() { tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1; }
rb_redis=$(redis-benchmark -p "$redis_port" -c 50 -P 16 -r "$tokens" -n "$n_bench" -q GET "${prefix}__rand_int__" | rb_rate)
# redis-benchmark cannot draw tokens (-r writes digits, a token ends in a checksum): one token.
rb_tl=$(redis-benchmark -p "$resp_port" -c 50 -P 16 -n "$n_bench" -q VALIDATE "$(head -1 "$work/tokens.txt")" | rb_rate)
echo "redis_benchmark_redis_get_random_keys $rb_redis req/s"
echo "redis_benchmark_tokenledgerd_validate_one_token $rb_tl req/s"

# 5. Memory.
tl_rss=$(rss_kb "$tl_pid")
index_bytes=$(curl -s "http://127.0.0.1:$tl_port/metrics" | awk '/^tokenledger_active_index_bytes/ {print $2}')
active=$(curl -s "http://127.0.0.1:$tl_port/metrics" | awk '/^tokenledger_active_tokens/ {print $2}')
echo "active_tokens $active"
echo "index_bytes_per_active_token $(ratio "$index_bytes" "$active") B"
echo "tokenledgerd_rss_per_active_token $(ratio $(( (tl_rss - empty_rss) * 1024 )) "$active") B (RSS $((tl_rss / 1024)) MiB, empty server $((empty_rss / 1024)) MiB)"
echo "redis_used_memory_per_key $(ratio $((redis_used - redis_base)) "$tokens") B"
echo "redis_rss_per_key $(ratio $(( (redis_rss - redis_rss_base) * 1024 )) "$tokens") B"

# 6. Latency at half the peak, open loop.
half=$(( best[tokenledgerd_auth] / 2 ))
"$bin/tl_bench" http-rate --port "$tl_port" --clients 32 --rate "$half" --seconds "$seconds" \
  --tokens-file "$work/tokens.txt" --label auth_at_half_peak

# 7. Where the time goes.
if perf stat -e task-clock true >/dev/null 2>&1; then
  TOKENS_FILE="$work/tokens.txt" wrk -t2 -c64 -d"$((seconds + 2))s" -s "$root/tools/bench/wrk_tokens.lua" \
    "http://127.0.0.1:$tl_port/v1/auth" >/dev/null &
  wrk_pid=$!
  sleep 1
  perf record -F 999 -g -o "$work/perf.data" -p "$tl_pid" -- sleep "$((seconds / 2 + 1))" 2>/dev/null >/dev/null || true
  wait "$wrk_pid" || true
  echo "# perf: top functions of tokenledgerd under wrk /v1/auth (self time)"
  perf report -i "$work/perf.data" --stdio --no-children -g none --sort dso,symbol 2>/dev/null |
    grep -E '^ +[0-9]' | head -25 | cut -c1-150 | sed 's/ *$//' || true
  perf report -i "$work/perf.data" --stdio --no-children -g none --sort dso 2>/dev/null | grep -E '^ +[0-9]' | head -6 || true
fi

resp_redis=$(awk '/resp_redis_get_round/ && /per_second/ {if ($2 > m) m = $2} END {print m}' "$work/resp.txt")
resp_tl=$(awk '/resp_tokenledgerd_validate_round/ && /per_second/ {if ($2 > m) m = $2} END {print m}' "$work/resp.txt")
echo "# ratios (best of two rounds each; target in brackets)"
echo "ratio_http_auth_vs_nginx_return200 $(ratio "${best[tokenledgerd_auth]}" "${best[nginx_return200]}") [>= 1.0]"
echo "ratio_auth_request_tokenledgerd_vs_nginx $(ratio "${best[gateway_to_tokenledgerd]}" "${best[gateway_to_nginx]}") [>= 0.95]"
echo "ratio_resp_validate_vs_redis_get $(ratio "$resp_tl" "$resp_redis") [>= 1.0]"
echo "index_bytes_per_active_token $(ratio "$index_bytes" "$active") [<= 100]"
