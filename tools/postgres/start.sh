#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the SQL generator's second dialect
# (tests/clickhouse_source_test.ts runs the PostgreSQL queries on it through
# psql). Data and socket under the run folder, listening on 127.0.0.1 only,
# trust authentication for the local user "lmer".
#
#   tools/postgres/start.sh [--install]   (--install: apt-get install postgresql when missing)
#
# Environment:
#   POSTGRES_DIR   run folder (default: out/postgres in the repository)
#   POSTGRES_PORT  port (default 15432)
# Prints "host=127.0.0.1 port=<port> user=lmer dbname=lmer" (a libpq
# connection string) as the last line. Stop with tools/postgres/stop.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir="${POSTGRES_DIR:-$repo/out/postgres}"
port="${POSTGRES_PORT:-15432}"
conn="host=127.0.0.1 port=$port user=lmer dbname=lmer"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$bin" ] && [ "${1:-}" = "--install" ] && command -v apt-get >/dev/null 2>&1 &&
  [ "$(id -u)" = 0 ]; then
  echo "installing postgresql (Debian)" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || true
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
fi
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ] || ! command -v psql >/dev/null 2>&1; then
  echo "PostgreSQL is not installed (Debian: apt-get install postgresql)" >&2
  exit 2
fi
if psql "$conn" -qAtc "SELECT 1" >/dev/null 2>&1; then echo "$conn"; exit 0; fi
# PostgreSQL refuses to run as root: run it as the "postgres" system user then
as=()
if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi
mkdir -p "$dir"
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
if [ ! -f "$dir/data/PG_VERSION" ]; then
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U lmer --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
psql "host=127.0.0.1 port=$port user=lmer dbname=postgres" -qAtc \
  "SELECT 1 FROM pg_database WHERE datname = 'lmer'" | grep -q 1 ||
  psql "host=127.0.0.1 port=$port user=lmer dbname=postgres" -qc "CREATE DATABASE lmer" >/dev/null
echo "$conn"
