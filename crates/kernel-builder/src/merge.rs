//! Merging config fragments over a base configuration, as the kernel's
//! `scripts/kconfig/merge_config.sh` does, and reporting what `make olddefconfig` dropped.
//!
//! Fragments apply in the order given; a later fragment's value of a symbol wins, and each such
//! redefinition is recorded (merge_config.sh prints the same as a warning). Two fragments with
//! the same file name are an error: it almost always means a copied fragment that silently
//! shadows another. After `olddefconfig`, [`unmet_requests`] lists every symbol whose final value
//! differs from what the fragments asked for: unknown symbols, unmet dependencies, choices.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::KernelError;
use crate::kconfig::{self, KernelConfig, Value};

/// A fragment to merge: its file name (for messages and the duplicate check) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// The file name, e.g. `00-no-modules.config`.
    pub name: String,
    /// The contents.
    pub text: String,
}

/// What one fragment asked for one symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The requested value.
    pub value: Value,
    /// The fragment that asked (the last one, when several did).
    pub fragment: String,
    /// Its line.
    pub line: usize,
}

/// A symbol that a later fragment set to another value than an earlier one (or the base).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redefinition {
    /// The symbol without `CONFIG_`.
    pub symbol: String,
    /// The value before this fragment.
    pub previous: Value,
    /// The value this fragment set.
    pub new: Value,
    /// The fragment that set it.
    pub fragment: String,
}

/// The merged configuration and how it came about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// The base with every fragment applied: the input of `make olddefconfig`.
    pub config: KernelConfig,
    /// Every symbol a fragment set, with the winning request.
    pub requests: BTreeMap<String, Request>,
    /// Values that fragments changed, in merge order.
    pub redefinitions: Vec<Redefinition>,
}

/// Merges `fragments` over `base` in order (later wins).
pub fn merge(base: &KernelConfig, fragments: &[Fragment]) -> Result<Merged, KernelError> {
    let mut seen_names = BTreeSet::new();
    let mut config = base.clone();
    let mut requests = BTreeMap::new();
    let mut redefinitions = Vec::new();
    for fragment in fragments {
        if !seen_names.insert(fragment.name.as_str()) {
            return Err(KernelError::DuplicateFragment {
                name: fragment.name.clone(),
            });
        }
        for setting in kconfig::parse(&fragment.name, &fragment.text)? {
            let previous = config.value(&setting.symbol).clone();
            let explicitly_present = config.symbols.contains_key(&setting.symbol);
            if explicitly_present && previous != setting.value {
                redefinitions.push(Redefinition {
                    symbol: setting.symbol.clone(),
                    previous,
                    new: setting.value.clone(),
                    fragment: fragment.name.clone(),
                });
            }
            config
                .symbols
                .insert(setting.symbol.clone(), setting.value.clone());
            requests.insert(
                setting.symbol,
                Request {
                    value: setting.value,
                    fragment: fragment.name.clone(),
                    line: setting.line,
                },
            );
        }
    }
    Ok(Merged {
        config,
        requests,
        redefinitions,
    })
}

/// A requested symbol whose final value is not the requested one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmetRequest {
    /// The symbol without `CONFIG_`.
    pub symbol: String,
    /// What the fragment asked for, and where.
    pub request: Request,
    /// What `olddefconfig` left (`n` when the symbol is absent: unknown or hidden).
    pub actual: Value,
}

impl std::fmt::Display for UnmetRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CONFIG_{}={} requested by {}:{}, final value is {}",
            self.symbol, self.request.value, self.request.fragment, self.request.line, self.actual
        )
    }
}

/// Every request that the final configuration does not honour, sorted by symbol.
pub fn unmet_requests(merged: &Merged, final_config: &KernelConfig) -> Vec<UnmetRequest> {
    merged
        .requests
        .iter()
        .filter_map(|(symbol, request)| {
            let actual = final_config.value(symbol);
            (actual != &request.value).then(|| UnmetRequest {
                symbol: symbol.clone(),
                request: request.clone(),
                actual: actual.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fragment(name: &str, text: &str) -> Fragment {
        Fragment {
            name: name.to_owned(),
            text: text.to_owned(),
        }
    }

    #[test]
    fn later_fragments_win_and_redefinitions_are_recorded() {
        let base = KernelConfig::parse("base", "CONFIG_MODULES=y\nCONFIG_IPV6=y\nCONFIG_HZ=250\n")
            .unwrap();
        let merged = merge(
            &base,
            &[
                fragment("00-no-modules.config", "# CONFIG_MODULES is not set\n"),
                fragment("01-net.config", "CONFIG_TCP_CONG_BBR=y\nCONFIG_IPV6=y\n"),
                fragment("10-bob.config", "CONFIG_IPV6=n\nCONFIG_TCP_CONG_BBR=y\n"),
            ],
        )
        .unwrap();
        assert_eq!(merged.config.value("MODULES"), &Value::No);
        assert_eq!(merged.config.value("IPV6"), &Value::No);
        assert_eq!(merged.config.value("HZ"), &Value::Literal("250".into()));
        assert_eq!(merged.requests["IPV6"].fragment, "10-bob.config");
        let redefined: Vec<_> = merged
            .redefinitions
            .iter()
            .map(|r| (r.symbol.as_str(), r.fragment.as_str()))
            .collect();
        // IPV6=y in 01-net equals the base (no redefinition); BBR=y twice is no change.
        assert_eq!(
            redefined,
            [
                ("MODULES", "00-no-modules.config"),
                ("IPV6", "10-bob.config")
            ]
        );
    }

    #[test]
    fn a_repeated_fragment_name_is_an_error() {
        let err = merge(
            &KernelConfig::default(),
            &[
                fragment("10-bob.config", ""),
                fragment("10-bob.config", "CONFIG_A=y\n"),
            ],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "config fragment `10-bob.config` is given twice (fragment names must be unique)"
        );
    }

    #[test]
    fn unmet_requests_compare_final_values_with_not_set_equal_to_n() {
        let merged = merge(
            &KernelConfig::default(),
            &[fragment(
                "f.config",
                "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=n\nCONFIG_GONE=y\nCONFIG_D=m\n",
            )],
        )
        .unwrap();
        let final_config =
            KernelConfig::parse("final", "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_D=y\n")
                .unwrap();
        let unmet: Vec<String> = unmet_requests(&merged, &final_config)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            unmet,
            [
                "CONFIG_D=m requested by f.config:5, final value is y",
                "CONFIG_GONE=y requested by f.config:4, final value is n",
            ]
        );
    }
}
