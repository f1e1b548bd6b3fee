//! The subscriber's own page (`/my/`, English `/en/my/`), phone-sized first, the preference
//! page, and the API the carrier's systems ask links with (`POST /api/v1/portal/links`).
//!
//! - `GET /my/enter?t=…`: the landing page of a link, with one button; a link preview (an SMS
//!   app fetching the address) opens nothing. `POST /my/enter` opens the page: the link is
//!   spent, a session cookie (`tokutei_my`: HttpOnly, SameSite=Strict, Secure behind TLS) is
//!   set, and the browser goes to `/my/`. Attempts are limited per client address.
//! - `GET /my/?since=&until=`: the uses of the subscriber's information in the period (the
//!   last 90 days by default), each with a button that checks its inclusion proof in the
//!   browser (`/static/my-verify.js`: SHA-256 and Ed25519 from WebCrypto, no inline script)
//!   and a download for `tokutei audit check-proof`; the checkpoint and its witnesses; the
//!   subscriber's choices, contract state and the incidents that named them; the procedures.
//! - `GET /my/proof/{index}`: an entry's proof, only for an entry that names the subscriber.
//! - `POST /my/signout` ends the session.
//! - `/preferences` (`tokutei consent link`'s links land on `/preferences/enter`, the same
//!   session): the purposes that rely on the subscriber's choice, one button each
//!   (`record_own_choice`); `POST /api/v1/consent`: a choice captured by staff or a system.
//!
//! Every rule — who the session belongs to, what is listed, what is audited — is
//! `tokutei_app::portal`'s; this module parses, calls and presents.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use maud::{Markup, html};
use serde::Deserialize;
use tokutei_app::portal::{ChoiceRow, Doer, Landing, PortalView, Visitor};
use tokutei_app::{Acting, PurposeId, SubscriberId};
use tokutei_ledger::{Action, Decision};
use tokutei_policy::{ConsentMode, Date, Lang, Policy};
use tokutei_store::consent::Choice;
use tokutei_store::vault::ContractState;

use crate::api::{ApiError, Caller};
use crate::console::one as t;
use crate::console::session::{cookie, over_tls, set_cookie};
use crate::limiter::ClientAddr;
use crate::pages::{self, Area, Page};
use crate::routes::{Access, Routes};
use crate::{AppError, AppState};

/// The session cookie of the subscriber's page.
const COOKIE: &str = "tokutei_my";
/// Attempts to open a link per client address per hour.
const OPEN_PER_HOUR: u32 = 30;
/// The period shown when none is asked for, in days.
const DEFAULT_DAYS: i64 = 90;

pub(crate) const SCRIPT: &str = include_str!("../assets/my-verify.js");

