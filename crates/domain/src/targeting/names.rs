//! The names a rule may match a visitor by: the device classes, OS families and browsers
//! the click classifier names (`shortener_clicks::classify`, whose tests hold it to these
//! lists), and the visitor's preferred language.

/// Device classes a rule may name.
pub const DEVICE_NAMES: &[&str] = &["mobile", "tablet", "desktop"];

/// OS families a rule may name, in lower case (compared without spaces or case).
pub const OS_NAMES: &[&str] = &[
    "android",
    "blackberry",
    "bsd",
    "chromeos",
    "ios",
    "linux",
    "macos",
    "windows",
    "windows phone",
];

/// Browsers a rule may name, in lower case (compared without spaces or case).
pub const BROWSER_NAMES: &[&str] = &[
    "chrome",
    "edge",
    "firefox",
    "google app",
    "internet explorer",
    "opera",
    "safari",
    "samsung internet",
    "vivaldi",
    "webview",
    "yandex browser",
];

/// A name as compared: its ASCII letters and digits, in lower case (`Windows Phone`,
/// `windows-phone` and `windowsphone` are one).
pub fn folded(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The entry of `known` that `name` folds to.
pub(super) fn known_name(name: &str, known: &[&'static str]) -> Option<&'static str> {
    let name = folded(name);
    known.iter().copied().find(|known| folded(known) == name)
}

/// The language tag of the `Accept-Language` entry with the highest weight (the first of
/// equals), in lower case; `*` and entries whose primary subtag is not two or three
/// letters are skipped, and so are weights of 0.
pub fn preferred_language(accept_language: &str) -> Option<String> {
    let mut best: Option<(f32, &str)> = None;
    for entry in accept_language.split(',') {
        let mut parts = entry.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let weight = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok());
        let primary = tag.split('-').next().unwrap_or("");
        let valid =
            (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic());
        match weight {
            Some(weight) if valid && weight > 0.0 && best.is_none_or(|(w, _)| weight > w) => {
                best = Some((weight, tag));
            }
            _ => {}
        }
    }
    best.map(|(_, tag)| tag.to_ascii_lowercase())
}
