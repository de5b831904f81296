//! Where a click came from, without keeping where: the intake turns the client's address
//! into a country (`GEOIP_DB`) and the day's visitor id, then drops the address, so it is
//! in no batch, spill, event or rollup.
//!
//! A visitor id is HMAC-SHA256 of (address, link, user agent) under the day's key, itself
//! HMAC-SHA256 of the UTC day under `VISITOR_KEY`: the same person on the same link is one
//! id all day on every replica that shares the key; the next day's id has nothing in
//! common with it; and without the key no id can be recomputed from an address.
//!
//! A visitor's place in a link's split is HMAC-SHA256 under `VISITOR_KEY` of a label of
//! its own (so it is never a visitor id) and (address, link, user agent): the same every
//! day, so a visitor keeps
//! their variant, on every replica that shares the key; it is used for the choice and
//! kept nowhere.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use shortener_domain::{AddressClass, Click};

type HmacSha256 = Hmac<Sha256>;

/// Shortest `VISITOR_KEY` taken, in bytes.
pub const MIN_VISITOR_KEY_BYTES: usize = 16;

/// A country database in the MaxMind format: GeoLite2-Country, or one with a top-level
/// `country_code` such as the ip-location-db country files.
pub struct GeoIp {
    reader: maxminddb::Reader<Vec<u8>>,
}

/// The two shapes of record read for a country.
#[derive(Deserialize)]
struct CountryRecord<'a> {
    #[serde(borrow, default)]
    country_code: Option<&'a str>,
    #[serde(borrow, default)]
    country: Option<Country<'a>>,
}

#[derive(Deserialize)]
struct Country<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

impl GeoIp {
    /// Opens the database at `path`; the error is one line naming it.
    pub fn open(path: &Path) -> Result<Self, String> {
        let reader = maxminddb::Reader::open_readfile(path)
            .map_err(|error| format!("GEOIP_DB {}: {error}", path.display()))?;
        Ok(Self { reader })
    }

    /// What the database is (its `database_type`).
    pub fn kind(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// The country of `address` (ISO 3166-1 alpha-2, upper case), when the database
    /// knows it; never for an address inside a network (loopback, private, …), which
    /// some databases attribute to the registry's country.
    pub fn country(&self, address: IpAddr) -> Option<String> {
        let address = canonical(address);
        if AddressClass::of_address(address).is_some() {
            return None;
        }
        let found = self.reader.lookup(address).ok()?;
        let record: CountryRecord<'_> = found.decode().ok()??;
        let code = record
            .country_code
            .or(record.country.and_then(|country| country.iso_code))?;
        (code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()))
            .then(|| code.to_ascii_uppercase())
    }
}

impl fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeoIp")
            .field("kind", &self.kind())
            .finish_non_exhaustive()
    }
}

/// `VISITOR_KEY`: never shown, not even in `Debug`.
#[derive(Clone)]
pub struct VisitorKey(Arc<[u8]>);

impl VisitorKey {
    /// A key from its setting: at least [`MIN_VISITOR_KEY_BYTES`] bytes.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() < MIN_VISITOR_KEY_BYTES {
            return Err(format!(
                "VISITOR_KEY must be at least {MIN_VISITOR_KEY_BYTES} bytes long"
            ));
        }
        Ok(Self(text.as_bytes().into()))
    }

    /// A random key, for a replica started without one: its visitor ids match no other
    /// replica's, nor its own after a restart.
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::random();
        Self(bytes.as_slice().into())
    }

    /// A visitor's place in link `url_id`'s split: a number spread evenly over `u64`,
    /// the same for the same address and user agent on every day and every replica with
    /// this key. Without an address (a request with no peer), by the user agent alone.
    pub fn split_point(&self, address: Option<IpAddr>, url_id: i64, user_agent: &str) -> u64 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(b"shortener split ");
        if let Some(address) = address {
            mac.update(&mapped_octets(canonical(address)));
        }
        mac.update(&url_id.to_le_bytes());
        mac.update(user_agent.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut point = [0u8; 8];
        point.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(point)
    }

    fn day_mac(&self, day: NaiveDate) -> HmacSha256 {
        let mut day_key = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key");
        day_key.update(b"shortener visitor day ");
        day_key.update(day.to_string().as_bytes());
        let day_key = day_key.finalize().into_bytes();
        HmacSha256::new_from_slice(&day_key).expect("HMAC takes any key")
    }
}

impl fmt::Debug for VisitorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VisitorKey(..)")
    }
}

/// What the intake needs to place a click.
#[derive(Debug, Clone)]
pub struct OriginSettings {
    /// `GEOIP_DB` (`None`: every country unknown).
    pub geoip: Option<Arc<GeoIp>>,
    pub visitor_key: VisitorKey,
    /// The key was generated at start (`VISITOR_KEY` unset), which the replica says.
    pub key_generated: bool,
}

