//! The acceptance test of issue 2: the seed policy (read from `../shared/seed/`, never copied
//! into the repository) imports completely and its Japanese rendering reproduces every
//! sentence of it, in order.

use std::path::PathBuf;

use tokutei_policy::import::{Place, import};
use tokutei_policy::render::{self, Block, Inline};
use tokutei_policy::{AcquisitionMethod, Channel, ConsentMode, Date, Lang, MeasureKind, Role, parse, to_toml};
use unicode_normalization::UnicodeNormalization;

fn seed_texts() -> Vec<(PathBuf, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seed");
    let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read the seed directory {}: {e}", dir.display()))
        .map(|e| e.expect("seed directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("seed is UTF-8");
            (p, text)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seed text in {}", dir.display());
    out
}

fn today() -> Date {
    Date::new(2026, 1, 1).unwrap()
}

const BULLETS: &[char] = &['・', '●', '○', '■', '□', '◆', '-', '－', '※', '*', '•'];

/// NFKC, without leading bullet marks, a glued trailing ` -` separator, or any white space.
fn normalise_line(line: &str) -> String {
    let nfkc: String = line.nfkc().collect();
    let mut t = nfkc.trim();
    // A separator glued to the end of a line (`なし -`).
    while let Some(rest) = t.strip_suffix('-').filter(|r| r.ends_with(char::is_whitespace)) {
        t = rest.trim_end();
    }
    let t = t.trim_start_matches(|c: char| BULLETS.contains(&c) || c.is_whitespace());
    t.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The seed's sentences: split on line ends and 。, lone `-` lines dropped.
fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let n = normalise_line(line);
        if n.is_empty() || n.chars().all(|c| c == '-') {
            continue;
        }
        for s in n.split_inclusive('。') {
            if !s.is_empty() {
                out.push(s.to_string());
            }
        }
    }
    out
}

#[test]
fn seed_imports_completely_and_renders_every_sentence_in_order() {
    for (path, seed) in seed_texts() {
        let imported = import(&seed).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let policy = &imported.policy;
        assert!(policy.unplaced.is_empty(), "{}: unplaced text {:?}", path.display(), policy.unplaced);
        assert!(!imported.lines.iter().any(|f| f.place == Place::Unplaced));

        let text = render::text(&render::document(policy, Lang::Ja, &[], today()));
        let rendered: String = text.lines().map(normalise_line).collect();
        let mut from = 0;
        for sentence in sentences(&seed) {
            match rendered[from..].find(&sentence) {
                Some(at) => from += at + sentence.len(),
                None => panic!(
                    "{}: sentence not found in order in the rendering:\n  {sentence}\nrendering:\n{text}",
                    path.display()
                ),
            }
        }
    }
}

#[test]
fn seed_round_trips_through_the_policy_file() {
    for (path, seed) in seed_texts() {
        let policy = import(&seed).expect("imports").policy;
        let toml = to_toml(&policy);
        let back = parse(&toml).unwrap_or_else(|e| panic!("{}: {e}\n{toml}", path.display()));
        assert_eq!(back, policy, "{}", path.display());
    }
}

#[test]
fn seed_structure_is_inferred() {
    let (_, seed) = seed_texts().remove(0);
    let p = import(&seed).expect("imports").policy;
    assert_eq!(p.header.enacted, Date::new(2024, 4, 12).unwrap());
    assert!(!p.header.company.ja.is_empty());
    assert!(!p.header.representative.title.ja.is_empty() && !p.header.representative.name.ja.is_empty());
    assert_eq!(p.acquisition.methods, AcquisitionMethod::ALL.to_vec());
    assert!(p.acquisition.direct && p.acquisition.indirect);
    assert_eq!(p.acquisition.notes.len(), 1, "the call-recording sentence is a note");
    let ids: Vec<&str> = p.purposes.list.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "service_provision",
            "marketing",
            "service_improvement",
            "inquiries",
            "behavior_analysis_ads",
            "partner_campaigns",
            "third_party_ads"
        ]
    );
    let purpose = |id: &str| p.purpose(id).expect("purpose");
    assert_eq!(purpose("service_provision").consent, ConsentMode::None);
    assert_eq!(purpose("inquiries").consent, ConsentMode::None);
    assert_eq!(purpose("marketing").consent, ConsentMode::OptOut);
    assert_eq!(purpose("third_party_ads").consent, ConsentMode::OptOut);
    assert_eq!(purpose("marketing").channels, [Channel::Phone, Channel::Email, Channel::Post]);
    assert!(purpose("third_party_ads").third_party_provision);
    assert!(!purpose("partner_campaigns").third_party_provision);
    assert!(p.purposes.list.iter().all(|x| x.continues_after_termination && x.categories.len() == 1));
    assert_eq!(p.purposes.notes.len(), 2);
    let kinds: Vec<MeasureKind> = p.security.measures.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, MeasureKind::REQUIRED.to_vec());
    assert_eq!(p.security.measures[0].owner, Role::ChiefManager);
    assert_eq!(p.security.measures[3].owner, Role::ResponsiblePerson);
    assert_eq!(p.foreign.entries.len(), 1);
    let row = &p.foreign.entries[0];
    assert_eq!(row.service, "gin");
    assert_eq!(row.country_code.as_deref(), Some("US"));
    assert!(row.regimes_none);
    assert_eq!(row.reviewed, p.header.enacted);
    let services: Vec<&str> = p.services.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(services, ["internet", "gin"]);
    assert_eq!(p.categories.len(), 1);
    assert!(p.contact.email.is_some() && p.contact.heading.is_some());
    assert_eq!(p.leaks.since, Date::new(2024, 1, 18).unwrap());
    assert_eq!(p.leaks.years, 10);
    assert!(!p.leaks.text.ja.contains("事故内容"), "the closing なし line is computed");
}

