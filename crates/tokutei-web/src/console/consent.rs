//! Consent captured where it is given, in the console (`/admin/subscribers/{id}/consent`): the
//! call centre and the shops record a subscriber's opt-in or opt-out for a purpose that offers
//! one, with the channel it was given through and the notice version actually shown. The
//! form calls `App::record_consent` — the one function the CLI (`tokutei consent record`) and
//! the API (`POST /api/v1/consent`) call — which refuses a notice version never published and
//! audits the choice before it is stored; it applies to the very next gateway request. A
//! refused form is shown again with the field named, nothing recorded.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use maud::{Markup, html};
use serde::Deserialize;
use tokutei_app::consent::NewChoice;
use tokutei_app::{PurposeId, SubscriberId};
use tokutei_policy::{Channel, ConsentMode, Lang, Policy};
use tokutei_store::consent::Choice;

use super::forms::{Fields, Problem, invalid_at, page_or_refused, person, problem_box, refusal, with_app};
use super::session::StaffSession;
use super::subscribers::HANDLING;
use super::{bi, one};
use crate::routes::{Access, Routes};
use crate::{AppError, AppState};

pub(crate) fn routes(r: Routes) -> Routes {
    const SAMPLE: &str = "/admin/subscribers/HS00000001/consent";
    r.add("GET", "/admin/subscribers/{id}/consent", SAMPLE, Access::Staff(HANDLING), axum::routing::get(page)).add(
        "POST",
        "/admin/subscribers/{id}/consent",
        SAMPLE,
        Access::Staff(HANDLING),
        axum::routing::post(record),
    )
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    #[serde(default)]
    recorded: Option<u64>,
}

/// The channels a choice reaches the carrier through (advertising is a use, not an intake).
fn intake_channels() -> impl Iterator<Item = Channel> {
    Channel::ALL.into_iter().filter(|c| *c != Channel::Advertising)
}

fn title(lang: Lang) -> &'static str {
    one(lang, "同意・オプトアウトの記録", "Record a choice")
}

fn body(
    staff: &StaffSession,
    id: &str,
    policy: &Policy,
    in_force: u32,
    fields: &Fields,
    problem: Option<&Problem>,
    recorded: Option<u64>,
) -> Markup {
    let lang = staff.lang;
    let choosable: Vec<_> = policy.purposes.list.iter().filter(|p| p.consent != ConsentMode::None).collect();
    html! {
        p.no-print { a href=(format!("/admin/subscribers/{id}")) { (one(lang, "← 利用者", "← Subscriber")) } }
        h1 { (bi(lang, "同意・オプトアウトの記録", "Record a subscriber's choice")) " " code { (id) } }
        @if let Some(index) = recorded {
            p.saved role="status" #recorded {
                (bi(lang, "記録しました。次の利用から反映されます。", "Recorded; it applies from the next use."))
                " " (one(lang, "監査記録", "Audit entry")) " #" (index)
            }
        }
        (problem_box(lang, problem))
        p.note { (bi(lang,
            "電話・店頭・郵送などで利用者から受けた同意（オプトイン）またはオプトアウトを、受けた経路と、その時に示した取扱方針の版とともに記録します。記録は変更できず、撤回は新しい記録になります。",
            "Record the opt-in or opt-out a subscriber gave by phone, at a shop, by post or otherwise, with the channel and the policy version whose notice was shown. Records are never changed; a withdrawal is a new record.")) }
        @if choosable.is_empty() {
            p #no-choice { (bi(lang, "施行中の取扱方針には、同意やオプトアウトを選べる利用目的がありません。", "No purpose of the policy in force offers a choice.")) }
        } @else {
            form #consent-form method="post" action=(format!("/admin/subscribers/{id}/consent")) {
                input type="hidden" name="csrf" value=(staff.csrf);
                fieldset {
                    legend { (bi(lang, "利用目的", "Purpose")) }
                    @for p in &choosable {
                        p {
                            input type="radio" name="purpose" id=(format!("purpose-{}", p.id)) value=(p.id)
                                required checked[fields.get("purpose") == p.id];
                            label for=(format!("purpose-{}", p.id)) {
                                (p.text.get(lang).or_else(|| p.text.get(Lang::Ja)).unwrap_or(&p.id))
                                " — "
                                @match p.consent {
                                    ConsentMode::OptIn => { (one(lang, "同意が必要（オプトイン）", "needs the subscriber's opt-in")) }
                                    _ => { (one(lang, "オプトアウトで停止できます", "stops on the subscriber's opt-out")) }
                                }
                            }
                        }
                    }
                }
                fieldset {
                    legend { (bi(lang, "利用者の選択", "The subscriber's choice")) }
                    p {
                        input #choice-in type="radio" name="choice" value="opted_in" required checked[fields.get("choice") == "opted_in"];
                        label for="choice-in" { (bi(lang, "同意する（オプトイン）", "Opt in")) }
                    }
                    p {
                        input #choice-out type="radio" name="choice" value="opted_out" checked[fields.get("choice") == "opted_out"];
                        label for="choice-out" { (bi(lang, "停止を求める（オプトアウト）", "Opt out")) }
                    }
                }
                p {
                    label for="channel" { (bi(lang, "受けた経路", "Given through")) }
                    select #channel name="channel" required aria-invalid=[invalid_at(problem, "channel")] {
                        option value="" { (one(lang, "選択してください", "Choose")) }
                        @for c in intake_channels() {
                            option value=(c.id()) selected[fields.get("channel") == c.id()] { (c.label(lang)) }
                        }
                    }
                }
                p {
                    label for="notice_version" { (bi(lang, "示した取扱方針の版（空欄は施行中の版）", "Policy version whose notice was shown (empty: the one in force)")) }
                    input #notice_version name="notice_version" type="number" min="1" placeholder=(in_force)
                        value=(fields.get("notice_version")) aria-invalid=[invalid_at(problem, "notice_version")];
                }
                p {
                    label for="evidence" { (bi(lang, "証跡の参照（通話録音ID、申込書番号など。内容は書かない）", "Evidence reference (call recording id, form number; not its content)")) }
                    input #evidence name="evidence" type="text" maxlength="200" value=(fields.get("evidence"))
                        aria-invalid=[invalid_at(problem, "evidence")];
                }
                p { button #consent-save type="submit" { (one(lang, "記録する", "Record")) } }
            }
        }
    }
}

