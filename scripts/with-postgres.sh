#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL server.
#
#   scripts/with-postgres.sh COMMAND [ARGS...]
#
# initdb in a temp dir, server on 127.0.0.1 at a free port (as the `postgres` user when run as root,
# since initdb refuses root), waits until it accepts connections, exports DATABASE_URL (and PG*),
# runs COMMAND, then stops the server and removes the dir: on success, failure, or Ctrl-C.
# Set KEEP_PG=1 to keep the data dir for a post-mortem.
set -euo pipefail

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "with-postgres: no PostgreSQL server found (run scripts/install-deps.sh)" >&2
  exit 1
fi

free_port() {
  python3 - <<'PY' 2>/dev/null || echo $(( 20000 + RANDOM % 20000 ))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

tmp=$(mktemp -d /tmp/traceledger-pg.XXXXXX)
chmod 755 "$tmp"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$tmp"
data="$tmp/data"
port=$(free_port)

cleanup() {
  local rc=$?
  as_pg "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
  if [ "${KEEP_PG:-0}" = 1 ]; then echo "with-postgres: kept $tmp" >&2; else rm -rf "$tmp"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --no-locale >"$tmp/initdb.log" 2>&1 \
  || { cat "$tmp/initdb.log" >&2; exit 1; }
cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$tmp'
max_connections = 200
shared_buffers = 256MB
fsync = ${PG_FSYNC:-off}
synchronous_commit = ${PG_FSYNC:-off}
full_page_writes = ${PG_FSYNC:-off}
log_min_messages = warning
CONF
as_pg "$bindir/pg_ctl" -D "$data" -l "$tmp/server.log" -w -t 60 start >/dev/null \
  || { cat "$tmp/server.log" >&2; exit 1; }
for _ in $(seq 1 100); do
  "$bindir/pg_isready" -h 127.0.0.1 -p "$port" -q && break
  sleep 0.1
done

export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
export DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres"
export TRACELEDGER_PG_DATA="$data" TRACELEDGER_PG_BINDIR="$bindir" TRACELEDGER_PG_LOG="$tmp/server.log"
echo "with-postgres: $DATABASE_URL" >&2
"$@"
