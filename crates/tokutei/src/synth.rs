//! Deterministic synthetic Japanese subscribers for `tokutei demo --subscribers N` and the
//! import benchmark: names with kana, addresses, phone numbers, emails, contract numbers,
//! birth dates, payment information, usage, inquiries and connection logs.
//!
//! The rows are produced as the CSV of `docs/import-format.md` by a [`Read`] that generates
//! them on the fly (never written to disk), and [`populate`] feeds them through the same import
//! path as `tokutei subscribers import`. A small seeded PRNG (SplitMix64) makes runs
//! reproducible; it is for synthetic data only, never for keys or nonces.

use std::io::Read;

use tokutei_policy::Policy;

use tokutei_app::import::{self, ImportSummary, ImportTarget};

use crate::cli::subscribers;

/// SplitMix64: tiny, fast, good enough to vary synthetic data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
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

/// Generate `n` synthetic subscribers from `seed` and import them through the CSV import path.
#[allow(dead_code, reason = "called by `tokutei demo` and the import benchmark")]
pub fn populate(
    target: &ImportTarget<'_>,
    policy: &Policy,
    policy_version: u32,
    n: u64,
    seed: u64,
    progress: bool,
) -> anyhow::Result<ImportSummary> {
    subscribers::with_progress_bar(progress, |on_progress| {
        import::import(
            target,
            policy,
            policy_version,
            || Ok(Box::new(SynthReader::new(policy, policy_version, n, seed)) as Box<dyn Read>),
            on_progress,
        )
        .map_err(anyhow::Error::from)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic_and_seeded() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut c = Rng::new(8);
        let xs: Vec<u64> = (0..5).map(|_| a.next()).collect();
        assert_eq!(xs, (0..5).map(|_| b.next()).collect::<Vec<_>>());
        assert_ne!(xs, (0..5).map(|_| c.next()).collect::<Vec<_>>());
    }
}

/// The import benchmark (issue 4): synthetic subscribers through the real import path (parse,
/// validate, encrypt, blind-index, store) against a raw SQLite insert of the same rows without
/// encryption, in one run. `TOKUTEI_BENCH_SUBSCRIBERS` sets the size (default 100 000).
///
/// `TOKUTEI_BENCH_SUBSCRIBERS=100000 CARGO_PROFILE_DEV_OPT_LEVEL=3 cargo test -p tokutei --bin tokutei bench_import -- --nocapture`
#[cfg(test)]
mod bench {
    use std::io::Read;
    use std::time::Instant;

    use tokutei_store::NewPolicyVersion;

    use super::*;
    use crate::data_dir::DataDir;
    use crate::keyring::Keyring;

    fn peak_rss_kib() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
            .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
            .unwrap_or(0)
    }

    /// Runs small by default (a check that the vault import and the raw baseline store the
    /// same values); `TOKUTEI_BENCH_SUBSCRIBERS=100000` turns it into the measurement.
    #[test]
    fn bench_import() {
        let n: u64 = std::env::var("TOKUTEI_BENCH_SUBSCRIBERS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::new(tmp.path().join("data"));
        data.create().unwrap();
        let store = data.open_or_create_store().unwrap();
        let source = include_str!("../tests/it/fixtures/vault-policy.toml");
        let policy = tokutei_policy::parse(source).unwrap();
        store
            .publish_policy(NewPolicyVersion {
                digest: tokutei_policy::PolicyDigest::of(&policy),
                source: source.to_string(),
                effective: policy.effective_date(),
                published_by: "bench".into(),
                published_at: jiff::Timestamp::now(),
            })
            .unwrap();
        let keyring = Keyring::open_or_create(&data).unwrap();
        let ledger = store.ledger().unwrap();
        let target = ImportTarget {
            store: &*store,
            ledger: &*ledger,
            keys: &keyring,
            actor: tokutei_ledger::Actor::System("bench".into()),
        };

        let started = Instant::now();
        let summary = populate(&target, &policy, 1, n, 42, false).unwrap();
        let vault_secs = started.elapsed().as_secs_f64();
        let rss_after_vault = peak_rss_kib();

        // Baseline: the same generated rows, parsed, inserted in plaintext into plain tables,
        // same batch size and pragmas, no encryption, no blind index, no validation.
        let raw = rusqlite::Connection::open(tmp.path().join("raw.sqlite3")).unwrap();
        raw.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             CREATE TABLE subscribers (id TEXT PRIMARY KEY, service TEXT, state TEXT, started_on TEXT) WITHOUT ROWID;
             CREATE TABLE vals (subscriber TEXT, category TEXT, version INTEGER, value BLOB, method TEXT,
                 collected_at TEXT, collected_by TEXT, PRIMARY KEY (subscriber, category, version)) WITHOUT ROWID;",
        )
        .unwrap();
        let started = Instant::now();
        let mut reader = csv::Reader::from_reader(SynthReader::new(&policy, 1, n, 42));
        let headers = reader.byte_headers().unwrap().clone();
        let mut raw = raw;
        let mut tx = raw.transaction().unwrap();
        let (mut rows, mut values) = (0u64, 0u64);
        let mut record = csv::ByteRecord::new();
        while reader.read_byte_record(&mut record).unwrap() {
            let s = |i: usize| std::str::from_utf8(&record[i]).unwrap();
            tx.prepare_cached("INSERT INTO subscribers VALUES (?1, ?2, ?3, ?4)")
                .unwrap()
                .execute([s(0), s(1), s(2), s(3)])
                .unwrap();
            let mut insert = tx.prepare_cached("INSERT INTO vals VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6)").unwrap();
            for i in 11..record.len() {
                if !record[i].is_empty() {
                    let category = std::str::from_utf8(&headers[i]).unwrap();
                    insert.execute(rusqlite::params![s(0), category, &record[i], s(6), s(8), s(9)]).unwrap();
                    values += 1;
                }
            }
            drop(insert);
            rows += 1;
            if rows % tokutei_app::import::BATCH_SUBSCRIBERS as u64 == 0 {
                tx.commit().unwrap();
                tx = raw.transaction().unwrap();
            }
        }
        tx.commit().unwrap();
        let raw_secs = started.elapsed().as_secs_f64();
        let mut sink = Vec::new();
        SynthReader::new(&policy, 1, 3, 42).read_to_end(&mut sink).unwrap();

        assert_eq!(values, summary.values);
        let vault_rate = summary.values as f64 / vault_secs;
        let raw_rate = values as f64 / raw_secs;
        println!(
            "subscribers={n} values={values}\n\
             vault import (validate + encrypt + blind index + store): {vault_secs:.1}s, {:.0} subscribers/s, {vault_rate:.0} values/s\n\
             raw sqlite insert (plaintext, no validation):            {raw_secs:.1}s, {:.0} subscribers/s, {raw_rate:.0} values/s\n\
             vault/raw = {:.0}%\n\
             extrapolated 10M subscribers: vault {:.1} min, raw {:.1} min\n\
             peak RSS after vault import: {} MiB, at end: {} MiB",
            n as f64 / vault_secs,
            n as f64 / raw_secs,
            100.0 * vault_rate / raw_rate,
            vault_secs * 10_000_000.0 / n as f64 / 60.0,
            raw_secs * 10_000_000.0 / n as f64 / 60.0,
            rss_after_vault / 1024,
            peak_rss_kib() / 1024,
        );
    }
}
