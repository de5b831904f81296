# shellcheck shell=bash
#
# scripts/lib/services.sh -- makes sure the backing services the shortener's tests need
# (PostgreSQL, Redis) are reachable, for scripts/test (and scripts/run-local,
# scripts/bench-redirect); scripts/stack uses services_apt_install and ensure_database.
#
#     source "$repo_root/scripts/lib/services.sh"
#     ensure_postgres
#     ensure_redis
#     ensure_database shortener
#
# * Sourced, so it sets no shell options; every function checks its own failures and
#   returns non-zero, and prints one summary line on stderr.
# * "Already reachable" wins: each ensure_* probes first and returns at once when the
#   service answers (the project's machines start both before a session; GitHub Actions
#   runs them as service containers, where client tools may be missing: the probes fall
#   back to bash's /dev/tcp).
# * Only when the probe fails and the address is loopback does it start the local server,
#   installing it from Debian's packages if it is absent, and wait SERVICES_WAIT_SECS.
# * The host's PostgreSQL configuration is never edited: a server that does not let
#   PG_SUPERUSER in without a password is reported in one line, and ensure_postgres fails.
#
# Settings, all optional (defaults in brackets):
#   PG_HOST [127.0.0.1]  PGPORT [5432]  PG_SUPERUSER [postgres]
#   REDIS_HOST [127.0.0.1]  REDIS_PORT [6379]
#   SERVICES_WAIT_SECS [30]
# PG_HOST rather than libpq's PGHOST: PGHOST is often a socket directory, and these
# helpers always mean a TCP address.

# Guard against being executed instead of sourced (it would define the
# functions in a child shell and do nothing useful).
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    echo "services.sh: this file is a library; source it, do not run it" >&2
    exit 2
fi

# Sourcing twice is harmless but pointless; keep the first definitions.
if [[ -n "${_SHORTENER_SERVICES_SH_LOADED:-}" ]]; then
    return 0
fi
_SHORTENER_SERVICES_SH_LOADED=1

# Set by services_apt_install so `apt-get update` runs at most once per run.
_SERVICES_APT_UPDATED=0

# --------------------------------------------------------------------------
# Logging helpers. They write to stderr so a caller's stdout stays usable for
# data, and prefix a tag so CI logs show which layer said what.
# --------------------------------------------------------------------------

log_info() { printf '[services] %s\n' "$*" >&2; }
log_warn() { printf '[services] WARNING: %s\n' "$*" >&2; }
log_error() { printf '[services] ERROR: %s\n' "$*" >&2; }

# --------------------------------------------------------------------------
# Small internal helpers.
# --------------------------------------------------------------------------

# True when HOST is a loopback address, i.e. a server we could start here.
# A remote host is never started or installed by these helpers.
_services_is_loopback() {
    case "$1" in
        127.* | localhost | ::1 | '[::1]') return 0 ;;
        *) return 1 ;;
    esac
}

