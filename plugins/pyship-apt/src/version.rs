//! Debian version ordering (Policy 5.6.12): epoch, then upstream version and revision, each
//! compared as alternating runs of non-digits (`~` before everything, letters before other
//! characters) and numbers.

use std::cmp::Ordering;

/// Compares two Debian versions as dpkg does.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (epoch_a, rest_a) = split_epoch(a);
    let (epoch_b, rest_b) = split_epoch(b);
    epoch_a.cmp(&epoch_b).then_with(|| {
        let (upstream_a, revision_a) = rest_a.rsplit_once('-').unwrap_or((rest_a, "0"));
        let (upstream_b, revision_b) = rest_b.rsplit_once('-').unwrap_or((rest_b, "0"));
        part(upstream_a, upstream_b).then_with(|| part(revision_a, revision_b))
    })
}

fn split_epoch(version: &str) -> (u64, &str) {
    match version.split_once(':') {
        Some((epoch, rest)) => (epoch.parse().unwrap_or(0), rest),
        None => (0, version),
    }
}

/// The weight of a character in a non-digit run: `~` lowest, then the end of the run, then
/// letters, then everything else.
fn weight(c: Option<u8>) -> i32 {
    match c {
        Some(b'~') => -1,
        None => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

fn part(mut a: &str, mut b: &str) -> Ordering {
    while !a.is_empty() || !b.is_empty() {
        let text_a = a.len() - a.trim_start_matches(|c: char| !c.is_ascii_digit()).len();
        let text_b = b.len() - b.trim_start_matches(|c: char| !c.is_ascii_digit()).len();
        let (run_a, run_b) = (&a.as_bytes()[..text_a], &b.as_bytes()[..text_b]);
        for index in 0..run_a.len().max(run_b.len()) {
            let order = weight(run_a.get(index).copied()).cmp(&weight(run_b.get(index).copied()));
            if order != Ordering::Equal {
                return order;
            }
        }
        a = &a[text_a..];
        b = &b[text_b..];
        let digits_a = a.len() - a.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let digits_b = b.len() - b.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let number = |digits: &str| digits.trim_start_matches('0').to_string();
        let (number_a, number_b) = (number(&a[..digits_a]), number(&b[..digits_b]));
        let order = number_a
            .len()
            .cmp(&number_b.len())
            .then_with(|| number_a.cmp(&number_b));
        if order != Ordering::Equal {
            return order;
        }
        a = &a[digits_a..];
        b = &b[digits_b..];
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_as_dpkg_orders_them() {
        let ordered = [
            "0.9-1",
            "1.0~rc1-1",
            "1.0-1",
            "1.0-1+b1",
            "1.0-2",
            "1.0a-1",
            "1.0.1-1",
            "1.10-1",
            "1:0.1-1",
        ];
        for pair in ordered.windows(2) {
            assert_eq!(compare(pair[0], pair[1]), Ordering::Less, "{pair:?}");
            assert_eq!(compare(pair[1], pair[0]), Ordering::Greater, "{pair:?}");
        }
        assert_eq!(compare("1.0-1", "1.00-1"), Ordering::Equal);
    }
}