pub(crate) fn routes(r: Routes) -> Routes {
    use Access::Public;
    use Landing::{My, Preferences as Prefs};
    r.add("GET", "/my/", "/my/", Public, get(|s, h, q| my_page(s, h, q, Lang::Ja)))
        .add("GET", "/en/my/", "/en/my/", Public, get(|s, h, q| my_page(s, h, q, Lang::En)))
        .add("GET", "/my", "/my", Public, get(|| async { Redirect::permanent("/my/") }))
        .add("GET", "/en/my", "/en/my", Public, get(|| async { Redirect::permanent("/en/my/") }))
        .add("GET", "/my/enter", "/my/enter", Public, get(|s, q| enter_page(s, q, Lang::Ja, My)))
        .add("GET", "/en/my/enter", "/en/my/enter", Public, get(|s, q| enter_page(s, q, Lang::En, My)))
        .add("POST", "/my/enter", "/my/enter", Public, post(|s, c, h, b| open(s, c, h, b, Lang::Ja, My)))
        .add("POST", "/en/my/enter", "/en/my/enter", Public, post(|s, c, h, b| open(s, c, h, b, Lang::En, My)))
        .add("GET", "/preferences", "/preferences", Public, get(|s, h, q| preferences_page(s, h, q, Lang::Ja)))
        .add("GET", "/en/preferences", "/en/preferences", Public, get(|s, h, q| preferences_page(s, h, q, Lang::En)))
        .add("POST", "/preferences", "/preferences", Public, post(|s, h, b| change_choice(s, h, b, Lang::Ja)))
        .add("POST", "/en/preferences", "/en/preferences", Public, post(|s, h, b| change_choice(s, h, b, Lang::En)))
        .add("GET", "/preferences/enter", "/preferences/enter", Public, get(|s, q| enter_page(s, q, Lang::Ja, Prefs)))
        .add(
            "GET",
            "/en/preferences/enter",
            "/en/preferences/enter",
            Public,
            get(|s, q| enter_page(s, q, Lang::En, Prefs)),
        )
        .add(
            "POST",
            "/preferences/enter",
            "/preferences/enter",
            Public,
            post(|s, c, h, b| open(s, c, h, b, Lang::Ja, Prefs)),
        )
        .add(
            "POST",
            "/en/preferences/enter",
            "/en/preferences/enter",
            Public,
            post(|s, c, h, b| open(s, c, h, b, Lang::En, Prefs)),
        )
        .add("GET", "/my/proof/{index}", "/my/proof/0", Public, get(proof))
        .add("POST", "/my/signout", "/my/signout", Public, post(|s, h| sign_out(s, h, Lang::Ja)))
        .add("POST", "/en/my/signout", "/en/my/signout", Public, post(|s, h| sign_out(s, h, Lang::En)))
        .add("GET", "/static/my-verify.js", "/static/my-verify.js", Public, get(script))
        .add("POST", "/api/v1/portal/links", "/api/v1/portal/links", Access::Token(None), post(issue_link))
        .add("POST", "/api/v1/consent", "/api/v1/consent", Access::Token(None), post(record_consent))
}

fn base(lang: Lang) -> &'static str {
    if lang == Lang::Ja { "/my/" } else { "/en/my/" }
}

/// `path` in `lang` (English pages live under `/en`).
fn localized(lang: Lang, path: &str) -> String {
    if lang == Lang::Ja { path.to_string() } else { format!("/en{path}") }
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        SCRIPT,
    )
}

/// The visitor of the request's session cookie, if any.
async fn visitor(state: &AppState, headers: &HeaderMap) -> Result<Option<Visitor>, AppError> {
    let Some(value) = cookie(headers, COOKIE) else { return Ok(None) };
    let app = state.access_service()?;
    run(move || app.portal_visitor(&value, Timestamp::now())).await
}

async fn run<T: Send + 'static>(
    work: impl FnOnce() -> tokutei_app::ActionResult<T> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::internal(format!("portal task failed: {e}")))?
        .map_err(AppError::from)
}

fn layout(state_site: &str, lang: Lang, title: &str, path: &str, body: Markup) -> Response {
    let (path_ja, path_en) = if let Some(rest) = path.strip_prefix("/en") {
        (rest.to_string(), path.to_string())
    } else {
        (path.to_string(), format!("/en{path}"))
    };
    let page = Page { lang, title, site: state_site, area: Area::My, path_ja: &path_ja, path_en: &path_en };
    pages::layout_with_script(&page, body, Some("/static/my-verify.js")).into_response()
}

#[derive(Debug, Deserialize)]
struct Enter {
    #[serde(default)]
    t: String,
}

