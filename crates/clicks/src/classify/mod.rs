//! Click classification, in the click writer (never on the redirect path): each click's
//! traffic class and the reason for it, its browser, OS and device class from the user
//! agent, its language from `Accept-Language`, and its referrer's host.
//!
//! The order of the rules: what the request says about itself first (a HEAD, a
//! prefetch), then the link unfurlers (`unfurlers.rs`, this project's list, since they
//! are neither people nor crawlers), then the crawler list of the `isbot` crate and
//! `woothee`'s crawler category; a request with no user agent is a bot; the rest are
//! people.

mod agent;
mod unfurlers;

use std::collections::HashMap;

use shortener_domain::{Click, ClickTraits, Intent, TrafficClass, preferred_language};

pub use agent::Agent;

/// Classifies clicks; parsing a user agent is the expensive part, so a batch parses each
/// distinct one once.
pub struct Classifier {
    bots: isbot::Bots,
    parser: woothee::parser::Parser,
}

impl Default for Classifier {
    fn default() -> Self {
        Self {
            bots: isbot::Bots::default(),
            parser: woothee::parser::Parser::new(),
        }
    }
}

impl Classifier {
    /// The traits of each click of a batch, in order.
    pub fn classify_all(&self, clicks: &[Click]) -> Vec<ClickTraits> {
        let mut agents: HashMap<&str, Agent> = HashMap::new();
        clicks
            .iter()
            .map(|click| {
                let user_agent = click.user_agent.as_deref().unwrap_or("");
                let agent = agents
                    .entry(user_agent)
                    .or_insert_with(|| self.agent(user_agent));
                traits(click, agent)
            })
            .collect()
    }

    /// The traits of one click.
    pub fn classify(&self, click: &Click) -> ClickTraits {
        traits(
            click,
            &self.agent(click.user_agent.as_deref().unwrap_or("")),
        )
    }

    /// The class of a request, as the writer will class its click: what the redirect of a
    /// capped link asks before it uses up a visit (only a person's does).
    pub fn class_of(&self, intent: Intent, user_agent: &str) -> TrafficClass {
        match intent {
            Intent::Check | Intent::Prefetch => TrafficClass::Preview,
            Intent::Visit => self.agent(user_agent).class,
        }
    }

    /// What a user agent says, whatever the request.
    pub fn agent(&self, user_agent: &str) -> Agent {
        Agent::parse(user_agent, &self.bots, &self.parser)
    }
}

fn traits(click: &Click, agent: &Agent) -> ClickTraits {
    let (class, reason) = match click.intent {
        Intent::Check => (TrafficClass::Preview, "head"),
        Intent::Prefetch => (TrafficClass::Preview, "prefetch"),
        Intent::Visit => (agent.class, agent.reason),
    };
    ClickTraits {
        class,
        reason,
        browser: agent.browser,
        os: agent.os,
        device: agent.device,
        language: click.accept_language.as_deref().and_then(language),
        referrer_host: click.referrer.as_deref().and_then(referrer_host),
    }
}

/// The primary subtag, in lower case, of the `Accept-Language` entry with the highest
/// weight (the first of equals); `*` and malformed entries are skipped.
pub fn language(accept_language: &str) -> Option<String> {
    let mut tag = preferred_language(accept_language)?;
    tag.truncate(tag.find('-').unwrap_or(tag.len()));
    Some(tag)
}

/// The referrer's host, in lower case and without a leading `www.`; `None` for a
/// referrer that is not a URL with a host.
pub fn referrer_host(referrer: &str) -> Option<String> {
    let url = url::Url::parse(referrer).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").map(str::to_owned).unwrap_or(host);
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests;
