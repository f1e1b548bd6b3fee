//! `diff` at its boundary: pairs of policies (the demo policy and an edited copy), each with
//! snapshots of the English and Japanese text and of the JSON.

use tokutei_policy::diff::{ChangeKind, PolicyDiff, Subject, diff};
use tokutei_policy::{
    Channel, ConsentMode, Date, ForeignEntry, ForeignKind, Lang, Mask, Policy, Purpose, Revision, Text,
};

const DEMO: &str = include_str!("../policies/hoshizora-tsushin.toml");

fn demo() -> Policy {
    tokutei_policy::parse(DEMO).expect("the demo policy parses")
}

fn date(y: i16, m: i8, d: i8) -> Date {
    Date::new(y, m, d).expect("real date")
}

/// Diff the demo policy against an edited copy and snapshot all three renderings.
fn check(name: &str, edit: impl FnOnce(&mut Policy)) -> PolicyDiff {
    let old = demo();
    let mut new = demo();
    edit(&mut new);
    let d = diff(&old, &new);
    assert!(!d.is_empty(), "{name}: the edit shows");
    let text = format!("--- en ---\n{}--- ja ---\n{}", d.human(Lang::En), d.human(Lang::Ja));
    insta::assert_snapshot!(name, text);
    insta::assert_json_snapshot!(format!("{name}_json"), d);
    // Undoing the edit is the mirror image: what was added is removed and vice versa.
    let back = diff(&new, &old);
    assert_eq!(back.changes.len(), d.changes.len(), "{name}: reverse diff");
    for change in &d.changes {
        let mirror = match change.kind {
            ChangeKind::Added => ChangeKind::Removed,
            ChangeKind::Removed => ChangeKind::Added,
            ChangeKind::Changed => ChangeKind::Changed,
        };
        assert!(back.changes.iter().any(|c| c.id == change.id && c.kind == mirror), "{name}: {}", change.id);
    }
    d
}

#[test]
fn identical_and_reordered_policies_have_no_difference() {
    assert!(diff(&demo(), &demo()).is_empty());
    assert_eq!(diff(&demo(), &demo()).human(Lang::En), "");
    let mut reordered = demo();
    reordered.purposes.list.reverse();
    reordered.categories.reverse();
    reordered.security.measures.reverse();
    reordered.foreign.entries.reverse();
    assert!(diff(&demo(), &reordered).is_empty(), "{}", diff(&demo(), &reordered));
}

#[test]
fn purpose_added() {
    check("purpose_added", |p| {
        p.purposes.list.push(Purpose {
            id: "loyalty_points".into(),
            text: Text::new("ポイントプログラムの運営のため", "To run our loyalty points programme"),
            consent: ConsentMode::OptIn,
            categories: vec!["contract.number".into(), "billing.usage".into()],
            channels: vec![Channel::App],
            continues_after_termination: false,
            third_party_provision: false,
            individually_set: false,
            masking: Default::default(),
        });
    });
}

#[test]
fn purpose_removed() {
    let d = check("purpose_removed", |p| p.purposes.list.retain(|x| x.id != "partner_campaigns"));
    assert_eq!(d.changes.len(), 1);
    assert_eq!((d.changes[0].subject, d.changes[0].kind), (Subject::Purpose, ChangeKind::Removed));
}

#[test]
fn purpose_changed() {
    check("purpose_changed", |p| {
        let m = p.purposes.list.iter_mut().find(|x| x.id == "marketing").unwrap();
        m.consent = ConsentMode::OptIn;
        m.categories.retain(|c| c != "contract.address");
        m.categories.push("contract.birth_date".into());
        m.channels.push(Channel::Sms);
        m.text.en = Some("To introduce our services and price plans by phone, email, post and SMS".into());
        m.masking.insert("contract.phone".into(), "last4".into());
    });
}

#[test]
fn categories_changed_added_removed() {
    check("categories", |p| {
        let log = p.categories.iter_mut().find(|c| c.id == "comm.traffic_log").unwrap();
        log.retention.months = 18;
        log.retention_justification =
            Some(Text::new("18か月分の比較が必要です。", "An 18-month comparison is needed."));
        log.services.retain(|s| s != "global_vpn");
        let phone = p.categories.iter_mut().find(|c| c.id == "contract.phone").unwrap();
        phone.masks.push(Mask { id: "first3".into(), keep_first: Some(3), keep_last: None });
        let mut dns = p.categories.iter().find(|c| c.id == "comm.auth_log").unwrap().clone();
        dns.id = "comm.dns_log".into();
        dns.name = Text::new("DNS問い合わせ記録", "DNS query log");
        p.categories.push(dns);
        p.categories.retain(|c| c.id != "comm.browsing");
    });
}

