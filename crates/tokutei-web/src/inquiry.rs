//! The public inquiry form (`/inquiry`, `/en/inquiry`): a form with a label on every input,
//! a confirmation page (確認画面) showing exactly what will be sent, and a completion page
//! with the receipt number (受付番号) and the response deadline. Plain HTML, no script.
//!
//! The form carries a CSRF token also set as a cookie (double submit); the cookie is cleared
//! once the inquiry is received, so sending the same page again is refused. Submissions are
//! rate-limited per client address (a setting). Validation, sealing and the audit are
//! `tokutei_app::inquiry`'s; this module does HTTP only.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use tokutei_app::inquiry::{InquiryForm, Problem};
use tokutei_policy::Lang;
use tokutei_store::inquiry::InquiryCategory;

use crate::console::one as t;
use crate::console::session::{cookie, over_tls, random_token, same, set_cookie};
use crate::limiter::ClientAddr;
use crate::pages::{self, Area, Page};
use crate::routes::{Access, Routes};
use crate::{AppError, AppState};

const CSRF_COOKIE: &str = "tokutei_inquiry_csrf";

pub(crate) fn routes(r: Routes) -> Routes {
    use Access::Public;
    r.add("GET", "/inquiry", "/inquiry", Public, get(|s, h| form_page(s, h, Lang::Ja)))
        .add("GET", "/en/inquiry", "/en/inquiry", Public, get(|s, h| form_page(s, h, Lang::En)))
        .add("POST", "/inquiry/confirm", "/inquiry/confirm", Public, post(|s, h, b| confirm(s, h, b, Lang::Ja)))
        .add("POST", "/en/inquiry/confirm", "/en/inquiry/confirm", Public, post(|s, h, b| confirm(s, h, b, Lang::En)))
        .add("POST", "/inquiry", "/inquiry", Public, post(|s, c, h, b| send(s, c, h, b, Lang::Ja)))
        .add("POST", "/en/inquiry", "/en/inquiry", Public, post(|s, c, h, b| send(s, c, h, b, Lang::En)))
}

fn path(lang: Lang, p: &str) -> String {
    match lang {
        Lang::Ja => p.to_string(),
        Lang::En => format!("/en{p}"),
    }
}

/// The category's name in `lang`.
pub(crate) fn category_label(category: InquiryCategory, lang: Lang) -> &'static str {
    match category {
        InquiryCategory::Question => t(lang, "ご質問", "Question"),
        InquiryCategory::Complaint => t(lang, "苦情", "Complaint"),
        InquiryCategory::Disclosure => t(lang, "開示の請求", "Disclosure request"),
        InquiryCategory::Correction => t(lang, "訂正・追加・削除の請求", "Correction request"),
        InquiryCategory::StopUse => t(lang, "利用停止の請求", "Request to stop use"),
        InquiryCategory::Deletion => t(lang, "消去の請求", "Deletion request"),
        InquiryCategory::Other => t(lang, "その他", "Other"),
    }
}

pub(crate) async fn site_name(state: &AppState, lang: Lang) -> Result<String, AppError> {
    let active = state.active_policy().await?;
    Ok(match active {
        Some((_, p)) => p.header.company.get(lang).unwrap_or(&p.header.company.ja).to_string(),
        None => "tokutei".to_string(),
    })
}

async fn page(state: &AppState, lang: Lang, title: &str, body: Markup) -> Result<Markup, AppError> {
    let site = site_name(state, lang).await?;
    let page = Page { lang, title, site: &site, area: Area::Inquiry, path_ja: "/inquiry", path_en: "/en/inquiry" };
    Ok(pages::layout(&page, body))
}

fn problem_for<'a>(problems: &'a [Problem], field: &str) -> Option<&'a Problem> {
    problems.iter().find(|p| p.field == field)
}

fn problem_text(p: &Problem, lang: Lang) -> &'static str {
    if lang == Lang::Ja { p.ja } else { p.en }
}

/// The field's error message (linked from the input by `aria-describedby`).
fn field_error(problems: &[Problem], field: &str, lang: Lang) -> Markup {
    html! {
        @if let Some(p) = problem_for(problems, field) {
            span.field-error id=(format!("{field}-error")) { (problem_text(p, lang)) }
        }
    }
}

