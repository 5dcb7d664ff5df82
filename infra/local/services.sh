#!/usr/bin/env bash
# Real Kafka, Neo4j and OpenSearch servers on 127.0.0.1 without Docker, for integration tests.
# The servers are assembled from Maven Central jars (see */pom.xml) into a reusable cache.
#
#   services.sh up     [SERVICE...]   fetch (first run only), start, wait until a client call works
#   services.sh down   [SERVICE...]   stop exactly the processes this script started (pid files)
#   services.sh status [SERVICE...]   running? answering? (exit 0 only if all are up and ready)
#   services.sh env    [--secure]     FORESHOCK_* settings for the plain (or the secure) servers
#   services.sh restart|fetch|smoke|logs|clean [SERVICE...]
#
# SERVICE is kafka, neo4j, opensearch or opensearch-secure (default: all four;
# FORESHOCK_SERVICES_SECURE=0: the first three, plain only). The secure side, with a throwaway
# CA made at start-up: Kafka's SASL_SSL listener, a second Neo4j DBMS (auth + TLS) in the
# neo4j process, and opensearch-secure (security plugin: auth + TLS). See README.md here.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
KNOWN_SERVICES=(kafka neo4j opensearch opensearch-secure)
SECURE="${FORESHOCK_SERVICES_SECURE:-1}" # 0: no secure servers unless named, no SASL_SSL listener
if [[ "$SECURE" == 1 ]]; then
    ALL_SERVICES=("${KNOWN_SERVICES[@]}")
else
    ALL_SERVICES=(kafka neo4j opensearch)
fi

CACHE="${FORESHOCK_SERVERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/foreshock-servers}"
M2_REPO="${FORESHOCK_M2_REPO:-$CACHE/m2}"
SERVICES_DIR="${FORESHOCK_SERVICES_DIR:-/tmp/foreshock-services}"
LOG_DIR="$SERVICES_DIR/logs"
RUN_DIR="$SERVICES_DIR/run"
STATE_DIR="$SERVICES_DIR/state"
TIMEOUT="${FORESHOCK_SERVICES_TIMEOUT:-180}"    # seconds to wait for each server to answer
STOP_TIMEOUT="${FORESHOCK_SERVICES_STOP_TIMEOUT:-60}"
KEEP_STATE="${FORESHOCK_SERVICES_KEEP_STATE:-0}" # 1: reuse data dirs across down/up
MVN="${MVN:-mvn}"
LOG_TAG=services
# shellcheck source=../common.sh
source "$HERE/../common.sh"
# shellcheck source=tls.sh
source "$HERE/tls.sh"
TLS_DIR="$SERVICES_DIR/tls"
# The one account of the secure servers (loopback test servers only; the OpenSearch one is
# in opensearch/security/internal_users.yml as a bcrypt hash, so it is not configurable).
SECURE_USER=foreshock
SECURE_PASSWORD=foreshock-secret

KAFKA_PORT="${FORESHOCK_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${FORESHOCK_KAFKA_CONTROLLER_PORT:-9093}"
NEO4J_PORT="${FORESHOCK_NEO4J_PORT:-7687}"
OPENSEARCH_PORT="${FORESHOCK_OPENSEARCH_PORT:-9200}"
OPENSEARCH_TRANSPORT_PORT="${FORESHOCK_OPENSEARCH_TRANSPORT_PORT:-9300}"
KAFKA_SECURE_PORT="${FORESHOCK_KAFKA_SECURE_PORT:-9094}"
NEO4J_SECURE_PORT="${FORESHOCK_NEO4J_SECURE_PORT:-7688}"
OPENSEARCH_SECURE_PORT="${FORESHOCK_OPENSEARCH_SECURE_PORT:-9201}"
OPENSEARCH_SECURE_TRANSPORT_PORT="${FORESHOCK_OPENSEARCH_SECURE_TRANSPORT_PORT:-9301}"
KAFKA_HEAP="${FORESHOCK_KAFKA_HEAP:-512m}"
NEO4J_HEAP="${FORESHOCK_NEO4J_HEAP:-768m}"
OPENSEARCH_HEAP="${FORESHOCK_OPENSEARCH_HEAP:-512m}"
export FORESHOCK_KAFKA_PORT="$KAFKA_PORT" FORESHOCK_NEO4J_PORT="$NEO4J_PORT" \
    FORESHOCK_OPENSEARCH_PORT="$OPENSEARCH_PORT" FORESHOCK_OPENSEARCH_SECURE_PORT="$OPENSEARCH_SECURE_PORT" FORESHOCK_SERVICES_TLS_DIR="$TLS_DIR" \
    FORESHOCK_SERVICES_SECURE_USER="$SECURE_USER" FORESHOCK_SERVICES_SECURE_PASSWORD="$SECURE_PASSWORD"
