//! Property fuzzing of the parsers that take outside input: the policy file (`parse`, `check`)
//! and the published policy text (`import`), fed real documents with random edits (bytes
//! inserted, removed, replaced; lines duplicated, swapped, cut; values swapped for others)
//! and random text. Properties: nothing panics (diagnostics rendered with miette included);
//! every refusal names a line or a field that lies inside the input; whatever parses or
//! imports round-trips through the printer (`to_toml`) to the same policy and digest.
//!
//! Bounded for CI: `PROPTEST_CASES` (default 96 per property) sets the number of cases; the
//! coverage-guided targets in `fuzz/` run the same entry points for as long as one likes
//! (`docs/testing.md`).

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use tokutei_policy::check::{self, RULES, Severity};
use tokutei_policy::import::import;
use tokutei_policy::render;
use tokutei_policy::{Date, Lang, PolicyDigest, parse, to_toml};

const DEMO: &str = include_str!("../policies/hoshizora-tsushin.toml");
const VALID_BASE: &str = include_str!("invalid/valid-base.toml");

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(96)
}

fn config() -> ProptestConfig {
    ProptestConfig { cases: cases(), max_shrink_iters: 2000, ..ProptestConfig::default() }
}

/// The published texts the importer is tested on (`tests/import/*.txt`).
fn import_fixtures() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/import");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    let texts: Vec<String> = paths.iter().map(|p| std::fs::read_to_string(p).expect("UTF-8 fixture")).collect();
    assert!(texts.len() >= 5, "import fixtures missing in {}", dir.display());
    texts
}

/// One random edit of a document.
#[derive(Debug, Clone)]
enum Edit {
    /// Insert `text` before the character at `at` (a fraction of the length).
    Insert { at: f64, text: String },
    /// Remove `len` characters from `at`.
    Remove { at: f64, len: usize },
    /// Replace the value after the `=` of the line at `at` by `value`.
    Value { at: f64, value: String },
    /// Duplicate the line at `at`.
    DuplicateLine { at: f64 },
    /// Swap the lines at `a` and `b`.
    SwapLines { a: f64, b: f64 },
    /// Cut the document at `at`.
    Truncate { at: f64 },
}

/// Text that means something to TOML or to the importer, or nothing at all.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\n".to_string()),
        Just("=".to_string()),
        Just("\"".to_string()),
        Just("'''".to_string()),
        Just("\"\"\"".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("[[".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just(",".to_string()),
        Just("#".to_string()),
        Just("\\u00".to_string()),
        Just("\u{feff}".to_string()),
        Just("\r".to_string()),
        Just("\t".to_string()),
        Just("\u{0}".to_string()),
        Just("ｉｄ".to_string()),
        Just("[[purposes.list]]\n".to_string()),
        Just("[[categories]]\nid = \"x\"\n".to_string()),
        Just("１．".to_string()),
        Just("第2条".to_string()),
        Just("・".to_string()),
        Just("【】".to_string()),
        Just("|".to_string()),
        Just(":".to_string()),
        Just("：".to_string()),
        Just("2024年13月40日".to_string()),
        Just("İ".to_string()),
        "\\PC{1,12}",
        "[ -~]{1,12}",
        any::<char>().prop_map(String::from),
    ]
}

/// A TOML value, of the right type or not.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"\"".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("true".to_string()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("4294967296".to_string()),
        Just("9223372036854775807".to_string()),
        Just("1e999".to_string()),
        Just("nan".to_string()),
        Just("2024-02-30".to_string()),
        Just("2024-04-01".to_string()),
        Just("9999-12-31".to_string()),
        Just("2024-04-01T00:00:00Z".to_string()),
        Just("\"contract.name\"".to_string()),
        Just("[\"fiber\", \"fiber\"]".to_string()),
        Just("\"opt_in\"".to_string()),
        Just("\"..\"".to_string()),
        Just("[[]]".to_string()),
        "\"[^\"\\\\\\n]{0,20}\"",
        "-?[0-9]{1,20}",
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = 0.0..1.0f64;
    prop_oneof![
        3 => (at.clone(), fragment()).prop_map(|(at, text)| Edit::Insert { at, text }),
        3 => (at.clone(), 1usize..40).prop_map(|(at, len)| Edit::Remove { at, len }),
        4 => (at.clone(), value()).prop_map(|(at, value)| Edit::Value { at, value }),
        1 => at.clone().prop_map(|at| Edit::DuplicateLine { at }),
        1 => (at.clone(), at.clone()).prop_map(|(a, b)| Edit::SwapLines { a, b }),
        1 => at.prop_map(|at| Edit::Truncate { at }),
    ]
}