fn form(
    lang: Lang,
    csrf: &str,
    values: &InquiryForm,
    problems: &[Problem],
    deadline_days: u32,
    contact: &str,
) -> Markup {
    let invalid = |field: &str| problem_for(problems, field).map(|_| "true");
    let described = |field: &str| problem_for(problems, field).map(|_| format!("{field}-error"));
    html! {
        h1 { (t(lang, "お問い合わせ", "Inquiry")) }
        p {
            (t(lang,
                "特定利用者情報の取扱いに関するご質問・苦情のほか、開示・訂正・利用停止・消去の請求を受け付けます。",
                "Ask a question or make a complaint about how we handle your information, or request disclosure, correction, stopping use or deletion."))
        }
        p {
            @if lang == Lang::Ja {
                "受付日から" strong { (deadline_days) "日以内" } "を目安に、ご入力の連絡先へ回答いたします。"
            } @else {
                "We answer at the contact you give within " strong { (deadline_days) " days" } " of receipt."
            }
        }
        @if !contact.is_empty() {
            p.contact { (t(lang, "お電話でのお問い合わせ: ", "By telephone or post: ")) (contact) }
        }
        p #requests-link {
            a href=(path(lang, "/requests")) { (t(lang, "開示等の請求の手続（必要な書類・手数料）", "How to make a request about your data (documents, fees)")) }
        }
        @if !problems.is_empty() {
            div.error role="alert" #inquiry-errors {
                p { (t(lang, "入力内容を確認してください。", "Please check the form.")) }
                ul {
                    @for p in problems {
                        li { a href=(format!("#{}", p.field)) { (problem_text(p, lang)) } }
                    }
                }
            }
        }
        form #inquiry-form method="post" action=(path(lang, "/inquiry/confirm")) novalidate {
            input type="hidden" name="csrf" value=(csrf);
            p {
                label for="category" { (t(lang, "お問い合わせの種類（必須）", "What is it about? (required)")) }
                select #category name="category" required aria-invalid=[invalid("category")] aria-describedby=[described("category")] {
                    option value="" { (t(lang, "選択してください", "Choose one")) }
                    @for c in InquiryCategory::ALL {
                        option value=(c.code()) selected[values.category == c.code()] { (category_label(c, lang)) }
                    }
                }
                (field_error(problems, "category", lang))
            }
            p {
                label for="name" { (t(lang, "お名前（必須）", "Your name (required)")) }
                input #name name="name" type="text" autocomplete="name" maxlength="100" required value=(values.name)
                    aria-invalid=[invalid("name")] aria-describedby=[described("name")];
                (field_error(problems, "name", lang))
            }
            p {
                label for="contact" { (t(lang, "ご連絡先（メールアドレスまたは電話番号・必須）", "Email address or telephone number (required)")) }
                input #contact name="contact" type="text" autocomplete="email" maxlength="254" required value=(values.contact)
                    aria-invalid=[invalid("contact")] aria-describedby=[described("contact")];
                (field_error(problems, "contact", lang))
            }
            p {
                label for="message" { (t(lang, "お問い合わせ内容（4000文字以内・必須）", "Your message (at most 4000 characters, required)")) }
                textarea #message name="message" rows="8" maxlength="4000" required
                    aria-invalid=[invalid("message")] aria-describedby=[described("message")] { (values.message) }
                (field_error(problems, "message", lang))
            }
            p.note {
                (t(lang,
                    "ご入力いただいた個人情報は、お問い合わせへの回答のためにのみ利用し、暗号化して保管します。",
                    "What you enter is used only to answer you, and is stored encrypted."))
            }
            p { button #inquiry-confirm type="submit" { (t(lang, "入力内容を確認する", "Review")) } }
        }
    }
}

async fn form_page(State(state): State<AppState>, headers: HeaderMap, lang: Lang) -> Result<Response, AppError> {
    let settings = state.settings().await?;
    let csrf = random_token()?;
    let body =
        form(lang, &csrf, &InquiryForm::default(), &[], settings.inquiry_deadline_days, &settings.public_contact);
    let page = page(&state, lang, t(lang, "お問い合わせ", "Inquiry"), body).await?;
    let cookie = set_cookie(CSRF_COOKIE, &csrf, "/", Some(3600), over_tls(&headers));
    Ok(([(SET_COOKIE, cookie)], page).into_response())
}

#[derive(serde::Deserialize)]
struct Posted {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    step: String,
    #[serde(flatten)]
    form: InquiryForm,
}