# probe.py checks Kafka's SASL_SSL listener and Neo4j's TLS DBMS only when they are there
if [[ "$SECURE" == 1 ]]; then
    export FORESHOCK_KAFKA_SECURE_PORT="$KAFKA_SECURE_PORT" FORESHOCK_NEO4J_SECURE_PORT="$NEO4J_SECURE_PORT"
else
    export FORESHOCK_KAFKA_SECURE_PORT="" FORESHOCK_NEO4J_SECURE_PORT=""
fi

# Python with the client libraries, for readiness checks: the repo's venv unless PYTHON is set.
PY="$(pick_python "$REPO")"

if [[ -n "${FORESHOCK_JAVA_HOME:-}" ]]; then
    JAVA_BIN="$FORESHOCK_JAVA_HOME/bin"
elif [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]]; then
    JAVA_BIN="$JAVA_HOME/bin"
else
    JAVA_BIN="$(dirname "$(command -v java 2>/dev/null || echo /nonexistent/java)")"
fi
JAVA="$JAVA_BIN/java"
JAVAC="$JAVA_BIN/javac"

# Common JVM flags. -Dforeshock.service=NAME marks our processes: `down` and `status` check it
# before trusting a pid file, so a recycled pid is never signalled.
jvm_common() {
    local svc=$1
    printf '%s\n' -Dforeshock.service="$svc" -Dforeshock.services.dir="$SERVICES_DIR" \
        -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Djava.io.tmpdir="$STATE_DIR/$svc/tmp" -Dfile.encoding=UTF-8
}

log_file() { echo "$LOG_DIR/$1.log"; }

# pid of our running server $1, or nothing.
running_pid() {
    local svc=$1 pf pid args
    pf="$(pid_file "$svc")"
    [[ -f "$pf" ]] || return 0
    pid="$(cat "$pf" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    args="$(ps -ww -o args= -p "$pid" 2>/dev/null || true)"
    if [[ "$args" == *"-Dforeshock.service=$svc "* && "$args" == *"-Dforeshock.services.dir=$SERVICES_DIR "* ]]; then
        echo "$pid"
    fi
}

ports_of() {
    case $1 in
        kafka)
            echo "$KAFKA_PORT $KAFKA_CONTROLLER_PORT"
            if [[ "$SECURE" == 1 ]]; then echo "$KAFKA_SECURE_PORT"; fi
            ;;
        neo4j)
            echo "$NEO4J_PORT"
            if [[ "$SECURE" == 1 ]]; then echo "$NEO4J_SECURE_PORT"; fi
            ;;
        opensearch) echo "$OPENSEARCH_PORT $OPENSEARCH_TRANSPORT_PORT" ;;
        opensearch-secure) echo "$OPENSEARCH_SECURE_PORT $OPENSEARCH_SECURE_TRANSPORT_PORT" ;;
    esac
}

endpoint_of() {
    case $1 in
        kafka)
            printf '127.0.0.1:%s' "$KAFKA_PORT"
            if [[ "$SECURE" == 1 ]]; then printf ' (SASL_SSL 127.0.0.1:%s)' "$KAFKA_SECURE_PORT"; fi
            echo
            ;;
        neo4j)
            printf 'bolt://127.0.0.1:%s' "$NEO4J_PORT"
            if [[ "$SECURE" == 1 ]]; then printf ' (bolt+s://127.0.0.1:%s)' "$NEO4J_SECURE_PORT"; fi
            echo
            ;;
        opensearch) echo "http://127.0.0.1:$OPENSEARCH_PORT" ;;
        opensearch-secure) echo "https://127.0.0.1:$OPENSEARCH_SECURE_PORT" ;;
    esac
}

# The cache entries (jar folders) a service runs from, in fetch order.
caches_of() {
    case $1 in
        kafka) echo kafka ;;
        neo4j) echo neo4j ;;
        opensearch) echo opensearch ;;
        opensearch-secure) echo "opensearch opensearch-security" ;;
    esac
}

