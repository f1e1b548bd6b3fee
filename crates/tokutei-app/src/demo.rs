//! The demo deployment's staff (`tokutei demo`): a support handler with a training record and
//! a one-time password, a call-centre system with an API token, a marketing system — each
//! granted, on every service of the policy, the categories its purposes use — the badge
//! system of the entry/exit log, and the first chief manager; the handling zone the handler
//! works in (this machine's loopback addresses are its terminals), with the handler and the
//! chief manager granted it and badged into it. Everything goes through the application's actions as the
//! system `demo`, so the demo's ledger holds the same entries a manager's commands would leave.

use jiff::Timestamp;
use tokutei_policy::{Policy, Role};
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind, RangeGrant, StoredPrincipal};
use zeroize::Zeroizing;

use crate::App;
use crate::acting::Acting;
use crate::error::{ActionError, ActionResult};
use crate::ids::PrincipalId;
use crate::staff::ChiefSetup;
use crate::tokens::Issued;

/// The support handler (a person with a one-time password).
pub const SUPPORT: &str = "demo-support";
/// The call centre (a system with an API token).
pub const CALL_CENTRE: &str = "demo-call-centre";
/// The marketing system.
pub const MARKETING: &str = "demo-marketing";
/// The badge system of the entry/exit log (`crate::zones::BADGE_SYSTEM`).
pub const BADGE_GATE: &str = "demo-badge-gate";
/// The demo's handling zone.
pub const ZONE: &str = "hq-privacy";

/// The training course the handler has completed.
const COURSE: &str = "privacy-basics";
/// How long the call centre's token lives.
const TOKEN_DAYS: u32 = 30;

/// What the demo set up, to be shown once.
pub struct DemoStaff {
    /// The handler and the systems, in the order they were registered.
    pub principals: Vec<StoredPrincipal>,
    pub chief: ChiefSetup,
    /// The handler's one-time password.
    pub support_password: Zeroizing<String>,
    /// The call centre's API token.
    pub call_centre_token: Issued,
}

impl std::fmt::Debug for DemoStaff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.principals.iter().map(|p| p.id.as_str()).collect();
        f.debug_struct("DemoStaff").field("principals", &ids).field("chief", &self.chief).finish_non_exhaustive()
    }
}

/// Grants of the policy's purposes `purposes`: every category those purposes use, on every
/// service of the policy (a purpose the policy does not have adds no category).
pub fn grants_for(policy: &Policy, purposes: &[&str]) -> Grants {
    let mut categories: Vec<String> = Vec::new();
    for c in purposes.iter().filter_map(|p| policy.purpose(p)).flat_map(|p| p.categories.iter()) {
        if !categories.contains(c) {
            categories.push(c.clone());
        }
    }
    Grants {
        data_range: policy
            .services
            .iter()
            .map(|s| RangeGrant { service: s.id.clone(), categories: categories.clone() })
            .collect(),
        purposes: purposes.iter().map(|p| p.to_string()).collect(),
        ..Grants::default()
    }
}

/// The demo's principals under `policy`, each granted what its purposes use.
fn principals(policy: &Policy) -> [NewPrincipal; 4] {
    let new = |id: &str, name: &str, kind: PrincipalKind, purposes: &[&str]| NewPrincipal {
        id: id.into(),
        display_name: name.into(),
        kind,
        grants: grants_for(policy, purposes),
        created_at: Timestamp::UNIX_EPOCH,
    };
    let mut support = new(
        SUPPORT,
        "サポート 担当 / support handler",
        PrincipalKind::Person { role: Role::Handler },
        &["support", "billing"],
    );
    support.grants.zones = vec![ZONE.to_string()];
    [
        support,
        new(
            CALL_CENTRE,
            "コールセンター / call centre",
            PrincipalKind::System { name: "call_centre".into() },
            &["support", "billing"],
        ),
        new(
            MARKETING,
            "マーケティング / marketing",
            PrincipalKind::System { name: "marketing".into() },
            &["marketing", "service_improvement"],
        ),
        NewPrincipal {
            id: BADGE_GATE.into(),
            display_name: "入退室管理システム / badge system".into(),
            kind: PrincipalKind::System { name: crate::zones::BADGE_SYSTEM.into() },
            grants: Grants { actions: Vec::new(), ..Grants::default() },
            created_at: Timestamp::UNIX_EPOCH,
        },
    ]
}

