//! Destination health: the checks by outcome, the flips, and the links whose destination
//! is down, weighed by their recent clicks.

use prometheus::{IntCounterVec, IntGauge};

use super::registrar::Registrar;

/// The destination checker's work and what it found.
#[derive(Clone)]
pub struct DestinationMetrics {
    /// Checks of distinct destinations by outcome: `up` or `failed`.
    pub checks: IntCounterVec,
    /// Links whose destination went `down` or came back `up`.
    pub flips: IntCounterVec,
    /// Links whose destination is down (every replica samples the shared table).
    pub links_down: IntGauge,
    /// Their clicks of the last two UTC days, together.
    pub down_recent_clicks: IntGauge,
    /// The clicks of the last two UTC days of the busiest link whose destination is down.
    pub busiest_down_link_clicks: IntGauge,
    /// How long the most overdue destination has been due unchecked, in seconds.
    pub overdue_seconds: IntGauge,
}

impl DestinationMetrics {
    pub(super) fn new(r: &Registrar<'_>) -> Self {
        let checks = r.counter_vec(
            "shortener_destination_checks_total",
            "Checks of link destinations by outcome (up, failed)",
            &["outcome"],
        );
        for outcome in ["up", "failed"] {
            checks.with_label_values(&[outcome]);
        }
        let flips = r.counter_vec(
            "shortener_destination_flips_total",
            "Links whose destination went down or came back up",
            &["to"],
        );
        for to in ["down", "up"] {
            flips.with_label_values(&[to]);
        }
        Self {
            checks,
            flips,
            links_down: r.gauge(
                "shortener_destination_links_down",
                "Links whose destination is down",
            ),
            down_recent_clicks: r.gauge(
                "shortener_destination_down_recent_clicks",
                "Clicks of the last two UTC days of the links whose destination is down",
            ),
            busiest_down_link_clicks: r.gauge(
                "shortener_destination_down_busiest_link_clicks",
                "Clicks of the last two UTC days of the busiest link whose destination is down",
            ),
            overdue_seconds: r.gauge(
                "shortener_destination_checks_overdue_seconds",
                "How long the most overdue destination check has been due (0: none is)",
            ),
        }
    }
}
