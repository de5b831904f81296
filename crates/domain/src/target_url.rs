//! The destination of a short link: an absolute http(s) URL with a host.

use url::Url;

/// Longest destination accepted, in characters.
pub const MAX_URL_CHARS: usize = 2048;

/// Destinations the published schema describes: http(s), a host name of letters and
/// digits ending in an alphabetic top-level label, an optional port, path, query and
/// fragment of URL characters. Every such URL of at most [`MAX_URL_CHARS`] characters is
/// accepted (by the default [`crate::LinkPolicy`] too); the parser takes far more (public
/// IP hosts, any non-ASCII text), which a pattern cannot state exactly. The top-level
/// label must not be numeric (WHATWG URL parsing would read such a host as an IPv4
/// address), and labels have no `-`, which leaves out the `xn--` punycode labels the
/// parser would check. The top-level label has any length but nine letters, which leaves
/// out `localhost` (refused as a loopback name) in a pattern without look-ahead.
pub const TARGET_URL_PATTERN: &str = concat!(
    r"^https?://(?:[A-Za-z0-9]{1,63}\.)+(?:[A-Za-z]{2,8}|[A-Za-z]{10,63})(?::[0-9]{1,4})?",
    r"(?:/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?",
    r"(?:\?[A-Za-z0-9._~!$&'()*+,;=:@/?-]*)?",
    r"(?:#[A-Za-z0-9._~!$&'()*+,;=:@/?-]*)?$",
);

/// An absolute `http`/`https` URL with a host and no user info, at most 2048 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUrl(String);

impl TargetUrl {
    /// Parses a destination; the error says what is wrong for the client.
    pub fn parse(raw: &str) -> Result<Self, TargetUrlError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(TargetUrlError::Empty);
        }
        if trimmed.chars().count() > MAX_URL_CHARS {
            return Err(TargetUrlError::TooLong);
        }
        // The URL parser would silently drop tabs and newlines; a URL holding them (or
        // spaces) is not what the client meant, and could not go into a Location header.
        if trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(TargetUrlError::Whitespace);
        }
        let parsed = Url::parse(trimmed).map_err(|_| TargetUrlError::NotAbsolute)?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(TargetUrlError::Scheme);
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(TargetUrlError::NoHost);
        }
        // `https://paypal.com@evil.example/` goes to evil.example: user info only serves
        // to disguise the host. An empty one (`https://@evil.example/`) leaves no trace in
        // the parsed URL, so the authority as written is checked too.
        if !parsed.username().is_empty()
            || parsed.password().is_some()
            || authority_as_written(trimmed).contains('@')
        {
            return Err(TargetUrlError::UserInfo);
        }
        // Keep the client's spelling: a redirect should go exactly where they asked.
        Ok(Self(trimmed.to_owned()))
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form of a stored URL that can go into a `Location` header: as stored when it
    /// is ASCII, else with the host in punycode and the rest percent-encoded.
    pub fn for_location(stored: &str) -> std::borrow::Cow<'_, str> {
        if stored.is_ascii() {
            return stored.into();
        }
        match Url::parse(stored) {
            Ok(url) => String::from(url).into(),
            Err(_) => stored.into(),
        }
    }
}

/// Why a text is not a destination URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TargetUrlError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {MAX_URL_CHARS} characters")]
    TooLong,
    #[error("must not contain spaces or control characters")]
    Whitespace,
    #[error("must be an absolute http(s) URL, e.g. https://example.com/page")]
    NotAbsolute,
    #[error("must use the http or https scheme")]
    Scheme,
    #[error("must have a host")]
    NoHost,
    #[error("must not contain a user name or password (user@host)")]
    UserInfo,
}

/// The authority of an http(s) URL as written: after the scheme and any slashes, up to
/// the path, query or fragment (WHATWG parsing takes `\` for `/` in these schemes).
fn authority_as_written(url: &str) -> &str {
    let rest = url.split_once(':').map_or(url, |(_, rest)| rest);
    let rest = rest.trim_start_matches(['/', '\\']);
    rest.split(['/', '\\', '?', '#']).next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_and_https_with_host() {
        for good in [
            "https://example.com",
            "http://a.b/c?d=e#f",
            "https://x.io:8443/p",
        ] {
            assert_eq!(TargetUrl::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn rejects_relative_other_schemes_and_overlong() {
        let long = format!("https://e.com/{}", "a".repeat(2048));
        for bad in [
            "hello",
            "javascript:alert(1)",
            "ftp://e.com",
            "/path",
            "http://",
            "",
            long.as_str(),
        ] {
            assert!(TargetUrl::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn rejects_user_info_in_every_spelling() {
        for bad in [
            "https://paypal.com@evil.example/",
            "https://user:pw@x.example/",
            "https://user:@x.example/",
            "https://:pw@x.example/",
            "https://@x.example/",
            "http:user@x.example/",
            "http:\\\\user@x.example/",
            "HTTPS://a%40b@x.example/",
            "https://x.example@10.0.0.1:8080/",
        ] {
            assert_eq!(
                TargetUrl::parse(bad),
                Err(TargetUrlError::UserInfo),
                "{bad:?}"
            );
        }
        for good in [
            "https://x.example/@user",
            "https://x.example/p?who=a@b",
            "https://x.example/#@top",
            "https://x.example\\@user",
        ] {
            assert!(TargetUrl::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn location_form_is_ascii() {
        assert_eq!(
            TargetUrl::for_location("https://e.com/a?b=c"),
            "https://e.com/a?b=c"
        );
        assert_eq!(
            TargetUrl::for_location("https://bücher.example/ü"),
            "https://xn--bcher-kva.example/%C3%BC"
        );
    }
}
