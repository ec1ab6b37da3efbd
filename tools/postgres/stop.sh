#!/usr/bin/env bash
# Stop the server started by tools/postgres/start.sh; `--clean` removes its folder.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir="${POSTGRES_DIR:-$repo/out/postgres}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
as=()
if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi
if [ -f "$dir/data/postmaster.pid" ]; then "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null; fi
if [ "${1:-}" = "--clean" ]; then rm -rf "$dir"; fi
