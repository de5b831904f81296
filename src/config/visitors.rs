//! Settings of what a click says about its visitor: the client's address behind proxies,
//! its country, and the key of the visitor ids.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use shortener_clicks::{GeoIp, OriginSettings, VisitorKey};
use shortener_domain::TrustedProxies;

/// The visitor's address, country and id.
#[derive(Clone, Args)]
pub struct VisitorArgs {
    /// Proxies whose X-Forwarded-For is believed, as comma-separated CIDR ranges or
    /// addresses: the client is the rightmost address of X-Forwarded-For that is not one
    /// of them, when the connection comes from one of them; otherwise the connection's
    /// address. Empty: no proxy is trusted.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "127.0.0.0/8,::1/128")]
    pub trusted_proxies: String,
    /// A country database in the MaxMind format (GeoLite2-Country, or a compatible file
    /// such as ip-location-db's country MMDB), read once at start. Unset or empty: every
    /// click's country is unknown.
    #[arg(long, env = "GEOIP_DB")]
    pub geoip_db: Option<PathBuf>,
    /// The secret that keys the daily visitor ids (at least 16 bytes); every replica must
    /// share it for a visitor to count once across them. Unset or empty: a random key per
    /// process, logged at start, so the same visitor counts once per replica and restart.
    #[arg(long, env = "VISITOR_KEY", hide_env_values = true)]
    pub visitor_key: Option<String>,
}

impl std::fmt::Debug for VisitorArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VisitorArgs")
            .field("trusted_proxies", &self.trusted_proxies)
            .field("geoip_db", &self.geoip_db)
            .field("visitor_key", &self.visitor_key.as_ref().map(|_| ".."))
            .finish()
    }
}

impl VisitorArgs {
    /// The trusted proxies; the error is one line naming the bad entry.
    pub fn trusted_proxies(&self) -> Result<TrustedProxies, String> {
        TrustedProxies::parse(&self.trusted_proxies).map_err(|error| error.to_string())
    }

    /// The country database (opened now) and the visitor key; the error is one line.
    pub fn origins(&self) -> Result<OriginSettings, String> {
        let geoip = match self
            .geoip_db
            .as_ref()
            .filter(|path| !path.as_os_str().is_empty())
        {
            Some(path) => Some(Arc::new(GeoIp::open(path)?)),
            None => None,
        };
        let (visitor_key, key_generated) = match self.visitor_key.as_deref() {
            Some(text) if !text.is_empty() => (VisitorKey::parse(text)?, false),
            _ => (VisitorKey::generate(), true),
        };
        Ok(OriginSettings {
            geoip,
            visitor_key,
            key_generated,
        })
    }
}
