//! The destination checker every replica runs: it enrols the links clicked in the active
//! window, claims due ones (`FOR UPDATE SKIP LOCKED`, under a lease, so each link is
//! checked by one replica per interval), checks each distinct destination once with a
//! bounded number in flight in all and per host, and records each link's result. A flip
//! to down or back up moves what the redirect reads and queues the link's webhook event,
//! in one transaction.

mod probe;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use probe::Prober;
use shortener_domain::{CheckResult, DEFAULT_DOWN_AFTER, HealthFlip};
use shortener_metrics::Metrics;
use shortener_store::Db;
use shortener_store::link_health::{self, Claimed};

/// How the checker checks.
#[derive(Debug, Clone)]
pub struct HealthSettings {
    /// How often a watched destination is checked (`HEALTH_CHECK_INTERVAL_SECS`); zero
    /// turns the checker off.
    pub interval: Duration,
    /// Links clicked in this many days are watched (`HEALTH_CHECK_ACTIVE_DAYS`).
    pub active_days: u32,
    /// How soon a failing destination is checked again (`HEALTH_CHECK_RETRY_SECS`, at
    /// most the interval).
    pub retry_interval: Duration,
    /// Failed checks in a row that make a destination down (`HEALTH_CHECK_DOWN_AFTER`).
    pub down_after: u32,
    /// Longest one request may take, connection included (`HEALTH_CHECK_TIMEOUT_MS`).
    pub timeout: Duration,
    /// Checks in flight on one replica at most (`HEALTH_CHECK_CONCURRENCY`).
    pub concurrency: usize,
    /// Checks in flight to one host on one replica at most (`HEALTH_CHECK_PER_HOST`).
    pub per_host: usize,
    /// Redirects a check follows at most.
    pub max_redirects: usize,
    /// How often an idle checker looks for due destinations.
    pub poll_interval: Duration,
    /// `ALLOW_PRIVATE_TARGETS`: destinations on internal addresses are checked too.
    pub allow_private_targets: bool,
}

impl Default for HealthSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(3600),
            active_days: 30,
            retry_interval: Duration::from_secs(300),
            down_after: DEFAULT_DOWN_AFTER,
            timeout: Duration::from_secs(10),
            concurrency: 8,
            per_host: 2,
            max_redirects: 5,
            poll_interval: Duration::from_secs(5),
            allow_private_targets: false,
        }
    }
}

impl HealthSettings {
    /// How long a claimed batch is this replica's: every check of it one after another
    /// on one host, and a margin. Past it another replica may check the links again.
    fn lease(&self, batch: usize) -> Duration {
        let at_once = self.per_host.min(self.concurrency).max(1);
        let rounds = u32::try_from(batch.div_ceil(at_once)).unwrap_or(u32::MAX);
        (self.timeout * 2).saturating_mul(rounds) + Duration::from_secs(30)
    }

    /// How often the active links are enrolled (by one replica, whichever takes the
    /// turn): each interval, and at least every five minutes, so a newly clicked link
    /// waits for its first check no longer than that.
    fn enrol_every(&self) -> Duration {
        self.interval.min(ENROL_AT_LEAST_EVERY)
    }

    fn active_days(&self) -> i32 {
        i32::try_from(self.active_days).unwrap_or(i32::MAX)
    }
}

/// The longest a newly clicked link waits to be enrolled. An enrolment reads every
/// link's click counter, so it runs once a period for all the replicas together.
const ENROL_AT_LEAST_EVERY: Duration = Duration::from_secs(300);

/// How often a replica asks for the enrolment's turn.
const ENROL_ASK: Duration = Duration::from_secs(15);

/// How often the gauges of links down are sampled.
const DOWN_SAMPLE: Duration = Duration::from_secs(15);

/// The share of an interval the next check may move by, so checks enrolled together
/// spread out.
const JITTER: f64 = 0.1;

/// One replica's destination checker.
pub struct Checker {
    settings: HealthSettings,
    prober: Prober,
}

impl Checker {
    /// A checker with its HTTP client; an error if the client cannot be built.
    pub fn new(settings: HealthSettings) -> Result<Self, String> {
        let prober = Prober::new(
            settings.timeout,
            settings.allow_private_targets,
            settings.max_redirects,
        )?;
        Ok(Self { settings, prober })
    }

