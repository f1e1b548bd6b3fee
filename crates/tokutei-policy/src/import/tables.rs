//! The small vocabularies the importer recognises: section headings, purposes, services,
//! countries, security measure kinds, acquisition methods and channels, in Japanese and English.
//! All words are matched against folded keys (NFKC, lowercase).

use crate::model::{AcquisitionMethod, Channel, ConsentMode, MeasureKind};

/// The sections of a policy, in the order the law lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SectionId {
    Content,
    Acquisition,
    Purposes,
    Security,
    Foreign,
    Contact,
    Leaks,
}

impl SectionId {
    pub const ALL: [SectionId; 7] = [
        SectionId::Content,
        SectionId::Acquisition,
        SectionId::Purposes,
        SectionId::Security,
        SectionId::Foreign,
        SectionId::Contact,
        SectionId::Leaks,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SectionId::Content => "content",
            SectionId::Acquisition => "acquisition",
            SectionId::Purposes => "purposes",
            SectionId::Security => "security",
            SectionId::Foreign => "foreign",
            SectionId::Contact => "contact",
            SectionId::Leaks => "leaks",
        }
    }
}

/// The section a heading names, from its folded key. The caller checks the heading's shape.
pub(crate) fn section_of(key: &str) -> Option<SectionId> {
    let has = |words: &[&str]| words.iter().any(|w| key.contains(w));
    if (has(&["取得"]) && has(&["内容", "項目", "種類"]))
        || has(&["取得する情報", "取得する特定利用者情報", "information we acquire", "information we collect"])
        || has(&[
            "information acquired",
            "information collected",
            "information to be acquired",
            "content of the information",
        ])
        || has(&["types of information", "categories of information"])
    {
        return Some(SectionId::Content);
    }
    if has(&["取得方法", "取得の方法", "収集方法", "収集の方法", "取得手段"])
        || has(&[
            "how we acquire",
            "how we collect",
            "method of acquisition",
            "methods of acquisition",
            "acquisition method",
        ])
        || has(&[
            "means of acquisition",
            "collection method",
            "how information is acquired",
            "how information is collected",
        ])
    {
        return Some(SectionId::Acquisition);
    }
    if has(&["海外", "外国", "国外", "越境"])
        || has(&["abroad", "foreign", "overseas", "outside japan", "cross-border"])
    {
        return Some(SectionId::Foreign);
    }
    if has(&["漏えい", "漏洩", "漏れい", "流出"]) || has(&["leak", "breach"]) {
        return Some(SectionId::Leaks);
    }
    if has(&["利用目的", "利用の目的", "使用目的", "利用方法"]) || has(&["purpose"]) {
        return Some(SectionId::Purposes);
    }
    if has(&["安全管理", "安全対策"]) || has(&["security", "safeguard"]) {
        return Some(SectionId::Security);
    }
    if has(&["問い合わせ", "問合せ", "問い合せ", "問合わせ", "相談窓口", "苦情", "連絡先"])
        || has(&["contact", "inquir", "enquir", "complaint"])
    {
        return Some(SectionId::Contact);
    }
    None
}

/// Stable purpose ids by meaning, checked in order (the most specific first).
pub(crate) fn purpose_id(key: &str) -> Option<&'static str> {
    let has = |words: &[&str]| words.iter().any(|w| key.contains(w));
    if (has(&["他社", "第三者"]) && has(&["広告"]))
        || (has(&["third part", "other compan", "third-part"]) && has(&["advert", " ads", "ad "]))
    {
        return Some("third_party_ads");
    }
    if has(&["提携", "加盟店", "キャンペーン", "partner", "campaign", "affiliate"]) {
        return Some("partner_campaigns");
    }
    if has(&["行動履歴", "分析", "解析", "behavio", "analy", "profil"]) {
        return Some("behavior_analysis_ads");
    }
    if has(&["問い合わせ", "問合せ", "問い合せ", "相談", "inquir", "enquir", "question", "complaint"]) {
        return Some("inquiries");
    }
    if has(&["改善", "開発", "品質", "improv", "develop"]) {
        return Some("service_improvement");
    }
    if has(&[
        "紹介",
        "提案",
        "アンケート",
        "宣伝",
        "営業",
        "ご案内",
        "景品",
        "market",
        "promot",
        "introduc",
        "survey",
        "offer",
    ]) {
        return Some("marketing");
    }
    if has(&["本人確認", "請求", "料金", "提供", "契約", "工事", "provid", "billing", "bill ", "identit", "contract"])
    {
        return Some("service_provision");
    }
    None
}

