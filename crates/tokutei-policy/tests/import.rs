//! Import of published policy texts: one fixture per variant of real policies (numbering,
//! bullets, brackets, English, tables, several services, unplaceable text) in `tests/import/`,
//! each snapshotted as the policy file, the warnings and the Japanese (or English) rendering;
//! and properties that hold for any text.

use std::path::PathBuf;

use proptest::prelude::*;
use tokutei_policy::import::{Imported, Place, import};
use tokutei_policy::render::{self};
use tokutei_policy::{Date, Lang, parse, to_toml};
use unicode_normalization::UnicodeNormalization;

fn fixtures() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/import");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("fixture directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| {
            let name = p.file_stem().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("fixture is UTF-8"))
        })
        .collect();
    out.sort();
    assert!(out.len() >= 5, "fixtures missing in {}", dir.display());
    out
}

fn today() -> Date {
    Date::new(2026, 1, 1).unwrap()
}

/// What a person reviews after an import: the policy file, the warnings, the rendering.
fn report(imported: &Imported, langs: &[Lang]) -> String {
    let mut out = String::from("# policy file\n");
    out.push_str(&to_toml(&imported.policy));
    out.push_str("\n# warnings\n");
    for w in &imported.warnings {
        out.push_str(&format!("{}: {}\n", w.line, w.message));
    }
    for &lang in langs {
        out.push_str(&format!("\n# rendering ({})\n", lang.code()));
        out.push_str(&render::text(&render::document(&imported.policy, lang, &[], today())));
    }
    out
}

#[test]
fn fixtures_import_as_snapshotted() {
    for (name, text) in fixtures() {
        let imported = import(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let langs = match name.as_str() {
            n if n.starts_with("en-") => &[Lang::En][..],
            n if n.contains("bilingual") => &[Lang::Ja, Lang::En][..],
            _ => &[Lang::Ja][..],
        };
        insta::with_settings!({ snapshot_path => "import/snapshots", prepend_module_to_snapshot => false, description => name.clone() }, {
            insta::assert_snapshot!(name.clone(), report(&imported, langs));
        });
    }
}

#[test]
fn fixtures_round_trip_through_the_policy_file() {
    for (name, text) in fixtures() {
        let policy = import(&text).expect("imports").policy;
        let back = parse(&to_toml(&policy)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back, policy, "{name}");
    }
}

/// NFKC, without a leading list or heading mark, without white space.
fn normalise(line: &str) -> String {
    let s: String = line.nfkc().collect();
    let mut s = s.trim();
    loop {
        let before = s;
        s = s.trim_start_matches(['・', '●', '■', '-', '－', '※', '【', '<', '>', '】', ' ']);
        for close in [')', '.', '条'] {
            if let Some(pos) = s.find(close) {
                let inner = s[..pos].trim_start_matches(['(', '第']);
                if pos <= 6 && !inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit()) {
                    s = &s[pos + close.len_utf8()..];
                }
            }
        }
        if s == before {
            break;
        }
    }
    s.trim_end_matches(['】', '>', ' ', '-']).chars().filter(|c| !c.is_whitespace()).collect()
}

/// Every line placed in a free-text field of a fixture shows up in the rendering, in order.
#[test]
fn fixture_text_fields_render_in_order() {
    for (name, text) in fixtures() {
        let imported = import(&text).expect("imports");
        let raw: Vec<&str> = text.lines().collect();
        // Each line is looked for in the rendering of its own language.
        for lang in [Lang::Ja, Lang::En] {
            let rendered = render::text(&render::document(&imported.policy, lang, &[], today()));
            let haystack: String = rendered.lines().map(normalise).collect();
            let mut from = 0;
            for fate in &imported.lines {
                let Place::Field(field) = fate.place else { continue };
                let checked = [
                    "header.preamble",
                    "content",
                    "acquisition",
                    "purposes",
                    "security",
                    "foreign.intro",
                    "contact.text",
                    "leaks.text",
                ];
                let line = raw[fate.line as usize - 1];
                if !checked.iter().any(|c| field.starts_with(c)) || (lang == Lang::Ja) != has_japanese(&normalise(line))
                {
                    continue;
                }
                // Sentences may be split off a line (a call-recording note), so look for each.
                for sentence in line.split_inclusive(['。']).flat_map(|s| s.split_inclusive(". ")) {
                    let sentence = normalise(sentence);
                    match haystack[from..].find(&sentence) {
                        Some(at) => from += at + sentence.len(),
                        None => {
                            panic!("{name}: line {} ({field}) not rendered in order: {sentence}\n{rendered}", fate.line)
                        }
                    }
                }
            }
        }
    }
}

