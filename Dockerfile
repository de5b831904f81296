# The shortener image: `docker build -t shortener .` (docker-compose.yml builds it too).
#
# Two stages: the builder compiles with the lock file (--locked), the runtime stage holds
# only the binary, CA certificates and a non-root user. Migrations are compiled into the
# binary (sqlx::migrate!), so `shortener migrate` needs nothing else from the source tree.

# Matches the toolchain the project is developed and tested with (Cargo.toml's
# rust-version is the floor, edition 2024). Bookworm on both sides: the binary links
# glibc, and the runtime's glibc must be at least the builder's.
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /build

# Dependencies first, in their own layer: this layer is rebuilt only when a manifest or
# Cargo.lock changes, not on every source edit. Stand-in sources (an empty lib.rs for each
# crate of the workspace, an empty main.rs for each binary) make cargo compile every
# dependency without the project's code. scripts/check-configs checks that every crate's
# manifest is copied here.
COPY Cargo.toml Cargo.lock ./
COPY crates/cache/Cargo.toml ./crates/cache/
COPY crates/clicks/Cargo.toml ./crates/clicks/
COPY crates/domain/Cargo.toml ./crates/domain/
COPY crates/http/Cargo.toml ./crates/http/
COPY crates/import/Cargo.toml ./crates/import/
COPY crates/metrics/Cargo.toml ./crates/metrics/
COPY crates/seedgen/Cargo.toml ./crates/seedgen/
COPY crates/server/Cargo.toml ./crates/server/
COPY crates/service/Cargo.toml ./crates/service/
COPY crates/store/Cargo.toml ./crates/store/
RUN for crate in crates/*/; do mkdir -p "$crate/src" && touch "$crate/src/lib.rs"; done \
    && mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && echo 'fn main() {}' > crates/seedgen/src/main.rs \
    && cargo build --release --locked --package shortener \
    && rm -rf src crates/*/src

# The real sources. migrations/ must be present at compile time: sqlx::migrate! embeds it;
# .sqlx/ holds the checked queries of sqlx::query!, so no database is needed to build.
# `touch` because COPY keeps the files' own modification times, which can be older than
# the stand-in build above, and cargo would then keep the stand-in libraries.
COPY migrations ./migrations
COPY .sqlx ./.sqlx
COPY src ./src
COPY crates ./crates
ENV SQLX_OFFLINE=true
# The commit shown by the shortener_build_info metric:
# `docker build --build-arg GIT_COMMIT=$(git rev-parse --short=12 HEAD) .`
ARG GIT_COMMIT=unknown
ENV SHORTENER_GIT_COMMIT=${GIT_COMMIT}
RUN find src crates -name '*.rs' -exec touch {} + \
    && cargo build --release --locked --package shortener \
    && cp target/release/shortener /usr/local/bin/shortener

FROM debian:bookworm-slim AS runtime

# ca-certificates: for any TLS the service or an operator's tooling may need; nothing else
# is installed (no compiler, no curl: the health check is the binary's own subcommand).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# A fixed uid/gid so file ownership and policies (e.g. runAsUser) can name it.
RUN groupadd --system --gid 10001 shortener \
    && useradd --system --uid 10001 --gid shortener --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin shortener

COPY --from=builder /usr/local/bin/shortener /usr/local/bin/shortener

# The click spill's directory (CLICK_SPILL_DIR), owned by the service's user, so a volume
# mounted there (docker-compose.yml) starts with that owner.
RUN mkdir -p /var/lib/shortener/click-spill \
    && chown -R 10001:10001 /var/lib/shortener

USER 10001:10001

# LISTEN_ADDR's default port. If LISTEN_ADDR changes the port, set HEALTHCHECK_URL to match.
EXPOSE 8080

# `shortener healthcheck` asks http://127.0.0.1:8080/ready (HEALTHCHECK_URL) and exits 0 on
# a 200. /ready is 503 while draining after SIGTERM and while Postgres is unreachable.
# start-period covers start-up: waiting for the database (DB_CONNECT_WAIT_SECS) and, when
# RUN_MIGRATIONS is true, applying migrations.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/shortener", "healthcheck"]

ENTRYPOINT ["/usr/local/bin/shortener"]
CMD ["serve"]
