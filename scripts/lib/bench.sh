# shellcheck shell=bash
#
# scripts/lib/bench.sh -- what the benchmark scripts share: a free port, a replica started
# on its own, and wrk runs parsed into figures.
#
#     source scripts/lib/bench.sh
#     port=$(free_port)
#     read -r pid port < <(start_replica BIN LOGFILE [ENV=VALUE...])   # waits for /ready
#     wrk_measure "label" -t1 -c64 -d5s URL    # prints one line; sets rps p50 p99 (ms)
#     build_revs WORK REV...     # sets revs (short commits); binaries WORK/shortener-COMMIT
#
# A replica reads DATABASE_URL and REDIS_URL from the caller's environment.

build_revs() { # build_revs WORK REV...: each REV built in release mode in a throwaway
    # worktree (WORK/tree-COMMIT; the caller removes it), its target directory kept under
    # target/bench-steps/ so a rerun rebuilds nothing; sets revs to the short commits
    local work=$1 rev commit root
    root=$(pwd)
    shift
    revs=()
    for rev in "$@"; do
        commit=$(git rev-parse --short "$rev")
        revs+=("$commit")
        echo "== building $commit: $(git log -1 --format=%s "$commit" | cut -c1-80)" >&2
        git worktree add --quiet --detach "$work/tree-$commit" "$commit"
        (cd "$work/tree-$commit" && CARGO_TARGET_DIR="$root/target/bench-steps/$commit" \
            SQLX_OFFLINE=true cargo build --release --locked --quiet)
        cp "$root/target/bench-steps/$commit/release/shortener" "$work/shortener-$commit"
    done
}

remove_worktrees() { # remove_worktrees WORK: the worktrees build_revs made under WORK
    local tree
    for tree in "$1"/tree-*; do
        [[ -d "$tree" ]] && git worktree remove --force "$tree" 2>/dev/null
    done
    return 0
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

fresh_database() { # fresh_database NAME: an empty database on the shared Postgres
    psql -qX -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" \
        -c "CREATE DATABASE $1" >/dev/null 2>&1
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$1"
}

start_private_redis() { # start_private_redis DIR -> prints "PID PORT" (nothing kept on disk)
    local port
    port=$(free_port)
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$1" \
        >"$1/redis.log" 2>&1 &
    echo "$! $port"
}

start_ceiling() { # start_ceiling DIR -> prints "PID PORT": the machine's ceiling, Nginx
    # answering a static `return 302` with one worker, no upstream, no access log
    local port pid
    port=$(free_port)
    cat >"$1/ceiling.conf" <<NGINX
worker_processes 1;
daemon off;
pid $1/ceiling.pid;
error_log $1/ceiling.err warn;
events { worker_connections 4096; }
http {
    access_log off;
    server_tokens off;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$port;
        location / { return 302 https://example.com/bench; }
    }
}
NGINX
    nginx -p "$1" -c "$1/ceiling.conf" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break; sleep 0.1; done
    echo "$pid $port"
}

start_replica() { # start_replica BIN LOGFILE [ENV=VALUE...] -> prints "PID PORT"
    local bin=$1 log=$2 port pid
    shift 2
    port=$(free_port)
    # A bench replica runs open (its clients send no key) unless the caller gives keys.
    env LISTEN_ADDR="127.0.0.1:$port" ALLOW_OPEN_API=true "$@" "$bin" serve >"$log" 2>&1 &
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

cpu_snapshot() { # cpu_snapshot FILE: CPU ticks used so far by each process ("pid name
    # ticks"), plus the machine's busy and total ticks
    {
        for stat in /proc/[0-9]*/stat; do cat "$stat" 2>/dev/null; echo; done | awk 'NF {
            # the name is in parentheses and may hold spaces: fields count from its end
            close_at = 0
            for (i = length($0); i > 0; i--) if (substr($0, i, 1) == ")") { close_at = i; break }
            name = substr($0, index($0, "(") + 1, close_at - index($0, "(") - 1)
            split(substr($0, close_at + 2), rest, " ")
            gsub(/[\t ]/, "_", name)
            print $1 "\t" name "\t" rest[12] + rest[13]
        }'
        awk '/^cpu / { total = 0; for (i = 2; i <= NF; i++) total += $i
            print "0\tmachine:busy\t" total - $5 - $6; print "0\tmachine:total\t" total }' /proc/stat
    } >"$1"
}

cpu_share() { # cpu_share BEFORE AFTER SECONDS: cores used per program between two snapshots
    python3 - "$@" <<'PY'
import os, sys
before, after, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
def read(path):
    rows = (line.rstrip("\n").split("\t") for line in open(path) if line.strip())
    return {(pid, name) if pid == "0" else pid: (name, int(ticks)) for pid, name, ticks in rows}
b, a = read(before), read(after)
hz = os.sysconf("SC_CLK_TCK")
used = {}
for key, (name, ticks) in a.items():
    if name.startswith("machine:"):
        continue
    # a process that started meanwhile used all of its ticks in the window
    used[name] = used.get(name, 0) + (ticks - b.get(key, (name, 0))[1]) / hz / secs
busy = (a[("0", "machine:busy")][1] - b[("0", "machine:busy")][1]) / hz / secs
top = sorted(((v, k) for k, v in used.items() if v >= 0.02), reverse=True)[:5]
named = sum(v for v, _ in top)
print("   CPU, in cores: " + ", ".join(f"{k} {v:.2f}" for v, k in top)
      + f", the rest (wrk, processes that exited) {max(busy - named, 0):.2f}; machine busy {busy:.2f} of {os.cpu_count()}")
PY
}
