//! A rule's conditions: what each says about a visitor, how a client's are checked, and
//! whether a visitor meets them all.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::TargetingError;
use super::names::{BROWSER_NAMES, DEVICE_NAMES, OS_NAMES, folded, known_name};

/// Most values one condition may list (countries, languages, a parameter's values).
pub const MAX_CONDITION_VALUES: usize = 100;
/// Most query parameters one rule may name.
pub const MAX_QUERY_CONDITIONS: usize = 10;
/// Longest query parameter name or value a rule may name, in characters.
pub const MAX_QUERY_TEXT_CHARS: usize = 200;

/// One value or a list of them (any of which holds), kept in the shape it was sent in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    /// The values, one or many.
    pub fn values(&self) -> &[String] {
        match self {
            Self::One(value) => std::slice::from_ref(value),
            Self::Many(values) => values,
        }
    }

    /// Each value checked and rewritten by `parse`, in the same shape; a list has 1 to
    /// [`MAX_CONDITION_VALUES`] values.
    fn parse(
        self,
        path: &str,
        parse: impl Fn(&str) -> Result<String, String>,
    ) -> Result<Self, TargetingError> {
        let checked =
            |value: &str| parse(value).map_err(|message| TargetingError::new(path, message));
        match self {
            Self::One(value) => Ok(Self::One(checked(&value)?)),
            Self::Many(values) if values.is_empty() || values.len() > MAX_CONDITION_VALUES => {
                Err(TargetingError::new(
                    path,
                    format!("a list of 1 to {MAX_CONDITION_VALUES} values"),
                ))
            }
            Self::Many(values) => Ok(Self::Many(
                values
                    .iter()
                    .map(|value| checked(value))
                    .collect::<Result<_, _>>()?,
            )),
        }
    }
}

/// What a visitor is, as far as rules ask: each asked at most once per visit, and only
/// when a rule gets to it.
pub trait VisitorFacts {
    /// The device class, as the classifier names it (`mobile`, `tablet`, `desktop`, …).
    fn device(&mut self) -> Option<&str>;
    /// The OS family, as the classifier names it (`iOS`, `Windows`, …).
    fn os(&mut self) -> Option<&str>;
    /// The browser, as the classifier names it (`Chrome`, `Samsung Internet`, …).
    fn browser(&mut self) -> Option<&str>;
    /// The country (ISO 3166-1 alpha-2, upper case) of the client's address.
    fn country(&mut self) -> Option<&str>;
    /// The preferred language tag, lower case (`super::preferred_language`).
    fn language(&mut self) -> Option<&str>;
    /// Whether the request's query has parameter `name` with one of `values` (decoded).
    fn has_query(&mut self, name: &str, values: &[String]) -> bool;
    /// The time of the visit.
    fn now(&self) -> DateTime<Utc>;
}

/// The conditions of one rule; each present one must hold. None: the rule always holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// `mobile`, `tablet` or `desktop`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<OneOrMany>,
    /// OS families ([`OS_NAMES`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OneOrMany>,
    /// Browsers ([`BROWSER_NAMES`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<OneOrMany>,
    /// ISO 3166-1 alpha-2 codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<OneOrMany>,
    /// Language tags: `en` holds for `en`, `en-US` and `en-GB`; `en-gb` only for `en-GB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<OneOrMany>,
    /// Parameters of the visitor's query, each with its value (or any of several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<BTreeMap<String, OneOrMany>>,
    /// From this time on (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<DateTime<Utc>>,
    /// Until this time (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<DateTime<Utc>>,
}

