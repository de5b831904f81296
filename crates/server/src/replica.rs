//! One running replica: builds the [`App`], starts its background tasks (cache
//! invalidation listener, click writer, click fold, data upkeep, webhook worker,
//! destination checker, blocklist file watcher)
//! and its router, and shuts them down in order.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::blocklist_file::{self, BlocklistFile, Watcher};
use shortener_cache::{CacheSettings, LinkCache, invalidation};
use shortener_clicks::{self as clicks, ClickQueue, ClickSettings, DrainBudget};
use shortener_domain::{ApiKeys, LinkPolicy, PublicBaseUrl, ShortCodeGenerator, TrustedProxies};
use shortener_metrics::Metrics;
use shortener_service::destination_health::{Checker, HealthSettings};
use shortener_service::key_book::{self, KeyBook};
use shortener_service::quota::{CreateQuota, CreateQuotaSettings};
use shortener_service::rollups::{self, FoldSettings};
use shortener_service::upkeep::{self, UpkeepSettings};
use shortener_service::webhook_delivery::{WebhookSettings, Worker};
use shortener_service::{App, AppParts, AppState};
use shortener_store::Db;

/// Everything a replica needs besides the database pool.
#[derive(Debug, Clone)]
pub struct AppSettings {
    pub short_code_length: usize,
    pub cache: CacheSettings,
    pub clicks: ClickSettings,
    /// How long shutdown may spend writing queued clicks, unless
    /// [`Replica::shutdown_within`] hands it another budget.
    pub click_drain_deadline: Duration,
    /// This process's name in logs and `shortener_build_info` (`REPLICA_NAME`).
    pub replica: String,
    /// Partitions ahead and click retention.
    pub upkeep: UpkeepSettings,
    /// How often the click deltas are folded into the rollups.
    pub fold: FoldSettings,
    /// The keys that may call the API (default: none, the API is open).
    pub api_keys: ApiKeys,
    /// Blocked destinations and the service's own hosts.
    pub link_policy: LinkPolicy,
    /// `BLOCKED_DOMAINS_FILE`, read again every second (default: none).
    pub blocklist_file: Option<BlocklistFile>,
    /// The creates each API key may make per replica (default: unlimited).
    pub create_quota: Option<CreateQuotaSettings>,
    /// Longest a request may run before it is answered 503 (`REQUEST_TIMEOUT_MS`).
    pub request_timeout: Duration,
    /// The proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`).
    pub trusted_proxies: TrustedProxies,
    /// The address the public reaches the service at (`PUBLIC_BASE_URL`; default: none,
    /// each request's `Host`).
    pub public_base_url: Option<PublicBaseUrl>,
    /// How the webhook worker delivers.
    pub webhooks: WebhookSettings,
    /// How the destination checker checks.
    pub health: HealthSettings,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            short_code_length: 7,
            cache: CacheSettings::default(),
            clicks: ClickSettings::default(),
            click_drain_deadline: Duration::from_secs(10),
            replica: "test".to_owned(),
            upkeep: UpkeepSettings::default(),
            fold: FoldSettings::default(),
            api_keys: ApiKeys::default(),
            link_policy: LinkPolicy::default(),
            blocklist_file: None,
            create_quota: None,
            request_timeout: Duration::from_secs(10),
            trusted_proxies: TrustedProxies::default(),
            public_base_url: None,
            webhooks: WebhookSettings::default(),
            health: HealthSettings::default(),
        }
    }
}

/// A running replica.
pub struct Replica {
    pub state: AppState,
    db: Db,
    cache: LinkCache,
    clicks: ClickQueue,
    stop_listener: CancellationToken,
    stop_writer: CancellationToken,
    stop_upkeep: CancellationToken,
    listener: Option<JoinHandle<()>>,
    key_sync: Option<JoinHandle<()>>,
    key_book: KeyBook,
    upkeep: Option<JoinHandle<()>>,
    fold: Option<JoinHandle<()>>,
    webhooks: Option<JoinHandle<()>>,
    checker: Option<JoinHandle<()>>,
    blocklist: Option<(Arc<Watcher>, JoinHandle<()>)>,
    writer: Option<JoinHandle<()>>,
    drain_budget: DrainBudget,
    listening: watch::Receiver<bool>,
}

