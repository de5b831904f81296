//! Pagination of list endpoints: `per_page` 1..=1000 (default 100), a page number from
//! 1 to [`MAX_PAGE`] (so an offset skips at most [`MAX_OFFSET`] rows), counted from the
//! start or from a keyset cursor, `after` an id, which costs the same at any depth.
//! Each parameter has its own range, with no rule across them, so the published schema
//! states all of it.

/// Largest page a client may ask for.
pub const MAX_PER_PAGE: u32 = 1000;
/// Page size when the client does not say.
pub const DEFAULT_PER_PAGE: u32 = 100;
/// Most rows a numbered page may skip: an offset is read and thrown away row by row, so
/// deeper pages are served through the `after` cursor instead (docs/api.md).
pub const MAX_OFFSET: u64 = 10_000;
/// Highest page number: the pages before it skip at most [`MAX_OFFSET`] rows even at
/// the largest page size, whatever size is asked for.
pub const MAX_PAGE: u32 = (MAX_OFFSET / MAX_PER_PAGE as u64) as u32 + 1;

/// A validated page window: page `number` of `per_page` rows, counted from the start or
/// from the rows after the cursor `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub per_page: u32,
    /// From 1 to [`MAX_PAGE`].
    pub number: u32,
    /// Only the rows whose id is greater than this one.
    pub after: Option<i64>,
}

/// Which pagination parameters are out of range, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid pagination parameters")]
pub struct PageError {
    /// `(parameter, problem)` for each bad parameter.
    pub problems: Vec<(&'static str, String)>,
}

impl Page {
    /// Checks the raw parameters, each against its own range; absent ones take their
    /// defaults (the first page from the start).
    pub fn parse(
        page: Option<&str>,
        per_page: Option<&str>,
        after: Option<&str>,
    ) -> Result<Self, PageError> {
        let mut problems = Vec::new();
        let per_page = bounded(per_page, DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
            .map_err(|e| problems.push(("per_page", e)))
            .ok();
        let number = bounded(page, 1, 1, MAX_PAGE)
            .map_err(|e| {
                problems.push((
                    "page",
                    format!(
                        "{e}: deeper pages are read with the after cursor \
                         (the Link header's rel=\"next\")"
                    ),
                ))
            })
            .ok();
        let after = match after.map(str::trim) {
            None => Some(None),
            Some(after) => match after.parse::<i64>() {
                Ok(id) if id >= 0 => Some(Some(id)),
                _ => {
                    problems.push(("after", "must be an id: an integer from 0".to_owned()));
                    None
                }
            },
        };
        match (per_page, number, after) {
            (Some(per_page), Some(number), Some(after)) => Ok(Self {
                per_page,
                number,
                after,
            }),
            _ => Err(PageError { problems }),
        }
    }

    /// SQL `LIMIT`.
    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }

    /// SQL `OFFSET`: the pages before this one, at most [`MAX_OFFSET`] rows.
    pub fn offset(&self) -> i64 {
        (i64::from(self.number) - 1) * i64::from(self.per_page)
    }

    /// The cursor: rows after this id.
    pub fn after(&self) -> Option<i64> {
        self.after
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
    fn offsets_stop_at_the_maximum_whatever_the_page_size() {
        assert_eq!(MAX_PAGE, 11);
        let deepest = parse(Some("11"), Some("1000")).unwrap();
        assert_eq!(deepest.offset(), 10_000);
        for per_page in ["1", "100", "1000"] {
            let error = parse(Some("12"), Some(per_page)).unwrap_err();
            assert_eq!(problem_fields(&error), ["page"]);
            assert!(error.problems[0].1.contains("from 1 to 11"), "{error:?}");
        }
        assert!(parse(Some("4294967295"), Some("1")).is_err());
    }

    #[test]
    fn a_cursor_page_starts_after_an_id_and_pages_count_from_it() {
        let page = Page::parse(None, Some("50"), Some("123456789")).unwrap();
        assert_eq!((page.limit(), page.offset()), (50, 0));
        assert_eq!(page.after(), Some(123_456_789));
        assert_eq!(Page::parse(None, None, Some("0")).unwrap().after(), Some(0));
        for bad in ["-1", "x", "1.5", "99999999999999999999"] {
            let error = Page::parse(None, None, Some(bad)).unwrap_err();
            assert_eq!(problem_fields(&error), ["after"], "{bad}");
        }
        let second = Page::parse(Some("2"), Some("10"), Some("10")).unwrap();
        assert_eq!((second.offset(), second.after()), (10, Some(10)));
    }
}
