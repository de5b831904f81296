//! Following a short link: the product's hot path. Answers from the cache tiers and
//! queues the click; never waits on a database write, but for a person's visit to a
//! capped link, which uses up one of its visits in Postgres. A link whose destination is
//! now blocked answers 410 and records nothing.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::Utc;

use super::{Resource, ServiceError};
use crate::app::App;
use crate::link_passwords;
use crate::visitor_facts::Facts;
use shortener_cache::CacheEntry;
use shortener_domain::{
    Click, Intent, LinkPassword, LinkPreview, RedirectStatus, RedirectTarget, ShortCode,
    TargetChoice, TrafficClass, forward_query,
};
use shortener_store::urls;

/// Who followed the link, for the click record.
#[derive(Debug, Clone, Default)]
pub struct Visit {
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    pub accept_language: Option<String>,
    /// A visit, a prefetch or a HEAD check.
    pub intent: Intent,
    /// The client's address: the click pipeline turns it into a country and a visitor id
    /// and keeps neither it nor any trace of it.
    pub client: Option<IpAddr>,
    /// The request's raw query string (without `?`), for a link that forwards it.
    pub query: Option<String>,
    /// The password sent for a protected link (`X-Link-Password`, or the form's).
    pub password: Option<LinkPassword>,
}

/// Where a redirect sends the visitor, and how.
#[derive(Debug, Clone)]
pub struct Destination {
    entry: Arc<CacheEntry>,
    /// The rule or variant that answered (a targeted link's).
    choice: Option<TargetChoice>,
    /// The target with the visitor's query added (a link that forwards it).
    forwarded: Option<String>,
    answer: Answer,
}

/// What a visit let through is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// A redirect to the link's target (or its chosen rule's or variant's).
    Redirect,
    /// A link unfurler asked: it is shown the link's preview instead of a redirect.
    Preview,
    /// The link has ended (expired or out of visits): a redirect to its `expired_url`.
    Fallback,
    /// The link's own target is down: a redirect to its `expired_url` meanwhile, counted
    /// as a click.
    Detour,
}

impl Destination {
    fn link(&self) -> &RedirectTarget {
        match self.entry.as_ref() {
            CacheEntry::Link(link) => link,
            CacheEntry::Missing { .. } => unreachable!("a destination is always a link"),
        }
    }

    /// The URL to send the visitor to, as stored (or with the visitor's query added).
    pub fn url(&self) -> &str {
        let link = self.link();
        if matches!(self.answer, Answer::Fallback | Answer::Detour) {
            return link.expired_url.as_deref().unwrap_or(&link.original_url);
        }
        self.forwarded
            .as_deref()
            .unwrap_or_else(|| chosen_url(link, self.choice))
    }

    /// The status to answer with: the link's own, or 302 to its fallback.
    pub fn status(&self) -> RedirectStatus {
        if matches!(self.answer, Answer::Fallback | Answer::Detour) {
            RedirectStatus::Found
        } else {
            self.link().redirect_status
        }
    }

    /// The preview to show instead of a redirect: a link unfurler's request for a link
    /// that has one.
    pub fn preview(&self) -> Option<&LinkPreview> {
        self.link()
            .preview
            .as_ref()
            .filter(|_| self.answer == Answer::Preview)
    }

    /// Whether clients may keep the answer: a permanent redirect of a link that can never
    /// end by itself (no expiry, no cap) and answers every visitor alike (no rules, no
    /// split). Anything else is asked again every time.
    pub fn may_be_kept(&self) -> bool {
        let link = self.link();
        self.answer == Answer::Redirect
            && link.redirect_status.is_permanent()
            && link.expires_at.is_none()
            && link.max_visits.is_none()
            && self.choice.is_none()
    }
}

/// The URL `choice` names among the link's, else its own target.
fn chosen_url(link: &RedirectTarget, choice: Option<TargetChoice>) -> &str {
    choice
        .zip(link.targeting.as_deref())
        .and_then(|(choice, targeting)| targeting.url(choice))
        .unwrap_or(&link.original_url)
}

