//! Where packages come from: [`ArchiveSpec`], built from the configuration and explicit
//! [`ArchiveOptions`], and the host's apt sources read as data.
//!
//! The mirror is `Mirror=` if set, else the one the host's apt configuration names
//! ([`mirror_from_apt_sources`] reads the files' text; the caller reads the files). With
//! `Snapshot=`, the archive URL is the caller's template with `{snapshot}` replaced, and
//! `Valid-Until` is not applied (a snapshot is old on purpose). The suites are the release,
//! `<release>-updates` and `<release>-backports` (the latter two skipped when the archive has
//! none), plus `<release>-security` when the caller names a security archive. Components are
//! `main` plus `Repositories=`; architectures the image's and `all`.

use std::path::PathBuf;

use config_model::{Distribution, ImageConfig};

use crate::error::Error;
use build_vocab::debian::deb822::paragraphs;

/// The default trusted keyring.
pub const DEBIAN_ARCHIVE_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// Inputs of [`ArchiveSpec::from_config`] that do not come from the image configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveOptions {
    /// The mirror of the host's apt configuration, used when `Mirror=` is not set (see
    /// `fetch::host_apt_mirror`).
    pub host_mirror: Option<String>,
    /// How a `Snapshot=` id becomes an archive URL: a URL with `{snapshot}` in it.
    pub snapshot_url_template: Option<String>,
    /// A security archive (`<release>-security` is read from it) or `None` to skip security.
    pub security_mirror: Option<String>,
    /// The OpenPGP keyring signatures are checked against.
    pub keyring: PathBuf,
}

impl Default for ArchiveOptions {
    fn default() -> Self {
        Self {
            host_mirror: None,
            snapshot_url_template: None,
            security_mirror: None,
            keyring: PathBuf::from(DEBIAN_ARCHIVE_KEYRING),
        }
    }
}

/// The role of a suite, which decides whether it may be missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SuiteKind {
    /// The release itself (`trixie`): must exist.
    Release,
    /// `<release>-updates`: optional.
    Updates,
    /// `<release>-security`: read only when configured.
    Security,
    /// `<release>-backports`: optional, used only for pinned packages (default pin 100).
    Backports,
}

/// One suite and the archive URL it is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteSource {
    /// The suite name (`trixie-updates`).
    pub suite: String,
    /// The archive root, ending in `/` (`<mirror>/debian/`).
    pub base_url: String,
    /// Its role.
    pub kind: SuiteKind,
}

impl SuiteSource {
    /// Whether a missing `InRelease` for this suite is an error.
    pub fn required(&self) -> bool {
        matches!(self.kind, SuiteKind::Release | SuiteKind::Security)
    }

    /// The URL of a file in the suite's directory (`InRelease`, `main/binary-amd64/...`).
    pub fn dist_url(&self, path: &str) -> String {
        format!("{}dists/{}/{}", self.base_url, self.suite, path)
    }
}

/// Everything needed to read the indexes of one image's archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveSpec {
    /// The release codename (`trixie`).
    pub release: String,
    /// Debian's name of the image architecture (`amd64`).
    pub architecture: String,
    /// Components, `main` first.
    pub components: Vec<String>,
    /// Suites in priority-then-name order.
    pub suites: Vec<SuiteSource>,
    /// `false` only when the configuration says `RepositoryKeyCheck=no`.
    pub check_signatures: bool,
    /// The trusted keyring.
    pub keyring: PathBuf,
    /// The snapshot id, when reading a snapshot (then `Valid-Until` is not applied).
    pub snapshot: Option<String>,
}

