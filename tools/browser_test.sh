#!/usr/bin/env bash
# The web console end to end in Debian's headless Chromium (tests/browser/console_test.mjs,
# playwright-core). Installs chromium, and Node.js with npm, when missing; playwright-core
# comes from the npm registry at the version tests/browser/package-lock.json pins. Runs against
# build/bin (build first: tools/test.sh does); screenshots go to build/artifacts.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source tools/deps.sh
tl_install_missing chromium
# Any Node.js 18 or later with npm will do; Debian's when there is none.
command -v npm >/dev/null 2>&1 || tl_install_missing nodejs npm
# Node.js trusts only its own CA list; the system's also holds any CA a site adds (an
# intercepting proxy's, say), as the rest of the system does.
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
node tests/browser/console_test.mjs --bin build/bin --artifacts build/artifacts --chromium /usr/bin/chromium
