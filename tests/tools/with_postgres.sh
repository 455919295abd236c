#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster: initdb in a temp dir,
# a free loopback port, SHOPRELAY_TEST_DATABASE_URL exported, everything
# stopped and removed on exit. PostgreSQL refuses to run as root, so as root
# the server runs as the postgres user (runuser).
# For profiling: PG_EXTRA adds server settings (PG_EXTRA="-c log_statement=all"),
# and PG_KEEP_LOG=FILE keeps the server log there when the cluster goes.
set -euo pipefail

find_pg_bin() {
  local found
  for found in /usr/lib/postgresql/*/bin; do
    [ -x "$found/initdb" ] && { echo "$found"; return 0; }
  done 2>/dev/null
  found=$(command -v pg_ctl 2>/dev/null) && { dirname "$found"; return 0; }
  return 1
}

PGBIN=$(find_pg_bin || true)
if [ -z "$PGBIN" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "PostgreSQL is not installed; installing it with apt-get" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    PGBIN=$(find_pg_bin)
  else
    echo "PostgreSQL is not installed: sudo apt-get install postgresql" >&2
    exit 1
  fi
fi

DIR=$(mktemp -d /tmp/shoprelay-pg.XXXXXX)
chmod 755 "$DIR"
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"

cleanup() {
  as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
  [ -n "${PG_KEEP_LOG:-}" ] && cp "$DIR/server.log" "$PG_KEEP_LOG"; rm -rf "$DIR"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$PGBIN/initdb" -D "$DIR/data" -A trust -U shoprelay -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -o \
  "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 ${PG_EXTRA:-}" \
  start >/dev/null
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U shoprelay shoprelay_test

export SHOPRELAY_TEST_DATABASE_URL="postgresql+psycopg://shoprelay@127.0.0.1:$PORT/shoprelay_test"
# The same server through its Unix socket, as a database on the same machine is reached.
export SHOPRELAY_TEST_DATABASE_SOCKET_URL="postgresql+psycopg://shoprelay@/shoprelay_test?host=$DIR&port=$PORT"
echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') running on port $PORT" >&2
"$@"
