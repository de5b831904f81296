//! TLS to the data stores: the real binary against a private Postgres with `ssl=on` and a
//! redis-server on a TLS port, both with a certificate from a throwaway CA. With
//! `sslmode=verify-full` and `rediss://`, every connection of the replica is encrypted and
//! verified; a server the CA did not sign is refused at start.

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::helpers::bodies::Link;
use crate::helpers::process::{request_with_headers, serve, shortener};
use crate::helpers::servers::{PgCluster, RedisServer, TestCerts};

fn verified_url(pg: &PgCluster, ca: &std::path::Path) -> String {
    format!(
        "postgres://postgres@127.0.0.1:{}/tls?sslmode=verify-full&sslrootcert={}",
        pg.port(),
        ca.display()
    )
}

#[tokio::test]
async fn a_replica_reaches_postgres_and_redis_over_verified_tls() {
    let certs = TestCerts::generate();
    let pg = PgCluster::start_with_tls(&certs);
    pg.create_database("tls");
    let redis = RedisServer::start_with_tls(&certs);
    let ca = certs.ca();
    let observer: PgPool = PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy(&pg.url("tls"))
        .unwrap();
    let database_url = verified_url(&pg, &ca);
    let redis_url = redis.url();
    let (_server, port) = serve(
        &observer,
        &[
            ("DATABASE_URL", database_url.as_str()),
            ("REDIS_URL", redis_url.as_str()),
            // The Redis client trusts the system's roots, which SSL_CERT_FILE replaces.
            ("SSL_CERT_FILE", ca.to_str().unwrap()),
        ],
    )
    .await;

    let created = request_with_headers(
        port,
        "POST",
        "/urls",
        Some(r#"{"original_url":"https://example.com/tls"}"#),
        &[],
    )
    .await
    .unwrap();
    assert_eq!(created.status, 201, "{}", created.text());
    let code = serde_json::from_slice::<Link>(&created.body)
        .unwrap()
        .short_code;
    for _ in 0..2 {
        let followed = request_with_headers(port, "GET", &format!("/{code}"), None, &[])
            .await
            .unwrap();
        assert_eq!(followed.status, 302);
    }

    // The link went into Redis over TLS (the plain port is closed: only TLS answers).
    let keys = redis.cli(&["--scan"]);
    assert!(keys.contains(&code), "Redis holds the link: {keys:?}");
    // Every connection of the replica to Postgres is TLS.
    let (connections, encrypted): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE s.ssl)
         FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
         WHERE a.datname = 'tls' AND a.pid <> pg_backend_pid()",
    )
    .fetch_one(&observer)
    .await
    .unwrap();
    assert!(connections >= 1, "the replica holds connections");
    assert_eq!(encrypted, connections, "every replica connection is TLS");
}

#[tokio::test]
async fn a_postgres_whose_certificate_the_ca_did_not_sign_is_refused_at_start() {
    let certs = TestCerts::generate();
    let stranger = TestCerts::generate();
    let pg = PgCluster::start_with_tls(&certs);
    pg.create_database("tls");
    let output = shortener(&["serve"])
        .env("DATABASE_URL", verified_url(&pg, &stranger.ca()))
        .env("DB_CONNECT_WAIT_SECS", "1")
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.to_lowercase().contains("certificate"),
        "the failure names the certificate: {stderr}"
    );
}
