//! The audit trail: filtered lists, and events clients append to a link's trail.

use super::access::{reachable_link, user_filter};
use super::{Listing, Resource, ServiceError};
use crate::app::App;
use shortener_domain::{Caller, EventDetails, EventFilter, EventType, Page};
use shortener_store::events::{self, NewEvent};
use shortener_store::{urls, users};

pub use shortener_domain::{Event, EventFilter as Filter};

/// One page of events in id order, of those the caller may reach (an owner key: its
/// user's, which are its links' events).
pub async fn list(
    app: &App,
    caller: &Caller,
    filter: &EventFilter,
    page: Page,
) -> Result<Listing<Event>, ServiceError> {
    let Some(user_id) = user_filter(caller, filter.user_id) else {
        return Ok(Listing::empty());
    };
    let filter = EventFilter {
        user_id,
        ..filter.clone()
    };
    let mut conn = app.db.connection("events.list").await?;
    Ok(Listing::from_page(
        page,
        events::list(&mut conn, &filter, page).await?,
    ))
}

/// An event a client appends.
#[derive(Debug, Clone)]
pub struct NewClientEvent {
    pub url_id: i64,
    pub user_id: Option<i64>,
    pub event_type: EventType,
    pub details: EventDetails,
}

/// Appends an event to the trail of a live link the caller may reach; its user, if
/// named, must be live (an owner key's events are its user's). The types the service
/// writes itself never come here ([`EventType::parse`] refuses them).
pub async fn append(
    app: &App,
    caller: &Caller,
    mut new: NewClientEvent,
) -> Result<Event, ServiceError> {
    new.user_id = super::access::owner_of_new(caller, new.user_id)?;
    let mut conn = app.db.connection("events.append").await?;
    reachable_link(caller, urls::find(&mut conn, new.url_id).await?)?;
    if let Some(user_id) = new.user_id
        && !users::exists(&mut conn, user_id).await?
    {
        return Err(ServiceError::NotFound(Resource::User));
    }
    let event = NewEvent {
        url_id: new.url_id,
        user_id: new.user_id,
        event_type: new.event_type.as_str(),
        details: new.details.into_value(),
        actor: caller.actor(),
    };
    Ok(events::insert(&mut conn, event).await?)
}
