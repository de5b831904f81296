//! Webhook deliveries: their outcomes, the outbox's backlog and how old its oldest
//! waiting delivery is, and the subscriptions turned off for failing.

use prometheus::{Histogram, IntCounter, IntCounterVec, IntGauge};

use super::registrar::Registrar;

/// Outcomes of one delivery attempt.
pub const WEBHOOK_OUTCOMES: [&str; 5] = ["delivered", "retrying", "failed", "claim_lost", "paced"];

/// The webhook worker's traffic and the outbox's state.
#[derive(Clone)]
pub struct WebhookMetrics {
    /// Attempts by outcome: `delivered` (a 2xx), `retrying`, `failed` (no attempt left),
    /// `claim_lost` (the attempt outlived its lease), `paced` (put back uncounted: over its
    /// receiver's rate).
    pub attempts: IntCounterVec,
    /// Time from the request's start to its answer (or timeout).
    pub attempt_seconds: Histogram,
    /// Deliveries waiting in the outbox (every replica samples the shared table).
    pub backlog: IntGauge,
    /// Age of the oldest waiting delivery, in seconds (0: none waits); a delivery waiting
    /// out its retry schedule counts.
    pub oldest_pending_seconds: IntGauge,
    /// How long the most overdue delivery has been due without an attempt, in seconds
    /// (0: none is): the workers' lateness, whatever the receivers do.
    pub overdue_seconds: IntGauge,
    /// Subscriptions turned off after too many failed deliveries in a row.
    pub disabled: IntCounter,
}

impl WebhookMetrics {
    pub(super) fn new(r: &Registrar<'_>) -> Self {
        let attempts = r.counter_vec(
            "shortener_webhook_attempts_total",
            "Webhook delivery attempts by outcome (paced: put back uncounted, over its receiver's rate)",
            &["outcome"],
        );
        for outcome in WEBHOOK_OUTCOMES {
            attempts.with_label_values(&[outcome]);
        }
        Self {
            attempts,
            attempt_seconds: r.histogram(
                "shortener_webhook_attempt_seconds",
                "Time from a webhook request's start to its answer or timeout",
                vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            ),
            backlog: r.gauge(
                "shortener_webhook_backlog",
                "Webhook deliveries waiting in the outbox (pending, due or not)",
            ),
            oldest_pending_seconds: r.gauge(
                "shortener_webhook_oldest_pending_seconds",
                "Age of the oldest webhook delivery waiting in the outbox (0: none)",
            ),
            overdue_seconds: r.gauge(
                "shortener_webhook_overdue_seconds",
                "How long the most overdue webhook delivery has been due without an attempt (0: none)",
            ),
            disabled: r.counter(
                "shortener_webhooks_disabled_total",
                "Webhook subscriptions turned off after too many failed deliveries in a row",
            ),
        }
    }
}
