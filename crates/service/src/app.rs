//! The application's shared parts, and the one state every handler receives:
//! `AppState(Arc<App>)`, so axum's clone per request touches one reference count.
//!
//! The stores (the database handle, the caches, the click queue) are private to this
//! crate: the layers above reach them only through the use cases.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use chrono::Utc;
use shortener_cache::LinkCache;
use shortener_clicks::ClickQueue;
use shortener_clicks::classify::Classifier;
use shortener_domain::{
    ApiKey, ApiKeys, LinkPolicy, PublicBaseUrl, ShortCodeGenerator, TrustedProxies,
};
use shortener_metrics::Metrics;
use shortener_store::Db;

use crate::expiry_notices::ExpiryNotices;
use crate::import_slots::ImportSlots;
use crate::key_book::KeyBook;
use crate::link_passwords::WrongGuesses;
use crate::quota::CreateQuota;
use crate::reports::ReportQuota;
use crate::visit_batches::VisitBatches;

/// The database handle, caches, queues and flags of one replica.
pub struct App {
    pub(crate) db: Db,
    pub(crate) codes: ShortCodeGenerator,
    pub(crate) cache: LinkCache,
    pub(crate) clicks: ClickQueue,
    /// Replaced whole when BLOCKED_DOMAINS_FILE changes; a redirect holds the read lock
    /// only for its synchronous check.
    policy: RwLock<LinkPolicy>,
    /// Whether the policy in force blocks anything: read by every redirect without the
    /// lock (a shared lock's counter would bounce between cores on each one).
    blocklist_in_force: AtomicBool,
    metrics: Metrics,
    lifecycle: Lifecycle,
    api_keys: ApiKeys,
    key_book: KeyBook,
    create_quota: Option<CreateQuota>,
    pub(crate) import_slots: ImportSlots,
    pub(crate) report_quota: ReportQuota,
    request_timeout: Duration,
    replica: String,
    trusted_proxies: TrustedProxies,
    public_base_url: Option<PublicBaseUrl>,
    /// Made on the first visit to a capped link (its crawler patterns take a while to
    /// compile, and most replicas' tests never need them).
    classifier: OnceLock<Classifier>,
    /// Wrong guesses at links' passwords, per link and client.
    pub(crate) wrong_guesses: WrongGuesses,
    /// People's visits to capped links waiting for their count.
    pub(crate) visit_batches: VisitBatches,
    /// The expired links whose `link.expired` this replica has queued (or asked to).
    pub(crate) expiry_notices: ExpiryNotices,
}

/// What an [`App`] is made of; the replica that starts it keeps its own handles to the
/// stores for the background tasks.
pub struct AppParts {
    pub db: Db,
    pub codes: ShortCodeGenerator,
    pub cache: LinkCache,
    pub clicks: ClickQueue,
    pub metrics: Metrics,
    /// The operator's keys (none: open).
    pub api_keys: ApiKeys,
    /// The keys made over the API, kept current by [`crate::key_book::run`].
    pub key_book: KeyBook,
    /// Where links may not point.
    pub link_policy: LinkPolicy,
    /// The creates each API key may make (none: unlimited).
    pub create_quota: Option<CreateQuota>,
    /// Longest a request may run before it is answered 503.
    pub request_timeout: Duration,
    /// This process's name in log lines (`REPLICA_NAME`).
    pub replica: String,
    /// The proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`).
    pub trusted_proxies: TrustedProxies,
    /// The address the public reaches the service at (`PUBLIC_BASE_URL`).
    pub public_base_url: Option<PublicBaseUrl>,
}

impl App {
    pub fn new(parts: AppParts) -> Self {
        Self {
            db: parts.db,
            codes: parts.codes,
            cache: parts.cache,
            clicks: parts.clicks,
            blocklist_in_force: AtomicBool::new(parts.link_policy.has_blocklist()),
            policy: RwLock::new(parts.link_policy),
            metrics: parts.metrics,
            lifecycle: Lifecycle::default(),
            api_keys: parts.api_keys,
            key_book: parts.key_book,
            create_quota: parts.create_quota,
            import_slots: ImportSlots::default(),
            report_quota: ReportQuota::default(),
            request_timeout: parts.request_timeout,
            replica: parts.replica,
            trusted_proxies: parts.trusted_proxies,
            public_base_url: parts.public_base_url,
            classifier: OnceLock::new(),
            wrong_guesses: WrongGuesses::default(),
            visit_batches: VisitBatches::default(),
            expiry_notices: ExpiryNotices::default(),
        }
    }

    /// The address short URLs are made of: `PUBLIC_BASE_URL`, else the request's `Host`.
    pub(crate) fn public_base_url(&self, host: Option<&str>) -> PublicBaseUrl {
        self.public_base_url
            .clone()
            .unwrap_or_else(|| PublicBaseUrl::of_host(host.unwrap_or("localhost")))
    }

    /// Classes a request as the click writer will (a person, a bot, a preview).
    pub(crate) fn classifier(&self) -> &Classifier {
        self.classifier.get_or_init(Classifier::default)
    }

    /// The proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`).
    pub fn trusted_proxies(&self) -> &TrustedProxies {
        &self.trusted_proxies
    }

    /// Every metric of this replica.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether a redirect must ask the policy: only when something is blocked.
    pub(crate) fn blocklist_in_force(&self) -> bool {
        self.blocklist_in_force.load(Ordering::Acquire)
    }

    /// The link policy in force. Never held across an `.await`: a reload waits for it.
    pub(crate) fn link_policy(&self) -> RwLockReadGuard<'_, LinkPolicy> {
        self.policy.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the link policy (BLOCKED_DOMAINS_FILE changed): every create, edit and
    /// redirect after this returns uses the new one.
    pub fn replace_link_policy(&self, policy: LinkPolicy) {
        let blocks = policy.has_blocklist();
        let old = std::mem::replace(
            &mut *self.policy.write().unwrap_or_else(PoisonError::into_inner),
            policy,
        );
        self.blocklist_in_force.store(blocks, Ordering::Release);
        // Freed after the lock is released, so readers do not wait for it.
        drop(old);
    }

    /// Whether the replica is draining.
    pub fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }

    /// The operator's keys, `API_KEYS` and `API_KEYS_FILE` (none: the API is open).
    pub fn api_keys(&self) -> &ApiKeys {
        &self.api_keys
    }

    /// The key whose secret is `presented`: an operator's key, or a live stored one.
    /// Memory only: no query.
    pub fn authenticate(&self, presented: &str) -> Option<ApiKey> {
        match self.api_keys.authenticate(presented) {
            Some(key) => Some(key.clone()),
            None => self.key_book.authenticate(presented, Utc::now()),
        }
    }

    /// Reloads the stored keys after this replica changed them, so it never answers
    /// with the old set; a failure leaves it to the notification and the periodic reload.
    pub(crate) async fn reload_keys(&self) {
        if let Err(error) = self.key_book.reload(&self.db).await {
            tracing::warn!(%error, "reloading the API keys failed; the notification will");
        }
    }

    /// The creates each API key may make (none: unlimited).
    pub fn create_quota(&self) -> Option<&CreateQuota> {
        self.create_quota.as_ref()
    }

    /// Longest a request may run before it is answered 503 (`REQUEST_TIMEOUT_MS`).
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// This process's name in log lines (`REPLICA_NAME`).
    pub fn replica(&self) -> &str {
        &self.replica
    }
}

/// The state handed to every handler and middleware.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

/// Whether the process is shutting down (then `/ready` answers 503).
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
}

impl Lifecycle {
    /// Marks the process as draining: load balancers should stop sending traffic.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether draining has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}
