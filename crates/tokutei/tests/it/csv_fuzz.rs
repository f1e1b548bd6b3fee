//! Property fuzzing of the subscriber CSV import through the binary (`tokutei subscribers
//! import`, whose row parser lives in the binary crate): valid files with random edits —
//! cells swapped for wrong dates, unknown services, quotes, NUL, Shift_JIS bytes, line
//! breaks; columns dropped or repeated; rows cut, repeated or of another length; a BOM, CRLF.
//! Properties: the binary never panics and exits 0 or 2; a refused file is named by line (and
//! column, when one is at fault), never repeats a value, and leaves the vault as it was; an
//! accepted file imports every row.
//!
//! Bounded for CI: `PROPTEST_CASES` (default 40) sets the number of files.

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};

use crate::util::TestEnv;

/// Category values carry this marker, so an error that repeats a value is seen.
const MARK: &str = "PIIMARK";

const HEADER: [&str; 13] = [
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
    "contract.name",
    "contract.phone",
    "billing.payment",
];

/// One valid row per subscriber `id`, in the order of [`HEADER`].
fn valid_row(id: &str, n: usize) -> Vec<String> {
    let (service, state, suspended, terminated) = match n % 3 {
        0 => ("fiber", "active", "", ""),
        1 => ("mobile", "suspended", "2025-01-01", ""),
        _ => ("global_vpn", "terminated", "", "2024-03-31"),
    };
    [
        id,
        service,
        state,
        "2020-04-01",
        suspended,
        terminated,
        "written",
        "direct",
        "2020-04-01T10:00:00+09:00",
        "shop-1",
        &format!("{MARK}名前{n}"),
        &format!("{MARK}090-0000-{n:04}"),
        &format!("{MARK}口座{n}"),
    ]
    .map(str::to_string)
    .to_vec()
}

/// One random edit of the table (header included) or of its bytes.
#[derive(Debug, Clone)]
enum Edit {
    /// Replace the cell at (row, column) — fractions of the table's size.
    Cell { row: f64, column: f64, value: String },
    /// Drop a column everywhere (header and rows).
    DropColumn { column: f64 },
    /// Repeat a column's header name (a duplicate header).
    DuplicateHeader { column: f64 },
    /// Drop a row (the header too, when it is row 0).
    DropRow { row: f64 },
    /// Repeat a row (a continuation row of the same subscriber, with its contract columns).
    RepeatRow { row: f64 },
    /// Cut a row short or make it longer.
    Resize { row: f64, extra: i8 },
    /// Insert raw bytes into the file.
    Bytes { at: f64, bytes: Vec<u8> },
    /// Start the file with a BOM.
    Bom,
    /// End lines with CRLF.
    Crlf,
}

fn cell_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(" ".to_string()),
        Just("2024-02-30".to_string()),
        Just("2024-13-01".to_string()),
        Just("0000-00-00".to_string()),
        Just("9999-12-31".to_string()),
        Just("1999-01-01".to_string()),
        Just("2026-04-01 10:00".to_string()),
        Just("2026-04-01T10:00:00".to_string()),
        Just("active".to_string()),
        Just("terminated".to_string()),
        Just("suspended".to_string()),
        Just("deleted".to_string()),
        Just("fiber".to_string()),
        Just("satellite".to_string()),
        Just("indirect".to_string()),
        Just("oral".to_string()),
        Just("telepathy".to_string()),
        Just("base64:AAAA".to_string()),
        Just("base64:!!".to_string()),
        Just("0".to_string()),
        Just("4294967296".to_string()),
        Just("a\"b".to_string()),
        Just("\"".to_string()),
        Just("a,b".to_string()),
        Just("line\nbreak".to_string()),
        Just("nul\u{0}byte".to_string()),
        Just("x".repeat(70)),
        "\\PC{0,20}".prop_map(|s| format!("{MARK}{s}")),
        "[ -~]{0,12}",
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = 0.0..1.0f64;
    prop_oneof![
        8 => (at.clone(), at.clone(), cell_value()).prop_map(|(row, column, value)| Edit::Cell { row, column, value }),
        1 => at.clone().prop_map(|column| Edit::DropColumn { column }),
        1 => at.clone().prop_map(|column| Edit::DuplicateHeader { column }),
        1 => at.clone().prop_map(|row| Edit::DropRow { row }),
        2 => at.clone().prop_map(|row| Edit::RepeatRow { row }),
        1 => (at.clone(), -3i8..3).prop_map(|(row, extra)| Edit::Resize { row, extra }),
        1 => (at, prop_oneof![
                Just(vec![0x82, 0xa0, 0x82, 0xa2]),
                Just(vec![0xff, 0xfe]),
                Just(vec![0]),
                Just(b"\r".to_vec()),
                Just(b"\"".to_vec()),
                Just(b"\n".to_vec()),
                prop::collection::vec(any::<u8>(), 1..6),
            ])
            .prop_map(|(at, bytes)| Edit::Bytes { at, bytes }),
        1 => Just(Edit::Bom),
        1 => Just(Edit::Crlf),
    ]
}

fn index(len: usize, at: f64) -> usize {
    let n = (len as f64 * at) as usize;
    n.min(len.saturating_sub(1))
}

fn quote(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) { format!("\"{}\"", cell.replace('"', "\"\"")) } else { cell.to_string() }
}

