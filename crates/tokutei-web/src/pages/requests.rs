//! The public page of the procedures for data-subject requests (開示等の請求手続, APPI 32条),
//! `/requests` and `/en/requests`: what can be requested, how and where to send it, the
//! identity checks accepted, agents, fees and the time to answer — generated from the
//! deployment's `[requests]` and the policy's contact.

use maud::{Markup, html};
use tokutei_app::requests::{RequestKind, RequestRules, ResponseMethod};
use tokutei_policy::{Lang, Policy};

use crate::console::one as t;

pub(crate) fn page(lang: Lang, rules: &RequestRules, policy: Option<&Policy>) -> Markup {
    let inquiry = if lang == Lang::Ja { "/inquiry" } else { "/en/inquiry" };
    let contact = policy.map(|p| &p.contact);
    html! {
        h1 { (t(lang, "開示等の請求の手続", "Requests about your personal data")) }
        p { (t(lang,
            "当社が保有するお客様の個人データについて、次の請求をお受けします（個人情報の保護に関する法律32条〜35条）。",
            "You can make the following requests about the personal data we hold about you (Act on the Protection of Personal Information, arts. 32–35).")) }
        section aria-labelledby="what" {
            h2 #what { (t(lang, "請求できること", "What you can request")) }
            div.table-scroll {
                table #request-types {
                    thead { tr {
                        th scope="col" { (t(lang, "請求", "Request")) }
                        th scope="col" { (t(lang, "内容", "What we do")) }
                        th scope="col" { (t(lang, "根拠", "Article")) }
                        th scope="col" { (t(lang, "手数料", "Fee")) }
                    } }
                    tbody {
                        @for k in RequestKind::ALL {
                            tr id=(format!("type-{}", k.code())) {
                                th scope="row" { (t(lang, k.ja(), k.en())) }
                                td { (k.explain(lang)) }
                                td { (k.article()) }
                                td {
                                    @match rules.fees.get(k) {
                                        Some(yen) => { (yen) (t(lang, "円", " yen")) }
                                        None => (t(lang, "無料", "None")),
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p { (t(lang,
                "開示は、電磁的記録（JSON形式のファイル）の提供か書面の交付か、ご希望の方法でお渡しします。",
                "A disclosure is given in the form you choose: ")) @if lang == Lang::En { (ResponseMethod::Electronic.en()) " (a JSON file) or " (ResponseMethod::Paper.en()) "." } }
        }
        section aria-labelledby="how" {
            h2 #how { (t(lang, "請求の方法", "How to request")) }
            ul #request-channels {
                li { a href=(inquiry) { (t(lang, "お問い合わせフォーム", "The inquiry form")) } (t(lang, "（種類で「開示」「訂正」等を選んでください）", " (choose disclosure, correction and so on as the subject)")) }
                @if let Some(address) = contact.and_then(|c| c.postal_address.as_ref()) {
                    li { (t(lang, "郵送: ", "By post: ")) (address.get(lang).unwrap_or(&address.ja)) }
                }
                @if let Some(phone) = contact.and_then(|c| c.phone.as_ref()) {
                    li { (t(lang, "お電話: ", "By telephone: ")) (phone) }
                }
                li { (t(lang, "当社の店頭", "At our shops")) }
            }
            p { (t(lang, "原則として受付から", "We answer within ")) strong { (rules.deadline_days) (t(lang, "日以内", " days")) } (t(lang,
                "に回答します。ご本人への確認が必要な間は期限が止まり、延長する場合は理由をお知らせします。",
                " of receipt as a rule. The time stops while we wait for you, and if we need longer we tell you why.")) }
        }
        section aria-labelledby="identity" {
            h2 #identity { (t(lang, "ご本人の確認", "Proof of identity")) }
            p { (t(lang, "請求の際は、次のいずれかでご本人であることを確認します。書類の番号は記録しません。",
                "We check that you are who you say with one of the following. We never record a document's number.")) }
            ul #identity-documents {
                @for v in &rules.identity { li { (t(lang, v.ja(), v.en())) } }
            }
            p { (t(lang,
                "代理人による請求の場合は、委任状（法定代理人の場合はその権限を確認できる書類）と代理人ご本人の確認書類が必要です。",
                "An agent needs a power of attorney (a legal representative, proof of that authority) and proof of their own identity.")) }
        }
        section aria-labelledby="refusal" {
            h2 #refusal { (t(lang, "お応えできない場合", "When we cannot do what you ask")) }
            p { (t(lang,
                "法律の定める理由によりお応えできない場合は、その旨と理由をお知らせします。",
                "If a reason the law provides prevents us, we tell you so and why.")) }
        }
    }
}

/// A request's document (`tokutei.disclosure/1`, `…purpose-notice/1`, `…provision-records/1`,
/// `…correction/1`) as a printable Japanese page: the same content as the JSON, section by
/// section, times in Asia/Tokyo and purposes and categories by the policy's names (`policy`,
/// when one is in force; else by id). What it does not know it shows as JSON rather than leave
/// out.
pub(crate) fn document(doc: &serde_json::Value, policy: Option<&Policy>) -> Markup {
    let s = |v: &serde_json::Value| -> String {
        match v {
            serde_json::Value::Null => "—".to_string(),
            serde_json::Value::String(t) => t.clone(),
            other => other.to_string(),
        }
    };
    // An instant as the JSON holds it (RFC 3339), shown as people read it in Tokyo.
    let when = |v: &serde_json::Value| -> String {
        v.as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok()).map_or_else(|| s(v), tokutei_policy::tokyo::minutes)
    };
    let purpose = |v: &serde_json::Value| -> String {
        let id = s(v);
        policy.and_then(|p| p.purpose(&id)).map_or(id, |p| p.text.ja.clone())
    };
    let category = |id: &str| -> String {
        policy.and_then(|p| p.category(id)).map_or_else(|| id.to_string(), |c| c.name.ja.clone())
    };
    let categories = |v: &serde_json::Value| -> String {
        match v.as_array() {
            Some(ids) => ids.iter().map(|c| category(&s(c))).collect::<Vec<_>>().join("、"),
            None => s(v),
        }
    };
    let rows = |key: &str| doc.get(key).and_then(|v| v.as_array()).cloned().unwrap_or_default();
    let schema = doc["schema"].as_str().unwrap_or_default();
    let title = match schema {
        "tokutei.disclosure/1" => "保有個人データの開示",
        "tokutei.purpose-notice/1" => "利用目的の通知",
        "tokutei.provision-records/1" => "第三者提供記録の開示",
        "tokutei.correction/1" => "訂正の結果",
        _ => "開示等の請求への回答",
    };
    html! {
        article.report #request-document lang="ja" {
            h1 { (title) }
            dl.fields {
                dt { "会社" } dd { (s(&doc["company"]["ja"])) }
                dt { "請求番号" } dd { (s(&doc["request"])) }
                dt { "契約者番号" } dd { (s(&doc["subscriber"])) }
                dt { "作成日時" } dd { (when(&doc["made_at"])) }
                dt { "形式" } dd { code { (schema) } }
            }
            @if let Some(c) = doc.get("contract") {
                h2 { "ご契約" }
                dl.fields {
                    dt { "サービス" } dd { (s(&c["service"])) }
                    dt { "状態" } dd { (s(&c["state"])) }
                    dt { "開始日" } dd { (s(&c["started_on"])) }
                    dt { "休止日" } dd { (s(&c["suspended_on"])) }
                    dt { "解約日" } dd { (s(&c["terminated_on"])) }
                }
            }
            @if doc.get("values").is_some() {
                h2 { "保有している情報" }
                table #document-values {
                    thead { tr { th scope="col" { "種類" } th scope="col" { "値" } th scope="col" { "取得の方法" } th scope="col" { "取得元" } th scope="col" { "取得日時" } th scope="col" { "取得時の方針" } } }
                    tbody { @for v in rows("values") { tr {
                        th scope="row" { (s(&v["name"]["ja"])) }
                        td.message { (s(&v["value"])) }
                        td { (s(&v["provenance"]["method"])) }
                        td { @if v["provenance"]["source"]["kind"] == "indirect" { (s(&v["provenance"]["source"]["provider_name"])) } @else { "ご本人" } }
                        td { (when(&v["provenance"]["collected_at"])) }
                        td { "第" (s(&v["provenance"]["notice_version"])) "版" }
                    } } }
                }
            }
            @if doc.get("purposes").is_some() {
                h2 { "利用目的" }
                table #document-purposes {
                    thead { tr { th scope="col" { "利用目的" } th scope="col" { "同意" } th scope="col" { "お客様の選択" } th scope="col" { "停止" } } }
                    tbody { @for p in rows("purposes") { tr {
                        th scope="row" { (s(&p["text"]["ja"])) }
                        td { (s(&p["consent"])) }
                        td { (s(&p["your_choice"])) }
                        td { @if p["stopped"] == true { "停止中" } @else { "—" } }
                    } } }
                }
            }
            @if doc.get("consents").is_some() {
                h2 { "同意の記録" }
                table #document-consents {
                    thead { tr { th scope="col" { "日時" } th scope="col" { "利用目的" } th scope="col" { "選択" } th scope="col" { "経路" } th scope="col" { "表示した方針" } } }
                    tbody { @for c in rows("consents") { tr {
                        td { (when(&c["recorded_at"])) } td { (purpose(&c["purpose"])) } td { (s(&c["choice"])) } td { (s(&c["channel"])) } td { "第" (s(&c["notice_version"])) "版" }
                    } } }
                }
            }
            @if doc.get("provided").is_some() {
                h2 { "第三者への提供の記録（29条）" }
                table #document-provided {
                    thead { tr { th scope="col" { "日時" } th scope="col" { "提供先" } th scope="col" { "情報の種類" } th scope="col" { "利用目的" } th scope="col" { "根拠" } } }
                    tbody { @for p in rows("provided") { tr {
                        td { (when(&p["provided_at"])) } td { (s(&p["recipient"])) } td { (categories(&p["categories"])) } td { (purpose(&p["purpose"])) } td { (s(&p["basis"])) }
                    } } }
                }
            }
            @if doc.get("received").is_some() {
                h2 { "第三者からの取得の記録（30条）" }
                table #document-received {
                    thead { tr { th scope="col" { "日時" } th scope="col" { "情報の種類" } th scope="col" { "提供元" } th scope="col" { "住所" } th scope="col" { "代表者" } th scope="col" { "提供元の取得の経緯" } } }
                    tbody { @for r in rows("received") { tr {
                        td { (when(&r["received_at"])) } td { (category(&s(&r["category"]))) } td { (s(&r["provider_name"])) } td { (s(&r["provider_address"])) } td { (s(&r["provider_representative"])) } td { (s(&r["provider_obtained_by"])) }
                    } } }
                }
            }
            @if doc.get("uses").is_some() {
                h2 { "利用の記録" }
                table #document-uses {
                    thead { tr { th scope="col" { "番号" } th scope="col" { "日時" } th scope="col" { "操作" } th scope="col" { "利用目的" } th scope="col" { "判定" } th scope="col" { "利用者" } } }
                    tbody { @for u in rows("uses") { tr {
                        td { (s(&u["index"])) } td { (when(&u["at"])) } td { (s(&u["action"])) } td { (purpose(&u["purpose"])) } td { (s(&u["decision"])) } td { (s(&u["by"])) }
                    } } }
                }
            }
            @if doc.get("changes").is_some() {
                h2 { "訂正" }
                table #document-changes {
                    thead { tr { th scope="col" { "情報の種類" } th scope="col" { "訂正前" } th scope="col" { "訂正後" } } }
                    tbody { @for c in rows("changes") { tr {
                        th scope="row" { (category(&s(&c["category"]))) }
                        td.message { @for v in c["before"].as_array().cloned().unwrap_or_default() { (s(&v["value"])) br; } }
                        td.message { @for v in c["after"].as_array().cloned().unwrap_or_default() { (s(&v["value"])) br; } }
                    } } }
                }
            }
        }
    }
}
