#!/usr/bin/env bash
# HTTP API figures (issue #9), one run, everything on this machine:
#   (a) freshness: p50/p99 from a record's produce time to its cost being visible through
#       GET /v1/sessions/{id}, under a background load at half the worker's max ingest rate
#       (default flush interval);
#   (b) GET /v1/transactions/{id} p50/p99 while the worker ingests at full speed;
#   (c) full-speed ingest rate without and with ~1000 API requests/s.
#   scripts/bench-api.sh [--spans N] [--phase-spans N] [--freshness-seconds S] [--api-rate R] [--debug]
# Worker, librdkafka's mock cluster, HTTP server and HTTP client run in one process
# (`traceledger bench-api`); PostgreSQL is a throwaway server (scripts/with-postgres.sh) unless
# DATABASE_URL is set. Called at the end of scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=release
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --debug) CONFIG=debug; shift ;;
    --spans|--phase-spans|--freshness-seconds|--api-rate|--partitions) ARGS+=("$1" "$2"); shift 2 ;;
    *) echo "usage: scripts/bench-api.sh [--spans N] [--phase-spans N] [--freshness-seconds S] [--api-rate R] [--partitions P] [--debug]" >&2; exit 2 ;;
  esac
done
if [ "$CONFIG" = release ]; then swift build -c release --product traceledger >&2; fi
B=$PWD/.build/$CONFIG/traceledger
if [ -z "${DATABASE_URL:-}" ]; then
  exec scripts/with-postgres.sh "$B" bench-api "${ARGS[@]}"
fi
exec "$B" bench-api "${ARGS[@]}"
