//! Media (記録媒体) and the register of exceptions to the ban on external media (security
//! measure (5): 外部記録媒体の利用は原則禁止).
//!
//! An artefact leaves over the network (an HTTP download by the API or the console), onto the
//! host's fixed disk (the command line writing to a file that is not on a removable device),
//! or onto an external medium: USB, optical, SD card, external disk, other. The first two are
//! allowed; an external medium is refused unless an exception is in force for that person and
//! that medium on the Tokyo day of the download.
//!
//! Granting: an approval is always a person's — a chief manager or a responsible person, not
//! disabled, never the exception's own person; the person is a person of the registry (a
//! system never writes to an external medium), the medium external, the reason 1–200
//! characters, the days in force from `valid_from` (today by default, never earlier) to
//! `valid_until`, at most [`MAX_EXCEPTION_DAYS`] days after today → `media_exception_granted`
//! (`media-exception/<id>`: person, medium, days; the digest is the reason's) durable → stored.
//! Revoking: a manager (a person); the exception exists and is not revoked →
//! `media_exception_revoked` durable → stored.

use jiff::Timestamp;
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use tokutei_ledger::AdminAction;
use tokutei_policy::{Date, Lang};
use tokutei_store::exports::{MediaException, NewMediaException, Revocation};
use tokutei_store::staff::PrincipalKind;

use crate::App;
use crate::acting::{Acting, MANAGERS};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::{MediaExceptionId, PrincipalId};
use crate::limits;

/// The longest an exception may run: its last day is at most this many days after today.
pub const MAX_EXCEPTION_DAYS: i32 = 90;

/// Where an artefact is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Medium {
    /// An HTTP download by the API or the console.
    Network,
    /// The fixed disk of the host the command line runs on.
    Local,
    Usb,
    Optical,
    SdCard,
    ExternalDisk,
    /// Any other external medium.
    Other,
}

impl Medium {
    pub const ALL: [Medium; 7] = [
        Medium::Network,
        Medium::Local,
        Medium::Usb,
        Medium::Optical,
        Medium::SdCard,
        Medium::ExternalDisk,
        Medium::Other,
    ];

    /// The external media: refused unless an exception is in force.
    pub const EXTERNAL: [Medium; 5] =
        [Medium::Usb, Medium::Optical, Medium::SdCard, Medium::ExternalDisk, Medium::Other];

    pub fn code(self) -> &'static str {
        match self {
            Medium::Network => "network",
            Medium::Local => "local",
            Medium::Usb => "usb",
            Medium::Optical => "optical",
            Medium::SdCard => "sd_card",
            Medium::ExternalDisk => "external_disk",
            Medium::Other => "other",
        }
    }

    /// `text` as a medium; the error names `field` and lists the codes.
    pub fn parse(field: &'static str, text: &str) -> ActionResult<Medium> {
        Medium::ALL.into_iter().find(|m| m.code() == text).ok_or_else(|| {
            let codes: Vec<&str> = Medium::ALL.iter().map(|m| m.code()).collect();
            ActionError::invalid(field, format!("`{text}` is not a medium; use one of {}", codes.join(", ")))
        })
    }

    pub fn is_external(self) -> bool {
        Medium::EXTERNAL.contains(&self)
    }

    /// The medium's name for people.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Medium::Network, Lang::Ja) => "ネットワーク（ダウンロード）",
            (Medium::Network, Lang::En) => "network (download)",
            (Medium::Local, Lang::Ja) => "端末の固定ディスク",
            (Medium::Local, Lang::En) => "the host's fixed disk",
            (Medium::Usb, Lang::Ja) => "USBメモリ",
            (Medium::Usb, Lang::En) => "USB drive",
            (Medium::Optical, Lang::Ja) => "光ディスク",
            (Medium::Optical, Lang::En) => "optical disc",
            (Medium::SdCard, Lang::Ja) => "SDカード",
            (Medium::SdCard, Lang::En) => "SD card",
            (Medium::ExternalDisk, Lang::Ja) => "外付けディスク",
            (Medium::ExternalDisk, Lang::En) => "external disk",
            (Medium::Other, Lang::Ja) => "その他の外部記録媒体",
            (Medium::Other, Lang::En) => "other external medium",
        }
    }
}

