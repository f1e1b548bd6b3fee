//! Handling zones (取扱区域) and the entry/exit log (入退室記録): the register, the badge
//! events, and where a person is when they ask for subscriber information.
//!
//! The seed's security measure (5) promises entry/exit control of the areas where 特定利用者
//! 情報 is handled and no viewing by people without authority. With `zones_required`, a
//! person's zone is derived, never asserted: they are inside a zone (entered, not exited,
//! within the longest stay `[zones] max_stay_hours`) *and* the request comes from one of that
//! zone's terminal networks ([`locate`]). Anything else refuses the whole call before a
//! subscriber's facts are read, with the reason ([`ZoneRefusal`]). Systems keep the zone their
//! caller names; the zone rules are about people.
//!
//! Registering a zone: a chief manager or responsible person; the id, name and site, at least
//! one network (CIDR, field `networks`) → `zone_registered` (`zone/<id>`) durable → stored.
//! Recording badge events: a system of the registry named [`BADGE_SYSTEM`] (its API token) or
//! a manager importing the badge system's file; every event names a registered person and a
//! registered zone and is not in the future → one `presence_recorded` entry per event
//! (`presence/<person>`) in one durable batch → stored.

use std::net::IpAddr;

use ipnet::IpNet;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use tokutei_gateway::reason::code;
use tokutei_ledger::{Actor, AdminAction};
use tokutei_store::staff::PrincipalKind;
use tokutei_store::zones::{HandlingZone, NewPresence, PresenceEvent, PresenceFilter, PresenceKind};

use crate::App;
use crate::acting::{Acting, MANAGERS, OVERSIGHT};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::{PrincipalId, ZoneId};
use crate::limits;

/// The system name (`tokutei staff add ID --system badge_system`) whose tokens may report
/// badge events.
pub const BADGE_SYSTEM: &str = "badge_system";

/// The most networks one zone lists.
pub const MAX_NETWORKS: usize = 32;

/// The most badge events one call records (a file is imported in batches of this size).
pub const MAX_EVENTS: usize = 1000;

/// How far ahead of the server's clock a badge time may be (clock skew of the badge system).
const FUTURE_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// `deployment.toml`'s `[zones]`, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    /// The longest a person counts as inside a zone after badging in without badging out.
    pub max_stay_hours: Option<u32>,
}

/// The zone rules in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneRules {
    pub max_stay: SignedDuration,
}

impl Default for ZoneRules {
    fn default() -> ZoneRules {
        ZoneRules { max_stay: SignedDuration::from_hours(12) }
    }
}

impl ZoneRules {
    /// The rules of `config` over the defaults, each value checked naming its key.
    pub fn from_config(config: &ZoneConfig) -> ActionResult<ZoneRules> {
        let mut rules = ZoneRules::default();
        if let Some(hours) = config.max_stay_hours {
            if !(1..=24).contains(&hours) {
                return Err(ActionError::invalid("zones.max_stay_hours", format!("is {hours}; use 1 to 24")));
            }
            rules.max_stay = SignedDuration::from_hours(i64::from(hours));
        }
        Ok(rules)
    }
}

/// Why a person's zone could not be derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneRefusal {
    /// No entry into any zone on record.
    NotEntered,
    /// The last event of every zone entered is an exit.
    Exited,
    /// Entered, never exited, but longer ago than the longest stay.
    StayExpired,
    /// Inside a zone, but the request does not come from that zone's terminals.
    OtherNetwork,
}

impl ZoneRefusal {
    /// The reason code the refusal is audited with.
    pub fn code(self) -> &'static str {
        match self {
            ZoneRefusal::NotEntered => code::ZONE_NOT_ENTERED,
            ZoneRefusal::Exited => code::ZONE_EXITED,
            ZoneRefusal::StayExpired => code::ZONE_STAY_EXPIRED,
            ZoneRefusal::OtherNetwork => code::ZONE_OTHER_NETWORK,
        }
    }
}

