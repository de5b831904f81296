//! The events a webhook subscription names, by their fixed wire names.

use std::fmt;

/// Something that happened to a link that an owner can be told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookEvent {
    LinkCreated,
    LinkUpdated,
    LinkDeleted,
    /// The first visit after the link's expiry, once per expiry time.
    LinkExpired,
    /// The visit that used the last of a capped link's visits.
    LinkVisitsExhausted,
    /// The link's destination failed enough checks in a row to be down.
    LinkDestinationDown,
    /// A down destination answered a check again.
    LinkDestinationUp,
    /// The link's clicks of about a minute, counted by class: at most one a minute.
    LinkClicked,
}

/// Every event's wire name, in the order the docs list them.
pub const WEBHOOK_EVENTS: [&str; 8] = [
    "link.created",
    "link.updated",
    "link.deleted",
    "link.expired",
    "link.visits_exhausted",
    "link.destination_down",
    "link.destination_up",
    "link.clicked",
];

impl WebhookEvent {
    /// Every event.
    pub const ALL: [Self; 8] = [
        Self::LinkCreated,
        Self::LinkUpdated,
        Self::LinkDeleted,
        Self::LinkExpired,
        Self::LinkVisitsExhausted,
        Self::LinkDestinationDown,
        Self::LinkDestinationUp,
        Self::LinkClicked,
    ];

    /// The event's name in a subscription and in a payload's `type`.
    pub fn name(self) -> &'static str {
        match self {
            Self::LinkCreated => "link.created",
            Self::LinkUpdated => "link.updated",
            Self::LinkDeleted => "link.deleted",
            Self::LinkExpired => "link.expired",
            Self::LinkVisitsExhausted => "link.visits_exhausted",
            Self::LinkDestinationDown => "link.destination_down",
            Self::LinkDestinationUp => "link.destination_up",
            Self::LinkClicked => "link.clicked",
        }
    }

    /// The event named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|event| event.name() == name)
    }
}

impl fmt::Display for WebhookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a subscription's list of events was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookEventError {
    #[error("must name at least one event")]
    Empty,
    #[error("{0:?} is no event; the events are {events}", events = WEBHOOK_EVENTS.join(", "))]
    Unknown(String),
}

/// The events of a subscription: at least one, each known, kept in the order given
/// without repeats.
pub fn parse_events<S: AsRef<str>>(names: &[S]) -> Result<Vec<WebhookEvent>, WebhookEventError> {
    let mut events = Vec::with_capacity(names.len());
    for name in names {
        let event = WebhookEvent::from_name(name.as_ref())
            .ok_or_else(|| WebhookEventError::Unknown(name.as_ref().to_owned()))?;
        if !events.contains(&event) {
            events.push(event);
        }
    }
    if events.is_empty() {
        return Err(WebhookEventError::Empty);
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_list_names_every_event() {
        let names: Vec<&str> = WebhookEvent::ALL.iter().map(|e| e.name()).collect();
        assert_eq!(names, WEBHOOK_EVENTS);
        for event in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::from_name(event.name()), Some(event));
        }
    }

    #[test]
    fn events_are_known_not_empty_and_kept_once() {
        assert_eq!(
            parse_events(&["link.deleted", "link.created", "link.deleted"]),
            Ok(vec![WebhookEvent::LinkDeleted, WebhookEvent::LinkCreated])
        );
        assert_eq!(parse_events::<&str>(&[]), Err(WebhookEventError::Empty));
        assert_eq!(
            parse_events(&["link.clicked.twice"]),
            Err(WebhookEventError::Unknown("link.clicked.twice".into()))
        );
    }
}
