//! The staff console under `/admin/`: sign-in and sessions (`session`, `login`), the
//! dashboard (the reports due with their days left, overdue in red; today's uses by purpose
//! and denials, with a server-rendered SVG chart; the ledger's size and last checkpoint) and
//! the staff registry; the incident register (`incidents`), the alert outbox (`alerts`) and
//! oversight (`oversight`: the designation, the chief manager, violation reports; with
//! `oversight_rules`, `oversight_inspections`, `oversight_training` and `oversight_assessment`);
//! export requests with their artefacts and the media exceptions (`exports`).
//! Japanese first, English second;
//! plain HTML forms, no script.

mod alerts;
mod audit;
mod consent;
mod daily;
mod exports;
pub(crate) mod forms;
mod incidents;
mod inquiries;
mod login;
mod oversight;
mod oversight_assessment;
pub(crate) mod oversight_inspections;
pub(crate) mod oversight_rules;
mod oversight_training;
mod policy;
mod requests;
pub(crate) mod session;
mod settings;
mod subscribers;
mod zones;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};
use tokutei_ledger::{Decision, Event};
use tokutei_policy::Lang;
use tokutei_store::ledger::LedgerQuery;
use tokutei_store::staff::PrincipalKind;

use crate::routes::{ALL_ROLES, Access, MANAGERS, OVERSIGHT, Routes};
use crate::{AppError, AppState};
use session::StaffSession;

pub(crate) fn routes(r: Routes) -> Routes {
    let r = exports::routes(consent::routes(zones::routes(requests::routes(r))));
    let r = oversight_rules::routes(oversight_assessment::routes(oversight_training::routes(
        oversight_inspections::routes(oversight::routes(alerts::routes(incidents::routes(r)))),
    )));
    r.add("GET", "/admin/login", "/admin/login", Access::Public, get(login::login_page))
        .add("POST", "/admin/login", "/admin/login", Access::Public, post(login::login))
        .add("POST", "/admin/logout", "/admin/logout", Access::Staff(ALL_ROLES), post(login::logout))
        .add("GET", "/admin/password", "/admin/password", Access::Staff(ALL_ROLES), get(login::password_page))
        .add("POST", "/admin/password", "/admin/password", Access::Staff(ALL_ROLES), post(login::change_password))
        .add("GET", "/admin/", "/admin/", Access::Staff(ALL_ROLES), get(dashboard))
        .add("GET", "/admin", "/admin", Access::Public, get(|| async { Redirect::permanent("/admin/") }))
        .add("GET", "/admin/staff", "/admin/staff", Access::Staff(OVERSIGHT), get(staff_page))
        .add("GET", "/admin/policy", "/admin/policy", Access::Staff(OVERSIGHT), get(policy::page))
        .add("POST", "/admin/policy/preview", "/admin/policy/preview", Access::Staff(MANAGERS), post(policy::preview))
        .add("POST", "/admin/policy/publish", "/admin/policy/publish", Access::Staff(MANAGERS), post(policy::publish))
        .add("POST", "/admin/lang", "/admin/lang", Access::Public, post(switch_lang))
        .add("GET", "/admin/inquiries", "/admin/inquiries", Access::Staff(OVERSIGHT), get(inquiries::page))
        .add(
            "POST",
            "/admin/inquiries/{receipt}",
            "/admin/inquiries/20260101-ABCDEF",
            Access::Staff(OVERSIGHT),
            post(inquiries::open),
        )
        .add(
            "POST",
            "/admin/inquiries/{receipt}/status",
            "/admin/inquiries/20260101-ABCDEF/status",
            Access::Staff(MANAGERS),
            post(inquiries::set_status),
        )
        .add("GET", "/admin/settings", "/admin/settings", Access::Staff(OVERSIGHT), get(settings::page))
        .add("POST", "/admin/settings", "/admin/settings", Access::Staff(MANAGERS), post(settings::change))
        .add("GET", "/admin/audit", "/admin/audit", Access::Staff(OVERSIGHT), get(audit::page))
        .add("GET", "/admin/audit/{index}/proof", "/admin/audit/0/proof", Access::Staff(OVERSIGHT), get(audit::proof))
        .add(
            "GET",
            "/admin/subscribers",
            "/admin/subscribers",
            Access::Staff(subscribers::HANDLING),
            get(subscribers::page),
        )
        .add(
            "POST",
            "/admin/subscribers/search",
            "/admin/subscribers/search",
            Access::Staff(subscribers::HANDLING),
            post(subscribers::search),
        )
        .add(
            "GET",
            "/admin/subscribers/{id}",
            "/admin/subscribers/HS00000001",
            Access::Staff(subscribers::HANDLING),
            get(subscribers::subscriber_page),
        )
        .add(
            "POST",
            "/admin/subscribers/{id}",
            "/admin/subscribers/HS00000001",
            Access::Staff(subscribers::HANDLING),
            post(subscribers::view),
        )
}

