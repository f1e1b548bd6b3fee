//! Deterministic synthetic Japanese subscribers for `tokutei demo --subscribers N` and the
//! import benchmark: names with kana, addresses, phone numbers, emails, contract numbers,
//! birth dates, payment information, usage, inquiries and connection logs.
//!
//! The rows are produced as the CSV of `docs/import-format.md` by a [`Read`] that generates
//! them on the fly (never written to disk), and [`populate`] feeds them through the same import
//! path as `tokutei subscribers import` ([`crate::import`]); progress goes to a callback (the
//! binary draws its bar). A small seeded PRNG (SplitMix64) makes runs reproducible; it is for
//! synthetic data only, never for keys or nonces.

use std::io::Read;

use tokutei_policy::Policy;

use crate::import::{self, ImportProgress, ImportResult, ImportSummary, ImportTarget};

/// SplitMix64: tiny, fast, good enough to vary synthetic data.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const SURNAMES: [(&str, &str, &str); 16] = [
    ("佐藤", "サトウ", "sato"),
    ("鈴木", "スズキ", "suzuki"),
    ("高橋", "タカハシ", "takahashi"),
    ("田中", "タナカ", "tanaka"),
    ("伊藤", "イトウ", "ito"),
    ("渡辺", "ワタナベ", "watanabe"),
    ("山本", "ヤマモト", "yamamoto"),
    ("中村", "ナカムラ", "nakamura"),
    ("小林", "コバヤシ", "kobayashi"),
    ("加藤", "カトウ", "kato"),
    ("吉田", "ヨシダ", "yoshida"),
    ("山田", "ヤマダ", "yamada"),
    ("佐々木", "ササキ", "sasaki"),
    ("松本", "マツモト", "matsumoto"),
    ("井上", "イノウエ", "inoue"),
    ("木村", "キムラ", "kimura"),
];

const GIVEN: [(&str, &str, &str); 16] = [
    ("翔太", "ショウタ", "shota"),
    ("陽菜", "ヒナ", "hina"),
    ("蓮", "レン", "ren"),
    ("結衣", "ユイ", "yui"),
    ("大輔", "ダイスケ", "daisuke"),
    ("美咲", "ミサキ", "misaki"),
    ("健太", "ケンタ", "kenta"),
    ("さくら", "サクラ", "sakura"),
    ("拓海", "タクミ", "takumi"),
    ("葵", "アオイ", "aoi"),
    ("一郎", "イチロウ", "ichiro"),
    ("花子", "ハナコ", "hanako"),
    ("悠真", "ユウマ", "yuma"),
    ("彩", "アヤ", "aya"),
    ("直樹", "ナオキ", "naoki"),
    ("真由美", "マユミ", "mayumi"),
];

const PLACES: [(&str, &str); 10] = [
    ("東京都", "新宿区西新宿"),
    ("東京都", "世田谷区三軒茶屋"),
    ("神奈川県", "横浜市中区山下町"),
    ("大阪府", "大阪市北区梅田"),
    ("愛知県", "名古屋市中区栄"),
    ("福岡県", "福岡市博多区博多駅前"),
    ("北海道", "札幌市中央区大通西"),
    ("宮城県", "仙台市青葉区一番町"),
    ("京都府", "京都市下京区四条通"),
    ("広島県", "広島市中区紙屋町"),
];

const DOMAINS: [&str; 4] = ["example.jp", "example.com", "example.ne.jp", "mail.example.org"];
const BANKS: [&str; 4] = ["星空銀行", "みらい信用金庫", "さくら台銀行", "ゆうほく銀行"];
const INQUIRIES: [&str; 4] = ["料金プランの変更について", "通信速度が遅い", "請求内容の確認", "住所変更の手続き"];

