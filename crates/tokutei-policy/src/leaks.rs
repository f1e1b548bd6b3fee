//! Which leak incidents the policy page lists: those that occurred on or after the rule's
//! `since` date and less than `years` years ago. A published incident cannot be hidden inside
//! that window; it drops out on its own when the window ends.

use serde::{Deserialize, Serialize};

use crate::model::{Date, LeakRule, Text};

/// A leak incident as published on the policy page (from the incident register).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedLeak {
    pub id: String,
    /// When the leak occurred (発生日).
    pub occurred: Date,
    /// When it was published.
    pub published: Date,
    /// 事故内容: what happened, without personal data.
    pub summary: Text,
}

/// The last day `leak` is listed under `rule`.
pub fn listed_until(rule: &LeakRule, leak: &PublishedLeak) -> Date {
    let years = i16::try_from(rule.years).unwrap_or(i16::MAX);
    let end = leak.occurred.0.checked_add(jiff::Span::new().years(years)).unwrap_or(jiff::civil::Date::MAX);
    // Listed for `years` full years: up to the day before the anniversary.
    Date(end.yesterday().unwrap_or(end))
}

/// The leaks to list on `today`, oldest first.
pub fn listed<'a>(rule: &LeakRule, leaks: &'a [PublishedLeak], today: Date) -> Vec<&'a PublishedLeak> {
    let mut out: Vec<&PublishedLeak> = leaks
        .iter()
        .filter(|l| l.occurred >= rule.since && l.published <= today && today <= listed_until(rule, l))
        .collect();
    out.sort_by_key(|l| (l.occurred, l.id.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> LeakRule {
        LeakRule { text: Text::ja("…"), since: Date::new(2024, 1, 18).unwrap(), years: 10 }
    }

    fn leak(id: &str, occurred: Date, published: Date) -> PublishedLeak {
        PublishedLeak { id: id.into(), occurred, published, summary: Text::ja("概要") }
    }

    fn d(y: i16, m: i8, day: i8) -> Date {
        Date::new(y, m, day).unwrap()
    }

    #[test]
    fn window_starts_at_since_and_lasts_ten_years() {
        let leaks = [
            leak("before", d(2024, 1, 17), d(2024, 2, 1)),
            leak("first-day", d(2024, 1, 18), d(2024, 2, 1)),
            leak("later", d(2025, 6, 1), d(2025, 6, 10)),
        ];
        let ids = |today| listed(&rule(), &leaks, today).iter().map(|l| l.id.as_str()).collect::<Vec<_>>();
        assert_eq!(ids(d(2024, 1, 31)), Vec::<&str>::new(), "not yet published");
        assert_eq!(ids(d(2025, 6, 10)), ["first-day", "later"]);
        assert_eq!(ids(d(2034, 1, 17)), ["first-day", "later"], "last day of the 10 years");
        assert_eq!(ids(d(2034, 1, 18)), ["later"], "drops out on the anniversary");
        assert_eq!(ids(d(2035, 6, 1)), Vec::<&str>::new());
    }
}