/// Where `code` leads. The visit is recorded for the click writer to classify: a GET as a
/// click event, a HEAD as a preview counted in the rollups only. A link that has ended
/// (expired, or its visits used up) answers 410, or sends visitors to its `expired_url`;
/// a person's visit to a capped link uses up one of its visits first, in Postgres.
pub async fn follow(app: &App, code: &str, mut visit: Visit) -> Result<Destination, ServiceError> {
    let counters = &app.metrics().hot;
    // A code that could never have been issued needs no lookup at all.
    if !ShortCode::is_well_formed(code) {
        counters.not_found.inc();
        return Err(ServiceError::NotFound(Resource::Link));
    }
    let entry = app.cache.resolve(&app.db, code).await?;
    let link = match entry.as_ref() {
        CacheEntry::Link(link) if link.is_active => link,
        _ => {
            counters.not_found.inc();
            return Err(ServiceError::NotFound(Resource::Link));
        }
    };
    let now = Utc::now();
    if let Some(expired_at) = link.expires_at.filter(|at| *at <= now) {
        app.expiry_notices.note(&app.db, link.url_id, expired_at);
        return ended(app, entry.clone());
    }
    if link.visits_used_up {
        return ended(app, entry.clone());
    }
    // A targeted link's rules and split choose among its URLs, from what the request
    // says (and the country of its address, and its visitor's place in the split).
    let choice = link.targeting.as_deref().map(|targeting| {
        targeting.choose(&mut Facts::new(app, &visit, now), || {
            let user_agent = visit.user_agent.as_deref().unwrap_or("");
            app.clicks
                .origins()
                .visitor_key
                .split_point(visit.client, link.url_id, user_agent)
        })
    });
    let url = chosen_url(link, choice);
    // The blocklist may have grown since the link was made (BLOCKED_DOMAINS_FILE is
    // reloaded): with a blocklist, a read lock and one parse of the stored URL; without
    // one, an atomic load.
    if app.blocklist_in_force() && app.link_policy().blocks(url) {
        counters.gone.inc();
        return Err(ServiceError::DestinationBlocked);
    }
    if link.protected {
        check_password(app, link.url_id, visit.client, visit.password.take()).await?;
    }
    // Who asked matters only to a link with a cap or a preview: the rest never parse the
    // user agent here (the click writer does, off the request path).
    let class = (link.max_visits.is_some() || link.preview.is_some()).then(|| {
        app.classifier()
            .class_of(visit.intent, visit.user_agent.as_deref().unwrap_or(""))
    });
    if link.max_visits.is_some()
        && class == Some(TrafficClass::Human)
        && !use_a_visit(app, link.url_id).await?
    {
        return ended(app, entry.clone());
    }
    let answer = if link.preview.is_some()
        && visit.intent == Intent::Visit
        && class == Some(TrafficClass::Preview)
    {
        Answer::Preview
    } else if detours(app, link, choice) {
        Answer::Detour
    } else {
        Answer::Redirect
    };
    let forwarded = match &visit.query {
        Some(query) if link.forward_query && answer != Answer::Detour => {
            Some(forward_query(url, query))
        }
        _ => None,
    };
    app.clicks.enqueue(
        Click {
            url_id: link.url_id,
            at: now,
            referrer: visit.referrer,
            user_agent: visit.user_agent,
            accept_language: visit.accept_language,
            intent: visit.intent,
            country: None,
            visitor: None,
            variant: choice,
        },
        visit.client,
    );
    counters.found.inc();
    Ok(Destination {
        entry,
        choice,
        forwarded,
        answer,
    })
}

/// Whether a visit goes to the link's `expired_url` because its own target is down: only
/// when the visit would go to that target (a rule or variant's URL is not the one
/// checked), and the fallback is not blocked since.
fn detours(app: &App, link: &RedirectTarget, choice: Option<TargetChoice>) -> bool {
    link.destination_down
        && matches!(choice, None | Some(TargetChoice::Target))
        && usable_fallback(app, link).is_some()
}

/// The link's `expired_url`, unless the blocklist in force blocks it since it was set.
fn usable_fallback<'a>(app: &App, link: &'a RedirectTarget) -> Option<&'a str> {
    link.expired_url
        .as_deref()
        .filter(|fallback| !(app.blocklist_in_force() && app.link_policy().blocks(fallback)))
}

/// The answer of a link that has ended: to its `expired_url` when it has one (and that is
/// not blocked since), else 410. No click is recorded.
fn ended(app: &App, entry: Arc<CacheEntry>) -> Result<Destination, ServiceError> {
    app.metrics().hot.gone.inc();
    let destination = Destination {
        entry,
        choice: None,
        forwarded: None,
        answer: Answer::Fallback,
    };
    match usable_fallback(app, destination.link()) {
        Some(_) => Ok(destination),
        None => Err(ServiceError::Expired),
    }
}

/// Lets a visit to a protected link through when it brings the right password. Wrong
/// guesses are bounded per link and client ([`link_passwords::WRONG_GUESSES`] in
/// [`link_passwords::GUESS_WINDOW`], on this replica), each counted from before it is
/// checked, so guesses sent at once cannot pass the bound; past it even the right one
/// waits. The hash is read from Postgres for each guess: no cache tier holds it.
async fn check_password(
    app: &App,
    url_id: i64,
    client: Option<IpAddr>,
    password: Option<LinkPassword>,
) -> Result<(), ServiceError> {
    let Some(password) = password else {
        return Err(ServiceError::PasswordNeeded { wrong: false });
    };
    if let Err(wait) = app.wrong_guesses.begin_guess(url_id, client) {
        return Err(ServiceError::RateLimited {
            what: "wrong passwords for this link",
            retry_after_secs: wait.as_secs_f64().ceil() as u64,
        });
    }
    let hash = async {
        let mut conn = app.db.connection("redirects.password").await?;
        urls::password_hash(&mut conn, url_id).await
    }
    .await;
    let right = match hash {
        // Removed since the cached copy was read: nothing to check.
        Ok(None) => true,
        Ok(Some(hash)) => link_passwords::matches(hash, password).await,
        Err(error) => {
            app.wrong_guesses.was_right(url_id, client);
            return Err(error.into());
        }
    };
    if right {
        app.wrong_guesses.was_right(url_id, client);
        Ok(())
    } else {
        Err(ServiceError::PasswordNeeded { wrong: true })
    }
}

/// Uses one of a capped link's visits in Postgres, counted with the link's other waiting
/// visits ([`crate::visit_batches`]); `false` when none was left.
async fn use_a_visit(app: &App, url_id: i64) -> Result<bool, ServiceError> {
    app.visit_batches
        .use_one(&app.db, &app.cache, url_id)
        .await
        .map_err(|()| ServiceError::VisitsUncounted)
}
