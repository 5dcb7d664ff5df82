#!/usr/bin/env bash
# The real-middleware lab: Redis, MariaDB, PostgreSQL 15, their Prometheus exporters, node
# exporter, Prometheus (5 s scrapes) and an app-like load generator, all on 127.0.0.1, from
# Debian packages, without systemd or Docker.
#
#   lab.sh up     [COMPONENT...]  install packages (first run), start, wait until all answer
#   lab.sh down   [COMPONENT...]  stop exactly the processes this script started (pid files)
#   lab.sh status [COMPONENT...]  each component and every Prometheus target (exit 0 = all up)
#   lab.sh install | restart | logs | env | clean
#
# COMPONENT: redis mariadb postgresql node_exporter redis_exporter mysqld_exporter
# postgres_exporter loadgen prometheus (default: all). See README.md beside this file.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# the lab's own Python (load generator, fault injection) lives beside this script, not in
# the installed package
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
ALL_COMPONENTS=(redis mariadb postgresql node_exporter redis_exporter mysqld_exporter
    postgres_exporter loadgen prometheus)

LAB="${FORESHOCK_LAB_DIR:-/tmp/foreshock-lab}"
DATA_DIR="$LAB/data"
RUN_DIR="$LAB/run"
LOG_DIR="$LAB/logs"
CONF_DIR="$LAB/conf"
TIMEOUT="${FORESHOCK_LAB_TIMEOUT:-60}" # seconds to wait for each component to answer
STOP_TIMEOUT="${FORESHOCK_LAB_STOP_TIMEOUT:-30}"
FRESH="${FORESHOCK_LAB_FRESH:-0}" # 1: wipe the data dirs before `up`; auto: if nothing runs; 0: reuse
LOG_TAG=lab
# shellcheck source=../common.sh
source "$HERE/../common.sh"

REDIS_PORT="${FORESHOCK_LAB_REDIS_PORT:-6379}"
MARIADB_PORT="${FORESHOCK_LAB_MARIADB_PORT:-3306}"
PG_PORT="${FORESHOCK_LAB_PG_PORT:-5432}"
NODE_EXPORTER_PORT="${FORESHOCK_LAB_NODE_EXPORTER_PORT:-9100}"
REDIS_EXPORTER_PORT="${FORESHOCK_LAB_REDIS_EXPORTER_PORT:-9121}"
MYSQLD_EXPORTER_PORT="${FORESHOCK_LAB_MYSQLD_EXPORTER_PORT:-9104}"
POSTGRES_EXPORTER_PORT="${FORESHOCK_LAB_POSTGRES_EXPORTER_PORT:-9187}"
# Not 9300: infra/local/services.sh gives 127.0.0.1:9300 to OpenSearch's transport.
APP_PORT="${FORESHOCK_LAB_APP_PORT:-9464}"
PROMETHEUS_PORT="${FORESHOCK_LAB_PROMETHEUS_PORT:-9090}"
export FORESHOCK_LAB_DIR="$LAB" FORESHOCK_LAB_REDIS_PORT="$REDIS_PORT" \
    FORESHOCK_LAB_MARIADB_PORT="$MARIADB_PORT" FORESHOCK_LAB_PG_PORT="$PG_PORT" \
    FORESHOCK_LAB_APP_PORT="$APP_PORT" FORESHOCK_LAB_PROMETHEUS_PORT="$PROMETHEUS_PORT"

PG_BIN="${FORESHOCK_LAB_PG_BIN:-/usr/lib/postgresql/15/bin}"
PACKAGES=(redis-server mariadb-server mariadb-client postgresql-15 postgresql-client-15
    prometheus prometheus-node-exporter prometheus-redis-exporter
    prometheus-mysqld-exporter prometheus-postgres-exporter curl procps)

# Passwords of the lab's own accounts (loopback only, throwaway data).
APP_USER=app APP_PASSWORD=app EXPORTER_USER=exporter EXPORTER_PASSWORD=exporter

# Python with the client libraries, for the load generator and the readiness helper.
PY="$(pick_python "$REPO")"

ME="$(id -un)"
# PostgreSQL refuses to run as root: as root use the package's `postgres` system user.
if [[ $EUID -eq 0 ]]; then PG_USER=postgres; else PG_USER="$ME"; fi

