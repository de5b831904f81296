//! A link destination's health: what one check's answer says, and how a run of checks
//! moves a link between `unknown`, `up` and `down`.

use chrono::{DateTime, Utc};

/// Failed checks in a row that make a destination down, unless set otherwise
/// (`HEALTH_CHECK_DOWN_AFTER`).
pub const DEFAULT_DOWN_AFTER: u32 = 3;

/// What the checker last concluded of a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HealthStatus {
    /// Not checked yet, or not failed enough to be down since it was.
    #[default]
    Unknown,
    Up,
    /// Failed `down_after` checks in a row; a check that succeeds makes it up again.
    Down,
}

impl HealthStatus {
    /// The status as the API and the `link_health` table name it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Up => "up",
            Self::Down => "down",
        }
    }

    /// The status named `name`; `Unknown` for anything else.
    pub fn from_name(name: &str) -> Self {
        match name {
            "up" => Self::Up,
            "down" => Self::Down,
            _ => Self::Unknown,
        }
    }
}

/// Whether an answer with this status code counts as a failed check: the page is gone
/// (404, 410) or the server failed (5xx). Anything else means the site answers for it:
/// 2xx and 3xx, and the 4xx of a page behind a login, a bot wall or a rate limit.
pub fn status_fails(status: u16) -> bool {
    matches!(status, 404 | 410) || status >= 500
}

/// Whether a HEAD answered with `status` is tried again as a GET: any answer but a 2xx or
/// 3xx, since many servers refuse or mishandle HEAD (405, 501, even 404 or 403).
pub fn head_needs_get(status: u16) -> bool {
    !(200..400).contains(&status)
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// The answer's status code; `None` when there was no answer.
    pub status_code: Option<u16>,
    /// Why the check failed; `None` when it succeeded.
    pub error: Option<String>,
}

impl CheckResult {
    /// A check answered with `status`, failed or not by [`status_fails`].
    pub fn answered(status: u16) -> Self {
        Self {
            status_code: Some(status),
            error: status_fails(status).then(|| format!("answered {status}")),
        }
    }

    /// A check that got no answer (a timeout, a refused connection, no address).
    pub fn unanswered(error: impl Into<String>) -> Self {
        Self {
            status_code: None,
            error: Some(error.into()),
        }
    }

    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }
}

/// A destination's state between checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthState {
    pub status: HealthStatus,
    /// Failed checks in a row.
    pub failures: u32,
    pub down_since: Option<DateTime<Utc>>,
}

/// A change of status that its owner is told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthFlip {
    WentDown,
    CameUp,
}

impl HealthState {
    /// The state after a check at `now`, and the flip it made, if any. One success makes a
    /// destination up; `down_after` failures in a row make it down (a single failure from
    /// `up` or `unknown` keeps the status, counted).
    pub fn after(
        self,
        result: &CheckResult,
        down_after: u32,
        now: DateTime<Utc>,
    ) -> (Self, Option<HealthFlip>) {
        if result.succeeded() {
            let flip = (self.status == HealthStatus::Down).then_some(HealthFlip::CameUp);
            let state = Self {
                status: HealthStatus::Up,
                failures: 0,
                down_since: None,
            };
            return (state, flip);
        }
        let failures = self.failures.saturating_add(1);
        if self.status != HealthStatus::Down && failures >= down_after.max(1) {
            let state = Self {
                status: HealthStatus::Down,
                failures,
                down_since: Some(now),
            };
            return (state, Some(HealthFlip::WentDown));
        }
        (Self { failures, ..self }, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> HealthState {
        HealthState {
            status: HealthStatus::Unknown,
            failures: 0,
            down_since: None,
        }
    }

    #[test]
    fn gone_pages_and_server_errors_fail_and_other_answers_do_not() {
        for status in [404, 410, 500, 502, 503, 504] {
            assert!(status_fails(status), "{status}");
        }
        for status in [200, 204, 301, 302, 308, 401, 403, 405, 429] {
            assert!(!status_fails(status), "{status}");
        }
        assert!(head_needs_get(405) && head_needs_get(404) && head_needs_get(501));
        assert!(!head_needs_get(200) && !head_needs_get(302));
    }

    #[test]
    fn a_destination_is_down_only_after_the_count_of_failures_in_a_row_and_up_after_one_success() {
        let now = Utc::now();
        let failed = CheckResult::answered(503);
        let (once, flip) = fresh().after(&failed, 3, now);
        assert_eq!(
            (once.status, once.failures, flip),
            (HealthStatus::Unknown, 1, None)
        );
        let (twice, flip) = once.after(&failed, 3, now);
        assert_eq!((twice.status, flip), (HealthStatus::Unknown, None));
        let (down, flip) = twice.after(&CheckResult::unanswered("timed out"), 3, now);
        assert_eq!(down.status, HealthStatus::Down);
        assert_eq!(
            (down.down_since, flip),
            (Some(now), Some(HealthFlip::WentDown))
        );
        // Still failing: still down, since the same moment, with no second flip.
        let (still, flip) = down.after(&failed, 3, now + chrono::Duration::minutes(1));
        assert_eq!(
            (still.status, still.down_since, flip),
            (HealthStatus::Down, Some(now), None)
        );
        let (up, flip) = still.after(&CheckResult::answered(200), 3, now);
        assert_eq!(
            (up.status, up.failures, up.down_since),
            (HealthStatus::Up, 0, None)
        );
        assert_eq!(flip, Some(HealthFlip::CameUp));
    }

    #[test]
    fn a_success_between_failures_starts_the_count_again_and_a_first_success_is_no_flip() {
        let now = Utc::now();
        let failed = CheckResult::unanswered("could not connect");
        let (up, flip) = fresh().after(&CheckResult::answered(301), 3, now);
        assert_eq!((up.status, flip), (HealthStatus::Up, None));
        let (one, _) = up.after(&failed, 3, now);
        let (two, _) = one.after(&failed, 3, now);
        let (again, _) = two.after(&CheckResult::answered(200), 3, now);
        let (one_more, flip) = again.after(&failed, 3, now);
        assert_eq!(
            (one_more.status, one_more.failures, flip),
            (HealthStatus::Up, 1, None)
        );
    }
}