/// Where a person is: the zone whose terminal `terminal` is, among the zones `latest` (the
/// person's latest badge event per zone) shows them inside at `now`.
pub fn locate<'z>(
    latest: &[PresenceEvent],
    zones: &'z [HandlingZone],
    terminal: Option<IpAddr>,
    now: Timestamp,
    max_stay: SignedDuration,
) -> Result<&'z HandlingZone, ZoneRefusal> {
    let entered: Vec<&PresenceEvent> = latest.iter().filter(|e| e.kind == PresenceKind::Enter).collect();
    let inside: Vec<&PresenceEvent> = entered.iter().copied().filter(|e| e.at + max_stay > now).collect();
    if !inside.is_empty() {
        return inside
            .iter()
            .filter_map(|e| zones.iter().find(|z| z.id == e.zone))
            .find(|z| terminal.is_some_and(|ip| covers(z, ip)))
            .ok_or(ZoneRefusal::OtherNetwork);
    }
    if !entered.is_empty() {
        Err(ZoneRefusal::StayExpired)
    } else if latest.is_empty() {
        Err(ZoneRefusal::NotEntered)
    } else {
        Err(ZoneRefusal::Exited)
    }
}

/// Whether `ip` is one of `zone`'s terminal networks (an IPv4 address seen as IPv6-mapped
/// counts as itself).
fn covers(zone: &HandlingZone, ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    zone.networks.iter().filter_map(|n| n.parse::<IpNet>().ok()).any(|n| n.contains(&ip))
}

/// A zone to register, as a front end received it.
#[derive(Debug, Clone)]
pub struct NewZone {
    pub id: ZoneId,
    pub name: String,
    pub site: String,
    /// CIDR text (`10.20.0.0/24`, `fd00::/64`); a bare address is one host.
    pub networks: Vec<String>,
    pub secrecy: bool,
}

/// One badge event, as a front end received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadgeEvent {
    pub person: PrincipalId,
    pub zone: ZoneId,
    pub kind: PresenceKind,
    pub at: Timestamp,
}

/// The zone a call is decided in, worked out before any subscriber's facts are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallZone {
    /// The zone (if any) and whether secrecy of communications may be handled there (`None`
    /// when that is not looked at: a system, or zones not required).
    In { zone: Option<String>, secrecy: Option<bool> },
    /// A person's zone could not be derived: every decision is refused with this reason.
    Refused(ZoneRefusal),
}

impl App {
    /// The same service under the deployment's zone rules (`[zones]`) instead of the defaults.
    pub fn with_zone_rules(mut self, rules: ZoneRules) -> App {
        self.zone_rules = rules;
        self
    }

    pub fn zone_rules(&self) -> &ZoneRules {
        &self.zone_rules
    }

    /// Whether people may handle information only from inside a handling zone
    /// (`deployment.toml`'s `zones_required`).
    pub fn zones_required(&self) -> bool {
        self.deployment.zones_required
    }

    /// Register `new` (or replace the zone of its id) as `by` at `now`, audit first.
    pub fn register_zone(&self, by: &Acting, new: &NewZone, now: Timestamp) -> ActionResult<HandlingZone> {
        let networks = check_zone(new)?;
        let actor = self.authorize(by, MANAGERS, "register a handling zone")?;
        let existing = self.stores().zones()?.into_iter().find(|z| z.id == new.id.as_str());
        let entry = AdminEntry::new(AdminAction::ZoneRegistered, format!("zone/{}", new.id))
            .detail("networks", networks.join(" "))
            .detail("secrecy", new.secrecy)
            .detail("change", if existing.is_some() { "replaced" } else { "registered" });
        let audit_index = self.audit_admin(actor, entry, now)?;
        let zone = HandlingZone {
            id: new.id.to_string(),
            name: new.name.clone(),
            site: new.site.clone(),
            networks,
            secrecy: new.secrecy,
            registered_at: existing.map_or(now, |z| z.registered_at),
            updated_at: now,
            audit_index,
        };
        self.stores().put_zone(&zone)?;
        Ok(zone)
    }

    /// Every zone of the register, by id.
    pub fn zones(&self) -> ActionResult<Vec<HandlingZone>> {
        Ok(self.stores().zones()?)
    }

