//! Running a pair in alternation and reporting it: medians with min and max per side, the
//! ratio of the medians, oriented so that a ratio above 1 always means tokutei is ahead.

use serde::Serialize;

/// How long and how big.
#[derive(Debug, Clone)]
pub struct Settings {
    pub rounds: usize,
    /// Seconds each side runs per round in throughput rows.
    pub seconds: f64,
    pub subscribers: usize,
    /// Subscribers per bulk-import round.
    pub import_subscribers: usize,
}

impl Settings {
    pub fn quick(rounds: usize) -> Settings {
        Settings { rounds, seconds: 0.5, subscribers: 2_000, import_subscribers: 20_000 }
    }

    pub fn full(rounds: usize) -> Settings {
        Settings { rounds, seconds: 3.0, subscribers: 20_000, import_subscribers: 1_000_000 }
    }
}

/// Whether bigger figures are better (throughput) or smaller (latency).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Higher,
    Lower,
}

/// Min, median and max of one side's rounds.
#[derive(Debug, Clone, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(mut samples: Vec<f64>) -> Spread {
        samples.sort_by(f64::total_cmp);
        let n = samples.len();
        let median = if n == 0 {
            f64::NAN
        } else if n % 2 == 1 {
            samples[n / 2]
        } else {
            (samples[n / 2 - 1] + samples[n / 2]) / 2.0
        };
        Spread {
            median,
            min: samples.first().copied().unwrap_or(f64::NAN),
            max: samples.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Result {
    pub name: String,
    pub unit: String,
    pub better: Better,
    pub tokutei: Spread,
    pub baseline_name: String,
    pub baseline: Option<Spread>,
    /// Above 1 tokutei is ahead of the baseline; for "the limit" baselines it is the share of
    /// the limit reached (below 1).
    pub ratio: Option<f64>,
    pub note: String,
}

impl Result {
    pub fn new(
        name: &str,
        unit: &str,
        better: Better,
        tokutei: Vec<f64>,
        baseline_name: &str,
        baseline: Option<Vec<f64>>,
        note: String,
    ) -> Result {
        let tokutei = Spread::of(tokutei);
        let baseline = baseline.map(Spread::of);
        let ratio = baseline.as_ref().map(|b| match better {
            Better::Higher => tokutei.median / b.median,
            Better::Lower => b.median / tokutei.median,
        });
        Result {
            name: name.into(),
            unit: unit.into(),
            better,
            tokutei,
            baseline_name: baseline_name.into(),
            baseline,
            ratio,
            note,
        }
    }
}

/// Run `a` and `b` alternately, `rounds` times each; each call returns one figure.
pub fn alternate(rounds: usize, mut a: impl FnMut() -> f64, mut b: impl FnMut() -> f64) -> (Vec<f64>, Vec<f64>) {
    let mut xs = Vec::with_capacity(rounds);
    let mut ys = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        xs.push(a());
        ys.push(b());
    }
    (xs, ys)
}

fn figure(x: f64) -> String {
    if x >= 1000.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn spread(s: &Spread) -> String {
    format!("{} ({}–{})", figure(s.median), figure(s.min), figure(s.max))
}

/// The results as a Markdown table.
pub fn markdown(results: &[Result]) -> String {
    let mut out = String::from(
        "| row | unit | tokutei median (min–max) | baseline | baseline median (min–max) | ratio | note |\n|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            r.name,
            r.unit,
            spread(&r.tokutei),
            r.baseline_name,
            r.baseline.as_ref().map_or("—".to_string(), spread),
            r.ratio.map_or("—".to_string(), |x| format!("{x:.2}×")),
            r.note
        ));
    }
    out
}

/// The `q` quantile (0..=1) of latencies, in the samples' unit.
pub fn quantile(samples: &mut [f64], q: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort_by(f64::total_cmp);
    let i = ((samples.len() - 1) as f64 * q).round() as usize;
    samples[i]
}
