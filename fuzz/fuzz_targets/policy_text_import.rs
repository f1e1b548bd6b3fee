//! Fuzz target: the import of a published policy text (`tokutei_policy::import::import`),
//! with the properties of `crates/tokutei-policy/tests/outside_input.rs`: no panic; only an
//! empty or binary text is refused; warnings and line fates point at lines of the text; the
//! imported policy prints as a policy file that reads back as the same policy, and checking
//! that file does not panic. Seeds: `crates/tokutei-policy/tests/import/`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tokutei_policy::{check, import, parse, render, to_toml};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let lines = text.lines().count();
    match import::import(text) {
        Err(e) => {
            let binary = text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n' | '\u{c}'));
            assert!(text.trim().is_empty() || binary, "refused a text: {e}");
        }
        Ok(imported) => {
            for w in &imported.warnings {
                assert!(w.line >= 1 && w.line as usize <= lines.max(1), "{w:?}");
            }
            for fate in &imported.lines {
                assert!(fate.line >= 1 && fate.line as usize <= lines, "{fate:?}");
            }
            let printed = to_toml(&imported.policy);
            assert_eq!(parse(&printed).as_ref(), Ok(&imported.policy), "the imported policy reads back");
            let _ = check::check(&printed);
            let today = tokutei_policy::Date::new(2026, 1, 1).expect("a date");
            for lang in [tokutei_policy::Lang::Ja, tokutei_policy::Lang::En] {
                let _ = render::text(&render::document(&imported.policy, lang, &[], today));
            }
        }
    }
});