async fn enter_page(
    State(state): State<AppState>,
    Query(q): Query<Enter>,
    lang: Lang,
    landing: Landing,
) -> Result<Response, AppError> {
    let site = crate::inquiry::site_name(&state, lang).await?;
    let action = localized(lang, landing.enter());
    let (title, what) = match landing {
        Landing::My => (
            t(lang, "ご本人のページ", "Your own page"),
            t(
                lang,
                "当社があなたの情報をいつ、何のために利用したかを確認できるページです。下のボタンを押すと開きます。このリンクは一度だけ使えます。",
                "This page shows when and why we used your information. Press the button to open it. The link works once.",
            ),
        ),
        Landing::Preferences => (
            t(lang, "利用目的ごとの選択", "Your choices"),
            t(
                lang,
                "広告やご案内など、あなたが選べる利用目的について、利用を止めたり同意したりできるページです。下のボタンを押すと開きます。このリンクは一度だけ使えます。",
                "On this page you stop or allow the uses of your information that are your choice, such as advertising. Press the button to open it. The link works once.",
            ),
        ),
    };
    let body = html! {
        h1 { (title) }
        p { (what) }
        form method="post" action=(action) {
            input type="hidden" name="t" value=(q.t);
            button type="submit" { (t(lang, "ページを開く", "Open the page")) }
        }
    };
    Ok(layout(&site, lang, title, &action, body))
}

async fn open(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: axum::body::Bytes,
    lang: Lang,
    landing: Landing,
) -> Result<Response, AppError> {
    let now = Timestamp::now();
    let site = crate::inquiry::site_name(&state, lang).await?;
    if !state.portal_limiter.allow(client, OPEN_PER_HOUR, now) {
        return Err(AppError::TooManyRequests { retry_after: 3600 });
    }
    let form: Enter = serde_urlencoded::from_bytes(&body).map_err(|e| AppError::BadRequest(format!("form: {e}")))?;
    let app = state.access_service()?;
    let opened = match run(move || app.open_portal(&form.t, now)).await {
        Ok(opened) => opened,
        Err(AppError::Forbidden(_)) => {
            let body = html! {
                h1 { (t(lang, "このリンクは使えません", "This link cannot be used")) }
                p { (t(lang,
                    "リンクは一度だけ、発行から短い時間だけ使えます。使用済みか、期限が切れたか、正しくないリンクです。お手数ですが、会員ページやお問い合わせ窓口からもう一度リンクを受け取ってください。",
                    "A link works once and for a short time only. This one was used, has expired or is not valid. Please ask for a new link on the member page or at our contact desk.")) }
            };
            let mut response =
                layout(&site, lang, t(lang, "このリンクは使えません", "This link cannot be used"), base(lang), body);
            *response.status_mut() = StatusCode::FORBIDDEN;
            return Ok(response);
        }
        Err(e) => return Err(e),
    };
    let max_age = (opened.expires_at.as_second() - now.as_second()).max(0);
    let cookie =
        set_cookie(COOKIE, &opened.cookie, "/", Some(max_age), over_tls(&headers) || state.hsts_max_age.is_some());
    Ok((
        StatusCode::SEE_OTHER,
        [(header::SET_COOKIE, cookie), (header::LOCATION, location(&localized(lang, landing.page()))?)],
    )
        .into_response())
}

async fn sign_out(State(state): State<AppState>, headers: HeaderMap, lang: Lang) -> Result<Response, AppError> {
    if let Some(visitor) = visitor(&state, &headers).await? {
        let app = state.access_service()?;
        run(move || app.close_portal(&visitor, Timestamp::now())).await?;
    }
    let gone = set_cookie(COOKIE, "", "/", Some(0), over_tls(&headers) || state.hsts_max_age.is_some());
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, gone),
            (header::LOCATION, base(lang).parse().map_err(|_| AppError::internal("location"))?),
        ],
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
struct Period {
    since: Option<String>,
    until: Option<String>,
}

fn parse_day(field: &'static str, text: &Option<String>) -> Result<Option<Date>, AppError> {
    match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t
            .parse::<Date>()
            .map(Some)
            .map_err(|_| AppError::Invalid { field, message: format!("`{t}` is not a date (YYYY-MM-DD)") }),
    }
}

