//! Version comparison as the UAPI "Version Format Specification" defines it (what systemd's
//! `strverscmp_improved` and `systemd-analyze compare-versions` implement), used by the
//! `ImageVersion=` and `SystemdVersion=` matchers for `<`, `<=`, `==`, `!=`, `>=`, `>`.

use std::cmp::Ordering;

/// A comparison operator prefix of a match value, e.g. the `>=` of `ImageVersion=>=1.2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `==` (also the default without an operator).
    Equal,
    /// `!=`.
    NotEqual,
    /// `<`.
    Less,
    /// `<=`.
    LessOrEqual,
    /// `>`.
    Greater,
    /// `>=`.
    GreaterOrEqual,
}

impl Comparison {
    /// Splits an optional operator off the front of `raw`.
    pub fn split(raw: &str) -> (Self, &str) {
        for (prefix, op) in [
            ("==", Self::Equal),
            ("!=", Self::NotEqual),
            ("<=", Self::LessOrEqual),
            (">=", Self::GreaterOrEqual),
            ("<", Self::Less),
            (">", Self::Greater),
        ] {
            if let Some(rest) = raw.strip_prefix(prefix) {
                return (op, rest.trim());
            }
        }
        (Self::Equal, raw.trim())
    }

    /// Whether `left OP right` holds.
    pub fn holds(self, left: &str, right: &str) -> bool {
        let ordering = compare_versions(left, right);
        match self {
            Self::Equal => ordering == Ordering::Equal,
            Self::NotEqual => ordering != Ordering::Equal,
            Self::Less => ordering == Ordering::Less,
            Self::LessOrEqual => ordering != Ordering::Greater,
            Self::Greater => ordering == Ordering::Greater,
            Self::GreaterOrEqual => ordering != Ordering::Less,
        }
    }
}

/// Orders two version strings by the UAPI rules, step by step as systemd does in each round:
/// skip characters that are not alphanumeric or `~-^.`; a `~` sorts before anything (even the
/// end); then if either string ended, the longer one is newer; then `-`, `^` and `.` each sort
/// before anything else; then a digit run beats a letter run, digit runs compare numerically
/// and letter runs alphabetically.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    let is_significant = |c: &u8| c.is_ascii_alphanumeric() || b"~-^.".contains(c);
    loop {
        a = trim_start_while(a, |c| !is_significant(c));
        b = trim_start_while(b, |c| !is_significant(c));
        if let Some(ordering) = consume_shared(&mut a, &mut b, b'~') {
            return ordering;
        }
        if a.is_empty() || b.is_empty() {
            return a.cmp(b);
        }
        for separator in [b'-', b'^', b'.'] {
            if let Some(ordering) = consume_shared(&mut a, &mut b, separator) {
                return ordering;
            }
        }
        let a_digit = a.first().is_some_and(u8::is_ascii_digit);
        let b_digit = b.first().is_some_and(u8::is_ascii_digit);
        let ordering = if a_digit || b_digit {
            if a_digit != b_digit {
                return a_digit.cmp(&b_digit);
            }
            let (run_a, rest_a) = split_run(a, u8::is_ascii_digit);
            let (run_b, rest_b) = split_run(b, u8::is_ascii_digit);
            (a, b) = (rest_a, rest_b);
            let run_a = trim_start_while(run_a, |c| *c == b'0');
            let run_b = trim_start_while(run_b, |c| *c == b'0');
            run_a.len().cmp(&run_b.len()).then(run_a.cmp(run_b))
        } else {
            let (run_a, rest_a) = split_run(a, u8::is_ascii_alphabetic);
            let (run_b, rest_b) = split_run(b, u8::is_ascii_alphabetic);
            (a, b) = (rest_a, rest_b);
            run_a.cmp(run_b)
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
}

/// If either string starts with `separator`: the one that does is older, unless both do, in
/// which case both lose it and the comparison goes on (`None`).
fn consume_shared(a: &mut &[u8], b: &mut &[u8], separator: u8) -> Option<Ordering> {
    let a_has = a.first() == Some(&separator);
    let b_has = b.first() == Some(&separator);
    if a_has != b_has {
        return Some(if a_has {
            Ordering::Less
        } else {
            Ordering::Greater
        });
    }
    if a_has {
        *a = &a[1..];
        *b = &b[1..];
    }
    None
}

fn trim_start_while(s: &[u8], pred: impl Fn(&u8) -> bool) -> &[u8] {
    let start = s.iter().position(|c| !pred(c)).unwrap_or(s.len());
    &s[start..]
}

fn split_run(s: &[u8], pred: impl Fn(&u8) -> bool) -> (&[u8], &[u8]) {
    let end = s.iter().position(|c| !pred(c)).unwrap_or(s.len());
    s.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    const PAIRS: &[(&str, &str)] = &[
        ("1", "1"),
        ("1.0", "1"),
        ("1.2", "1.10"),
        ("1.2~rc1", "1.2"),
        ("1.2-rc1", "1.2"),
        ("1.2^git3", "1.2"),
        ("1.2^git3", "1.2.1"),
        ("1.2a", "1.2"),
        ("1.2a", "1.2.0"),
        ("a", "1"),
        ("abc", "abd"),
        ("007", "7"),
        ("255.4-1", "255.10"),
        ("1_2", "1.2"),
        ("1..2", "1.2"),
        ("~", ""),
        ("", "-"),
        ("v252", "252"),
        ("2026.11", "2026.9.30"),
        ("1.2.3~~", "1.2.3~"),
    ];

    #[test]
    fn operators() {
        assert_eq!(
            Comparison::split(">=1.2"),
            (Comparison::GreaterOrEqual, "1.2")
        );
        assert_eq!(Comparison::split("1.2"), (Comparison::Equal, "1.2"));
        assert!(Comparison::split(">=1.2").0.holds("1.10", "1.2"));
        assert!(Comparison::split("<2").0.holds("1.99", "2"));
        assert!(!Comparison::split("!=1.0").0.holds("1.0", "1.0"));
    }

    /// A few hundred version strings built from the pieces the rules treat specially.
    fn generated_pairs() -> Vec<(String, String)> {
        const PIECES: &[&str] = &[
            "1", "01", "2", "10", ".", "-", "~", "^", "a", "rc", "_", "b3",
        ];
        // A small linear congruential generator: deterministic, no dependency.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |bound: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            usize::try_from(state >> 33).unwrap() % bound
        };
        let mut version = || -> String {
            (0..1 + next(5))
                .map(|_| PIECES[next(PIECES.len())])
                .collect()
        };
        (0..300).map(|_| (version(), version())).collect()
    }

    #[test]
    fn agrees_with_systemd_analyze_compare_versions() {
        let pairs = PAIRS
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .chain(generated_pairs());
        for (a, b) in pairs {
            let out = Command::new("systemd-analyze")
                .args(["compare-versions", "--", &a, &b])
                .output()
                .expect("systemd-analyze (Debian package systemd) runs");
            // It prints "A < B", "A == B" or "A > B".
            let text = String::from_utf8(out.stdout).unwrap();
            let expected = if text.contains(" < ") {
                Ordering::Less
            } else if text.contains(" > ") {
                Ordering::Greater
            } else {
                assert!(text.contains(" == "), "unexpected output {text:?}");
                Ordering::Equal
            };
            assert_eq!(compare_versions(&a, &b), expected, "{a:?} vs {b:?}");
        }
    }
}