check_java() {
    [[ -x "$JAVA" ]] || die "no java found (set FORESHOCK_JAVA_HOME or JAVA_HOME to a JDK 17 or 21)"
    local v
    v="$("$JAVA" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2}')"
    [[ "${v%%.*}" =~ ^[0-9]+$ && "${v%%.*}" -ge 17 ]] ||
        die "$JAVA is Java '$v'; Kafka 4, Neo4j 5.26 and OpenSearch 2.19 need Java 17+ (21 at most for Neo4j)"
    if [[ "${v%%.*}" -gt 21 ]]; then
        log "warning: $JAVA is Java $v; Neo4j 5.26 supports Java 17 and 21 only (set FORESHOCK_JAVA_HOME)"
    fi
}

check_python() {
    "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 8))' 2>/dev/null ||
        die "no usable Python at '$PY' for the readiness checks: run \`make install\` (creates" \
            "$REPO/.venv) or set PYTHON to a Python with confluent-kafka, neo4j and opensearch-py"
}

# --- fetch: Maven Central -> $CACHE/<svc>/{lib,classes} --------------------------------------

launcher_of() {
    case $1 in
        neo4j) echo "$HERE/neo4j/Neo4jLauncher.java" ;;
        opensearch) echo "$HERE/opensearch/OpenSearchLauncher.java" ;;
        *) echo "" ;;
    esac
}

stamp_of() {
    local svc=$1 launcher extra=""
    launcher="$(launcher_of "$svc")"
    # the plugin's jars are chosen against the core node's: a change of either re-fetches it
    if [[ "$svc" == opensearch-security ]]; then extra="$HERE/opensearch/pom.xml"; fi
    # shellcheck disable=SC2086 # launcher and extra may be empty
    cat "$HERE/$svc/pom.xml" $launcher $extra | cksum | awk '{print $1 "-" $2}'
}

fetched() {
    local svc=$1
    [[ -f "$CACHE/$svc/.stamp" && "$(cat "$CACHE/$svc/.stamp")" == "$(stamp_of "$svc")" ]]
}

# Hard-link the copied jars to the identical files in the local Maven repository, so the cache
# holds each jar once while staying reusable for re-resolution after a POM change.
dedupe_lib() {
    local lib=$1 jar name src
    declare -A in_repo=()
    while IFS= read -r -d '' jar; do
        in_repo["${jar##*/}"]="$jar"
    done < <(find "$M2_REPO" -name '*.jar' -print0 2>/dev/null)
    for jar in "$lib"/*.jar; do
        name="${jar##*/}"
        src="${in_repo[$name]:-}"
        if [[ -n "$src" ]] && cmp -s "$src" "$jar"; then
            ln -f "$src" "$jar" 2>/dev/null || true
        fi
    done
}

fetch_one() {
    local svc=$1
    fetched "$svc" && return 0
    mkdir -p "$CACHE/$svc" "$LOG_DIR"
    # The lock serialises concurrent `up`s sharing one cache; the subshell closes fd 8 again,
    # so no server inherits (and holds) the lock.
    (
        if command -v flock >/dev/null; then flock 8; fi
        fetched "$svc" || fetch_locked "$svc"
    ) 8>"$CACHE/.$svc.lock" || exit 1
}

fetch_locked() {
    local svc=$1 dir="$CACHE/$1" t0 launcher tmp flog
    command -v "$MVN" >/dev/null || die "Maven ('$MVN') is needed once to fetch the $svc jars into $CACHE"
    t0="$(now)"
    tmp="$dir/.tmp.$$"
    flog="$LOG_DIR/fetch-$svc.log"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    log "$svc: fetching jars from Maven Central into $dir (first run only; log: $flog)"
    if ! "$MVN" -B -q -f "$HERE/$svc/pom.xml" -Dmaven.repo.local="$M2_REPO" \
        dependency:copy-dependencies -DincludeScope=runtime -Dmdep.copyPom=false \
        -DoutputDirectory="$tmp/lib" >"$flog" 2>&1; then
        tail -n 30 "$flog" >&2
        rm -rf "$tmp"
        die "$svc: Maven could not fetch the jars; full log: $flog"
    fi
    if [[ "$svc" == opensearch-security ]] && ! unpack_plugin "$tmp/lib" >>"$flog" 2>&1; then
        tail -n 30 "$flog" >&2
        rm -rf "$tmp"
        die "$svc: unpacking the plugin zip failed; full log: $flog"
    fi
    dedupe_lib "$tmp/lib"
    launcher="$(launcher_of "$svc")"
    if [[ -n "$launcher" && -x "$JAVAC" ]]; then
        if ! "$JAVAC" --release 17 -nowarn -d "$tmp/classes" -cp "$tmp/lib/*" "$launcher" >>"$flog" 2>&1; then
            tail -n 30 "$flog" >&2
            rm -rf "$tmp"
            die "$svc: compiling $launcher failed; full log: $flog"
        fi
    fi
    rm -rf "${dir:?}/lib" "${dir:?}/classes"
    mv "$tmp/lib" "$dir/lib"
    if [[ -d "$tmp/classes" ]]; then mv "$tmp/classes" "$dir/classes"; fi
    rm -rf "$tmp"
    stamp_of "$svc" >"$dir/.stamp"
    log "$svc: fetched in $(since "$t0")s ($(du -sh "$dir/lib" | cut -f1) of jars)"
}