/// An exception as a front end received it; the approver is the one acting.
#[derive(Debug, Clone)]
pub struct NewGrant {
    pub person: PrincipalId,
    pub medium: Medium,
    /// Why (ids and business words, no personal data; kept in the register, a digest in the
    /// ledger).
    pub reason: String,
    /// The first Tokyo day in force; today when `None`.
    pub valid_from: Option<Date>,
    /// The last Tokyo day in force.
    pub valid_until: Date,
}

impl App {
    /// Grant `new` as `by`'s approval at `now`, audit first. Refused, with nothing written: an
    /// invalid field ([`ActionError::Invalid`]); one acting who is not a person with a
    /// manager's role, is disabled, or is the exception's own person ([`ActionError::Forbidden`]).
    pub fn grant_media_exception(&self, by: &Acting, new: &NewGrant, now: Timestamp) -> ActionResult<MediaException> {
        if let Acting::Setup(name) = by {
            return Err(ActionError::Forbidden(format!("`{name}` is not a person; an approval is always a person's")));
        }
        if !new.medium.is_external() {
            return Err(ActionError::invalid(
                "medium",
                format!("`{}` needs no exception; name an external medium", new.medium.code()),
            ));
        }
        limits::name("reason", &new.reason)
            .map_err(|_| ActionError::invalid("reason", "a reason is 1–200 characters, no control character"))?;
        let today = tokutei_policy::tokyo::date_of(now);
        let from = new.valid_from.unwrap_or(today);
        if from < today {
            return Err(ActionError::invalid("valid_from", format!("`{from}` is in the past; today is {today}")));
        }
        let latest = Date(today.0.saturating_add(jiff::Span::new().days(MAX_EXCEPTION_DAYS)));
        if new.valid_until < from || new.valid_until > latest {
            return Err(ActionError::invalid(
                "valid_until",
                format!(
                    "`{}` must fall between {from} and {latest} (at most {MAX_EXCEPTION_DAYS} days)",
                    new.valid_until
                ),
            ));
        }
        let actor = self.authorize(by, MANAGERS, "grant a media exception")?;
        if actor.id() == new.person.as_str() {
            return Err(ActionError::Forbidden(format!(
                "`{}` cannot grant an exception to themselves; another manager approves it",
                actor.id()
            )));
        }
        match self.stores().principal(new.person.as_str())? {
            None => {
                return Err(ActionError::invalid(
                    "person",
                    format!("no principal `{}` in the staff registry", new.person),
                ));
            }
            Some(p) if p.disabled_at.is_some() => {
                return Err(ActionError::invalid("person", format!("`{}` is disabled", new.person)));
            }
            Some(p) if matches!(p.kind, PrincipalKind::System { .. }) => {
                return Err(ActionError::invalid(
                    "person",
                    format!("`{}` is a system; a system never writes to an external medium", new.person),
                ));
            }
            Some(_) => {}
        }
        let id = new_id(today);
        let entry = AdminEntry::new(AdminAction::MediaExceptionGranted, format!("media-exception/{id}"))
            .digest(crate::oversight::digest(&[&new.reason]))
            .detail("person", &new.person)
            .detail("medium", new.medium.code())
            .detail("valid_from", from)
            .detail("valid_until", new.valid_until);
        let approved_by = actor.id().to_string();
        let audit_index = self.audit_admin(actor, entry, now)?;
        let exception = NewMediaException {
            id,
            person: new.person.to_string(),
            medium: new.medium.code().to_string(),
            reason: new.reason.clone(),
            approved_by,
            valid_from: from,
            valid_until: new.valid_until,
            granted_at: now,
            audit_index,
        };
        self.stores().add_media_exception(&exception)?;
        Ok(MediaException { exception, revoked: None })
    }