fn is_japanese(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{30ff}' | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{ff00}'..='\u{ffef}')
}

fn assert_no_japanese(s: &str, context: &str) {
    assert!(!s.chars().any(is_japanese), "Japanese text in the English rendering: {s:?} ({context})");
}

fn check_inline(i: &Inline, markers: &mut usize) {
    match i {
        Inline::Text(t) => assert_no_japanese(t, "inline"),
        Inline::MissingTranslation(what) => {
            *markers += 1;
            assert_no_japanese(what, "marker");
        }
    }
}

fn check_block(b: &Block, markers: &mut usize) {
    match b {
        Block::Paragraph(t) | Block::Note(t) => assert_no_japanese(t, "paragraph"),
        Block::List(items) => items.iter().for_each(|i| check_inline(i, markers)),
        Block::Subsection { heading, blocks } => {
            check_inline(heading, markers);
            blocks.iter().for_each(|b| check_block(b, markers));
        }
        Block::Fields(fields) => fields.iter().for_each(|f| {
            assert_no_japanese(&f.label, "label");
            check_inline(&f.value, markers);
        }),
        Block::Contact { heading, lines } => {
            heading.iter().for_each(|h| check_inline(h, markers));
            lines.iter().for_each(|l| check_inline(l, markers));
        }
        Block::MissingTranslation(what) => {
            *markers += 1;
            assert_no_japanese(what, "marker");
        }
    }
}

#[test]
fn english_rendering_of_the_seed_marks_missing_translations_and_mixes_no_japanese() {
    for (_, seed) in seed_texts() {
        let policy = import(&seed).expect("imports").policy;
        let doc = render::document(&policy, Lang::En, &[], today());
        let mut markers = 0;
        check_inline(&doc.title, &mut markers);
        doc.meta.iter().for_each(|m| check_inline(m, &mut markers));
        for s in &doc.sections {
            assert_no_japanese(&s.heading, "heading");
            s.blocks.iter().for_each(|b| check_block(b, &mut markers));
        }
        assert!(markers >= 10, "the seed has no English: expected many markers, got {markers}");
        let text = render::text(&doc);
        assert!(text.contains(render::MISSING_TRANSLATION));
        assert_no_japanese(&text, "text rendering");
        assert!(text.contains("Enacted 12 April 2024"), "{text}");
    }
}

/// `policy import` then `policy check`: the imported seed is a valid policy file (missing
/// English translations are warnings only).
#[test]
fn imported_seed_passes_the_policy_check() {
    for (path, seed) in seed_texts() {
        let toml = to_toml(&import(&seed).expect("imports").policy);
        let report = tokutei_policy::check::check(&toml);
        let errors: Vec<String> = report.errors().map(|d| format!("{} {}: {}", d.rule, d.field, d.message)).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}