/// The posted form, refused unless its CSRF token matches the cookie.
fn posted(headers: &HeaderMap, body: &[u8]) -> Result<Posted, AppError> {
    let posted: Posted = serde_urlencoded::from_bytes(body).map_err(|e| AppError::BadRequest(format!("form: {e}")))?;
    let expected = cookie(headers, CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same(&posted.csrf, &expected) {
        return Err(AppError::Forbidden(
            "the form has expired; open the inquiry page again / 入力画面を開き直してください".into(),
        ));
    }
    Ok(posted)
}

async fn again(state: &AppState, lang: Lang, posted: &Posted, problems: &[Problem]) -> Result<Response, AppError> {
    let settings = state.settings().await?;
    let body =
        form(lang, &posted.csrf, &posted.form, problems, settings.inquiry_deadline_days, &settings.public_contact);
    let status = if problems.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let title = if problems.is_empty() {
        t(lang, "お問い合わせ", "Inquiry")
    } else {
        t(lang, "入力内容の誤り - お問い合わせ", "Check the form - Inquiry")
    };
    Ok((status, page(state, lang, title, body).await?).into_response())
}

async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
    lang: Lang,
) -> Result<Response, AppError> {
    let posted = posted(&headers, &body)?;
    let (category, contents) = match tokutei_app::inquiry::validate(&posted.form) {
        Ok(ok) => ok,
        Err(problems) => return again(&state, lang, &posted, &problems).await,
    };
    let body = html! {
        h1 { (t(lang, "入力内容の確認", "Review your inquiry")) }
        p { (t(lang, "以下の内容で送信します。よろしければ「送信する」を押してください。", "This is what will be sent. Press Send if it is right.")) }
        dl.fields #inquiry-review {
            dt { (t(lang, "お問い合わせの種類", "About")) } dd { (category_label(category, lang)) }
            dt { (t(lang, "お名前", "Name")) } dd { (contents.name) }
            dt { (t(lang, "ご連絡先", "Contact")) } dd { (contents.contact) }
            dt { (t(lang, "お問い合わせ内容", "Message")) } dd.message { (contents.message) }
        }
        form #inquiry-send method="post" action=(path(lang, "/inquiry")) {
            input type="hidden" name="csrf" value=(posted.csrf);
            input type="hidden" name="category" value=(category.code());
            input type="hidden" name="name" value=(contents.name);
            input type="hidden" name="contact" value=(contents.contact);
            input type="hidden" name="message" value=(contents.message);
            p.actions {
                button #inquiry-submit type="submit" name="step" value="send" { (t(lang, "送信する", "Send")) }
                " "
                button #inquiry-edit .secondary type="submit" name="step" value="edit" { (t(lang, "修正する", "Edit")) }
            }
        }
    };
    Ok(page(&state, lang, t(lang, "入力内容の確認 - お問い合わせ", "Review - Inquiry"), body).await?.into_response())
}

async fn send(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: axum::body::Bytes,
    lang: Lang,
) -> Result<Response, AppError> {
    let posted = posted(&headers, &body)?;
    if posted.step == "edit" {
        return again(&state, lang, &posted, &[]).await;
    }
    let (category, contents) = match tokutei_app::inquiry::validate(&posted.form) {
        Ok(ok) => ok,
        Err(problems) => return again(&state, lang, &posted, &problems).await,
    };
    let settings = state.settings().await?;
    let now = jiff::Timestamp::now();
    if !state.inquiry_limiter.allow(client, settings.inquiry_rate_per_hour, now) {
        let body = html! {
            h1 { (t(lang, "しばらくしてからお試しください", "Please try again later")) }
            p { (t(lang, "短い時間に多くのお問い合わせを受け付けたため、受付を一時的に止めています。時間をおいて再度お送りいただくか、お電話でお問い合わせください。",
                   "We received many inquiries from your connection in a short time. Please send yours again later, or call us.")) }
        };
        let page = page(&state, lang, t(lang, "受付の一時停止", "Try again later"), body).await?;
        return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
    }
    let service = state.inquiry_service()?;
    let receipt = tokio::task::spawn_blocking(move || service.submit(category, &contents, now))
        .await
        .map_err(|e| AppError::internal(format!("inquiry task failed: {e}")))??;
    let received = tokutei_policy::tokyo::minutes(receipt.received_at);
    let body = html! {
        h1 { (t(lang, "お問い合わせを受け付けました", "We have received your inquiry")) }
        dl.fields #inquiry-receipt {
            dt { (t(lang, "受付番号", "Receipt number")) } dd { strong #receipt-number { (receipt.receipt) } }
            dt { (t(lang, "お問い合わせの種類", "About")) } dd { (category_label(receipt.category, lang)) }
            dt { (t(lang, "受付日時", "Received")) } dd { (received) }
            dt { (t(lang, "回答期限", "We answer by")) } dd #inquiry-deadline { (receipt.deadline) }
        }
        p { (t(lang, "受付番号は、お問い合わせの際にお知らせください。控えておくことをおすすめします。",
               "Please keep the receipt number and quote it if you contact us about this inquiry.")) }
        p { a href=(path(lang, "/")) { (t(lang, "取扱方針へ戻る", "Back to the policy")) } }
    };
    let page = page(&state, lang, t(lang, "受付完了 - お問い合わせ", "Received - Inquiry"), body).await?;
    let clear = set_cookie(CSRF_COOKIE, "", "/", Some(0), over_tls(&headers));
    Ok(([(SET_COOKIE, clear)], page).into_response())
}
