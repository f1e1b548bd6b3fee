//! Handling zones in the console (`/admin/oversight/zones`): where the signed-in person is
//! (their zone, derived from the entry/exit log and this terminal, or why none), the register
//! (site, terminal networks, whether secrecy of communications may be handled), a manager's
//! form to register a zone or replace its entry (`App::register_zone`, audited first), and
//! the newest entries of the entry/exit log. Managers and auditors read; managers change.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use maud::{Markup, html};
use serde::Deserialize;
use tokutei_app::ZoneId;
use tokutei_app::zones::{NewZone, ZoneRefusal};
use tokutei_policy::{Lang, tokyo};
use tokutei_store::zones::{HandlingZone, PresenceEvent, PresenceFilter, PresenceKind};

use super::forms::{Fields, Problem, invalid_at, page_or_refused, person, problem_box, refusal, with_app};
use super::session::StaffSession;
use super::{bi, one};
use crate::routes::{Access, MANAGERS, OVERSIGHT, Routes};
use crate::{AppError, AppState};

/// How many entries of the log the page shows.
const LOG_ROWS: usize = 50;

pub(crate) fn routes(r: Routes) -> Routes {
    r.add("GET", "/admin/oversight/zones", "/admin/oversight/zones", Access::Staff(OVERSIGHT), axum::routing::get(page))
        .add(
            "POST",
            "/admin/oversight/zones",
            "/admin/oversight/zones",
            Access::Staff(MANAGERS),
            axum::routing::post(register),
        )
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    #[serde(default)]
    done: String,
}

/// What the page shows, read in one go.
struct View {
    required: bool,
    here: Result<HandlingZone, ZoneRefusal>,
    zones: Vec<HandlingZone>,
    log: Vec<PresenceEvent>,
}

/// Where the signed-in person is, in words: the zone, or why they are in none.
pub(crate) fn whereabouts(lang: Lang, here: &Result<HandlingZone, ZoneRefusal>) -> Markup {
    match here {
        Ok(z) => html! {
            (bi(lang, "現在の取扱区域", "Your handling zone")) ": " strong { (z.name) } "（" (z.site) "）"
        },
        Err(refusal) => {
            let (ja, en) = refusal_text(*refusal);
            html! { strong { (bi(lang, "取扱区域の外です", "You are outside every handling zone")) } " — " (bi(lang, ja, en)) }
        }
    }
}

/// Why a person's zone could not be derived, as the gateway's reason says it.
fn refusal_text(refusal: ZoneRefusal) -> (&'static str, &'static str) {
    match refusal {
        ZoneRefusal::NotEntered => ("入室の記録がありません。", "there is no record of entering a zone."),
        ZoneRefusal::Exited => ("退室しています。", "you have badged out."),
        ZoneRefusal::StayExpired => (
            "入室から最長滞在時間を過ぎています。入室し直してください。",
            "the longest stay since you badged in has passed; badge in again.",
        ),
        ZoneRefusal::OtherNetwork => (
            "この端末は入室中の取扱区域の端末ではありません。",
            "this terminal is not one of the zone you badged into.",
        ),
    }
}

