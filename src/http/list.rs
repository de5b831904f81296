//! List responses (a bare JSON array plus `X-Total-Count`) and the pagination parameters.

use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::error::ApiError;
use crate::domain::Page;
use crate::service::Listing;

/// Raw pagination query parameters, as the client sent them.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct PageParams {
    /// Page number, from 1.
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page: Option<String>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub per_page: Option<String>,
}

impl PageParams {
    /// The page asked for; out-of-range values are a 400 naming the field.
    pub fn page(&self) -> Result<Page, ApiError> {
        Ok(Page::parse(self.page.as_deref(), self.per_page.as_deref())?)
    }
}

/// One page of items and the number of items across all pages.
#[derive(Debug)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub total: i64,
}

impl<T> Listed<T> {
    /// The response for a service listing, each row turned into its view.
    pub fn of<R>(listing: Listing<R>) -> Self
    where
        T: From<R>,
    {
        Self {
            items: listing.items.into_iter().map(T::from).collect(),
            total: listing.total,
        }
    }
}

impl<T: Serialize> IntoResponse for Listed<T> {
    fn into_response(self) -> Response {
        (
            [("X-Total-Count", self.total.to_string())],
            axum::Json(self.items),
        )
            .into_response()
    }
}
