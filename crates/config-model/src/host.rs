//! Facts about the build host that configuration may depend on.
//!
//! They are an explicit input of loading (so tests and reproducible builds can fix them);
//! [`Host::detect`] is the one place that reads them from the running system.

use std::collections::BTreeMap;
use std::process::Command;

use crate::value::{Architecture, Distribution};

/// What `[Match]` falls back to and what `Environment=NAME` passes through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Host {
    /// The host's distribution (os-release `ID`), if mkosi knows it.
    pub distribution: Option<Distribution>,
    /// The host's release (os-release `VERSION_CODENAME`, else `VERSION_ID`).
    pub release: Option<String>,
    /// The host's CPU architecture.
    pub architecture: Option<Architecture>,
    /// The host's systemd version (`systemctl --version`), for `SystemdVersion=`.
    pub systemd_version: Option<String>,
    /// The invoking environment.
    pub environment: BTreeMap<String, String>,
}

impl Host {
    /// Reads the facts from the running system: `/etc/os-release`, the compiled-for
    /// architecture, `systemctl --version` and the process environment.
    pub fn detect() -> Self {
        let os_release = std::fs::read_to_string("/etc/os-release")
            .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
            .unwrap_or_default();
        let field = |name: &str| {
            os_release.lines().find_map(|line| {
                let value = line.strip_prefix(name)?.strip_prefix('=')?;
                Some(value.trim_matches(['"', '\'']).to_owned())
            })
        };
        let systemd_version = Command::new("systemctl")
            .arg("--version")
            .output()
            .ok()
            .and_then(|out| {
                let text = String::from_utf8(out.stdout).ok()?;
                let first = text.lines().next()?;
                first.split_whitespace().nth(1).map(str::to_owned)
            });
        Self {
            distribution: field("ID").and_then(|id| id.parse().ok()),
            release: field("VERSION_CODENAME").or_else(|| field("VERSION_ID")),
            architecture: Architecture::from_uname(std::env::consts::ARCH),
            systemd_version,
            environment: std::env::vars().collect(),
        }
    }
}
