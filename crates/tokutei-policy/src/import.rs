//! Import of a published policy text (the page a carrier publishes) into a [`Policy`].
//!
//! The importer is tolerant: it finds the sections by their headings in Japanese or English,
//! whatever their numbering (`1.`, `１．`, `（1）`, `第1条`, `■`, `【…】`), reads lists with any
//! bullet (`・`, `●`, `-`, `※`…), the foreign register as `label:value` blocks or a table, and
//! infers the structured fields (purpose ids, consent modes, channels, measure kinds, country
//! codes) from the words. It never drops text silently: a line it cannot place is kept in
//! `policy.unplaced` with its line number and reported as an [`ImportWarning`]; what it had to
//! assume (categories, retention, review dates) is reported too.
//!
//! Lines are read in [`line`]; the vocabularies are in [`tables`].

mod line;
mod tables;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::*;
use line::{Line, LineLang, Mark};
use tables::SectionId;

/// The result of an import: the policy and what the importer had to assume or could not place.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub policy: Policy,
    pub warnings: Vec<ImportWarning>,
    /// Where each non-blank line of the text went, in line order.
    pub lines: Vec<LineFate>,
}

/// Something a person must look at: an assumption, a default, text that could not be placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportWarning {
    /// 1-based line of the imported text the warning is about (the section heading for
    /// section-wide warnings, 1 for the whole text).
    pub line: u32,
    /// Lowercase, no final period.
    pub message: String,
}

/// The text is not a policy text at all (empty, binary).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ImportError {
    pub line: Option<u32>,
    pub message: String,
}

/// Where one line of the imported text went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineFate {
    pub line: u32,
    pub place: Place,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// A separator line (`-`, `---`).
    Separator,
    /// A section heading.
    Heading,
    /// Its text went into this field of the policy.
    Field(&'static str),
    /// Computed on rendering rather than imported (e.g. `事故内容:なし`).
    Computed,
    /// Kept in `policy.unplaced`.
    Unplaced,
}

/// Import a published policy text.
pub fn import(text: &str) -> Result<Imported, ImportError> {
    check_is_text(text)?;
    let lines: Vec<Line> =
        text.lines().enumerate().map(|(i, raw)| Line::parse(u32::try_from(i + 1).unwrap_or(u32::MAX), raw)).collect();
    Ok(Importer::new(&lines).run())
}

fn check_is_text(text: &str) -> Result<(), ImportError> {
    for (i, l) in text.lines().enumerate() {
        if l.chars().any(|c| c == '\0' || (c.is_control() && !matches!(c, '\t' | '\r' | '\u{c}'))) {
            return Err(ImportError {
                line: Some(u32::try_from(i + 1).unwrap_or(u32::MAX)),
                message: format!("line {} holds binary data: this is not a policy text", i + 1),
            });
        }
    }
    if text.trim().is_empty() {
        return Err(ImportError { line: None, message: "the text is empty: there is no policy to import".into() });
    }
    Ok(())
}

/// Japanese and English lines of one text field.
#[derive(Debug, Default)]
struct TextBuf {
    ja: Vec<String>,
    en: Vec<String>,
}

impl TextBuf {
    fn push(&mut self, lang: Lang, s: String) {
        match lang {
            Lang::Ja => self.ja.push(s),
            Lang::En => self.en.push(s),
        }
    }

    fn is_empty(&self) -> bool {
        self.ja.is_empty() && self.en.is_empty()
    }

    fn into_text(self) -> Text {
        Text { ja: self.ja.join("\n"), en: if self.en.is_empty() { None } else { Some(self.en.join("\n")) } }
    }
}

/// Set `text` in `lang` when it has the other language only: a bilingual text gives each
/// line in both languages. Whether it did.
fn fill_translation(text: Option<&mut Text>, lang: Lang, s: &str) -> bool {
    let Some(text) = text else { return false };
    match lang {
        Lang::En if text.en.is_none() && !text.ja.is_empty() => text.en = Some(s.to_string()),
        Lang::Ja if text.ja.is_empty() && text.en.is_some() => text.ja = s.to_string(),
        _ => return false,
    }
    true
}

/// List items as texts: a bilingual list gives each item in both languages, either item by
/// item (ja, en, ja, en) or as two blocks of the same length (ja, ja, en, en).
fn pair_translations(items: Vec<(u32, Lang, String)>) -> Vec<(u32, Text)> {
    let ja = items.iter().filter(|i| i.1 == Lang::Ja).count();
    let en = items.len() - ja;
    let switches = items.windows(2).filter(|w| w[0].1 != w[1].1).count();
    if ja > 1 && ja == en && switches == 1 {
        let (first, second) = items.split_at(ja);
        return first
            .iter()
            .zip(second)
            .map(|(a, b)| {
                let mut t = text_in(a.1, a.2.clone());
                fill_translation(Some(&mut t), b.1, &b.2);
                (a.0, t)
            })
            .collect();
    }
    let mut out: Vec<(u32, Text)> = Vec::new();
    for (no, lang, s) in items {
        if !fill_translation(out.last_mut().map(|i| &mut i.1), lang, &s) {
            out.push((no, text_in(lang, s)));
        }
    }
    out
}

/// Push a list entry, or make it the translation of the previous one (bilingual texts).
fn push_or_pair(list: &mut Vec<Text>, lang: Lang, s: String) {
    if !fill_translation(list.last_mut(), lang, &s) {
        list.push(text_in(lang, s));
    }
}

fn text_in(lang: Lang, s: impl Into<String>) -> Text {
    match lang {
        Lang::Ja => Text::ja(s),
        Lang::En => Text { ja: String::new(), en: Some(s.into()) },
    }
}

/// Add `s` to `text` in `lang` (as a new line of the field).
fn add_to_text(text: &mut Text, lang: Lang, s: &str) {
    match lang {
        Lang::Ja => {
            if !text.ja.is_empty() {
                text.ja.push('\n');
            }
            text.ja.push_str(s);
        }
        Lang::En => match &mut text.en {
            Some(en) if !en.is_empty() => {
                en.push('\n');
                en.push_str(s);
            }
            _ => text.en = Some(s.to_string()),
        },
    }
}

struct Importer<'a> {
    lines: &'a [Line],
    /// The language of the document: most lines with words in them.
    lang: Lang,
    warnings: Vec<ImportWarning>,
    fates: BTreeMap<u32, Place>,
    unplaced: Vec<Unplaced>,
    services: Vec<Service>,
}