/// One synthetic subscriber as CSV records (first row with the contract, further rows for
/// extra provenance such as call recordings or log entries).
fn subscriber_rows(rng: &mut Rng, n: u64, policy: &Policy, columns: &[String], notice: u32) -> Vec<Vec<String>> {
    let services: Vec<&str> = policy.services.iter().map(|s| s.id.as_str()).collect();
    let service = *rng.pick(&services);
    let (sur, sur_kana, sur_ro) = *rng.pick(&SURNAMES);
    let (given, given_kana, given_ro) = *rng.pick(&GIVEN);
    let (pref, city) = *rng.pick(&PLACES);
    let year = 2015 + rng.below(11) as i16;
    let started = format!("{year}-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28));
    let roll = rng.below(100);
    let (state, suspended, terminated) = match roll {
        0..=84 => ("active", String::new(), String::new()),
        85..=89 => ("suspended", format!("2026-{:02}-01", 1 + rng.below(9)), String::new()),
        _ => ("terminated", String::new(), format!("{}-{:02}-{:02}", year + 1, 1 + rng.below(12), 1 + rng.below(28))),
    };
    let collected = format!("{started}T{:02}:{:02}:00+09:00", 9 + rng.below(9), rng.below(60));
    let phone = format!("0{}0-{:04}-{:04}", 7 + rng.below(3), rng.below(10_000), rng.below(10_000));
    let value = |rng: &mut Rng, category: &str| -> Option<String> {
        let c = policy.category(category)?;
        if !c.services.iter().any(|s| s == service) {
            return None;
        }
        Some(match category {
            "contract.name" => format!("{sur} {given}"),
            "contract.name_kana" => format!("{sur_kana} {given_kana}"),
            "contract.address" => format!(
                "{pref}{city}{}丁目{}番{}号 星空ハイツ{}号室",
                1 + rng.below(5),
                1 + rng.below(30),
                1 + rng.below(20),
                101 + rng.below(900)
            ),
            "contract.phone" => phone.clone(),
            "contract.email" => format!("{given_ro}.{sur_ro}{}@{}", n % 10_000, rng.pick(&DOMAINS)),
            "contract.number" => format!("HZ-{:08}", n),
            "contract.birth_date" => {
                format!("{}-{:02}-{:02}", 1945 + rng.below(60), 1 + rng.below(12), 1 + rng.below(28))
            }
            "billing.payment" => {
                if rng.below(2) == 0 {
                    format!("クレジットカード VISA {:04} **** **** {:04}", 4000 + rng.below(999), rng.below(10_000))
                } else {
                    format!("口座振替 {} 普通 {:07}", rng.pick(&BANKS), rng.below(10_000_000))
                }
            }
            "billing.usage" => {
                format!("2026年10月分 基本料金 {}円 通話料 {}円", 3000 + rng.below(5000), rng.below(3000))
            }
            "support.inquiries" if rng.below(4) == 0 => format!("{} (2026年)", rng.pick(&INQUIRIES)),
            "comm.auth_log" => format!(
                "2026-{:02}-{:02}T{:02}:00:00+09:00 auth ok nas=hz-bras-{:02} ip=198.51.100.{}",
                1 + rng.below(11),
                1 + rng.below(28),
                rng.below(24),
                rng.below(40),
                rng.below(255)
            ),
            "comm.location" if rng.below(3) == 0 => {
                format!("35.{:04},139.{:04} cell={}", rng.below(10_000), rng.below(10_000), rng.below(100_000))
            }
            _ => return None,
        })
    };
    let mut first = Vec::with_capacity(columns.len());
    for column in columns {
        first.push(match column.as_str() {
            "subscriber" => format!("HS{n:08}"),
            "service" => service.to_string(),
            "state" => state.to_string(),
            "started_on" => started.clone(),
            "suspended_on" => suspended.clone(),
            "terminated_on" => terminated.clone(),
            "method" => "written".to_string(),
            "source" => "direct".to_string(),
            "collected_at" => collected.clone(),
            "collected_by" => "shop-tokyo-01".to_string(),
            "notice_version" => notice.to_string(),
            "provider_name" | "provider_address" | "provider_representative" | "provider_obtained_by" => String::new(),
            category => value(rng, category).unwrap_or_default(),
        });
    }
    vec![first]
}

/// The CSV header for `policy`: the provenance columns, then every category the generator
/// fills that the policy has.
pub fn header(policy: &Policy) -> Vec<String> {
    let mut columns: Vec<String> = [
        "subscriber",
        "service",
        "state",
        "started_on",
        "suspended_on",
        "terminated_on",
        "method",
        "source",
        "collected_at",
        "collected_by",
        "notice_version",
    ]
    .map(String::from)
    .to_vec();
    for id in [
        "contract.name",
        "contract.name_kana",
        "contract.address",
        "contract.phone",
        "contract.email",
        "contract.number",
        "contract.birth_date",
        "billing.payment",
        "billing.usage",
        "support.inquiries",
        "comm.auth_log",
        "comm.location",
    ] {
        if policy.category(id).is_some() {
            columns.push(id.to_string());
        }
    }
    columns
}

/// A [`Read`] that yields the CSV of `count` synthetic subscribers.
#[derive(Debug)]
pub struct SynthReader {
    rng: Rng,
    policy: Policy,
    columns: Vec<String>,
    notice: u32,
    next: u64,
    count: u64,
    buf: Vec<u8>,
    pos: usize,
    header_done: bool,
}

impl SynthReader {
    pub fn new(policy: &Policy, notice_version: u32, count: u64, seed: u64) -> SynthReader {
        SynthReader {
            rng: Rng::new(seed),
            columns: header(policy),
            policy: policy.clone(),
            notice: notice_version,
            next: 1,
            count,
            buf: Vec::with_capacity(64 * 1024),
            pos: 0,
            header_done: false,
        }
    }

    fn refill(&mut self) -> std::io::Result<()> {
        self.buf.clear();
        self.pos = 0;
        let mut w = csv::WriterBuilder::new().from_writer(&mut self.buf);
        if !self.header_done {
            w.write_record(&self.columns)?;
            self.header_done = true;
        }
        let end = (self.next + 256).min(self.count + 1);
        while self.next < end {
            for row in subscriber_rows(&mut self.rng, self.next, &self.policy, &self.columns, self.notice) {
                w.write_record(&row)?;
            }
            self.next += 1;
        }
        w.flush()?;
        Ok(())
    }
}

impl Read for SynthReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            if self.header_done && self.next > self.count {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Generate `n` synthetic subscribers from `seed` and import them through the CSV import path,
/// reporting progress to `on_progress`.
pub fn populate(
    target: &ImportTarget<'_>,
    policy: &Policy,
    policy_version: u32,
    n: u64,
    seed: u64,
    on_progress: &mut dyn FnMut(ImportProgress),
) -> ImportResult<ImportSummary> {
    import::import(
        target,
        policy,
        policy_version,
        || Ok(Box::new(SynthReader::new(policy, policy_version, n, seed)) as Box<dyn Read>),
        on_progress,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic_and_seeded() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut c = Rng::new(8);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        assert_eq!(xs, (0..5).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(xs, (0..5).map(|_| c.next_u64()).collect::<Vec<_>>());
    }
}
