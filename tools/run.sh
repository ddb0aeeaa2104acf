#!/usr/bin/env bash
# Installs what is missing, builds, and starts tokenledgerd on ./data (RocksDB, embedded).
# Extra arguments go to tokenledgerd (see: build/bin/tokenledgerd --help).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source tools/deps.sh
tl_prepare "$root"

listen="127.0.0.1:8080"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = "--listen" ] && listen="${args[$((i + 1))]:-$listen}"
done
cat <<MSG

tokenledgerd is starting on http://$listen with its ledger in $root/data.
The admin token is in ./data/admin.token (created on first start, mode 0600).
Web console: open http://$listen/console/ and sign in with that token. Or, in another shell:

  ADMIN=\$(cat data/admin.token)
  curl -s -X POST http://$listen/v1/namespaces/acme%2Fprod/tokens \\
       -H "Authorization: Bearer \$ADMIN" -d '{"name": "ci deploy"}'
  curl -s -X POST http://$listen/v1/validate -d '{"token": "tlpat_..."}'
  curl -si http://$listen/v1/auth -H "Authorization: Bearer tlpat_..."     # what gateways ask
  ./build/bin/tokenctl --server http://$listen list acme/prod
  ./build/bin/tokenctl --data-dir data verify
  curl -s "http://$listen/v1/events?after=0" -H "Authorization: Bearer \$ADMIN"   # the ledger, NDJSON

Stop with Ctrl-C (drains in-flight requests). API: docs/api.md; gateway configs: docs/gateways.md;
auditing and signed exports: docs/audit.md.
Extra flags pass through, e.g. ./tools/run.sh --resp-listen 127.0.0.1:6380 (Redis protocol).

MSG
exec "$root/build/bin/tokenledgerd" --data-dir "$root/data" "$@"