fn body(staff: &StaffSession, view: &View, fields: &Fields, problem: Option<&Problem>, done: bool) -> Markup {
    let lang = staff.lang;
    let manager = MANAGERS.contains(&staff.role);
    html! {
        p.no-print { a href="/admin/oversight" { (one(lang, "← 監督", "← Oversight")) } }
        h1 { (bi(lang, "取扱区域と入退室記録", "Handling zones and the entry/exit log")) }
        @if done {
            p.saved role="status" #done { (bi(lang, "取扱区域を登録しました。", "The zone is registered.")) }
        }
        (problem_box(lang, problem))
        p.note { (bi(lang,
            "方針の物理的安全管理措置に基づき、特定利用者情報を取り扱う区域の入退室を記録します。区域の利用が必須の場合、担当者の区域は申告ではなく、入室記録（最長滞在時間内で退室していないこと）と操作している端末のネットワークから判定し、区域外からの閲覧はゲートウェイが拒否します。",
            "Under the policy's physical security measures, entries to and exits from the zones where specified user information is handled are recorded. When zones are required, a person's zone is derived, not declared: from the entry/exit log (entered, not exited, within the longest stay) and the network of the terminal they use; the gateway refuses viewing from outside.")) }
        p #zones-required {
            @if view.required {
                (bi(lang, "この環境では取扱区域の利用が必須です。", "Zones are required in this deployment."))
            } @else {
                (bi(lang, "この環境では取扱区域の利用は必須ではありません（deployment.toml の zones_required）。", "Zones are not required in this deployment (zones_required in deployment.toml)."))
            }
        }
        p #whereabouts { (whereabouts(lang, &view.here)) }
        h2 { (bi(lang, "取扱区域の一覧", "Zones")) }
        @if view.zones.is_empty() {
            p #zones-empty { (bi(lang, "登録された取扱区域はありません。", "No handling zone is registered.")) }
        } @else {
            div.table-scroll {
                table #zones {
                    thead { tr {
                        th scope="col" { (one(lang, "区域", "Zone")) }
                        th scope="col" { (one(lang, "場所", "Site")) }
                        th scope="col" { (one(lang, "端末のネットワーク", "Terminal networks")) }
                        th scope="col" { (one(lang, "通信の秘密", "Secrecy of communications")) }
                        th scope="col" { (one(lang, "更新", "Updated")) }
                    } }
                    tbody {
                        @for z in &view.zones {
                            tr id=(format!("zone-{}", z.id)) {
                                th scope="row" { (z.name) br; code { (z.id) } }
                                td { (z.site) }
                                td { @for (i, n) in z.networks.iter().enumerate() { @if i > 0 { br; } code { (n) } } }
                                td { @if z.secrecy { (one(lang, "取扱可", "May be handled")) } @else { (one(lang, "取扱不可", "Not handled")) } }
                                td { (tokyo::minutes(z.updated_at)) }
                            }
                        }
                    }
                }
            }
        }
        @if manager {
            h2 { (bi(lang, "取扱区域の登録", "Register a zone")) }
            p.note { (bi(lang, "同じ区域IDで登録すると、登録内容を置き換えます。", "Registering an existing id replaces its entry.")) }
            form #zone-form method="post" action="/admin/oversight/zones" {
                input type="hidden" name="csrf" value=(staff.csrf);
                p {
                    label for="id" { (bi(lang, "区域ID", "Zone id")) }
                    input #id name="id" type="text" required maxlength="64" value=(fields.get("id")) aria-invalid=[invalid_at(problem, "zone")];
                }
                p {
                    label for="name" { (bi(lang, "名称", "Name")) }
                    input #name name="name" type="text" required maxlength="200" value=(fields.get("name")) aria-invalid=[invalid_at(problem, "name")];
                }
                p {
                    label for="site" { (bi(lang, "場所", "Site")) }
                    input #site name="site" type="text" required maxlength="200" value=(fields.get("site")) aria-invalid=[invalid_at(problem, "site")];
                }
                p {
                    label for="networks" { (bi(lang, "端末のネットワーク（CIDR、1行に1つ）", "Terminal networks (CIDR, one per line)")) }
                    textarea #networks name="networks" rows="3" required aria-invalid=[invalid_at(problem, "networks")] { (fields.get("networks")) }
                }
                p {
                    input #secrecy name="secrecy" type="checkbox" value="on" checked[fields.on("secrecy")];
                    label for="secrecy" { (bi(lang, "通信の秘密を取り扱える", "Secrecy of communications may be handled here")) }
                }
                p { button #zone-save type="submit" { (one(lang, "登録する", "Register")) } }
            }
        } @else {
            p.note { (bi(lang, "監査担当は閲覧のみです。", "Auditors can read the register, not change it.")) }
        }
        h2 { (bi(lang, "入退室記録（新しい順）", "Entry/exit log (newest first)")) }
        @if view.log.is_empty() {
            p #presence-empty { (bi(lang, "入退室記録はありません。", "No badge events yet.")) }
        } @else {
            div.table-scroll {
                table #presence {
                    thead { tr {
                        th scope="col" { (one(lang, "日時", "Time")) }
                        th scope="col" { (one(lang, "取扱者", "Person")) }
                        th scope="col" { (one(lang, "区域", "Zone")) }
                        th scope="col" { (one(lang, "入退室", "Event")) }
                        th scope="col" { (one(lang, "記録元", "Reported by")) }
                        th scope="col" { (one(lang, "監査記録", "Audit entry")) }
                    } }
                    tbody {
                        @for e in &view.log {
                            tr {
                                td { (tokyo::minutes(e.at)) }
                                td { code { (e.person) } }
                                td { (view.zones.iter().find(|z| z.id == e.zone).map_or(e.zone.as_str(), |z| z.name.as_str())) }
                                td { @match e.kind {
                                    PresenceKind::Enter => { (one(lang, "入室", "Enter")) }
                                    PresenceKind::Exit => { (one(lang, "退室", "Exit")) }
                                } }
                                td { code { (e.source) } }
                                td { "#" (e.audit_index) }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn view(state: &AppState, staff: &StaffSession) -> Result<View, AppError> {
    let by = person(staff);
    let me = staff.principal_id();
    let terminal = Some(staff.terminal);
    Ok(with_app(state, move |app| {
        let now = Timestamp::now();
        Ok(View {
            required: app.zones_required(),
            here: app.locate_person(&me, terminal, now)?,
            zones: app.zones()?,
            log: app.presence_log(&by, &PresenceFilter::default(), LOG_ROWS)?,
        })
    })
    .await??)
}

fn title(lang: Lang) -> &'static str {
    one(lang, "取扱区域", "Handling zones")
}

async fn page(
    State(state): State<AppState>,
    staff: StaffSession,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let v = view(&state, &staff).await?;
    let markup = body(&staff, &v, &Fields::default(), None, query.done == "registered");
    Ok(page_or_refused(&staff, title(staff.lang), None, markup))
}

async fn register(
    State(state): State<AppState>,
    staff: StaffSession,
    raw: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let fields = Fields::parse(&raw)?;
    staff.check_csrf(fields.get("csrf"))?;
    let by = person(&staff);
    let new = ZoneId::parse(fields.get("id").trim()).map(|id| NewZone {
        id,
        name: fields.get("name").trim().to_string(),
        site: fields.get("site").trim().to_string(),
        networks: fields.lines("networks"),
        secrecy: fields.on("secrecy"),
    });
    let outcome = match new {
        Ok(new) => refusal(with_app(&state, move |app| app.register_zone(&by, &new, Timestamp::now())).await?)?,
        Err(e) => refusal::<HandlingZone>(Err(e))?,
    };
    match outcome {
        Ok(_) => Ok(Redirect::to("/admin/oversight/zones?done=registered").into_response()),
        Err(problem) => {
            let v = view(&state, &staff).await?;
            let markup = body(&staff, &v, &fields, Some(&problem), false);
            Ok(page_or_refused(&staff, title(staff.lang), Some(&problem), markup))
        }
    }
}