impl<'a> Importer<'a> {
    fn new(lines: &'a [Line]) -> Importer<'a> {
        let en = lines.iter().filter(|l| l.lang == LineLang::En).count();
        let ja = lines.iter().filter(|l| l.lang == LineLang::Ja).count();
        Importer {
            lines,
            lang: if en > ja { Lang::En } else { Lang::Ja },
            warnings: Vec::new(),
            fates: BTreeMap::new(),
            unplaced: Vec::new(),
            services: Vec::new(),
        }
    }

    fn warn(&mut self, line: u32, message: impl Into<String>) {
        self.warnings.push(ImportWarning { line, message: message.into() });
    }

    fn place(&mut self, l: &Line, place: Place) {
        self.fates.insert(l.no, place);
    }

    fn unplace(&mut self, l: &Line, why: &str) {
        self.fates.insert(l.no, Place::Unplaced);
        self.unplaced.push(Unplaced { line: l.no, text: l.with_mark() });
        self.warn(
            l.no,
            format!("line {} could not be placed ({why}), kept in `unplaced`: `{}`", l.no, preview(&l.text)),
        );
    }

    fn lang_of(&self, l: &Line) -> Lang {
        l.lang.resolve(self.lang)
    }

    /// Split the text into the header and the sections.
    fn run(mut self) -> Imported {
        let mut header: Vec<&Line> = Vec::new();
        let mut sections: Vec<(SectionId, u32, Vec<&Line>)> = Vec::new();
        for l in self.lines {
            if l.is_blank() {
                continue;
            }
            if l.separator {
                self.place(l, Place::Separator);
                continue;
            }
            let current = sections.last().map(|s| s.0);
            if let Some(id) = self.heading(l, current) {
                self.place(l, Place::Heading);
                sections.push((id, l.no, Vec::new()));
                continue;
            }
            match sections.last_mut() {
                Some((_, _, body)) => body.push(l),
                None => header.push(l),
            }
        }
        if self.lang == Lang::En {
            self.warn(
                1,
                "the text is in English: the English fields were filled and the Japanese (authoritative) fields are empty; write them before publishing",
            );
        }
        let header = self.header(&header);
        let mut by_id: BTreeMap<SectionId, (u32, Vec<&Line>)> = BTreeMap::new();
        for (id, at, body) in sections {
            let entry = by_id.entry(id).or_insert((at, Vec::new()));
            entry.1.extend(body);
        }
        for id in SectionId::ALL {
            if !by_id.contains_key(&id) {
                self.warn(1, format!("no `{}` section was found in the text", id.name()));
            }
        }
        let take = |id| by_id.get(&id).cloned().unwrap_or((1, Vec::new()));
        let (content_at, content_lines) = take(SectionId::Content);
        let (content, categories) = self.content(content_at, &content_lines);
        let (acq_at, acq_lines) = take(SectionId::Acquisition);
        let acquisition = self.acquisition(acq_at, &acq_lines);
        let (pur_at, pur_lines) = take(SectionId::Purposes);
        let purposes = self.purposes(pur_at, &pur_lines, &categories);
        let (sec_at, sec_lines) = take(SectionId::Security);
        let security = self.security(sec_at, &sec_lines);
        let (_, foreign_lines) = take(SectionId::Foreign);
        let foreign = self.foreign(&foreign_lines, header.enacted);
        let (_, contact_lines) = take(SectionId::Contact);
        let contact = self.contact(&contact_lines);
        let (leaks_at, leak_lines) = take(SectionId::Leaks);
        let leaks = self.leaks(leaks_at, &leak_lines, header.enacted);

        let mut warnings = std::mem::take(&mut self.warnings);
        warnings.sort_by_key(|w| w.line);
        let lines = self.fates.iter().map(|(&line, &place)| LineFate { line, place }).collect();
        let mut unplaced = std::mem::take(&mut self.unplaced);
        unplaced.sort_by_key(|u| u.line);
        Imported {
            policy: Policy {
                format: FORMAT_VERSION,
                header,
                services: self.services,
                content,
                categories,
                acquisition,
                purposes,
                security,
                foreign,
                contact,
                leaks,
                unplaced,
            },
            warnings,
            lines,
        }
    }

    /// The section `l` opens, if it is a heading.
    fn heading(&self, l: &Line, current: Option<SectionId>) -> Option<SectionId> {
        if l.mark == Mark::Note || l.text.is_empty() {
            return None;
        }
        // List items of the purposes are never headings (`・お問い合わせに答えること`).
        if current == Some(SectionId::Purposes) && l.mark == Mark::Bullet {
            return None;
        }
        let key = l.key.trim_end_matches([':', '：']);
        let max = if l.lang == LineLang::En || l.key.chars().any(|c| c.is_ascii_alphabetic()) { 80 } else { 40 };
        if l.char_len() > max
            || key.contains('。')
            || key.contains(':')
            || key.contains('@')
            || key.ends_with("こと")
            || key.ends_with('.') && l.lang != LineLang::En
            || key.ends_with("ます")
        {
            return None;
        }
        if l.lang == LineLang::En && (key.ends_with('.') || key.split(' ').count() > 10) {
            return None;
        }
        let id = tables::section_of(key)?;
        // A heading inside its own section is a sub-heading: `(3)組織的安全管理措置`,
        // `<特定利用者情報に関するお問い合せ先>`.
        if Some(id) == current {
            return None;
        }
        // Numbered measures inside the security section are not section headings.
        if current == Some(SectionId::Security)
            && matches!(l.mark, Mark::ParenNumber(_))
            && tables::measure_kind(key).is_some()
        {
            return None;
        }
        Some(id)
    }

    fn header(&mut self, lines: &[&Line]) -> Header {
        let mut title: Option<Text> = None;
        let mut company: Option<Text> = None;
        let mut representative: Option<Representative> = None;
        let mut enacted: Option<Date> = None;
        let mut effective: Option<Date> = None;
        let mut revisions = Vec::new();
        let mut preamble = TextBuf::default();
        for (i, l) in lines.iter().enumerate() {
            let lang = self.lang_of(l);
            let dates = line::dates(&l.key);
            if let Some(&date) = dates.first() {
                if l.has(&["改定", "改訂", "更新", "revised", "amended", "updated"]) {
                    revisions.push(Revision { date, summary: text_in(lang, l.text.clone()) });
                    self.place(l, Place::Field("header.revisions"));
                    continue;
                }
                if l.has(&["施行", "effective"]) && !l.has(&["制定"]) {
                    effective = Some(date);
                    self.place(l, Place::Field("header.effective"));
                    continue;
                }
                if (enacted.is_none() || enacted == Some(date)) && l.char_len() < 40 {
                    // The same date again is the other language's line (`Enacted: …`).
                    enacted = Some(date);
                    self.place(l, Place::Field("header.enacted"));
                    continue;
                }
            }
            // A bilingual header gives each line in both languages.
            if l.has(&["方針", "policy"]) && fill_translation(title.as_mut(), lang, &l.text) {
                self.place(l, Place::Field("header.title"));
                continue;
            }
            if is_company(&l.key) && fill_translation(company.as_mut(), lang, &l.text) {
                self.place(l, Place::Field("header.company"));
                continue;
            }
            if let Some(rep) = representative.as_mut()
                && is_representative(&l.key)
                && rep.title.get(lang).is_none_or(str::is_empty)
            {
                let (t, n) = split_representative(&l.text);
                fill_translation(Some(&mut rep.title), lang, &t);
                fill_translation(Some(&mut rep.name), lang, &n);
                self.place(l, Place::Field("header.representative"));
                continue;
            }
            if title.is_none() && l.has(&["方針", "policy"]) {
                title = Some(text_in(lang, l.text.clone()));
                self.place(l, Place::Field("header.title"));
                continue;
            }
            if company.is_none() && is_company(&l.key) {
                company = Some(text_in(lang, l.text.clone()));
                self.place(l, Place::Field("header.company"));
                continue;
            }
            if representative.is_none() && is_representative(&l.key) {
                let (t, n) = split_representative(&l.text);
                representative = Some(Representative { title: text_in(lang, t), name: text_in(lang, n) });
                self.place(l, Place::Field("header.representative"));
                continue;
            }
            if title.is_none() && (i == 0 || l.has(&["方針", "policy"])) {
                title = Some(text_in(lang, l.text.clone()));
                self.place(l, Place::Field("header.title"));
                continue;
            }
            if l.key.contains('。') || l.char_len() > 40 || l.lang == LineLang::En && l.key.ends_with('.') {
                // A sentence before the first section: the preamble (前文).
                preamble.push(lang, l.with_mark());
                self.place(l, Place::Field("header.preamble"));
                continue;
            }
            self.unplace(l, "not part of the header");
        }
        let title = title.unwrap_or_else(|| {
            self.warn(1, "no title was found; `特定利用者情報の取扱方針` is assumed");
            Text::new("特定利用者情報の取扱方針", "Specified User Information Handling Policy")
        });
        let company = company.unwrap_or_else(|| {
            self.warn(1, "no company name was found in the header; set `header.company`");
            Text::default()
        });
        let representative = representative.unwrap_or_else(|| {
            self.warn(1, "no representative was found in the header; set `header.representative`");
            Representative { title: Text::default(), name: Text::default() }
        });
        let enacted = enacted.or(effective).unwrap_or_else(|| {
            self.warn(1, "no enactment date (制定) was found; 2000-01-01 is assumed, set `header.enacted`");
            Date::new(2000, 1, 1).unwrap_or(Date(jiff::civil::Date::ZERO))
        });
        let preamble = if preamble.is_empty() { None } else { Some(preamble.into_text()) };
        Header { title, company, representative, enacted, effective, revisions, preamble }
    }

    fn service_for(&mut self, name: &str, lang: Lang) -> String {
        let key = line::fold(name);
        if let Some(s) = self.services.iter().find(|s| {
            let ja = line::fold(&s.name.ja);
            let en = s.name.en.as_deref().map(line::fold).unwrap_or_default();
            (!ja.is_empty() && (ja == key || ja.contains(&key) || key.contains(&ja)))
                || (!en.is_empty() && (en == key || en.contains(&key) || key.contains(&en)))
        }) {
            return s.id.clone();
        }
        let base = abbreviation(name)
            .or_else(|| tables::known_service_id(&key).map(str::to_string))
            .or_else(|| ascii_slug(&key))
            .unwrap_or_else(|| format!("service_{}", self.services.len() + 1));
        let mut id = base.clone();
        let mut n = 2;
        while self.services.iter().any(|s| s.id == id) {
            id = format!("{base}_{n}");
            n += 1;
        }
        self.services.push(Service { id: id.clone(), name: text_in(lang, name.trim()), designated: true });
        id
    }

    fn content(&mut self, at: u32, lines: &[&Line]) -> (ContentSection, Vec<Category>) {
        let mut text = TextBuf::default();
        let mut categories: Vec<Category> = Vec::new();
        // The services the previous line named: a bilingual text names them again in the
        // other language on the next line.
        let mut previous: Vec<String> = Vec::new();
        for l in lines {
            let lang = self.lang_of(l);
            text.push(lang, l.with_mark());
            self.place(l, Place::Field("content.text"));
            let names = service_names(&l.text, lang);
            let translates = !names.is_empty()
                && names.len() == previous.len()
                && previous
                    .iter()
                    .all(|id| self.services.iter().any(|s| s.id == *id && s.name.get(lang).is_none_or(str::is_empty)));
            if translates {
                for (name, id) in names.iter().zip(&previous) {
                    if let Some(s) = self.services.iter_mut().find(|s| s.id == *id) {
                        fill_translation(Some(&mut s.name), lang, name);
                    }
                    if let Some(c) = categories.iter_mut().find(|c| c.services.contains(id)) {
                        fill_translation(Some(&mut c.name), lang, &l.text);
                    }
                }
                previous.clear();
                continue;
            }
            previous.clear();
            for name in names {
                let sid = self.service_for(&name, lang);
                previous.push(sid.clone());
                if let Some(c) = categories.iter_mut().find(|c| c.services.contains(&sid)) {
                    add_to_text(&mut c.name, lang, &l.text);
                    continue;
                }
                categories.push(Category {
                    id: format!("{sid}.specified_user_information"),
                    services: vec![sid],
                    name: text_in(lang, l.text.clone()),
                    tier: Tier::RegisteredUserDb,
                    retention: Retention {
                        from: RetentionStart::ContractEnd,
                        months: 0,
                        note: Some(Text::new(
                            "公表された取扱方針には保存期間の記載がない",
                            "the published policy text states no retention period",
                        )),
                    },
                    retention_justification: None,
                    log: false,
                    searchable: false,
                    binary: false,
                    masks: Vec::new(),
                });
            }
        }
        if categories.is_empty() {
            self.warn(
                at,
                "no service was named in the content section; no categories were created, add `[[categories]]`",
            );
        } else {
            self.warn(
                at,
                format!(
                    "{} categor{} created, one per service named in the content section, with tier `registered_user_db` and no retention period (the text states none); refine the categories and their retention",
                    categories.len(),
                    if categories.len() == 1 { "y was" } else { "ies were" }
                ),
            );
        }
        if text.is_empty() {
            self.warn(at, "the content section is empty");
        }
        (ContentSection { text: text.into_text(), list_categories: false }, categories)
    }

    fn acquisition(&mut self, at: u32, lines: &[&Line]) -> Acquisition {
        let mut text = TextBuf::default();
        let mut notes: Vec<Text> = Vec::new();
        let mut main_key = String::new();
        for l in lines {
            let lang = self.lang_of(l);
            self.place(l, Place::Field("acquisition"));
            if l.mark == Mark::Note {
                push_or_pair(&mut notes, lang, l.with_mark());
                continue;
            }
            let mut kept = String::new();
            for sentence in sentences(&l.with_mark()) {
                let key = line::fold(&sentence);
                let is_note = !(text.is_empty() && kept.is_empty())
                    && (key.starts_with("なお") || key.starts_with("また") || key.starts_with("note"))
                    && (key.contains("録音") || key.contains("通話") || key.contains("record"))
                    || key.contains("通話を録音")
                    || (key.contains("call") && key.contains("record") && !(text.is_empty() && kept.is_empty()));
                if is_note {
                    push_or_pair(&mut notes, lang, sentence.trim().to_string());
                } else {
                    main_key.push_str(&key);
                    kept.push_str(&sentence);
                }
            }
            if !kept.trim().is_empty() {
                text.push(lang, kept.trim().to_string());
            }
        }
        let mut methods = tables::methods_of(&main_key);
        if methods.is_empty() {
            if !lines.is_empty() {
                self.warn(at, "no acquisition method (口頭, 書面, 電磁的記録, 録音, 録画, その他) was named; set `acquisition.methods`");
            }
            methods = Vec::new();
        }
        let has = |words: &[&str]| words.iter().any(|w| main_key.contains(w));
        let indirect =
            has(&["間接", "第三者から", "以外から", "indirect", "from third part", "from others", "other than you"]);
        Acquisition { text: text.into_text(), methods, direct: true, indirect, notes }
    }

    fn purposes(&mut self, at: u32, lines: &[&Line], categories: &[Category]) -> PurposeSection {
        let mut intro = TextBuf::default();
        let mut items: Vec<(u32, Lang, String)> = Vec::new();
        let mut notes: Vec<Text> = Vec::new();
        let any_marked = lines.iter().any(|l| l.is_list_item());
        for l in lines {
            let lang = self.lang_of(l);
            let key = l.key.as_str();
            let starts_note = l.mark == Mark::Note
                || key.starts_with("note:")
                || key.starts_with("notes:")
                || key.starts_with("注:")
                || key.starts_with("注記");
            if starts_note {
                let text =
                    l.text.trim_start_matches(|c: char| c.is_alphabetic() && c.is_ascii() || c == '注' || c == '記');
                let text = text.trim_start_matches([':', '：', ' ']);
                let text = if l.mark == Mark::Note || text.is_empty() { l.text.as_str() } else { text };
                push_or_pair(&mut notes, lang, text.to_string());
                self.place(l, Place::Field("purposes.notes"));
            } else if l.is_list_item() || (!any_marked && !key.ends_with(':') && !key.ends_with('。')) {
                items.push((l.no, lang, l.text.clone()));
                self.place(l, Place::Field("purposes.list"));
            } else if items.is_empty() && notes.is_empty() {
                intro.push(lang, l.text.clone());
                self.place(l, Place::Field("purposes.intro"));
            } else if l.indented && notes.is_empty() && items.last().is_some_and(|i| i.1 == lang) {
                // A wrapped list item.
                if let Some(last) = items.last_mut() {
                    last.2.push_str(&l.text);
                }
                self.place(l, Place::Field("purposes.list"));
            } else {
                push_or_pair(&mut notes, lang, l.text.clone());
                self.place(l, Place::Field("purposes.notes"));
            }
        }
        if !any_marked && !items.is_empty() {
            self.warn(at, "the purposes have no list marks; each line was taken as one purpose");
        }
        if items.is_empty() && !lines.is_empty() {
            self.warn(at, "no purpose was found in the purposes section");
        }
        let notes_key: String =
            notes.iter().map(|n| line::fold(&format!("{}{}", n.ja, n.en.as_deref().unwrap_or("")))).collect();
        let continues = (notes_key.contains("契約")
            && (notes_key.contains("解除") || notes_key.contains("終了") || notes_key.contains("解約")))
            || notes_key.contains("after termination")
            || notes_key.contains("after the contract")
            || notes_key.contains("after your contract");
        let category_ids: Vec<String> = categories.iter().map(|c| c.id.clone()).collect();
        let mut list: Vec<Purpose> = Vec::new();
        for (i, (no, text)) in pair_translations(items).into_iter().enumerate() {
            let key = line::fold(&format!("{} {}", text.ja, text.en.as_deref().unwrap_or("")));
            let base = tables::purpose_id(&key).map(str::to_string);
            let base = base.unwrap_or_else(|| {
                self.warn(
                    no,
                    format!("purpose on line {no} has no known meaning; its id is `purpose_{}`, rename it", i + 1),
                );
                format!("purpose_{}", i + 1)
            });
            let mut id = base.clone();
            let mut n = 2;
            while list.iter().any(|p| p.id == id) {
                id = format!("{base}_{n}");
                n += 1;
            }
            list.push(Purpose {
                consent: tables::consent_of(&base, &key),
                channels: tables::channels_of(&key),
                third_party_provision: tables::third_party_provision(&key),
                continues_after_termination: continues,
                categories: category_ids.clone(),
                id,
                text,
                individually_set: false,
                masking: BTreeMap::new(),
            });
        }
        if !list.is_empty() {
            self.warn(
                at,
                "purpose ids, consent modes and channels were inferred from the wording; review them before publishing",
            );
        }
        let intro = if intro.is_empty() { None } else { Some(intro.into_text()) };
        PurposeSection { intro, list, notes }
    }

    fn security(&mut self, at: u32, lines: &[&Line]) -> SecuritySection {
        let mut intro = TextBuf::default();
        let mut measures: Vec<SecurityMeasure> = Vec::new();
        let mut current: Option<usize> = None;
        for l in lines {
            let lang = self.lang_of(l);
            let kind = tables::measure_kind(&l.key);
            let short = l.char_len() <= 40 && !l.key.contains('。') && !l.key.ends_with('.');
            let opens = (l.is_numbered() && (short || kind.is_some()))
                || (matches!(l.mark, Mark::None | Mark::Square | Mark::Bracket) && short && kind.is_some());
            if opens {
                let number = match l.mark {
                    Mark::Number(n) | Mark::ParenNumber(n) => n,
                    _ => u32::try_from(measures.len() + 1).unwrap_or(u32::MAX),
                };
                // `(1) 基本方針の策定：…` carries its text on the same line.
                let (title, body) = match l.text.find(['：', ':']) {
                    Some(pos) if !short => {
                        let sep = l.text[pos..].chars().next().map_or(1, char::len_utf8);
                        (l.text[..pos].trim().to_string(), l.text[pos + sep..].trim().to_string())
                    }
                    _ => (l.text.clone(), String::new()),
                };
                // The same measure again in the other language (a bilingual text).
                if let Some(i) =
                    measures.iter().position(|m| m.number == number && m.title.get(lang).is_none_or(str::is_empty))
                {
                    let m = &mut measures[i];
                    fill_translation(Some(&mut m.title), lang, &title);
                    if !body.is_empty() {
                        add_to_text(&mut m.text, lang, &body);
                    }
                    current = Some(i);
                    self.place(l, Place::Field("security.measures"));
                    continue;
                }
                let kind = tables::measure_kind(&line::fold(&title)).unwrap_or_else(|| {
                    self.warn(
                        l.no,
                        format!("the kind of security measure ({number}) was not recognised; set its `kind`"),
                    );
                    MeasureKind::Other
                });
                let owner = match kind {
                    MeasureKind::BasicPolicy | MeasureKind::Rules | MeasureKind::Organizational => Role::ChiefManager,
                    _ => Role::ResponsiblePerson,
                };
                let mut text = Text::default();
                if !body.is_empty() {
                    add_to_text(&mut text, lang, &body);
                }
                measures.push(SecurityMeasure { number, kind, title: text_in(lang, title), text, owner });
                current = Some(measures.len() - 1);
                self.place(l, Place::Field("security.measures"));
            } else if let Some(m) = current.and_then(|i| measures.get_mut(i)) {
                add_to_text(&mut m.text, lang, &l.with_mark());
                self.place(l, Place::Field("security.measures"));
            } else {
                intro.push(lang, l.with_mark());
                self.place(l, Place::Field("security.intro"));
            }
        }
        if !lines.is_empty() && measures.is_empty() {
            self.warn(at, "no numbered security measure was found");
        }
        for kind in MeasureKind::REQUIRED {
            if !measures.is_empty() && !measures.iter().any(|m| m.kind == kind) {
                self.warn(at, format!("no security measure of kind `{}` was found", kind_id(kind)));
            }
        }
        SecuritySection { intro: intro.into_text(), measures }
    }

    fn foreign(&mut self, lines: &[&Line], enacted: Date) -> ForeignSection {
        let mut intro = TextBuf::default();
        let mut none = false;
        let mut rows: Vec<Row> = Vec::new();
        let mut header: Option<Vec<Option<ForeignField>>> = None;
        for l in lines {
            let lang = self.lang_of(l);
            let cells = table_cells(&l.text);
            if cells.len() >= 2 {
                let fields: Vec<Option<ForeignField>> = cells.iter().map(|c| foreign_field(&line::fold(c))).collect();
                if header.is_none() && fields.iter().filter(|f| f.is_some()).count() >= 2 {
                    header = Some(fields);
                    self.place(l, Place::Field("foreign.entries"));
                    continue;
                }
                let columns = header.clone().unwrap_or_else(|| {
                    vec![Some(ForeignField::Service), Some(ForeignField::Country), Some(ForeignField::Regimes)]
                });
                let mut row = Row { line: l.no, lang, ..Row::default() };
                for (cell, field) in cells.iter().zip(columns.iter()) {
                    if let Some(field) = field {
                        row.set(*field, cell.trim(), "");
                    }
                }
                rows.push(row);
                self.place(l, Place::Field("foreign.entries"));
                continue;
            }
            if let Some(pos) = l.text.find([':', '：']) {
                let label = &l.text[..pos];
                let sep = l.text[pos..].chars().next().map_or(1, char::len_utf8);
                let value = l.text[pos + sep..].trim();
                if let Some(field) = foreign_field(&line::fold(label)) {
                    let start_new = match rows.last() {
                        None => true,
                        Some(r) => {
                            r.has(field)
                                && field != ForeignField::Regimes
                                && (lang == r.lang || r.alt.iter().any(|a| a.0 == field))
                        }
                    };
                    if start_new {
                        rows.push(Row { line: l.no, lang, ..Row::default() });
                    }
                    if let Some(row) = rows.last_mut() {
                        if row.has(field) && lang != row.lang {
                            // The same row in the other language (a bilingual text).
                            row.alt.push((field, value.to_string()));
                        } else {
                            row.set(field, value, label);
                        }
                    }
                    self.place(l, Place::Field("foreign.entries"));
                    continue;
                }
            }
            if is_none_word(&l.key) || l.key.starts_with("該当なし") {
                none = true;
                self.place(l, Place::Field("foreign.none"));
                continue;
            }
            intro.push(lang, l.with_mark());
            self.place(l, Place::Field("foreign.intro"));
        }
        let mut entries = Vec::new();
        for row in rows {
            entries.extend(self.foreign_entries(row, enacted));
        }
        if entries.is_empty() && !none && !lines.is_empty() {
            let at = lines.first().map_or(1, |l| l.no);
            self.warn(at, "the foreign section has neither rows nor an explicit なし");
        }
        let intro = if intro.is_empty() { None } else { Some(intro.into_text()) };
        ForeignSection { intro, none, entries }
    }

    fn foreign_entries(&mut self, row: Row, enacted: Date) -> Vec<ForeignEntry> {
        let other = row.other_lang();
        let service = match &row.service {
            Some(name) => {
                let id = self.service_for(name, row.lang);
                if let (Some(alt), Some(s)) =
                    (row.alt(ForeignField::Service), self.services.iter_mut().find(|s| s.id == id))
                {
                    fill_translation(Some(&mut s.name), other, alt);
                }
                id
            }
            None => match self.services.first() {
                Some(s) => {
                    let id = s.id.clone();
                    self.warn(
                        row.line,
                        format!("the foreign row on line {} names no service; `{id}` is assumed", row.line),
                    );
                    id
                }
                None => {
                    self.warn(row.line, format!("the foreign row on line {} names no service", row.line));
                    String::new()
                }
            },
        };
        let regimes_none = row.regimes.as_deref().is_none_or(|r| is_none_word(&line::fold(r)));
        if row.regimes.is_none() {
            self.warn(
                row.line,
                format!("the foreign row on line {} names no regimes; なし is assumed, check it", row.line),
            );
        }
        let mut regimes: Vec<Text> = match (&row.regimes, regimes_none) {
            (Some(r), false) => split_list(r).into_iter().map(|s| text_in(row.lang, s)).collect(),
            _ => Vec::new(),
        };
        if let Some(alt) = row.alt(ForeignField::Regimes) {
            for (text, alt) in regimes.iter_mut().zip(split_list(alt)) {
                fill_translation(Some(text), other, &alt);
            }
        }
        let reviewed = row.reviewed.unwrap_or_else(|| {
            self.warn(
                row.line,
                format!("the foreign row on line {} gives no review date; the enactment date is assumed", row.line),
            );
            enacted
        });
        let kind = row.kind.unwrap_or(ForeignKind::StorageAndDelegation);
        let countries = row.country.as_deref().map(split_list).unwrap_or_default();
        if countries.is_empty() {
            self.warn(row.line, format!("the foreign row on line {} names no country", row.line));
        }
        let countries = if countries.is_empty() { vec![String::new()] } else { countries };
        let mut out = Vec::new();
        for name in countries {
            let (country, country_code) = match tables::country(&name) {
                Some(c) => {
                    let text = match row.lang {
                        Lang::Ja if line::has_japanese(&name) => Text::new(name.clone(), c.en),
                        Lang::Ja => Text::new(c.ja, name.clone()),
                        Lang::En => Text::new(c.ja, name.clone()),
                    };
                    (text, Some(c.code.to_string()))
                }
                None => {
                    if !name.is_empty() {
                        self.warn(
                            row.line,
                            format!("country `{name}` is not in the country table; set its `country_code`"),
                        );
                    }
                    let mut text = text_in(row.lang, name.clone());
                    if let Some(alt) = row.alt(ForeignField::Country) {
                        fill_translation(Some(&mut text), other, alt);
                    }
                    (text, None)
                }
            };
            out.push(ForeignEntry {
                service: service.clone(),
                country,
                country_code,
                kind,
                recipient: row.recipient.as_ref().map(|r| {
                    let mut t = text_in(row.lang, r.clone());
                    if let Some(alt) = row.alt(ForeignField::Recipient) {
                        fill_translation(Some(&mut t), other, alt);
                    }
                    t
                }),
                regimes: regimes.clone(),
                regimes_none,
                recipient_measures: row.measures.as_ref().map(|r| text_in(row.lang, r.clone())),
                reviewed,
            });
        }
        out
    }

    fn contact(&mut self, lines: &[&Line]) -> Contact {
        let mut text = TextBuf::default();
        let mut contact = Contact {
            text: Text::default(),
            heading: None,
            email: None,
            phone: None,
            url: None,
            postal_address: None,
            hours: None,
        };
        for l in lines {
            let lang = self.lang_of(l);
            let key = &l.key;
            if l.mark == Mark::Bracket && contact.heading.is_none() {
                contact.heading = Some(text_in(lang, l.text.clone()));
                self.place(l, Place::Field("contact.heading"));
            } else if l.mark == Mark::Bracket && fill_translation(contact.heading.as_mut(), lang, &l.text) {
                self.place(l, Place::Field("contact.heading"));
            } else if let Some(email) = find_email(&l.text).filter(|e| contact.email.as_ref().is_none_or(|c| c == e)) {
                self.contact_value(l, &email, &mut text, "contact.email");
                contact.email = Some(email);
            } else if let Some(url) = find_url(&l.text).filter(|u| contact.url.as_ref().is_none_or(|c| c == u)) {
                self.contact_value(l, &url, &mut text, "contact.url");
                contact.url = Some(url);
            } else if let Some(phone) = find_phone(&l.text).filter(|p| contact.phone.as_ref().is_none_or(|c| c == p)) {
                self.contact_value(l, &phone, &mut text, "contact.phone");
                contact.phone = Some(phone);
            } else if contact.hours.is_none()
                && (key.contains("受付時間") || key.contains("hours") || key.contains("営業時間"))
            {
                contact.hours = Some(text_in(lang, l.text.clone()));
                self.place(l, Place::Field("contact.hours"));
            } else if contact.postal_address.is_none()
                && (l.text.starts_with('〒') || key.starts_with("住所") || key.starts_with("address"))
            {
                contact.postal_address = Some(text_in(lang, l.text.clone()));
                self.place(l, Place::Field("contact.postal_address"));
            } else {
                text.push(lang, l.with_mark());
                self.place(l, Place::Field("contact.text"));
            }
        }
        contact.text = text.into_text();
        contact
    }

    /// A line holding an address or number: the value goes to its field; a line that says
    /// more than `label: value` is also kept as contact text, so no words are lost.
    fn contact_value(&mut self, l: &Line, value: &str, text: &mut TextBuf, field: &'static str) {
        let residue = l.text.replacen(value, "", 1);
        let residue = residue.trim_matches(|c: char| c.is_whitespace() || ":：-()（）。.".contains(c));
        let label = line::fold(residue);
        let is_label = label.chars().count() <= 12
            && !label.contains("ください")
            && !label.contains("please")
            && !label.contains(' ')
            || ["e-mail", "email", "mail address", "phone number", "telephone", "website"].contains(&label.as_str());
        if residue.is_empty() || is_label {
            self.place(l, Place::Field(field));
        } else {
            text.push(self.lang_of(l), l.with_mark());
            self.place(l, Place::Field("contact.text"));
        }
    }

    fn leaks(&mut self, at: u32, lines: &[&Line], enacted: Date) -> LeakRule {
        let mut text = TextBuf::default();
        for l in lines {
            let key = &l.key;
            let listing = ["事故内容", "incidents:", "incident:", "leaks:"].iter().any(|w| key.starts_with(w));
            if listing {
                let value = key.split([':', '：']).nth(1).unwrap_or("").trim();
                if is_none_word(value) {
                    self.place(l, Place::Computed);
                } else {
                    self.unplace(
                        l,
                        "published incidents are computed from the incident register; record this one there",
                    );
                }
                continue;
            }
            text.push(self.lang_of(l), l.with_mark());
            self.place(l, Place::Field("leaks.text"));
        }
        let text = text.into_text();
        let key = line::fold(&format!("{}\n{}", text.ja, text.en.as_deref().unwrap_or("")));
        let since = line::dates(&key).into_iter().next().unwrap_or_else(|| {
            self.warn(at, "the leak rule gives no start date; the enactment date is assumed for `leaks.since`");
            enacted
        });
        let years = line::years(&key).unwrap_or_else(|| {
            self.warn(at, "the leak rule gives no number of years; 10 is assumed for `leaks.years`");
            10
        });
        LeakRule { text, since, years }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ForeignField {
    Service,
    Country,
    Regimes,
    Recipient,
    Measures,
    Kind,
    Reviewed,
}

fn foreign_field(label: &str) -> Option<ForeignField> {
    let label = label.trim();
    let has = |words: &[&str]| words.iter().any(|w| label.contains(w));
    if label.is_empty() || label.chars().count() > 60 {
        return None;
    }
    if has(&["制度", "法制", "regime", "law", "legal system"]) {
        Some(ForeignField::Regimes)
    } else if has(&["確認日", "見直し", "評価日", "reviewed", "review date", "assessed"]) {
        Some(ForeignField::Reviewed)
    } else if has(&["措置", "measures"]) {
        Some(ForeignField::Measures)
    } else if has(&["国", "country", "countries", "所在地", "location"]) {
        Some(ForeignField::Country)
    } else if has(&["サービス", "service"]) {
        Some(ForeignField::Service)
    } else if has(&["委託先", "保管先", "受託", "事業者", "recipient", "provider", "vendor", "contractor", "processor"])
    {
        Some(ForeignField::Recipient)
    } else if has(&["区分", "種別", "形態", "kind", "type"]) {
        Some(ForeignField::Kind)
    } else {
        None
    }
}

/// One foreign row as read, before it becomes entries.
#[derive(Debug, Default)]
struct Row {
    line: u32,
    lang: Lang,
    service: Option<String>,
    country: Option<String>,
    regimes: Option<String>,
    recipient: Option<String>,
    measures: Option<String>,
    kind: Option<ForeignKind>,
    reviewed: Option<Date>,
    /// Values given again in the other language.
    alt: Vec<(ForeignField, String)>,
}

impl Row {
    fn alt(&self, f: ForeignField) -> Option<&str> {
        self.alt.iter().find(|a| a.0 == f).map(|a| a.1.as_str())
    }

    fn other_lang(&self) -> Lang {
        match self.lang {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }
}

impl Row {
    fn has(&self, f: ForeignField) -> bool {
        match f {
            ForeignField::Service => self.service.is_some(),
            ForeignField::Country => self.country.is_some(),
            ForeignField::Regimes => self.regimes.is_some(),
            ForeignField::Recipient => self.recipient.is_some(),
            ForeignField::Measures => self.measures.is_some(),
            ForeignField::Kind => self.kind.is_some(),
            ForeignField::Reviewed => self.reviewed.is_some(),
        }
    }

    fn set(&mut self, f: ForeignField, value: &str, label: &str) {
        let v = Some(value.to_string());
        match f {
            ForeignField::Service => self.service = v,
            ForeignField::Country => {
                self.country = v;
                if self.kind.is_none() {
                    self.kind = kind_of(&line::fold(label));
                }
            }
            ForeignField::Regimes => self.regimes = v,
            ForeignField::Recipient => {
                self.recipient = v;
                if self.kind.is_none() {
                    self.kind = kind_of(&line::fold(label));
                }
            }
            ForeignField::Measures => self.measures = v,
            ForeignField::Kind => self.kind = kind_of(&line::fold(value)),
            ForeignField::Reviewed => self.reviewed = line::dates(&line::fold(value)).into_iter().next(),
        }
    }
}

fn kind_of(key: &str) -> Option<ForeignKind> {
    let storage = key.contains("保管") || key.contains("storage") || key.contains("stor");
    let delegation =
        key.contains("委託") || key.contains("delegat") || key.contains("outsourc") || key.contains("processing");
    match (storage, delegation) {
        (true, true) => Some(ForeignKind::StorageAndDelegation),
        (true, false) => Some(ForeignKind::Storage),
        (false, true) => Some(ForeignKind::Delegation),
        (false, false) => None,
    }
}

fn is_none_word(key: &str) -> bool {
    let k = key.trim().trim_end_matches(['。', '.']);
    matches!(
        k,
        "なし"
            | "無し"
            | "特になし"
            | "該当なし"
            | "ありません"
            | "none"
            | "no"
            | "n/a"
            | "not applicable"
            | "nil"
            | "-"
    )
}

/// Cells of a `|`- or tab-separated table row (empty when the line is not one).
fn table_cells(text: &str) -> Vec<String> {
    let sep = if text.contains('|') {
        '|'
    } else if text.contains('\t') {
        '\t'
    } else {
        return Vec::new();
    };
    let t = text.trim().trim_start_matches('|').trim_end_matches('|');
    t.split(sep).map(|c| c.trim().to_string()).collect()
}

/// `米国、シンガポール` → two names.
fn split_list(s: &str) -> Vec<String> {
    s.split(['、', ',', '，', ';', '；', '/'])
        .flat_map(|p| p.split(" and "))
        .flat_map(|p| p.split("および"))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Sentences of a line, each with its final 。 or `. `.
fn sentences(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        cur.push(c);
        let end = c == '。'
            || (c == '.' && chars.get(i + 1) == Some(&' ') && !cur.ends_with("e.g.") && !cur.ends_with("i.e."));
        if end {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn preview(s: &str) -> String {
    let mut p: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        p.push('…');
    }
    p.replace('`', "'")
}

fn kind_id(kind: MeasureKind) -> &'static str {
    match kind {
        MeasureKind::BasicPolicy => "basic_policy",
        MeasureKind::Rules => "rules",
        MeasureKind::Organizational => "organizational",
        MeasureKind::Human => "human",
        MeasureKind::Physical => "physical",
        MeasureKind::Technical => "technical",
        MeasureKind::ExternalEnvironment => "external_environment",
        MeasureKind::Other => "other",
    }
}

fn is_company(key: &str) -> bool {
    [
        "株式会社",
        "有限会社",
        "合同会社",
        "(株)",
        "inc.",
        "co., ltd",
        "co.,ltd",
        "corporation",
        "k.k.",
        "ltd.",
        "limited",
        "llc",
        "gmbh",
    ]
    .iter()
    .any(|w| key.contains(w))
}

const ROLE_WORDS: &[&str] = &[
    "代表取締役",
    "取締役",
    "社長",
    "執行役員",
    "執行役",
    "会長",
    "代表者",
    "代表",
    "頭取",
    "理事長",
    "専務",
    "常務",
    "ceo",
    "coo",
    "president",
    "representative",
    "director",
    "chief",
    "executive",
    "officer",
    "chairman",
    "chairperson",
    "managing",
];

fn is_representative(key: &str) -> bool {
    ROLE_WORDS.iter().any(|w| key.contains(w))
}

/// `代表取締役社長 社長執行役員 小島 克重` → (`代表取締役社長 社長執行役員`, `小島 克重`);
/// `Taro Yamada, President` and `President and CEO Taro Yamada` work too.
fn split_representative(text: &str) -> (String, String) {
    let is_role = |w: &str| {
        let k = line::fold(w);
        ROLE_WORDS.iter().any(|r| k.contains(r))
    };
    if let Some((a, b)) = text.split_once([',', '，', '、']) {
        let (a, b) = (a.trim(), b.trim());
        if is_role(b) && !is_role(a) {
            return (b.to_string(), a.to_string());
        }
        if is_role(a) && !is_role(b) {
            return (a.to_string(), b.to_string());
        }
    }
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let connector = |w: &str| matches!(line::fold(w).as_str(), "and" | "&" | "of" | "the" | "兼");
    if let Some(last_role) = tokens.iter().rposition(|t| is_role(t))
        && last_role + 1 < tokens.len()
    {
        // English: the title is the leading run of role words and connectors.
        let lead = tokens.iter().take_while(|t| is_role(t) || connector(t)).count();
        let cut = if line::has_japanese(text) { last_role + 1 } else { lead.max(1) };
        return (tokens[..cut].join(" "), tokens[cut..].join(" "));
    }
    // No space between title and name: cut after the last role word.
    let key_end =
        ROLE_WORDS.iter().filter_map(|r| text.rfind(r).map(|p| p + r.len())).max().filter(|&end| end < text.len());
    match key_end {
        Some(end) => (text[..end].trim().to_string(), text[end..].trim().to_string()),
        None => (text.trim().to_string(), String::new()),
    }
}

/// Service names in a line of the content section: `Xをご契約のお客さまの特定利用者情報`,
/// `X、Yの利用者の特定利用者情報`, `… of customers of X`.
fn service_names(text: &str, lang: Lang) -> Vec<String> {
    let key = line::fold(text);
    let mut names = Vec::new();
    if lang == Lang::Ja || line::has_japanese(text) {
        // A sentence about the information (`…を取得します。`) names no service; a listing does.
        if key.contains('。') || key.ends_with("ます") {
            return names;
        }
        let cuts = [
            "をご契約",
            "をご利用",
            "を利用",
            "を契約",
            "のご契約",
            "の契約者",
            "の利用者",
            "のお客さま",
            "のお客様",
            "の特定利用者情報",
        ];
        let end = cuts.iter().filter_map(|c| text.find(c)).min();
        if let Some(end) = end {
            let head = &text[..end];
            if key.contains("特定利用者情報") || key.contains("情報") {
                for part in head.split(['、', '，', ',']).flat_map(|p| p.split("および")).flat_map(|p| p.split("及び"))
                {
                    let p = part.trim().trim_start_matches(['「', '『']).trim_end_matches(['」', '』']).trim();
                    if !p.is_empty() && p.chars().count() <= 40 {
                        names.push(p.to_string());
                    }
                }
            }
        }
    } else {
        let lower = text.to_ascii_lowercase();
        let markers = [
            "who subscribe to ",
            "subscribing to ",
            "customers of ",
            "subscribers of ",
            "subscribers to ",
            "users of ",
            "who use ",
            "using ",
            "contract for ",
        ];
        if let Some((pos, m)) = markers.iter().filter_map(|m| lower.find(m).map(|p| (p, m))).min_by_key(|(p, _)| *p) {
            let rest = &text[pos + m.len()..];
            let rest = rest.trim_start_matches("the ").trim_start_matches("our ");
            let end = rest.find(['.', ';']).unwrap_or(rest.len());
            for part in rest[..end].split([',']).flat_map(|p| p.split(" and ")) {
                let p = part.trim();
                if !p.is_empty() && p.chars().count() <= 60 {
                    names.push(p.to_string());
                }
            }
        }
    }
    names
}

/// `グローバルIPネットワーク(GIN)` → `gin`.
fn abbreviation(name: &str) -> Option<String> {
    let folded = line::fold(name);
    let start = folded.rfind('(')?;
    let end = folded[start..].find(')')? + start;
    let inner = &folded[start + 1..end];
    if !inner.is_empty()
        && inner.len() <= 12
        && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ')
    {
        Some(inner.replace([' ', '-'], "_"))
    } else {
        None
    }
}

fn ascii_slug(key: &str) -> Option<String> {
    if !key.is_ascii() {
        return None;
    }
    let words: Vec<String> = key
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && !matches!(*w, "the" | "service" | "services" | "our"))
        .take(3)
        .map(str::to_string)
        .collect();
    if words.is_empty() { None } else { Some(words.join("_")) }
}

fn find_email(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '：' | '<' | '>' | '(' | ')' | '（' | '）' | ',' | '、'))
        .map(|t| t.trim_start_matches("mailto:").trim_start_matches(':').trim_end_matches(['.', '。']))
        .find(|t| {
            let Some((user, domain)) = t.split_once('@') else { return false };
            !user.is_empty() && domain.contains('.') && t.is_ascii()
        })
        .map(str::to_string)
}

fn find_url(text: &str) -> Option<String> {
    let start = text.find("https://").or_else(|| text.find("http://"))?;
    let url: String = text[start..].chars().take_while(|c| c.is_ascii() && !c.is_whitespace()).collect();
    Some(url.trim_end_matches(['.', ')']).to_string())
}

fn find_phone(text: &str) -> Option<String> {
    let folded: String = line::fold(text);
    let digits = folded.chars().filter(char::is_ascii_digit).count();
    let is_phone_line =
        folded.contains("電話") || folded.contains("tel") || folded.contains("phone") || folded.contains("0120");
    if !(10..=13).contains(&digits)
        || !is_phone_line && !folded.chars().all(|c| c.is_ascii_digit() || "-+() ".contains(c))
    {
        return None;
    }
    let start = folded.find(|c: char| c.is_ascii_digit() || c == '+')?;
    let number: String = folded[start..].chars().take_while(|c| c.is_ascii_digit() || "-+() ".contains(*c)).collect();
    Some(number.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn representatives() {
        let check =
            |s: &str, t: &str, n: &str| assert_eq!(split_representative(s), (t.to_string(), n.to_string()), "{s}");
        check("代表取締役社長 山田 太郎", "代表取締役社長", "山田 太郎");
        check("代表取締役社長 社長執行役員 山田 太郎", "代表取締役社長 社長執行役員", "山田 太郎");
        check("代表取締役社長山田太郎", "代表取締役社長", "山田太郎");
        check("Taro Yamada, President and CEO", "President and CEO", "Taro Yamada");
        check("President and CEO Taro Yamada", "President and CEO", "Taro Yamada");
    }

    #[test]
    fn services_from_content() {
        let check = |s: &str, lang, expected: &[&str]| assert_eq!(service_names(s, lang), expected, "{s}");
        check("光インターネットサービスをご契約のお客さまの特定利用者情報", Lang::Ja, &["光インターネットサービス"]);
        check("電話サービス、メールサービスの利用者の特定利用者情報", Lang::Ja, &["電話サービス", "メールサービス"]);
        check("Specified user information of customers who subscribe to Kumo Fiber.", Lang::En, &["Kumo Fiber"]);
        check("当社は情報を取得します。", Lang::Ja, &[]);
        assert_eq!(abbreviation("グローバルIPネットワーク(GIN)").as_deref(), Some("gin"));
        assert_eq!(abbreviation("海外接続（ＡＢＣ）").as_deref(), Some("abc"));
    }

    #[test]
    fn contact_values() {
        assert_eq!(find_email("メール：info@example.jp").as_deref(), Some("info@example.jp"));
        assert_eq!(find_email("info@example.jp -").as_deref(), Some("info@example.jp"));
        assert_eq!(find_phone("電話：0120-000-000").as_deref(), Some("0120-000-000"));
        assert_eq!(find_phone("03-1234-5678").as_deref(), Some("03-1234-5678"));
        assert_eq!(find_phone("2024年1月18日以降"), None);
        assert_eq!(find_url("https://example.jp/privacy を参照").as_deref(), Some("https://example.jp/privacy"));
    }

    #[test]
    fn rejects_non_text() {
        assert_eq!(import("").unwrap_err().line, None);
        assert_eq!(import(" \n\u{3000}\n").unwrap_err().line, None);
        assert_eq!(import("title\nab\0cd").unwrap_err().line, Some(2));
    }
}
