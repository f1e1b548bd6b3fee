//! Subscribers in the console: search by a searchable field (through the keyed blind index)
//! and view a subscriber's information — both through the gateway, for a purpose the person
//! picks, each decision audited before anything is shown. Searches and views are POST forms,
//! so no personal data ever appears in a URL.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use tokutei_app::{AccessCall, AccessOutcome, CategoryId, PrincipalId, PurposeId, SubscriberId};
use tokutei_ledger::Action;
use tokutei_policy::{Channel, Lang, Policy};

use super::session::StaffSession;
use super::{Console, console_page};
use crate::{AppError, AppState};

/// The roles that handle subscriber information (auditors review the log instead).
pub(crate) const HANDLING: &[tokutei_policy::Role] =
    &[tokutei_policy::Role::ChiefManager, tokutei_policy::Role::ResponsiblePerson, tokutei_policy::Role::Handler];

/// A required `select` starts with an empty choice, so nobody searches or views for a purpose
/// (or by a field) they did not pick, and a person granted no purpose still gets valid markup.
fn choose_one() -> Markup {
    html! { option value="" { "選択してください / Choose" } }
}

fn purpose_options(policy: &Policy, staff: &StaffSession) -> Markup {
    html! {
        (choose_one())
        @for p in &policy.purposes.list {
            @if staff.principal.grants.purposes.contains(&p.id) {
                option value=(p.id) { (p.text.get(Lang::Ja).unwrap_or(&p.id)) "（" (p.id) "）" }
            }
        }
    }
}

/// The channels of the purposes the person may use: a purpose that lists channels is used
/// only through one of them, so its views name the channel (the gateway refuses otherwise).
fn channel_choice(policy: &Policy, staff: &StaffSession) -> Markup {
    let mut channels: Vec<Channel> = policy
        .purposes
        .list
        .iter()
        .filter(|p| staff.principal.grants.purposes.contains(&p.id))
        .flat_map(|p| p.channels.iter().copied())
        .collect();
    channels.sort_unstable();
    channels.dedup();
    html! {
        p {
            label for="channel" { "利用方法（経路） " span lang="en" { "Channel" } }
            select #channel name="channel" {
                option value="" { "指定なし / None" }
                @for c in channels {
                    option value=(c.id()) { (c.label(Lang::Ja)) " / " (c.label(Lang::En)) }
                }
            }
        }
    }
}

/// The channel a form names (`""` is none).
fn parse_channel(text: Option<&str>) -> Result<Option<Channel>, AppError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => Channel::from_id(t)
            .map(Some)
            .ok_or_else(|| AppError::BadRequest(format!("`channel`: `{t}` is not a channel"))),
    }
}

fn search_form(policy: &Policy, staff: &StaffSession) -> Markup {
    html! {
        form method="post" action="/admin/subscribers/search" {
            input type="hidden" name="csrf" value=(staff.csrf);
            p {
                label for="purpose" { "利用目的 " span lang="en" { "Purpose" } }
                select #purpose name="purpose" required { (purpose_options(policy, staff)) }
            }
            (channel_choice(policy, staff))
            p {
                label for="category" { "検索する項目 " span lang="en" { "Search by" } }
                select #category name="category" required {
                    (choose_one())
                    @for c in policy.categories.iter().filter(|c| c.searchable) {
                        option value=(c.id) { (c.name.get(Lang::Ja).unwrap_or(&c.id)) }
                    }
                }
            }
            p {
                label for="value" { "値（全角・半角、ハイフンは区別しません） " span lang="en" { "Value" } }
                input #value name="value" type="text" autocomplete="off" required;
            }
            p { button type="submit" { "検索 / Search" } }
        }
    }
}

/// Where the signed-in person is, when zones are required (their views are decided there).
async fn whereabouts(
    state: &AppState,
    staff: &StaffSession,
) -> Result<Option<Result<tokutei_store::zones::HandlingZone, tokutei_app::zones::ZoneRefusal>>, AppError> {
    let me = staff.principal_id();
    let terminal = Some(staff.terminal);
    Ok(super::forms::with_app(state, move |app| {
        if !app.zones_required() {
            return Ok(None);
        }
        app.locate_person(&me, terminal, jiff::Timestamp::now()).map(Some)
    })
    .await??)
}

