//! The audit trail: filtered lists, and events clients append to a link's trail.

use super::access::{reachable_link, user_filter};
use super::{Listing, ServiceError};
use crate::app::App;
use shortener_domain::{Caller, EventDetails, EventFilter, EventType, Page};
use shortener_store::events::{self, NewEvent};
use shortener_store::urls;

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

/// Appends an event to the trail of a live link the caller may reach. Its user is the
/// link's owner, as for the events the service writes (who caused it is its `actor`): a
/// `user_id` naming anyone else is refused, so an owner's view of the trail, which is by
/// user, holds only its own links' events. The types the service writes itself never
/// come here ([`EventType::parse`] refuses them).
pub async fn append(
    app: &App,
    caller: &Caller,
    new: NewClientEvent,
) -> Result<Event, ServiceError> {
    let mut conn = app.db.connection("events.append").await?;
    let link = reachable_link(caller, urls::find(&mut conn, new.url_id).await?)?;
    if new.user_id.is_some_and(|named| Some(named) != link.user_id) {
        return Err(ServiceError::Invalid {
            field: "user_id",
            message: "an event's user is its link's owner: omit it or name that user",
        });
    }
    let event = NewEvent {
        url_id: link.id,
        user_id: link.user_id,
        event_type: new.event_type.as_str(),
        details: new.details.into_value(),
        actor: caller.actor(),
    };
    Ok(events::insert(&mut conn, event).await?)
}
