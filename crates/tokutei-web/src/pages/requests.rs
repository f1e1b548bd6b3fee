//! The public page of the procedures for data-subject requests (開示等の請求手続, APPI 32条),
//! `/requests` and `/en/requests`: what can be requested, how and where to send it, the
//! identity checks accepted, agents, fees and the time to answer — generated from the
//! deployment's `[requests]` and the policy's contact.

use maud::{Markup, html};
use tokutei_app::requests::{RequestKind, RequestRules, ResponseMethod};
use tokutei_policy::{Lang, Policy};

fn t(lang: Lang, ja: &'static str, en: &'static str) -> &'static str {
    if lang == Lang::Ja { ja } else { en }
}

fn two(lang: Lang, ja: &'static str, en: &'static str) -> &'static str {
    t(lang, ja, en)
}

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
                                th scope="row" { (two(lang, k.ja(), k.en())) }
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
                @for v in &rules.identity { li { (two(lang, v.ja(), v.en())) } }
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
