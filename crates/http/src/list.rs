//! List responses (a bare JSON array, `X-Total-Count`, and an RFC 8288 `Link` to the next
//! page) and the pagination parameters.

use axum::http::Uri;
use axum::http::header::LINK;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::error::ApiError;
use shortener_domain::Page;
use shortener_service::Listing;

/// Raw pagination query parameters, as the client sent them.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number (default 1), counted from the cursor when `after` is given. The pages
    /// before it skip at most 10,000 rows; deeper lists are read with `after`.
    #[param(value_type = u32, required = false, minimum = 1, maximum = 11)]
    pub page: Option<String>,
    /// Items per page (default 100).
    #[param(value_type = u32, required = false, minimum = 1, maximum = 1000)]
    pub per_page: Option<String>,
    /// Keyset cursor: the items whose id is greater than this one, at the same cost at
    /// any depth. The `Link: <…>; rel="next"` header of a full page carries it.
    #[param(value_type = i64, required = false, minimum = 0)]
    pub after: Option<String>,
}

impl PageParams {
    /// The page asked for; out-of-range values are a 400 naming the field.
    pub fn page(&self) -> Result<Page, ApiError> {
        Ok(Page::parse(
            self.page.as_deref(),
            self.per_page.as_deref(),
            self.after.as_deref(),
        )?)
    }
}

/// One page of items, the number of items across all pages, and the next page's link.
#[derive(Debug)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub total: i64,
    /// `<path?query>` of the next page, when there may be one.
    pub next: Option<String>,
}

impl<T> Listed<T> {
    /// The response for a service listing of the request `uri`, each row turned into its
    /// view.
    pub fn of<R>(listing: Listing<R>, uri: &Uri) -> Self
    where
        T: From<R>,
    {
        Self {
            items: listing.items.into_iter().map(T::from).collect(),
            total: listing.total,
            next: listing.next_after.map(|after| next_page(uri, after)),
        }
    }
}

/// The request's path and query with the page replaced by the cursor `after`.
fn next_page(uri: &Uri, after: i64) -> String {
    let kept = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(name, _)| name != "page" && name != "after");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .append_pair("after", &after.to_string())
        .finish();
    format!("{}?{query}", uri.path())
}

impl<T: Serialize> IntoResponse for Listed<T> {
    fn into_response(self) -> Response {
        let mut response = (
            [("X-Total-Count", self.total.to_string())],
            axum::Json(self.items),
        )
            .into_response();
        if let Some(next) = self.next
            && let Ok(value) = format!("<{next}>; rel=\"next\"").parse()
        {
            response.headers_mut().insert(LINK, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_keeps_the_filters_and_replaces_the_page() {
        let uri: Uri = "/events?url_id=7&page=3&per_page=2&event_type=a%20b"
            .parse()
            .unwrap();
        assert_eq!(
            next_page(&uri, 42),
            "/events?url_id=7&per_page=2&event_type=a+b&after=42"
        );
        let uri: Uri = "/urls?after=5".parse().unwrap();
        assert_eq!(next_page(&uri, 9), "/urls?after=9");
        assert_eq!(next_page(&"/users".parse().unwrap(), 1), "/users?after=1");
    }
}