/// A console form's fields, parsed only after the caller's role has been checked (so a
/// refused caller learns nothing from validation errors).
pub(crate) fn form<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    serde_urlencoded::from_bytes(body).map_err(|e| AppError::BadRequest(format!("form: {e}")))
}

/// Who is signed in, for the console's header.
pub(crate) struct Console<'a> {
    pub name: &'a str,
    pub role: tokutei_policy::Role,
    pub csrf: &'a str,
    pub lang: Lang,
    /// The page, to come back to after switching language.
    pub path: Option<&'a str>,
}

impl<'a> Console<'a> {
    pub(crate) fn of(staff: &'a StaffSession) -> Console<'a> {
        Console {
            name: &staff.principal.display_name,
            role: staff.role,
            csrf: &staff.csrf,
            lang: staff.lang,
            path: staff.path.as_deref(),
        }
    }
}

/// Text in the console's language first, the other language after it (smaller, marked with
/// its `lang`).
pub(crate) fn bi(lang: Lang, ja: &str, en: &str) -> Markup {
    match lang {
        Lang::Ja => html! { (ja) span.en lang="en" { (en) } },
        Lang::En => html! { (en) span.en lang="ja" { (ja) } },
    }
}

/// Text in the console's language only (short labels: buttons, table headings), marked
/// with its `lang` only when it differs from the page's.
pub(crate) fn one(lang: Lang, ja: &'static str, en: &'static str) -> &'static str {
    if lang == Lang::Ja { ja } else { en }
}

/// A console page: header with the signed-in person and sign-out, navigation, content.
pub(crate) fn console_page(who: Option<Console<'_>>, title: &str, body: Markup) -> Markup {
    let lang = who.as_ref().map_or(Lang::Ja, |w| w.lang);
    console_page_in(lang, who, title, body)
}