async fn my_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(period): Query<Period>,
    lang: Lang,
) -> Result<Response, AppError> {
    let site = crate::inquiry::site_name(&state, lang).await?;
    let title = t(lang, "あなたの情報の利用状況", "How your information was used");
    let Some(visitor) = visitor(&state, &headers).await? else {
        let body = without_session(lang, title);
        return Ok(layout(&site, lang, title, base(lang), body));
    };
    let today = tokutei_policy::tokyo::today();
    let until = parse_day("until", &period.until)?.unwrap_or(today);
    let since = match parse_day("since", &period.since)? {
        Some(d) => d,
        None => Date(
            until
                .0
                .checked_sub(jiff::Span::new().days(DEFAULT_DAYS - 1))
                .map_err(|e| AppError::BadRequest(e.to_string()))?,
        ),
    };
    let app = state.access_service()?;
    let view = run(move || app.portal_view(&visitor, since, until, Timestamp::now())).await?;
    let access = state.access_service()?;
    let witnesses: Vec<String> = access.witness_rules().keys().iter().map(|k| k.to_string()).collect();
    let quorum = access.witness_rules().quorum;
    let log_key = state.log_key.clone().unwrap_or_default();
    let body = page(lang, &view, &log_key, &witnesses, quorum);
    Ok(layout(&site, lang, title, base(lang), body))
}

/// A page of the subscriber's asked for without a session: how one is opened, and the
/// procedures for requests.
fn without_session(lang: Lang, title: &str) -> Markup {
    html! {
        h1 { (title) }
        p { (t(lang,
            "このページは、当社の会員ページ・SMS・メール・お問い合わせ窓口でお渡しする一度限りのリンクから開きます。パスワードはありません。",
            "You open this page with a one-time link we give you on the member page, by SMS or e-mail, or at our contact desk. There is no password.")) }
        p { a href=(localized(lang, "/requests")) { (t(lang, "開示等の請求の手続", "How to make a request about your personal data")) } }
    }
}

fn action_label(lang: Lang, action: Action) -> &'static str {
    match action {
        Action::Read => t(lang, "閲覧", "read"),
        Action::Update => t(lang, "更新", "update"),
        Action::Export => t(lang, "提供・持ち出し", "export"),
        Action::Erase => t(lang, "消去", "erasure"),
    }
}

fn purpose_text(policy: Option<&Policy>, lang: Lang, id: &str) -> String {
    policy
        .and_then(|p| p.purpose(id))
        .map(|p| p.text.get(lang).unwrap_or(&p.text.ja).to_string())
        .unwrap_or_else(|| id.to_string())
}

fn category_names(policy: Option<&Policy>, lang: Lang, ids: &[String]) -> String {
    let sep = t(lang, "、", ", ");
    ids.iter()
        .map(|id| {
            policy
                .and_then(|p| p.categories.iter().find(|c| &c.id == id))
                .map(|c| c.name.get(lang).unwrap_or(&c.name.ja).to_string())
                .unwrap_or_else(|| id.clone())
        })
        .collect::<Vec<_>>()
        .join(sep)
}

fn doer(lang: Lang, by: &Doer) -> String {
    match by {
        Doer::Staff(role) => format!("{}{}", t(lang, "当社の", "our "), role.label(lang)),
        Doer::System(name) => format!("{}{name}", t(lang, "システム: ", "system: ")),
    }
}

fn channel_label(lang: Lang, channel: &str) -> String {
    tokutei_policy::Channel::from_id(channel).map_or_else(|| channel.to_string(), |c| c.label(lang).to_string())
}

fn contract_label(lang: Lang, state: ContractState) -> &'static str {
    match state {
        ContractState::Active => t(lang, "契約中", "active"),
        ContractState::Suspended => t(lang, "利用停止中", "suspended"),
        ContractState::Terminated => t(lang, "解約済み", "terminated"),
    }
}

