//! Package-name matching: shell globs, and the closest name for "did you mean".

use crate::universe::Universe;

/// A shell-style glob over package names: `*`, `?` and `[...]` classes.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some(b'*') => (0..=n.len()).any(|skip| go(&p[1..], &n[skip..])),
            Some(b'?') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some(b'[') => {
                let Some(close) = p.iter().position(|&b| b == b']') else {
                    return n.first() == Some(&b'[') && go(&p[1..], &n[1..]);
                };
                let class = &p[1..close];
                let (negated, class) = match class.first() {
                    Some(b'!' | b'^') => (true, &class[1..]),
                    _ => (false, class),
                };
                let Some(&c) = n.first() else { return false };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == b'-' {
                        hit |= class[i] <= c && c <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == c;
                        i += 1;
                    }
                }
                hit != negated && go(&p[close + 1..], &n[1..])
            }
            Some(&literal) => n.first() == Some(&literal) && go(&p[1..], &n[1..]),
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// The known real package name closest to a misspelt one (edit distance at most 3).
pub(super) fn closest_name(universe: &Universe, wanted: &str) -> Option<String> {
    let mut best: Option<(usize, &str)> = None;
    for (id, name) in universe.names() {
        if universe.packages_named(id).is_empty() || name.len().abs_diff(wanted.len()) > 3 {
            continue;
        }
        let distance = edit_distance(wanted, name);
        if distance <= 3 && best.is_none_or(|(d, n)| (distance, name) < (d, n)) {
            best = Some((distance, name));
        }
    }
    best.map(|(_, name)| name.to_owned())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}
