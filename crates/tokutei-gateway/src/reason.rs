//! Why a use was refused, in Japanese and English, naming the policy-file clause.
//!
//! Every rule the compiler generates carries a reason code; this module owns the wording of
//! each code. Texts name ids (purposes, categories, courses), never subscriber values.

use serde::{Deserialize, Serialize};

/// One reason for a refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// Stable, machine-readable code, e.g. `opted_out`.
    pub code: String,
    /// The policy-file clause (or deployment policy) the rule comes from, e.g.
    /// `purposes.list[1].consent`.
    pub clause: String,
    pub ja: String,
    pub en: String,
}

/// The reason codes of the generated rules.
pub mod code {
    pub const PURPOSE_NOT_IN_POLICY: &str = "purpose_not_in_policy";
    pub const CATEGORY_NOT_IN_PURPOSE: &str = "category_not_in_purpose";
    pub const OUTSIDE_DATA_RANGE: &str = "outside_data_range";
    pub const TRAINING_EXPIRED: &str = "training_expired";
    pub const OPTED_OUT: &str = "opted_out";
    pub const USE_STOPPED: &str = "use_stopped";
    pub const PROVISION_STOPPED: &str = "provision_stopped";
    pub const NOT_OPTED_IN: &str = "not_opted_in";
    pub const SECRECY_WITHOUT_OPT_IN: &str = "secrecy_without_opt_in";
    pub const CONTRACT_TERMINATED: &str = "contract_terminated";
    pub const EXPORT_NOT_APPROVED: &str = "export_not_approved";
    pub const OUTSIDE_ZONE: &str = "outside_zone";
    pub const ZONE_SECRECY_NOT_ALLOWED: &str = "zone_secrecy_not_allowed";
    pub const PURPOSE_NOT_ALLOWED_FOR_PRINCIPAL: &str = "purpose_not_allowed_for_principal";
    pub const CHANNEL_NOT_LISTED: &str = "channel_not_listed";
    pub const CHANNEL_REQUIRED: &str = "channel_required";
    pub const ACTION_NOT_GRANTED: &str = "action_not_granted";
    pub const DEPLOYMENT_RULE: &str = "deployment_rule";
    pub const EVALUATION_ERROR: &str = "evaluation_error";
    /// Set by the access service, before any rule is evaluated.
    pub const SUBSCRIBER_NOT_FOUND: &str = "subscriber_not_found";
    pub const SUBSCRIBER_ERASED: &str = "subscriber_erased";
    pub const PRINCIPAL_DISABLED: &str = "principal_disabled";
    pub const RECIPIENT_MISSING: &str = "recipient_missing";
    pub const NO_ACTIVE_POLICY: &str = "no_active_policy";
    /// Set by the access service when a person's zone cannot be derived from the entry/exit
    /// log and the terminal's network (zones required).
    pub const ZONE_NOT_ENTERED: &str = "zone_not_entered";
    pub const ZONE_EXITED: &str = "zone_exited";
    pub const ZONE_STAY_EXPIRED: &str = "zone_stay_expired";
    pub const ZONE_OTHER_NETWORK: &str = "zone_other_network";

    /// The codes the access service sets (the library never does).
    pub const SERVICE: [&str; 9] = [
        SUBSCRIBER_NOT_FOUND,
        SUBSCRIBER_ERASED,
        PRINCIPAL_DISABLED,
        RECIPIENT_MISSING,
        NO_ACTIVE_POLICY,
        ZONE_NOT_ENTERED,
        ZONE_EXITED,
        ZONE_STAY_EXPIRED,
        ZONE_OTHER_NETWORK,
    ];