    /// Revoke exception `id` as `by` at `now`, audit first. Refused, with nothing written: one
    /// acting who is not a person with a manager's role ([`ActionError::Forbidden`]), an
    /// unknown exception ([`ActionError::NotFound`]), one already revoked
    /// ([`ActionError::Conflict`]).
    pub fn revoke_media_exception(
        &self,
        by: &Acting,
        id: &MediaExceptionId,
        now: Timestamp,
    ) -> ActionResult<MediaException> {
        if let Acting::Setup(name) = by {
            return Err(ActionError::Forbidden(format!("`{name}` is not a person; a revocation is a person's")));
        }
        let actor = self.authorize(by, MANAGERS, "revoke a media exception")?;
        let Some(found) = self.stores().media_exception(id.as_str())? else {
            return Err(ActionError::NotFound(format!("media exception `{id}`")));
        };
        if found.revoked.is_some() {
            return Err(ActionError::Conflict(format!("media exception `{id}` was revoked already")));
        }
        let entry = AdminEntry::new(AdminAction::MediaExceptionRevoked, format!("media-exception/{id}"))
            .detail("person", &found.exception.person)
            .detail("medium", &found.exception.medium);
        let by = actor.id().to_string();
        let audit_index = self.audit_admin(actor, entry, now)?;
        let revocation = Revocation { by, at: now, audit_index };
        if !self.stores().revoke_media_exception(id.as_str(), &revocation)? {
            return Err(ActionError::Conflict(format!("media exception `{id}` was revoked already")));
        }
        Ok(MediaException { revoked: Some(revocation), ..found })
    }

    /// Every media exception, newest first.
    pub fn media_exceptions(&self) -> ActionResult<Vec<MediaException>> {
        Ok(self.stores().media_exceptions()?)
    }

    /// The exception that lets `person` write to `medium` at `now`, if one is in force.
    pub(crate) fn media_exception_in_force(
        &self,
        person: &str,
        medium: Medium,
        now: Timestamp,
    ) -> ActionResult<Option<MediaException>> {
        let today = tokutei_policy::tokyo::date_of(now);
        Ok(self.stores().media_exceptions()?.into_iter().find(|e| e.allows(person, medium.code(), today)))
    }
}

/// `MX-<YYYYMMDD>-` and eight random hexadecimal digits.
fn new_id(today: Date) -> String {
    let mut bytes = [0u8; 4];
    OsRng.fill_bytes(&mut bytes);
    format!("MX-{}-{}", today.0.strftime("%Y%m%d"), hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_parse_by_their_code_and_only_external_ones_need_an_exception() {
        let check = |text: &str, expected: Option<(Medium, bool)>| {
            let parsed = Medium::parse("medium", text).ok().map(|m| (m, m.is_external()));
            assert_eq!(parsed, expected, "{text}");
        };
        check("network", Some((Medium::Network, false)));
        check("local", Some((Medium::Local, false)));
        check("usb", Some((Medium::Usb, true)));
        check("optical", Some((Medium::Optical, true)));
        check("sd_card", Some((Medium::SdCard, true)));
        check("external_disk", Some((Medium::ExternalDisk, true)));
        check("other", Some((Medium::Other, true)));
        check("USB", None);
        check("", None);
        for m in Medium::ALL {
            assert_eq!(Medium::parse("medium", m.code()).unwrap(), m);
            assert_eq!(serde_json::to_value(m).unwrap(), serde_json::json!(m.code()));
        }
        let err = Medium::parse("medium", "floppy").unwrap_err();
        assert!(matches!(err, ActionError::Invalid { field: "medium", .. }), "{err}");
    }
}