# The security plugin's zip (in lib/) -> its jars in lib/, except those of artifacts the core
# node already has (netty, transport-netty4, http clients, ...: the core's versions are used).
# With Python's zipfile: no unzip needed.
unpack_plugin() {
    local lib=$1
    "$PY" - "$lib" "$CACHE/opensearch/lib" <<'PYEOF'
import pathlib, re, sys, zipfile
lib, core = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
def artifact(name):
    return re.sub(r"-\d[^/]*\.jar$", "", name)
have = {artifact(p.name) for p in core.glob("*.jar")}
if not have:
    sys.exit(f"no core jars in {core}: fetch opensearch first")
zips = list(lib.glob("*.zip"))
if len(zips) != 1:
    sys.exit(f"expected one plugin zip in {lib}, found {zips}")
kept = skipped = 0
with zipfile.ZipFile(zips[0]) as z:
    for name in z.namelist():
        if "/" in name or not name.endswith(".jar"):
            continue
        if artifact(name) in have:
            skipped += 1
            continue
        (lib / name).write_bytes(z.read(name))
        kept += 1
zips[0].unlink()
print(f"unpacked {kept} jars of {zips[0].name} ({skipped} left to the core node)")
PYEOF
}

# Command to run a launcher: the class compiled into the cache, or (no javac) the source file.
# Jar folders of further cache entries (e.g. opensearch-security) follow the launcher's own.
launcher_cmd() {
    local svc=$1 main=$2 dir="$CACHE/$1" cp extra
    cp="$dir/lib/*"
    for extra in "${@:3}"; do cp+=":$CACHE/$extra/lib/*"; done
    if [[ -f "$dir/classes/$main.class" ]]; then
        printf '%s\n' -cp "$dir/classes:$cp" "$main"
    else
        printf '%s\n' -cp "$cp" "$(launcher_of "$svc")"
    fi
}

# --- start ---------------------------------------------------------------------------------

fresh_state() {
    local svc=$1
    if [[ "$KEEP_STATE" != 1 ]]; then
        rm -rf "${STATE_DIR:?}/$svc"
    fi
    mkdir -p "$STATE_DIR/$svc/tmp"
}

rotate_log() {
    local f
    f="$(log_file "$1")"
    [[ -f "$f" ]] && mv -f "$f" "$f.prev"
    : >"$f"
}

