# Helpers shared by infra/lab/lab.sh and infra/local/services.sh (sourced, not run).
#
# The sourcing script sets LOG_TAG (the prefix of its messages), RUN_DIR (where pid files
# live) and STOP_TIMEOUT (seconds before SIGKILL) first.

log() { printf '[%s] %s\n' "$LOG_TAG" "$*" >&2; }
die() {
    printf '[%s] ERROR: %s\n' "$LOG_TAG" "$*" >&2
    exit 1
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# The Python to use: $PYTHON, else the repository's venv ($1 is the repository), else python3.
pick_python() {
    if [[ -n "${PYTHON:-}" ]]; then
        echo "$PYTHON"
    elif [[ -x "$1/.venv/bin/python" ]]; then
        echo "$1/.venv/bin/python"
    else
        echo python3
    fi
}

pid_file() { echo "$RUN_DIR/$1.pid"; }

# Alive and not a zombie (a zombie waits for a parent that is not us to reap it).
alive() {
    local st
    st="$(ps -o stat= -p "$1" 2>/dev/null || true)"
    [[ -n "$st" && "$st" != Z* ]]
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# $1 is not running: say so, and remove its pid file if one was left behind.
report_not_running() {
    if [[ -f "$(pid_file "$1")" ]]; then
        rm -f "$(pid_file "$1")"
        log "$1: not running (removed stale pid file)"
    else
        log "$1: not running"
    fi
}

# Wait until process $2 (of $1, already signalled) has exited; SIGKILL it after
# STOP_TIMEOUT seconds. Then remove $1's pid file.
wait_exit() {
    local name=$1 pid=$2 waited=0
    while alive "$pid"; do
        if ((waited >= STOP_TIMEOUT * 5)); then
            log "$name: pid $pid still running after ${STOP_TIMEOUT}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            for _ in {1..50}; do alive "$pid" && sleep 0.2; done
            break
        fi
        sleep 0.2
        waited=$((waited + 1))
    done
    # Our servers are re-parented to init; give it a moment to reap the exited process so
    # no <defunct> entry is left behind in the process table.
    for _ in {1..25}; do
        [[ -n "$(ps -o pid= -p "$pid" 2>/dev/null)" ]] || break
        sleep 0.2
    done
    rm -f "$(pid_file "$name")"
}

# Take the lock of RUN_DIR on file descriptor 9 (one up/down at a time), waiting for it.
take_lock() {
    mkdir -p "$RUN_DIR"
    exec 9>"$RUN_DIR/.lock"
    if command -v flock >/dev/null; then flock 9; fi
}