    /// Checks until `stop` is cancelled; at once returns when the interval is zero.
    pub async fn run(self, db: Db, metrics: Metrics, stop: CancellationToken) {
        if self.settings.interval.is_zero() {
            return;
        }
        let checker = Arc::new(self);
        let batch = checker.settings.concurrency.max(1) * 4;
        let mut asked: Option<Instant> = None;
        let mut sampled: Option<Instant> = None;
        while !stop.is_cancelled() {
            let ask_every = ENROL_ASK.min(checker.settings.enrol_every());
            if asked.is_none_or(|at| at.elapsed() >= ask_every) {
                checker.enrol(&db).await;
                asked = Some(Instant::now());
            }
            if sampled.is_none_or(|at| at.elapsed() >= DOWN_SAMPLE) {
                sample_down(&db, &metrics).await;
                sampled = Some(Instant::now());
            }
            let claimed = checker.claim(&db, batch).await;
            let full = claimed.len() == batch;
            if !claimed.is_empty() {
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = checker.clone().check_batch(&db, &metrics, claimed) => {}
                }
            }
            if full {
                continue;
            }
            tokio::select! {
                () = stop.cancelled() => {}
                () = tokio::time::sleep(checker.settings.poll_interval) => {}
            }
        }
    }

    async fn enrol(&self, db: &Db) {
        let enrolled = async {
            let mut conn = db.connection("health.enrol").await?;
            link_health::enrol_active(
                &mut conn,
                self.settings.active_days(),
                self.settings.enrol_every(),
            )
            .await
        }
        .await;
        match enrolled {
            Ok(None | Some(0)) => {}
            Ok(Some(count)) => tracing::debug!(count, "destinations enrolled for health checks"),
            Err(error) => {
                tracing::warn!(%error, "enrolling destinations failed; tried again later")
            }
        }
    }

    /// Claims up to `limit` due destinations, committed before any is checked.
    async fn claim(&self, db: &Db, limit: usize) -> Vec<Claimed> {
        let claimed = async {
            let mut tx = db.begin("health.claim").await?;
            let claimed = link_health::claim(
                &mut tx,
                i64::try_from(limit).unwrap_or(i64::MAX),
                self.settings.lease(limit),
                self.settings.active_days(),
            )
            .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(claimed)
        }
        .await;
        claimed.unwrap_or_else(|error| {
            tracing::warn!(%error, "claiming destinations to check failed; the next poll tries again");
            Vec::new()
        })
    }

    /// Checks each distinct destination of the batch once, and records it for each of
    /// its links; links gone, inactive or no longer clicked stop being watched.
    async fn check_batch(self: Arc<Self>, db: &Db, metrics: &Metrics, claimed: Vec<Claimed>) {
        let mut by_url: HashMap<String, Vec<Claimed>> = HashMap::new();
        for link in claimed {
            match link.url.clone() {
                Some(url) if link.active => by_url.entry(url).or_default().push(link),
                _ => retire(db, &link).await,
            }
        }
        let permits = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        let mut hosts: HashMap<String, Arc<Semaphore>> = HashMap::new();
        let mut checks = JoinSet::new();
        for (url, links) in by_url {
            let host = reqwest::Url::parse(&url)
                .ok()
                .and_then(|parsed| parsed.host_str().map(str::to_owned))
                .unwrap_or_default();
            let host_permits = hosts
                .entry(host)
                .or_insert_with(|| Arc::new(Semaphore::new(self.settings.per_host.max(1))))
                .clone();
            let (permits, checker) = (permits.clone(), self.clone());
            checks.spawn(async move {
                // The host's turn first, so a slow host holds none of the others' slots.
                let _host = host_permits.acquire_owned().await;
                let _slot = permits.acquire_owned().await;
                let result = checker.prober.check(&url).await;
                (url, links, result)
            });
        }
        while let Some(joined) = checks.join_next().await {
            let Ok((url, links, result)) = joined else {
                continue;
            };
            let outcome = if result.succeeded() { "up" } else { "failed" };
            metrics
                .destinations
                .checks
                .with_label_values(&[outcome])
                .inc();
            for link in links {
                self.record(db, metrics, &link, &url, &result).await;
            }
        }
    }

    /// Records one link's result of checking `url` and, on a flip, what follows from it.
    async fn record(
        &self,
        db: &Db,
        metrics: &Metrics,
        link: &Claimed,
        url: &str,
        result: &CheckResult,
    ) {
        let (state, flip) = link
            .state
            .after(result, self.settings.down_after, Utc::now());
        let wait = if state.failures > 0 {
            self.settings.retry_interval.min(self.settings.interval)
        } else {
            self.settings.interval
        };
        let next = wait.mul_f64(1.0 - JITTER + 2.0 * JITTER * rand::random::<f64>());
        let recorded = async {
            let mut tx = db.begin("health.record").await?;
            let kept = link_health::record(&mut tx, link, url, result, state, flip, next).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(kept)
        }
        .await;
        match recorded {
            Ok(true) => {
                if let Some(flip) = flip {
                    let (label, verb) = match flip {
                        HealthFlip::WentDown => ("down", "is down"),
                        HealthFlip::CameUp => ("up", "is up again"),
                    };
                    metrics.destinations.flips.with_label_values(&[label]).inc();
                    tracing::info!(
                        link = link.url_id,
                        error = result.error.as_deref(),
                        status_code = result.status_code,
                        "a link's destination {verb}"
                    );
                }
            }
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%error, link = link.url_id,
                    "recording a destination check failed; checked again when its claim lapses");
            }
        }
    }
}

/// Stops watching a link that is gone, inactive or no longer clicked.
async fn retire(db: &Db, link: &Claimed) {
    let retired = async {
        let mut conn = db.connection("health.retire").await?;
        link_health::retire(&mut conn, link.url_id, link.token).await
    }
    .await;
    if let Err(error) = retired {
        tracing::warn!(%error, link = link.url_id, "retiring a destination failed; tried again later");
    }
}

/// Sets the gauges of destinations down, weighed by their links' recent clicks.
async fn sample_down(db: &Db, metrics: &Metrics) {
    let sampled = async {
        let mut conn = db.connection("health.down").await?;
        link_health::down_summary(&mut conn).await
    }
    .await;
    if let Ok(down) = sampled {
        metrics.destinations.links_down.set(down.links);
        metrics.destinations.down_recent_clicks.set(down.clicks);
        metrics
            .destinations
            .busiest_down_link_clicks
            .set(down.busiest);
    }
}
