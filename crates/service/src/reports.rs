//! Reports of links: anyone may report a live link by its short code (a public route,
//! limited per client); admins list the reports. A report keeps nothing about its sender.

use std::num::NonZeroU32;
use std::time::Duration;

use super::{Listing, Resource, ServiceError};
use crate::app::App;
use crate::quota::{CreateQuota, CreateQuotaSettings, Decision};
use shortener_domain::{Page, ReportReason};
use shortener_store::reports;

pub use shortener_store::reports::Report;
use shortener_store::urls;

/// Reports one client may send: one every 12 s sustained, 5 at once, per replica.
pub const REPORTS_PER_CLIENT: CreateQuotaSettings = CreateQuotaSettings {
    refill_every: Duration::from_secs(12),
    burst: NonZeroU32::new(5).expect("non-zero"),
};

/// Clients remembered by the limiter before the idle ones are forgotten (a client is
/// idle once its burst has refilled, so forgetting it changes nothing).
const REMEMBERED_CLIENTS: usize = 10_000;

/// A report as a client sends it.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub reason: ReportReason,
    pub comment: Option<String>,
}

/// The limiter of reports, one per replica.
pub struct ReportQuota(CreateQuota);

impl Default for ReportQuota {
    fn default() -> Self {
        Self(CreateQuota::new(REPORTS_PER_CLIENT))
    }
}

/// Stores a report of the active link with `code` from `client` (whatever identifies the
/// client to this replica: the proxy's `X-Real-IP`).
pub async fn create(
    app: &App,
    code: &str,
    report: NewReport,
    client: &str,
) -> Result<Report, ServiceError> {
    let quota = &app.report_quota.0;
    if let Decision::Refused { retry_after } = quota.check(client) {
        return Err(ServiceError::RateLimited {
            what: "reports from this client",
            retry_after_secs: retry_after.as_secs_f64().ceil() as u64,
        });
    }
    quota.forget_idle_beyond(REMEMBERED_CLIENTS);
    let mut conn = app.db.connection("reports.create").await?;
    let url_id = urls::id_of_active_code(&mut conn, code)
        .await?
        .ok_or(ServiceError::NotFound(Resource::Link))?;
    let stored = reports::insert(
        &mut conn,
        url_id,
        report.reason.as_str(),
        report.comment.as_deref(),
    )
    .await?;
    tracing::info!(url_id, reason = report.reason.as_str(), "link reported");
    Ok(stored)
}

/// One page of reports in id order (an admin's list, by the route's scope).
pub async fn list(app: &App, page: Page) -> Result<Listing<Report>, ServiceError> {
    let mut conn = app.db.connection("reports.list").await?;
    Ok(Listing::from_page(
        page,
        reports::list(&mut conn, page).await?,
    ))
}
