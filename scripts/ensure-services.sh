#!/usr/bin/env bash
# Make sure PostgreSQL and Redis are reachable: start them if installed and stopped, install them
# with apt if absent, and create the database role/database the app uses. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO="sudo"
DB_HOST=127.0.0.1; DB_PORT=5432
mkdir -p .run

apt_install() {
  echo "Installing $* with apt-get…"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

start_service() {  # name
  if command -v systemctl >/dev/null && systemctl list-units >/dev/null 2>&1; then
    $SUDO systemctl start "$1" 2>/dev/null && return 0
  fi
  $SUDO service "$1" start >/dev/null 2>&1 && return 0
  return 1
}

as_postgres() {  # run a command as the postgres OS user (peer authentication on the local socket)
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

wait_for() {  # description, command…
  local what=$1; shift
  for _ in $(seq 1 30); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  echo "ERROR: $what did not come up. See docs/operations.md (Troubleshooting)." >&2; exit 1
}

# --- PostgreSQL -------------------------------------------------------------------------------
if ! pg_isready -q -h $DB_HOST -p $DB_PORT 2>/dev/null; then
  [ -d /etc/postgresql ] || apt_install postgresql
  start_service postgresql || { for c in /etc/postgresql/*/main; do v=$(basename "$(dirname "$c")"); $SUDO pg_ctlcluster "$v" main start || true; done; }
  wait_for "PostgreSQL on $DB_HOST:$DB_PORT" pg_isready -h $DB_HOST -p $DB_PORT
fi

# The app connects as DATABASE_URL (default postgres@127.0.0.1 with trust auth). On a stock
# Debian install TCP logins need a password: create a dedicated superuser role and remember it in .env.
if [ -z "${DATABASE_URL:-}" ] && [ -f .env ]; then DATABASE_URL=$(grep -E '^DATABASE_URL=' .env | cut -d= -f2- || true); fi
DATABASE_URL=${DATABASE_URL:-postgres://postgres@$DB_HOST:$DB_PORT/agentry}
ADMIN_URL=${DATABASE_URL%/*}/postgres
if ! psql "$ADMIN_URL" -Atqc 'select 1' >/dev/null 2>&1; then
  echo "Creating PostgreSQL role 'agentry' (password auth on $DB_HOST)…"
  as_postgres psql -qc "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='agentry') THEN CREATE ROLE agentry LOGIN SUPERUSER PASSWORD 'agentry'; END IF; END\$\$;"
  DATABASE_URL="postgres://agentry:agentry@$DB_HOST:$DB_PORT/agentry"
  ADMIN_URL=${DATABASE_URL%/*}/postgres
  touch .env; grep -q '^DATABASE_URL=' .env || echo "DATABASE_URL=$DATABASE_URL" >> .env
fi
DB_NAME=${DATABASE_URL##*/}; DB_NAME=${DB_NAME%%\?*}
if ! psql "$ADMIN_URL" -Atqc "select 1 from pg_database where datname='$DB_NAME'" | grep -q 1; then
  psql "$ADMIN_URL" -qc "CREATE DATABASE \"$DB_NAME\"" && echo "Created database $DB_NAME."
fi

# --- Redis ------------------------------------------------------------------------------------
if ! redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
  command -v redis-server >/dev/null || apt_install redis-server redis-tools
  start_service redis-server || start_service redis || $SUDO redis-server --daemonize yes --save '' >/dev/null
  wait_for "Redis on 127.0.0.1:6379" redis-cli -h 127.0.0.1 -p 6379 ping
fi
echo "PostgreSQL and Redis are up."
