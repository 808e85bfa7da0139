//! dpkg's `path-exclude=` / `path-include=` filters, so the bootstrap's own unpacking leaves
//! out exactly what the target's dpkg will leave out.
//!
//! Semantics follow dpkg's `filters.c`: patterns are `fnmatch(3)` globs without flags (`*`
//! also matches `/`) over the absolute path; the last matching pattern decides; an excluded
//! directory (or symlink) is still kept when an include pattern's literal prefix names it, so
//! `path-include=/usr/share/doc/*/copyright` keeps the directories leading to it. Pure.

use glob::{MatchOptions, Pattern};

/// An ordered list of dpkg path filters.
#[derive(Debug, Clone, Default)]
pub struct PathFilter {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    include: bool,
    raw: String,
    pattern: Pattern,
}

const FNMATCH: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: false,
    require_literal_leading_dot: false,
};

impl PathFilter {
    /// Reads the `path-exclude`/`path-include` lines of dpkg configuration texts (the
    /// contents of `/etc/dpkg/dpkg.cfg` and then each `/etc/dpkg/dpkg.cfg.d/*` in name order,
    /// as dpkg reads them); other options are ignored. Patterns that are not valid globs are
    /// skipped, as dpkg would never match them either.
    pub fn from_dpkg_config<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut rules = Vec::new();
        for text in texts {
            for line in text.lines() {
                let line = line.trim();
                let line = line.strip_prefix("--").unwrap_or(line);
                let (option, value) = match line.split_once(['=', ' ', '\t']) {
                    Some((option, value)) => (option.trim(), value.trim()),
                    None => continue,
                };
                let include = match option {
                    "path-include" => true,
                    "path-exclude" => false,
                    _ => continue,
                };
                if let Ok(pattern) = Pattern::new(value) {
                    rules.push(Rule {
                        include,
                        raw: value.to_owned(),
                        pattern,
                    });
                }
            }
        }
        Self { rules }
    }

    /// Whether there are no rules at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether dpkg would skip the entry at `path` (absolute, e.g. `/usr/share/doc/x`);
    /// `keepable_dir` is true for directories and symlinks, which survive an exclude when an
    /// include could match something beneath them.
    pub fn skips(&self, path: &str, keepable_dir: bool) -> bool {
        let mut skip = false;
        for rule in &self.rules {
            if rule.pattern.matches_with(path, FNMATCH) {
                skip = !rule.include;
            }
        }
        if skip && keepable_dir {
            for rule in self.rules.iter().filter(|r| r.include) {
                let literal_len = rule
                    .raw
                    .find(['*', '?', '[', '\\'])
                    .unwrap_or(rule.raw.len());
                let prefix = rule.raw[..literal_len].trim_end_matches('/');
                if path.starts_with(prefix) {
                    return false;
                }
            }
        }
        skip
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLASHBOX: &str = "\
# comment
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude /usr/share/locale/*
path-include=/usr/share/locale/locale.alias
force-unsafe-io
";

    #[test]
    fn last_match_wins_and_star_crosses_slashes() {
        let filter = PathFilter::from_dpkg_config([FLASHBOX]);
        assert!(filter.skips("/usr/share/doc/bash/README", false));
        assert!(filter.skips("/usr/share/doc/bash/examples/x/y", false));
        assert!(!filter.skips("/usr/share/doc/bash/copyright", false));
        assert!(filter.skips("/usr/share/man/man1/ls.1.gz", false));
        assert!(filter.skips("/usr/share/locale/de/LC_MESSAGES/x.mo", false));
        assert!(!filter.skips("/usr/share/locale/locale.alias", false));
        assert!(!filter.skips("/usr/bin/ls", false));
        assert!(!filter.skips("/usr/share/doc", true));
    }

    #[test]
    fn directories_under_an_include_are_kept() {
        let filter = PathFilter::from_dpkg_config([FLASHBOX]);
        // `/usr/share/doc/bash` is excluded by `/usr/share/doc/*`, but the include's literal
        // prefix `/usr/share/doc` names it, so the directory stays for its copyright file.
        assert!(!filter.skips("/usr/share/doc/bash", true));
        assert!(filter.skips("/usr/share/doc/bash", false));
        assert!(filter.skips("/usr/share/man/man1", true));
    }

    #[test]
    fn no_rules_skip_nothing() {
        let filter = PathFilter::from_dpkg_config(["force-unsafe-io\n"]);
        assert!(filter.is_empty());
        assert!(!filter.skips("/usr/share/doc/x", false));
    }
}
