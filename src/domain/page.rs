//! Pagination of list endpoints: `page` from 1, `per_page` 1..=1000 (default 100).

/// Largest page a client may ask for.
pub const MAX_PER_PAGE: u32 = 1000;
/// Page size when the client does not say.
pub const DEFAULT_PER_PAGE: u32 = 100;

/// A validated page window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub number: u32,
    pub per_page: u32,
}

/// Which pagination parameters are out of range, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid pagination parameters")]
pub struct PageError {
    /// `(parameter, problem)` for each bad parameter.
    pub problems: Vec<(&'static str, String)>,
}

impl Page {
    /// Checks the raw parameters; absent ones take their defaults.
    pub fn parse(page: Option<&str>, per_page: Option<&str>) -> Result<Self, PageError> {
        let mut problems = Vec::new();
        let number = bounded(page, 1, 1, u32::MAX).map_err(|e| problems.push(("page", e)));
        let per_page = bounded(per_page, DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
            .map_err(|e| problems.push(("per_page", e)));
        match (number, per_page) {
            (Ok(number), Ok(per_page)) => Ok(Self { number, per_page }),
            _ => Err(PageError { problems }),
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
fn bounded(raw: Option<&str>, default: u32, min: u32, max: u32) -> Result<u32, String> {
    let Some(raw) = raw.map(str::trim) else {
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
        let page = Page::parse(None, None).unwrap();
        assert_eq!((page.limit(), page.offset()), (100, 0));
        let third = Page::parse(Some("3"), Some("10")).unwrap();
        assert_eq!((third.limit(), third.offset()), (10, 20));
        for (page, per_page) in [
            ("0", "10"),
            ("1", "0"),
            ("1", "1001"),
            ("-1", "10"),
            ("x", "1"),
        ] {
            assert!(
                Page::parse(Some(page), Some(per_page)).is_err(),
                "{page} {per_page}"
            );
        }
        let both = Page::parse(Some("0"), Some("0")).unwrap_err();
        assert_eq!(
            both.problems.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            ["page", "per_page"]
        );
    }
}
