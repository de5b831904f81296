//! What the service's outbound HTTP clients (webhook deliveries, destination checks)
//! share: rustls on the system's roots, no proxy, the resolver's rule on internal
//! addresses, the same rule for URLs given as addresses, and errors told in a few words.

mod resolver;

use std::sync::Arc;
use std::time::Duration;

use reqwest::redirect::Policy;

use resolver::PublicOnly;
use shortener_domain::AddressClass;

/// An outbound client: `timeout` for a whole request, `user_agent`, redirects as `policy`
/// has them, and internal addresses reachable only with `allow_private`.
pub(crate) fn client(
    timeout: Duration,
    allow_private: bool,
    user_agent: &str,
    policy: Policy,
) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(policy)
        // A proxy would resolve the name itself, past the resolver's rule.
        .no_proxy()
        .user_agent(user_agent)
        .dns_resolver(Arc::new(PublicOnly { allow_private }))
        .tls_backend_preconfigured(tls_config()?)
        .build()
        .map_err(|error| format!("cannot build the {user_agent} client: {error}"))
}

/// Why a URL given as an address may not be requested (ALLOW_PRIVATE_TARGETS may have
/// been turned off since it was accepted); `None` for a name or a public address.
pub(crate) fn refused_address(url: &str, allow_private: bool) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    refused_host(&url, allow_private)
}

/// As [`refused_address`], for a parsed URL (a redirect's next hop).
pub(crate) fn refused_host(url: &reqwest::Url, allow_private: bool) -> Option<String> {
    let host = url.host_str()?;
    let address: std::net::IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    let class = AddressClass::of_address(address)?;
    (!(allow_private && class.is_internal())).then(|| format!("{address} is not a public address"))
}

/// A client error in a few words, with its cause (the timeout, the refused connection).
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_redirect() {
        "redirect refused"
    } else {
        "request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        cause = inner.to_string();
        source = inner.source();
    }
    if cause.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {cause}")
    }
}

/// rustls on ring (the provider the database client already brings) with the system's
/// root certificates.
fn tls_config() -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        tracing::warn!("no system root certificates found: requests to https:// URLs will fail");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("cannot set up TLS: {error}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_address_is_refused_unless_allowed_and_names_are_left_to_the_resolver() {
        assert!(refused_address("http://127.0.0.1:8080/hook", false).is_some());
        assert!(refused_address("http://[::1]/hook", false).is_some());
        assert_eq!(refused_address("http://127.0.0.1:8080/hook", true), None);
        assert!(refused_address("http://224.0.0.1/hook", true).is_some());
        assert_eq!(refused_address("https://93.184.216.34/hook", false), None);
        assert_eq!(refused_address("http://localhost/hook", false), None);
    }
}
