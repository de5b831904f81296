# shellcheck shell=bash
#
# scripts/lib/private-stack.sh -- the native stack (scripts/stack) on private ports and in
# a throwaway directory, for the benchmarks and load tests (scripts/bench, bench-clicks,
# loadtest), so a run never meets a developer's own stack or the shared services.
#
#     source scripts/lib/private-stack.sh
#     private_stack_up 3          # replicas; sets STACK_BASE (Nginx) and stack_sql
#     ...
#     private_stack_down          # put it in the caller's EXIT trap; BENCH_KEEP=1 keeps
#                                 # the directory and its logs
#
# Sets STACK_API_KEY, the key writes and API reads through the stack need
# (`-H "Authorization: Bearer $STACK_API_KEY"`).
# Needs SHORTENER_BIN (a built binary) and sets the stack's port variables unless the
# caller set them. The per-IP rate limit is the caller's choice (NGINX_RATE_LIMIT,
# NGINX_RATE_BURST), inherited by scripts/stack.

private_stack_up() { # private_stack_up REPLICAS
    local replicas=$1
    PRIVATE_STACK_WORK=$(mktemp -d)
    chmod 755 "$PRIVATE_STACK_WORK" # the stack's Postgres runs as the postgres user
    export STACK_DIR=$PRIVATE_STACK_WORK/stack
    export STACK_HTTP_PORT=${STACK_HTTP_PORT:-18000} STACK_INTERNAL_PORT=${STACK_INTERNAL_PORT:-18089}
    export STACK_APP_PORT=${STACK_APP_PORT:-18181} STACK_REDIS_PORT=${STACK_REDIS_PORT:-16479}
    export STACK_PROMETHEUS_PORT=${STACK_PROMETHEUS_PORT:-19090}
    export STACK_ALERTMANAGER_PORT=${STACK_ALERTMANAGER_PORT:-19093}
    export STACK_NODE_EXPORTER_PORT=${STACK_NODE_EXPORTER_PORT:-19100}
    export STACK_NGINX_EXPORTER_PORT=${STACK_NGINX_EXPORTER_PORT:-19113}
    export STACK_POSTGRES_EXPORTER_PORT=${STACK_POSTGRES_EXPORTER_PORT:-19187}
    export STACK_REDIS_EXPORTER_PORT=${STACK_REDIS_EXPORTER_PORT:-19121}
    if ! scripts/stack up --replicas "$replicas" >"$PRIVATE_STACK_WORK/up.log" 2>&1; then
        cat "$PRIVATE_STACK_WORK/up.log" >&2
        return 1
    fi
    STACK_BASE="http://127.0.0.1:$STACK_HTTP_PORT"
    # shellcheck disable=SC1091
    source "$STACK_DIR/stack.env"
    # The stack's API key (scripts/stack makes one): clients send it as a Bearer token.
    export STACK_API_KEY=${STACK_API_KEYS%%,*}
    PRIVATE_STACK_DB="postgres://postgres@127.0.0.1:$STACK_POSTGRES_PORT/${STACK_DB_NAME:-shortener_stack}"
}

# The stack's database, one value per line.
stack_sql() { psql -qAtX "$PRIVATE_STACK_DB" -c "$1"; }

# Replica I's own address (not through Nginx).
stack_replica_url() { echo "http://127.0.0.1:$((STACK_APP_PORT + $1 - 1))"; }

private_stack_down() {
    [[ -n "${PRIVATE_STACK_WORK:-}" ]] || return 0
    if [[ -n "${BENCH_KEEP:-}" ]]; then
        scripts/stack down >/dev/null 2>&1 || true
        echo "kept $PRIVATE_STACK_WORK (logs under stack/logs)" >&2
    else
        scripts/stack down --purge >/dev/null 2>&1 || true
        rm -rf "$PRIVATE_STACK_WORK"
    fi
    PRIVATE_STACK_WORK=
}
