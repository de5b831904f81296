//! Pagination of list endpoints: `per_page` 1..=1000 (default 100), and where a page
//! starts: a page number from 1 (offsets up to [`MAX_OFFSET`] rows), or a keyset cursor,
//! `after` an id, which costs the same at any depth.

/// Largest page a client may ask for.
pub const MAX_PER_PAGE: u32 = 1000;
/// Page size when the client does not say.
pub const DEFAULT_PER_PAGE: u32 = 100;
/// Most rows a numbered page may skip: an offset is read and thrown away row by row, so
/// deeper pages are served through the `after` cursor instead (docs/api.md).
pub const MAX_OFFSET: u64 = 10_000;

/// A validated page window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub per_page: u32,
    pub start: PageStart,
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStart {
    /// The page with this number, from 1.
    Number(u32),
    /// The rows whose id is greater than this one.
    After(i64),
}

/// Which pagination parameters are out of range, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid pagination parameters")]
pub struct PageError {
    /// `(parameter, problem)` for each bad parameter.
    pub problems: Vec<(&'static str, String)>,
}

impl Page {
    /// Checks the raw parameters; absent ones take their defaults (the first page).
    pub fn parse(
        page: Option<&str>,
        per_page: Option<&str>,
        after: Option<&str>,
    ) -> Result<Self, PageError> {
        let mut problems = Vec::new();
        let per_page = bounded(per_page, DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
            .map_err(|e| problems.push(("per_page", e)))
            .ok();
        let start = match (page, after) {
            (Some(_), Some(_)) => {
                problems.push(("after", "cannot be combined with page".to_owned()));
                None
            }
            (_, Some(after)) => match after.trim().parse::<i64>() {
                Ok(id) if id >= 0 => Some(PageStart::After(id)),
                _ => {
                    problems.push(("after", "must be an id: an integer from 0".to_owned()));
                    None
                }
            },
            (page, None) => bounded(page, 1, 1, u32::MAX)
                .map_err(|e| problems.push(("page", e)))
                .ok()
                .map(PageStart::Number),
        };
        if let (Some(per_page), Some(PageStart::Number(number))) = (per_page, start) {
            let deepest = MAX_OFFSET / u64::from(per_page) + 1;
            if u64::from(number) > deepest {
                problems.push((
                    "page",
                    format!(
                        "must be at most {deepest} with per_page={per_page}: deeper pages are \
                         read with the after cursor (the Link header's rel=\"next\")"
                    ),
                ));
            }
        }
        match (per_page, start) {
            (Some(per_page), Some(start)) if problems.is_empty() => Ok(Self { per_page, start }),
            _ => Err(PageError { problems }),
        }
    }

    /// SQL `LIMIT`.
    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }

    /// SQL `OFFSET` (zero for a cursor page).
    pub fn offset(&self) -> i64 {
        match self.start {
            PageStart::Number(number) => (i64::from(number) - 1) * i64::from(self.per_page),
            PageStart::After(_) => 0,
        }
    }

    /// The cursor: rows after this id.
    pub fn after(&self) -> Option<i64> {
        match self.start {
            PageStart::After(id) => Some(id),
            PageStart::Number(_) => None,
        }
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

    fn parse(page: Option<&str>, per_page: Option<&str>) -> Result<Page, PageError> {
        Page::parse(page, per_page, None)
    }

    fn problem_fields(error: &PageError) -> Vec<&'static str> {
        error.problems.iter().map(|(p, _)| *p).collect()
    }

    #[test]
    fn defaults_and_bounds() {
        let page = parse(None, None).unwrap();
        assert_eq!((page.limit(), page.offset(), page.after()), (100, 0, None));
        let third = parse(Some("3"), Some("10")).unwrap();
        assert_eq!((third.limit(), third.offset()), (10, 20));
        for (page, per_page) in [
            ("0", "10"),
            ("1", "0"),
            ("1", "1001"),
            ("-1", "10"),
            ("x", "1"),
        ] {
            assert!(
                parse(Some(page), Some(per_page)).is_err(),
                "{page} {per_page}"
            );
        }
        let both = parse(Some("0"), Some("0")).unwrap_err();
        assert_eq!(problem_fields(&both), ["per_page", "page"]);
    }

    #[test]
    fn offsets_stop_at_the_maximum() {
        let deepest = parse(Some("101"), Some("100")).unwrap();
        assert_eq!(deepest.offset(), 10_000);
        let error = parse(Some("102"), Some("100")).unwrap_err();
        assert_eq!(problem_fields(&error), ["page"]);
        assert!(error.problems[0].1.contains("at most 101"));
        assert!(parse(Some("11"), Some("1000")).is_ok());
        assert!(parse(Some("12"), Some("1000")).is_err());
        assert!(parse(Some("4294967295"), Some("1")).is_err());
    }

    #[test]
    fn a_cursor_page_starts_after_an_id() {
        let page = Page::parse(None, Some("50"), Some("123456789")).unwrap();
        assert_eq!((page.limit(), page.offset()), (50, 0));
        assert_eq!(page.after(), Some(123_456_789));
        assert_eq!(Page::parse(None, None, Some("0")).unwrap().after(), Some(0));
        for bad in ["-1", "x", "1.5", "99999999999999999999"] {
            let error = Page::parse(None, None, Some(bad)).unwrap_err();
            assert_eq!(problem_fields(&error), ["after"], "{bad}");
        }
        let both = Page::parse(Some("2"), None, Some("10")).unwrap_err();
        assert_eq!(problem_fields(&both), ["after"]);
    }
}
