# Sourced by the benchmark scripts after they set `root`: builds what is missing, then gives
# them `bin`, a temp `work` dir removed on exit, and tl_start_server. A server started with it
# is killed on exit if still running.
source "$root/tools/deps.sh"
tl_prepare "$root" >/dev/null
bin="$root/build/bin"
work="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
mkfifo "$work/out"

# Starts tokenledgerd on DATA_DIR (port 0, --log-level warn, then any more flags) and waits
# until it listens: sets `server` (its pid) and `url`.
tl_start_server() {
  local data="$1" line
  shift
  "$bin/tokenledgerd" --data-dir "$data" --listen 127.0.0.1:0 --log-level warn "$@" > "$work/out" &
  server=$!
  read -r line < "$work/out"
  url="${line##* }"
}

# Stops the server tl_start_server started (SIGTERM, waits for it).
tl_stop_server() {
  kill -TERM "$server"
  wait "$server" || true
  server=""
}
