//! A link's targeting: its ordered rules (the first whose conditions all hold sends the
//! visitor to its URL) and its weighted split (A/B: each visitor, by a stable point of
//! their own, to one variant). The shapes are the API's and the stored ones; [`parse_rules`]
//! and [`parse_variants`] are what a client's input must pass.

mod conditions;
mod names;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::TargetUrl;

pub use conditions::{
    Conditions, MAX_CONDITION_VALUES, MAX_QUERY_CONDITIONS, MAX_QUERY_TEXT_CHARS, OneOrMany,
    VisitorFacts, query_has,
};
pub use names::{BROWSER_NAMES, DEVICE_NAMES, OS_NAMES, folded as folded_name, preferred_language};

/// Most rules a link may have.
pub const MAX_RULES: usize = 20;
/// Fewest and most variants of a split.
pub const MIN_VARIANTS: usize = 2;
pub const MAX_VARIANTS: usize = 10;
/// Largest weight of one variant (weights are relative: 70 and 30 split as 7 and 3).
pub const MAX_WEIGHT: u32 = 10_000;

/// One rule: when all of `if` holds, the visitor goes to `url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(rename = "if")]
    pub conditions: Conditions,
    pub url: String,
}

/// One target of a split, with its relative weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub url: String,
    #[serde(deserialize_with = "whole_number")]
    pub weight: u32,
}

/// A JSON number that is a whole one, as JSON Schema's `integer` is: `70` or `70.0`.
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    number
        .as_u64()
        .or_else(|| {
            number
                .as_f64()
                .filter(|n| n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(n))
                .map(|n| n as u64)
        })
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| {
            serde::de::Error::custom(format!("a weight is a whole number from 1 to {MAX_WEIGHT}"))
        })
}

/// A link's rules and split, as the redirect carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targeting {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
}

impl Targeting {
    /// The targeting of a link with `rules` and `variants`; `None` when it has neither.
    pub fn of(rules: Vec<Rule>, variants: Vec<Variant>) -> Option<Box<Self>> {
        (!rules.is_empty() || !variants.is_empty()).then(|| Box::new(Self { rules, variants }))
    }

    /// Which rule or variant answers `visitor`, whose place in a split is `split_point`
    /// (asked only for a split). Conditions are asked lazily: a rule stops at its first
    /// condition that does not hold.
    pub fn choose(
        &self,
        visitor: &mut dyn VisitorFacts,
        split_point: impl FnOnce() -> u64,
    ) -> TargetChoice {
        if let Some(index) = self
            .rules
            .iter()
            .position(|rule| rule.conditions.hold(visitor))
        {
            return TargetChoice::Rule(index as u16);
        }
        if self.variants.is_empty() {
            return TargetChoice::Target;
        }
        TargetChoice::Variant(split_index(&self.variants, split_point()) as u16)
    }

    /// The URL `choice` names, or `None` for the link's own target (or an index it no
    /// longer has).
    pub fn url(&self, choice: TargetChoice) -> Option<&str> {
        match choice {
            TargetChoice::Target => None,
            TargetChoice::Rule(index) => self.rules.get(usize::from(index)).map(|r| r.url.as_str()),
            TargetChoice::Variant(index) => self
                .variants
                .get(usize::from(index))
                .map(|v| v.url.as_str()),
        }
    }

    /// Roughly the bytes it holds.
    pub fn approximate_bytes(&self) -> usize {
        let rules: usize = self
            .rules
            .iter()
            .map(|rule| rule.url.len() + rule.conditions.approximate_bytes())
            .sum();
        rules
            + self
                .variants
                .iter()
                .map(|v| v.url.len() + 32)
                .sum::<usize>()
    }
}

/// Why rules or variants are refused, naming the part at fault (`rules.2.if.country`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct TargetingError {
    pub path: String,
    pub message: String,
}

impl TargetingError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A client's rules, checked and written in their stored form (URLs normalised, names in
/// lower case, countries in upper case); an empty list is no rules.
pub fn parse_rules(rules: Vec<Rule>) -> Result<Vec<Rule>, TargetingError> {
    if rules.len() > MAX_RULES {
        return Err(TargetingError::new(
            "rules",
            format!("at most {MAX_RULES} rules"),
        ));
    }
    rules
        .into_iter()
        .enumerate()
        .map(|(index, rule)| {
            Ok(Rule {
                conditions: rule.conditions.parse(&format!("rules.{index}.if"))?,
                url: parse_url(&rule.url, &format!("rules.{index}.url"))?,
            })
        })
        .collect()
}

/// A client's split, checked: none, or [`MIN_VARIANTS`] to [`MAX_VARIANTS`] variants
/// each of weight 1 to [`MAX_WEIGHT`].
pub fn parse_variants(variants: Vec<Variant>) -> Result<Vec<Variant>, TargetingError> {
    if variants.is_empty() {
        return Ok(variants);
    }
    if !(MIN_VARIANTS..=MAX_VARIANTS).contains(&variants.len()) {
        return Err(TargetingError::new(
            "variants",
            format!("a split has {MIN_VARIANTS} to {MAX_VARIANTS} variants (or none: [])"),
        ));
    }
    variants
        .into_iter()
        .enumerate()
        .map(|(index, variant)| {
            if !(1..=MAX_WEIGHT).contains(&variant.weight) {
                return Err(TargetingError::new(
                    format!("variants.{index}.weight"),
                    format!("must be an integer from 1 to {MAX_WEIGHT}"),
                ));
            }
            Ok(Variant {
                url: parse_url(&variant.url, &format!("variants.{index}.url"))?,
                weight: variant.weight,
            })
        })
        .collect()
}

fn parse_url(raw: &str, path: &str) -> Result<String, TargetingError> {
    TargetUrl::parse(raw)
        .map(|url| url.as_str().to_owned())
        .map_err(|error| TargetingError::new(path, error.to_string()))
}

/// Which of a targeted link's destinations answered a visit: recorded with its click, and
/// the keys of the `variant` stats dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetChoice {
    /// No rule held and the link has no split: its own target.
    Target,
    /// The rule at this index of `rules`.
    Rule(u16),
    /// The variant at this index of `variants`.
    Variant(u16),
}

/// The variant at `point` of the split: the weights laid end to end over the whole range
/// of `u64` (by multiplication, so every point of a uniform spread lands in proportion).
fn split_index(variants: &[Variant], point: u64) -> usize {
    let total: u64 = variants.iter().map(|v| u64::from(v.weight)).sum();
    let mark = ((u128::from(point) * u128::from(total)) >> 64) as u64;
    let mut end = 0;
    for (index, variant) in variants.iter().enumerate() {
        end += u64::from(variant.weight);
        if mark < end {
            return index;
        }
    }
    variants.len() - 1
}

/// `target`, `rules.N` or `variants.N`: the path of the answer in the link's JSON.
impl fmt::Display for TargetChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Target => f.write_str("target"),
            Self::Rule(index) => write!(f, "rules.{index}"),
            Self::Variant(index) => write!(f, "variants.{index}"),
        }
    }
}

/// Not a choice's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not target, rules.N or variants.N")]
pub struct TargetChoiceError;

impl FromStr for TargetChoice {
    type Err = TargetChoiceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "target" {
            return Ok(Self::Target);
        }
        let index = |rest: &str| rest.parse::<u16>().map_err(|_| TargetChoiceError);
        match text.split_once('.') {
            Some(("rules", rest)) => Ok(Self::Rule(index(rest)?)),
            Some(("variants", rest)) => Ok(Self::Variant(index(rest)?)),
            _ => Err(TargetChoiceError),
        }
    }
}

#[cfg(test)]
mod tests;