# stdout/stderr of a component; the servers write their own logs (server_log_of) themselves,
# and nothing else goes into those, so a log tailer sees only the server's lines.
log_file() {
    case $1 in
        redis | mariadb | postgresql) echo "$LOG_DIR/$1.out" ;;
        *) echo "$LOG_DIR/$1.log" ;;
    esac
}

server_log_of() {
    case $1 in
        redis) echo "$LOG_DIR/redis.log" ;;
        mariadb) echo "$LOG_DIR/mariadb.err" ;;
        postgresql) echo "$LOG_DIR/postgresql.log" ;;
        *) log_file "$1" ;;
    esac
}

port_of() {
    case $1 in
        redis) echo "$REDIS_PORT" ;;
        mariadb) echo "$MARIADB_PORT" ;;
        postgresql) echo "$PG_PORT" ;;
        node_exporter) echo "$NODE_EXPORTER_PORT" ;;
        redis_exporter) echo "$REDIS_EXPORTER_PORT" ;;
        mysqld_exporter) echo "$MYSQLD_EXPORTER_PORT" ;;
        postgres_exporter) echo "$POSTGRES_EXPORTER_PORT" ;;
        loadgen) echo "$APP_PORT" ;;
        prometheus) echo "$PROMETHEUS_PORT" ;;
    esac
}

endpoint_of() {
    case $1 in
        redis) echo "redis://127.0.0.1:$REDIS_PORT" ;;
        mariadb) echo "mysql://127.0.0.1:$MARIADB_PORT" ;;
        postgresql) echo "postgresql://127.0.0.1:$PG_PORT" ;;
        *) echo "http://127.0.0.1:$(port_of "$1")/metrics" ;;
    esac
}

# Every process the lab starts carries FORESHOCK_LAB_COMPONENT=<lab dir>:<component> in its
# environment (process titles change; environments do not, except Redis's): `down` and
# `status` check it before trusting a pid file, so a recycled pid is never signalled.
marker_of() { echo "FORESHOCK_LAB_COMPONENT=$LAB:$1"; }

is_ours() {
    local pid=$1 comp=$2
    if [[ "$comp" == redis ]]; then
        # Redis writes its process title over its environment: check the executable and
        # the title ("redis-server 127.0.0.1:PORT") instead.
        [[ "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" == "$(readlink -f /usr/bin/redis-server)" ]] &&
            [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *"127.0.0.1:$REDIS_PORT"* ]]
        return
    fi
    [[ -r "/proc/$pid/environ" ]] || return 1
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "$(marker_of "$comp")"
}


# pid of our running component $1 (from its pid file), or nothing.
running_pid() {
    local comp=$1 pf pid
    pf="$(pid_file "$comp")"
    pid="$(cat "$pf" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && is_ours "$pid" "$comp"; then
        echo "$pid"
    elif [[ "$comp" == postgresql ]]; then
        # A postmaster whose pid file was lost (an interrupted `up`): adopt it.
        pid="$(head -n 1 "$DATA_DIR/postgresql/postmaster.pid" 2>/dev/null || true)"
        if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && is_ours "$pid" postgresql; then
            echo "$pid" >"$pf"
            echo "$pid"
        fi
    fi
}

http_ok() { curl -fsS -m 3 -o /dev/null "$1" 2>/dev/null; }

# Does component $1 answer a client call? (no waiting)
answers() {
    case $1 in
        redis) [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]] ;;
        mariadb) mariadb-admin --no-defaults --socket="$RUN_DIR/mariadb.sock" -u"$ME" \
            --connect-timeout=2 ping >/dev/null 2>&1 ;;
        postgresql) "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2 ;;
        prometheus) http_ok "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" ;;
        *) http_ok "http://127.0.0.1:$(port_of "$1")/metrics" ;;
    esac
}

# --- install: Debian packages -----------------------------------------------------------------