/// A console page in `lang` (the sign-in page has no session to take it from).
pub(crate) fn console_page_in(lang: Lang, who: Option<Console<'_>>, title: &str, body: Markup) -> Markup {
    let t = |ja: &'static str, en: &'static str| one(lang, ja, en);
    let (to, to_label, to_lang) = match lang {
        Lang::Ja => ("en", "English", "en"),
        Lang::En => ("ja", "日本語", "ja"),
    };
    let back = who.as_ref().and_then(|w| w.path).unwrap_or(if who.is_some() { "/admin/" } else { "/admin/login" });
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " | " (t("tokutei 管理画面", "tokutei console")) }
                link rel="stylesheet" href="/static/tokutei.css";
            }
            body.console {
                a.skip href="#main" { (t("本文へ移動", "Skip to content")) }
                header.site {
                    div.bar {
                        a.brand href="/admin/" { (bi(lang, "tokutei 管理画面", "tokutei console")) }
                        @if let Some(who) = &who {
                            nav.site aria-label=(t("管理画面", "Console")) {
                                ul {
                                    li { a href="/admin/" { (t("ダッシュボード", "Dashboard")) } }
                                    @if subscribers::HANDLING.contains(&who.role) {
                                        li { a href="/admin/subscribers" { (t("利用者", "Subscribers")) } }
                                    }
                                    li { a href="/admin/exports" { (t("持出し", "Exports")) } }
                                    @if crate::routes::OVERSIGHT.contains(&who.role) {
                                        li { a href="/admin/media" { (t("外部記録媒体", "Media")) } }
                                        li { a href="/admin/inquiries" { (t("お問い合わせ", "Inquiries")) } }
                                        li { a href="/admin/requests" { (t("開示等の請求", "Requests")) } }
                                        li { a href="/admin/incidents" { (t("漏えい等事案", "Incidents")) } }
                                        li { a href="/admin/oversight" { (t("監督", "Oversight")) } }
                                        li { a href="/admin/alerts" { (t("通知", "Alerts")) } }
                                        li { a href="/admin/staff" { (t("取扱者", "Staff")) } }
                                        li { a href="/admin/audit" { (t("アクセスログ", "Access log")) } }
                                        li { a href="/admin/policy" { (t("取扱方針", "Policy")) } }
                                        li { a href="/admin/settings" { (t("設定", "Settings")) } }
                                    }
                                    @if !crate::routes::OVERSIGHT.contains(&who.role) {
                                        li { a href="/admin/requests/new" { (t("請求の受付", "Receive a request")) } }
                                        li { a href="/admin/oversight/violations/new" { (t("違反の報告", "Report a violation")) } }
                                    }
                                    li { a href="/admin/password" { (t("パスワード", "Password")) } }
                                }
                            }
                        }
                        div.tools {
                            form #lang-switch method="post" action="/admin/lang" {
                                input type="hidden" name="to" value=(to);
                                input type="hidden" name="back" value=(back);
                                button #lang-switch-button .link type="submit" lang=(to_lang) { (to_label) }
                            }
                            @if let Some(who) = &who {
                                form.signout method="post" action="/admin/logout" {
                                    input type="hidden" name="csrf" value=(who.csrf);
                                    span { (who.name) " (" (who.role.label(lang)) ")" }
                                    " "
                                    button #sign-out type="submit" { (t("ログアウト", "Sign out")) }
                                }
                            }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

#[derive(Debug, serde::Deserialize)]
struct LangForm {
    to: String,
    #[serde(default)]
    back: String,
}

/// The language switch: remembers `ja` or `en` in a cookie (a year, console paths only) and
/// goes back to the console page it came from.
async fn switch_lang(headers: axum::http::HeaderMap, body: axum::body::Bytes) -> Result<Response, AppError> {
    let form: LangForm = form(&body)?;
    let to = match form.to.as_str() {
        "ja" | "en" => form.to.as_str(),
        other => return Err(AppError::BadRequest(format!("language `{other}`: use `ja` or `en`"))),
    };
    let safe = form.back.starts_with("/admin")
        && !form.back.contains("//")
        && !form.back.contains('\\')
        && form.back.chars().all(|c| c.is_ascii_graphic());
    let back = if safe { form.back.as_str() } else { "/admin/" };
    let cookie =
        session::set_cookie(session::LANG_COOKIE, to, "/admin", Some(365 * 24 * 3600), session::over_tls(&headers));
    Ok(([(axum::http::header::SET_COOKIE, cookie)], Redirect::to(back)).into_response())
}

/// Today's uses: per purpose (purpose, allowed, denied), and denials per reason code
/// (reason, 0, denied decisions carrying it). Counts are decisions: subscriber × category.
type Tally = Vec<(String, u64, u64)>;

fn tally_today(entries: Vec<tokutei_ledger::Entry>) -> (Tally, Tally) {
    let mut by_purpose: std::collections::BTreeMap<String, (u64, u64)> = std::collections::BTreeMap::new();
    let mut by_reason: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for entry in entries {
        if let Event::Access(a) = entry.event {
            let n = a.categories.len().max(1) as u64 * a.subscribers.len().max(1) as u64;
            let slot = by_purpose.entry(a.purpose).or_default();
            match a.decision {
                Decision::Allow => slot.0 += n,
                Decision::Deny => {
                    slot.1 += n;
                    for reason in a.reasons {
                        *by_reason.entry(reason).or_default() += n;
                    }
                }
            }
        }
    }
    let mut reasons: Tally = by_reason.into_iter().map(|(r, d)| (r, 0, d)).collect();
    reasons.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    (by_purpose.into_iter().map(|(p, (a, d))| (p, a, d)).collect(), reasons)
}

/// A horizontal bar chart of allowed and denied uses per purpose, as inline SVG (no script,
/// no inline style: colours come from presentation attributes).
fn chart(id: &str, title: &str, rows: &[(String, u64, u64)]) -> Markup {
    let max = rows.iter().map(|(_, a, d)| a + d).max().unwrap_or(0).max(1);
    let height = 28 * rows.len() as u32 + 10;
    html! {
        svg.chart role="img" aria-labelledby=(id) viewBox=(format!("0 0 640 {height}")) width="100%" {
            title id=(id) { (title) }
            @for (i, (purpose, allowed, denied)) in rows.iter().enumerate() {
                @let y = 10 + 28 * i as u64;
                @let wa = 400 * allowed / max;
                @let wd = 400 * denied / max;
                text x="0" y=(y + 15) font-size="13" fill="#222" { (purpose) }
                rect x="200" y=(y) width=(wa) height="18" fill="#2f6f4f" {}
                rect x=(200 + wa) y=(y) width=(wd) height="18" fill="#b3261e" {}
                text x=(205 + wa + wd) y=(y + 14) font-size="12" fill="#222" { (allowed) " / " (denied) }
            }
        }
    }
}

/// The most ledger entries the dashboard reads (the last 14 days); beyond it the figures
/// are marked partial.
const DASHBOARD_LIMIT: u64 = 500_000;

async fn dashboard(State(state): State<AppState>, staff: StaffSession) -> Result<Response, AppError> {
    let today = tokutei_policy::tokyo::today().0;
    let midnight_of = |day: jiff::civil::Date| Ok::<_, AppError>(tokutei_policy::tokyo::start_of(day));
    let midnight = midnight_of(today)?;
    let first_day = today.checked_sub(jiff::Span::new().days(daily::DAYS - 1)).unwrap_or(today);
    let since = midnight_of(first_day)?;
    let (size, checkpoint, entries, partial) = state
        .ledger(move |l| {
            let size = l.tree_size()?;
            let checkpoint = l.latest_checkpoint()?;
            let mut entries = Vec::new();
            let query = LedgerQuery { since: Some(since), limit: Some(DASHBOARD_LIMIT), ..LedgerQuery::default() };
            l.query_entries(&query, &mut |e| {
                entries.push(e.decode()?);
                Ok(true)
            })?;
            let partial = entries.len() as u64 >= DASHBOARD_LIMIT;
            Ok((size, checkpoint, entries, partial))
        })
        .await?;
    let daily = daily::tally(&entries, today, &tokutei_policy::tokyo::zone());
    let entries: Vec<_> = entries.into_iter().filter(|e| e.time >= midnight).collect();
    let (rows, reasons) = tally_today(entries);
    let (allowed, denied) = rows.iter().fold((0, 0), |(a, d), (_, x, y)| (a + x, d + y));
    let t = |ja: &'static str, en: &'static str| one(staff.lang, ja, en);
    let obligations = if OVERSIGHT.contains(&staff.role) {
        incidents::obligations_section(&state, staff.lang).await?
    } else {
        html! {}
    };
    let body = html! {
        h1 { (bi(staff.lang, "ダッシュボード", "Dashboard")) }
        (obligations)
        section aria-labelledby="today" {
            h2 #today { (bi(staff.lang, "本日の利用", "Uses today (Asia/Tokyo)")) }
            @if staff.lang == Lang::Ja {
                p { "許可 " strong { (allowed) } " 件・拒否 " strong { (denied) } " 件" span lang="en" { " (allowed / denied, per subscriber and category)" } }
            } @else {
                p { "Allowed " strong { (allowed) } ", denied " strong { (denied) } " (per subscriber and category)" }
            }
            @if rows.is_empty() {
                p.note { (bi(staff.lang, "本日の利用はまだありません。", "No uses yet today.")) }
            } @else {
                (chart("chart-purposes", t("本日の利用目的別の利用件数（許可・拒否）", "Uses today per purpose (allowed, denied)"), &rows))
                table {
                    caption { (t("利用目的別", "By purpose")) }
                    thead { tr { th scope="col" { (t("利用目的", "Purpose")) } th scope="col" { (t("許可", "Allowed")) } th scope="col" { (t("拒否", "Denied")) } } }
                    tbody {
                        @for (purpose, a, d) in &rows {
                            tr { th scope="row" { (purpose) } td { (a) } td { (d) } }
                        }
                    }
                }
            }
        }
        @if !reasons.is_empty() {
            section aria-labelledby="denials" {
                h2 #denials { (bi(staff.lang, "本日の拒否の理由", "Denials today by reason")) }
                (chart("chart-reasons", t("本日の拒否の理由別件数", "Denials today by reason"), &reasons))
                table {
                    caption { (t("理由別", "By reason")) }
                    thead { tr { th scope="col" { (t("理由", "Reason")) } th scope="col" { (t("件数", "Decisions")) } } }
                    tbody {
                        @for (reason, _, n) in &reasons {
                            tr { th scope="row" { code { (reason) } } td { (n) } }
                        }
                    }
                }
            }
        }
        (daily::section(&daily, staff.lang, partial))
        section aria-labelledby="ledger" {
            h2 #ledger { (bi(staff.lang, "監査記録", "Audit ledger")) }
            dl {
                dt { (t("記録数", "Entries")) } dd { (size) }
                dt { (t("最新のチェックポイント", "Latest checkpoint")) }
                dd {
                    @match &checkpoint {
                        Some(c) => { (c.size) (t(" 件時点（", " entries (")) (c.created_at.strftime("%Y-%m-%d %H:%M UTC")) (t("）", ")")) }
                        None => { (t("まだありません", "none yet")) }
                    }
                }
            }
        }
    };
    Ok(console_page(Some(Console::of(&staff)), t("ダッシュボード", "Dashboard"), body).into_response())
}

async fn staff_page(State(state): State<AppState>, staff: StaffSession) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let today = tokutei_policy::tokyo::today();
    let all = state.blocking(|b| b.principals()).await?;
    let body = html! {
        h1 { (bi(staff.lang, "取扱者", "Staff and systems")) }
        table {
            thead {
                tr {
                    th scope="col" { "ID" }
                    th scope="col" { "名前 Name" }
                    th scope="col" { "種別 Kind" }
                    th scope="col" { "利用目的 Purposes" }
                    th scope="col" { "研修 Training" }
                    th scope="col" { "状態 State" }
                }
            }
            tbody {
                @for p in &all {
                    tr {
                        th scope="row" { (p.id) }
                        td { (p.display_name) }
                        td {
                            @match &p.kind {
                                PrincipalKind::Person { role } => { (role.label(Lang::Ja)) }
                                PrincipalKind::System { name } => { "システム（" (name) "）" }
                            }
                        }
                        td { (p.grants.purposes.join(", ")) }
                        td {
                            @for t in &p.training {
                                @if t.valid_until >= today {
                                    span { (t.course) "（〜" (t.valid_until) "）" }
                                } @else {
                                    span.expired { (t.course) "（期限切れ " (t.valid_until) "）" }
                                }
                                " "
                            }
                        }
                        td { @if p.disabled_at.is_some() { "停止" } @else { "有効" } }
                    }
                }
            }
        }
    };
    Ok(console_page(Some(Console::of(&staff)), "取扱者", body).into_response())
}

#[cfg(test)]
mod tests {
    use tokutei_ledger::{AccessEvent, Action, Actor, Decision, Entry, RequestMeta};

    fn access(purpose: &str, decision: Decision, categories: usize, reasons: &[&str]) -> Entry {
        Entry::access(
            jiff::Timestamp::now(),
            Actor::Staff("op".into()),
            AccessEvent {
                action: Action::Read,
                purpose: purpose.into(),
                subscribers: vec!["S1".into()],
                categories: (0..categories).map(|i| format!("c{i}")).collect(),
                decision,
                reasons: reasons.iter().map(|r| r.to_string()).collect(),
                rules: vec![],
                policy_digest: [0; 32],
                request: RequestMeta::default(),
            },
        )
    }

    #[test]
    fn today_counts_decisions_per_purpose_and_denials_per_reason() {
        let (purposes, reasons) = super::tally_today(vec![
            access("support", Decision::Allow, 3, &[]),
            access("support", Decision::Deny, 1, &["outside_data_range"]),
            access("marketing", Decision::Deny, 2, &["opted_out", "outside_data_range"]),
        ]);
        assert_eq!(purposes, vec![("marketing".to_string(), 0, 2), ("support".to_string(), 3, 1)]);
        assert_eq!(reasons, vec![("outside_data_range".to_string(), 0, 3), ("opted_out".to_string(), 0, 2)]);
    }
}