kafka_cmd() {
    local state="$STATE_DIR/kafka" lib="$CACHE/kafka/lib" listeners advertised protocols
    local scram=()
    listeners="PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT"
    advertised="PLAINTEXT://127.0.0.1:$KAFKA_PORT"
    protocols="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    if [[ "$SECURE" == 1 ]]; then
        listeners+=",SASL_SSL://127.0.0.1:$KAFKA_SECURE_PORT"
        advertised+=",SASL_SSL://127.0.0.1:$KAFKA_SECURE_PORT"
        protocols+=",SASL_SSL:SASL_SSL"
        # SCRAM users live in the cluster metadata: written when the storage is formatted
        scram=(--add-scram "SCRAM-SHA-256=[name=$SECURE_USER,password=$SECURE_PASSWORD]"
            --add-scram "SCRAM-SHA-512=[name=$SECURE_USER,password=$SECURE_PASSWORD]")
    fi
    cat >"$state/server.properties" <<EOF
# Written by infra/local/services.sh: single combined KRaft node on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$state/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=2097152
EOF
    if [[ "$SECURE" == 1 ]]; then
        # Clients only: TLS with the throwaway CA's certificate (a PEM keystore), then SASL
        # PLAIN or SCRAM as $SECURE_USER. No authorizer: an authenticated user may do anything.
        cat >>"$state/server.properties" <<EOF
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$TLS_DIR/kafka-keystore.pem
listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SECURE_USER="$SECURE_PASSWORD";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
EOF
    fi
    local jvm=()
    mapfile -t jvm < <(jvm_common kafka)
    jvm+=(-Xms256m "-Xmx$KAFKA_HEAP" -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
        -Dlog4j2.configurationFile="$HERE/kafka/log4j2.properties")
    if [[ ! -f "$state/data/meta.properties" ]]; then
        local id
        # A cluster id is 16 random bytes, base64url without padding (22 characters); one
        # that starts with "-" would read as an option to the storage tool (1 run in 64).
        id="-"
        while [[ "$id" == -* ]]; do
            id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)"
        done
        "$JAVA" "${jvm[@]}" -cp "$lib/*" kafka.tools.StorageTool format --standalone \
            -t "$id" -c "$state/server.properties" "${scram[@]}" >>"$(log_file kafka)" 2>&1 ||
            die "kafka: formatting the storage failed; see $(log_file kafka)"
    fi
    printf '%s\n' "$JAVA" "${jvm[@]}" -cp "$lib/*" kafka.Kafka "$state/server.properties"
}

neo4j_cmd() {
    local jvm=() env=()
    mapfile -t jvm < <(jvm_common neo4j)
    jvm+=(-Xms256m "-Xmx$NEO4J_HEAP"
        --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
        --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED
        -Dio.netty.tryReflectionSetAccessible=true -Djdk.nio.maxCachedBufferSize=1024
        -XX:-OmitStackTraceInFastThrow)
    mkdir -p "$LOG_DIR/neo4j"
    if [[ "$SECURE" == 1 ]]; then
        # the secure DBMS (auth: neo4j / $SECURE_PASSWORD, TLS required on Bolt) runs in the
        # same JVM; its certificate in a folder of its own (the launcher adds trusted/, revoked/)
        mkdir -p "$LOG_DIR/neo4j-secure" "$STATE_DIR/neo4j/tls"
        cp "$TLS_DIR/server.key" "$TLS_DIR/server-chain.pem" "$STATE_DIR/neo4j/tls/"
        env=(env "FORESHOCK_NEO4J_INITIAL_PASSWORD=$SECURE_PASSWORD")
    fi
    printf '%s\n' "${env[@]}" "$JAVA" "${jvm[@]}"
    launcher_cmd neo4j Neo4jLauncher
    printf '%s\n' "$STATE_DIR/neo4j/home" 127.0.0.1 "$NEO4J_PORT" "$LOG_DIR/neo4j"
    if [[ "$SECURE" == 1 ]]; then
        printf '%s\n' -- "$STATE_DIR/neo4j/secure-home" 127.0.0.1 "$NEO4J_SECURE_PORT" \
            "$LOG_DIR/neo4j-secure" "$STATE_DIR/neo4j/tls"
    fi
}

