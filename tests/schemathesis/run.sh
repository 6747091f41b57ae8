#!/usr/bin/env bash
# Schema fuzzing of the node API (issue 11): starts a testnet of one office (FR) and one
# marketplace with the built `rightsnet` binary in a temporary directory, runs Schemathesis
# against each node's own OpenAPI document with the operator token, and stops the testnet.
# Exits non-zero when Schemathesis reports a failure or a warning. See README.md.
#
#   tests/schemathesis/run.sh                 # uses $CARGO_TARGET_DIR/debug/rightsnet
#   RIGHTSNET_BIN=/path/to/rightsnet tests/schemathesis/run.sh
#   ST_MAX_EXAMPLES=50 tests/schemathesis/run.sh
#   ST_DETERMINISTIC=1 tests/schemathesis/run.sh   # the same generated inputs every run (CI)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${RIGHTSNET_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/rightsnet}"
max_examples="${ST_MAX_EXAMPLES:-30}"
# Longest wait for the testnet to come up, in seconds.
start_deadline=180

command -v st >/dev/null || { echo "schemathesis is missing: pip install schemathesis==4.32.5" >&2; exit 2; }
[ -x "$bin" ] || { echo "no rightsnet binary at $bin: cargo build -p rightsnet-cli" >&2; exit 2; }

work="$(mktemp -d)"
testnet_pid=""
stop_testnet() {
  if [ -n "$testnet_pid" ] && kill -0 "$testnet_pid" 2>/dev/null; then
    kill -INT "$testnet_pid" 2>/dev/null || true
    wait "$testnet_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop_testnet EXIT

"$bin" testnet up --offices FR --marketplaces 1 --dir "$work/net" >"$work/up.log" 2>&1 &
testnet_pid=$!

# Wait for testnet.json to name every node's API.
deadline=$((SECONDS + start_deadline))
until [ -s "$work/net/testnet.json" ] &&
  python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))["nodes"]; sys.exit(0 if len(n) == 2 and all(x.get("api") for x in n) else 1)' "$work/net/testnet.json" 2>/dev/null; do
  if ! kill -0 "$testnet_pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
    echo "the testnet did not come up; its output:" >&2
    cat "$work/up.log" >&2
    exit 1
  fi
  sleep 1
done

status=0
while IFS=$'\t' read -r name api token_file; do
  echo "== $name at $api"
  # Wait until the node answers (the testnet seeds it after start).
  until curl -fsS "$api/v1/status" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "$name does not answer" >&2; exit 1; }
    sleep 1
  done
  # A marketplace adds its own per-operation entries (marketplace.toml) to the common ones.
  config="$work/$name.toml"
  cat "$here/schemathesis.toml" >"$config"
  case "$name" in
    marketplace-*) cat "$here/marketplace.toml" >>"$config" ;;
  esac
  if ! st --config-file "$config" run "$api/v1/openapi.json" \
      --url "$api" \
      --max-examples "$max_examples" \
      ${ST_DETERMINISTIC:+--generation-deterministic} \
      -H "Authorization: Bearer $(cat "$token_file")" \
      >"$work/$name.txt" 2>&1; then
    status=1
  fi
  cat "$work/$name.txt"
done < <(python3 -c 'import json,sys
for n in json.load(open(sys.argv[1]))["nodes"]:
    print(n["name"], n["api"], n["operator_token_file"], sep="\t")' "$work/net/testnet.json")
exit "$status"
