//! Masks: the partial view of a value a purpose is limited to (`keep_last = 4` shows the last
//! four characters and replaces the rest with `*`), as defined on the category in the policy.

use tokutei_policy::Mask;

/// Apply `mask` to `value`, character by character. Separators are masked too, so the
/// length is the only thing the hidden part reveals.
pub fn apply(mask: &Mask, value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    let first = mask.keep_first.map_or(0, |k| k as usize).min(n);
    let last = mask.keep_last.map_or(0, |k| k as usize).min(n);
    chars.iter().enumerate().map(|(i, &c)| if i < first || i >= n - last { c } else { '*' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(keep_first: Option<u32>, keep_last: Option<u32>, value: &str, expected: &str) {
        let mask = Mask { id: "m".into(), keep_first, keep_last };
        assert_eq!(apply(&mask, value), expected, "{keep_first:?}/{keep_last:?} on {value:?}");
    }

    #[test]
    fn masks_keep_what_they_name() {
        check(None, Some(4), "4111-1111-1111-1234", "***************1234");
        check(Some(3), None, "090-1234-5678", "090**********");
        check(Some(1), Some(1), "山田太郎", "山**郎");
        check(None, Some(4), "12", "12");
        check(Some(2), Some(2), "abc", "abc");
        check(None, Some(0), "secret", "******");
        check(None, Some(4), "", "");
    }
}