binary_of() {
    case $1 in
        redis) echo /usr/bin/redis-server ;;
        mariadb) echo /usr/sbin/mariadbd ;;
        postgresql) echo "$PG_BIN/postgres" ;;
        node_exporter) echo /usr/bin/prometheus-node-exporter ;;
        redis_exporter) echo /usr/bin/prometheus-redis-exporter ;;
        mysqld_exporter) echo /usr/bin/prometheus-mysqld-exporter ;;
        postgres_exporter) echo /usr/bin/prometheus-postgres-exporter ;;
        prometheus) echo /usr/bin/prometheus ;;
    esac
}

missing_binaries() {
    local b
    for b in /usr/bin/redis-server /usr/bin/redis-cli /usr/sbin/mariadbd /usr/bin/mariadb \
        /usr/bin/mariadb-admin /usr/bin/mariadb-install-db "$PG_BIN/postgres" "$PG_BIN/initdb" \
        "$PG_BIN/pg_ctl" "$PG_BIN/psql" "$PG_BIN/pg_isready" /usr/bin/prometheus \
        /usr/bin/prometheus-node-exporter /usr/bin/prometheus-redis-exporter \
        /usr/bin/prometheus-mysqld-exporter /usr/bin/prometheus-postgres-exporter /usr/bin/curl \
        /usr/bin/ps; do
        [[ -x "$b" ]] || echo "$b"
    done
}

cmd_install() {
    local missing t0 sudo=() made_policy=0
    missing="$(missing_binaries)"
    if [[ -z "$missing" ]]; then
        log "packages: all binaries present (apt-get skipped)"
        return 0
    fi
    log "packages: missing $(echo "$missing" | tr '\n' ' ')"
    command -v apt-get >/dev/null || die "no apt-get: install ${PACKAGES[*]} by hand (Debian 12 names)"
    if [[ $EUID -ne 0 ]]; then
        command -v sudo >/dev/null || die "not root and no sudo: run as root:" \
            "apt-get update && apt-get install -y ${PACKAGES[*]}"
        sudo=(sudo)
    fi
    t0="$(now)"
    # Packages must not start their services (they would take the lab's ports): Debian's
    # policy-rc.d convention. Docker images ship one; elsewhere put one in place for the install.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\n# foreshock lab: no service starts during apt-get install\nexit 101\n' |
            "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
        "${sudo[@]}" chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    local alog="$LOG_DIR/apt-install.log" rc=0
    log "packages: apt-get update && apt-get install (log: $alog)"
    {
        "${sudo[@]}" apt-get update -q &&
            "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                --no-install-recommends "${PACKAGES[@]}"
    } >"$alog" 2>&1 || rc=$?
    if [[ $made_policy == 1 ]]; then "${sudo[@]}" rm -f /usr/sbin/policy-rc.d; fi
    if [[ $rc -ne 0 ]]; then
        tail -n 25 "$alog" >&2
        die "apt-get failed (exit $rc); full log: $alog"
    fi
    missing="$(missing_binaries)"
    [[ -z "$missing" ]] || die "still missing after apt-get install: $missing (log: $alog)"
    log "packages: installed in $(since "$t0")s"
}

# --- configuration --------------------------------------------------------------------------

write_prometheus_config() {
    cat >"$CONF_DIR/prometheus.yml" <<EOF
# Written by infra/lab/lab.sh. One job per component; infra/lab/topology.yaml names the
# resources by job (no extra target labels: they would become part of every series name).
global:
  scrape_interval: 5s
  scrape_timeout: 4s
  evaluation_interval: 5s
scrape_configs:
  - job_name: node
    static_configs: [{targets: ['127.0.0.1:$NODE_EXPORTER_PORT']}]
  - job_name: redis
    static_configs: [{targets: ['127.0.0.1:$REDIS_EXPORTER_PORT']}]
  - job_name: mysqld
    static_configs: [{targets: ['127.0.0.1:$MYSQLD_EXPORTER_PORT']}]
  - job_name: postgres
    static_configs: [{targets: ['127.0.0.1:$POSTGRES_EXPORTER_PORT']}]
  - job_name: app
    static_configs: [{targets: ['127.0.0.1:$APP_PORT']}]
EOF
    cat >"$CONF_DIR/mysqld_exporter.cnf" <<EOF
[client]
user=$EXPORTER_USER
password=$EXPORTER_PASSWORD
host=127.0.0.1
port=$MARIADB_PORT
EOF
    chmod 600 "$CONF_DIR/mysqld_exporter.cnf"
}