fn page(lang: Lang, view: &PortalView, log_key: &str, witnesses: &[String], quorum: usize) -> Markup {
    let policy = view.policy.as_deref();
    let base = base(lang);
    let published = view.checkpoint.as_ref();
    html! {
        h1 { (t(lang, "あなたの情報の利用状況", "How your information was used")) }
        p { (t(lang,
            "当社の従業者やシステムがあなたの情報を利用するたびに、改ざんできない監査台帳に記録しています。ここに表示するのはその記録そのものです。各記録は、ボタンを押すとこの端末上で台帳に含まれていることを確かめられます。",
            "Every time our staff or systems use your information, it is recorded in an audit ledger that cannot be altered. What you see here are those records. Press a record's button to check on this device that it is in the ledger.")) }
        form.period method="get" action=(base) {
            fieldset {
                legend { (t(lang, "期間", "Period")) }
                label for="since" { (t(lang, "開始日", "From")) }
                input #since type="date" name="since" value=(view.since.to_string());
                label for="until" { (t(lang, "終了日", "To")) }
                input #until type="date" name="until" value=(view.until.to_string());
                button type="submit" { (t(lang, "表示", "Show")) }
            }
        }
        section aria-labelledby="h-uses" {
            h2 #h-uses { (t(lang, "利用の記録", "Uses of your information")) " (" (view.uses.len()) (t(lang, "件", "")) ")" }
            @if view.truncated {
                p.note { (t(lang, "記録が多いため、新しい順に1000件を表示しています。期間を短くしてください。", "There are many records: the newest 1,000 are shown. Choose a shorter period.")) }
            }
            @if view.uses.is_empty() {
                p #no-uses { (t(lang, "この期間にあなたの情報が利用された記録はありません。", "No use of your information is recorded in this period.")) }
            } @else {
                ol.uses #uses data-log-key=(log_key) data-witnesses=(witnesses.join(" ")) data-quorum=(quorum) {
                    @for row in &view.uses {
                        li.use id=(format!("use-{}", row.index)) data-index=(row.index) {
                            p.when { time datetime=(row.time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()) { (tokutei_policy::tokyo::minutes(row.time)) } }
                            dl.fields {
                                dt { (t(lang, "利用目的", "Purpose")) }
                                dd { (purpose_text(policy, lang, &row.purpose)) }
                                dt { (t(lang, "内容", "What")) }
                                dd { (action_label(lang, row.action)) ": " (category_names(policy, lang, &row.categories)) }
                                dt { (t(lang, "利用者", "By")) }
                                dd { (doer(lang, &row.by)) @if !row.channel.is_empty() { " (" (channel_label(lang, &row.channel)) ")" } }
                                dt { (t(lang, "結果", "Outcome")) }
                                dd.decision { @match row.decision {
                                    Decision::Allow => { (t(lang, "許可", "allowed")) }
                                    Decision::Deny => { strong { (t(lang, "拒否（利用されていません）", "refused (nothing was used)")) } }
                                } }
                                dt { (t(lang, "台帳の記録番号", "Ledger entry")) }
                                dd { (row.index) }
                            }
                            @if row.provable {
                                p.proof {
                                    button.verify type="button" data-index=(row.index) { (t(lang, "この記録を検証", "Verify this record")) }
                                    " "
                                    a href=(format!("/my/proof/{}", row.index)) download=(format!("proof-{}.json", row.index)) { (t(lang, "証明をダウンロード", "Download the proof")) }
                                    " "
                                    output.result id=(format!("result-{}", row.index)) aria-live="polite" {}
                                }
                            } @else {
                                p.note { (t(lang, "まだ公開チェックポイントに含まれていません（まもなく検証できます）。", "Not yet under a published checkpoint (you can verify it shortly).")) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="h-checkpoint" {
            h2 #h-checkpoint { (t(lang, "検証の基準（チェックポイント）", "What the records are checked against")) }
            @match published {
                Some(p) => {
                    p { (t(lang, "台帳の記録数", "Ledger size")) ": " span #checkpoint-size { (p.checkpoint.size) } " / "
                        (t(lang, "作成", "made")) ": " (tokutei_policy::tokyo::minutes(p.checkpoint.created_at)) }
                    @if p.witnesses.is_empty() {
                        p { (t(lang, "このチェックポイントは当社の鍵で署名されています。", "This checkpoint is signed with our key.")) }
                    } @else {
                        p { (t(lang, "このチェックポイントは当社の鍵で署名され、次の独立した証人が、当社が誰にも同じ台帳を見せていることを確認して連署しています。", "This checkpoint is signed with our key and cosigned by these independent witnesses, who checked that we show everyone the same ledger.")) }
                        ul #witnesses { @for (name, _) in &p.witnesses { li { (name) } } }
                    }
                }
                None => p { (t(lang, "公開チェックポイントはまだありません。", "No checkpoint is published yet.")) }
            }
            p { (t(lang, "ダウンロードした証明は、", "A downloaded proof can be checked with ")) code { "tokutei audit check-proof" } (t(lang, " や RFC 9162 に対応した任意の検証ツールでも確かめられます。", " or any RFC 9162 verifier.")) }
            @if !log_key.is_empty() { p { (t(lang, "当社の公開鍵", "Our public key")) ": " code.key { (log_key) } } }
        }
        section aria-labelledby="h-choices" {
            h2 #h-choices { (t(lang, "あなたの選択", "Your choices")) }
            @if view.choices.is_empty() {
                p { (t(lang, "選択できる利用目的はありません。", "No purpose offers a choice.")) }
            } @else {
                ul.choices #choices {
                    @for c in &view.choices {
                        li {
                            (purpose_text(policy, lang, &c.purpose)) ": "
                            strong { @if c.allowed { (t(lang, "利用します", "used")) } @else { (t(lang, "利用しません", "not used")) } }
                            " ("
                            @match (c.mode, c.choice) {
                                (_, Some(Choice::OptedIn)) => { (t(lang, "同意済み", "you agreed")) }
                                (_, Some(Choice::OptedOut)) => { (t(lang, "停止の申出済み", "you opted out")) }
                                (ConsentMode::OptIn, None) => { (t(lang, "同意がないため", "no consent given")) }
                                _ => { (t(lang, "停止の申出がないため", "you have not opted out")) }
                            }
                            @if let Some(at) = c.recorded_at { ", " (tokutei_policy::tokyo::minutes(at)) }
                            ")"
                        }
                    }
                }
            }
            p { a #change-choices href=(localized(lang, "/preferences")) { (t(lang, "選択を変更する", "Change your choices")) } }
        }
        section aria-labelledby="h-contract" {
            h2 #h-contract { (t(lang, "契約の状態", "Your contract")) }
            p #contract { @match view.contract { Some(s) => { (contract_label(lang, s)) } None => { (t(lang, "記録がありません", "no record")) } } }
        }
        section aria-labelledby="h-incidents" {
            h2 #h-incidents { (t(lang, "あなたに関係する漏えい等", "Incidents that concerned you")) }
            @if view.incidents.is_empty() {
                p #no-incidents { (t(lang, "ありません。", "None.")) }
            } @else {
                ul #incidents {
                    @for i in &view.incidents {
                        li {
                            (if lang == Lang::En { i.title_en.as_deref().unwrap_or(&i.title_ja) } else { &i.title_ja })
                            " (" (tokutei_policy::tokyo::date_of(i.known_at).in_lang(lang))
                            @if !i.categories.is_empty() { "; " (category_names(policy, lang, &i.categories)) }
                            @if let Some(at) = i.notified_at { "; " (t(lang, "通知日 ", "notified on ")) (tokutei_policy::tokyo::date_of(at).in_lang(lang)) }
                            ")"
                        }
                    }
                }
            }
        }
        section aria-labelledby="h-requests" {
            h2 #h-requests { (t(lang, "開示・利用停止の請求", "Disclosure or stopping use")) }
            p { a href=(if lang == Lang::Ja { "/requests" } else { "/en/requests" }) { (t(lang, "開示等の請求の手続", "How to make a request about your personal data")) } }
        }
        form method="post" action=(format!("{base}signout")) {
            button type="submit" { (t(lang, "ページを閉じる（ログアウト）", "Close the page (sign out)")) }
        }
    }
}

async fn proof(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(index): Path<String>,
) -> Result<Response, AppError> {
    let index: u64 = index.parse().map_err(|_| AppError::NotFound)?;
    let Some(visitor) = visitor(&state, &headers).await? else { return Err(AppError::NotFound) };
    let app = state.access_service()?;
    let proof = run(move || app.portal_proof(&visitor, index)).await?;
    Ok(Json(proof).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    subscriber: String,
}

/// `POST /api/v1/portal/links`: a one-time link for a subscriber, for the carrier's systems
/// (a system token) or staff; `201` with `url` and `expires_at`.
async fn issue_link(
    State(state): State<AppState>,
    caller: Caller,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: LinkBody = crate::api::body(&bytes, &["subscriber"], false)?;
    let subscriber = SubscriberId::parse(body.subscriber.as_str()).map_err(AppError::from)?;
    let by = Acting::Person(caller.principal.clone());
    let link = crate::api::run(&state, move |app| app.issue_portal_link(&by, &subscriber, Timestamp::now())).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "url": link.url, "expires_at": link.expires_at })))
        .into_response())
}

fn location(path: &str) -> Result<axum::http::HeaderValue, AppError> {
    path.parse().map_err(|_| AppError::internal("location"))
}

#[derive(Debug, Default, Deserialize)]
struct Changed {
    #[serde(default)]
    changed: Option<String>,
}

/// How a purpose's choice works, in plain words.
fn mode_text(lang: Lang, mode: ConsentMode) -> &'static str {
    match mode {
        ConsentMode::OptIn => t(lang, "あなたが同意した場合だけ利用します。", "We use it only if you agree."),
        _ => t(lang, "あなたが停止を申し出ない限り利用します。", "We use it unless you ask us to stop."),
    }
}

