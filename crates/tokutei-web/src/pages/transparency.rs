//! The public page of the audit ledger's transparency (`/transparency`, `/en/transparency`):
//! the checkpoint published now (its size, time and root), the ledger's public key, the
//! witnesses that cosign it and when each did, and how anyone checks a proof offline.

use maud::{Markup, html};
use tokutei_app::witnessing::{Published, WitnessRules, body_of};
use tokutei_policy::Lang;

use crate::console::one as t;

pub(crate) fn page(lang: Lang, published: Option<&Published>, rules: &WitnessRules, log_key: Option<&str>) -> Markup {
    let body = published.and_then(|p| body_of(&p.checkpoint.note));
    html! {
        h1 { (t(lang, "監査台帳の公開と証人", "The audit ledger and its witnesses")) }
        p { (t(lang,
            "お客様の情報の利用と当社の管理上の操作は、すべて追記しかできない監査台帳（RFC 9162 のマークル木）に記録しています。当社は台帳の状態（チェックポイント）に署名して公開し、独立した証人がそれを確認して連署します。証人は、当社が人によって異なる台帳を見せていないこと、過去の記録を消したり書き換えたりしていないことを確かめています。",
            "Every use of our customers' information and every administrative action is recorded in an append-only audit ledger (an RFC 9162 Merkle tree). We sign and publish the ledger's state (a checkpoint), and independent witnesses check it and cosign it: they make sure we do not show different ledgers to different people, and never remove or rewrite past records.")) }
        section aria-labelledby="h-published" {
            h2 #h-published { (t(lang, "公開中のチェックポイント", "The published checkpoint")) }
            @match (published, &body) {
                (Some(p), Some(b)) => {
                    dl.fields #checkpoint {
                        dt { (t(lang, "台帳", "Ledger")) } dd { code { (b.origin) } }
                        dt { (t(lang, "記録数", "Entries")) } dd { (b.size) }
                        dt { (t(lang, "作成", "Made")) } dd { (tokutei_policy::tokyo::minutes(p.checkpoint.created_at)) }
                        dt { (t(lang, "根ハッシュ", "Root hash")) } dd { code.key { (hex::encode(b.root)) } }
                    }
                    p { a href="/api/v1/checkpoint" { (t(lang, "署名付きチェックポイント（テキスト）", "The signed checkpoint (text)")) } }
                }
                _ => p { (t(lang, "公開チェックポイントはまだありません。", "No checkpoint is published yet.")) }
            }
            @if let Some(key) = log_key { p { (t(lang, "当社の公開鍵", "Our public key")) ": " code.key #log-key { (key) } } }
        }
        section aria-labelledby="h-witnesses" {
            h2 #h-witnesses { (t(lang, "証人", "Witnesses")) }
            @if rules.witnesses.is_empty() {
                p { (t(lang, "証人は設定されていません。", "No witness is configured.")) }
            } @else {
                p { (t(lang, "チェックポイントは、次の証人のうち ", "A checkpoint is published once ")) (rules.quorum)
                    (t(lang, " 者以上が連署したときに公開します。", " of these witnesses have cosigned it.")) }
                div.table-scroll {
                    table #witness-list {
                        thead { tr {
                            th scope="col" { (t(lang, "証人", "Witness")) }
                            th scope="col" { (t(lang, "連署の時刻", "Cosigned at")) }
                            th scope="col" { (t(lang, "公開鍵", "Public key")) }
                        } }
                        tbody {
                            @for w in &rules.witnesses {
                                tr {
                                    th scope="row" { (w.name()) }
                                    td { @match published.and_then(|p| p.witnesses.iter().find(|(n, _)| n == w.name())) {
                                        Some((_, at)) => { (jiff::Timestamp::from_second(i64::try_from(*at).unwrap_or(0)).map(tokutei_policy::tokyo::minutes).unwrap_or_default()) }
                                        None => { "—" }
                                    } }
                                    td { code.key { (w.key.to_string()) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="h-check" {
            h2 #h-check { (t(lang, "確かめ方", "How to check")) }
            p { (t(lang, "証明（ご本人のページからダウンロードできます）は次のコマンドで確かめられます。", "A proof (downloadable from your own page) is checked with:")) }
            pre.command { code { "tokutei audit check-proof proof.json --key <" (t(lang, "当社の公開鍵", "our public key")) "> --witness <" (t(lang, "証人の公開鍵", "a witness key")) "> --quorum " (rules.quorum.max(1)) } }
        }
    }
}
