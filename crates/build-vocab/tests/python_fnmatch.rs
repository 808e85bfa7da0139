//! The glob matcher against the one it follows: Python's `fnmatch.fnmatchcase` (mkosi's), run
//! by the host's `python3` on generated patterns and names over the characters that matter.

use std::io::Write;
use std::process::{Command, Stdio};

use build_vocab::glob::Glob;

/// A small deterministic generator (an LCG), so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn string(&mut self, alphabet: &[char], max: u64) -> String {
        let len = self.next() % (max + 1);
        (0..len)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize])
            .collect()
    }
}

#[test]
fn agrees_with_python_fnmatchcase_on_generated_pairs() {
    let mut rng = Lcg(20_261_206);
    let pattern_chars: Vec<char> = "ab-z[]!^*?".chars().collect();
    let text_chars: Vec<char> = "abz-[]!^".chars().collect();
    let pairs: Vec<(String, String)> = (0..4000)
        .map(|_| (rng.string(&pattern_chars, 7), rng.string(&text_chars, 6)))
        .collect();
    let mut input = String::new();
    for (pattern, text) in &pairs {
        input.push_str(pattern);
        input.push('\t');
        input.push_str(text);
        input.push('\n');
    }
    let script = "import sys\nfrom fnmatch import fnmatchcase\nfor line in sys.stdin.read().split('\\n')[:-1]:\n    p, t = line.split('\\t')\n    print(1 if fnmatchcase(t, p) else 0)\n";
    let mut python = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs (Debian package python3; cargo xtask test installs it)");
    python
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = python.wait_with_output().unwrap();
    assert!(output.status.success(), "python3 failed");
    let verdicts: Vec<bool> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| line == "1")
        .collect();
    assert_eq!(verdicts.len(), pairs.len());
    let mismatches: Vec<String> = pairs
        .iter()
        .zip(&verdicts)
        .filter(|((pattern, text), python)| Glob::new(pattern).matches(text) != **python)
        .map(|((pattern, text), python)| format!("{pattern:?} ~ {text:?}: python says {python}"))
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} of {} pairs differ from Python:\n{}",
        mismatches.len(),
        pairs.len(),
        mismatches.join("\n")
    );
    let matched = verdicts.iter().filter(|&&v| v).count();
    assert!(
        matched > 100,
        "the generated pairs must match sometimes ({matched})"
    );
}