fn char_index(text: &str, at: f64) -> usize {
    let count = text.chars().count();
    // Truncation is the intent: a position among the characters.
    let n = ((count as f64) * at) as usize;
    text.char_indices().nth(n).map_or(text.len(), |(i, _)| i)
}

fn line_index(lines: &[String], at: f64) -> usize {
    let n = ((lines.len() as f64) * at) as usize;
    n.min(lines.len().saturating_sub(1))
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    match edit {
        Edit::Insert { at, text: insert } => {
            let i = char_index(text, *at);
            format!("{}{insert}{}", &text[..i], &text[i..])
        }
        Edit::Remove { at, len } => {
            let i = char_index(text, *at);
            let end = text[i..].char_indices().nth(*len).map_or(text.len(), |(j, _)| i + j);
            format!("{}{}", &text[..i], &text[end..])
        }
        Edit::Value { at, value } => {
            let i = line_index(&lines, *at);
            if let Some((key, _)) = lines[i].split_once('=') {
                lines[i] = format!("{key}= {value}");
            }
            lines.join("\n")
        }
        Edit::DuplicateLine { at } => {
            let i = line_index(&lines, *at);
            let line = lines[i].clone();
            lines.insert(i, line);
            lines.join("\n")
        }
        Edit::SwapLines { a, b } => {
            let (a, b) = (line_index(&lines, *a), line_index(&lines, *b));
            lines.swap(a, b);
            lines.join("\n")
        }
        Edit::Truncate { at } => text[..char_index(text, *at)].to_string(),
    }
}

fn edited(base: &str, edits: &[Edit]) -> String {
    edits.iter().fold(base.to_string(), |text, e| apply(&text, e))
}

fn today() -> Date {
    Date::new(2026, 1, 1).expect("a date")
}

/// The properties of `check` on any text: no panic (rendering with miette included); a parse
/// failure is one `parse` diagnostic that names its line; every diagnostic has a known rule
/// and points inside the text; a policy that parses prints and reads back as itself.
fn check_properties(text: &str) -> Result<(), TestCaseError> {
    let report = check::check(text);
    let lines = u32::try_from(text.split('\n').count()).expect("few lines");
    match &report.policy {
        None => {
            prop_assert_eq!(report.diagnostics.len(), 1, "{:?}", report.diagnostics);
            let d = &report.diagnostics[0];
            prop_assert_eq!(d.rule, "parse");
            prop_assert!(d.position.is_some(), "a parse error names its line: {:?}", d);
            prop_assert!(!d.message.is_empty() && !d.message.ends_with('.'), "{:?}", d);
            prop_assert!(parse(text).is_err());
        }
        Some(policy) => {
            let again = parse(text);
            prop_assert_eq!(again.as_ref(), Ok(policy));
            let printed = to_toml(policy);
            let back = parse(&printed);
            prop_assert_eq!(back.as_ref(), Ok(policy), "the printed policy reads back:\n{}", printed);
            prop_assert_eq!(PolicyDigest::of(back.as_ref().expect("parsed")), PolicyDigest::of(policy));
            // Rendering a policy that parsed never panics, whatever `check` found in it.
            for lang in [Lang::Ja, Lang::En] {
                let _ = render::text(&render::document(policy, lang, &[], today()));
            }
            let without_file: Vec<&str> = check::check_policy(policy).iter().map(|d| d.rule).collect();
            let with_file: Vec<&str> = report.diagnostics.iter().map(|d| d.rule).collect();
            let mut a = without_file.clone();
            let mut b = with_file.clone();
            a.sort_unstable();
            b.sort_unstable();
            prop_assert_eq!(a, b, "the same findings with and without the file");
        }
    }
    for d in &report.diagnostics {
        prop_assert!(RULES.contains(&d.rule), "{:?}", d);
        prop_assert!(d.position.is_some() || !d.field.is_empty(), "every diagnostic names a line or a field: {:?}", d);
        if let Some(span) = &d.span {
            prop_assert!(span.start <= span.end && span.end <= text.len(), "{:?}", d);
            prop_assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end), "{:?}", d);
        }
        if let Some(p) = d.position {
            prop_assert!(p.line >= 1 && p.line <= lines, "line {} of {}: {:?}", p.line, lines, d);
            prop_assert!(p.column >= 1);
        }
        if d.severity == Severity::Error {
            prop_assert!(!report.is_valid());
        }
        let rendered = format!(
            "{:?}",
            miette::Report::new(d.clone()).with_source_code(miette::NamedSource::new("policy.toml", text.to_string()))
        );
        prop_assert!(rendered.contains(d.rule), "{}", rendered);
    }
    Ok(())
}

