//! Link unfurlers: the chat and social apps that fetch a link to draw its preview card.
//! Neither people nor crawlers, so they get a class of their own. Each entry is a piece
//! of the user agent (matched in lower case) and the click's reason, naming the app.

/// `(what the user agent contains, the click's reason)`, in the order they are tried:
/// Apple's Messages sends `facebookexternalhit` and `Twitterbot` inside a Safari agent,
/// so it is told apart before either.
const UNFURLERS: &[(&str, &str)] = &[
    ("slackbot-linkexpanding", "unfurler:slack"),
    ("slack-imgproxy", "unfurler:slack"),
    ("discordbot", "unfurler:discord"),
    ("telegrambot", "unfurler:telegram"),
    ("whatsapp", "unfurler:whatsapp"),
    ("linkedinbot", "unfurler:linkedin"),
    ("skypeuripreview", "unfurler:skype"),
    ("microsoftpreview", "unfurler:teams"),
    ("redditbot", "unfurler:reddit"),
    ("mastodon", "unfurler:mastodon"),
    ("embedly", "unfurler:embedly"),
    ("iframely", "unfurler:iframely"),
    ("viber", "unfurler:viber"),
    ("snapchat", "unfurler:snapchat"),
    ("pinterest/", "unfurler:pinterest"),
    ("google-pagerenderer", "unfurler:google"),
    ("vkshare", "unfurler:vk"),
    ("facebookexternalhit", "unfurler:facebook"),
    ("facebookcatalog", "unfurler:facebook"),
    ("twitterbot", "unfurler:twitter"),
];

/// The reason, when `lower` (a user agent in lower case) is a link unfurler's.
pub(super) fn unfurler(lower: &str) -> Option<&'static str> {
    if is_imessage(lower) {
        return Some("unfurler:imessage");
    }
    UNFURLERS
        .iter()
        .find(|(needle, _)| lower.contains(needle))
        .map(|&(_, reason)| reason)
}

/// Messages on iOS and macOS: a Safari agent that also names Facebook's and Twitter's
/// unfurlers.
fn is_imessage(lower: &str) -> bool {
    lower.contains("facebookexternalhit")
        && lower.contains("twitterbot")
        && lower.contains("safari/")
}