opensearch_cmd() {
    local svc=${1:-opensearch} state jvm=()
    state="$STATE_DIR/$svc"
    mkdir -p "$state/data" "$LOG_DIR/$svc"
    mapfile -t jvm < <(jvm_common "$svc")
    # The flags of the distribution's config/jvm.options that matter outside its launcher.
    jvm+=("-Xms$OPENSEARCH_HEAP" "-Xmx$OPENSEARCH_HEAP" -XX:G1ReservePercent=25
        -XX:InitiatingHeapOccupancyPercent=30 -XX:-OmitStackTraceInFastThrow
        -Dlog4j2.formatMsgNoLookups=true -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true
        -Dlog4j2.configurationFile="$HERE/opensearch/log4j2.properties"
        -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true
        -Dio.netty.recycler.maxCapacityPerThread=0 "-Djava.locale.providers=SPI,COMPAT")
    if [[ "$svc" == opensearch ]]; then
        printf '%s\n' "$JAVA" "${jvm[@]}"
        launcher_cmd opensearch OpenSearchLauncher
        printf '%s\n' "path.home=$state" "path.data=$state/data" "path.logs=$LOG_DIR/$svc" \
            "http.port=$OPENSEARCH_PORT" "transport.port=$OPENSEARCH_TRANSPORT_PORT"
        return
    fi
    # The secure node: the security plugin from the classpath, its configuration (security/*.yml,
    # loaded into the security index at start-up) and the certificates in its config folder,
    # which the plugin wants private (0700 / 0600).
    local config="$state/config"
    mkdir -p "$config/opensearch-security"
    cp "$HERE"/opensearch/security/*.yml "$config/opensearch-security/"
    cp "$TLS_DIR/ca.pem" "$TLS_DIR/server-chain.pem" "$TLS_DIR/server.key" "$config/"
    chmod 0700 "$config" "$config/opensearch-security"
    chmod 0600 "$config"/*.pem "$config/server.key" "$config"/opensearch-security/*.yml
    jvm+=(-Dforeshock.opensearch.plugins=org.opensearch.security.OpenSearchSecurityPlugin)
    printf '%s\n' "$JAVA" "${jvm[@]}"
    launcher_cmd opensearch OpenSearchLauncher opensearch-security
    printf '%s\n' "path.home=$state" "path.data=$state/data" "path.logs=$LOG_DIR/$svc" \
        "cluster.name=foreshock-local-secure" "node.name=foreshock-local-secure" \
        "http.port=$OPENSEARCH_SECURE_PORT" "transport.port=$OPENSEARCH_SECURE_TRANSPORT_PORT" \
        plugins.security.ssl.http.enabled=true \
        plugins.security.ssl.http.pemcert_filepath=server-chain.pem \
        plugins.security.ssl.http.pemkey_filepath=server.key \
        plugins.security.ssl.http.pemtrustedcas_filepath=ca.pem \
        plugins.security.ssl.transport.pemcert_filepath=server-chain.pem \
        plugins.security.ssl.transport.pemkey_filepath=server.key \
        plugins.security.ssl.transport.pemtrustedcas_filepath=ca.pem \
        plugins.security.ssl.transport.enforce_hostname_verification=false \
        "plugins.security.nodes_dn=$TLS_SERVER_DN_RFC2253" \
        plugins.security.allow_default_init_securityindex=true \
        plugins.security.audit.type=noop
}

opensearch_secure_cmd() { opensearch_cmd opensearch-secure; }

# Launch server $1 in the background; prints its pid. Does not wait for readiness.
launch() {
    local svc=$1 port cmd=() pid
    for port in $(ports_of "$svc"); do
        if port_in_use "$port"; then
            die "$svc: port 127.0.0.1:$port is already in use by a process this script did not start" \
                "(another server or another FORESHOCK_SERVICES_DIR?); stop it or set FORESHOCK_*_PORT"
        fi
    done
    fresh_state "$svc"
    rotate_log "$svc"
    if [[ "$svc" == *-secure || ("$svc" != opensearch && "$SECURE" == 1) ]]; then
        tls_ensure "$TLS_DIR"
    fi
    mapfile -t cmd < <("${svc//-/_}_cmd")
    [[ ${#cmd[@]} -gt 0 ]] || die "$svc: could not build the command line"
    {
        printf '# %s: started by infra/local/services.sh at %s\n# ' "$svc" "$(date -Is)"
        printf '%q ' "${cmd[@]}"
        printf '\n'
    } >>"$(log_file "$svc")"
    # nohup: keep running after the calling terminal goes away; stdin from /dev/null.
    # 9>&-: the server must not inherit (and so hold) the lock taken in main().
    nohup "${cmd[@]}" >>"$(log_file "$svc")" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$(pid_file "$svc")"
    echo "$SECURE" >"$RUN_DIR/$svc.secure"
    echo "$pid"
}

# Kafka and Neo4j carry the secure side in their own process: one started with another
# FORESHOCK_SERVICES_SECURE (or by an older script, which had none) must be restarted.
secure_side_differs() {
    local svc=$1 was
    [[ "$svc" == kafka || "$svc" == neo4j ]] || return 1
    was="$(cat "$RUN_DIR/$svc.secure" 2>/dev/null || echo 0)"
    [[ "$was" != "$SECURE" ]]
}

# Wait until $1 (pid $2) answers a client call; on failure stop it and explain.
await_ready() {
    local svc=$1 pid=$2 t0=$3 was_running=${4:-0} out rc=0
    out="$("$PY" "$HERE/probe.py" ready "$svc" --pid "$pid" --timeout "$TIMEOUT" 2>&1)" || rc=$?
    if [[ $rc -eq 0 && $was_running == 1 ]]; then
        log "$svc: already up (pid $pid): $out"
        return 0
    elif [[ $rc -eq 0 ]]; then
        log "$svc: up in $(since "$t0")s (pid $pid): $out"
        return 0
    fi
    local f
    f="$(log_file "$svc")"
    printf '[services] ---- last lines of %s ----\n' "$f" >&2
    tail -n 25 "$f" >&2 || true
    printf '[services] ----\n' >&2
    case $rc in
        2) log "$svc: cannot check readiness: $out" ;;
        3) log "$svc: the server process exited during startup: $out" ;;
        *) log "$svc: no answer within ${TIMEOUT}s (FORESHOCK_SERVICES_TIMEOUT): $out" ;;
    esac
    stop_one "$svc" >/dev/null 2>&1 || true
    log "$svc: FAILED to start; full log: $f"
    return 1
}

cmd_up() {
    local svc c pid was t0 parallel="${FORESHOCK_SERVICES_PARALLEL:-0}" failed=0 i
    local started=() pids=() t0s=() wass=()
    check_java
    check_python
    mkdir -p "$LOG_DIR" "$RUN_DIR" "$STATE_DIR"
    for svc in "$@"; do
        for c in $(caches_of "$svc"); do fetch_one "$c"; done
    done
    for svc in "$@"; do
        t0="$(now)"
        pid="$(running_pid "$svc")"
        if [[ -n "$pid" ]] && secure_side_differs "$svc"; then
            log "$svc: running with FORESHOCK_SERVICES_SECURE=$(cat "$RUN_DIR/$svc.secure" 2>/dev/null ||
                echo 0) (or started by an older services.sh): restarting it with $SECURE"
            stop_one "$svc"
            pid=""
        fi
        if [[ -n "$pid" ]]; then
            was=1 # already ours and running (maybe still starting): just make sure it answers
        else
            was=0
            rm -f "$(pid_file "$svc")"
            log "$svc: starting, log: $(log_file "$svc")"
            pid="$(launch "$svc")" || die "$svc: could not be started"
        fi
        if [[ "$parallel" == 1 ]]; then
            started+=("$svc") pids+=("$pid") t0s+=("$t0") wass+=("$was")
        else
            await_ready "$svc" "$pid" "$t0" "$was" || failed=1
        fi
    done
    for i in "${!started[@]}"; do
        await_ready "${started[$i]}" "${pids[$i]}" "${t0s[$i]}" "${wass[$i]}" || failed=1
    done
    [[ $failed -eq 0 ]] || die "some servers did not start (logs in $LOG_DIR)"
    log "ready: $(for s in "$@"; do printf '%s=%s ' "$s" "$(endpoint_of "$s")"; done)"
}

# Stop our servers named in "$@": SIGTERM to all (each shuts down cleanly via its shutdown hook),
# then wait for every one; SIGKILL whatever is still there after STOP_TIMEOUT seconds.
stop_many() {
    local svc pid t0 i svcs=() pids=()
    t0="$(now)"
    for svc in "$@"; do
        pid="$(running_pid "$svc")"
        if [[ -z "$pid" ]]; then
            report_not_running "$svc"
            continue
        fi
        kill -TERM "$pid" 2>/dev/null || true
        svcs+=("$svc")
        pids+=("$pid")
    done
    for i in "${!svcs[@]}"; do
        svc="${svcs[$i]}" pid="${pids[$i]}"
        wait_exit "$svc" "$pid"
        log "$svc: stopped (pid $pid) after $(since "$t0")s"
    done
}

stop_one() { stop_many "$1"; }

cmd_down() {
    local i rev=()
    for ((i = $#; i >= 1; i--)); do rev+=("${!i}"); done
    stop_many "${rev[@]}"
}

cmd_status() {
    local svc pid rss out rc=0 state
    for svc in "$@"; do
        pid="$(running_pid "$svc")"
        if [[ -z "$pid" ]]; then
            printf '%-17s down\n' "$svc"
            rc=3
            continue
        fi
        rss="$(ps -o rss= -p "$pid" 2>/dev/null | awk '{printf "%d MiB", $1 / 1024}')"
        if out="$("$PY" "$HERE/probe.py" ready "$svc" --pid "$pid" --timeout 0 2>&1)"; then
            state="up"
        else
            state="running, NOT answering"
            rc=3
        fi
        printf '%-17s %s  pid %s  rss %s  %s  log %s\n' "$svc" "$state" "$pid" "$rss" \
            "$(endpoint_of "$svc")" "$(log_file "$svc")"
        [[ "$state" == up ]] || printf '                  %s\n' "$out"
    done
    return $rc
}

cmd_env() {
    if [[ "${1:-}" != --secure ]]; then
        cat <<EOF
export FORESHOCK_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
export FORESHOCK_NEO4J_URI=bolt://127.0.0.1:$NEO4J_PORT
export FORESHOCK_OPENSEARCH_URL=http://127.0.0.1:$OPENSEARCH_PORT
export FORESHOCK_SERVICES_LOGS=$LOG_DIR
EOF
        return
    fi
    # The secure servers: Kafka's SASL_SSL listener, Neo4j's TLS DBMS, opensearch-secure.
    cat <<EOF
export FORESHOCK_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_SECURE_PORT
export FORESHOCK_KAFKA_SECURITY_PROTOCOL=SASL_SSL
export FORESHOCK_KAFKA_SASL_MECHANISM=SCRAM-SHA-512
export FORESHOCK_KAFKA_SASL_USERNAME=$SECURE_USER
export FORESHOCK_KAFKA_SASL_PASSWORD=$SECURE_PASSWORD
export FORESHOCK_KAFKA_SSL_CAFILE=$TLS_DIR/ca.pem
export FORESHOCK_NEO4J_URI=bolt+s://127.0.0.1:$NEO4J_SECURE_PORT
export FORESHOCK_NEO4J_USER=neo4j
export FORESHOCK_NEO4J_PASSWORD=$SECURE_PASSWORD
export FORESHOCK_NEO4J_CA_FILE=$TLS_DIR/ca.pem
export FORESHOCK_OPENSEARCH_URL=https://127.0.0.1:$OPENSEARCH_SECURE_PORT
export FORESHOCK_OPENSEARCH_USER=$SECURE_USER
export FORESHOCK_OPENSEARCH_PASSWORD=$SECURE_PASSWORD
export FORESHOCK_OPENSEARCH_CA_FILE=$TLS_DIR/ca.pem
export FORESHOCK_SERVICES_LOGS=$LOG_DIR
EOF
}

usage() {
    sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

main() {
    local action="${1:-}" svc c
    [[ -n "$action" ]] || usage 2
    shift
    if [[ "$action" == env ]]; then
        [[ $# -eq 0 || ($# -eq 1 && "$1" == --secure) ]] || die "usage: services.sh env [--secure]"
        cmd_env "$@"
        return
    fi
    local services=("$@")
    if [[ ${#services[@]} -eq 0 ]]; then
        services=("${ALL_SERVICES[@]}")
        if [[ "$action" == down || "$action" == stop || "$action" == clean ]]; then
            # also stop secure servers started earlier with FORESHOCK_SERVICES_SECURE=1
            for svc in "${KNOWN_SERVICES[@]}"; do
                if [[ " ${services[*]} " != *" $svc "* && -n "$(running_pid "$svc")" ]]; then
                    services+=("$svc")
                fi
            done
        fi
    fi
    for svc in "${services[@]}"; do
        [[ " ${KNOWN_SERVICES[*]} " == *" $svc "* ]] ||
            die "unknown service '$svc' (${KNOWN_SERVICES[*]})"
    done
    case "$action" in
        up | start | down | stop | restart | clean)
            # One up/down at a time per FORESHOCK_SERVICES_DIR (e.g. two test runs at once):
            # the second waits, then finds the servers up (or down).
            take_lock
            ;;
    esac
    case "$action" in
        up | start) cmd_up "${services[@]}" ;;
        down | stop) cmd_down "${services[@]}" ;;
        restart) cmd_down "${services[@]}" && cmd_up "${services[@]}" ;;
        status) cmd_status "${services[@]}" ;;
        fetch)
            check_java
            for svc in "${services[@]}"; do
                for c in $(caches_of "$svc"); do fetch_one "$c"; done
            done
            ;;
        smoke) "$PY" "$HERE/probe.py" smoke "${services[@]}" ;;
        logs) for svc in "${services[@]}"; do log_file "$svc"; done ;;
        clean)
            cmd_down "${services[@]}"
            for svc in "${services[@]}"; do rm -rf "${STATE_DIR:?}/$svc"; done
            if [[ $# -eq 0 ]]; then rm -rf "${TLS_DIR:?}"; fi
            log "removed state of: ${services[*]} (logs kept in $LOG_DIR; cache kept in $CACHE)"
            ;;
        -h | --help | help) usage 0 ;;
        *) usage 2 ;;
    esac
}

main "$@"