# --- servers: first-time initialisation -----------------------------------------------------

mariadb_sql() {
    mariadb --no-defaults --socket="$RUN_DIR/mariadb.sock" -u"$ME" --batch
}

init_mariadb_data() {
    local dir="$DATA_DIR/mariadb"
    [[ -f "$dir/.foreshock-initialized" ]] && return 0
    rm -rf "$dir"
    mkdir -p "$dir"
    log "mariadb: mariadb-install-db into $dir"
    mariadb-install-db --defaults-file="$HERE/mariadb.cnf" --user="$ME" --datadir="$dir" \
        --auth-root-authentication-method=socket --skip-test-db \
        >>"$(log_file mariadb-install)" 2>&1 ||
        die "mariadb: mariadb-install-db failed; see $(log_file mariadb-install)"
}

# Users and the shop schema: ~10k products (rows 1-20 are the hot ones the app updates most).
seed_mariadb() {
    local dir="$DATA_DIR/mariadb"
    [[ -f "$dir/.foreshock-initialized" ]] && return 0
    log "mariadb: creating users and the shop schema (10000 products)"
    mariadb_sql <<EOF || die "mariadb: seeding failed"
CREATE DATABASE IF NOT EXISTS shop;
USE shop;
CREATE USER IF NOT EXISTS '$APP_USER'@'%' IDENTIFIED BY '$APP_PASSWORD';
GRANT SELECT, INSERT, UPDATE, DELETE ON shop.* TO '$APP_USER'@'%';
-- CONNECTION ADMIN: may use MariaDB's one extra connection, so the exporter still scrapes
-- when the app has exhausted max_connections.
CREATE USER IF NOT EXISTS '$EXPORTER_USER'@'%' IDENTIFIED BY '$EXPORTER_PASSWORD'
    WITH MAX_USER_CONNECTIONS 5;
GRANT PROCESS, REPLICATION CLIENT, SELECT, SLAVE MONITOR, CONNECTION ADMIN
    ON *.* TO '$EXPORTER_USER'@'%';
CREATE TABLE IF NOT EXISTS shop.products (
    id INT PRIMARY KEY,
    sku VARCHAR(16) NOT NULL,
    name VARCHAR(80) NOT NULL,
    description TEXT NOT NULL,
    price DECIMAL(10, 2) NOT NULL,
    stock INT NOT NULL,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB;
INSERT IGNORE INTO shop.products (id, sku, name, description, price, stock)
SELECT seq, CONCAT('SKU-', LPAD(seq, 6, '0')), CONCAT('Product ', seq),
       REPEAT(CONCAT('Description of product ', seq, '. '), 20),
       ROUND(1 + RAND(seq) * 200, 2), 100000
FROM seq_1_to_10000;
EOF
    touch "$dir/.foreshock-initialized"
}

pg_run() { # run a PostgreSQL program as the PostgreSQL user, from a directory it can read
    if [[ "$PG_USER" == "$ME" ]]; then
        (cd / && "$@")
    else
        (cd / && runuser -u "$PG_USER" -- "$@")
    fi
}

pg_sql() {
    pg_run "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN_DIR/pg" -p "$PG_PORT" -U postgres "$@"
}

ensure_pg_user() {
    [[ "$PG_USER" == postgres && $EUID -eq 0 ]] || return 0
    id postgres >/dev/null 2>&1 && return 0
    log "postgresql: creating the postgres system user"
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
}

init_postgresql_data() {
    local dir="$DATA_DIR/postgresql"
    ensure_pg_user
    mkdir -p "$RUN_DIR/pg"
    chown "$PG_USER" "$RUN_DIR/pg"
    touch "$LOG_DIR/postgresql.log"
    chown "$PG_USER" "$LOG_DIR/postgresql.log"
    if [[ ! -f "$dir/.foreshock-initialized" ]]; then
        rm -rf "$dir"
        mkdir -p "$dir"
        chown "$PG_USER" "$dir"
        chmod 700 "$dir"
        log "postgresql: initdb into $dir (as $PG_USER)"
        pg_run "$PG_BIN/initdb" -D "$dir" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=trust --auth-host=scram-sha-256 >>"$(log_file postgresql-initdb)" 2>&1 ||
            die "postgresql: initdb failed; see $(log_file postgresql-initdb)"
        echo "include_if_exists = 'lab.conf'" >>"$dir/postgresql.conf"
    fi
    # The lab settings are copied in on every start, so an edit takes effect on the next up.
    install -m 600 -o "$PG_USER" "$HERE/postgresql.conf" "$dir/lab.conf"
}

# A lab killed without `down` (machine stopped, SIGKILL) leaves postmaster.pid behind with
# a dead (or, after a reboot, reused) pid. PostgreSQL would replace it itself, but only a
# moment after pg_ctl returns: remove it first so the pid read below is the new server's.
remove_stale_postmaster_pid() {
    local pf="$DATA_DIR/postgresql/postmaster.pid" old
    [[ -f "$pf" ]] || return 0
    old="$(head -n 1 "$pf" 2>/dev/null || true)"
    log "postgresql: removing the stale postmaster.pid of a lab that was not stopped (pid $old)"
    rm -f "$pf"
}

seed_postgresql() {
    local dir="$DATA_DIR/postgresql"
    [[ -f "$dir/.foreshock-initialized" ]] && return 0
    log "postgresql: creating roles and the shop schema"
    # The exporter is a superuser so it keeps scraping (reserved slots) when the app's sessions
    # have used up max_connections.
    pg_sql -d postgres <<EOF || die "postgresql: seeding failed"
CREATE ROLE $APP_USER LOGIN PASSWORD '$APP_PASSWORD';
CREATE ROLE $EXPORTER_USER LOGIN SUPERUSER PASSWORD '$EXPORTER_PASSWORD';
CREATE DATABASE shop OWNER $APP_USER;
EOF
    pg_sql -d shop <<EOF || die "postgresql: seeding failed"
SET ROLE $APP_USER;
CREATE TABLE orders (
    id BIGSERIAL PRIMARY KEY,
    customer_id INT NOT NULL,
    product_id INT NOT NULL,
    quantity INT NOT NULL,
    amount NUMERIC(10, 2) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX orders_created_at ON orders (created_at);
CREATE INDEX orders_customer ON orders (customer_id);
EOF
    touch "$dir/.foreshock-initialized"
}

# --- launch ---------------------------------------------------------------------------------

# Start component $1 in the background with the command "${@:2}"; records and prints its pid.
spawn() {
    local comp=$1 pid
    shift
    {
        printf '# %s: started by infra/lab/lab.sh at %s\n# ' "$comp" "$(date -Is)"
        printf '%q ' "$@"
        printf '\n'
    } >>"$(log_file "$comp")"
    # nohup: keep running after the terminal goes; 9>&-: do not inherit (and hold) the lock.
    nohup env "$(marker_of "$comp")" "$@" >>"$(log_file "$comp")" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$(pid_file "$comp")"
    echo "$pid"
}

launch() {
    local comp=$1 port
    port="$(port_of "$comp")"
    if port_in_use "$port"; then
        die "$comp: port 127.0.0.1:$port is already in use by a process this script did not" \
            "start (a packaged service? another FORESHOCK_LAB_DIR?); stop it or set FORESHOCK_LAB_*_PORT"
    fi
    case $comp in
        redis)
            mkdir -p "$DATA_DIR/redis"
            spawn redis redis-server "$HERE/redis.conf" --port "$REDIS_PORT" --bind 127.0.0.1 \
                --dir "$DATA_DIR/redis" --logfile "$LOG_DIR/redis.log"
            ;;
        mariadb)
            init_mariadb_data
            spawn mariadb /usr/sbin/mariadbd --defaults-file="$HERE/mariadb.cnf" --user="$ME" \
                --datadir="$DATA_DIR/mariadb" --socket="$RUN_DIR/mariadb.sock" \
                --port="$MARIADB_PORT" --bind-address=127.0.0.1 \
                --pid-file="$DATA_DIR/mariadb/mariadbd.pid" --log-error="$LOG_DIR/mariadb.err" \
                --slow-query-log-file="$LOG_DIR/mariadb-slow.log"
            ;;
        postgresql)
            init_postgresql_data
            remove_stale_postmaster_pid
            # pg_ctl starts the postmaster and returns; its pid is in postmaster.pid.
            pg_run env "$(marker_of postgresql)" "$PG_BIN/pg_ctl" start -D "$DATA_DIR/postgresql" \
                -l "$LOG_DIR/postgresql.log" -W \
                -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$RUN_DIR/pg" \
                >>"$(log_file postgresql)" 2>&1 9>&- ||
                die "postgresql: pg_ctl start failed; see $(log_file postgresql) and $LOG_DIR/postgresql.log"
            local pid="" _
            for _ in $(seq 1 50); do
                pid="$(head -n 1 "$DATA_DIR/postgresql/postmaster.pid" 2>/dev/null || true)"
                [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && is_ours "$pid" postgresql && break
                pid=""
                sleep 0.1
            done
            [[ "$pid" =~ ^[0-9]+$ ]] || die "postgresql: the server did not start (no live pid in postmaster.pid); see $LOG_DIR/postgresql.log"
            echo "$pid" >"$(pid_file postgresql)"
            echo "$pid"
            ;;
        node_exporter)
            spawn node_exporter prometheus-node-exporter \
                --web.listen-address="127.0.0.1:$NODE_EXPORTER_PORT"
            ;;
        redis_exporter)
            spawn redis_exporter prometheus-redis-exporter \
                --redis.addr="redis://127.0.0.1:$REDIS_PORT" \
                --web.listen-address="127.0.0.1:$REDIS_EXPORTER_PORT"
            ;;
        mysqld_exporter)
            spawn mysqld_exporter prometheus-mysqld-exporter \
                --config.my-cnf="$CONF_DIR/mysqld_exporter.cnf" \
                --web.listen-address="127.0.0.1:$MYSQLD_EXPORTER_PORT" \
                --collect.info_schema.innodb_metrics --collect.info_schema.processlist
            ;;
        postgres_exporter)
            DATA_SOURCE_NAME="postgresql://$EXPORTER_USER:$EXPORTER_PASSWORD@127.0.0.1:$PG_PORT/postgres?sslmode=disable" \
                spawn postgres_exporter prometheus-postgres-exporter \
                --web.listen-address="127.0.0.1:$POSTGRES_EXPORTER_PORT"
            ;;
        loadgen)
            (cd "$REPO" && spawn loadgen "$PY" -m foreshock_lab.loadgen --port "$APP_PORT")
            ;;
        prometheus)
            mkdir -p "$DATA_DIR/prometheus"
            spawn prometheus prometheus --config.file="$CONF_DIR/prometheus.yml" \
                --storage.tsdb.path="$DATA_DIR/prometheus" --storage.tsdb.retention.time=2d \
                --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --web.enable-lifecycle
            ;;
    esac
}

