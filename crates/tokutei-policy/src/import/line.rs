//! One line of an imported text: its list or heading mark (bullet, number, ※, 【…】), the text
//! without the mark, a folded key for matching, its language, and the dates and numbers in it.

use unicode_normalization::UnicodeNormalization;

use crate::model::{Date, Lang};

/// The mark a line starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    None,
    /// `・`, `●`, `-`, `－`, `*`…
    Bullet,
    /// `■`, `□`, `◆`: a heading or list mark.
    Square,
    /// `※`, `Note:`.
    Note,
    /// `1.`, `１．`, `第1条`, `Article 1`.
    Number(u32),
    /// `(1)`, `（1）`, `1)`, `①`.
    ParenNumber(u32),
    /// `【…】`, `<…>`, `〈…〉`: the whole line is bracketed.
    Bracket,
}

/// The language of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineLang {
    Ja,
    En,
    /// Neither (an address, a number, a date): belongs to the document's language.
    Neutral,
}

#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// 1-based line number in the imported text.
    pub no: u32,
    /// The text without its mark, trimmed, without a trailing ` -` separator.
    pub text: String,
    /// NFKC, lowercase, whitespace collapsed: for matching only.
    pub key: String,
    pub mark: Mark,
    /// Started with white space (a continuation of the previous item, in lists).
    pub indented: bool,
    /// A separator line (`-`, `---`, `|---|---|`).
    pub separator: bool,
    pub lang: LineLang,
}

impl Line {
    pub fn parse(no: u32, raw: &str) -> Line {
        let raw = raw.trim_start_matches('\u{feff}');
        let indented = raw.starts_with(|c: char| c.is_whitespace());
        let trimmed = strip_trailing_separator(raw.trim());
        let separator = !trimmed.is_empty() && is_separator(trimmed);
        let (mark, rest) = if separator { (Mark::None, trimmed) } else { split_mark(trimmed) };
        let text = rest.trim().to_string();
        let key = fold(&text);
        let lang = line_lang(&text);
        Line { no, text, key, mark, indented, separator, lang }
    }

    pub fn is_blank(&self) -> bool {
        self.text.is_empty() && self.mark == Mark::None && !self.separator
    }

    /// The text with its list mark put back as text (`・`, `※`), for free-text fields.
    pub fn with_mark(&self) -> String {
        match self.mark {
            Mark::Bullet | Mark::Square => format!("・{}", self.text),
            Mark::Note => format!("※{}", self.text),
            Mark::Number(n) => format!("{n}. {}", self.text),
            Mark::ParenNumber(n) => format!("({n}){}", self.text),
            Mark::None | Mark::Bracket => self.text.clone(),
        }
    }

    pub fn is_numbered(&self) -> bool {
        matches!(self.mark, Mark::Number(_) | Mark::ParenNumber(_))
    }

    pub fn is_list_item(&self) -> bool {
        matches!(self.mark, Mark::Bullet | Mark::Square | Mark::Number(_) | Mark::ParenNumber(_))
    }

    pub fn has(&self, words: &[&str]) -> bool {
        words.iter().any(|w| self.key.contains(w))
    }

    pub fn char_len(&self) -> usize {
        self.text.chars().count()
    }
}

