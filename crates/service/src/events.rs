//! The audit trail: filtered lists, and events clients append to a link's trail.

use super::{Listing, Resource, ServiceError};
use crate::app::App;
use shortener_domain::{EventDetails, EventFilter, EventType, Page};
use shortener_store::events::{self, NewEvent};
use shortener_store::{urls, users};

pub use shortener_domain::{Event, EventFilter as Filter};

/// One page of events in id order.
pub async fn list(
    app: &App,
    filter: &EventFilter,
    page: Page,
) -> Result<Listing<Event>, ServiceError> {
    let mut conn = app.db.connection("events.list").await?;
    Ok(Listing::from_page(
        page,
        events::list(&mut conn, filter, page).await?,
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

/// Appends an event to a live link's trail; its user, if named, must be live.
pub async fn append(app: &App, new: NewClientEvent) -> Result<Event, ServiceError> {
    let mut conn = app.db.connection("events.append").await?;
    let Some(link) = urls::find(&mut conn, new.url_id).await? else {
        return Err(ServiceError::NotFound(Resource::Link));
    };
    // The list totals count a link's clicks as its owner's (store::events).
    if new.event_type.as_str() == "click" && new.user_id != link.user_id {
        return Err(ServiceError::Invalid {
            field: "user_id",
            message: "a click is attributed to its link's owner: must be the link's user_id",
        });
    }
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
    };
    Ok(events::insert(&mut conn, event).await?)
}
