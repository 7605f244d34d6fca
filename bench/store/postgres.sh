#!/usr/bin/env bash
# A throwaway PostgreSQL for the store benchmark (the baseline: Red Hat's Adoption Insights schema).
#   bench/store/postgres.sh start DIR PORT   initialise (once) and start a cluster in DIR on 127.0.0.1:PORT
#   bench/store/postgres.sh stop DIR
# Installs Debian's postgresql package when it is missing. Settings as in the research: shared_buffers 2GB,
# work_mem 64MB, max_wal_size 8GB.
set -euo pipefail
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
start)
  dir=$2 port=$3
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_postgres "$bindir/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
  fi
  as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w start \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c shared_buffers=2GB -c work_mem=64MB -c max_wal_size=8GB -c synchronous_commit=off" >/dev/null
  ;;
stop)
  as_postgres "$bindir/pg_ctl" -D "$2/data" -m fast -w stop >/dev/null
  ;;
*)
  echo "usage: $0 start DIR PORT | stop DIR" >&2
  exit 2
  ;;
esac
