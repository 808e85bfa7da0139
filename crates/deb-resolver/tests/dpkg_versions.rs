//! `DebVersion` ordering checked against the host's `dpkg --compare-versions` on a few
//! hundred generated pairs (a fixed-seed generator, so failures are repeatable).

// These tests report measurements and explanations on stderr on purpose.
#![allow(clippy::print_stderr)]

use std::cmp::Ordering;
use std::process::Command;

use deb_resolver::DebVersion;

/// A small deterministic generator (64-bit LCG).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next() as usize % items.len()]
    }
}

/// A valid version built from the parts that make dpkg's order interesting: epochs, `~`,
/// `+`, letters, leading zeros, revisions with and without hyphens in the upstream part.
fn version(rng: &mut Lcg) -> String {
    let mut text = String::new();
    if rng.next() % 4 == 0 {
        text.push_str(rng.pick(&["0:", "1:", "2:", "10:"]));
    }
    text.push_str(rng.pick(&["0", "1", "2", "9", "10", "01", "1.0", "1.2.3", "2.41"]));
    for _ in 0..rng.next() % 4 {
        text.push_str(rng.pick(&[
            ".1", ".10", "~rc1", "~", "+dfsg", "a", "b2", "+b1", "~~", ".0", "+", "-rc2", "z9",
        ]));
    }
    if rng.next() % 3 != 0 {
        text.push('-');
        text.push_str(rng.pick(&[
            "0",
            "1",
            "1.1",
            "2",
            "10",
            "1~bpo13+1",
            "1+deb13u1",
            "0ubuntu1",
            "1build2",
            "1~",
        ]));
    }
    text
}

#[test]
fn ordering_matches_dpkg_on_generated_pairs() {
    let mut rng = Lcg(20_260_501);
    let mut pairs: Vec<(String, String)> = (0..300)
        .map(|_| (version(&mut rng), version(&mut rng)))
        .collect();
    // Pairs that differ only slightly are where orderings go wrong.
    for _ in 0..100 {
        let a = version(&mut rng);
        let b = format!("{a}{}", rng.pick(&["~", "+", "0", ".0", "a", "~a"]));
        pairs.push((a, b));
    }
    let mut mismatches = Vec::new();
    for (a, b) in &pairs {
        let ours = DebVersion::parse(a)
            .unwrap_or_else(|e| panic!("{e}"))
            .cmp(&DebVersion::parse(b).unwrap_or_else(|e| panic!("{e}")));
        let op = match ours {
            Ordering::Less => "lt",
            Ordering::Equal => "eq",
            Ordering::Greater => "gt",
        };
        let status = Command::new("dpkg")
            .args(["--compare-versions", a, op, b])
            .status()
            .expect("dpkg runs");
        if !status.success() {
            mismatches.push(format!("{a} {op} {b} according to us, not to dpkg"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    eprintln!("{} pairs agree with dpkg", pairs.len());
}
