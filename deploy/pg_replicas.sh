#!/usr/bin/env bash
# A primary and two streaming replicas of the installed PostgreSQL on this machine, made
# with Debian's cluster tools, for the engine's replication and failover tests.
#
#   deploy/pg_replicas.sh up      create and start them (removing leftovers of the same name)
#   deploy/pg_replicas.sh down    stop and remove them (safe to run twice)
#   deploy/pg_replicas.sh status  pg_lsclusters and the primary's pg_stat_replication
#   deploy/pg_replicas.sh run CMD...   up, run CMD with SOCIEUX_PRIMARY/SOCIEUX_REPLICAS set,
#                                      then down (also when CMD fails or is interrupted)
#
# Settings (environment):
#   SOCIEUX_REPLICA_PORT  the primary's port; the replicas take the next two (default 5433)
#   SOCIEUX_REPLICA_NAME  the clusters' name prefix (default sx<port>): <name>p, <name>r1, <name>r2
#   PG_VERSION            the PostgreSQL major version (default: the newest installed)
#   SOCIEUX_REPLICA_DB    the database created on the primary (default test)
#
# The server already running on 5432 is never touched. The primary runs with
# wal_level=replica and synchronous_standby_names='r1' (synchronous_commit=on): a commit is
# acknowledged once r1 has flushed it, so promoting r1 after stopping the primary loses no
# acknowledged command. r2 is asynchronous. Everything listens on 127.0.0.1 only, trust auth.
set -euo pipefail

PG_VERSION="${PG_VERSION:-$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)}"
BIN="/usr/lib/postgresql/${PG_VERSION}/bin"
PORT="${SOCIEUX_REPLICA_PORT:-5433}"
NAME="${SOCIEUX_REPLICA_NAME:-sx${PORT}}"
DB="${SOCIEUX_REPLICA_DB:-test}"
PRIMARY="${NAME}p"
REPLICAS=("${NAME}r1" "${NAME}r2")

die() { echo "pg_replicas: $*" >&2; exit 1; }

need() {
    [[ -x "${BIN}/postgres" ]] || die "no PostgreSQL binaries in ${BIN}"
    command -v pg_createcluster >/dev/null || die "pg_createcluster not found (postgresql-common)"
    [[ "$(id -u)" == 0 ]] || die "run as root (pg_createcluster and the data directories)"
}

psql_at() {  # psql_at PORT SQL: one value
    "${BIN}/psql" -h 127.0.0.1 -p "$1" -U postgres -d postgres -XAtqc "$2"
}

exists() { pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v n="$1" '$1==v && $2==n' | grep -q .; }

drop() {
    if exists "$1"; then
        pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$1" stop -m immediate 2>/dev/null || true
        pg_dropcluster "$PG_VERSION" "$1" >/dev/null 2>&1 || true
    fi
    rm -rf "/etc/postgresql/${PG_VERSION}/$1" "/var/lib/postgresql/${PG_VERSION}/$1"
}

configure() {  # configure CLUSTER PORT: our settings and trust auth on 127.0.0.1
    local etc="/etc/postgresql/${PG_VERSION}/$1"
    cat >"${etc}/conf.d/socieux.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $2
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
hot_standby_feedback = on
wal_keep_size = '256MB'
max_connections = 60
shared_buffers = '32MB'
synchronous_commit = on
EOF
    cat >"${etc}/pg_hba.conf" <<'EOF'
local   all          all                 trust
local   replication  all                 trust
host    all          all   127.0.0.1/32  trust
host    replication  all   127.0.0.1/32  trust
EOF
}

start() { pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$1" start; }

wait_ready() {  # wait_ready PORT
    for _ in $(seq 1 100); do
        "${BIN}/pg_isready" -q -h 127.0.0.1 -p "$1" && return 0
        sleep 0.1
    done
    die "the server on port $1 did not start"
}

make_replica() {  # make_replica CLUSTER PORT APPLICATION_NAME
    local data="/var/lib/postgresql/${PG_VERSION}/$1"
    install -d -o postgres -g postgres -m 700 "$data"
    runuser -u postgres -- "${BIN}/pg_basebackup" -h 127.0.0.1 -p "$PORT" -U postgres \
        -D "$data" -R -X stream -c fast --no-sync >/dev/null
    # Later lines win: name the standby, so that r1 is the synchronous one.
    echo "primary_conninfo = 'host=127.0.0.1 port=${PORT} user=postgres application_name=$3'" \
        >>"${data}/postgresql.auto.conf"
    # An existing data directory is registered as it is (no initdb), with the primary's
    # configuration files as a start (pg_createcluster moves them to /etc and sets the port).
    local etc="/etc/postgresql/${PG_VERSION}/${PRIMARY}"
    install -o postgres -g postgres -m 644 "${etc}/postgresql.conf" "${etc}/pg_hba.conf" \
        "${etc}/pg_ident.conf" "$data/"
    pg_createcluster "$PG_VERSION" "$1" -p "$2" -d "$data" --start-conf=manual >/dev/null
    configure "$1" "$2"
    start "$1"
    wait_ready "$2"
}

up() {
    need
    down
    pg_createcluster "$PG_VERSION" "$PRIMARY" -p "$PORT" --start-conf=manual -- --no-sync >/dev/null
    configure "$PRIMARY" "$PORT"
    start "$PRIMARY"
    wait_ready "$PORT"
    psql_at "$PORT" "CREATE DATABASE \"${DB}\"" >/dev/null
    local i=1 pids=()
    for replica in "${REPLICAS[@]}"; do  # both at once: a base backup, then the cluster
        make_replica "$replica" $((PORT + i)) "r${i}" &
        pids+=($!)
        i=$((i + 1))
    done
    for pid in "${pids[@]}"; do wait "$pid" || die "a replica did not start"; done
    for _ in $(seq 1 100); do
        [[ "$(psql_at "$PORT" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" == 2 ]] \
            && { sync_r1; echo "pg_replicas: primary 127.0.0.1:${PORT}, replicas 127.0.0.1:$((PORT + 1)) (sync) and 127.0.0.1:$((PORT + 2)), database ${DB}"; return 0; }
        sleep 0.1
    done
    die "the replicas did not start streaming"
}

sync_r1() {  # from now on a commit waits until r1 has flushed it (set once r1 streams)
    psql_at "$PORT" "ALTER SYSTEM SET synchronous_standby_names = 'r1'" >/dev/null
    psql_at "$PORT" "SELECT pg_reload_conf()" >/dev/null
}

down() {
    for cluster in "${REPLICAS[@]}" "$PRIMARY"; do drop "$cluster"; done
}

status() {
    pg_lsclusters | awk -v n="$NAME" 'NR==1 || $2 ~ "^"n'
    psql_at "$PORT" "SELECT application_name, state, sync_state, replay_lsn FROM pg_stat_replication" 2>/dev/null || true
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    run)
        shift
        [[ $# -gt 0 ]] || die "usage: $0 run CMD..."
        trap down EXIT INT TERM
        up
        export SOCIEUX_PRIMARY="postgresql://postgres@127.0.0.1:${PORT}/${DB}"
        export SOCIEUX_REPLICAS="postgresql://postgres@127.0.0.1:$((PORT + 1))/${DB} postgresql://postgres@127.0.0.1:$((PORT + 2))/${DB}"
        "$@"
        ;;
    *) die "usage: $0 up|down|status|run CMD..." ;;
esac
