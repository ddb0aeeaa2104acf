#!/usr/bin/env bash
# Runs the libFuzzer targets (tests/fuzz) for SECONDS each, from their committed seed corpora,
# with ASan+UBSan. Usage: tools/fuzz.sh SECONDS [TARGET...]   (targets: token_parser
# event_decoder resp http_request; default all). Builds build-asan first (tools/sanitize.sh's
# checked build). New inputs accumulate in build-asan/fuzz/corpus/TARGET; a crash leaves its
# input in build-asan/fuzz/crashes/ and makes the script exit 1: turn it into a regression test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source tools/deps.sh
seconds="${1:?usage: tools/fuzz.sh SECONDS [TARGET...]}"
shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(token_parser event_decoder resp http_request)
tl_install_missing "${TL_CHECKED_PACKAGES[@]}"
tl_build_checked "$root" asan

out="$root/build-asan/fuzz"
mkdir -p "$out/crashes"
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$out/corpus/$t"
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  log="$out/$t.log"
  rc=0
  "build-asan/bin/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/crashes/$t-" "${dict[@]}" "$out/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  if [ $rc -eq 0 ]; then
    echo "fuzz $t: ${seconds} s, $runs executions, coverage $cov, no crash"
  else
    echo "fuzz $t: FAILED (exit $rc) after $runs executions; log $log, input in $out/crashes/" >&2
    grep -E "ERROR|SUMMARY|#[0-9]+ 0x" "$log" | head -30 >&2 || true
    failed=1
  fi
done
exit $failed
