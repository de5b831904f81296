//! What a user agent says: unfurler, crawler or person, and the browser, OS family and
//! device class (`woothee`), named from fixed lists so the rollups' keys stay few.

use shortener_domain::TrafficClass;

use super::unfurlers::unfurler;

/// A user agent, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub class: TrafficClass,
    pub reason: &'static str,
    pub browser: Option<&'static str>,
    pub os: Option<&'static str>,
    pub device: Option<&'static str>,
}

/// The browsers named as `woothee` names them, and the name given here.
pub(super) const BROWSERS: &[(&str, &str)] = &[
    ("Chrome", "Chrome"),
    ("Firefox", "Firefox"),
    ("Safari", "Safari"),
    ("Edge", "Edge"),
    ("Opera", "Opera"),
    ("Internet Explorer", "Internet Explorer"),
    ("SamsungBrowser", "Samsung Internet"),
    ("Vivaldi", "Vivaldi"),
    ("Yandex Browser", "Yandex Browser"),
    ("Webview", "WebView"),
    ("Google Search App", "Google App"),
];

impl Agent {
    pub(super) fn parse(
        user_agent: &str,
        bots: &isbot::Bots,
        parser: &woothee::parser::Parser,
    ) -> Self {
        let parsed = parser.parse(user_agent).unwrap_or_default();
        let os = os_family(parsed.os);
        let browser = BROWSERS
            .iter()
            .find(|(name, _)| *name == parsed.name)
            .map(|(_, shown)| *shown);
        let (class, reason) = class_of(user_agent, parsed.category, bots);
        let device = match class {
            TrafficClass::Human => device(parsed.category, parsed.os, user_agent),
            TrafficClass::Bot | TrafficClass::Preview => Some("bot"),
        };
        Self {
            class,
            reason,
            browser: browser.filter(|_| class == TrafficClass::Human),
            os: os.filter(|_| class == TrafficClass::Human),
            device,
        }
    }
}

fn class_of(user_agent: &str, category: &str, bots: &isbot::Bots) -> (TrafficClass, &'static str) {
    if user_agent.trim().is_empty() {
        return (TrafficClass::Bot, "no_user_agent");
    }
    if let Some(reason) = unfurler(&user_agent.to_ascii_lowercase()) {
        return (TrafficClass::Preview, reason);
    }
    if bots.is_bot(user_agent) || category == "crawler" {
        return (TrafficClass::Bot, "crawler");
    }
    (TrafficClass::Human, "browser")
}

/// The OS family of `woothee`'s OS name.
pub(super) fn os_family(os: &str) -> Option<&'static str> {
    Some(match os {
        "Windows Phone OS" => "Windows Phone",
        os if os.starts_with("Windows") => "Windows",
        "Mac OSX" | "Mac OS Classic" => "macOS",
        "iPhone" | "iPad" | "iPod" | "iOS" => "iOS",
        "Android" => "Android",
        "Linux" => "Linux",
        "ChromeOS" => "ChromeOS",
        "BSD" => "BSD",
        "BlackBerry" | "BlackBerry 10" => "BlackBerry",
        "UNKNOWN" | "" => return None,
        _ => "Other",
    })
}

/// `desktop`, `mobile`, `tablet` or `other` for a person's agent.
fn device(category: &str, os: &str, user_agent: &str) -> Option<&'static str> {
    match category {
        "pc" => Some("desktop"),
        "smartphone" if os == "iPad" => Some("tablet"),
        // Android tablets leave `Mobile` out of their agent (Google's guidance).
        "smartphone" if os == "Android" && !user_agent.contains("Mobile") => Some("tablet"),
        "smartphone" | "mobilephone" => Some("mobile"),
        "appliance" => Some("other"),
        _ => None,
    }
}