#[test]
fn header_dates_and_revisions() {
    check("header", |p| {
        p.header.effective = Some(date(2026, 4, 1));
        p.header.revisions.push(Revision {
            date: date(2026, 4, 1),
            summary: Text::new(
                "お問い合わせ窓口の受付時間を変更しました。",
                "Changed the contact point's opening hours.",
            ),
        });
        p.header.representative.name = Text::new("天野 銀河", "Ginga Amano");
    });
}

#[test]
fn security_measure_changed() {
    check("security", |p| {
        let m = p.security.measures.iter_mut().find(|m| m.number == 4).unwrap();
        m.text = Text::new("年2回の研修を行います。", "Staff are trained twice a year.");
        m.owner = tokutei_policy::Role::ChiefManager;
    });
}

#[test]
fn foreign_rows() {
    check("foreign", |p| {
        p.foreign.entries.retain(|e| e.country_code.as_deref() != Some("DE"));
        let us = p.foreign.entries.iter_mut().find(|e| e.country_code.as_deref() == Some("US")).unwrap();
        us.reviewed = date(2026, 1, 10);
        us.regimes.push(Text::new("大統領令12333号", "Executive Order 12333"));
        p.foreign.entries.push(ForeignEntry {
            service: "mobile".into(),
            country: Text::new("シンガポール", "Singapore"),
            country_code: Some("SG".into()),
            kind: ForeignKind::Delegation,
            recipient: None,
            regimes: Vec::new(),
            regimes_none: true,
            recipient_measures: None,
            reviewed: date(2026, 1, 10),
        });
    });
}

#[test]
fn contact_and_leaks() {
    check("contact_leaks", |p| {
        p.contact.email = Some("privacy-desk@hoshizora-tsushin.example".into());
        p.contact.hours = None;
        p.leaks.years = 12;
        p.leaks.text.en = None;
    });
}

#[test]
fn services_and_sections() {
    check("services_sections", |p| {
        p.services.retain(|s| s.id != "global_vpn");
        p.services[0].name.en = Some("Fibre Internet Access Service".into());
        p.acquisition.methods.push(tokutei_policy::AcquisitionMethod::VideoRecording);
        p.acquisition.notes.pop();
        p.purposes.notes.push(Text::new("新しい注記。", "A new note."));
    });
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn consent(n: u8) -> ConsentMode {
        [ConsentMode::None, ConsentMode::OptOut, ConsentMode::OptIn][usize::from(n % 3)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Dropping purposes and categories and changing consents: every edit is reported
        /// once, under the right id, and nothing else is.
        #[test]
        fn edits_are_reported_exactly(
            drop_purpose in proptest::collection::vec(any::<bool>(), 11),
            drop_category in proptest::collection::vec(any::<bool>(), 15),
            consents in proptest::collection::vec(any::<u8>(), 11),
        ) {
            let old = demo();
            let mut new = demo();
            let mut expected = Vec::new();
            for (i, purpose) in new.purposes.list.iter_mut().enumerate() {
                let mode = consent(consents[i]);
                if mode != purpose.consent && !drop_purpose[i] {
                    expected.push((format!("purpose:{}", purpose.id), ChangeKind::Changed));
                }
                purpose.consent = mode;
            }
            let mut i = 0;
            new.purposes.list.retain(|p| {
                i += 1;
                if drop_purpose[i - 1] {
                    expected.push((format!("purpose:{}", p.id), ChangeKind::Removed));
                }
                !drop_purpose[i - 1]
            });
            let mut i = 0;
            new.categories.retain(|c| {
                i += 1;
                if drop_category[i - 1] {
                    expected.push((format!("category:{}", c.id), ChangeKind::Removed));
                }
                !drop_category[i - 1]
            });
            let d = diff(&old, &new);
            let mut actual: Vec<(String, ChangeKind)> = d.changes.iter().map(|c| (c.id.clone(), c.kind)).collect();
            let key = |x: &(String, ChangeKind)| format!("{}{:?}", x.0, x.1);
            actual.sort_by_key(key);
            expected.sort_by_key(key);
            prop_assert_eq!(actual, expected);
            prop_assert_eq!(d.is_empty(), old == new);
            let human = d.human(Lang::En);
            for change in d.changes.iter().filter(|c| c.kind == ChangeKind::Changed) {
                let line = format!("~ purpose {}: consent ", change.item.as_deref().unwrap_or_default());
                prop_assert!(human.contains(&line), "{} not in {}", line, human);
            }
        }
    }
}