impl Conditions {
    /// A client's conditions, checked and written in their stored form; `path` names
    /// them in errors.
    pub(super) fn parse(self, path: &str) -> Result<Self, TargetingError> {
        let each = |condition: Option<OneOrMany>,
                    name: &str,
                    parse: &dyn Fn(&str) -> Result<String, String>| {
            condition
                .map(|values| values.parse(&format!("{path}.{name}"), parse))
                .transpose()
        };
        let query = match self.query {
            None => None,
            Some(query) if query.is_empty() || query.len() > MAX_QUERY_CONDITIONS => {
                return Err(TargetingError::new(
                    format!("{path}.query"),
                    format!("names 1 to {MAX_QUERY_CONDITIONS} parameters"),
                ));
            }
            Some(query) => Some(
                query
                    .into_iter()
                    .map(|(name, values)| {
                        let name_path = format!("{path}.query.{name}");
                        if name.is_empty()
                            || name.chars().count() > MAX_QUERY_TEXT_CHARS
                            || name.contains('\0')
                        {
                            return Err(TargetingError::new(
                                name_path,
                                format!("a parameter's name is 1 to {MAX_QUERY_TEXT_CHARS} characters, with no NUL"),
                            ));
                        }
                        let values = values.parse(&name_path, |value| {
                            if value.chars().count() > MAX_QUERY_TEXT_CHARS || value.contains('\0') {
                                Err(format!("at most {MAX_QUERY_TEXT_CHARS} characters, with no NUL"))
                            } else {
                                Ok(value.to_owned())
                            }
                        })?;
                        Ok((name, values))
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        Ok(Self {
            device: each(self.device, "device", &|value| {
                named(value, DEVICE_NAMES, "a device")
            })?,
            os: each(self.os, "os", &|value| named(value, OS_NAMES, "an OS"))?,
            browser: each(self.browser, "browser", &|value| {
                named(value, BROWSER_NAMES, "a browser")
            })?,
            country: each(self.country, "country", &country_code)?,
            language: each(self.language, "language", &language_tag)?,
            query,
            after: self.after,
            before: self.before,
        })
    }

    /// Roughly the bytes its values hold, with a fixed part for the rule.
    pub fn approximate_bytes(&self) -> usize {
        let sum = |values: &[String]| values.iter().map(|v| v.len() + 24).sum::<usize>();
        let values =
            |condition: &Option<OneOrMany>| condition.as_ref().map_or(0, |c| sum(c.values()));
        let query: usize = self.query.as_ref().map_or(0, |query| {
            query
                .iter()
                .map(|(name, v)| name.len() + sum(v.values()))
                .sum()
        });
        96 + values(&self.device)
            + values(&self.os)
            + values(&self.browser)
            + values(&self.country)
            + values(&self.language)
            + query
    }

    /// Whether `visitor` meets every condition; the cheap ones are asked first.
    pub fn hold(&self, visitor: &mut dyn VisitorFacts) -> bool {
        if self.after.is_some() || self.before.is_some() {
            let now = visitor.now();
            if self.after.is_some_and(|after| now < after)
                || self.before.is_some_and(|before| now >= before)
            {
                return false;
            }
        }
        if let Some(query) = &self.query
            && !query
                .iter()
                .all(|(name, values)| visitor.has_query(name, values.values()))
        {
            return false;
        }
        if let Some(languages) = &self.language {
            let Some(tag) = visitor.language() else {
                return false;
            };
            if !languages
                .values()
                .iter()
                .any(|rule| language_holds(rule, tag))
            {
                return false;
            }
        }
        named_holds(&self.device, visitor.device())
            && named_holds(&self.os, visitor.os())
            && named_holds(&self.browser, visitor.browser())
            && match &self.country {
                None => true,
                Some(countries) => visitor
                    .country()
                    .is_some_and(|country| countries.values().iter().any(|c| c == country)),
            }
    }
}

/// Whether a named condition (device, OS, browser) holds for the visitor's `name`.
fn named_holds(condition: &Option<OneOrMany>, name: Option<&str>) -> bool {
    match condition {
        None => true,
        Some(values) => name.is_some_and(|name| {
            let name = folded(name);
            values.values().iter().any(|value| folded(value) == name)
        }),
    }
}

/// Whether rule tag `rule` holds for the visitor's tag: the same, or a region of it.
fn language_holds(rule: &str, tag: &str) -> bool {
    tag == rule
        || tag
            .strip_prefix(rule)
            .is_some_and(|rest| rest.starts_with('-'))
}

fn named(value: &str, known: &[&'static str], what: &str) -> Result<String, String> {
    known_name(value.trim(), known)
        .map(str::to_owned)
        .ok_or_else(|| format!("{what} is one of {}", known.join(", ")))
}

fn country_code(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(value.to_ascii_uppercase())
    } else {
        Err("a country is an ISO 3166-1 alpha-2 code (two letters)".to_owned())
    }
}

fn language_tag(value: &str) -> Result<String, String> {
    let value = value.trim();
    let mut parts = value.split('-');
    let primary = parts.next().unwrap_or("");
    let valid = (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|part| {
            (1..=8).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_alphanumeric())
        });
    if valid {
        Ok(value.to_ascii_lowercase())
    } else {
        Err("a language is a tag such as en or pt-BR".to_owned())
    }
}

/// Whether the raw query string `query` (without `?`) has parameter `name` with one of
/// `values`, both compared decoded (`+` as a space, as forms send it).
pub fn query_has(query: &str, name: &str, values: &[String]) -> bool {
    url::form_urlencoded::parse(query.as_bytes())
        .any(|(n, v)| n == name && values.iter().any(|value| *value == v))
}