impl App {
    /// Set up the demo's staff on a deployment whose policy is in force: the principals, the
    /// handler's and the chief manager's training (every course of the catalogue their role
    /// must take, completed today, valid for the course's validity — a year without one), the call centre's token, the
    /// first chief manager and the handler's one-time password — each action audited first,
    /// as the system `demo`.
    pub fn set_up_demo_staff(&self, now: Timestamp) -> ActionResult<DemoStaff> {
        let Some((_, policy)) = self.active_policy(now)? else {
            return Err(ActionError::Conflict("the demo's staff need a policy in force".into()));
        };
        let by = Acting::Setup("demo");
        let mut registered = Vec::new();
        for new in principals(&policy) {
            registered.push(self.register_principal(&by, &new, now)?);
        }
        let support = PrincipalId::known(SUPPORT);
        let today = tokutei_policy::tokyo::date_of(now);
        let call_centre_token = self.issue_token(&by, &PrincipalId::known(CALL_CENTRE), TOKEN_DAYS, now)?;
        let chief = self.set_up_chief("demo", now)?;
        // Every person takes every course the catalogue requires of their role (completed
        // today), so the demo's normal traffic passes the gateway.
        let people =
            [(support.clone(), Role::Handler), (PrincipalId::known(chief.principal.id.clone()), Role::ChiefManager)];
        let mut courses: Vec<(PrincipalId, String)> = Vec::new();
        for (person, role) in &people {
            for course in self.training_rules().courses.iter().filter(|c| c.required_of(*role)) {
                courses.push((person.clone(), course.id.clone()));
            }
        }
        if !courses.iter().any(|(p, _)| *p == support) {
            courses.push((support.clone(), COURSE.to_string()));
        }
        for (person, course) in courses {
            let valid_until = self.training_rules().valid_until(&course, today).or_else(|| {
                let day = today.0.checked_add(jiff::Span::new().years(1)).ok()?;
                Some(tokutei_policy::Date(day))
            });
            self.record_training(&by, &person, &course, today, valid_until, now)?;
        }
        self.register_zone(
            &by,
            &crate::zones::NewZone {
                id: crate::ids::ZoneId::known(ZONE),
                name: "本社 特定利用者情報取扱室 / privacy room".into(),
                site: "本社 3階 / head office, 3F".into(),
                networks: vec!["127.0.0.0/8".into(), "::1/128".into()],
                secrecy: true,
            },
            now,
        )?;
        // The chief manager fulfils disclosures through the gateway: from the zone too.
        let chief_id = PrincipalId::known(chief.principal.id.clone());
        let grants = Grants { zones: vec![ZONE.to_string()], ..chief.principal.grants.clone() };
        self.change_grants(&by, &chief_id, &grants, now)?;
        let zone = crate::ids::ZoneId::known(ZONE);
        let badged: Vec<crate::zones::BadgeEvent> = [support.clone(), PrincipalId::known(chief.principal.id.clone())]
            .into_iter()
            .map(|person| crate::zones::BadgeEvent {
                person,
                zone: zone.clone(),
                kind: tokutei_store::zones::PresenceKind::Enter,
                at: now,
            })
            .collect();
        self.record_presence(&by, &badged, now)?;
        let support_password = self.reset_password(&by, &support, now)?;
        Ok(DemoStaff { principals: registered, chief, support_password, call_centre_token })
    }
}