async fn active_policy(state: &AppState) -> Result<std::sync::Arc<Policy>, AppError> {
    state
        .active_policy()
        .await?
        .map(|(_, p)| p)
        .ok_or_else(|| AppError::BadRequest("no policy version is in force; publish one first".into()))
}

pub(crate) async fn page(State(state): State<AppState>, staff: StaffSession) -> Result<Response, AppError> {
    staff.require(HANDLING)?;
    let policy = active_policy(&state).await?;
    let here = whereabouts(&state, &staff).await?;
    let body = html! {
        h1 { "利用者の検索" span.en lang="en" { "Find a subscriber" } }
        p.note { "検索と閲覧は利用目的ごとに判定され、すべて監査記録に残ります。" span lang="en" { " Every search and view is decided for the purpose you pick and recorded in the audit ledger." } }
        @if let Some(here) = &here {
            p #whereabouts { (super::zones::whereabouts(staff.lang, here)) }
        }
        (search_form(&policy, &staff))
    };
    Ok(console_page(Some(Console::of(&staff)), "利用者の検索", body).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct SearchForm {
    csrf: String,
    purpose: String,
    #[serde(default)]
    channel: Option<String>,
    category: String,
    value: String,
}

fn call(
    staff: &StaffSession,
    purpose: PurposeId,
    channel: Option<Channel>,
    subscribers: Vec<SubscriberId>,
    categories: Vec<CategoryId>,
) -> AccessCall {
    AccessCall {
        principal: PrincipalId::known(staff.principal.id.as_str()),
        action: Action::Read,
        purpose,
        subscribers,
        categories,
        channel,
        zone: None,
        terminal: Some(staff.terminal),
        export_approval: None,
        recipient: None,
        client: format!("console:{}", hex::encode(&staff.id_hash[..4])),
        now: jiff::Timestamp::now(),
    }
}

pub(crate) async fn search(
    State(state): State<AppState>,
    staff: StaffSession,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(HANDLING)?;
    let form: SearchForm = super::form(&body)?;
    staff.check_csrf(&form.csrf)?;
    let policy = active_policy(&state).await?;
    let service = state.access_service()?;
    let channel = parse_channel(form.channel.as_deref())?;
    let purpose = PurposeId::parse(form.purpose.as_str())?;
    let category = CategoryId::parse(form.category.as_str())?;
    let c = call(&staff, purpose, channel, Vec::new(), vec![category]);
    let value = zeroize::Zeroizing::new(form.value);
    let found = tokio::task::spawn_blocking(move || service.search(&c, &value))
        .await
        .map_err(|e| AppError::internal(format!("search task failed: {e}")))??;
    let here = whereabouts(&state, &staff).await?;
    let body = html! {
        h1 { "検索結果" span.en lang="en" { "Search results" } }
        @if let Some(here) = &here {
            p #whereabouts { (super::zones::whereabouts(staff.lang, here)) }
        }
        @if found.subscribers.is_empty() {
            p { "該当する利用者は見つからないか、この利用目的では閲覧できません。" span lang="en" { " No subscriber found that you may see for this purpose." } }
        } @else {
            ul {
                @for s in &found.subscribers {
                    li { a href=(format!("/admin/subscribers/{}", s.id)) { (s.id) } }
                }
            }
        }
        h2 { "もう一度検索 / Search again" }
        (search_form(&policy, &staff))
    };
    Ok(console_page(Some(Console::of(&staff)), "検索結果", body).into_response())
}

fn view_form(policy: &Policy, staff: &StaffSession, id: &str) -> Markup {
    html! {
        form method="post" action=(format!("/admin/subscribers/{id}")) {
            input type="hidden" name="csrf" value=(staff.csrf);
            p {
                label for="purpose" { "閲覧する利用目的 " span lang="en" { "Purpose of this view" } }
                select #purpose name="purpose" required { (purpose_options(policy, staff)) }
            }
            (channel_choice(policy, staff))
            p { button type="submit" { "閲覧する / View" } }
        }
    }
}

pub(crate) async fn subscriber_page(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    staff.require(HANDLING)?;
    let policy = active_policy(&state).await?;
    let body = html! {
        h1 { "利用者 " (id) span.en lang="en" { "Subscriber" } }
        p.note { "閲覧する利用目的を選んでください。目的の範囲の項目だけが表示され、閲覧は監査記録に残ります。" }
        (view_form(&policy, &staff, &id))
        p { a #record-choice href=(format!("/admin/subscribers/{id}/consent")) { "同意・オプトアウトを記録する" span lang="en" { " / Record the subscriber's choice" } } }
    };
    Ok(console_page(Some(Console::of(&staff)), "利用者", body).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct ViewForm {
    csrf: String,
    purpose: String,
    #[serde(default)]
    channel: Option<String>,
}

fn outcome_table(policy: &Policy, outcome: &AccessOutcome) -> Markup {
    html! {
        table {
            thead {
                tr {
                    th scope="col" { "項目 Category" }
                    th scope="col" { "値 Value" }
                    th scope="col" { "取得 Provenance" }
                    th scope="col" { "監査 Audit" }
                }
            }
            tbody {
                @for s in &outcome.subscribers {
                    @for item in &s.items {
                        tr {
                            th scope="row" {
                                (policy.category(&item.category).and_then(|c| c.name.get(Lang::Ja)).unwrap_or(&item.category))
                            }
                            td {
                                @if item.allowed {
                                    @for v in &item.values {
                                        @if v.encoding == "text" { span { (v.value) } } @else { span { "（バイナリ " (v.value.len()) " 文字）" } }
                                        @if v.masked { " " span.note { "一部のみ表示" } }
                                        br;
                                    }
                                    @if item.values.is_empty() { span.note { "値なし / no value" } }
                                } @else {
                                    @for r in &item.reasons {
                                        span.expired { "拒否: " (r.ja) } br;
                                        span lang="en" { (r.en) } br;
                                    }
                                }
                            }
                            td {
                                @for v in &item.values {
                                    (v.provenance.method.id()) "・" (v.provenance.collected_at.strftime("%Y-%m-%d")) "・通知 v" (v.provenance.notice_version) br;
                                }
                            }
                            td { "#" (item.audit_index) }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) async fn view(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(HANDLING)?;
    let form: ViewForm = super::form(&body)?;
    staff.check_csrf(&form.csrf)?;
    let policy = active_policy(&state).await?;
    let service = state.access_service()?;
    let channel = parse_channel(form.channel.as_deref())?;
    let c = call(
        &staff,
        PurposeId::parse(form.purpose.as_str())?,
        channel,
        vec![SubscriberId::parse(id.as_str())?],
        Vec::new(),
    );
    let (outcome, consents) = tokio::task::spawn_blocking(move || -> Result<_, AppError> {
        let outcome = service.read(&c)?;
        // The consent history is shown only when the view itself was allowed.
        let consents = if outcome.subscribers.iter().any(|s| s.items.iter().any(|i| i.allowed)) {
            service.consents(&c.subscribers[0])?.history
        } else {
            Vec::new()
        };
        Ok((outcome, consents))
    })
    .await
    .map_err(|e| AppError::internal(format!("view task failed: {e}")))??;
    let body = html! {
        h1 { "利用者 " (id) span.en lang="en" { "Subscriber" } }
        p { "利用目的: " strong { (form.purpose) } "（方針 v" (outcome.policy_version.unwrap_or(0)) "）" }
        (outcome_table(&policy, &outcome))
        @if !consents.is_empty() {
            h2 { "同意・オプトアウトの記録" span.en lang="en" { "Consent records" } }
            table {
                thead { tr { th scope="col" { "日時 When" } th scope="col" { "利用目的 Purpose" } th scope="col" { "選択 Choice" } th scope="col" { "経路 Channel" } th scope="col" { "通知 Notice" } } }
                tbody {
                    @for c in &consents {
                        tr {
                            td { (c.record.recorded_at.strftime("%Y-%m-%d %H:%M")) }
                            td { (c.record.purpose) }
                            td { (c.record.choice.id()) }
                            td { (c.record.channel) }
                            td { "v" (c.record.notice_version) }
                        }
                    }
                }
            }
        }
        h2 { "別の目的で閲覧 / View for another purpose" }
        (view_form(&policy, &staff, &id))
    };
    Ok(console_page(Some(Console::of(&staff)), "利用者", body).into_response())
}