impl Default for OriginSettings {
    fn default() -> Self {
        Self {
            geoip: None,
            visitor_key: VisitorKey::generate(),
            key_generated: true,
        }
    }
}

/// The intake's side: the settings and the current day's keyed hash, ready to clone.
pub(crate) struct Origins {
    settings: OriginSettings,
    day: Option<(NaiveDate, HmacSha256)>,
}

impl Origins {
    pub(crate) fn new(settings: OriginSettings) -> Self {
        Self {
            settings,
            day: None,
        }
    }

    /// Sets the click's country and visitor id from `address`, which is then forgotten.
    pub(crate) fn place(&mut self, click: &mut Click, address: IpAddr) {
        let address = canonical(address);
        click.country = self
            .settings
            .geoip
            .as_ref()
            .and_then(|geoip| geoip.country(address));
        click.visitor = Some(self.visitor(click, address));
    }

    fn visitor(&mut self, click: &Click, address: IpAddr) -> i64 {
        let day = click.at.date_naive();
        let mac = match &self.day {
            Some((known, mac)) if *known == day => mac,
            _ => {
                let mac = self.settings.visitor_key.day_mac(day);
                &self.day.insert((day, mac)).1
            }
        };
        let mut mac = mac.clone();
        mac.update(&mapped_octets(address));
        mac.update(&click.url_id.to_le_bytes());
        mac.update(click.user_agent.as_deref().unwrap_or("").as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        i64::from_le_bytes(id)
    }
}

/// The address as 16 octets (an IPv4 one mapped into IPv6).
fn mapped_octets(address: IpAddr) -> [u8; 16] {
    match address {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// An IPv4 address written as IPv6 (`::ffff:a.b.c.d`) is that IPv4 address.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn click(day: u32, user_agent: &str) -> Click {
        Click {
            url_id: 42,
            at: Utc.with_ymd_and_hms(2026, 12, day, 12, 0, 0).unwrap(),
            user_agent: Some(user_agent.to_owned()),
            ..Click::default()
        }
    }

    fn visitor(origins: &mut Origins, click: &Click, address: &str) -> i64 {
        let mut click = click.clone();
        origins.place(&mut click, address.parse().unwrap());
        click.visitor.unwrap()
    }

    fn origins(key: &str) -> Origins {
        Origins::new(OriginSettings {
            geoip: None,
            visitor_key: VisitorKey::parse(key).unwrap(),
            key_generated: false,
        })
    }

    #[test]
    fn one_person_is_one_visitor_a_day_under_one_key() {
        let (mut a, mut b) = (
            origins("a shared visitor key"),
            origins("a shared visitor key"),
        );
        let monday = click(7, "Firefox");
        assert_eq!(
            visitor(&mut a, &monday, "192.0.2.1"),
            visitor(&mut b, &monday, "::ffff:192.0.2.1"),
            "two replicas with one key, and both spellings of one address"
        );
        assert_ne!(
            visitor(&mut a, &monday, "192.0.2.1"),
            visitor(&mut a, &monday, "192.0.2.2")
        );
        assert_ne!(
            visitor(&mut a, &monday, "192.0.2.1"),
            visitor(&mut a, &click(7, "Chrome"), "192.0.2.1")
        );
        assert_ne!(
            visitor(&mut a, &monday, "192.0.2.1"),
            visitor(&mut a, &click(8, "Firefox"), "192.0.2.1"),
            "the next day is another id"
        );
        let mut other = origins("another visitor key");
        assert_ne!(
            visitor(&mut a, &monday, "192.0.2.1"),
            visitor(&mut other, &monday, "192.0.2.1")
        );
    }

    #[test]
    fn a_split_point_is_one_per_visitor_and_link_on_every_day_and_replica() {
        let (a, b) = (
            VisitorKey::parse("a shared visitor key").unwrap(),
            VisitorKey::parse("a shared visitor key").unwrap(),
        );
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(
            a.split_point(Some(v4), 42, "Firefox"),
            b.split_point(Some(mapped), 42, "Firefox")
        );
        assert_ne!(
            a.split_point(Some(v4), 42, "Firefox"),
            a.split_point(Some(v4), 43, "Firefox")
        );
        assert_ne!(
            a.split_point(Some(v4), 42, "Firefox"),
            a.split_point(None, 42, "Firefox")
        );
        let other = VisitorKey::parse("another visitor key").unwrap();
        assert_ne!(
            a.split_point(Some(v4), 42, "Firefox"),
            other.split_point(Some(v4), 42, "Firefox")
        );
    }

    #[test]
    fn short_keys_are_refused_and_keys_never_shown() {
        assert!(VisitorKey::parse("short").is_err());
        let key = VisitorKey::parse("a very secret visitor key").unwrap();
        assert!(!format!("{key:?}").contains("secret"));
    }
}