pub(crate) fn consent_of(id: &str, key: &str) -> ConsentMode {
    let has = |words: &[&str]| words.iter().any(|w| key.contains(w));
    if has(&["同意を得", "同意いただ", "同意された", "with your consent", "you consent", "opt in", "opt-in"])
    {
        return ConsentMode::OptIn;
    }
    match id {
        "service_provision" | "inquiries" | "service_improvement" => ConsentMode::None,
        "marketing" | "behavior_analysis_ads" | "partner_campaigns" | "third_party_ads" => ConsentMode::OptOut,
        _ if has(&["広告", "宣伝", "キャンペーン", "ご案内", "紹介", "advert", "marketing", "campaign", "promot"]) => {
            ConsentMode::OptOut
        }
        _ => ConsentMode::None,
    }
}

pub(crate) fn channels_of(key: &str) -> Vec<Channel> {
    let has = |words: &[&str]| words.iter().any(|w| key.contains(w));
    let phone = mentions_phone_channel(key) || has(&["telephone", "phone call", "by phone", "phone,"]);
    let advertising = (key.contains("広告") && (key.contains("表示") || key.contains("配信")))
        || has(&["display of ad", "displaying ad", "deliver ad", "show you ad", "show ads"]);
    let mut out: Vec<Channel> = [
        (phone, Channel::Phone),
        (has(&["メール", "e-mail", "email"]), Channel::Email),
        (has(&["郵送", "郵便", "by post", "postal", "letter"]), Channel::Post),
        (has(&["sms", "ショートメッセージ"]), Channel::Sms),
        (has(&["アプリ", "in the app", "mobile app"]), Channel::App),
        (has(&["ウェブ", "web", "ホームページ"]), Channel::Web),
        (advertising, Channel::Advertising),
    ]
    .into_iter()
    .filter_map(|(yes, c)| yes.then_some(c))
    .collect();
    out.sort();
    out
}

/// 電話 as a way of reaching the subscriber, not inside a service name (光電話, 電話サービス).
fn mentions_phone_channel(key: &str) -> bool {
    key.match_indices("電話").any(|(pos, w)| {
        let before = key[..pos].chars().next_back();
        let after = &key[pos + w.len()..];
        !matches!(before, Some('光' | '帯' | 'p' | '定' | '動'))
            && !after.starts_with("サービス")
            && !after.starts_with("番号")
            && !after.starts_with("網")
    })
}

pub(crate) fn third_party_provision(key: &str) -> bool {
    let has = |words: &[&str]| words.iter().any(|w| key.contains(w));
    has(&["他社", "第三者に提供", "第三者への提供", "third part", "other compan"])
}

pub(crate) fn methods_of(key: &str) -> Vec<AcquisitionMethod> {
    let has = |words: &[&str]| words.iter().any(|w| key.contains(w));
    let mut out = Vec::new();
    for (words, m) in [
        (&["口頭", "oral", "verbal"][..], AcquisitionMethod::Oral),
        (&["書面", "紙", "in writing", "written", "paper"][..], AcquisitionMethod::Written),
        (&["電磁的", "電子的", "electronic"][..], AcquisitionMethod::Electronic),
        (&["録音", "audio", "voice record"][..], AcquisitionMethod::AudioRecording),
        (&["録画", "video"][..], AcquisitionMethod::VideoRecording),
        (
            &["その他", "等の方法", "などの方法", "other means", "other method", "other way"][..],
            AcquisitionMethod::Other,
        ),
    ] {
        if has(words) {
            out.push(m);
        }
    }
    out
}