fn has_japanese(s: &str) -> bool {
    s.chars().any(|c| matches!(c, '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}' | '\u{3001}'..='\u{3002}'))
}

#[test]
fn variants_are_understood() {
    let all = fixtures();
    let get = |n: &str| import(&all.iter().find(|(name, _)| name == n).expect("fixture").1).expect("imports").policy;

    let p = get("ja-fullwidth-numbered");
    assert_eq!(p.header.enacted, Date::new(2025, 4, 1).unwrap());
    assert!(p.header.preamble.as_ref().is_some_and(|t| t.ja.starts_with("当社は")), "a sentence before the sections");
    assert!(p.foreign.none && p.foreign.entries.is_empty());
    assert_eq!(p.security.measures.len(), 7);
    assert_eq!(p.contact.phone.as_deref(), Some("0120-123-456"));
    assert_eq!(p.leaks.years, 5);
    assert_eq!(p.purposes.list.len(), 4);
    assert!(p.unplaced.is_empty(), "{:?}", p.unplaced);

    let p = get("ja-articles-table");
    assert_eq!(p.header.revisions.len(), 1);
    let services: Vec<&str> = p.services.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(services, ["voice", "email"]);
    assert_eq!(p.categories.len(), 2);
    let countries: Vec<Option<&str>> = p.foreign.entries.iter().map(|e| e.country_code.as_deref()).collect();
    assert_eq!(countries, [Some("SG"), Some("IE"), Some("US"), None], "an unknown country has no code");
    assert_eq!(p.foreign.entries[1].regimes.len(), 1);
    assert!(!p.foreign.entries[1].regimes_none);
    assert_eq!(p.leaks.since, Date::new(2024, 10, 1).unwrap());
    assert_eq!(p.leaks.years, 10);
    assert_eq!(p.unplaced.len(), 1, "a listed incident is not imported silently");

    let p = get("ja-brackets-blocks");
    let services: Vec<&str> = p.services.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(services, ["mwf", "mcr"]);
    assert_eq!(p.foreign.entries.len(), 2);
    assert!(p.foreign.entries[1].recipient.is_some());
    assert_eq!(p.security.measures.len(), 7);
    assert_eq!(p.contact.email.as_deref(), Some("privacy@hikari-mori.example"));

    let p = get("en-policy");
    assert!(p.header.title.ja.is_empty());
    assert_eq!(p.header.title.en.as_deref(), Some("Specified User Information Handling Policy"));
    assert_eq!(p.header.representative.name.en.as_deref(), Some("Sora Kumoi"));
    assert_eq!(p.purposes.list.len(), 4);
    assert!(p.purposes.list.iter().all(|x| x.continues_after_termination));
    assert_eq!(p.foreign.entries[0].country_code.as_deref(), Some("US"));
    assert_eq!(p.acquisition.notes.len(), 1);
    assert!(p.acquisition.indirect);
    assert_eq!(p.leaks.since, Date::new(2025, 4, 1).unwrap());

    let p = get("ja-en-bilingual");
    assert_eq!(p.header.title.en.as_deref(), Some("Specified User Information Handling Policy"));
    assert_eq!(p.header.company.en.as_deref(), Some("Soyokaze Telecom Co., Ltd."));
    assert_eq!(p.header.representative.name.en.as_deref(), Some("Soyo Kazama"));
    assert_eq!(p.services.len(), 1, "the English line names the same service");
    assert_eq!(p.services[0].name.en.as_deref(), Some("Soyokaze Hikari"));
    assert_eq!(p.purposes.list.len(), 2);
    assert!(p.purposes.list.iter().all(|x| !x.text.ja.is_empty() && x.text.en.is_some()));
    assert_eq!(p.security.measures.len(), 1);
    assert_eq!(p.security.measures[0].text.en.as_deref(), Some("We set a basic policy."));
    assert_eq!(p.foreign.entries.len(), 1);
    assert_eq!(p.foreign.entries[0].country_code.as_deref(), Some("GB"));
    assert!(p.contact.heading.as_ref().is_some_and(|h| h.en.is_some()));
    assert!(p.unplaced.is_empty(), "{:?}", p.unplaced);

    let p = get("ja-tabs-unplaced");
    assert_eq!(p.header.enacted, Date::new(2025, 3, 3).unwrap());
    assert_eq!(p.foreign.entries.len(), 2);
    assert_eq!(p.unplaced.len(), 1);
    assert_eq!(p.unplaced[0].line, 2);
}

