//! Link unfurlers: the chat and social apps that fetch a link to draw its preview card.
//! Neither people nor crawlers, so they get a class of their own. Each entry is a piece
//! of the user agent (matched in lower case) and the app's name in the click's reason.

/// `(what the user agent contains, the app)`, in the order they are tried: Apple's
/// Messages sends `facebookexternalhit` and `Twitterbot` inside a Safari agent, so it
/// is told apart before either.
const UNFURLERS: &[(&str, &str)] = &[
    ("slackbot-linkexpanding", "slack"),
    ("slack-imgproxy", "slack"),
    ("discordbot", "discord"),
    ("telegrambot", "telegram"),
    ("whatsapp", "whatsapp"),
    ("linkedinbot", "linkedin"),
    ("skypeuripreview", "skype"),
    ("microsoftpreview", "teams"),
    ("redditbot", "reddit"),
    ("mastodon", "mastodon"),
    ("embedly", "embedly"),
    ("iframely", "iframely"),
    ("viber", "viber"),
    ("snapchat", "snapchat"),
    ("pinterest/", "pinterest"),
    ("google-pagerenderer", "google"),
    ("vkshare", "vk"),
    ("facebookexternalhit", "facebook"),
    ("facebookcatalog", "facebook"),
    ("twitterbot", "twitter"),
];

/// The reason of a preview by `app`.
fn reason(app: &str) -> &'static str {
    match app {
        "slack" => "unfurler:slack",
        "discord" => "unfurler:discord",
        "telegram" => "unfurler:telegram",
        "whatsapp" => "unfurler:whatsapp",
        "linkedin" => "unfurler:linkedin",
        "skype" => "unfurler:skype",
        "teams" => "unfurler:teams",
        "reddit" => "unfurler:reddit",
        "mastodon" => "unfurler:mastodon",
        "embedly" => "unfurler:embedly",
        "iframely" => "unfurler:iframely",
        "viber" => "unfurler:viber",
        "snapchat" => "unfurler:snapchat",
        "pinterest" => "unfurler:pinterest",
        "google" => "unfurler:google",
        "vk" => "unfurler:vk",
        "facebook" => "unfurler:facebook",
        "twitter" => "unfurler:twitter",
        "imessage" => "unfurler:imessage",
        _ => "unfurler",
    }
}

/// The reason, when `lower` (a user agent in lower case) is a link unfurler's.
pub(super) fn unfurler(lower: &str) -> Option<&'static str> {
    if is_imessage(lower) {
        return Some(reason("imessage"));
    }
    UNFURLERS
        .iter()
        .find(|(needle, _)| lower.contains(needle))
        .map(|(_, app)| reason(app))
}

/// Messages on iOS and macOS: a Safari agent that also names Facebook's and Twitter's
/// unfurlers.
fn is_imessage(lower: &str) -> bool {
    lower.contains("facebookexternalhit")
        && lower.contains("twitterbot")
        && lower.contains("safari/")
}