# Run a command as root: directly when we are root (the project's machines
# and CI), through password-less sudo otherwise (e.g. a GitHub runner). Fails
# clearly instead of prompting, since CI has no stdin.
_services_as_root() {
    if [[ "${EUID:-$(id -u)}" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        log_error "need root (or password-less sudo) to run: $*"
        return 1
    fi
}

# True when something accepts a TCP connection on HOST PORT within 2 s.
# Used only as a fallback when the proper client tool is not installed.
_services_tcp_open() {
    # shellcheck disable=SC2016 # $1/$2 expand in the child bash, by design
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# services_apt_install PACKAGE... -- install Debian packages without prompts.
# `apt-get update` runs once per process (a fresh machine's package lists may
# be missing or stale). Output goes to a log that is printed only on failure.
services_apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        log_error "apt-get not found; install $* by hand"
        return 1
    fi
    local log
    log="$(mktemp "${TMPDIR:-/tmp}/services-apt.XXXXXX")" || return 1
    if [[ "$_SERVICES_APT_UPDATED" -eq 0 ]]; then
        if ! _services_as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get update </dev/null >>"$log" 2>&1; then
            cat "$log" >&2
            log_error "apt-get update failed (log above)"
            rm -f "$log"
            return 1
        fi
        _SERVICES_APT_UPDATED=1
    fi
    if ! _services_as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "$@" </dev/null >>"$log" 2>&1; then
        cat "$log" >&2
        log_error "apt-get install $* failed (log above)"
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------

# True when the PostgreSQL server at PG_HOST:PGPORT accepts connections.
# pg_isready when installed; otherwise only "the port is open", which is
# enough to know we must not start another server there.
_pg_ready() {
    local host="${PG_HOST:-127.0.0.1}" port="${PGPORT:-5432}"
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$host" -p "$port" -t 2 </dev/null >/dev/null 2>&1
    else
        _services_tcp_open "$host" "$port"
    fi
}

# Print "VERSION CLUSTER STATUS" of the Debian-managed cluster configured for
# PORT (first match), or nothing. Picking the cluster by port instead of
# `$(ls /etc/postgresql) main` copes with several installed versions.
_pg_cluster_for_port() {
    command -v pg_lsclusters >/dev/null 2>&1 || return 0
    pg_lsclusters --no-header 2>/dev/null |
        awk -v port="$1" '$3 == port { print $1, $2, $4; exit }'
}

# True when the superuser can log in over TCP without a password (trust, or a
# PGPASSWORD/.pgpass the caller provided). -w: never prompt (no stdin in CI).
_pg_can_login() {
    command -v psql >/dev/null 2>&1 || return 1
    psql -X -w -q -A -t -h "${PG_HOST:-127.0.0.1}" -p "${PGPORT:-5432}" \
        -U "${PG_SUPERUSER:-postgres}" -d postgres -c 'SELECT 1' \
        </dev/null >/dev/null 2>&1
}

# ensure_postgres -- make sure PostgreSQL answers at PG_HOST:PGPORT and lets PG_SUPERUSER
# in. Already up: only the login is checked. Otherwise (loopback only): installs the
# postgresql package if no server is installed, starts the Debian cluster for PGPORT
# with pg_ctlcluster, and waits up to SERVICES_WAIT_SECS. Its pg_hba.conf is left as
# the package or the machine's owner wrote it.
ensure_postgres() {
    local host="${PG_HOST:-127.0.0.1}" port="${PGPORT:-5432}"
    local wait_secs="${SERVICES_WAIT_SECS:-30}" action

    if _pg_ready; then
        action="already accepting connections at $host:$port (nothing to do)"
    elif ! _services_is_loopback "$host"; then
        log_error "postgres: $host:$port is not reachable and is not local; not starting anything"
        return 1
    else
        _pg_start "$host" "$port" "$wait_secs" || return 1
        action="$_PG_ACTION; accepting connections at $host:$port"
    fi
    # Without psql (a runner whose server is a container) there is nothing to log in with.
    if command -v psql >/dev/null 2>&1 && ! _pg_can_login; then
        log_error "postgres: ${PG_SUPERUSER:-postgres} cannot log in to $host:$port without a password (set PGPASSWORD, or allow it in that server's pg_hba.conf; this script never edits it)"
        return 1
    fi
    log_info "postgres: $action"
}

# _pg_start HOST PORT WAIT -- start (installing first if need be) the local Debian cluster
# for PORT and wait for it; says what it did in _PG_ACTION.
_pg_start() {
    local host="$1" port="$2" wait_secs="$3" info installed=""
    info="$(_pg_cluster_for_port "$port")"
    if [[ -z "$info" ]] && ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
        log_info "postgres: not installed; installing postgresql from Debian's packages"
        services_apt_install postgresql || return 1
        installed="installed postgresql, "
        info="$(_pg_cluster_for_port "$port")"
    fi
    if [[ -z "$info" ]]; then
        log_error "postgres: no Debian cluster configured for port $port (pg_lsclusters below); create one with pg_createcluster"
        pg_lsclusters >&2 2>/dev/null || true
        return 1
    fi
    local version cluster status log
    read -r version cluster status <<<"$info"
    log="/var/log/postgresql/postgresql-$version-$cluster.log"
    _PG_ACTION="${installed}started cluster $version/$cluster"
    if [[ "$status" == online* ]]; then
        # Running but not answering yet (starting, or recovering): wait below.
        _PG_ACTION="waited for the already-running cluster $version/$cluster"
    elif ! _services_as_root pg_ctlcluster --skip-systemctl-redirect \
        "$version" "$cluster" start </dev/null; then
        log_error "postgres: pg_ctlcluster $version $cluster start failed; log: $log"
        return 1
    fi
    local deadline=$((SECONDS + wait_secs))
    until _pg_ready; do
        if ((SECONDS >= deadline)); then
            log_error "postgres: not ready at $host:$port after ${wait_secs}s; tail of $log:"
            tail -n 20 "$log" >&2 2>/dev/null || true
            return 1
        fi
        sleep 1
    done
}

# ensure_database NAME -- create database NAME on PG_HOST:PGPORT unless it
# exists. The name travels as a psql variable and is quoted with %I / :'v',
# so any name is safe. Call ensure_postgres first.
ensure_database() {
    local name="${1:-}"
    if [[ -z "$name" ]]; then
        log_error "usage: ensure_database NAME"
        return 1
    fi
    if ! command -v psql >/dev/null 2>&1; then
        # E.g. a runner whose server is a container: only the client is
        # needed here.
        log_info "postgres: psql not found; installing postgresql-client"
        services_apt_install postgresql-client || return 1
    fi

    # -X: ignore ~/.psqlrc; -w: never prompt (no stdin in CI); variables are
    # only interpolated in script input, hence the here-strings.
    local -a psql_cmd=(psql -X -w -q -A -t -v ON_ERROR_STOP=1 -v "dbname=$name"
        -h "${PG_HOST:-127.0.0.1}" -p "${PGPORT:-5432}"
        -U "${PG_SUPERUSER:-postgres}" -d postgres)
    local exists
    if ! exists="$("${psql_cmd[@]}" <<<"SELECT 1 FROM pg_database WHERE datname = :'dbname';")"; then
        log_error "postgres: could not query databases on ${PG_HOST:-127.0.0.1}:${PGPORT:-5432}"
        return 1
    fi
    if [[ "$exists" == 1 ]]; then
        log_info "postgres: database \"$name\" already exists (nothing to do)"
        return 0
    fi
    # CREATE DATABASE cannot take a bind parameter; \gexec runs the statement
    # built with format('%I'), which quotes the identifier properly.
    if ! "${psql_cmd[@]}" <<<"SELECT format('CREATE DATABASE %I', :'dbname') \\gexec" >/dev/null; then
        # Lost a race with a concurrent creator? Then it exists now: fine.
        exists="$("${psql_cmd[@]}" <<<"SELECT 1 FROM pg_database WHERE datname = :'dbname';" 2>/dev/null || true)"
        if [[ "$exists" == 1 ]]; then
            log_info "postgres: database \"$name\" was created concurrently (nothing to do)"
            return 0
        fi
        log_error "postgres: could not create database \"$name\""
        return 1
    fi
    log_info "postgres: created database \"$name\""
}

# --------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------

# True when Redis at REDIS_HOST:REDIS_PORT answers PING with PONG. Uses
# redis-cli when installed, else speaks the (inline) protocol over /dev/tcp,
# so a runner without redis-tools still sees a service container.
_redis_ping() {
    local host="${REDIS_HOST:-127.0.0.1}" port="${REDIS_PORT:-6379}"
    if command -v redis-cli >/dev/null 2>&1; then
        [[ "$(redis-cli -h "$host" -p "$port" ping </dev/null 2>/dev/null)" == PONG ]]
    else
        # shellcheck disable=SC2016 # $1/$2 expand in the child bash, by design
        timeout 2 bash -c '
            exec 3<>"/dev/tcp/$1/$2" || exit 1
            printf "PING\r\n" >&3
            IFS= read -r reply <&3 || exit 1
            [[ "$reply" == "+PONG"* ]]
        ' _ "$host" "$port" 2>/dev/null
    fi
}

# ensure_redis -- make sure Redis answers PING at REDIS_HOST:REDIS_PORT.
# Already up: does nothing. Otherwise (loopback only): installs
# redis-server if absent, starts a daemonized, non-persistent redis-server
# on REDIS_PORT (the same command the machine uses at boot), and waits up to
# SERVICES_WAIT_SECS.
ensure_redis() {
    local host="${REDIS_HOST:-127.0.0.1}" port="${REDIS_PORT:-6379}"
    local wait_secs="${SERVICES_WAIT_SECS:-30}"

    if _redis_ping; then
        log_info "redis: already answering PING at $host:$port (nothing to do)"
        return 0
    fi
    if ! _services_is_loopback "$host"; then
        log_error "redis: $host:$port is not reachable and is not local; not starting anything"
        return 1
    fi
    if _services_tcp_open "$host" "$port"; then
        # Something else holds the port; starting redis there would only fail.
        log_error "redis: $host:$port is open but does not answer PING (another program, or auth required?)"
        return 1
    fi

    local action="started redis-server"
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        log_info "redis: not installed; installing redis-server from Debian's packages"
        services_apt_install redis-server || return 1
        action="installed redis-server, started it"
        # The package may have started its own instance on 6379.
        if _redis_ping; then
            log_info "redis: installed redis-server; it answers PING at $host:$port"
            return 0
        fi
    fi

    # The machine's own start command, parameterised by port. The default
    # port keeps its exact form (incl. the default pid file). Any other port
    # gets its own pid and log file, so a throwaway instance never overwrites
    # (and on shutdown deletes) the shared server's /var/run/redis.pid.
    local logfile=/var/log/redis/ci.log
    local -a extra=()
    if [[ "$port" != 6379 ]]; then
        logfile="/var/log/redis/ci-$port.log"
        extra=(--pidfile "/var/run/redis_$port.pid")
    fi
    _services_as_root mkdir -p /var/lib/redis /var/log/redis || return 1
    if ! _services_as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 \
        --port "$port" --save "" --appendonly no --dir /var/lib/redis \
        --logfile "$logfile" "${extra[@]}" </dev/null; then
        log_error "redis: redis-server failed to start on port $port; log: $logfile"
        return 1
    fi

    local deadline=$((SECONDS + wait_secs))
    until _redis_ping; do
        if ((SECONDS >= deadline)); then
            log_error "redis: not answering at $host:$port after ${wait_secs}s; tail of $logfile:"
            tail -n 20 "$logfile" >&2 2>/dev/null || true
            return 1
        fi
        sleep 1
    done
    log_info "redis: $action on port $port; answering PING at $host:$port"
}