fn line_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("特定利用者情報の取扱方針".to_string()),
        Just("制定 2024年4月12日".to_string()),
        Just("1. 利用目的".to_string()),
        Just("（1）基本方針の策定".to_string()),
        Just("第3条 安全管理措置".to_string()),
        Just("【お問い合わせ】".to_string()),
        Just("・料金を請求すること".to_string()),
        Just("- To answer inquiries".to_string()),
        Just("対象サービス:テスト網(TN)".to_string()),
        Just("保管・委託先国名称:米国、ルーンランド".to_string()),
        Just("| 対象サービス | 国 | 制度 |".to_string()),
        Just("a\tb\tc".to_string()),
        Just("事故内容:なし".to_string()),
        Just("事故内容:あり".to_string()),
        Just("漏えい".to_string()),
        Just("-".to_string()),
        Just(" -".to_string()),
        Just("※".to_string()),
        Just("<>".to_string()),
        Just("【】".to_string()),
        Just("(".to_string()),
        Just("第条".to_string()),
        Just("".to_string()),
        "\\PC{0,40}",
        "[ -~]{0,40}",
        "[・●■※（）(0-9１２．.:：|\t -]{0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Import never panics, and every non-blank line is either placed or kept as unplaced
    /// with a warning; what it produces is a policy file that reads back the same.
    #[test]
    fn every_line_is_placed_or_kept(lines in prop::collection::vec(line_strategy(), 0..40)) {
        let text = lines.join("\n");
        match import(&text) {
            Err(e) => {
                let binary = text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n' | '\u{c}'));
                prop_assert!(text.trim().is_empty() || binary, "rejected a text: {e}");
            }
            Ok(imported) => {
                for (i, raw) in text.lines().enumerate() {
                    let no = u32::try_from(i + 1).unwrap();
                    if raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}').is_empty() {
                        continue;
                    }
                    let fate = imported.lines.iter().find(|f| f.line == no);
                    prop_assert!(fate.is_some(), "line {} was dropped: {:?}", no, raw);
                    if fate.map(|f| f.place) == Some(Place::Unplaced) {
                        prop_assert!(imported.policy.unplaced.iter().any(|u| u.line == no));
                        prop_assert!(imported.warnings.iter().any(|w| w.line == no));
                    }
                }
                prop_assert_eq!(
                    imported.policy.unplaced.len(),
                    imported.lines.iter().filter(|f| f.place == Place::Unplaced).count()
                );
                let back = parse(&to_toml(&imported.policy));
                prop_assert_eq!(back.as_ref(), Ok(&imported.policy));
                // The rendering never panics either.
                let _ = render::text(&render::document(&imported.policy, Lang::En, &[], today()));
            }
        }
    }
}

