//! What a targeted link's rules ask of a visitor, each worked out once per visit and only
//! when a rule gets to it: the user agent parsed, the country looked up, the preferred
//! language read, the query matched.

use chrono::{DateTime, Utc};

use crate::app::App;
use crate::redirects::Visit;
use shortener_clicks::classify::Agent;
use shortener_domain::{VisitorFacts, preferred_language, query_has};

/// One visit's facts, for [`shortener_domain::TargetChoice::of`].
pub(crate) struct Facts<'a> {
    app: &'a App,
    visit: &'a Visit,
    now: DateTime<Utc>,
    agent: Option<Agent>,
    country: Option<Option<String>>,
    language: Option<Option<String>>,
}

impl<'a> Facts<'a> {
    pub(crate) fn new(app: &'a App, visit: &'a Visit, now: DateTime<Utc>) -> Self {
        Self {
            app,
            visit,
            now,
            agent: None,
            country: None,
            language: None,
        }
    }

    fn agent(&mut self) -> &Agent {
        let user_agent = self.visit.user_agent.as_deref().unwrap_or("");
        self.agent
            .get_or_insert_with(|| self.app.classifier().agent(user_agent))
    }
}

impl VisitorFacts for Facts<'_> {
    fn device(&mut self) -> Option<&str> {
        self.agent().device
    }

    fn os(&mut self) -> Option<&str> {
        self.agent().os
    }

    fn browser(&mut self) -> Option<&str> {
        self.agent().browser
    }

    fn country(&mut self) -> Option<&str> {
        let (origins, client) = (self.app.clicks.origins(), self.visit.client);
        self.country
            .get_or_insert_with(|| {
                let geoip = origins.geoip.as_ref()?;
                geoip.country(client?)
            })
            .as_deref()
    }

    fn language(&mut self) -> Option<&str> {
        let header = self.visit.accept_language.as_deref();
        self.language
            .get_or_insert_with(|| header.and_then(preferred_language))
            .as_deref()
    }

    fn has_query(&mut self, name: &str, values: &[String]) -> bool {
        self.visit
            .query
            .as_deref()
            .is_some_and(|query| query_has(query, name, values))
    }

    fn now(&self) -> DateTime<Utc> {
        self.now
    }
}
