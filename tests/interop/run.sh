#!/usr/bin/env bash
# W3C interop (issue 12): a verifier outside the federation checks Rightsnet credentials and
# their Bitstring Status Lists with Digital Bazaar's JavaScript libraries. Installs the pinned
# libraries (package-lock.json) into tests/interop/node_modules with `npm ci`, then runs the
# Rust test that starts a real node on 127.0.0.1 and calls check-status.mjs against it. Nothing
# is installed globally and nothing is fetched off the machine once npm ci is done. See README.md.
#
#   tests/interop/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

command -v node >/dev/null || { echo "Node.js is missing (18 or later)" >&2; exit 2; }
command -v npm >/dev/null || { echo "npm is missing" >&2; exit 2; }
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 18 ] || { echo "Node.js $major is too old: 18 or later" >&2; exit 2; }

# The exact versions of package-lock.json; no install scripts run.
(cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

cd "$root"
cargo test -p rightsnet-tests --test integration --locked -- \
  --ignored interop::digital_bazaar_libraries_check_