/// The choice a button records, and its label, for a purpose in its current state.
fn change_for(lang: Lang, row: &ChoiceRow) -> (Choice, &'static str) {
    match (row.mode, row.allowed) {
        (ConsentMode::OptIn, true) => (Choice::OptedOut, t(lang, "同意を取り消す", "Withdraw my agreement")),
        (ConsentMode::OptIn, false) => (Choice::OptedIn, t(lang, "同意する", "I agree")),
        (_, true) => (Choice::OptedOut, t(lang, "利用を停止する", "Stop this use")),
        (_, false) => (Choice::OptedIn, t(lang, "停止を取り消す", "Allow this use again")),
    }
}

/// `/preferences`: the purposes that rely on the subscriber's choice, each with its state and
/// one button that changes it.
async fn preferences_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Changed>,
    lang: Lang,
) -> Result<Response, AppError> {
    let site = crate::inquiry::site_name(&state, lang).await?;
    let title = t(lang, "利用目的ごとの選択", "Your choices");
    let path = localized(lang, "/preferences");
    let Some(visitor) = visitor(&state, &headers).await? else {
        let body = without_session(lang, title);
        return Ok(layout(&site, lang, title, &path, body));
    };
    let app = state.access_service()?;
    let (choices, policy) = run(move || app.portal_choices(&visitor, Timestamp::now())).await?;
    let policy = policy.as_deref();
    let body = html! {
        h1 { (title) }
        p { (t(lang,
            "次の利用目的は、あなたの選択に従います。変更はすぐに反映され、記録されます。",
            "These uses of your information follow your choice. A change applies at once and is recorded.")) }
        @if q.changed.is_some() {
            p.notice #changed role="status" { (t(lang, "変更しました。", "Your choice was changed.")) }
        }
        @if choices.is_empty() {
            p { (t(lang, "選択できる利用目的はありません。", "No purpose offers a choice.")) }
        } @else {
            ul.choices #preferences {
                @for row in &choices {
                    @let (choice, label) = change_for(lang, row);
                    li id=(format!("purpose-{}", row.purpose)) {
                        p { strong { (purpose_text(policy, lang, &row.purpose)) } }
                        p { (mode_text(lang, row.mode)) " " (t(lang, "現在: ", "Now: "))
                            strong.state { @if row.allowed { (t(lang, "利用します", "used")) } @else { (t(lang, "利用しません", "not used")) } } }
                        form method="post" action=(path) {
                            input type="hidden" name="purpose" value=(row.purpose);
                            input type="hidden" name="choice" value=(choice.id());
                            button type="submit" { (label) }
                        }
                    }
                }
            }
        }
        p { a href=(base(lang)) { (t(lang, "あなたの情報の利用状況", "How your information was used")) } }
    };
    Ok(layout(&site, lang, title, &path, body))
}