/// The file made from `rows` (header first) with `edits` applied.
fn file(rows: &[Vec<String>], edits: &[Edit]) -> Vec<u8> {
    let mut table = rows.to_vec();
    let (mut bom, mut crlf) = (false, false);
    let mut raw: Vec<(f64, Vec<u8>)> = Vec::new();
    for e in edits {
        match e {
            Edit::Cell { row, column, value } => {
                let r = index(table.len(), *row);
                if !table[r].is_empty() {
                    let c = index(table[r].len(), *column);
                    table[r][c] = value.clone();
                }
            }
            Edit::DropColumn { column } => {
                let c = index(table[0].len(), *column);
                for row in &mut table {
                    if c < row.len() {
                        row.remove(c);
                    }
                }
            }
            Edit::DuplicateHeader { column } => {
                if table[0].is_empty() {
                    continue;
                }
                let (a, b) = (index(table[0].len(), *column), index(table[0].len(), 1.0 - *column));
                table[0][b] = table[0][a].clone();
            }
            Edit::DropRow { row } => {
                if table.len() > 1 {
                    table.remove(index(table.len(), *row));
                }
            }
            Edit::RepeatRow { row } => {
                let r = index(table.len(), *row);
                let copy = table[r].clone();
                table.insert(r + 1, copy);
            }
            Edit::Resize { row, extra } => {
                let r = index(table.len(), *row);
                if *extra < 0 {
                    let keep = table[r].len().saturating_sub(extra.unsigned_abs() as usize);
                    table[r].truncate(keep);
                } else {
                    table[r].extend((0..*extra).map(|_| String::new()));
                }
            }
            Edit::Bytes { at, bytes } => raw.push((*at, bytes.clone())),
            Edit::Bom => bom = true,
            Edit::Crlf => crlf = true,
        }
    }
    let newline = if crlf { "\r\n" } else { "\n" };
    let text: String =
        table.iter().map(|row| row.iter().map(|c| quote(c)).collect::<Vec<_>>().join(",") + newline).collect();
    let mut bytes = text.into_bytes();
    for (at, insert) in raw {
        let i = (bytes.len() as f64 * at) as usize;
        bytes.splice(i.min(bytes.len())..i.min(bytes.len()), insert);
    }
    if bom {
        bytes.splice(0..0, *b"\xEF\xBB\xBF");
    }
    bytes
}

/// The number of subscribers in the vault.
fn subscribers(env: &TestEnv) -> u64 {
    env.run(&["--json", "subscribers", "list", "--limit", "100000"])
        .assert_code(0)
        .json()
        .as_array()
        .map_or(0, |a| a.len() as u64)
}

fn import_properties(env: &TestEnv, case: u64, bytes: &[u8]) -> Result<(), TestCaseError> {
    let path = env.write(&format!("case-{case}.csv"), bytes);
    let before = subscribers(env);
    let run = env.run(&["--json", "subscribers", "import", path.to_str().expect("UTF-8 path")]);
    prop_assert!(!run.stderr.contains("panicked"), "the import panicked:\n{}", run.stderr);
    prop_assert!(run.code == 0 || run.code == 2, "exit code {}:\n{}", run.code, run.stderr);
    let lines = bytes.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    if run.code == 2 {
        let message = run.json()["error"]["message"].as_str().unwrap_or_default().to_string();
        // A value is never repeated; a column name is (an unknown header cell is named so the
        // file can be fixed), so the mark may come back only when it was put into the header.
        let header = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
        let mark_in_header = header.windows(MARK.len()).any(|w| w == MARK.as_bytes());
        prop_assert!(mark_in_header || !message.contains(MARK), "the error repeats a value: {}", message);
        let named = message.split("line").skip(1).find_map(|rest| {
            let digits: String = rest.trim_start_matches(['s', ' ']).chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u64>().ok()
        });
        match named {
            Some(line) => prop_assert!(line >= 1 && line <= lines, "line {} of {}: {}", line, lines, message),
            None => prop_assert!(message.contains("empty"), "the error names no line: {}", message),
        }
        prop_assert_eq!(subscribers(env), before, "a refused file changed the vault: {}", message);
    } else {
        let summary = run.json();
        let rows = summary["rows"].as_u64().unwrap_or(0);
        prop_assert!(rows < lines, "{} rows from {} lines", rows, lines);
        if rows > 0 {
            prop_assert!(subscribers(env) > before, "an accepted file added no subscriber: {}", summary);
        }
    }
    Ok(())
}

#[test]
fn edited_import_files_never_panic_and_refusals_name_a_line_and_change_nothing() {
    let env = TestEnv::new();
    env.run(&["demo", "--no-serve", "--subscribers", "1"]).assert_code(0);
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(40);
    let config = proptest::test_runner::Config { cases, max_shrink_iters: 64, ..Default::default() };
    let case = std::sync::atomic::AtomicU64::new(0);
    TestRunner::new(config)
        .run(&(1usize..5, prop::collection::vec(edit(), 0..5)), |(count, edits)| {
            let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // Fresh subscriber ids per case, so an accepted file never collides with another.
            let mut rows = vec![HEADER.map(str::to_string).to_vec()];
            rows.extend((0..count).map(|i| valid_row(&format!("F{n:05}-{i}"), i)));
            import_properties(&env, n, &file(&rows, &edits))
        })
        .unwrap_or_else(|e| panic!("{e}"));
}
