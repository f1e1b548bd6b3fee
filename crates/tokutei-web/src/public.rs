//! The public site: the policy page in Japanese (`/`) and English (`/en/`), the version
//! history (`/policy/versions`, each version at `/policy/versions/{number}` with its diff to
//! the previous one), the leak disclosure page (`/leaks`), the procedures for data-subject
//! requests (`/requests`) and `/healthz`.
//!
//! The leaks every page lists come from the incident register
//! (`tokutei_app::incidents::published_leaks`): its public entries that were not withdrawn,
//! each listed under the policy's rule (from its publication until the end of its window);
//! the leak section says なし only when none is listed. `/leaks` also shows the earlier
//! versions of a corrected entry (its public history).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use tokutei_app::incidents::{PublicEntry, public_entries, published_leaks};
use tokutei_policy::leaks::PublishedLeak;
use tokutei_policy::{Lang, Policy, render};

use crate::console::one as t;
use crate::pages::{self, Area, Page};
use crate::routes::{Access, Routes};
use crate::{AppError, AppState};
use tokutei_policy::tokyo::today;

pub(crate) fn routes(r: Routes) -> Routes {
    use Access::Public;
    r.add("GET", "/", "/", Public, get(|s| policy_page(s, Lang::Ja)))
        .add("GET", "/en/", "/en/", Public, get(|s| policy_page(s, Lang::En)))
        .add("GET", "/en", "/en", Public, get(|| async { axum::response::Redirect::permanent("/en/") }))
        .add("GET", "/policy/versions", "/policy/versions", Public, get(|s| versions_page(s, Lang::Ja)))
        .add("GET", "/en/policy/versions", "/en/policy/versions", Public, get(|s| versions_page(s, Lang::En)))
        .add("GET", "/policy/versions/{number}", "/policy/versions/1", Public, get(|s, p| version_page(s, p, Lang::Ja)))
        .add(
            "GET",
            "/en/policy/versions/{number}",
            "/en/policy/versions/1",
            Public,
            get(|s, p| version_page(s, p, Lang::En)),
        )
        .add("GET", "/leaks", "/leaks", Public, get(|s| leaks_page(s, Lang::Ja)))
        .add("GET", "/en/leaks", "/en/leaks", Public, get(|s| leaks_page(s, Lang::En)))
        .add("GET", "/requests", "/requests", Public, get(|s| requests_page(s, Lang::Ja)))
        .add("GET", "/en/requests", "/en/requests", Public, get(|s| requests_page(s, Lang::En)))
        .add("GET", "/transparency", "/transparency", Public, get(|s| transparency_page(s, Lang::Ja)))
        .add("GET", "/en/transparency", "/en/transparency", Public, get(|s| transparency_page(s, Lang::En)))
        .add("GET", "/healthz", "/healthz", Public, get(healthz))
        .add("GET", "/metrics", "/metrics", Public, get(crate::metrics::render))
        .add("GET", "/static/tokutei.css", "/static/tokutei.css", Public, get(crate::pages::stylesheet))
        .add("GET", "/favicon.ico", "/favicon.ico", Public, get(crate::pages::icon))
}

/// The site name: the company from the policy in force, in the page's language.
fn site_name(policy: Option<&Policy>, lang: Lang) -> String {
    match policy {
        Some(p) => p.header.company.get(lang).unwrap_or(&p.header.company.ja).to_string(),
        None => "tokutei".to_string(),
    }
}

/// An inline text for a `<title>`.
fn plain(text: &render::Inline) -> String {
    match text {
        render::Inline::Text(t) => t.clone(),
        render::Inline::MissingTranslation(_) => render::MISSING_TRANSLATION.to_string(),
    }
}

fn no_policy(lang: Lang) -> Markup {
    html! {
        h1 { (t(lang, "特定利用者情報の取扱方針", "Specified User Information Handling Policy")) }
        p { (t(lang, "現在施行中の取扱方針はありません。", "No policy is in force at the moment.")) }
    }
}

/// The register's public entries (not withdrawn), for the policy's rule to list.
async fn leaks(state: &AppState) -> Result<Vec<PublishedLeak>, AppError> {
    state.blocking(published_leaks).await
}

