//! Who may call the API and where links may point: API keys, the destination blocklist
//! and the service's own hosts.

use std::fmt;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args};

use shortener_domain::{ApiKeys, LinkPolicy, Scope};
use shortener_server::blocklist_file::BlocklistFile;
use shortener_service::quota::CreateQuotaSettings;

/// Access control and link safety.
#[derive(Debug, Clone, Args)]
pub struct AccessArgs {
    /// Comma-separated API keys, each with every scope. A replica with no key here or in
    /// API_KEYS_FILE refuses to start unless ALLOW_OPEN_API is true.
    #[arg(long, env = "API_KEYS", hide_env_values = true)]
    pub api_keys: Option<Secret>,
    /// A file of scoped keys, one `name scope sha256:<hex>` per line (`shortener api-key`
    /// makes them); scopes are read, write and admin, each including the ones before it.
    #[arg(long, env = "API_KEYS_FILE")]
    pub api_keys_file: Option<PathBuf>,
    /// Lets a replica with no API key start with the API open to anyone: for development
    /// only. Without it, no key in API_KEYS or API_KEYS_FILE is a start-up error.
    #[arg(long, env = "ALLOW_OPEN_API", default_value_t = false, action = ArgAction::Set,
        value_parser = BoolishValueParser::new())]
    pub allow_open_api: bool,
    /// Comma-separated domains (each with its subdomains), IPs (in any spelling, IPv4
    /// ones in their IPv6 forms too) and CIDR ranges (`10.0.0.0/8`, `2001:db8::/32`) that
    /// links may not point to.
    #[arg(long, env = "BLOCKED_DOMAINS")]
    pub blocked_domains: Option<String>,
    /// A file of blocked domains, IPs and CIDR ranges, one per line (`#` starts a
    /// comment), added to BLOCKED_DOMAINS. Read again every second: a change applies to
    /// creates, edits and redirects (a link it blocks answers 410); a bad one is logged
    /// and the list in force kept. Replace it whole (write, then rename).
    #[arg(long, env = "BLOCKED_DOMAINS_FILE")]
    pub blocked_domains_file: Option<PathBuf>,
    /// Lets links point at loopback, private (RFC 1918, fc00::/7), link-local,
    /// carrier-grade NAT and unspecified addresses and at `localhost` names: for an
    /// intranet deployment; webhooks may then be delivered to such addresses too. Off, such
    /// links and webhooks are refused. Multicast, broadcast and reserved addresses and URLs
    /// with user info are refused either way.
    #[arg(long, env = "ALLOW_PRIVATE_TARGETS", default_value_t = false, action = ArgAction::Set,
        value_parser = BoolishValueParser::new())]
    pub allow_private_targets: bool,
    /// Comma-separated hosts (`host` for any port, or `host:port`) this service answers
    /// at; links to them are refused as loops, as are links to the Host a request came in on.
    #[arg(long, env = "PUBLIC_HOSTS")]
    pub public_hosts: Option<String>,
    /// Creates (POST) each API key may make per second, per replica; 0: no limit. Over
    /// it the answer is 429 with Retry-After. Requests without a key (an open API) are not
    /// limited here.
    #[arg(long, env = "CREATE_RATE_PER_KEY", default_value_t = 50)]
    pub create_rate_per_key: u32,
    /// Creates a key may make at once above that rate (the bucket's size).
    #[arg(long, env = "CREATE_BURST_PER_KEY", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    pub create_burst_per_key: u32,
}

impl AccessArgs {
    /// The configured keys, reading API_KEYS_FILE; the error is one line naming the problem.
    /// No key at all is an error unless ALLOW_OPEN_API is set: the API is closed by default.
    pub fn api_keys(&self) -> Result<ApiKeys, String> {
        let file = self
            .api_keys_file
            .as_deref()
            .map(|path| read("API_KEYS_FILE", path))
            .transpose()?;
        let keys = ApiKeys::from_config(
            self.api_keys.as_ref().map(|secret| secret.0.as_str()),
            file.as_deref(),
        )
        .map_err(|error| error.to_string())?;
        if keys.is_open() && !self.allow_open_api {
            return Err(NO_KEY.to_owned());
        }
        Ok(keys)
    }

    /// The per-key create quota, or `None` when CREATE_RATE_PER_KEY is 0.
    pub fn create_quota(&self) -> Option<CreateQuotaSettings> {
        Some(CreateQuotaSettings::per_second(
            NonZeroU32::new(self.create_rate_per_key)?,
            NonZeroU32::new(self.create_burst_per_key)?,
        ))
    }

    /// The link policy to start with, reading BLOCKED_DOMAINS_FILE, and the file to
    /// watch for changes.
    pub fn link_policy(&self) -> Result<(LinkPolicy, Option<BlocklistFile>), String> {
        let listed = self.blocked_domains.as_deref().unwrap_or("").split(',');
        let own = self.public_hosts.as_deref().unwrap_or("").split(',');
        let base = LinkPolicy::new(listed, own)
            .map_err(|error| error.to_string())?
            .allowing_private_targets(self.allow_private_targets);
        match &self.blocked_domains_file {
            None => Ok((base, None)),
            Some(path) => {
                let (policy, file) = BlocklistFile::open(path.clone(), base)?;
                Ok((policy, Some(file)))
            }
        }
    }
}

/// Why a replica with no key does not start.
const NO_KEY: &str = "no API key configured: set API_KEYS or API_KEYS_FILE (`shortener api-key` \
    makes one), or ALLOW_OPEN_API=true to run the API open to anyone (development only)";

fn read(setting: &str, path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map_err(|error| format!("{setting}: cannot read {}: {error}", path.display()))
}

/// A setting that must never reach a log: `Debug` shows only that it is set.
#[derive(Clone)]
pub struct Secret(String);

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Ok(Self(raw.to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Settings of `api-key`.
#[derive(Debug, Clone, Args)]
pub struct ApiKeyArgs {
    /// The key's name in logs: 1 to 64 letters, digits, '-', '_' or '.'.
    #[arg(long, value_parser = super::parse_label)]
    pub name: String,
    /// What it may do: read, write (includes read) or admin (includes both).
    #[arg(long, value_parser = parse_scope, default_value = "write")]
    pub scope: Scope,
}

fn parse_scope(name: &str) -> Result<Scope, String> {
    Scope::from_name(name).ok_or_else(|| "one of read, write, admin".to_owned())
}