# Wait until $1 (pid $2) answers; on failure stop it and explain.
await_ready() {
    local comp=$1 pid=$2 t0=$3 deadline
    deadline=$(($(date +%s) + TIMEOUT))
    while ! answers "$comp"; do
        if ! alive "$pid"; then
            show_log_tail "$comp"
            die "$comp: the process exited during startup; see $(server_log_of "$comp")"
        fi
        if (($(date +%s) >= deadline)); then
            show_log_tail "$comp"
            stop_many "$comp" >/dev/null 2>&1 || true
            die "$comp: no answer within ${TIMEOUT}s (FORESHOCK_LAB_TIMEOUT); see $(server_log_of "$comp")"
        fi
        sleep 0.2
    done
    log "$comp: up in $(since "$t0")s (pid $pid) $(endpoint_of "$comp")"
}

show_log_tail() {
    local f
    f="$(server_log_of "$1")"
    printf '[lab] ---- last lines of %s ----\n' "$f" >&2
    tail -n 20 "$f" >&2 || true
    printf '[lab] ----\n' >&2
}

check_python() {
    "$PY" -c 'import prometheus_client, pymysql, psycopg, redis' 2>/dev/null ||
        die "no usable Python at '$PY' for the load generator: run \`make install\` (creates" \
            "$REPO/.venv with the dev extras) or set PYTHON to a Python with prometheus-client," \
            "pymysql, psycopg and redis"
}