    /// Every code a decision may carry.
    pub const ALL: [&str; 28] = [
        PURPOSE_NOT_IN_POLICY,
        CATEGORY_NOT_IN_PURPOSE,
        OUTSIDE_DATA_RANGE,
        TRAINING_EXPIRED,
        OPTED_OUT,
        USE_STOPPED,
        PROVISION_STOPPED,
        NOT_OPTED_IN,
        SECRECY_WITHOUT_OPT_IN,
        CONTRACT_TERMINATED,
        EXPORT_NOT_APPROVED,
        OUTSIDE_ZONE,
        ZONE_SECRECY_NOT_ALLOWED,
        PURPOSE_NOT_ALLOWED_FOR_PRINCIPAL,
        CHANNEL_NOT_LISTED,
        CHANNEL_REQUIRED,
        ACTION_NOT_GRANTED,
        DEPLOYMENT_RULE,
        EVALUATION_ERROR,
        SUBSCRIBER_NOT_FOUND,
        SUBSCRIBER_ERASED,
        PRINCIPAL_DISABLED,
        RECIPIENT_MISSING,
        NO_ACTIVE_POLICY,
        ZONE_NOT_ENTERED,
        ZONE_EXITED,
        ZONE_STAY_EXPIRED,
        ZONE_OTHER_NETWORK,
    ];
}

/// The facts a reason text may name.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Subject<'a> {
    pub purpose: &'a str,
    pub category: &'a str,
    /// The rule's own subject: a course id, a deployment policy id.
    pub detail: &'a str,
}

impl Reason {
    /// A reason the access service gives before the rules are evaluated (unknown or erased
    /// subscriber, disabled principal, missing recipient, no policy in force).
    pub fn service(code: &str, clause: &str, purpose: &str, category: &str) -> Reason {
        Reason::new(code, clause, Subject { purpose, category, detail: "" })
    }

    pub(crate) fn new(code: &str, clause: &str, s: Subject<'_>) -> Reason {
        let (ja, en) = texts(code, s);
        Reason {
            code: code.to_string(),
            clause: clause.to_string(),
            ja: format!("{ja}（{clause}）"),
            en: format!("{en} ({clause})"),
        }
    }
}

/// The Japanese name of an action id, as the console and the reasons show it.
fn action_ja(id: &str) -> &str {
    match id {
        "read" => "閲覧",
        "update" => "更新",
        "export" => "持出し",
        "erase" => "消去",
        other => other,
    }
}

