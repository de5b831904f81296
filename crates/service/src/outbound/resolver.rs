//! The outbound clients' name resolution: a name that resolves only to addresses inside
//! a network (loopback, private, link-local, …) is refused unless `ALLOW_PRIVATE_TARGETS`
//! is set, so a public name cannot be pointed at the service's own network after the
//! subscription or link was checked. Literal addresses skip it: [`super::refused_address`]
//! checks them.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use shortener_domain::AddressClass;

/// Resolves with the system's resolver, keeping only the addresses a request may reach.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PublicOnly {
    /// `ALLOW_PRIVATE_TARGETS`: keep internal addresses too.
    pub allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| reachable(addr, allow_private))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// Whether a request may go to this address: a public one, or an internal one when
/// allowed; never multicast, broadcast or reserved ones.
fn reachable(addr: &SocketAddr, allow_private: bool) -> bool {
    match AddressClass::of_address(addr.ip()) {
        None => true,
        Some(class) => allow_private && class.is_internal(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_pass_only_when_allowed_and_multicast_never() {
        let loopback: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let public: SocketAddr = "93.184.216.34:443".parse().unwrap();
        let multicast: SocketAddr = "224.0.0.1:80".parse().unwrap();
        assert!(reachable(&public, false));
        assert!(!reachable(&loopback, false));
        assert!(reachable(&loopback, true));
        assert!(!reachable(&multicast, true));
    }
}
