#!/usr/bin/env bash
# Start a two-shard ClickHouse cluster on this machine: two server processes
# (shard 1 and shard 2), each with its own data folder, both configured with
# the cluster `lmer_two_shards`, so that a Distributed table created on
# either spreads queries over both. Used by .ci/run and by the tests that need
# ClickHouse (tests/clickhouse_source_test.ts); a user can run it by hand.
#
#   tools/clickhouse/start.sh            start (or report the running cluster)
#   tools/clickhouse/start.sh --install  also apt-get install the server when missing
#
# Environment:
#   CLICKHOUSE_DIR   run folder (default: out/clickhouse in the repository)
#   CLICKHOUSE_PORT  base port (default 18123): shard 1 serves HTTP on it and
#                    native TCP on +1; shard 2 on +10 and +11.
# Prints the shards' HTTP URLs as the last line: "<url1> <url2>".
# Stop with tools/clickhouse/stop.sh (same environment).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir="${CLICKHOUSE_DIR:-$repo/out/clickhouse}"
base="${CLICKHOUSE_PORT:-18123}"

if ! command -v clickhouse-server >/dev/null 2>&1; then
  if [ "${1:-}" = "--install" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing clickhouse-server and clickhouse-client (Debian)" >&2
    apt-get update -qq >/dev/null
    # policy-rc.d may refuse to start the system service: that is fine, we
    # run our own processes
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server clickhouse-client \
      >/dev/null || true
  fi
  if ! command -v clickhouse-server >/dev/null 2>&1; then
    echo "clickhouse-server is not installed (Debian: apt-get install clickhouse-server)" >&2
    exit 2
  fi
fi

ping() { curl -fsS --max-time 2 "http://127.0.0.1:$1/ping" 2>/dev/null | grep -q Ok; }

start_shard() { # name http tcp interserver
  local name=$1 http=$2 tcp=$3 inter=$4
  local d="$dir/$name"
  if ping "$http"; then return 0; fi
  mkdir -p "$d/log" "$d/data" "$d/tmp" "$d/user_files" "$d/format_schemas"
  sed -e "s#@DIR@#$d#g" -e "s#@HTTP_PORT@#$http#g" -e "s#@TCP_PORT@#$tcp#g" \
    -e "s#@INTERSERVER_PORT@#$inter#g" -e "s#@SHARD1_TCP@#$((base + 1))#g" \
    -e "s#@SHARD2_TCP@#$((base + 11))#g" -e "s#@USERS@#$here/users.xml#g" \
    "$here/config.xml.in" >"$d/config.xml"
  # setsid: the server outlives the shell that started it (a test or CI step);
  # every output of the background job goes to the log, so a caller reading
  # this script's output (url="$(start.sh)") does not wait for the server
  (cd "$d" && exec setsid clickhouse-server --config-file="$d/config.xml") \
    >"$d/log/stdout.log" 2>&1 </dev/null &
  echo $! >"$d/server.pid"
}

start_shard shard1 "$base" $((base + 1)) $((base + 2))
start_shard shard2 $((base + 10)) $((base + 11)) $((base + 12))

for _ in $(seq 1 150); do
  if ping "$base" && ping $((base + 10)); then
    echo "http://127.0.0.1:$base http://127.0.0.1:$((base + 10))"
    exit 0
  fi
  sleep 0.2
done
echo "ClickHouse did not answer on ports $base and $((base + 10)) within 30 s; logs in $dir/*/log" >&2
tail -n 5 "$dir"/*/log/*.log >&2 || true
exit 1
