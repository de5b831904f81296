//! What a click was (a person, a bot or a link preview) and what its request said about
//! the visitor: the derived fields the click writer stores with each click.

/// Who followed a link, as far as the request tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrafficClass {
    /// A person's browser or app.
    Human,
    /// A crawler, a script, an uptime monitor, or a request with no user agent.
    Bot,
    /// A link unfurler (chat and social apps), a prefetch, or a HEAD request.
    Preview,
}

impl TrafficClass {
    /// Every class, in the order the API lists them.
    pub const ALL: [Self; 3] = [Self::Human, Self::Bot, Self::Preview];

    /// The class's name in events and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Bot => "bot",
            Self::Preview => "preview",
        }
    }

    /// The class named `name`, as [`Self::as_str`] spells it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|class| class.as_str() == name)
    }
}

/// How a redirect was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Intent {
    /// A GET: a visit, recorded as a `click` event.
    #[default]
    Visit,
    /// A GET sent ahead of a visit that may never happen (`Sec-Purpose: prefetch`,
    /// `Purpose: prefetch` or `Purpose: preview`).
    Prefetch,
    /// A HEAD: a check, counted as a preview but recorded as no event.
    Check,
}

impl Intent {
    /// Whether the redirect is stored as a `click` event (a HEAD is not).
    pub fn is_event(self) -> bool {
        self != Self::Check
    }
}

/// What the click writer derives from one click's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickTraits {
    pub class: TrafficClass,
    /// Why the click has its class, e.g. `head`, `prefetch`, `unfurler:slack`,
    /// `crawler`, `no_user_agent`, `browser`.
    pub reason: &'static str,
    /// The browser's name (`Chrome`, `Firefox`, …), when the user agent names one.
    pub browser: Option<&'static str>,
    /// The operating system's family (`Windows`, `macOS`, `iOS`, `Android`, …).
    pub os: Option<&'static str>,
    /// `desktop`, `mobile`, `tablet`, `bot` or `other`.
    pub device: Option<&'static str>,
    /// The visitor's preferred language, its primary subtag in lower case (`en`).
    pub language: Option<String>,
    /// The referrer's host in lower case, without a leading `www.`.
    pub referrer_host: Option<String>,
}

/// Click counts of one UTC day of a link: every click event, the clicks of each class (a
/// HEAD counts as a preview and as no click event), and the distinct human visitors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayClicks {
    pub date: chrono::NaiveDate,
    pub clicks: i64,
    pub humans: i64,
    pub bots: i64,
    pub previews: i64,
    pub visitors: i64,
}

/// The sums of days' [`DayClicks`]: click events, the clicks of each class, and the
/// days' distinct human visitors added up (a person returning on another day counts
/// again).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassCounts {
    pub clicks: i64,
    pub humans: i64,
    pub bots: i64,
    pub previews: i64,
    pub visitors: i64,
}

impl ClassCounts {
    /// The sums of `days`.
    pub fn of_days(days: &[DayClicks]) -> Self {
        days.iter().fold(Self::default(), |sum, day| Self {
            clicks: sum.clicks + day.clicks,
            humans: sum.humans + day.humans,
            bots: sum.bots + day.bots,
            previews: sum.previews + day.previews,
            visitors: sum.visitors + day.visitors,
        })
    }
}