/// The properties of `import` on any text: no panic; only an empty or binary text is
/// refused, naming its line when it is binary; warnings point at lines of the text; the
/// policy it makes prints as a policy file that reads back as the same policy, and that
/// file's `check` holds to [`check_properties`].
fn import_properties(text: &str) -> Result<(), TestCaseError> {
    let lines = u32::try_from(text.lines().count()).expect("few lines");
    match import(text) {
        Err(e) => {
            let binary = text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n' | '\u{c}'));
            prop_assert!(text.trim().is_empty() || binary, "refused a text: {}", e);
            if binary {
                prop_assert!(e.line.is_some_and(|l| l >= 1 && l <= lines), "{:?}", e);
            }
            prop_assert!(!e.message.is_empty() && !e.message.ends_with('.'), "{:?}", e);
        }
        Ok(imported) => {
            for w in &imported.warnings {
                prop_assert!(w.line >= 1 && w.line <= lines.max(1), "warning outside the text: {:?}", w);
                prop_assert!(!w.message.is_empty() && !w.message.ends_with('.'), "{:?}", w);
            }
            for fate in &imported.lines {
                prop_assert!(fate.line >= 1 && fate.line <= lines, "{:?}", fate);
            }
            let printed = to_toml(&imported.policy);
            let back = parse(&printed);
            prop_assert_eq!(back.as_ref(), Ok(&imported.policy), "the imported policy reads back");
            check_properties(&printed)?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// The demo carrier's policy file with random edits.
    #[test]
    fn edited_policy_files_never_panic_and_errors_name_a_line(edits in prop::collection::vec(edit(), 1..6)) {
        check_properties(&edited(DEMO, &edits))?;
    }

    /// The smallest valid policy file (the fixtures' base) with random edits.
    #[test]
    fn edited_base_policy_files_never_panic_and_errors_name_a_line(edits in prop::collection::vec(edit(), 1..6)) {
        check_properties(&edited(VALID_BASE, &edits))?;
    }

    /// Text that is no policy file at all.
    #[test]
    fn any_text_is_checked_without_panic(text in prop_oneof!["\\PC{0,200}", "[ -~\n]{0,200}", any::<String>()]) {
        check_properties(&text)?;
    }

    /// Published policy texts with random edits.
    #[test]
    fn edited_policy_texts_import_without_panic_and_round_trip(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..8),
    ) {
        let fixtures = import_fixtures();
        let base: &String = which.get(&fixtures);
        import_properties(&edited(base, &edits))?;
    }

    /// Any text handed to the importer, control characters included.
    #[test]
    fn any_text_imports_without_panic(text in prop_oneof!["\\PC{0,300}", "[ -~\n\t\r]{0,300}", any::<String>()]) {
        import_properties(&text)?;
    }
}

/// The seed policy text our first customer publishes, with random edits (it is test input in
/// `../shared/seed/`, never copied into the repository).
#[test]
fn edited_seed_texts_import_without_panic_and_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seed");
    let seed = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|x| x == "txt"))
        .expect("a seed policy text in shared/seed");
    let seed = std::fs::read_to_string(seed).expect("UTF-8 seed");
    let mut runner = proptest::test_runner::TestRunner::new(config());
    runner
        .run(&prop::collection::vec(edit(), 1..8), |edits| import_properties(&edited(&seed, &edits)))
        .unwrap_or_else(|e| panic!("{e}"));
}
