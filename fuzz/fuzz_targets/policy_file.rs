//! Fuzz target: the policy file parser and checker (`tokutei_policy::check`, which parses
//! first), with the properties of `crates/tokutei-policy/tests/outside_input.rs`: no panic;
//! a refusal is one `parse` diagnostic naming its line; every diagnostic points inside the
//! file on character boundaries; a policy that parses prints (`to_toml`) and reads back as
//! itself. Seeds: `crates/tokutei-policy/tests/invalid/` and `policies/`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tokutei_policy::{check, parse, to_toml};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let report = check::check(text);
    let lines = text.split('\n').count();
    match &report.policy {
        None => {
            assert_eq!(report.diagnostics.len(), 1, "{:?}", report.diagnostics);
            assert_eq!(report.diagnostics[0].rule, "parse");
            assert!(report.diagnostics[0].position.is_some(), "a parse error names its line");
        }
        Some(policy) => {
            let printed = to_toml(policy);
            assert_eq!(parse(&printed).as_ref(), Ok(policy), "the printed policy reads back:\n{printed}");
        }
    }
    for d in &report.diagnostics {
        assert!(d.position.is_some() || !d.field.is_empty(), "{d:?}");
        if let Some(span) = &d.span {
            assert!(span.start <= span.end && span.end <= text.len(), "{d:?}");
            assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end), "{d:?}");
        }
        if let Some(p) = d.position {
            assert!(p.line >= 1 && p.line as usize <= lines, "{d:?}");
        }
    }
});
