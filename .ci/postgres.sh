#!/bin/sh
# A throwaway PostgreSQL server for the database tests (tests/test_force_data_db.py).
#
#   sh .ci/postgres.sh install          Debian's postgresql, unless initdb is already there
#   sh .ci/postgres.sh start [DIR]      a new cluster in DIR (default: a new /tmp/rct-pg.*;
#                                       socket only, password auth); prints its SQLAlchemy
#                                       URL (also in DIR/url)
#   sh .ci/postgres.sh stop DIR         stop it and remove DIR
#   sh .ci/postgres.sh run -- CMD       start, run CMD with RCT_TEST_POSTGRES_URL set, stop;
#                                       exits with CMD's status
#
# The server listens on a Unix socket in DIR only (no TCP port to collide with), runs as
# the 'postgres' user when called as root (PostgreSQL refuses to run as root), and needs
# a password (scram-sha-256), so the tests see a real authenticated connection.
set -eu

pg_bin() {
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
        if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
    done
    if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
    return 1
}

as_owner() {  # run a command as the cluster's owner
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

install() {
    if pg_bin >/dev/null; then
        return 0
    fi
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    if ! $SUDO apt-get install -y -qq postgresql >/dev/null 2>&1; then
        $SUDO apt-get update -qq >/dev/null
        $SUDO apt-get install -y -qq postgresql >/dev/null
    fi
    pg_bin >/dev/null || { echo "postgres.sh: initdb still missing after installing postgresql" >&2; exit 1; }
}

start() {
    dir="${1:-}"
    bin="$(pg_bin)" || { echo "postgres.sh: PostgreSQL is not installed; run: sh .ci/postgres.sh install" >&2; exit 1; }
    # under /tmp by default: the 'postgres' user must reach it (a home folder may be closed)
    if [ -z "$dir" ]; then dir="$(mktemp -d /tmp/rct-pg.XXXXXX)"; fi
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
    chmod 700 "$dir"
    password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    port=54329
    printf '%s\n' "$password" > "$dir/pw"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir/pw"; fi
    as_owner "$bin/initdb" -D "$dir/data" -U rct --pwfile="$dir/pw" --auth=scram-sha-256 \
        -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    rm -f "$dir/pw"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses='' -k $dir -p $port -c fsync=off" start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    url="postgresql+psycopg://rct:$password@/postgres?host=$dir&port=$port"
    printf '%s\n' "$url" > "$dir/url"
    chmod 600 "$dir/url"
    echo "$url"
}

stop() {
    dir="$1"
    if [ -d "$dir/data" ]; then
        bin="$(pg_bin)"
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

cmd="${1:-}"
case "$cmd" in
    install) install ;;
    start) start "${2:-}" ;;
    stop) stop "$2" ;;
    run)
        shift
        [ "${1:-}" = "--" ] && shift
        dir="$(mktemp -d /tmp/rct-pg.XXXXXX)"
        trap 'stop "$dir"' INT TERM
        url="$(start "$dir")"
        status=0
        RCT_TEST_POSTGRES_URL="$url" "$@" || status=$?
        stop "$dir"
        exit "$status"
        ;;
    *) echo "usage: sh .ci/postgres.sh install | start [DIR] | stop DIR | run -- CMD" >&2; exit 2 ;;
esac