async fn policy_page(State(state): State<AppState>, lang: Lang) -> Result<Response, AppError> {
    let active = state.active_policy().await?;
    let site = site_name(active.as_ref().map(|(_, p)| p.as_ref()), lang);
    let leaks = leaks(&state).await?;
    let (title, body) = match &active {
        Some((_, policy)) => {
            let doc = render::document(policy, lang, &leaks, today());
            let requests = if lang == Lang::Ja { "/requests" } else { "/en/requests" };
            let body = html! {
                (pages::policy::document(&doc))
                p #requests-link {
                    a href=(requests) { (t(lang, "開示等の請求の手続", "How to make a request about your personal data")) }
                }
            };
            (plain(&doc.title), body)
        }
        None => (
            t(lang, "特定利用者情報の取扱方針", "Specified User Information Handling Policy").to_string(),
            no_policy(lang),
        ),
    };
    let page = Page { lang, title: &title, site: &site, area: Area::Policy, path_ja: "/", path_en: "/en/" };
    Ok(pages::layout(&page, body).into_response())
}

async fn versions_page(State(state): State<AppState>, lang: Lang) -> Result<Response, AppError> {
    let versions = state.blocking(|b| b.policy_versions()).await?;
    let active = state.active_policy().await?;
    let site = site_name(active.as_ref().map(|(_, p)| p.as_ref()), lang);
    let body = pages::versions::list(lang, &versions, active.as_ref().map(|(v, _)| v.number));
    let page = Page {
        lang,
        title: t(lang, "改定履歴", "Version history"),
        site: &site,
        area: Area::Versions,
        path_ja: "/policy/versions",
        path_en: "/en/policy/versions",
    };
    Ok(pages::layout(&page, body).into_response())
}

async fn version_page(
    State(state): State<AppState>,
    Path(number): Path<String>,
    lang: Lang,
) -> Result<Response, AppError> {
    let number: u32 = number.parse().map_err(|_| AppError::NotFound)?;
    let version = state.blocking(move |b| b.policy_version(number)).await?.ok_or(AppError::NotFound)?;
    let previous = match number.checked_sub(1).filter(|n| *n > 0) {
        Some(prev) => state.blocking(move |b| b.policy_version(prev)).await?,
        None => None,
    };
    let policy = state.parsed(&version)?;
    let diff = match &previous {
        Some(prev) => {
            let old = state.parsed(prev)?;
            Some(tokutei_policy::diff::diff(&old, &policy).human(lang))
        }
        None => None,
    };
    let active = state.active_policy().await?;
    let site = site_name(active.as_ref().map(|(_, p)| p.as_ref()).or(Some(&policy)), lang);
    let leaks = leaks(&state).await?;
    let doc = render::document(&policy, lang, &leaks, today());
    let body = html! {
        (pages::versions::version_header(lang, &version, active.as_ref().map(|(v, _)| v.number), diff.as_deref()))
        (pages::policy::document(&doc))
    };
    let title = format!("{} (v{})", plain(&doc.title), version.number);
    let path_ja = format!("/policy/versions/{number}");
    let path_en = format!("/en/policy/versions/{number}");
    let page = Page { lang, title: &title, site: &site, area: Area::Versions, path_ja: &path_ja, path_en: &path_en };
    Ok(pages::layout(&page, body).into_response())
}

/// The procedures for data-subject requests (32条), from the deployment's `[requests]` (the
/// defaults when the server runs without the application) and the policy's contact.
async fn requests_page(State(state): State<AppState>, lang: Lang) -> Result<Response, AppError> {
    let active = state.active_policy().await?;
    let policy = active.as_ref().map(|(_, p)| p.as_ref());
    let site = site_name(policy, lang);
    let rules = state.access_service().map(|a| a.request_rules().clone()).unwrap_or_default();
    let body = pages::requests::page(lang, &rules, policy);
    let title = t(lang, "開示等の請求の手続", "Requests about your personal data");
    let page = Page { lang, title, site: &site, area: Area::Requests, path_ja: "/requests", path_en: "/en/requests" };
    Ok(pages::layout(&page, body).into_response())
}