fn fixture_policy(name: &str) -> tokutei_policy::Policy {
    let (_, text) = fixtures().into_iter().find(|(n, _)| n == name).expect("fixture");
    import(&text).expect("imports").policy
}

/// The structure the HTML page walks, pinned for one fixture.
#[test]
fn document_structure_is_snapshotted() {
    let doc = render::document(&fixture_policy("ja-brackets-blocks"), Lang::Ja, &[], today());
    let ids: Vec<&str> = doc.sections.iter().map(|s| s.id).collect();
    assert_eq!(ids, ["content", "acquisition", "purposes", "security", "foreign", "contact", "leaks"]);
    insta::with_settings!({ snapshot_path => "import/snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_json_snapshot!("document-ja-brackets-blocks", doc);
    });
}

fn leaks_section(doc: &render::Document) -> &render::Section {
    doc.sections.iter().find(|s| s.id == "leaks").expect("leaks section")
}

#[test]
fn listed_leaks_replace_the_none_line_inside_their_window() {
    use tokutei_policy::leaks::PublishedLeak;
    let policy = fixture_policy("ja-fullwidth-numbered"); // since 2025-04-01, 5 years
    let d = |y, m, day| Date::new(y, m, day).unwrap();
    let leak = PublishedLeak {
        id: "inc-1".into(),
        occurred: d(2025, 6, 1),
        published: d(2025, 6, 20),
        summary: tokutei_policy::Text::new("請求書の誤送付", "invoices sent to the wrong address"),
    };
    let leaks = [leak];
    let ja = render::text(&render::document(&policy, Lang::Ja, &leaks, d(2026, 1, 1)));
    assert!(ja.contains("発生日：2025年6月1日\n事故内容：請求書の誤送付\n"), "{ja}");
    assert!(!ja.contains("事故内容：なし"), "{ja}");
    let en = render::text(&render::document(&policy, Lang::En, &leaks, d(2026, 1, 1)));
    assert!(en.contains("Date of occurrence: 1 June 2025\nIncidents: invoices sent to the wrong address\n"), "{en}");
    // Before publication and after the 5 years: none listed.
    for today in [d(2025, 6, 19), d(2030, 6, 1)] {
        let doc = render::document(&policy, Lang::Ja, &leaks, today);
        let last = leaks_section(&doc).blocks.last().expect("blocks");
        assert_eq!(
            last,
            &render::Block::Fields(vec![render::Field {
                label: "事故内容".into(),
                value: render::Inline::Text("なし".into())
            }]),
            "{today}"
        );
    }
}

#[test]
fn english_shows_translations_and_marks_only_the_gaps() {
    let mut policy = fixture_policy("ja-fullwidth-numbered");
    policy.header.title.en = Some("Handling Policy".into());
    policy.purposes.list[0].text.en = Some("To bill you".into());
    let text = render::text(&render::document(&policy, Lang::En, &[], today()));
    assert!(text.starts_with("Handling Policy\n"), "{text}");
    assert!(text.contains("- To bill you\n"), "{text}");
    assert!(text.contains("- [English translation not provided: purpose `marketing`]\n"), "{text}");
    assert!(!text.contains("料金"), "no Japanese fallback: {text}");
}

#[test]
fn individually_set_purposes_are_not_listed() {
    let mut policy = fixture_policy("ja-fullwidth-numbered");
    policy.purposes.list[1].individually_set = true;
    let text = render::text(&render::document(&policy, Lang::Ja, &[], today()));
    assert!(!text.contains(&policy.purposes.list[1].text.ja), "{text}");
    assert!(text.contains(&policy.purposes.list[0].text.ja), "{text}");
}

#[test]
fn english_service_names_survive_case_folding_that_changes_lengths() {
    // `İ` lowercases to two characters: slicing by positions found in a lowercased copy
    // would cut inside a character.
    let text = "Information we acquire\nİİİ information of customers of Kumo Fiber.\n";
    let imported = import(text).expect("imports");
    assert!(imported.policy.services.iter().any(|s| s.name.en.as_deref() == Some("Kumo Fiber")));
}