/// NFKC, lowercase, runs of white space as one space.
pub(crate) fn fold(s: &str) -> String {
    let n: String = s.nfkc().collect::<String>().to_lowercase();
    n.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Full-width ASCII to ASCII, ideographic space to space (for reading marks).
fn fold_char(c: char) -> char {
    match c {
        '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

fn strip_trailing_separator(mut s: &str) -> &str {
    loop {
        let t = s.trim_end();
        let Some(rest) = t.strip_suffix(['-', '－']) else { return t };
        // Only a dash glued after white space is a separator (`なし -`); `03-1234-` is not.
        if rest.ends_with(|c: char| c.is_whitespace()) && !rest.trim().is_empty() {
            s = rest;
        } else {
            return t;
        }
    }
}

fn is_separator(s: &str) -> bool {
    s.chars().all(|c| matches!(c, '-' | '－' | '―' | '─' | '━' | '=' | '＝' | '_' | '~' | '|' | ':' | ' ' | '　' | '+'))
        && s.chars().any(|c| matches!(c, '-' | '－' | '―' | '─' | '━' | '=' | '＝' | '_' | '~'))
        && (!s.contains('|') || s.contains('-'))
}

const BULLETS: &[char] =
    &['・', '●', '○', '◦', '•', '‣', '▪', '▫', '-', '－', '‐', '−', '*', '＊', '+', '–', '—', '·', '･'];
const SQUARES: &[char] = &['■', '□', '◆', '◇', '▶', '▷', '►', '★', '☆'];

/// Split a trimmed line into its mark and the rest.
fn split_mark(s: &str) -> (Mark, &str) {
    let (mark, rest) = split_one_mark(s);
    if matches!(mark, Mark::Square | Mark::Bracket) {
        // `■1. 利用目的`, `【1】利用目的`: the number is the more specific mark.
        let (inner, inner_rest) = split_one_mark(rest);
        if matches!(inner, Mark::Number(_) | Mark::ParenNumber(_)) && !inner_rest.trim().is_empty() {
            return (inner, inner_rest);
        }
    }
    (mark, rest)
}

fn split_one_mark(s: &str) -> (Mark, &str) {
    let mut chars = s.char_indices();
    let Some((_, first)) = chars.next() else { return (Mark::None, s) };
    let after_first = &s[first.len_utf8()..];
    if first == '※' {
        return (Mark::Note, after_first.trim_start());
    }
    if SQUARES.contains(&first) {
        return (Mark::Square, after_first.trim_start());
    }
    if BULLETS.contains(&first) {
        // `-1` or `--x` is not a bullet; a bullet is followed by a space or a non-ASCII char.
        let next = after_first.chars().next();
        let ok = match next {
            None => false,
            Some(c) => c.is_whitespace() || !c.is_ascii() || first != '-' && first != '*' && first != '+',
        };
        if ok {
            return (Mark::Bullet, after_first.trim_start());
        }
    }
    if let Some(n) = circled_number(first) {
        return (Mark::ParenNumber(n), after_first.trim_start());
    }
    // Bracketed whole line: 【…】, <…>, 〈…〉, 《…》, ［…］, [ … ].
    for (open, close) in
        [('【', '】'), ('<', '>'), ('〈', '〉'), ('《', '》'), ('［', '］'), ('[', ']'), ('＜', '＞'), ('〔', '〕')]
    {
        if first == open && s.ends_with(close) && s.len() > open.len_utf8() + close.len_utf8() {
            let inner = &s[open.len_utf8()..s.len() - close.len_utf8()];
            if !inner.contains(close) {
                return (Mark::Bracket, inner.trim());
            }
        }
        if first == '【' && open == '【' {
            // `【1】text`, `【利用目的】text`.
            if let Some(end) = s.find('】') {
                let inner = &s[open.len_utf8()..end];
                let rest = s[end + '】'.len_utf8()..].trim_start();
                if let Some(n) = number_value(inner) {
                    return (Mark::Number(n), rest);
                }
            }
        }
    }
    // (1) （1） 1) (一)
    let folded: Vec<(usize, char)> = s.char_indices().map(|(i, c)| (i, fold_char(c))).collect();
    if folded.first().map(|p| p.1) == Some('(')
        && let Some(close) = folded.iter().position(|p| p.1 == ')')
    {
        let inner: String = folded[1..close].iter().map(|p| p.1).collect();
        if let Some(n) = number_value(&inner) {
            let end = folded.get(close + 1).map_or(s.len(), |p| p.0);
            return (Mark::ParenNumber(n), s[end..].trim_start());
        }
    }
    // 第1条, 第一条, 第1章
    if first == '第'
        && let Some(end) = folded.iter().position(|p| matches!(p.1, '条' | '章' | '項' | '節'))
    {
        let inner: String = folded[1..end].iter().map(|p| p.1).collect();
        if let Some(n) = number_value(&inner) {
            let next = folded.get(end + 1).map_or(s.len(), |p| p.0);
            return (Mark::Number(n), s[next..].trim_start());
        }
    }
    // Article 1. / Section 2
    for word in ["article ", "section ", "art. "] {
        if s.len() > word.len() && s.is_char_boundary(word.len()) && s[..word.len()].eq_ignore_ascii_case(word) {
            let rest = &s[word.len()..];
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            if let Ok(n) = digits.parse::<u32>() {
                let rest = rest[digits.len()..].trim_start_matches(['.', ':', ')']).trim_start();
                return (Mark::Number(n), rest);
            }
        }
    }
    // 1. １． 1、 1.2. 1) 一、 1 text
    let digits: String = folded.iter().map(|p| p.1).take_while(char::is_ascii_digit).collect();
    if !digits.is_empty() && digits.len() <= 3 {
        let mut k = digits.chars().count();
        // 1.2.3 → the first number.
        while folded.get(k).map(|p| p.1) == Some('.') && folded.get(k + 1).is_some_and(|p| p.1.is_ascii_digit()) {
            k += 1;
            while folded.get(k).is_some_and(|p| p.1.is_ascii_digit()) {
                k += 1;
            }
        }
        let n: u32 = digits.parse().unwrap_or(0);
        match folded.get(k).map(|p| p.1) {
            Some('.' | '、' | '．' | ':') => {
                let next = folded.get(k + 1).map_or(s.len(), |p| p.0);
                // `1.5倍` is not a heading: the mark is followed by a space or a non-digit.
                if !folded.get(k + 1).is_some_and(|p| p.1.is_ascii_digit()) {
                    return (Mark::Number(n), s[next..].trim_start());
                }
            }
            Some(')') => {
                let next = folded.get(k + 1).map_or(s.len(), |p| p.0);
                return (Mark::ParenNumber(n), s[next..].trim_start());
            }
            Some(' ') if folded.get(k + 1).is_some_and(|p| !p.1.is_ascii_digit() && !p.1.is_whitespace()) => {
                // `1 Information we acquire`, not `10 years`.
                let rest = s[folded[k].0..].trim_start();
                let word: String = rest.chars().take_while(|c| c.is_alphabetic()).collect();
                if !matches!(word.to_lowercase().as_str(), "year" | "years" | "month" | "months" | "day" | "days") {
                    return (Mark::Number(n), rest);
                }
            }
            _ => {}
        }
    }
    if let Some(n) =
        number_value(&folded.iter().map(|p| p.1).take_while(|c| kanji_digit(*c).is_some()).collect::<String>())
    {
        let k = folded.iter().take_while(|p| kanji_digit(p.1).is_some()).count();
        if folded.get(k).map(|p| p.1) == Some('、') {
            let next = folded.get(k + 1).map_or(s.len(), |p| p.0);
            return (Mark::Number(n), s[next..].trim_start());
        }
    }
    (Mark::None, s)
}

fn circled_number(c: char) -> Option<u32> {
    match c {
        '\u{2460}'..='\u{2473}' => Some(c as u32 - 0x2460 + 1),
        '\u{2474}'..='\u{2487}' => Some(c as u32 - 0x2474 + 1),
        _ => None,
    }
}

fn kanji_digit(c: char) -> Option<u32> {
    "〇一二三四五六七八九".chars().position(|k| k == c).and_then(|p| u32::try_from(p).ok()).or(if c == '十' {
        Some(10)
    } else {
        None
    })
}

/// `12`, `１２`, `十二`, `二十` → 12, 20.
pub(crate) fn number_value(s: &str) -> Option<u32> {
    let s: String = s.chars().map(fold_char).collect();
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 4 {
        return None;
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return s.parse().ok();
    }
    let mut total = 0;
    let mut current = 0;
    for c in s.chars() {
        match kanji_digit(c)? {
            10 => {
                total += if current == 0 { 10 } else { current * 10 };
                current = 0;
            }
            d => current = current * 10 + d,
        }
    }
    Some(total + current)
}

fn is_japanese_char(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30ff}' | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}'
        | '\u{ff66}'..='\u{ff9f}' | '\u{3001}'..='\u{303f}' | '\u{ff01}'..='\u{ff0f}' | '\u{ff1a}'..='\u{ff20}')
}

pub(crate) fn has_japanese(s: &str) -> bool {
    s.chars().any(is_japanese_char)
}

fn line_lang(text: &str) -> LineLang {
    if has_japanese(text) {
        LineLang::Ja
    } else if text.chars().filter(|c| c.is_ascii_alphabetic()).count() >= 2 && !looks_like_address(text) {
        LineLang::En
    } else {
        LineLang::Neutral
    }
}

fn looks_like_address(text: &str) -> bool {
    let t = text.trim();
    !t.contains(' ') && (t.contains('@') || t.starts_with("http") || t.starts_with("www."))
}

impl LineLang {
    pub fn resolve(self, doc: Lang) -> Lang {
        match self {
            LineLang::Ja => Lang::Ja,
            LineLang::En => Lang::En,
            LineLang::Neutral => doc,
        }
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Every date in a folded key, in order: `2024年4月12日`, `令和6年4月12日`, `2024-04-12`,
/// `2024/4/12`, `April 12, 2024`, `12 April 2024`.
pub(crate) fn dates(key: &str) -> Vec<Date> {
    let chars: Vec<char> = key.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if let Some((date, len)) = date_at(&chars, i) {
            out.push(date);
            i += len;
        } else {
            i += 1;
        }
    }
    out
}

fn read_number(chars: &[char], i: usize, max: usize) -> Option<(u32, usize)> {
    let n = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || n > max {
        return None;
    }
    let v: String = chars[i..i + n].iter().collect();
    Some((v.parse().ok()?, n))
}

fn skip_spaces(chars: &[char], mut i: usize) -> usize {
    while chars.get(i) == Some(&' ') {
        i += 1;
    }
    i
}

fn date_at(chars: &[char], start: usize) -> Option<(Date, usize)> {
    if start > 0 && chars[start - 1].is_ascii_digit() {
        return None;
    }
    let make = |y: u32, m: u32, d: u32| Date::new(i16::try_from(y).ok()?, i8::try_from(m).ok()?, i8::try_from(d).ok()?);
    // 令和6年 / 令和元年 / 平成31年
    for (era, base) in [("令和", 2018), ("平成", 1988)] {
        let era_chars: Vec<char> = era.chars().collect();
        if chars[start..].starts_with(&era_chars) {
            let mut i = skip_spaces(chars, start + era_chars.len());
            let (year, n) = if chars.get(i) == Some(&'元') { (1, 1) } else { read_number(chars, i, 2)? };
            i = skip_spaces(chars, i + n);
            if chars.get(i) != Some(&'年') {
                return None;
            }
            let (rest, len) = month_day_ja(chars, i + 1)?;
            return Some((make(base + year, rest.0, rest.1)?, len - start));
        }
    }
    if chars[start].is_ascii_digit() {
        let (first, n) = read_number(chars, start, 4)?;
        let mut i = start + n;
        if n == 4 {
            let j = skip_spaces(chars, i);
            match chars.get(j) {
                Some('年') => {
                    let ((m, d), end) = month_day_ja(chars, j + 1)?;
                    return Some((make(first, m, d)?, end - start));
                }
                Some(sep @ ('-' | '/' | '.')) => {
                    let (m, mn) = read_number(chars, j + 1, 2)?;
                    i = j + 1 + mn;
                    if chars.get(i) != Some(sep) {
                        return None;
                    }
                    let (d, dn) = read_number(chars, i + 1, 2)?;
                    return Some((make(first, m, d)?, i + 1 + dn - start));
                }
                _ => return None,
            }
        }
        // 12 April 2024
        if n <= 2 {
            i = skip_spaces(chars, i);
            let (month, len) = month_name_at(chars, i)?;
            let j = skip_spaces(chars, i + len);
            let j = if chars.get(j) == Some(&',') { skip_spaces(chars, j + 1) } else { j };
            let (year, yn) = read_number(chars, j, 4)?;
            if yn != 4 {
                return None;
            }
            return Some((make(year, month, first)?, j + yn - start));
        }
        return None;
    }
    // April 12, 2024
    if start > 0 && chars[start - 1].is_alphabetic() {
        return None;
    }
    let (month, len) = month_name_at(chars, start)?;
    let i = skip_spaces(chars, start + len);
    let (day, dn) = read_number(chars, i, 2)?;
    let mut j = i + dn;
    if matches!(chars.get(j..j + 2), Some(['s', 't'] | ['n', 'd'] | ['r', 'd'] | ['t', 'h'])) {
        j += 2;
    }
    let j = if chars.get(j) == Some(&',') { j + 1 } else { j };
    let j = skip_spaces(chars, j);
    let (year, yn) = read_number(chars, j, 4)?;
    if yn != 4 {
        return None;
    }
    Some((make(year, month, day)?, j + yn - start))
}

fn month_day_ja(chars: &[char], i: usize) -> Option<((u32, u32), usize)> {
    let i = skip_spaces(chars, i);
    let (m, mn) = read_number(chars, i, 2)?;
    let j = skip_spaces(chars, i + mn);
    if chars.get(j) != Some(&'月') {
        return None;
    }
    let k = skip_spaces(chars, j + 1);
    let (d, dn) = read_number(chars, k, 2)?;
    let l = skip_spaces(chars, k + dn);
    if chars.get(l) != Some(&'日') {
        return None;
    }
    Some(((m, d), l + 1))
}

fn month_name_at(chars: &[char], i: usize) -> Option<(u32, usize)> {
    for (idx, name) in MONTHS.iter().enumerate() {
        let name: Vec<char> = name.chars().collect();
        let short = &name[..3];
        let m = u32::try_from(idx + 1).ok()?;
        if chars[i..].starts_with(&name) {
            return Some((m, name.len()));
        }
        if chars[i..].starts_with(short) {
            let mut len = 3;
            if chars.get(i + 3) == Some(&'.') {
                len = 4;
            }
            if chars.get(i + len).is_none_or(|c| !c.is_alphabetic()) {
                return Some((m, len));
            }
        }
    }
    None
}

/// A count of years in a folded key: `10年間`, `十年間`, `10 years`, `ten years`.
pub(crate) fn years(key: &str) -> Option<u32> {
    if let Some(pos) = key.find("年間") {
        let before: String =
            key[..pos].chars().rev().take_while(|c| c.is_ascii_digit() || kanji_digit(*c).is_some()).collect();
        let before: String = before.chars().rev().collect();
        if let Some(n) = number_value(&before) {
            return Some(n);
        }
    }
    for unit in [" years", "-year", " year"] {
        if let Some(pos) = key.find(unit) {
            let before = key[..pos].trim_end();
            let word: String = before.chars().rev().take_while(|c| c.is_ascii_alphanumeric()).collect();
            let word: String = word.chars().rev().collect();
            if let Ok(n) = word.parse() {
                return Some(n);
            }
            let words = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
            if let Some(p) = words.iter().position(|w| *w == word) {
                return u32::try_from(p + 1).ok();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_mark(raw: &str, mark: Mark, text: &str) {
        let l = Line::parse(1, raw);
        assert_eq!((l.mark, l.text.as_str()), (mark, text), "{raw}");
    }

    #[test]
    fn marks() {
        check_mark("・お問い合わせに答えること", Mark::Bullet, "お問い合わせに答えること");
        check_mark("- item", Mark::Bullet, "item");
        check_mark("－ 項目", Mark::Bullet, "項目");
        check_mark("-1 is negative", Mark::None, "-1 is negative");
        check_mark("※注記", Mark::Note, "注記");
        check_mark("１．利用目的", Mark::Number(1), "利用目的");
        check_mark("2. Purposes of use", Mark::Number(2), "Purposes of use");
        check_mark("第3条 安全管理措置", Mark::Number(3), "安全管理措置");
        check_mark("第十二条　お問い合わせ", Mark::Number(12), "お問い合わせ");
        check_mark("（4）人的安全管理措置", Mark::ParenNumber(4), "人的安全管理措置");
        check_mark("(5)物理的", Mark::ParenNumber(5), "物理的");
        check_mark("③技術的", Mark::ParenNumber(3), "技術的");
        check_mark("【利用目的】", Mark::Bracket, "利用目的");
        check_mark("<お問い合せ先>", Mark::Bracket, "お問い合せ先");
        check_mark("■取得方法", Mark::Square, "取得方法");
        check_mark("■1. 取得方法", Mark::Number(1), "取得方法");
        check_mark("なし -", Mark::None, "なし");
        check_mark("03-1234-5678", Mark::None, "03-1234-5678");
        check_mark("10 years", Mark::None, "10 years");
        check_mark("2024年4月12日", Mark::None, "2024年4月12日");
        check_mark("1.5倍", Mark::None, "1.5倍");
        check_mark("三、目的", Mark::Number(3), "目的");
    }

    #[test]
    fn separators() {
        for s in ["-", " - ", "---", "－", "|---|---|", "| :-- | --- |", "====="] {
            assert!(Line::parse(1, s).separator, "{s}");
        }
        for s in ["- a", "|a|b|", "a"] {
            assert!(!Line::parse(1, s).separator, "{s}");
        }
    }

    #[test]
    fn reads_dates() {
        let d = |y, m, day| Date::new(y, m, day).unwrap();
        let check = |s: &str, expected: Vec<Date>| assert_eq!(dates(&fold(s)), expected, "{s}");
        check("制定 2024年4月12日", vec![d(2024, 4, 12)]);
        check("制定　２０２４年４月１２日", vec![d(2024, 4, 12)]);
        check("令和6年1月18日以降", vec![d(2024, 1, 18)]);
        check("令和元年5月1日", vec![d(2019, 5, 1)]);
        check("Enacted: April 12, 2024", vec![d(2024, 4, 12)]);
        check("since 18 January 2024", vec![d(2024, 1, 18)]);
        check("2024-04-12 and 2025/1/2", vec![d(2024, 4, 12), d(2025, 1, 2)]);
        check("2024年2月30日", vec![]);
        check("10年間", vec![]);
    }

    #[test]
    fn reads_years() {
        assert_eq!(years(&fold("その内容を10年間公表")), Some(10));
        assert_eq!(years(&fold("５年間")), Some(5));
        assert_eq!(years(&fold("十年間")), Some(10));
        assert_eq!(years(&fold("for 10 years")), Some(10));
        assert_eq!(years(&fold("for ten years")), Some(10));
        assert_eq!(years(&fold("公表します")), None);
    }
}