async fn leaks_page(State(state): State<AppState>, lang: Lang) -> Result<Response, AppError> {
    let active = state.active_policy().await?;
    let site = site_name(active.as_ref().map(|(_, p)| p.as_ref()), lang);
    let body = match &active {
        Some((_, policy)) => {
            let rule = policy.leaks.clone();
            let entries = state.blocking(move |b| public_entries(b, &rule, today())).await?;
            let listed: Vec<PublishedLeak> = entries.iter().map(|e| e.leak.clone()).collect();
            let doc = render::document(policy, lang, &listed, today());
            let leaks = doc.sections.iter().find(|s| s.id == "leaks");
            html! {
                h1 { (t(lang, "特定利用者情報の漏えいの公表", "Disclosure of leaks of specified user information")) }
                @if let Some(section) = leaks { (pages::policy::section(section)) }
                (history(lang, &entries))
            }
        }
        None => no_policy(lang),
    };
    let page = Page {
        lang,
        title: t(lang, "漏えいの公表", "Leak disclosures"),
        site: &site,
        area: Area::Leaks,
        path_ja: "/leaks",
        path_en: "/en/leaks",
    };
    Ok(pages::layout(&page, body).into_response())
}

/// The earlier versions of corrected entries: a correction never hides what was published.
fn history(lang: Lang, entries: &[PublicEntry]) -> Markup {
    let corrected: Vec<&PublicEntry> = entries.iter().filter(|e| !e.history.is_empty()).collect();
    html! {
        @if !corrected.is_empty() {
            section id="leak-history" aria-labelledby="h-leak-history" {
                h2 id="h-leak-history" { (t(lang, "訂正の履歴", "Corrections")) }
                @for entry in corrected {
                    h3 { (entry.leak.occurred.in_lang(lang)) " " (t(lang, "発生", "occurrence")) " (" (entry.leak.id) ")" }
                    p { (t(lang, "訂正日: ", "Corrected on: ")) (entry.updated.in_lang(lang)) }
                    dl.fields {
                        @for old in &entry.history {
                            dt { (t(lang, "訂正前（", "Before the correction (")) (old.published_on.in_lang(lang)) (t(lang, "掲載）", ")")) }
                            dd { (old.summary.get(lang).unwrap_or(&old.summary.ja)) }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) async fn healthz(State(state): State<AppState>) -> Result<Response, AppError> {
    let active = state.active_policy().await?;
    Ok(Json(serde_json::json!({
        "status": "ok",
        "policy_version": active.as_ref().map(|(v, _)| v.number),
        "policy_digest": active.as_ref().map(|(v, _)| v.digest.0.clone()),
    }))
    .into_response())
}

/// The published checkpoint (C2SP signed note): with witnesses configured, the latest one a
/// quorum of them cosigned (their cosignature lines follow the log's signature); without, the
/// latest signed. For auditors, monitors and subscribers' verifiers.
pub(crate) async fn checkpoint(State(state): State<AppState>) -> Result<Response, AppError> {
    let latest = match state.access_service() {
        Ok(app) => tokio::task::spawn_blocking(move || app.published_checkpoint())
            .await
            .map_err(|e| AppError::internal(format!("checkpoint task failed: {e}")))??
            .map(|p| p.checkpoint),
        Err(_) => state.ledger(|l| l.latest_checkpoint()).await?,
    }
    .ok_or(AppError::NotFound)?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "no-cache"),
        ],
        latest.note,
    )
        .into_response())
}

/// The published checkpoint, the ledger's key and the witnesses that cosign (`/transparency`):
/// what makes the ledger's history the same for everyone, and how to check it.
async fn transparency_page(State(state): State<AppState>, lang: Lang) -> Result<Response, AppError> {
    let active = state.active_policy().await?;
    let site = site_name(active.as_ref().map(|(_, p)| p.as_ref()), lang);
    let (published, rules) = match state.access_service() {
        Ok(app) => {
            let rules = app.witness_rules().clone();
            let published = tokio::task::spawn_blocking(move || app.published_checkpoint())
                .await
                .map_err(|e| AppError::internal(format!("checkpoint task failed: {e}")))??;
            (published, rules)
        }
        Err(_) => (None, tokutei_app::witnessing::WitnessRules::default()),
    };
    let body = pages::transparency::page(lang, published.as_ref(), &rules, state.log_key.as_deref());
    let title = t(lang, "監査台帳の公開と証人", "The audit ledger and its witnesses");
    let page = Page {
        lang,
        title,
        site: &site,
        area: Area::Transparency,
        path_ja: "/transparency",
        path_en: "/en/transparency",
    };
    Ok(pages::layout(&page, body).into_response())
}

pub(crate) async fn not_found() -> AppError {
    AppError::NotFound
}
