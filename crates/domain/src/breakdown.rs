//! What a stats breakdown is asked for: the dimension, the traffic classes counted, how
//! many rows.

use crate::TrafficClass;

/// A dimension of `GET /urls/{id}/stats/{dimension}` and `GET /stats/{dimension}`, or
/// `link` (`GET /stats/link`: a link's clicks by link are itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Day,
    Hour,
    Class,
    Country,
    Browser,
    Os,
    Device,
    Language,
    Referrer,
    /// Which rule or variant of a targeted link answered (`target`, `rules.N`,
    /// `variants.N`): a link's own, so not across links.
    Variant,
    Link,
}

impl Dimension {
    /// Every dimension of one link, as the API names them: those across links, and
    /// `variant`.
    pub const OF_A_LINK: [Self; 10] = {
        let mut all = [Self::Variant; 10];
        let mut i = 0;
        while i < Self::ACROSS_LINKS.len() {
            all[i] = Self::ACROSS_LINKS[i];
            i += 1;
        }
        all
    };

    /// The dimensions across links besides `link`: a link's, except `variant` (whose
    /// keys are each link's own).
    pub const ACROSS_LINKS: [Self; 9] = [
        Self::Day,
        Self::Hour,
        Self::Class,
        Self::Country,
        Self::Browser,
        Self::Os,
        Self::Device,
        Self::Language,
        Self::Referrer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Hour => "hour",
            Self::Class => "class",
            Self::Country => "country",
            Self::Browser => "browser",
            Self::Os => "os",
            Self::Device => "device",
            Self::Language => "language",
            Self::Referrer => "referrer",
            Self::Variant => "variant",
            Self::Link => "link",
        }
    }

    /// The dimension of `among` named `name`.
    pub fn named(name: &str, among: &[Self]) -> Option<Self> {
        among.iter().copied().find(|d| d.as_str() == name)
    }

    /// Most rows a breakdown by it lists: links across links are ranked among each day's
    /// first [`LISTED_LINKS_A_DAY`] (migration `20261207000010`), so at most that many.
    pub fn max_limit(self) -> u32 {
        match self {
            Self::Link => LISTED_LINKS_A_DAY,
            _ => MAX_BREAKDOWN_LIMIT,
        }
    }

    /// Whether its rows are time slots, listed in time order and zero-filled.
    pub fn is_time(self) -> bool {
        matches!(self, Self::Day | Self::Hour)
    }

    /// The letter the dimension rollup stores it under (`link_dimension_clicks`), for the
    /// dimensions kept there.
    pub fn code(self) -> Option<u8> {
        match self {
            Self::Country => Some(b'c'),
            Self::Browser => Some(b'b'),
            Self::Os => Some(b'o'),
            Self::Device => Some(b'd'),
            Self::Language => Some(b'l'),
            Self::Referrer => Some(b'r'),
            Self::Variant => Some(b'v'),
            Self::Day | Self::Hour | Self::Class | Self::Link => None,
        }
    }
}

/// The traffic counted in a breakdown: one class, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClassFilter {
    #[default]
    Human,
    Bot,
    Preview,
    All,
}

impl ClassFilter {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "all" => Some(Self::All),
            _ => TrafficClass::parse(name).map(|class| match class {
                TrafficClass::Human => Self::Human,
                TrafficClass::Bot => Self::Bot,
                TrafficClass::Preview => Self::Preview,
            }),
        }
    }

    /// Whether it counts `class`.
    pub fn counts(self, class: TrafficClass) -> bool {
        match self {
            Self::All => true,
            Self::Human => class == TrafficClass::Human,
            Self::Bot => class == TrafficClass::Bot,
            Self::Preview => class == TrafficClass::Preview,
        }
    }

    /// The clicks counted of (humans, bots, previews).
    pub fn clicks(self, humans: i64, bots: i64, previews: i64) -> i64 {
        [
            (TrafficClass::Human, humans),
            (TrafficClass::Bot, bots),
            (TrafficClass::Preview, previews),
        ]
        .into_iter()
        .filter(|(class, _)| self.counts(*class))
        .map(|(_, clicks)| clicks)
        .sum()
    }

    /// Unique visitors are people: counted when the filter counts people.
    pub fn visitors(self, visitors: i64) -> i64 {
        if self.counts(TrafficClass::Human) {
            visitors
        } else {
            0
        }
    }
}

/// Most rows a breakdown lists by default, and at most.
pub const DEFAULT_BREAKDOWN_LIMIT: u32 = 10;
pub const MAX_BREAKDOWN_LIMIT: u32 = 1000;

/// The links of a scope the fold lists for each day, the first by each class.
pub const LISTED_LINKS_A_DAY: u32 = 100;

/// One row of a breakdown: a key (`None`: unknown) and its clicks and unique visitors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyClicks {
    pub key: Option<String>,
    pub clicks: i64,
    pub visitors: i64,
}
