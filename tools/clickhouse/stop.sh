#!/usr/bin/env bash
# Stop the servers started by tools/clickhouse/start.sh (by their process ids).
# The data stay in the run folder; `--clean` removes the folder too.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir="${CLICKHOUSE_DIR:-$repo/out/clickhouse}"
for f in "$dir"/shard*/server.pid; do
  [ -f "$f" ] || continue
  pid="$(cat "$f")"
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$f"
done
if [ "${1:-}" = "--clean" ]; then rm -rf "$dir"; fi
