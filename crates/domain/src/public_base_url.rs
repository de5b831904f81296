//! The address the public reaches the service at (`PUBLIC_BASE_URL`): what a short URL is
//! made of, for the QR code of a link.

use url::Url;

/// An absolute http(s) URL with a host, no user info, query or fragment, kept without a
/// trailing `/`; a short URL is it, `/`, and the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicBaseUrl(String);

/// Why a text is not a public base URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "PUBLIC_BASE_URL: {0:?} must be an absolute http(s) URL with a host and no user, query or fragment, e.g. https://sho.rt"
)]
pub struct PublicBaseUrlError(pub String);

impl PublicBaseUrl {
    pub fn parse(raw: &str) -> Result<Self, PublicBaseUrlError> {
        let refused = || PublicBaseUrlError(raw.to_owned());
        let url = Url::parse(raw.trim()).map_err(|_| refused())?;
        let fits = matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some_and(|host| !host.is_empty())
            && url.username().is_empty()
            && url.password().is_none()
            && url.query().is_none()
            && url.fragment().is_none();
        if !fits {
            return Err(refused());
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }

    /// The base seen through a request's `Host` (no setting): plain http, as a client on
    /// the same network as the service would reach it.
    pub fn of_host(host: &str) -> Self {
        Self(format!("http://{host}"))
    }

    /// The short URL of `code`.
    pub fn short_url(&self, code: &str) -> String {
        format!("{}/{code}", self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_is_kept_without_its_trailing_slash_and_names_short_urls() {
        let base = PublicBaseUrl::parse("https://sho.rt/").unwrap();
        assert_eq!(base.short_url("abc1234"), "https://sho.rt/abc1234");
        let under = PublicBaseUrl::parse("https://example.com/s").unwrap();
        assert_eq!(under.short_url("x"), "https://example.com/s/x");
        assert_eq!(
            PublicBaseUrl::of_host("127.0.0.1:8080").short_url("x"),
            "http://127.0.0.1:8080/x"
        );
    }

    #[test]
    fn anything_but_a_plain_http_base_is_refused() {
        for bad in [
            "",
            "sho.rt",
            "ftp://sho.rt",
            "https://user@sho.rt",
            "https://sho.rt/?q=1",
            "https://sho.rt/#top",
            "mailto:a@b.c",
        ] {
            assert!(PublicBaseUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