    /// Whether `event` could be recorded at `now` (the person and the zone are registered, the
    /// badge time is not in the future): what [`Self::record_presence`] checks of each event,
    /// for a front end that reads a file to name the line of a bad one before recording any.
    pub fn check_presence(&self, event: &BadgeEvent, zones: &[HandlingZone], now: Timestamp) -> ActionResult<()> {
        match self.stores().principal(event.person.as_str())? {
            Some(p) if matches!(p.kind, PrincipalKind::Person { .. }) => {}
            Some(_) => {
                return Err(ActionError::invalid("person", format!("`{}` is a system, not a person", event.person)));
            }
            None => {
                return Err(ActionError::invalid(
                    "person",
                    format!("no person `{}` in the staff registry", event.person),
                ));
            }
        }
        if !zones.iter().any(|z| z.id == event.zone.as_str()) {
            return Err(ActionError::invalid("zone", format!("no handling zone `{}` is registered", event.zone)));
        }
        if event.at > now + FUTURE_SKEW {
            return Err(ActionError::invalid("at", "the badge time is in the future"));
        }
        Ok(())
    }

    /// Record badge events as `by` at `now`: every event checked ([`Self::check_presence`]),
    /// then one `presence_recorded` entry per event in one durable batch, then stored.
    /// Returns the events' ledger indexes.
    pub fn record_presence(&self, by: &Acting, events: &[BadgeEvent], now: Timestamp) -> ActionResult<Vec<u64>> {
        if events.is_empty() {
            return Err(ActionError::invalid("events", "name at least one badge event"));
        }
        if events.len() > MAX_EVENTS {
            return Err(ActionError::invalid(
                "events",
                format!("one call records at most {MAX_EVENTS} badge events, got {}", events.len()),
            ));
        }
        let actor = self.badge_reporter(by)?;
        let zones = self.stores().zones()?;
        for event in events {
            self.check_presence(event, &zones, now)?;
        }
        let entries: Vec<_> = events
            .iter()
            .map(|e| {
                AdminEntry::new(AdminAction::PresenceRecorded, format!("presence/{}", e.person))
                    .detail("zone", &e.zone)
                    .detail("event", e.kind.code())
                    .detail("at", e.at)
                    .entry(actor.clone(), now)
            })
            .collect();
        let appended = self.ledger().append_batch(&entries).map_err(ActionError::Audit)?;
        let source = match &actor {
            Actor::Staff(id) | Actor::System(id) => id.clone(),
        };
        let rows: Vec<NewPresence> = events
            .iter()
            .zip(&appended)
            .map(|(e, a)| NewPresence {
                person: e.person.to_string(),
                zone: e.zone.to_string(),
                kind: e.kind,
                at: e.at,
                source: source.clone(),
                recorded_at: now,
                audit_index: a.index,
            })
            .collect();
        self.stores().add_presence(&rows)?;
        Ok(appended.iter().map(|a| a.index).collect())
    }

    /// The newest `limit` badge events matching `filter`, for the managers and auditors.
    pub fn presence_log(&self, by: &Acting, filter: &PresenceFilter, limit: usize) -> ActionResult<Vec<PresenceEvent>> {
        self.authorize(by, OVERSIGHT, "read the entry/exit log")?;
        Ok(self.stores().presence_log(filter, limit.clamp(1, MAX_EVENTS))?)
    }

    /// Where `person` is at `now`, asking from `terminal`: the zone, or why none.
    pub fn locate_person(
        &self,
        person: &PrincipalId,
        terminal: Option<IpAddr>,
        now: Timestamp,
    ) -> ActionResult<Result<HandlingZone, ZoneRefusal>> {
        let latest = self.stores().latest_presence(person.as_str(), now)?;
        let zones = self.stores().zones()?;
        Ok(locate(&latest, &zones, terminal, now, self.zone_rules.max_stay).cloned())
    }

    /// The zone a call by `principal` is decided in: with zones required, a person's is
    /// derived ([`Self::locate_person`]) and what the caller named is not looked at; a system's,
    /// and everyone's without the requirement, is the one the caller named.
    pub(crate) fn call_zone(
        &self,
        principal: &PrincipalId,
        is_person: bool,
        named: Option<&str>,
        terminal: Option<IpAddr>,
        now: Timestamp,
    ) -> ActionResult<CallZone> {
        if !(self.deployment.zones_required && is_person) {
            return Ok(CallZone::In { zone: named.map(str::to_string), secrecy: None });
        }
        Ok(match self.locate_person(principal, terminal, now)? {
            Ok(zone) => CallZone::In { zone: Some(zone.id), secrecy: Some(zone.secrecy) },
            Err(refusal) => CallZone::Refused(refusal),
        })
    }

