//! The version history: every published policy version with its effective date and digest,
//! and each old version viewable with its difference to the version before it.

use maud::{Markup, html};
use tokutei_policy::Lang;
use tokutei_store::PolicyVersion;

use crate::console::one as t;

fn version_href(lang: Lang, number: u32) -> String {
    match lang {
        Lang::Ja => format!("/policy/versions/{number}"),
        Lang::En => format!("/en/policy/versions/{number}"),
    }
}

fn timestamp(ts: jiff::Timestamp) -> String {
    format!("{} JST", tokutei_policy::tokyo::minutes(ts))
}

/// The list, newest first; `active` is the number of the version in force.
pub(crate) fn list(lang: Lang, versions: &[PolicyVersion], active: Option<u32>) -> Markup {
    html! {
        h1 { (t(lang, "改定履歴", "Version history")) }
        p { (t(lang,
            "公表した取扱方針のすべての版です。各版は変更できず、いつでも閲覧できます。",
            "Every published version of this policy. Versions cannot be changed and stay viewable."))
        }
        @if versions.is_empty() {
            p { (t(lang, "公表された版はまだありません。", "No version has been published yet.")) }
        } @else {
            table {
                caption.note { (t(lang, "新しい順", "Newest first")) }
                thead { tr {
                    th scope="col" { (t(lang, "版", "Version")) }
                    th scope="col" { (t(lang, "施行日", "Effective")) }
                    th scope="col" { (t(lang, "公表日時", "Published")) }
                    th scope="col" { (t(lang, "ダイジェスト", "Digest")) }
                } }
                tbody {
                    @for v in versions.iter().rev() {
                        tr {
                            td {
                                a href=(version_href(lang, v.number)) { "v" (v.number) }
                                @if Some(v.number) == active { " " strong { (t(lang, "(現行)", "(current)")) } }
                            }
                            td { (v.effective.in_lang(lang)) }
                            td { (timestamp(v.published_at)) }
                            td.digest { (v.digest.short()) }
                        }
                    }
                }
            }
        }
    }
}

/// The banner and difference shown above an old version's text.
pub(crate) fn version_header(lang: Lang, version: &PolicyVersion, active: Option<u32>, diff: Option<&str>) -> Markup {
    html! {
        @if Some(version.number) != active {
            p.banner role="note" {
                (t(lang, "これは現行の版ではありません。", "This is not the version in force."))
                " "
                a href=(if lang == Lang::Ja { "/" } else { "/en/" }) { (t(lang, "現行の取扱方針を見る", "See the current policy")) }
            }
        }
        dl.fields {
            dt { (t(lang, "版", "Version")) } dd { "v" (version.number) }
            dt { (t(lang, "施行日", "Effective")) } dd { (version.effective.in_lang(lang)) }
            dt { (t(lang, "公表日時", "Published")) } dd { (timestamp(version.published_at)) }
            dt { (t(lang, "ダイジェスト", "Digest")) } dd.digest { (version.digest.0) }
        }
        @if let Some(diff) = diff {
            details open {
                summary { (t(lang, "前の版からの変更", "Changes from the previous version")) }
                pre.diff { (diff) }
            }
        } @else {
            p.note { (t(lang, "最初の版です。", "This is the first version.")) }
        }
    }
}
