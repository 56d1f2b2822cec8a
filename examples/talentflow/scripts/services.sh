#!/usr/bin/env bash
# Private PostgreSQL 15 and Redis for TalentFlow: development, CI and sandboxes.
#
#   services.sh start [STATE_DIR]   start both, wait until they answer, write STATE_DIR/services.env
#   services.sh env   [STATE_DIR]   print the env file (eval "$(services.sh env)")
#   services.sh stop  [STATE_DIR]   stop both by pid and remove their data
#   services.sh status [STATE_DIR]
#
# Nothing system-wide is used: PostgreSQL gets a fresh cluster (initdb) on tmpfs
# when /dev/shm is writable, with durability off (fsync, synchronous_commit,
# full_page_writes) because the data is throwaway; Redis runs without
# persistence. Both listen on free loopback ports. With TALENTFLOW_PG_STOCK=1
# PostgreSQL is a stock cluster instead (data on disk under STATE_DIR, default
# durability): the baseline of plain `pytest` as a developer runs it
# (examples/grading_speed.rs). PostgreSQL refuses to run as
# root, so as root the cluster runs as the unprivileged system user `debugenv`
# (created if missing).
set -Eeuo pipefail

cmd=${1:-}
STATE=${2:-${TALENTFLOW_STATE:-/tmp/talentflow-services}}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
REDIS_SERVER=${REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
SVC_USER=${TALENTFLOW_SERVICE_USER:-debugenv}

die() { echo "services: $*" >&2; exit 1; }

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

as_svc() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$SVC_USER" -- "$@"
    else
        "$@"
    fi
}

start() {
    [ -x "$PGBIN/initdb" ] || die "PostgreSQL 15 binaries not found in $PGBIN (Debian package postgresql-15)"
    [ -x "$REDIS_SERVER" ] || die "redis-server not found (Debian package redis-server)"
    if [ -f "$STATE/services.env" ]; then
        die "already started (state $STATE); run '$0 stop $STATE' first"
    fi
    mkdir -p "$STATE"
    STATE=$(cd "$STATE" && pwd)
    if [ "$(id -u)" -eq 0 ] && ! id "$SVC_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$SVC_USER"
    fi
    local base=/dev/shm
    [ -w "$base" ] || base=$STATE
    # Tuned (throwaway data, no durability) unless a stock cluster is asked for.
    local tuning="-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=128MB"
    if [ "${TALENTFLOW_PG_STOCK:-0}" = 1 ]; then
        base=$STATE
        tuning=
    fi
    local pgdata
    pgdata=$(mktemp -d "$base/talentflow-pg.XXXXXX")
    chmod 700 "$pgdata"
    if [ "$(id -u)" -eq 0 ]; then chown "$SVC_USER" "$pgdata"; fi
    echo "$pgdata" > "$STATE/pgdata.path"

    local pgport rport
    pgport=$(free_port)
    rport=$(free_port)
    while [ "$rport" = "$pgport" ]; do rport=$(free_port); done

    as_svc "$PGBIN/initdb" -D "$pgdata" -U talentflow --auth=trust -E UTF8 --locale=C.UTF-8 >"$STATE/initdb.log" 2>&1 \
        || { cat "$STATE/initdb.log" >&2; die "initdb failed"; }
    as_svc "$PGBIN/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 60 \
        -o "-p $pgport -c listen_addresses=127.0.0.1 -c unix_socket_directories=$pgdata -c max_connections=200 $tuning" \
        start >"$STATE/pg_ctl.log" 2>&1 || { cat "$STATE/pg_ctl.log" "$pgdata/server.log" >&2 || true; die "PostgreSQL did not start"; }
    head -1 "$pgdata/postmaster.pid" > "$STATE/postgres.pid"
    for _ in $(seq 1 100); do
        "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$pgport" && break
        sleep 0.1
    done
    "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$pgport" || die "PostgreSQL does not answer on port $pgport"
    "$PGBIN/psql" -q -h 127.0.0.1 -p "$pgport" -U talentflow -d postgres -c "CREATE DATABASE talentflow" >/dev/null

    "$REDIS_SERVER" --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize yes --pidfile "$STATE/redis.pid" --dir "$STATE" --logfile "$STATE/redis.log" \
        --databases 16 --maxclients 1000 >/dev/null
    local ok=
    for _ in $(seq 1 100); do
        if [ -s "$STATE/redis.pid" ] && redis-cli -h 127.0.0.1 -p "$rport" ping 2>/dev/null | grep -q PONG; then ok=1; break; fi
        sleep 0.1
    done
    [ -n "$ok" ] || { cat "$STATE/redis.log" >&2 || true; die "Redis does not answer on port $rport"; }

    cat > "$STATE/services.env" <<ENV
export DATABASE_URL=postgres://talentflow@127.0.0.1:$pgport/talentflow
export REDIS_URL=redis://127.0.0.1:$rport
export TALENTFLOW_PG_PID=$(cat "$STATE/postgres.pid")
export TALENTFLOW_REDIS_PID=$(cat "$STATE/redis.pid")
ENV
    echo "services: PostgreSQL on 127.0.0.1:$pgport (data $pgdata), Redis on 127.0.0.1:$rport; env in $STATE/services.env"
}

stop_pid() {
    local pid=$1 name=$2
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    echo "services: $name (pid $pid) ignored SIGTERM; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
}

stop() {
    [ -d "$STATE" ] || return 0
    # PostgreSQL: SIGTERM to the postmaster is a "smart" stop; SIGINT is "fast".
    if [ -s "$STATE/postgres.pid" ]; then
        local pid
        pid=$(cat "$STATE/postgres.pid")
        if kill -0 "$pid" 2>/dev/null; then
            kill -INT "$pid" 2>/dev/null || true
            stop_pid "$pid" postgres
        fi
    fi
    [ -s "$STATE/redis.pid" ] && stop_pid "$(cat "$STATE/redis.pid")" redis
    if [ -s "$STATE/pgdata.path" ]; then
        local d
        d=$(cat "$STATE/pgdata.path")
        case "$d" in */talentflow-pg.*) rm -rf "$d" ;; esac
    fi
    rm -f "$STATE/services.env" "$STATE/postgres.pid" "$STATE/redis.pid" "$STATE/pgdata.path"
    echo "services: stopped"
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    env) [ -f "$STATE/services.env" ] || die "not started (no $STATE/services.env)"; cat "$STATE/services.env" ;;
    status)
        [ -f "$STATE/services.env" ] || { echo "services: not started"; exit 1; }
        cat "$STATE/services.env" ;;
    *) die "usage: $0 start|stop|env|status [STATE_DIR]" ;;
esac