    /// The actor of one reporting badge events: the badge system (a system of the registry
    /// named [`BADGE_SYSTEM`], not disabled) or a manager importing its file.
    fn badge_reporter(&self, by: &Acting) -> ActionResult<Actor> {
        if let Acting::Person(id) = by
            && let Some(p) = self.stores().principal(id)?
            && let PrincipalKind::System { name } = &p.kind
        {
            if p.disabled_at.is_some() {
                return Err(ActionError::Forbidden(format!("`{id}` is disabled and cannot report badge events")));
            }
            if name != BADGE_SYSTEM {
                return Err(ActionError::Forbidden(format!(
                    "`{id}` is the system `{name}`; only the `{BADGE_SYSTEM}` system reports badge events"
                )));
            }
            return Ok(Actor::System(p.id));
        }
        self.authorize(by, MANAGERS, "import badge events")
    }
}

/// The fields of `new` that need no store; the networks in their canonical text.
fn check_zone(new: &NewZone) -> ActionResult<Vec<String>> {
    limits::name("name", &new.name)
        .map_err(|_| ActionError::invalid("name", "a zone's name is 1–200 characters, no control character"))?;
    limits::name("site", &new.site)
        .map_err(|_| ActionError::invalid("site", "a site is 1–200 characters, no control character"))?;
    if new.networks.is_empty() {
        return Err(ActionError::invalid("networks", "name the client network of the zone's terminals (CIDR)"));
    }
    if new.networks.len() > MAX_NETWORKS {
        return Err(ActionError::invalid(
            "networks",
            format!("a zone lists at most {MAX_NETWORKS} networks, got {}", new.networks.len()),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(new.networks.len());
    for text in &new.networks {
        let net = parse_network(text)?;
        let canonical = net.to_string();
        if out.contains(&canonical) {
            return Err(ActionError::invalid("networks", format!("`{text}` is named twice")));
        }
        out.push(canonical);
    }
    Ok(out)
}

/// A network as CIDR (`10.20.0.0/24`); a bare address is one host. Host bits must be zero, so
/// what is stored is what was meant.
pub fn parse_network(text: &str) -> ActionResult<IpNet> {
    let text = text.trim();
    let net = match text.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => match text.parse::<IpAddr>() {
            Ok(ip) => IpNet::from(ip),
            Err(_) => {
                return Err(ActionError::invalid(
                    "networks",
                    format!("`{text}` is not a network such as 10.20.0.0/24"),
                ));
            }
        },
    };
    if net.trunc() != net {
        return Err(ActionError::invalid(
            "networks",
            format!("`{text}` has host bits set; the network is `{}`", net.trunc()),
        ));
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> Timestamp {
        Timestamp::from_second(1_790_000_000 + minute * 60).unwrap()
    }

    fn zone(id: &str, networks: &[&str]) -> HandlingZone {
        HandlingZone {
            id: id.into(),
            name: id.into(),
            site: "本社".into(),
            networks: networks.iter().map(|n| n.to_string()).collect(),
            secrecy: false,
            registered_at: at(0),
            updated_at: at(0),
            audit_index: 0,
        }
    }

    fn event(zone: &str, kind: PresenceKind, minute: i64) -> PresenceEvent {
        PresenceEvent {
            id: minute as u64,
            person: "h1".into(),
            zone: zone.into(),
            kind,
            at: at(minute),
            source: "badge".into(),
            recorded_at: at(minute),
            audit_index: 0,
        }
    }

    /// The zone decision table: (the latest event per zone, the terminal, minutes after the
    /// first event) → the zone or the refusal.
    #[test]
    fn zone_decision_table() {
        use PresenceKind::{Enter, Exit};
        let zones = [zone("hq-3f", &["10.20.0.0/24", "fd00::/64"]), zone("call-1", &["10.30.0.0/16"])];
        let stay = SignedDuration::from_hours(12);
        let check =
            |latest: &[PresenceEvent], terminal: Option<&str>, now: i64, expected: Result<&str, ZoneRefusal>| {
                let ip = terminal.map(|t| t.parse::<IpAddr>().unwrap());
                let got = locate(latest, &zones, ip, at(now), stay).map(|z| z.id.as_str());
                assert_eq!(got, expected, "{latest:?} from {terminal:?} at +{now} min");
            };
        let inside = [event("hq-3f", Enter, 0)];
        // In the zone and on its network.
        check(&inside, Some("10.20.0.15"), 60, Ok("hq-3f"));
        check(&inside, Some("fd00::1"), 60, Ok("hq-3f"));
        check(&inside, Some("::ffff:10.20.0.15"), 60, Ok("hq-3f"));
        // Another network, or none known.
        check(&inside, Some("10.30.0.5"), 60, Err(ZoneRefusal::OtherNetwork));
        check(&inside, Some("192.0.2.1"), 60, Err(ZoneRefusal::OtherNetwork));
        check(&inside, None, 60, Err(ZoneRefusal::OtherNetwork));
        // The stay: inside until just before 12 hours, expired at 12 hours.
        check(&inside, Some("10.20.0.15"), 12 * 60 - 1, Ok("hq-3f"));
        check(&inside, Some("10.20.0.15"), 12 * 60, Err(ZoneRefusal::StayExpired));
        // Badged out.
        check(&[event("hq-3f", Exit, 30)], Some("10.20.0.15"), 60, Err(ZoneRefusal::Exited));
        // No badge at all.
        check(&[], Some("10.20.0.15"), 60, Err(ZoneRefusal::NotEntered));
        // Inside one zone, out of another: the terminal picks the zone it belongs to.
        let two = [event("call-1", Enter, 10), event("hq-3f", Exit, 5)];
        check(&two, Some("10.30.1.1"), 60, Ok("call-1"));
        check(&two, Some("10.20.0.15"), 60, Err(ZoneRefusal::OtherNetwork));
        // Inside two zones: the terminal decides.
        let both = [event("call-1", Enter, 10), event("hq-3f", Enter, 5)];
        check(&both, Some("10.20.0.9"), 60, Ok("hq-3f"));
        check(&both, Some("10.30.0.9"), 60, Ok("call-1"));
        // One entry expired, one exited: the expiry is the reason.
        let stale = [event("call-1", Enter, 0), event("hq-3f", Exit, 5)];
        check(&stale, Some("10.30.0.9"), 13 * 60, Err(ZoneRefusal::StayExpired));
    }

    #[test]
    fn networks_are_checked_and_canonical() {
        let check = |text: &str, expected: Result<&str, &str>| {
            let got = parse_network(text).map(|n| n.to_string()).map_err(|e| e.to_string());
            match expected {
                Ok(net) => assert_eq!(got.as_deref(), Ok(net), "{text}"),
                Err(part) => assert!(got.as_ref().is_err_and(|e| e.contains(part)), "{text}: {got:?}"),
            }
        };
        check("10.20.0.0/24", Ok("10.20.0.0/24"));
        check(" 10.20.0.0/24 ", Ok("10.20.0.0/24"));
        check("10.20.0.7", Ok("10.20.0.7/32"));
        check("fd00::/64", Ok("fd00::/64"));
        check("::1", Ok("::1/128"));
        check("10.20.0.7/24", Err("host bits"));
        check("10.20.0.0/33", Err("not a network"));
        check("intranet", Err("not a network"));
        check("", Err("not a network"));
    }

    #[test]
    fn max_stay_is_checked_naming_its_key() {
        let rules = ZoneRules::from_config(&ZoneConfig { max_stay_hours: Some(8) }).unwrap();
        assert_eq!(rules.max_stay, SignedDuration::from_hours(8));
        for bad in [0, 25] {
            let err = ZoneRules::from_config(&ZoneConfig { max_stay_hours: Some(bad) }).unwrap_err();
            assert!(matches!(err, ActionError::Invalid { field: "zones.max_stay_hours", .. }), "{err:?}");
        }
        assert_eq!(ZoneRules::from_config(&ZoneConfig::default()).unwrap(), ZoneRules::default());
    }
}