impl ArchiveSpec {
    /// Builds the spec of a configuration.
    pub fn from_config(config: &ImageConfig, options: &ArchiveOptions) -> Result<Self, Error> {
        let settings = &config.distribution;
        match settings.distribution {
            None | Some(Distribution::Debian) => {}
            Some(other) => {
                return Err(Error::Config(format!(
                    "Distribution={other}: only Debian archives are supported"
                )));
            }
        }
        let release = settings
            .release
            .clone()
            .ok_or_else(|| Error::Config("Release= is not set".into()))?;
        let architecture = settings
            .architecture
            .ok_or_else(|| Error::Config("Architecture= is not set".into()))?;
        let architecture = architecture
            .debian_name()
            .ok_or_else(|| {
                Error::Config(format!("Architecture={architecture} has no Debian port"))
            })?
            .to_owned();
        let base_url = match &settings.snapshot {
            Some(snapshot) => {
                let template = options.snapshot_url_template.as_ref().ok_or_else(|| {
                    Error::SnapshotWithoutTemplate {
                        snapshot: snapshot.clone(),
                    }
                })?;
                if !template.contains("{snapshot}") {
                    return Err(Error::Config(format!(
                        "snapshot URL template `{template}` has no `{{snapshot}}`"
                    )));
                }
                template.replace("{snapshot}", snapshot)
            }
            None => settings
                .mirror
                .clone()
                .or_else(|| options.host_mirror.clone())
                .ok_or(Error::NoMirror)?,
        };
        let base_url = with_slash(&base_url);
        let mut suites = vec![
            SuiteSource {
                suite: release.clone(),
                base_url: base_url.clone(),
                kind: SuiteKind::Release,
            },
            SuiteSource {
                suite: format!("{release}-updates"),
                base_url: base_url.clone(),
                kind: SuiteKind::Updates,
            },
        ];
        if let Some(security) = &options.security_mirror {
            suites.push(SuiteSource {
                suite: format!("{release}-security"),
                base_url: with_slash(security),
                kind: SuiteKind::Security,
            });
        }
        suites.push(SuiteSource {
            suite: format!("{release}-backports"),
            base_url,
            kind: SuiteKind::Backports,
        });
        if matches!(release.as_str(), "sid" | "unstable") {
            suites.retain(|suite| suite.kind == SuiteKind::Release);
        }
        let mut components = vec!["main".to_owned()];
        for component in &settings.repositories {
            if !components.contains(component) {
                components.push(component.clone());
            }
        }
        Ok(Self {
            release,
            architecture,
            components,
            suites,
            check_signatures: settings.repository_key_check != Some(false),
            keyring: options.keyring.clone(),
            snapshot: settings.snapshot.clone(),
        })
    }

    /// The archive root a suite is read from.
    pub fn base_url_of(&self, suite: &str) -> Option<&str> {
        self.suites
            .iter()
            .find(|source| source.suite == suite)
            .map(|source| source.base_url.as_str())
    }
}

fn with_slash(url: &str) -> String {
    let url = url.trim();
    if url.ends_with('/') {
        url.to_owned()
    } else {
        format!("{url}/")
    }
}