# The pids of the lab's components that run (empty: none).
running_any() {
    local comp
    for comp in "${ALL_COMPONENTS[@]}"; do running_pid "$comp"; done
}

# A new lab, a new history: data, fault markers and the servers' logs (whose old lines
# would teach a log reader the templates of earlier faults); the install log stays.
wipe_data() {
    log "$1: removing $DATA_DIR/*, the fault markers and the logs in $LOG_DIR"
    rm -rf "${DATA_DIR:?}"/* "$RUN_DIR"/fault-*.json
    find "$LOG_DIR" -maxdepth 1 -type f ! -name apt-install.log -delete
}

cmd_up() {
    local comp pid t0 t_all started=0
    t_all="$(now)"
    mkdir -p "$DATA_DIR" "$RUN_DIR" "$LOG_DIR" "$CONF_DIR"
    cmd_install
    check_python
    write_prometheus_config
    case $FRESH in
        1)
            [[ -z "$(running_any)" ]] ||
                die "FORESHOCK_LAB_FRESH=1 but lab components are running: lab.sh down first"
            wipe_data "FORESHOCK_LAB_FRESH=1"
            ;;
        auto) # a running lab is kept; one that is not running starts with empty data
            if [[ -z "$(running_any)" ]]; then wipe_data "FORESHOCK_LAB_FRESH=auto, no lab running"; fi
            ;;
        0) ;;
        *) die "FORESHOCK_LAB_FRESH must be 0, 1 or auto (got '$FRESH')" ;;
    esac
    for comp in "$@"; do
        pid="$(running_pid "$comp")"
        if [[ -n "$pid" ]] && answers "$comp"; then
            log "$comp: already up (pid $pid)"
        elif [[ -n "$pid" ]]; then # ours, running, not answering yet (still starting?)
            await_ready "$comp" "$pid" "$(now)"
        else
            rm -f "$(pid_file "$comp")"
            t0="$(now)"
            log "$comp: starting, log: $(server_log_of "$comp")"
            pid="$(launch "$comp")" || die "$comp: could not be started"
            await_ready "$comp" "$pid" "$t0"
            started=$((started + 1))
        fi
        case $comp in # first start only (a marker file in the data dir)
            mariadb) seed_mariadb ;;
            postgresql) seed_postgresql ;;
        esac
    done
    if [[ -n "$(running_pid prometheus)" ]]; then
        log "waiting until Prometheus sees every target up"
        (cd "$REPO" && "$PY" -m foreshock_lab.faults wait-targets --timeout "$TIMEOUT") ||
            die "some Prometheus targets are not up (lab.sh status; logs in $LOG_DIR)"
    fi
    if [[ $started -eq 0 ]]; then
        log "lab already up: nothing to start ($(since "$t_all")s)"
    else
        log "lab up in $(since "$t_all")s: Prometheus http://127.0.0.1:$PROMETHEUS_PORT, logs in $LOG_DIR"
    fi
}

stop_signal_of() {
    case $1 in
        postgresql) echo INT ;; # "fast" shutdown: roll back sessions, then exit cleanly
        *) echo TERM ;;
    esac
}

# Stop our components in "$@" (in that order): signal each, wait, SIGKILL after STOP_TIMEOUT.
stop_many() {
    local comp pid t0
    for comp in "$@"; do
        t0="$(now)"
        pid="$(running_pid "$comp")"
        if [[ -z "$pid" ]]; then
            report_not_running "$comp"
            continue
        fi
        kill -"$(stop_signal_of "$comp")" "$pid" 2>/dev/null || true
        wait_exit "$comp" "$pid"
        log "$comp: stopped (pid $pid) in $(since "$t0")s"
    done
}

# Processes left by infra/lab/foreshock_lab/faults.py (connection and lock holders): stopped by `down`.
stop_fault_holders() {
    local pf name pid
    for pf in "$RUN_DIR"/fault-*.pid; do
        [[ -f "$pf" ]] || continue
        name="$(basename "$pf" .pid)"
        pid="$(cat "$pf" 2>/dev/null || true)"
        if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && is_ours "$pid" "$name"; then
            kill -TERM "$pid" 2>/dev/null || true
            log "$name: stopped fault holder (pid $pid)"
        fi
        rm -f "$pf" "$RUN_DIR/$name.ready"
    done
}

cmd_down() {
    local i rev=()
    for ((i = $#; i >= 1; i--)); do rev+=("${!i}"); done
    [[ -d "$RUN_DIR" ]] || {
        log "nothing to stop ($LAB has no run dir)"
        return 0
    }
    local all=0
    [[ $# -eq ${#ALL_COMPONENTS[@]} ]] && all=1
    if [[ $all == 1 ]]; then stop_fault_holders; fi
    stop_many "${rev[@]}"
    # The whole lab is down: the saved state of injected faults is void.
    if [[ $all == 1 ]]; then rm -f "$RUN_DIR"/fault-*.json; fi
}

cmd_status() {
    local comp pid rss state rc=0
    for comp in "$@"; do
        pid="$(running_pid "$comp")"
        if [[ -z "$pid" ]]; then
            printf '%-18s down\n' "$comp"
            rc=3
            continue
        fi
        rss="$(ps -o rss= -p "$pid" 2>/dev/null | awk '{printf "%d MiB", $1 / 1024}')"
        if answers "$comp"; then state="up"; else
            state="running, NOT answering"
            rc=3
        fi
        printf '%-18s %-4s pid %-7s rss %-8s %-36s log %s\n' "$comp" "$state" "$pid" "$rss" \
            "$(endpoint_of "$comp")" "$(server_log_of "$comp")"
    done
    if [[ -n "$(running_pid prometheus)" ]]; then
        echo
        (cd "$REPO" && "$PY" -m foreshock_lab.faults targets) || rc=3
    fi
    local pf
    for pf in "$RUN_DIR"/fault-*.pid; do
        [[ -f "$pf" ]] || continue
        printf 'fault holder %s running (pid %s): revert with python -m foreshock_lab.faults revert %s\n' \
            "$(basename "$pf" .pid | sed 's/^fault-//')" "$(cat "$pf")" \
            "$(basename "$pf" .pid | sed 's/^fault-//')"
    done
    return $rc
}

cmd_env() {
    cat <<EOF
export FORESHOCK_LAB_DIR=$LAB
export FORESHOCK_LAB_PROMETHEUS_URL=http://127.0.0.1:$PROMETHEUS_PORT
export FORESHOCK_LAB_LOGS=$LOG_DIR
export FORESHOCK_LAB_REDIS_PORT=$REDIS_PORT
export FORESHOCK_LAB_MARIADB_PORT=$MARIADB_PORT
export FORESHOCK_LAB_PG_PORT=$PG_PORT
export FORESHOCK_LAB_APP_PORT=$APP_PORT
export FORESHOCK_LAB_PROMETHEUS_PORT=$PROMETHEUS_PORT
EOF
}

usage() {
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

main() {
    local action="${1:-}" comp
    [[ -n "$action" ]] || usage 2
    shift
    local comps=("$@")
    [[ ${#comps[@]} -gt 0 ]] || comps=("${ALL_COMPONENTS[@]}")
    for comp in "${comps[@]}"; do
        [[ " ${ALL_COMPONENTS[*]} " == *" $comp "* ]] ||
            die "unknown component '$comp' (${ALL_COMPONENTS[*]})"
    done
    case "$action" in
        up | start | down | stop | restart | clean | install)
            # One up/down at a time per lab dir.
            mkdir -p "$LOG_DIR"
            take_lock
            ;;
    esac
    case "$action" in
        up | start) cmd_up "${comps[@]}" ;;
        down | stop) cmd_down "${comps[@]}" ;;
        restart) cmd_down "${comps[@]}" && cmd_up "${comps[@]}" ;;
        status) cmd_status "${comps[@]}" ;;
        install) cmd_install ;;
        env) cmd_env ;;
        logs) for comp in "${comps[@]}"; do server_log_of "$comp"; done ;;
        clean)
            cmd_down "${comps[@]}"
            rm -rf "${DATA_DIR:?}" "${CONF_DIR:?}"
            log "removed $DATA_DIR and $CONF_DIR (logs kept in $LOG_DIR)"
            ;;
        -h | --help | help) usage 0 ;;
        *) usage 2 ;;
    esac
}

main "$@"
