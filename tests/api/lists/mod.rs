//! Every list (`/urls`, `/events`, `/users`, `/urls/{id}/events`): keyset cursor pages with
//! an RFC 8288 `Link` to the next page, bounded offsets, and exact `X-Total-Count` from
//! the counters the database keeps on write.

use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::TestApp;
use crate::helpers::bodies::{Event, Identified, Link, User, ids};

mod cursor;
mod totals;

/// The `<…>` target of a `Link: <…>; rel="next"` header, if there is one.
fn next_link(link: Option<&str>) -> Option<String> {
    let link = link?;
    let (target, params) = link.split_once(';')?;
    assert_eq!(params.trim(), "rel=\"next\"", "{link}");
    Some(
        target
            .trim()
            .strip_prefix('<')?
            .strip_suffix('>')?
            .to_owned(),
    )
}

/// Follows the `Link` headers from `first`, a list of `T`, collecting the ids of every
/// page and the `X-Total-Count` each page reported.
async fn walk<T: Identified + DeserializeOwned>(
    app: &TestApp,
    first: &str,
) -> (Vec<Vec<i64>>, Vec<String>) {
    let mut pages = Vec::new();
    let mut totals = Vec::new();
    let mut next = Some(first.to_owned());
    while let Some(path) = next {
        let response = app.get(&path).await;
        let body = response.expect_body::<Vec<T>>(StatusCode::OK);
        pages.push(ids(&body));
        totals.push(response.header("x-total-count").unwrap().to_owned());
        next = next_link(response.header("link"));
        assert!(pages.len() < 100, "the walk does not end: {pages:?}");
    }
    (pages, totals)
}