impl Replica {
    /// Builds the state and starts the background tasks (on the current Tokio runtime).
    pub fn start(pool: PgPool, settings: AppSettings) -> Result<Self, String> {
        let metrics = Metrics::new(&settings.replica);
        metrics
            .click_queue_capacity
            .set(i64::try_from(settings.clicks.capacity).unwrap_or(i64::MAX));
        let codes =
            ShortCodeGenerator::new(settings.short_code_length).map_err(|e| e.to_string())?;
        let db = Db::new(pool, metrics.db.clone());
        let cache = LinkCache::new(settings.cache.clone(), metrics.clone())?;
        let (clicks, pipeline) = clicks::pipeline(db.clone(), &settings.clicks, metrics.clone())
            .map_err(|error| error.to_string())?;
        let key_book = KeyBook::default();
        let webhook_worker = Worker::new(settings.webhooks)?;
        let checker = Checker::new(settings.health)?;
        let state = AppState(Arc::new(App::new(AppParts {
            db: db.clone(),
            codes,
            cache: cache.clone(),
            clicks: clicks.clone(),
            metrics: metrics.clone(),
            api_keys: settings.api_keys,
            key_book: key_book.clone(),
            link_policy: settings.link_policy,
            create_quota: settings.create_quota.map(CreateQuota::new),
            request_timeout: settings.request_timeout,
            replica: settings.replica.clone(),
            trusted_proxies: settings.trusted_proxies,
            public_base_url: settings.public_base_url,
        })));
        let stop_listener = CancellationToken::new();
        let stop_writer = CancellationToken::new();
        let (listening_tx, listening) = watch::channel(false);
        let listener = tokio::spawn(invalidation::run(
            db.clone(),
            cache.clone(),
            stop_listener.clone(),
            listening_tx,
        ));
        let key_sync = tokio::spawn(key_book::run(
            db.clone(),
            key_book.clone(),
            stop_listener.clone(),
        ));
        let drain_budget = DrainBudget::new(settings.click_drain_deadline);
        let writer = tokio::spawn(pipeline.run(stop_writer.clone(), drain_budget.clone()));
        let stop_upkeep = CancellationToken::new();
        let upkeep = tokio::spawn(upkeep::run(
            db.clone(),
            settings.upkeep,
            metrics.clone(),
            stop_upkeep.clone(),
        ));
        let fold = tokio::spawn(rollups::run(
            db.clone(),
            settings.fold,
            metrics.clone(),
            stop_upkeep.clone(),
        ));
        let webhooks =
            tokio::spawn(webhook_worker.run(db.clone(), metrics.clone(), stop_upkeep.clone()));
        let checker = tokio::spawn(checker.run(db.clone(), metrics, stop_upkeep.clone()));
        // Stopped with the upkeep, first at shutdown: the watcher has nothing to finish.
        let blocklist = settings.blocklist_file.map(|file| {
            let watcher = Arc::new(Watcher::new(file, state.clone()));
            let task = tokio::spawn(blocklist_file::run(watcher.clone(), stop_upkeep.clone()));
            (watcher, task)
        });
        Ok(Self {
            state,
            db,
            cache,
            clicks,
            stop_listener,
            stop_writer,
            stop_upkeep,
            listener: Some(listener),
            key_sync: Some(key_sync),
            key_book,
            upkeep: Some(upkeep),
            fold: Some(fold),
            webhooks: Some(webhooks),
            checker: Some(checker),
            blocklist,
            writer: Some(writer),
            drain_budget,
            listening,
        })
    }

    /// The HTTP router over this replica's state.
    pub fn router(&self) -> Router {
        shortener_http::router(self.state.clone())
    }

    /// The database handle the replica's tasks share.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The redirect cache.
    pub fn cache(&self) -> &LinkCache {
        &self.cache
    }

    /// The click queue.
    pub fn clicks(&self) -> &ClickQueue {
        &self.clicks
    }

    /// Every metric of this replica.
    pub fn metrics(&self) -> &Metrics {
        self.state.metrics()
    }

    /// The routers when `/metrics` has its own listener: the public one without it, and
    /// the metrics one.
    pub fn split_routers(&self) -> (Router, Router) {
        (
            shortener_http::router_without_metrics(self.state.clone()),
            shortener_http::metrics_router(self.state.clone()),
        )
    }

    /// Reads `BLOCKED_DOMAINS_FILE` now rather than at the next poll: `Some(Ok(true))` when
    /// a changed file replaced the policy, `None` without a file.
    pub async fn reload_blocklist(&self) -> Option<Result<bool, String>> {
        let (watcher, _) = self.blocklist.as_ref()?;
        Some(watcher.poll().await)
    }

    /// Waits until the invalidation listener is subscribed (at most `timeout`); `false` if not.
    pub async fn wait_for_invalidations(&self, timeout: Duration) -> bool {
        let mut listening = self.listening.clone();
        tokio::time::timeout(timeout, listening.wait_for(|up| *up))
            .await
            .is_ok_and(|result| result.is_ok())
    }

    /// Waits until the stored API keys were loaded once (at most `timeout`); `false` if not.
    pub async fn wait_for_keys(&self, timeout: Duration) -> bool {
        self.key_book.wait_until_loaded(timeout).await
    }

    /// [`Self::shutdown`] with `budget` for writing the queued clicks: what is left of
    /// the shutdown's grace period once the connections have closed.
    pub async fn shutdown_within(self, budget: Duration) {
        self.drain_budget.set(budget);
        self.shutdown().await;
    }

    /// Stops the upkeep and the listener, then writes every queued click (bounded by the
    /// drain deadline).
    pub async fn shutdown(mut self) {
        self.stop_upkeep.cancel();
        if let Some(upkeep) = self.upkeep.take() {
            let _ = upkeep.await;
        }
        if let Some(fold) = self.fold.take() {
            let _ = fold.await;
        }
        if let Some(webhooks) = self.webhooks.take() {
            let _ = webhooks.await;
        }
        if let Some(checker) = self.checker.take() {
            let _ = checker.await;
        }
        if let Some((_, watcher)) = self.blocklist.take() {
            let _ = watcher.await;
        }
        self.stop_listener.cancel();
        if let Some(listener) = self.listener.take() {
            let _ = listener.await;
        }
        if let Some(key_sync) = self.key_sync.take() {
            let _ = key_sync.await;
        }
        self.stop_writer.cancel();
        if let Some(writer) = self.writer.take() {
            let _ = writer.await;
        }
    }
}

/// Dropped without [`Replica::shutdown`] (tests, panics): the background tasks are told to
/// stop, so they release their connections; the writer still drains what it can.
impl Drop for Replica {
    fn drop(&mut self) {
        self.stop_upkeep.cancel();
        self.stop_listener.cancel();
        self.stop_writer.cancel();
    }
}