async fn policy_in_force(state: &AppState) -> Result<(u32, std::sync::Arc<Policy>), AppError> {
    let (version, policy) = state
        .active_policy()
        .await?
        .ok_or_else(|| AppError::BadRequest("no policy version is in force; publish one first".into()))?;
    Ok((version.number, policy))
}

async fn page(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    staff.require(HANDLING)?;
    let id = SubscriberId::parse(id)?;
    let (in_force, policy) = policy_in_force(&state).await?;
    let markup = body(&staff, id.as_str(), &policy, in_force, &Fields::default(), None, query.recorded);
    Ok(page_or_refused(&staff, title(staff.lang), None, markup))
}

/// The form's choice as the application takes it.
fn parse(id: &SubscriberId, fields: &Fields) -> Result<NewChoice, Problem> {
    let purpose =
        PurposeId::parse(fields.get("purpose").trim()).map_err(|_| Problem::invalid("purpose", "choose a purpose"))?;
    let choice = match fields.get("choice") {
        "opted_in" => Choice::OptedIn,
        "opted_out" => Choice::OptedOut,
        _ => return Err(Problem::invalid("choice", "choose opt-in or opt-out")),
    };
    let channel = fields.get("channel").trim();
    if !intake_channels().any(|c| c.id() == channel) {
        return Err(Problem::invalid("channel", "choose the channel the choice was given through"));
    }
    let notice_version =
        match fields.opt("notice_version") {
            None => None,
            Some(text) => Some(text.trim().parse::<u32>().map_err(|_| {
                Problem::invalid("notice_version", format!("`{}` is not a version number", text.trim()))
            })?),
        };
    Ok(NewChoice {
        subscriber: id.clone(),
        purpose,
        choice,
        channel: channel.to_string(),
        notice_version,
        evidence: fields.opt("evidence").map(|e| e.trim().to_string()),
    })
}

async fn record(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(HANDLING)?;
    let fields = Fields::parse(&raw)?;
    staff.check_csrf(fields.get("csrf"))?;
    let id = SubscriberId::parse(id)?;
    let by = person(&staff);
    let outcome = match parse(&id, &fields) {
        Ok(new) => refusal(with_app(&state, move |app| app.record_consent(&by, &new, Timestamp::now())).await?)?,
        Err(problem) => Err(problem),
    };
    match outcome {
        Ok(record) => {
            let index = record.audit_index.map_or(String::new(), |i| format!("?recorded={i}"));
            Ok(Redirect::to(&format!("/admin/subscribers/{id}/consent{index}")).into_response())
        }
        Err(problem) => {
            let (in_force, policy) = policy_in_force(&state).await?;
            let markup = body(&staff, id.as_str(), &policy, in_force, &fields, Some(&problem), None);
            Ok(page_or_refused(&staff, title(staff.lang), Some(&problem), markup))
        }
    }
}
