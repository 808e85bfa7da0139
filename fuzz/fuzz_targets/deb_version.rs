//! Fuzzes `DebVersion`: parsing, and the consistency of dpkg's order on up to three parsed
//! versions (the input split at newlines): antisymmetry, equality agreeing with the order,
//! transitivity, `VersionOp::holds` agreeing with `cmp`, the parts recombining into the text,
//! and `parse(to_string())` giving the same version and text back.

#![no_main]

use std::cmp::Ordering;

use build_vocab::debian::relation::VersionOp;
use build_vocab::debian::version::compare_fragments;
use deb_resolver::DebVersion;
use libfuzzer_sys::fuzz_target;

const OPS: [VersionOp; 5] = [
    VersionOp::Lt,
    VersionOp::Le,
    VersionOp::Eq,
    VersionOp::Ge,
    VersionOp::Gt,
];

fn check_one(v: &DebVersion) {
    let text = v.to_string();
    let back = DebVersion::parse(&text).expect("a version's text parses again");
    assert_eq!(back.as_str(), text);
    assert_eq!(back.cmp(v), Ordering::Equal);
    assert_eq!(v.cmp(v), Ordering::Equal);
    let mut rebuilt = String::new();
    if text.contains(':') {
        rebuilt.push_str(&text[..text.find(':').unwrap()]);
        rebuilt.push(':');
    }
    rebuilt.push_str(v.upstream());
    if !v.revision().is_empty() {
        rebuilt.push('-');
        rebuilt.push_str(v.revision());
    }
    assert_eq!(rebuilt, text, "epoch:upstream-revision recombines");
    assert_eq!(
        compare_fragments(v.upstream(), v.upstream()),
        Ordering::Equal
    );
}

fn check_pair(a: &DebVersion, b: &DebVersion) {
    let ab = a.cmp(b);
    assert_eq!(b.cmp(a), ab.reverse(), "{a} vs {b}");
    assert_eq!(a == b, ab == Ordering::Equal);
    assert_eq!(a.partial_cmp(b), Some(ab));
    for op in OPS {
        let expected = match op {
            VersionOp::Lt => ab.is_lt(),
            VersionOp::Le => ab.is_le(),
            VersionOp::Eq => ab.is_eq(),
            VersionOp::Ge => ab.is_ge(),
            VersionOp::Gt => ab.is_gt(),
        };
        assert_eq!(op.holds(a, b), expected, "{a} {op} {b}");
    }
    let fragments = compare_fragments(a.upstream(), b.upstream());
    assert_eq!(
        compare_fragments(b.upstream(), a.upstream()),
        fragments.reverse()
    );
    if a.epoch() == b.epoch() && fragments != Ordering::Equal {
        assert_eq!(ab, fragments, "{a} vs {b}: the upstream parts decide");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let versions: Vec<DebVersion> = text
        .split('\n')
        .take(3)
        .filter_map(|part| DebVersion::parse(part).ok())
        .collect();
    for v in &versions {
        check_one(v);
    }
    for a in &versions {
        for b in &versions {
            check_pair(a, b);
        }
    }
    for a in &versions {
        for b in &versions {
            for c in &versions {
                if a <= b && b <= c {
                    assert!(a <= c, "transitivity: {a} <= {b} <= {c}");
                }
            }
        }
    }
});
