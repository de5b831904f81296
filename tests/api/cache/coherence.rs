//! Coherence by versions across replicas: no answer begun 100 ms after an edit's response is
//! stale, over 200 edits of one link while another replica serves it under load; and a
//! writer that died between its commit and its Redis delete leaves nothing stale, because
//! the replicas told of the new version read past the old Redis entry and replace it.

use std::sync::Arc;
use std::time::Instant;

use axum::http::Method;

use super::*;

const EDITS: usize = 200;
const BOUND: Duration = Duration::from_millis(100);

/// The target of edit `n` (0: the link as created).
fn target(n: usize) -> String {
    format!("https://example.com/v{n}")
}

fn head(code: &str) -> Request<Body> {
    Request::builder()
        .method(Method::HEAD)
        .uri(format!("/{code}"))
        .body(Body::empty())
        .unwrap()
}

#[sqlx::test]
async fn no_answer_begun_100_ms_after_an_edit_is_stale_over_200_edits(pool: PgPool) {
    let redis = RedisServer::start();
    let a = replica(&pool, &redis).await;
    let b = replica(&pool, &redis).await;
    let link = create_settled(&[&a, &b], json!({"original_url": target(0)})).await;
    let code = code_of(&link);
    let started = Instant::now();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));

    // Three tasks follow the link through B (HEAD: no clicks), noting when each request
    // began and where it led.
    let mut readers = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let (b, code, stop) = (b.clone(), code.clone(), stop.clone());
        readers.spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let began = started.elapsed();
                let response = b.send_now(head(&code)).await;
                let location = response.header("location").map(str::to_owned);
                seen.push((began, location));
                // An answer from L1 never waits: let the writer's task run too.
                tokio::task::yield_now().await;
            }
            seen
        });
    }
    // A edits it; each edit's response time is noted.
    let mut answered = Vec::with_capacity(EDITS);
    for n in 1..=EDITS {
        a.put_json(
            &format!("/urls/{}", link.id),
            json!({"original_url": target(n)}),
        )
        .await
        .expect(StatusCode::OK);
        answered.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    tokio::time::sleep(BOUND * 2).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen: Vec<_> = readers.join_all().await.into_iter().flatten().collect();

    let version_of = |location: &Option<String>| -> usize {
        let location = location.as_deref().expect("every answer is a redirect");
        location
            .strip_prefix("https://example.com/v")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected target {location}"))
    };
    let mut checked = 0;
    let mut stale = Vec::new();
    let mut worst_lag = Duration::ZERO;
    for (began, location) in &seen {
        let served = version_of(location);
        // The newest edit answered at least BOUND before this request began.
        let due = answered.iter().rposition(|at| *at + BOUND <= *began);
        if let Some(due) = due {
            checked += 1;
            let due_version = due + 1;
            if served < due_version {
                stale.push((*began, served, due_version));
            }
        }
        // How long after an edit's answer B still served the version before it.
        if served < EDITS {
            let next_answer = answered[served];
            worst_lag = worst_lag.max(began.saturating_sub(next_answer));
        }
    }
    eprintln!(
        "{} answers from B over {EDITS} edits on A; {checked} began at least {BOUND:?} after \
         an edit's answer; the longest an old target was served after its edit's answer: {worst_lag:?}",
        seen.len()
    );
    assert!(
        checked > EDITS,
        "the readers ran through the edits ({checked})"
    );
    assert!(
        stale.is_empty(),
        "{} stale answers (began, served, due): {:?}",
        stale.len(),
        &stale[..stale.len().min(10)]
    );
}

#[sqlx::test]
async fn a_writer_that_dies_between_its_commit_and_its_redis_delete_leaves_nothing_stale(
    pool: PgPool,
) {
    let redis = RedisServer::start();
    let b = replica(&pool, &redis).await;
    let c = replica(&pool, &redis).await;
    let link = create_settled(&[&b, &c], json!({"original_url": target(0)})).await;
    let code = code_of(&link);
    // Redis holds the link, and both replicas have it in process.
    for app in [&b, &c] {
        assert_redirects_to(&redirect(app, &code).await, &target(0));
    }
    let key = redis_key(generation(&b), &code);
    assert!(
        redis.cli(&["EXISTS", &key]).contains('1'),
        "the link is in Redis under {key}"
    );

    // A replica commits an edit and dies before deleting the Redis entry: the commit is
    // the whole of what it did (its application_name says it was a replica).
    let committed = Instant::now();
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET application_name = 'shortener-replica:gone:xyz'")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE urls SET original_url = $1 WHERE id = $2")
        .bind(target(1))
        .bind(link.id)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    assert!(
        redis.cli(&["GET", &key]).contains(&target(0)),
        "the stale entry is still in Redis"
    );

    // B and C are told by the notification and read past the stale entry.
    for app in [&b, &c] {
        let took = eventually(
            "the replica serves the new target",
            PROPAGATION,
            async || {
                app.send_now(redirect_request(&code))
                    .await
                    .header("location")
                    == Some(target(1).as_str())
            },
        )
        .await;
        eprintln!(
            "new target served {took:?} after the commit ({:?} since)",
            committed.elapsed()
        );
    }
    assert!(lookups(&b, "l2", "stale") + lookups(&c, "l2", "stale") >= 1);
    // The first reader that could tell replaced the Redis entry.
    let stored = redis.cli(&["GET", &key]);
    assert!(stored.contains(&target(1)), "Redis holds {stored}");
    // A replica started later, told of nothing, reads the replaced entry.
    let d = replica(&pool, &redis).await;
    assert_redirects_to(&redirect(&d, &code).await, &target(1));
    assert_eq!(lookups(&d, "l2", "hit"), 1, "from Redis");
}
