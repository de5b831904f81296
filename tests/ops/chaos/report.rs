//! The table a chaos run prints: per fault, the requests, the failures by method and
//! status, the redirect p95 before, during and after the fault, and the clicks accepted
//! against those stored. Each row is printed, and appended to the file `CHAOS_REPORT`
//! names (scripts/chaos prints them all at the end).

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use super::load::{Kind, Sample};

/// When the fault was in force, in seconds of the load's clock.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: f64,
    pub end: f64,
}

/// Redirects answered 302 (each one a click accepted) and clicks the database holds.
#[derive(Debug, Clone, Copy)]
pub struct Clicks {
    pub accepted: u64,
    pub stored: u64,
}

/// One fault's results.
pub struct Outcome<'a> {
    pub fault: &'a str,
    pub samples: &'a [Sample],
    pub window: Window,
    pub clicks: Option<Clicks>,
}

#[derive(Debug, Clone, Copy)]
pub enum Phase {
    Before,
    During,
    After,
}

impl Outcome<'_> {
    pub fn in_phase(&self, phase: Phase) -> impl Iterator<Item = &Sample> {
        let Window { start, end } = self.window;
        self.samples.iter().filter(move |s| match phase {
            Phase::Before => s.at < start,
            Phase::During => s.at >= start && s.at < end,
            Phase::After => s.at >= end,
        })
    }

    /// The 95th percentile latency of the redirects sent in `phase`.
    pub fn redirect_p95(&self, phase: Phase) -> Option<Duration> {
        let mut latencies: Vec<Duration> = self
            .in_phase(phase)
            .filter(|s| s.kind == Kind::Redirect)
            .map(|s| s.latency)
            .collect();
        if latencies.is_empty() {
            return None;
        }
        latencies.sort();
        Some(latencies[(latencies.len() * 95).div_ceil(100) - 1])
    }

    /// Failed requests by `METHOD status` (`error`: no HTTP answer at all).
    pub fn failures(&self) -> BTreeMap<String, usize> {
        let mut failures = BTreeMap::new();
        for sample in self.samples.iter().filter(|s| s.failed()) {
            let status = sample
                .status
                .map_or_else(|| "error".to_owned(), |s| s.to_string());
            *failures
                .entry(format!("{} {status}", sample.kind.method()))
                .or_insert(0) += 1;
        }
        failures
    }

    pub fn failed(&self, kind: Kind) -> usize {
        self.samples
            .iter()
            .filter(|s| s.kind == kind && s.failed())
            .count()
    }

    /// The failures other than `allowed` (a `METHOD status` key of [`Outcome::failures`]).
    pub fn failures_except(&self, allowed: &str) -> Vec<(String, usize)> {
        self.failures()
            .into_iter()
            .filter(|(what, _)| what != allowed)
            .collect()
    }

    /// When the last failed request was sent, in seconds of the load's clock.
    pub fn last_failure_at(&self) -> Option<f64> {
        self.samples
            .iter()
            .filter(|s| s.failed())
            .map(|s| s.at)
            .reduce(f64::max)
    }

    /// The slowest answer of the run.
    pub fn slowest(&self) -> Duration {
        self.samples
            .iter()
            .map(|s| s.latency)
            .max()
            .unwrap_or_default()
    }

    fn row(&self) -> String {
        let ms = |d: Option<Duration>| {
            d.map_or_else(
                || "-".to_owned(),
                |d| format!("{:.1}", d.as_secs_f64() * 1e3),
            )
        };
        let failures = self.failures();
        let failures = if failures.is_empty() {
            "0".to_owned()
        } else {
            failures
                .iter()
                .map(|(what, n)| format!("{what} ×{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let clicks = self.clicks.map_or_else(
            || "-".to_owned(),
            |c| format!("{} / {}", c.accepted, c.stored),
        );
        format!(
            "| {} | {} | {failures} | {} | {} | {} | {} | {clicks} |",
            self.fault,
            self.samples.len(),
            ms(self.redirect_p95(Phase::Before)),
            ms(self.redirect_p95(Phase::During)),
            ms(self.redirect_p95(Phase::After)),
            ms(Some(self.slowest())),
        )
    }

    /// Prints the row under the table's header, and appends it to `CHAOS_REPORT`.
    pub fn print(&self) {
        let row = self.row();
        println!("{HEADER}\n{row}");
        if let Some(path) = std::env::var_os("CHAOS_REPORT") {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .expect("open CHAOS_REPORT");
            writeln!(file, "{row}").expect("append to CHAOS_REPORT");
        }
    }
}

pub const HEADER: &str = "| fault | requests | failed | redirect p95 before (ms) | during | after | slowest (ms) | clicks accepted / stored |\n|---|---|---|---|---|---|---|---|";

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: f64, kind: Kind, status: Option<u16>, ms: u64) -> Sample {
        Sample {
            at,
            kind,
            status,
            latency: Duration::from_millis(ms),
        }
    }

    #[test]
    fn phases_percentiles_and_failures_are_counted_from_the_samples() {
        let mut samples: Vec<Sample> = (1..=100)
            .map(|ms| sample(0.5, Kind::Redirect, Some(302), ms))
            .collect();
        samples.push(sample(1.5, Kind::Redirect, Some(302), 400));
        samples.push(sample(1.6, Kind::Create, Some(503), 900));
        samples.push(sample(1.7, Kind::Create, None, 10));
        samples.push(sample(2.5, Kind::Create, Some(201), 5));
        let outcome = Outcome {
            fault: "test",
            samples: &samples,
            window: Window {
                start: 1.0,
                end: 2.0,
            },
            clicks: None,
        };
        assert_eq!(
            outcome.redirect_p95(Phase::Before),
            Some(Duration::from_millis(95))
        );
        assert_eq!(
            outcome.redirect_p95(Phase::During),
            Some(Duration::from_millis(400))
        );
        assert_eq!(outcome.redirect_p95(Phase::After), None);
        assert_eq!(
            outcome.failures().into_iter().collect::<Vec<_>>(),
            vec![("POST 503".to_owned(), 1), ("POST error".to_owned(), 1)]
        );
        assert_eq!(
            outcome.failures_except("POST 503"),
            vec![("POST error".to_owned(), 1)]
        );
        assert_eq!(outcome.last_failure_at(), Some(1.7));
        assert_eq!(outcome.failed(Kind::Redirect), 0);
        assert_eq!(outcome.slowest(), Duration::from_millis(900));
    }
}
