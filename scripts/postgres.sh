#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster for tests and CI; print its URL.
#
#   eval "$(scripts/postgres.sh)"    # exports ORCHESTRA_TEST_POSTGRES_URL
#
# Idempotent: a cluster already running in $ORCHESTRA_PG_DIR is reused.
# Installs PostgreSQL with apt-get when missing (CI runs as root, no stdin).
# The server runs as an unprivileged user, listens on 127.0.0.1 only, on a
# free port, with trust authentication: never use it for real data.
set -euo pipefail

dir="${ORCHESTRA_PG_DIR:-/tmp/orchestra-pg}"

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo -n"
  echo "postgres.sh: installing postgresql with apt-get" >&2
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq postgresql >&2
fi
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$owner" -- "$@"
  else
    "$@"
  fi
}

owner="$(id -un)"
if [ "$(id -u)" -eq 0 ]; then
  owner="postgres"
  id "$owner" >/dev/null 2>&1 || useradd --system --no-create-home "$owner"
fi

if [ -f "$dir/url" ] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
  url="$(cat "$dir/url")"
else
  mkdir -p "$dir"
  chown "$owner" "$dir" 2>/dev/null || true
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$dir/data" -U orchestra --auth=trust --no-sync >/dev/null
  fi
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  url="postgresql+asyncpg://orchestra@127.0.0.1:$port/postgres"
  echo "$url" > "$dir/url"
fi

export ORCHESTRA_TEST_POSTGRES_URL="$url"
echo "export ORCHESTRA_TEST_POSTGRES_URL=$url"
