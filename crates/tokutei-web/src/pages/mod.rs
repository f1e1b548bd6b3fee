//! Server-rendered pages: the shared layout (skip link, header, navigation, language
//! switch, footer), the stylesheet, and one module per page family. Pages are plain HTML
//! that works without JavaScript; everything a page needs is served by this binary.

pub(crate) mod policy;
pub(crate) mod requests;
pub(crate) mod transparency;
pub(crate) mod versions;

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use maud::{DOCTYPE, Markup, html};
use tokutei_policy::Lang;

pub(crate) const STYLESHEET: &str = include_str!("../../assets/tokutei.css");

pub(crate) async fn stylesheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], STYLESHEET)
}

/// A document as one self-contained HTML file, the stylesheet embedded, so that it opens from
/// disk and prints (the policy, a self-inspection report, the 情報取扱規程 as the CLI writes them).
pub(crate) fn standalone(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (maud::PreEscaped(STYLESHEET)) }
            }
            body { main #main { (body) } }
        }
    }
}

/// The site icon (SVG), at the address browsers ask every site for.
const ICON: &str = include_str!("../../assets/icon.svg");

pub(crate) async fn icon() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")], ICON)
}

/// The public site's sections, for navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Area {
    Policy,
    Versions,
    Leaks,
    Requests,
    Inquiry,
    /// The subscriber's own page (reached by a link, not in the navigation).
    My,
    /// The published checkpoint and its witnesses (linked from the footer).
    Transparency,
}

/// A public page: `path_ja` and `path_en` are this page's address in each language (for the
/// language switch).
pub(crate) struct Page<'a> {
    pub lang: Lang,
    pub title: &'a str,
    pub site: &'a str,
    pub area: Area,
    pub path_ja: &'a str,
    pub path_en: &'a str,
}

fn href(lang: Lang, path: &str) -> String {
    match lang {
        Lang::Ja => path.to_string(),
        Lang::En => format!("/en{path}"),
    }
}

pub(crate) fn layout(page: &Page<'_>, body: Markup) -> Markup {
    layout_with_script(page, body, None)
}

/// [`layout`] with one script of this site (`/static/…`, deferred; the CSP allows no other).
pub(crate) fn layout_with_script(page: &Page<'_>, body: Markup, script: Option<&str>) -> Markup {
    let lang = page.lang;
    let t = |ja: &'static str, en: &'static str| if lang == Lang::Ja { ja } else { en };
    let nav = [
        (Area::Policy, t("取扱方針", "Policy"), href(lang, "/")),
        (Area::Versions, t("改定履歴", "Version history"), href(lang, "/policy/versions")),
        (Area::Leaks, t("漏えいの公表", "Leak disclosures"), href(lang, "/leaks")),
        (Area::Requests, t("開示等の請求", "Requests"), href(lang, "/requests")),
        (Area::Inquiry, t("お問い合わせ", "Inquiry"), href(lang, "/inquiry")),
    ];
    let (other_lang, other_label, other_href) = match lang {
        Lang::Ja => ("en", "English", page.path_en),
        Lang::En => ("ja", "日本語", page.path_ja),
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (page.title) " | " (page.site) }
                link rel="stylesheet" href="/static/tokutei.css";
                @if let Some(src) = script { script src=(src) defer {} }
            }
            body {
                a.skip href="#main" { (t("本文へ移動", "Skip to content")) }
                header.site {
                    div.bar {
                        a.brand href=(href(lang, "/")) { (page.site) }
                        nav.site aria-label=(t("サイト内", "Site")) {
                            ul {
                                @for (area, label, link) in &nav {
                                    li {
                                        @if *area == page.area {
                                            a href=(link) aria-current="page" { (label) }
                                        } @else {
                                            a href=(link) { (label) }
                                        }
                                    }
                                }
                                li { a href=(other_href) lang=(other_lang) hreflang=(other_lang) { (other_label) } }
                            }
                        }
                    }
                }
                main #main { (body) }
                footer.site {
                    div { (page.site) }
                    ul.footer-links {
                        li { a href=(href(lang, "/my/")) { (t("あなたの情報の利用状況", "How your information was used")) } }
                        li { a href=(href(lang, "/transparency")) { (t("監査台帳の公開と証人", "Audit ledger and its witnesses")) } }
                    }
                }
            }
        }
    }
}

/// A small page for errors (404, 400, 500), in both languages because we do not know which
/// the reader wanted.
pub(crate) fn error_page(status: StatusCode, ja: &str, en: &str, detail: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="ja" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (status.as_u16()) " " (ja) }
                link rel="stylesheet" href="/static/tokutei.css";
            }
            body {
                main #main {
                    h1 { (ja) }
                    p lang="en" { (en) }
                    @if let Some(d) = detail { p.note { (d) } }
                    p { a href="/" { "トップへ戻る" } " / " a href="/en/" lang="en" { "Back to the policy" } }
                }
            }
        }
    }
}
