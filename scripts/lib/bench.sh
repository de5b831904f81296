# shellcheck shell=bash
#
# scripts/lib/bench.sh -- what the benchmark scripts share: a free port, a replica started
# on its own, and wrk runs parsed into figures.
#
#     source scripts/lib/bench.sh
#     port=$(free_port)
#     read -r pid port < <(start_replica BIN LOGFILE [ENV=VALUE...])   # waits for /ready
#     wrk_measure "label" -t1 -c64 -d5s URL    # prints one line; sets rps p50 p99 (ms)
#
# A replica reads DATABASE_URL and REDIS_URL from the caller's environment.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_replica() { # start_replica BIN LOGFILE [ENV=VALUE...] -> prints "PID PORT"
    local bin=$1 log=$2 port pid
    shift 2
    port=$(free_port)
    env LISTEN_ADDR="127.0.0.1:$port" "$@" "$bin" serve >"$log" 2>&1 &
    pid=$!
    for _ in $(seq 150); do
        curl -fs -o /dev/null "http://127.0.0.1:$port/ready" && { echo "$pid $port"; return; }
        sleep 0.1
    done
    echo "replica did not become ready; log:" >&2
    cat "$log" >&2
    return 1
}

stop_and_wait() { # stop_and_wait PID...: SIGTERM, then wait (up to 15 s) for each to exit
    local pid
    for pid in "$@"; do kill -CONT "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
    # Often not this shell's children (process substitutions), so `wait` cannot see them.
    for pid in "$@"; do
        for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
}

wrk_ms() { # wrk latency ("512.00us", "1.20ms", "1.00s") -> milliseconds
    python3 -c 'import sys,re; v=sys.argv[1]; n,u=re.match(r"([\d.]+)(\w+)",v).groups(); print(float(n)*{"us":0.001,"ms":1,"s":1000,"m":60000}[u])' "$1"
}

wrk_measure() { # wrk_measure LABEL WRK_ARGS... -> one line; sets rps, p50, p99 (ms), bad
    local label=$1 out
    shift
    out=$(wrk --latency "$@")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(wrk_ms "$(awk '/^ +50%/ {print $2}' <<<"$out")")
    p99=$(wrk_ms "$(awk '/^ +99%/ {print $2}' <<<"$out")")
    bad=$(awk '/Non-2xx or 3xx/ {n += $NF} /Socket errors/ {print "socket errors:", $0} END {print n + 0}' <<<"$out" | tr '\n' ' ')
    printf '  %-40s %10.0f req/s   p50 %7.3f ms   p99 %7.3f ms   non-2xx/3xx %s\n' \
        "$label" "$rps" "$p50" "$p99" "$bad"
}