fn texts(code: &str, s: Subject<'_>) -> (String, String) {
    let Subject { purpose: p, category: c, detail: d } = s;
    match code {
        code::PURPOSE_NOT_IN_POLICY => (
            format!("利用目的「{p}」は公表中の取扱方針にありません"),
            format!("purpose `{p}` is not in the published policy"),
        ),
        code::CATEGORY_NOT_IN_PURPOSE => (
            format!("情報の種類「{c}」は利用目的「{p}」の範囲外です"),
            format!("category `{c}` is not used for purpose `{p}`"),
        ),
        code::OUTSIDE_DATA_RANGE => (
            format!("情報の種類「{c}」は取扱者のアクセス範囲外です"),
            format!("category `{c}` is outside the principal's data range"),
        ),
        code::TRAINING_EXPIRED => {
            (format!("研修「{d}」の受講が有効期限内にありません"), format!("training `{d}` is missing or expired"))
        }
        code::OPTED_OUT => (
            format!("利用者が利用目的「{p}」への利用停止（オプトアウト）を申し出ています"),
            format!("the subscriber opted out of purpose `{p}`"),
        ),
        code::USE_STOPPED => (
            format!("利用者の請求により、利用目的「{p}」での利用を停止しています"),
            format!("the subscriber's request stopped the use for purpose `{p}`"),
        ),
        code::PROVISION_STOPPED => (
            format!("利用者の請求により、第三者への提供（利用目的「{p}」）を停止しています"),
            format!("the subscriber's request stopped the provision to third parties (purpose `{p}`)"),
        ),
        code::NOT_OPTED_IN => (
            format!("利用目的「{p}」には利用者の同意（オプトイン）が必要ですが、ありません"),
            format!("purpose `{p}` needs the subscriber's opt-in, which is missing"),
        ),
        code::SECRECY_WITHOUT_OPT_IN => (
            format!("通信の秘密に該当する「{c}」をサービス提供以外の利用目的「{p}」に使うには同意が必要です"),
            format!("category `{c}` is secrecy of communications and purpose `{p}` needs the subscriber's opt-in"),
        ),
        code::CONTRACT_TERMINATED => (
            format!("契約は解約済みで、利用目的「{p}」は解約後の利用が認められていません"),
            format!("the contract is terminated and purpose `{p}` does not continue after termination"),
        ),
        code::EXPORT_NOT_APPROVED => {
            ("承認された持出し申請がありません".to_string(), "export needs an approved export request".to_string())
        }
        code::OUTSIDE_ZONE => (
            "取扱区域の外からの取扱いは認められていません".to_string(),
            "handling is not allowed from outside the principal's handling zones".to_string(),
        ),
        code::ZONE_SECRECY_NOT_ALLOWED => (
            format!("通信の秘密に該当する「{c}」は、通信の秘密を取り扱える区域でのみ取り扱えます"),
            format!("category `{c}` is secrecy of communications and may only be handled in a zone registered for it"),
        ),
        code::ZONE_NOT_ENTERED => (
            "取扱区域への入室記録がありません".to_string(),
            "there is no record of entering a handling zone".to_string(),
        ),
        code::ZONE_EXITED => ("取扱区域から退室しています".to_string(), "the handling zone was exited".to_string()),
        code::ZONE_STAY_EXPIRED => (
            "取扱区域への入室から最長滞在時間を過ぎています".to_string(),
            "the longest stay since entering the handling zone has passed".to_string(),
        ),
        code::ZONE_OTHER_NETWORK => (
            "入室中の取扱区域の端末からの操作ではありません".to_string(),
            "the request does not come from a terminal of the handling zone entered".to_string(),
        ),
        code::PURPOSE_NOT_ALLOWED_FOR_PRINCIPAL => (
            format!("取扱者は利用目的「{p}」での取扱いを認められていません"),
            format!("the principal is not allowed to act for purpose `{p}`"),
        ),
        code::CHANNEL_NOT_LISTED => (
            format!("この経路は利用目的「{p}」の利用方法に含まれていません"),
            format!("the channel is not listed for purpose `{p}`"),
        ),
        code::CHANNEL_REQUIRED => (
            format!("利用目的「{p}」では利用方法（経路）の指定が必要です"),
            format!("purpose `{p}` lists its channels, so the use must name one"),
        ),
        code::ACTION_NOT_GRANTED => (
            format!("取扱者には操作「{}」が認められていません", action_ja(d)),
            format!("the principal is not granted the action `{d}`"),
        ),
        code::SUBSCRIBER_NOT_FOUND => ("該当する利用者が見つかりません".to_string(), "no such subscriber".to_string()),
        code::SUBSCRIBER_ERASED => {
            ("この利用者の情報は消去済みです".to_string(), "this subscriber's information has been erased".to_string())
        }
        code::PRINCIPAL_DISABLED => {
            ("取扱者の権限は停止されています".to_string(), "the principal has been disabled".to_string())
        }
        code::RECIPIENT_MISSING => (
            format!("第三者提供を伴う利用目的「{p}」では提供先の指定が必要です"),
            format!("purpose `{p}` provides data to a third party and needs a recipient"),
        ),
        code::NO_ACTIVE_POLICY => (
            "施行中の取扱方針がないため利用できません".to_string(),
            "no policy version is in force, so nothing may be used".to_string(),
        ),
        code::EVALUATION_ERROR => (
            format!("規則「{d}」を評価できなかったため拒否しました"),
            format!("rule `{d}` could not be evaluated, so the use is refused"),
        ),
        _ => {
            (format!("事業者が定めた規則「{d}」により拒否されました"), format!("refused by the deployment rule `{d}`"))
        }
    }
}
