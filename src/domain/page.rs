//! Pagination of list endpoints: `page` from 1, `per_page` 1..=1000 (default 100).

use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, FieldErrors};

/// Largest page a client may ask for.
pub const MAX_PER_PAGE: u32 = 1000;
/// Page size when the client does not say.
pub const DEFAULT_PER_PAGE: u32 = 100;

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

/// A validated page window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub number: u32,
    pub per_page: u32,
}

impl Page {
    /// Checks the parameters; out-of-range values are a 400 naming the field.
    pub fn from_params(params: &PageParams) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::new();
        let number =
            bounded(&params.page, 1, 1, u32::MAX).map_err(|e| errors.insert("page".into(), e));
        let per_page = bounded(&params.per_page, DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
            .map_err(|e| errors.insert("per_page".into(), e));
        match (number, per_page) {
            (Ok(number), Ok(per_page)) => Ok(Self { number, per_page }),
            _ => Err(ApiError::invalid_fields(errors)),
        }
    }

    /// SQL `LIMIT`.
    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }

    /// SQL `OFFSET`.
    pub fn offset(&self) -> i64 {
        (i64::from(self.number) - 1) * i64::from(self.per_page)
    }
}

/// Parses an optional integer parameter within `min..=max`.
fn bounded(raw: &Option<String>, default: u32, min: u32, max: u32) -> Result<u32, String> {
    let Some(raw) = raw.as_deref().map(str::trim) else {
        return Ok(default);
    };
    match raw.parse::<u32>() {
        Ok(value) if (min..=max).contains(&value) => Ok(value),
        _ => Err(format!("must be an integer from {min} to {max}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let page = Page::from_params(&PageParams::default()).unwrap();
        assert_eq!((page.limit(), page.offset()), (100, 0));
        let params = |page: &str, per_page: &str| PageParams {
            page: Some(page.to_owned()),
            per_page: Some(per_page.to_owned()),
        };
        let third = Page::from_params(&params("3", "10")).unwrap();
        assert_eq!((third.limit(), third.offset()), (10, 20));
        for (page, per_page) in [
            ("0", "10"),
            ("1", "0"),
            ("1", "1001"),
            ("-1", "10"),
            ("x", "1"),
        ] {
            assert!(
                Page::from_params(&params(page, per_page)).is_err(),
                "{page} {per_page}"
            );
        }
    }
}
