//! Shell-style globs as mkosi matches them (Python's `fnmatch.fnmatchcase`): `*` is any run
//! of characters (`/` included), `?` one character, `[...]` one character of a class with
//! ranges (`[a-z]`), `!` after `[` negates it, `]` right after `[` or `[!` is a member, and a
//! `[` without its `]` is a literal. There is no escape character. The one matcher for
//! package-name globs (`Packages=`), `[Match]` values (`ImageId=`) and `KernelModules=`.
//!
//! Matching is linear in practice: a `*` is retried from the last star only, never
//! recursively.

/// A compiled glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    AnyOne,
    AnyRun,
    Class {
        negated: bool,
        /// Inclusive ranges; a single member is a range of one.
        ranges: Vec<(char, char)>,
    },
}

impl Glob {
    /// Compiles `pattern`; every pattern is valid.
    pub fn new(pattern: &str) -> Self {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => {
                    if tokens.last() != Some(&Token::AnyRun) {
                        tokens.push(Token::AnyRun);
                    }
                    i += 1;
                }
                '?' => {
                    tokens.push(Token::AnyOne);
                    i += 1;
                }
                '[' => match class(&chars, i + 1) {
                    Some((token, next)) => {
                        tokens.push(token);
                        i = next;
                    }
                    None => {
                        tokens.push(Token::Literal('['));
                        i += 1;
                    }
                },
                c => {
                    tokens.push(Token::Literal(c));
                    i += 1;
                }
            }
        }
        Self { tokens }
    }

    /// Whether `text` matches the whole glob.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let (mut t, mut p) = (0, 0);
        // The last `*`: the token after it, and the text position it was tried at.
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.tokens.get(p) {
                Some(Token::AnyRun) => {
                    star = Some((p + 1, t));
                    p += 1;
                }
                Some(token) if one(token, text[t]) => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((after, tried)) => {
                        // Let the star take one more character.
                        star = Some((after, tried + 1));
                        p = after;
                        t = tried + 1;
                    }
                    None => return false,
                },
            }
        }
        self.tokens[p..].iter().all(|token| *token == Token::AnyRun)
    }

    /// Whether `text` has a character that makes it a glob rather than a plain name.
    pub fn is_glob(text: &str) -> bool {
        text.contains(['*', '?', '['])
    }
}

/// Whether the single-character `token` matches `c`.
fn one(token: &Token, c: char) -> bool {
    match token {
        Token::Literal(literal) => *literal == c,
        Token::AnyOne => true,
        Token::AnyRun => false,
        Token::Class { negated, ranges } => {
            ranges.iter().any(|&(low, high)| low <= c && c <= high) != *negated
        }
    }
}

/// The class starting after a `[` at `start`, and the index after its `]`; `None` when it is
/// not closed.
fn class(chars: &[char], start: usize) -> Option<(Token, usize)> {
    let mut i = start;
    let negated = chars.get(i) == Some(&'!');
    if negated {
        i += 1;
    }
    let first = i;
    let mut ranges = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c == ']' && i > first {
            return Some((Token::Class { negated, ranges }, i + 1));
        }
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&end| end != ']') {
            let end = chars[i + 2];
            // Python drops a reversed range: it matches nothing.
            if c <= end {
                ranges.push((c, end));
            }
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    None
}

/// Whether `text` matches `pattern` (compiled once; keep a [`Glob`] to match many texts).
pub fn matches(pattern: &str, text: &str) -> bool {
    Glob::new(pattern).matches(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_fnmatch_rules() {
        let cases = [
            (
                "linux-image-*-cloud-amd64",
                "linux-image-6.12-cloud-amd64",
                true,
            ),
            ("lib*", "libc6", true),
            ("lib*", "glibc", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a[0-9]?", "a1x", true),
            ("a[!0-9]", "a1", false),
            ("a[!0-9]", "ab", true),
            ("a[^b]", "a^", true),
            ("a[^b]", "ac", false),
            ("[]]", "]", true),
            ("[!]]", "a", true),
            ("a[", "a[", true),
            ("a[b", "a[b", true),
            ("*/net/*", "kernel/drivers/net/virtio_net", true),
            ("a\\b", "a\\b", true),
            ("[z-a]", "m", false),
            ("[a-]", "-", true),
            ("**a", "bba", true),
            ("*a*b*c*", "xaxbxcx", true),
            ("*a*b*c*", "xaxcxbx", false),
            ("", "", true),
            ("", "a", false),
            ("é?", "éa", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(matches(pattern, text), expected, "{pattern:?} ~ {text:?}");
        }
    }

    #[test]
    fn many_stars_do_not_backtrack_exponentially() {
        let pattern = "*a".repeat(30) + "b";
        let text = "a".repeat(200);
        assert!(!matches(&pattern, &text));
    }
}
