//! What kind of failure a database error is: the one classification behind both the
//! 503-or-500 decision and `shortener_db_errors_total{kind}`.

use shortener_metrics::DB_ERROR_KINDS;

/// A database error, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFailure {
    /// No pool connection became free within the acquire timeout.
    PoolTimeout,
    /// The connection broke or could not be made (I/O, TLS, SQLSTATE class 08).
    Connection,
    /// The statement ran past `statement_timeout` (57014).
    StatementTimeout,
    /// The server is shutting down, starting, or out of connections (57P01..57P03, 53300).
    ServerUnavailable,
    /// The transaction lost a race: a deadlock, a serialization failure or a lock that was
    /// not available (SQLSTATE class 40, 55P03). Running it again may succeed.
    Contention,
    /// Anything else: a bug or an unexpected server answer.
    Other,
}

impl DbFailure {
    /// Every kind, for registering the metric's label values.
    pub const ALL: [Self; 6] = [
        Self::PoolTimeout,
        Self::Connection,
        Self::StatementTimeout,
        Self::ServerUnavailable,
        Self::Contention,
        Self::Other,
    ];

    /// Classifies `error`.
    pub fn of(error: &sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut => Self::PoolTimeout,
            sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Self::Connection,
            sqlx::Error::Database(db) => match db.code().as_deref() {
                Some("57014") => Self::StatementTimeout,
                Some("57P01" | "57P02" | "57P03" | "53300") => Self::ServerUnavailable,
                Some("55P03") => Self::Contention,
                Some(code) if code.starts_with("40") => Self::Contention,
                Some(code) if code.starts_with("08") => Self::Connection,
                _ => Self::Other,
            },
            _ => Self::Other,
        }
    }

    /// Whether it means "try again later" (503) rather than a bug (500).
    pub fn is_transient(self) -> bool {
        self != Self::Other
    }

    /// The metric label: one of [`DB_ERROR_KINDS`], in the order of [`Self::ALL`].
    pub fn label(self) -> &'static str {
        let index = Self::ALL
            .iter()
            .position(|kind| *kind == self)
            .expect("ALL lists every kind");
        DB_ERROR_KINDS[index]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_timeouts_and_io_errors_are_transient_and_have_their_own_kinds() {
        assert_eq!(
            DbFailure::of(&sqlx::Error::PoolTimedOut),
            DbFailure::PoolTimeout
        );
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(DbFailure::of(&sqlx::Error::Io(io)), DbFailure::Connection);
        assert!(DbFailure::PoolTimeout.is_transient());
        assert_eq!(DbFailure::of(&sqlx::Error::RowNotFound), DbFailure::Other);
        assert!(!DbFailure::Other.is_transient());
    }

    #[test]
    fn each_kind_has_its_own_metric_label() {
        let labels: Vec<_> = DbFailure::ALL.iter().map(|kind| kind.label()).collect();
        assert_eq!(labels, DB_ERROR_KINDS);
        assert_eq!(DbFailure::StatementTimeout.label(), "statement_timeout");
    }
}