/// The first Debian archive named by apt sources, given as `(file name, text)` in the order
/// apt reads them (`sources.list`, then `sources.list.d/*` by name). `.list` files use
/// one-line `deb [options] uri suite components` entries, `.sources` files deb822. Entries
/// that are disabled, source-only, not http(s)/file, or only for `-security` suites are
/// skipped.
pub fn mirror_from_apt_sources(files: &[(String, String)]) -> Option<String> {
    let usable = |uri: &str, suites: &[&str]| {
        let scheme_ok = ["http://", "https://", "file:"]
            .iter()
            .any(|scheme| uri.starts_with(scheme));
        let only_security =
            !suites.is_empty() && suites.iter().all(|suite| suite.ends_with("-security"));
        scheme_ok && !only_security
    };
    for (name, text) in files {
        if name.ends_with(".sources") {
            for paragraph in paragraphs(text).filter_map(Result::ok) {
                let types = paragraph.get("Types").unwrap_or_default();
                let enabled = paragraph
                    .get("Enabled")
                    .is_none_or(|v| !v.trim().eq_ignore_ascii_case("no"));
                if !enabled || !types.split_whitespace().any(|t| t == "deb") {
                    continue;
                }
                let suites: Vec<&str> = paragraph
                    .get("Suites")
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect();
                let uris = paragraph.get("URIs").unwrap_or_default();
                if let Some(uri) = uris.split_whitespace().find(|uri| usable(uri, &suites)) {
                    return Some(uri.to_owned());
                }
            }
        } else if name.ends_with(".list") {
            for line in text.lines() {
                let line = line.split('#').next().unwrap_or_default();
                let mut words = line.split_whitespace().peekable();
                if words.next() != Some("deb") {
                    continue;
                }
                if words.peek().is_some_and(|w| w.starts_with('[')) {
                    for word in words.by_ref() {
                        if word.ends_with(']') {
                            break;
                        }
                    }
                }
                let Some(uri) = words.next() else { continue };
                let suites: Vec<&str> = words.next().into_iter().collect();
                if usable(uri, &suites) {
                    return Some(uri.to_owned());
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use config_model::{Architecture, PackageSpec};

    use super::*;

    const MIRROR: &str = "http://mirror.invalid/debian";

    fn config() -> ImageConfig {
        let mut config = ImageConfig::default();
        config.distribution.distribution = Some(Distribution::Debian);
        config.distribution.release = Some("trixie".into());
        config.distribution.architecture = Some(Architecture::X86_64);
        config.content.packages = vec!["bash".parse::<PackageSpec>().unwrap()];
        config
    }

    #[test]
    fn suites_components_and_mirror_precedence() {
        let mut config = config();
        config.distribution.repositories = vec!["contrib".into(), "main".into()];
        let options = ArchiveOptions {
            host_mirror: Some(MIRROR.into()),
            ..ArchiveOptions::default()
        };
        let spec = ArchiveSpec::from_config(&config, &options).unwrap();
        assert_eq!(spec.architecture, "amd64");
        assert_eq!(spec.components, ["main", "contrib"]);
        let suites: Vec<_> = spec.suites.iter().map(|s| s.suite.as_str()).collect();
        assert_eq!(suites, ["trixie", "trixie-updates", "trixie-backports"]);
        assert_eq!(
            spec.suites[0].dist_url("InRelease"),
            format!("{MIRROR}/dists/trixie/InRelease")
        );
        assert!(spec.check_signatures);

        config.distribution.mirror = Some("http://other.invalid/debian/".into());
        let spec = ArchiveSpec::from_config(&config, &options).unwrap();
        assert_eq!(spec.suites[0].base_url, "http://other.invalid/debian/");

        config.distribution.mirror = None;
        assert!(matches!(
            ArchiveSpec::from_config(&config, &ArchiveOptions::default()),
            Err(Error::NoMirror)
        ));
    }

    #[test]
    fn snapshots_need_a_template() {
        let mut config = config();
        config.distribution.snapshot = Some("20260501T000000Z".into());
        let err = ArchiveSpec::from_config(&config, &ArchiveOptions::default()).unwrap_err();
        assert!(
            matches!(err, Error::SnapshotWithoutTemplate { .. }),
            "{err}"
        );
        let options = ArchiveOptions {
            snapshot_url_template: Some("http://snapshots.invalid/debian/{snapshot}".into()),
            security_mirror: Some("http://security.invalid/debian-security".into()),
            ..ArchiveOptions::default()
        };
        let spec = ArchiveSpec::from_config(&config, &options).unwrap();
        assert_eq!(
            spec.suites[0].base_url,
            "http://snapshots.invalid/debian/20260501T000000Z/"
        );
        assert_eq!(spec.suites[2].suite, "trixie-security");
        assert_eq!(spec.snapshot.as_deref(), Some("20260501T000000Z"));
    }

    #[test]
    fn host_sources_in_both_formats() {
        let deb822 = "Types: deb\nURIs: http://a.invalid/debian-security\nSuites: bookworm-security\n\n\
                      Types: deb-src\nURIs: http://src.invalid/debian\nSuites: bookworm\n\n\
                      Types: deb\nURIs: http://b.invalid/debian\nSuites: bookworm bookworm-updates\n";
        let files = vec![("debian.sources".to_owned(), deb822.to_owned())];
        assert_eq!(
            mirror_from_apt_sources(&files).as_deref(),
            Some("http://b.invalid/debian")
        );
        let list = "# comment\ndeb-src http://x.invalid/debian trixie main\n\
                    deb [arch=amd64 signed-by=/k.gpg] http://c.invalid/debian trixie main\n";
        let files = vec![
            ("sources.list".to_owned(), list.to_owned()),
            ("debian.sources".to_owned(), deb822.to_owned()),
        ];
        assert_eq!(
            mirror_from_apt_sources(&files).as_deref(),
            Some("http://c.invalid/debian")
        );
        assert_eq!(mirror_from_apt_sources(&[]), None);
    }
}
