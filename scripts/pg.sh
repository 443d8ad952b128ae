# Sourced by scripts/test: starts a throwaway PostgreSQL cluster from Debian's
# `postgresql` package (installing it if missing) unless TEST_DATABASE_URL is
# already set, exports TEST_DATABASE_URL, and stops and removes the cluster on
# exit.

kefu_pg_start() {
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    echo "==> PostgreSQL: using TEST_DATABASE_URL"
    return 0
  fi
  local pgbin
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
    echo "==> installing Debian's postgresql"
    kefu_apt_install postgresql
    pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  KEFU_PG_DIR=$(mktemp -d /tmp/kefu-pg.XXXXXX)
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local run=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$KEFU_PG_DIR"
    run=(runuser -u postgres --)
  fi
  "${run[@]}" "$pgbin/initdb" -D "$KEFU_PG_DIR/data" -U postgres --auth=trust -E UTF8 >"$KEFU_PG_DIR/initdb.log" 2>&1 \
    || { cat "$KEFU_PG_DIR/initdb.log"; return 1; }
  "${run[@]}" "$pgbin/pg_ctl" -D "$KEFU_PG_DIR/data" -l "$KEFU_PG_DIR/server.log" -w \
    -o "-p $port -k $KEFU_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null \
    || { cat "$KEFU_PG_DIR/server.log"; return 1; }
  KEFU_PG_STOP=("${run[@]}" "$pgbin/pg_ctl" -D "$KEFU_PG_DIR/data" -m immediate stop)
  export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "==> PostgreSQL: throwaway cluster on port $port"
}

kefu_pg_stop() {
  if [ -n "${KEFU_PG_DIR:-}" ]; then
    "${KEFU_PG_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$KEFU_PG_DIR"
    KEFU_PG_DIR=
  fi
}
