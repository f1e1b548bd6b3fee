//! Reading columns: driver values to domain values. A value that does not decode (a date
//! that is not a date, a negative count) is [`StoreError::Corrupt`], naming the column.

use jiff::Timestamp;
use postgres::Row;
use postgres::types::FromSql;
use tokutei_policy::Date;
use tokutei_store::{StoreError, StoreResult};

use crate::db::backend;

/// Column `idx` as `T`; a type mismatch is a backend error (the schema is not ours).
pub(crate) fn get<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> StoreResult<T> {
    row.try_get(idx).map_err(backend)
}

pub(crate) fn corrupt(row: &Row, idx: usize, message: impl std::fmt::Display) -> StoreError {
    let column = row.columns().get(idx).map_or("?", |c| c.name());
    StoreError::Corrupt(format!("column `{column}`: {message}"))
}

pub(crate) fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub(crate) fn timestamp(row: &Row, idx: usize) -> StoreResult<Timestamp> {
    let us: i64 = get(row, idx)?;
    Timestamp::from_microsecond(us).map_err(|e| corrupt(row, idx, e))
}

pub(crate) fn timestamp_opt(row: &Row, idx: usize) -> StoreResult<Option<Timestamp>> {
    let us: Option<i64> = get(row, idx)?;
    us.map(|us| Timestamp::from_microsecond(us).map_err(|e| corrupt(row, idx, e))).transpose()
}

pub(crate) fn date(row: &Row, idx: usize) -> StoreResult<Date> {
    let text: &str = get(row, idx)?;
    text.parse::<Date>().map_err(|e| corrupt(row, idx, e))
}

pub(crate) fn date_opt(row: &Row, idx: usize) -> StoreResult<Option<Date>> {
    let text: Option<&str> = get(row, idx)?;
    text.map(|t| t.parse::<Date>().map_err(|e| corrupt(row, idx, e))).transpose()
}

pub(crate) fn u32_col(row: &Row, idx: usize) -> StoreResult<u32> {
    let n: i64 = get(row, idx)?;
    u32::try_from(n).map_err(|_| corrupt(row, idx, format!("{n} is out of range")))
}

pub(crate) fn u64_col(row: &Row, idx: usize) -> StoreResult<u64> {
    let n: i64 = get(row, idx)?;
    u64::try_from(n).map_err(|_| corrupt(row, idx, format!("{n} is out of range")))
}

pub(crate) fn u64_opt(row: &Row, idx: usize) -> StoreResult<Option<u64>> {
    let n: Option<i64> = get(row, idx)?;
    n.map(|n| u64::try_from(n).map_err(|_| corrupt(row, idx, format!("{n} is out of range")))).transpose()
}

/// A count or id the domain holds as `u64`, as a BIGINT parameter.
pub(crate) fn bigint(n: u64) -> StoreResult<i64> {
    i64::try_from(n).map_err(|_| StoreError::Conflict(format!("{n} is out of range")))
}

/// A `LIMIT` parameter.
pub(crate) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