#[derive(Debug, Deserialize)]
struct ChoiceForm {
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    choice: String,
}

/// `POST /preferences`: the visitor's new choice for one purpose (`record_own_choice`: audited
/// first, applied to the next gateway request). Only from this site's own pages (the session
/// cookie is SameSite=Strict, and a browser's `Sec-Fetch-Site` must say so).
async fn change_choice(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
    lang: Lang,
) -> Result<Response, AppError> {
    let path = localized(lang, "/preferences");
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|v| v != "same-origin") {
        return Err(AppError::Forbidden("a change comes from this site's own page".into()));
    }
    let Some(visitor) = visitor(&state, &headers).await? else {
        return Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location(&path)?)]).into_response());
    };
    let form: ChoiceForm =
        serde_urlencoded::from_bytes(&body).map_err(|e| AppError::BadRequest(format!("form: {e}")))?;
    let purpose = PurposeId::parse(form.purpose.as_str()).map_err(AppError::from)?;
    let choice = Choice::from_id(&form.choice).ok_or_else(|| AppError::Invalid {
        field: "choice",
        message: format!("`{}` is not `opted_in` or `opted_out`", form.choice),
    })?;
    let app = state.access_service()?;
    run(move || app.record_own_choice(&visitor, &purpose, choice, Timestamp::now())).await?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location(&format!("{path}?changed=1"))?)]).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentBody {
    subscriber: String,
    purpose: String,
    choice: String,
    channel: String,
    #[serde(default)]
    notice_version: Option<u32>,
    #[serde(default)]
    evidence: Option<String>,
}

