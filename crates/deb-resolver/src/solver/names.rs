//! The closest package name, for "did you mean". (Globs are `build_vocab::glob`'s.)

use crate::universe::Universe;

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
