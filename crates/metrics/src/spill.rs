//! The click spill: clicks that could not be written to Postgres in time, kept in an
//! append-only file on local disk and replayed when the database answers.

use prometheus::{IntCounter, IntGauge};

use super::registrar::Registrar;

/// The spill's size and traffic.
#[derive(Clone)]
pub struct SpillMetrics {
    /// Bytes on disk (every segment not yet fully replayed).
    pub bytes: IntGauge,
    /// The configured bound (`CLICK_SPILL_MAX_MB`), 0 when there is no spill.
    pub max_bytes: IntGauge,
    /// Clicks written into the spill.
    pub spilled: IntCounter,
    /// Clicks read back from the spill and written to Postgres (or found already there).
    pub replayed: IntCounter,
    /// Clicks dropped because the spill was full or could not be written.
    pub dropped: IntCounter,
    /// Spill records that could not be read back (a write cut off by a crash), by clicks.
    pub unreadable: IntCounter,
}

impl SpillMetrics {
    pub(super) fn new(r: &Registrar<'_>) -> Self {
        Self {
            bytes: r.gauge(
                "shortener_click_spill_bytes",
                "Bytes of clicks held in the on-disk spill, not yet replayed",
            ),
            max_bytes: r.gauge(
                "shortener_click_spill_max_bytes",
                "The spill's bound in bytes (CLICK_SPILL_MAX_MB); 0: no spill",
            ),
            spilled: r.counter(
                "shortener_clicks_spilled_total",
                "Clicks written to the on-disk spill (Postgres unreachable, behind, or shutdown)",
            ),
            replayed: r.counter(
                "shortener_clicks_replayed_total",
                "Clicks read back from the spill and committed to Postgres",
            ),
            dropped: r.counter(
                "shortener_click_spill_dropped_total",
                "Clicks lost because the spill was full or could not be written",
            ),
            unreadable: r.counter(
                "shortener_click_spill_unreadable_total",
                "Spill records that could not be read back (cut off by a crash)",
            ),
        }
    }
}