/// `POST /api/v1/consent`: a choice captured where the subscriber gave it (the call centre, a
/// shop, the carrier's own site), by the token's principal — `tokutei_app`'s `record_consent`,
/// the same checks as `tokutei consent record`; `201` with the record.
async fn record_consent(
    State(state): State<AppState>,
    caller: Caller,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    const FIELDS: &[&str] = &["subscriber", "purpose", "choice", "channel", "notice_version", "evidence"];
    let body: ConsentBody = crate::api::body(&bytes, FIELDS, false)?;
    let choice = Choice::from_id(&body.choice)
        .ok_or_else(|| crate::api::invalid("choice", format!("`{}` is not `opted_in` or `opted_out`", body.choice)))?;
    let new = tokutei_app::consent::NewChoice {
        subscriber: SubscriberId::parse(body.subscriber.as_str()).map_err(AppError::from)?,
        purpose: PurposeId::parse(body.purpose.as_str()).map_err(AppError::from)?,
        choice,
        channel: body.channel,
        notice_version: body.notice_version,
        evidence: body.evidence,
    };
    let by = Acting::Person(caller.principal.clone());
    let record = crate::api::run(&state, move |app| app.record_consent(&by, &new, Timestamp::now())).await?;
    Ok((StatusCode::CREATED, Json(record)).into_response())
}
