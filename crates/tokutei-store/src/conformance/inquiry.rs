//! Conformance for [`InquiryStore`] and [`SettingsStore`]: receipts are unique, contents come
//! back byte for byte, listing filters by status newest first, status changes keep who and
//! when and an unknown receipt is not found; settings replace by key, all or nothing.

use jiff::Timestamp;

use crate::StoreError;
use crate::inquiry::{InquiryCategory, InquiryStatus, InquiryStore, NewInquiry, SettingsStore};
use crate::vault::WrappedDataKey;

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_780_000_000 + second).unwrap()
}

fn inquiry(receipt: &str, category: InquiryCategory, second: i64) -> NewInquiry {
    NewInquiry {
        receipt: receipt.into(),
        category,
        received_at: at(second),
        deadline: "2026-06-12".parse().unwrap(),
        key: WrappedDataKey { kek_id: "kek-1".into(), bytes: vec![1, 2, 3] },
        sealed: vec![0, 255, 7, 9],
    }
}

pub fn run<S: InquiryStore + SettingsStore>(store: &S) {
    assert!(store.inquiry("R1").unwrap().is_none());
    assert!(store.inquiries(None, 10).unwrap().is_empty());
    let first = inquiry("R1", InquiryCategory::Disclosure, 0);
    store.add_inquiry(&first).unwrap();
    assert!(matches!(store.add_inquiry(&inquiry("R1", InquiryCategory::Other, 5)), Err(StoreError::Conflict(_))));
    store.add_inquiry(&inquiry("R2", InquiryCategory::StopUse, 10)).unwrap();
    store.add_inquiry(&inquiry("R3", InquiryCategory::Complaint, 20)).unwrap();

    let got = store.inquiry("R1").unwrap().unwrap();
    assert_eq!(got.inquiry, first);
    assert_eq!((got.status, got.note, got.updated), (InquiryStatus::Open, None, None));
    let receipts =
        |list: Vec<crate::inquiry::StoredInquiry>| list.into_iter().map(|i| i.inquiry.receipt).collect::<Vec<_>>();
    assert_eq!(receipts(store.inquiries(None, 10).unwrap()), ["R3", "R2", "R1"]);
    assert_eq!(receipts(store.inquiries(None, 2).unwrap()), ["R3", "R2"]);

    store.set_inquiry_status("R2", InquiryStatus::Answered, Some(&[4, 5]), "cpo", at(30)).unwrap();
    let got = store.inquiry("R2").unwrap().unwrap();
    assert_eq!(got.status, InquiryStatus::Answered);
    assert_eq!(got.note.as_deref(), Some(&[4u8, 5][..]));
    assert_eq!(got.updated, Some(("cpo".to_string(), at(30))));
    store.set_inquiry_status("R2", InquiryStatus::Closed, None, "rp", at(40)).unwrap();
    let got = store.inquiry("R2").unwrap().unwrap();
    assert_eq!((got.status, got.note), (InquiryStatus::Closed, None));
    assert_eq!(receipts(store.inquiries(Some(InquiryStatus::Open), 10).unwrap()), ["R3", "R1"]);
    assert_eq!(receipts(store.inquiries(Some(InquiryStatus::Closed), 10).unwrap()), ["R2"]);
    assert!(matches!(
        store.set_inquiry_status("nope", InquiryStatus::Closed, None, "cpo", at(50)),
        Err(StoreError::NotFound(_))
    ));

    // Settings.
    assert!(store.settings().unwrap().is_empty());
    store.set_settings(&[("b".into(), "2".into()), ("a".into(), "1".into())], "cpo", at(60)).unwrap();
    store.set_settings(&[("a".into(), "one".into())], "rp", at(70)).unwrap();
    let all = store.settings().unwrap();
    let pairs: Vec<_> = all.iter().map(|s| (s.key.as_str(), s.value.as_str(), s.changed_by.as_str())).collect();
    assert_eq!(pairs, [("a", "one", "rp"), ("b", "2", "cpo")]);
    assert_eq!(all[0].changed_at, at(70));
    store.set_settings(&[], "cpo", at(80)).unwrap();
    assert_eq!(store.settings().unwrap().len(), 2);
}
