//! Classification of real user agents, from the named clients' public documentation.

use super::*;

fn click(user_agent: &str, intent: Intent) -> Click {
    Click {
        url_id: 1,
        user_agent: Some(user_agent.to_owned()).filter(|ua| !ua.is_empty()),
        intent,
        ..Click::default()
    }
}

fn class_and_reason(user_agent: &str) -> (TrafficClass, &'static str) {
    let traits = Classifier::default().classify(&click(user_agent, Intent::Visit));
    (traits.class, traits.reason)
}

const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

/// Link unfurlers, as each app documents (or is seen to send) its agent.
const PREVIEWS: &[(&str, &str)] = &[
    (
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "unfurler:slack",
    ),
    (
        "Slack-ImgProxy (+https://api.slack.com/robots)",
        "unfurler:slack",
    ),
    (
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "unfurler:facebook",
    ),
    ("facebookexternalhit/1.1", "unfurler:facebook"),
    ("Twitterbot/1.0", "unfurler:twitter"),
    (
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "unfurler:discord",
    ),
    ("WhatsApp/2.23.20.0 A", "unfurler:whatsapp"),
    ("WhatsApp/2.21.12.21 i", "unfurler:whatsapp"),
    ("TelegramBot (like TwitterBot)", "unfurler:telegram"),
    (
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "unfurler:linkedin",
    ),
    (
        "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com",
        "unfurler:skype",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
        "unfurler:imessage",
    ),
    (
        "Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)",
        "unfurler:reddit",
    ),
    (
        "http.rb/5.1.1 (Mastodon/4.1.2; +https://mastodon.social/)",
        "unfurler:mastodon",
    ),
    (
        "Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)",
        "unfurler:embedly",
    ),
];

/// Crawlers, scripts and monitors.
const BOTS: &[&str] = &[
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.129 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
    "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
    "curl/8.5.0",
    "Wget/1.21.4",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "k6/0.49.0 (https://k6.io/)",
];

/// People's browsers: (agent, browser, OS, device).
const PEOPLE: &[(&str, &str, &str, &str)] = &[
    (CHROME_WINDOWS, "Chrome", "Windows", "desktop"),
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        "Firefox",
        "Linux",
        "desktop",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
        "Safari",
        "macOS",
        "desktop",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
        "Safari",
        "iOS",
        "mobile",
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
        "Safari",
        "iOS",
        "tablet",
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
        "Chrome",
        "Android",
        "mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "Chrome",
        "Android",
        "tablet",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
        "Samsung Internet",
        "Android",
        "mobile",
    ),
    (
        "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
        "Firefox",
        "Android",
        "mobile",
    ),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "Chrome",
        "ChromeOS",
        "desktop",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0",
        "Opera",
        "Windows",
        "desktop",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
        "Firefox",
        "Windows",
        "desktop",
    ),
];

#[test]
fn link_unfurlers_are_previews_with_the_app_named() {
    for (user_agent, reason) in PREVIEWS {
        assert_eq!(
            class_and_reason(user_agent),
            (TrafficClass::Preview, *reason),
            "{user_agent}"
        );
    }
}

#[test]
fn crawlers_scripts_and_monitors_are_bots() {
    for user_agent in BOTS {
        assert_eq!(
            class_and_reason(user_agent),
            (TrafficClass::Bot, "crawler"),
            "{user_agent}"
        );
    }
}

#[test]
fn no_user_agent_is_a_bot() {
    assert_eq!(class_and_reason(""), (TrafficClass::Bot, "no_user_agent"));
}

#[test]
fn browsers_are_people_with_browser_os_and_device() {
    let classifier = Classifier::default();
    for (user_agent, browser, os, device) in PEOPLE {
        let traits = classifier.classify(&click(user_agent, Intent::Visit));
        assert_eq!(
            (traits.class, traits.reason),
            (TrafficClass::Human, "browser"),
            "{user_agent}"
        );
        assert_eq!(
            (traits.browser, traits.os, traits.device),
            (Some(*browser), Some(*os), Some(*device)),
            "{user_agent}"
        );
    }
}

#[test]
fn head_and_prefetch_are_previews_whatever_the_agent() {
    let classifier = Classifier::default();
    let head = classifier.classify(&click(CHROME_WINDOWS, Intent::Check));
    assert_eq!((head.class, head.reason), (TrafficClass::Preview, "head"));
    let prefetch = classifier.classify(&click(CHROME_WINDOWS, Intent::Prefetch));
    assert_eq!(
        (prefetch.class, prefetch.reason),
        (TrafficClass::Preview, "prefetch")
    );
    // The agent's own traits stay: a prefetching browser is still that browser.
    assert_eq!(prefetch.browser, Some("Chrome"));
}

#[test]
fn a_batch_classifies_each_click_as_alone() {
    let clicks: Vec<Click> = PREVIEWS
        .iter()
        .map(|(ua, _)| *ua)
        .chain(BOTS.iter().copied())
        .chain(PEOPLE.iter().map(|p| p.0))
        .chain([CHROME_WINDOWS, ""])
        .map(|ua| click(ua, Intent::Visit))
        .collect();
    let classifier = Classifier::default();
    let batch = classifier.classify_all(&clicks);
    let alone: Vec<_> = clicks.iter().map(|c| classifier.classify(c)).collect();
    assert_eq!(batch, alone);
    assert!(clicks.len() >= 40);
}

#[test]
fn the_language_is_the_preferred_primary_subtag() {
    assert_eq!(language("en-US,en;q=0.9,fr;q=0.8").as_deref(), Some("en"));
    assert_eq!(language("fr;q=0.5, de-CH;q=0.9").as_deref(), Some("de"));
    assert_eq!(language("*;q=1, PT-br").as_deref(), Some("pt"));
    assert_eq!(language("es;q=0").as_deref(), None);
    assert_eq!(language("x;q=1, 12, toolongtag").as_deref(), None);
    assert_eq!(language("").as_deref(), None);
}

#[test]
fn the_referrer_host_is_lower_case_without_www() {
    assert_eq!(
        referrer_host("https://WWW.Example.com/path?utm_source=x").as_deref(),
        Some("example.com")
    );
    assert_eq!(
        referrer_host("android-app://com.slack/").as_deref(),
        Some("com.slack")
    );
    assert_eq!(referrer_host("not a url").as_deref(), None);
    assert_eq!(referrer_host("mailto:a@b.c").as_deref(), None);
}

/// Every browser and OS family the classifier names is one a targeting rule can name
/// (`shortener_domain::BROWSER_NAMES`, `OS_NAMES`), compared as the rules compare them.
#[test]
fn every_name_a_visitor_gets_is_one_a_rule_can_name() {
    let folded = shortener_domain::folded_name;
    let known = |name: &str, names: &[&str]| names.iter().any(|n| folded(n) == folded(name));
    for (_, shown) in super::agent::BROWSERS {
        assert!(known(shown, shortener_domain::BROWSER_NAMES), "{shown}");
    }
    for os in [
        "Windows 10",
        "Windows Phone OS",
        "Mac OSX",
        "iPhone",
        "iPad",
        "Android",
        "Linux",
        "ChromeOS",
        "BSD",
        "BlackBerry",
    ] {
        let family = super::agent::os_family(os).unwrap();
        assert!(known(family, shortener_domain::OS_NAMES), "{os}: {family}");
    }
    for user_agent in [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    ] {
        let device = Classifier::default().agent(user_agent).device.unwrap();
        assert!(shortener_domain::DEVICE_NAMES.contains(&device), "{device}");
    }
}