pub(crate) fn measure_kind(key: &str) -> Option<MeasureKind> {
    let has = |words: &[&str]| words.iter().any(|w| key.contains(w));
    if has(&["基本方針", "basic policy"]) {
        Some(MeasureKind::BasicPolicy)
    } else if has(&["規律", "規程の整備", "ルール", "rules", "discipline", "regulations"]) {
        Some(MeasureKind::Rules)
    } else if has(&["組織的", "organizational", "organisational"]) {
        Some(MeasureKind::Organizational)
    } else if has(&["人的", "human", "personnel"]) {
        Some(MeasureKind::Human)
    } else if has(&["物理的", "physical"]) {
        Some(MeasureKind::Physical)
    } else if has(&["技術的", "technical"]) {
        Some(MeasureKind::Technical)
    } else if has(&["外的環境", "外国の制度", "external environment", "foreign regime", "foreign law"]) {
        Some(MeasureKind::ExternalEnvironment)
    } else {
        None
    }
}

/// A country: Japanese name, English name, ISO 3166-1 alpha-2 code, other spellings.
pub(crate) struct Country {
    pub ja: &'static str,
    pub en: &'static str,
    pub code: &'static str,
    pub aliases: &'static [&'static str],
}

pub(crate) const COUNTRIES: &[Country] = &[
    Country {
        ja: "米国",
        en: "United States",
        code: "US",
        aliases: &["アメリカ", "アメリカ合衆国", "usa", "u.s.", "u.s.a.", "us", "united states of america", "america"],
    },
    Country { ja: "日本", en: "Japan", code: "JP", aliases: &[] },
    Country {
        ja: "英国",
        en: "United Kingdom",
        code: "GB",
        aliases: &["イギリス", "uk", "u.k.", "great britain", "britain"],
    },
    Country { ja: "アイルランド", en: "Ireland", code: "IE", aliases: &[] },
    Country { ja: "ドイツ", en: "Germany", code: "DE", aliases: &[] },
    Country { ja: "フランス", en: "France", code: "FR", aliases: &[] },
    Country { ja: "オランダ", en: "Netherlands", code: "NL", aliases: &["the netherlands"] },
    Country { ja: "スウェーデン", en: "Sweden", code: "SE", aliases: &[] },
    Country { ja: "スイス", en: "Switzerland", code: "CH", aliases: &[] },
    Country { ja: "シンガポール", en: "Singapore", code: "SG", aliases: &[] },
    Country {
        ja: "中国", en: "China", code: "CN", aliases: &["中華人民共和国", "people's republic of china", "prc"]
    },
    Country { ja: "香港", en: "Hong Kong", code: "HK", aliases: &[] },
    Country { ja: "台湾", en: "Taiwan", code: "TW", aliases: &[] },
    Country { ja: "韓国", en: "South Korea", code: "KR", aliases: &["大韓民国", "korea", "republic of korea"] },
    Country { ja: "インド", en: "India", code: "IN", aliases: &[] },
    Country { ja: "フィリピン", en: "Philippines", code: "PH", aliases: &["the philippines"] },
    Country { ja: "ベトナム", en: "Vietnam", code: "VN", aliases: &["viet nam"] },
    Country { ja: "タイ", en: "Thailand", code: "TH", aliases: &[] },
    Country { ja: "マレーシア", en: "Malaysia", code: "MY", aliases: &[] },
    Country { ja: "インドネシア", en: "Indonesia", code: "ID", aliases: &[] },
    Country { ja: "オーストラリア", en: "Australia", code: "AU", aliases: &["豪州"] },
    Country { ja: "カナダ", en: "Canada", code: "CA", aliases: &[] },
    Country { ja: "ブラジル", en: "Brazil", code: "BR", aliases: &[] },
];

pub(crate) fn country(name: &str) -> Option<&'static Country> {
    let key = super::line::fold(name);
    let key = key.trim_start_matches("the ").trim();
    COUNTRIES.iter().find(|c| c.ja == key || c.en.to_lowercase() == key || c.aliases.contains(&key))
}

/// A service id from well-known service names.
pub(crate) fn known_service_id(key: &str) -> Option<&'static str> {
    let has = |words: &[&str]| words.iter().any(|w| key.contains(w));
    if has(&["インターネット", "internet access", "internet connection", "broadband", "光回線", "fiber", "fibre"])
    {
        Some("internet")
    } else if has(&["携帯", "モバイル", "mobile"]) {
        Some("mobile")
    } else if has(&["電話", "音声", "voice", "telephone"]) {
        Some("voice")
    } else if has(&["メール", "email", "e-mail"]) {
        Some("email")
    } else if has(&["クラウド", "cloud"]) {
        Some("cloud")
    } else {
        None
    }
}
