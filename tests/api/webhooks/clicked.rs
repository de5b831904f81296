//! `link.clicked`: a link's clicks gathered for a window (a minute; shortened here) and
//! sent as one event with their count by class, each click in exactly one event however
//! many replicas took the visits.

use std::time::Duration;

use axum::http::Method;
use sqlx::PgPool;

use super::receiver::{Received, Receiver};
use super::{assert_signed, at, link_id, settings, subscribe};
use crate::helpers::TestApp;
use crate::redirect::send_with;

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const CURL: &str = "curl/8.5.0";

/// Sends `count` requests to the link's code with `method` and `agent` from `app`.
async fn visits(app: &TestApp, code: &str, method: Method, agent: &str, count: usize) {
    for _ in 0..count {
        send_with(
            app,
            method.clone(),
            &format!("/{code}"),
            &[("user-agent", agent)],
        )
        .await;
    }
}

/// The `data.clicks` counts of an event: (count, humans, bots, previews).
fn counts(received: &Received) -> (i64, i64, i64, i64) {
    let body = received.json();
    let of = |name: &str| at(&body, &format!("/data/clicks/{name}")).as_i64().unwrap();
    (of("count"), of("humans"), of("bots"), of("previews"))
}

#[sqlx::test]
async fn clicks_are_sent_as_one_link_clicked_per_link_and_window_counted_once_by_class(
    pool: PgPool,
) {
    let window = Duration::from_secs(2);
    let replica = || {
        let mut settings = settings(&[Duration::from_millis(100)], 100);
        settings.webhooks.clicked_window = window;
        TestApp::with_settings(pool.clone(), settings)
    };
    let (first, second) = (replica(), replica());
    let receiver = Receiver::start().await;
    let made = subscribe(&first, &receiver.url, &["link.clicked"]).await;
    let busy = first.shorten("https://example.com/busy").await;
    let calm = first.shorten("https://example.com/calm").await;
    let never = first.shorten("https://example.com/never").await;

    // Across both replicas: 3 people, 1 bot and 1 preview (a HEAD) on one link, 2
    // people on the other.
    visits(&first, &busy.short_code, Method::GET, BROWSER, 2).await;
    visits(&second, &busy.short_code, Method::GET, BROWSER, 1).await;
    visits(&second, &busy.short_code, Method::GET, CURL, 1).await;
    visits(&first, &busy.short_code, Method::HEAD, BROWSER, 1).await;
    visits(&second, &calm.short_code, Method::GET, BROWSER, 2).await;

    receiver.wait_for(2, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = receiver.received();
    assert_eq!(
        received.len(),
        2,
        "one event per clicked link, none for link {}: {received:#?}",
        never.id
    );
    let of = |id: i64| {
        received
            .iter()
            .find(|event| link_id(event) == id)
            .unwrap_or_else(|| panic!("no event for link {id}: {received:#?}"))
            .clone()
    };
    let (busy_event, calm_event) = (of(busy.id), of(calm.id));
    assert_eq!(busy_event.event_type(), "link.clicked");
    assert_eq!(counts(&busy_event), (5, 3, 1, 1));
    assert_eq!(counts(&calm_event), (2, 2, 0, 0));
    assert_signed(&busy_event, &made.secret);
    let body = busy_event.json();
    assert!(at(&body, "/data/clicks/first_at").is_string());
    assert!(at(&body, "/data/clicks/last_at").is_string());

    // Later clicks make the link's next event, a window after its first began.
    visits(&first, &busy.short_code, Method::GET, BROWSER, 2).await;
    let received = receiver.wait_for(3, Duration::from_secs(30)).await;
    assert_eq!(link_id(&received[2]), busy.id);
    assert_eq!(counts(&received[2]), (2, 2, 0, 0));
    let gap = received[2].at - busy_event.at;
    assert!(
        gap >= window.mul_f64(0.75),
        "two events of one link {gap:?} apart, within one window of {window:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 3);
}
