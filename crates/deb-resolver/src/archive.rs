//! Where packages come from: [`ArchiveSpec`], built from the configuration and explicit
//! [`ArchiveOptions`], and the host's apt sources read as data.
//!
//! The archive follows mkosi's Debian support:
//! - `Mirror=` is a base URL to which `debian` and `debian-security` are joined. A mirror
//!   that already names the archive root (`.../debian`, as older guides and apt's own
//!   sources write it) is accepted too: the security archive is then its sibling.
//! - Without `Mirror=`, the archives the host's apt configuration names are used
//!   ([`host_archives_from_apt_sources`] reads the files' text; the caller reads the files).
//! - `Snapshot=<id>` reads `<base>/archive/debian/<id>/` and
//!   `<base>/archive/debian-security/<id>/`, the base being `Mirror=` or the snapshot
//!   service the caller names; `Valid-Until` is not applied (a snapshot is old on purpose),
//!   and, as in mkosi, `-updates` is not read.
//! - `LocalMirror=` is one plain repository: the release suite only, nothing joined.
//! - The suites are the release, `<release>-updates` and `<release>-security` (none of the
//!   latter for `sid`/`unstable`). Beyond mkosi, `<release>-backports` is read too when the
//!   archive has it; at its archive's default pin it is used only for packages pinned to it
//!   (`cargo/trixie-backports`), as apt would with a backports source added.
//! - Components are `main` plus `Repositories=`; architectures the image's and `all`.
//! - `RepositoryKeyFetch=yes` is refused: keys come only from the keyring given.

use std::path::PathBuf;

use config_model::{Distribution, ImageConfig};

use crate::error::Error;
use build_vocab::debian::deb822::paragraphs;

/// The default trusted keyring (it signs both the archive and the security archive).
pub const DEBIAN_ARCHIVE_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// The archive roots a host's apt configuration names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostArchives {
    /// The Debian archive root (`http://<mirror>/debian`).
    pub debian: Option<String>,
    /// The security archive root (`http://<mirror>/debian-security`), when apt has one.
    pub security: Option<String>,
}

/// Inputs of [`ArchiveSpec::from_config`] that do not come from the image configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveOptions {
    /// The archives of the host's apt configuration, used when `Mirror=` is not set (see
    /// `fetch::host_archives`).
    pub host: HostArchives,
    /// The snapshot service's base URL (archives under `<base>/archive/<archive>/<id>/`): read
    /// for `Snapshot=` when `Mirror=` is not set, and by [`crate::fetch::fetch`] for locked
    /// files the mirror no longer serves.
    pub snapshot_service: Option<String>,
    /// The OpenPGP keyring signatures are checked against.
    pub keyring: PathBuf,
    /// The apt sources the definition's sandbox trees add (`fetch::sandbox_apt`).
    pub sandbox: SandboxApt,
}

impl Default for ArchiveOptions {
    fn default() -> Self {
        Self {
            host: HostArchives::default(),
            snapshot_service: None,
            keyring: PathBuf::from(DEBIAN_ARCHIVE_KEYRING),
            sandbox: SandboxApt::default(),
        }
    }
}

/// The apt configuration a definition's sandbox trees (`SandboxTrees=`, `mkosi.sandbox/`)
/// add: how real trees add backports and third-party repositories.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxApt {
    /// Their apt source files as `(file name, text)`, in the order apt reads them.
    pub source_files: Vec<(String, String)>,
    /// The keyrings they carry: the path apt sees (`/etc/apt/keyrings/vendor.asc`) and the
    /// file on the host.
    pub keyrings: Vec<(String, PathBuf)>,
}

/// The role of a suite, which decides whether it may be missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SuiteKind {
    /// The release itself (`trixie`): must exist.
    Release,
    /// `<release>-updates`: optional.
    Updates,
    /// `<release>-security`: must exist (an image without it gets no security updates).
    Security,
    /// `<release>-backports`: optional, used only for pinned packages (default pin 100).
    Backports,
    /// A suite a sandbox tree's apt sources add (a third-party repository): must exist.
    Extra,
}

impl SuiteKind {
    /// The kind of a suite, from its name (`trixie-security` is [`SuiteKind::Security`]).
    pub fn of_suite(suite: &str) -> Self {
        match suite.rsplit_once('-').map(|(_, tail)| tail) {
            Some("updates") => Self::Updates,
            Some("security") => Self::Security,
            Some("backports") => Self::Backports,
            _ => Self::Release,
        }
    }

    /// The Debian archive that holds suites of this kind, as a snapshot service names it
    /// (`None` for other archives).
    pub fn archive_name(self) -> Option<&'static str> {
        match self {
            Self::Security => Some("debian-security"),
            Self::Extra => None,
            _ => Some("debian"),
        }
    }
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
    /// Its components, when not the image's (a sandbox tree's source names its own).
    pub components: Option<Vec<String>>,
    /// Its keyring, when not the archive's (`Signed-By=` of a sandbox tree's source).
    pub keyring: Option<PathBuf>,
    /// Read without a signature check: only `LocalMirror=`, as mkosi writes it
    /// (`Trusted: yes`).
    pub trusted: bool,
}

impl SuiteSource {
    /// A suite of the Debian archive at `base_url`.
    fn debian(suite: String, base_url: String, kind: SuiteKind) -> Self {
        Self {
            suite,
            base_url,
            kind,
            components: None,
            keyring: None,
            trusted: false,
        }
    }

    /// Whether a missing `InRelease` for this suite is an error.
    pub fn required(&self) -> bool {
        matches!(
            self.kind,
            SuiteKind::Release | SuiteKind::Security | SuiteKind::Extra
        )
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
    /// The snapshot service locked files are fetched from when the mirror has dropped them.
    pub snapshot_service: Option<String>,
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
        if settings.repository_key_fetch == Some(true) {
            return Err(Error::Config(
                "RepositoryKeyFetch=yes: keys are never fetched for Debian (as in mkosi); \
                 the archive is checked against the keyring only"
                    .into(),
            ));
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
        let roots = ArchiveRoots::of(config, options)?;
        let suite = |suite: String, kind: SuiteKind| {
            let base_url = match kind {
                SuiteKind::Security => roots.security.clone(),
                _ => roots.debian.clone(),
            };
            SuiteSource::debian(suite, base_url, kind)
        };
        let mut suites = vec![SuiteSource {
            trusted: roots.plain,
            ..suite(release.clone(), SuiteKind::Release)
        }];
        let rolling = matches!(release.as_str(), "sid" | "unstable");
        if !rolling && !roots.plain {
            if settings.snapshot.is_none() {
                suites.push(suite(format!("{release}-updates"), SuiteKind::Updates));
            }
            suites.push(suite(format!("{release}-security"), SuiteKind::Security));
            suites.push(suite(format!("{release}-backports"), SuiteKind::Backports));
        }
        let mut components = vec!["main".to_owned()];
        // mkosi's LocalMirror= is one plain repository: `main` only, trusted as it is.
        if !roots.plain {
            for component in &settings.repositories {
                if !components.contains(component) {
                    components.push(component.clone());
                }
            }
        }
        // A tree's `mkosi.sources` is the whole repository set, as mkosi leaves its own out
        // when the sandbox tree has one.
        if options
            .sandbox
            .source_files
            .iter()
            .any(|(name, _)| name == "mkosi.sources")
        {
            suites.clear();
        }
        add_sandbox_sources(&mut suites, &options.sandbox, &release, &components)?;
        Ok(Self {
            release,
            architecture,
            components,
            suites,
            check_signatures: settings.repository_key_check != Some(false),
            keyring: options.keyring.clone(),
            snapshot: settings.snapshot.clone(),
            snapshot_service: settings
                .mirror
                .clone()
                .filter(|_| settings.snapshot.is_some())
                .or_else(|| options.snapshot_service.clone())
                .map(|base| with_slash(&base)),
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

/// Adds the suites of a sandbox tree's apt sources. A suite the image already reads from the
/// same archive is read once, with the tree's extra components; the tree's `-backports`
/// replaces the implicit one; any other suite read from two archives, a flat repository
/// (`./`) and a key written into the source are refused. Suites of `release` keep their
/// Debian role (`trixie-security` is required, has snapshots); others are extra suites.
fn add_sandbox_sources(
    suites: &mut Vec<SuiteSource>,
    sandbox: &SandboxApt,
    release: &str,
    components: &[String],
) -> Result<(), Error> {
    for source in parse_apt_sources(&sandbox.source_files) {
        let base_url = with_slash(&source.uri);
        let keyring = match &source.signed_by {
            None => None,
            Some(key) if key.contains("BEGIN PGP") => {
                return Err(Error::Config(format!(
                    "{}: a key written into Signed-By is not supported; put it in a keyring \
                     file of the sandbox tree and name that",
                    source.file
                )));
            }
            Some(path) => Some(
                sandbox
                    .keyrings
                    .iter()
                    .find(|(seen_as, _)| seen_as == path)
                    .map_or_else(|| PathBuf::from(path), |(_, host)| host.clone()),
            ),
        };
        for suite in &source.suites {
            if suite.ends_with('/') {
                return Err(Error::Config(format!(
                    "{}: flat repository `{} {suite}` is not supported",
                    source.file, source.uri
                )));
            }
            match suites.iter_mut().find(|s| s.suite == *suite) {
                Some(known) if known.base_url == base_url => {
                    let mut merged = known
                        .components
                        .clone()
                        .unwrap_or_else(|| components.to_vec());
                    for component in &source.components {
                        if !merged.contains(component) {
                            merged.push(component.clone());
                        }
                    }
                    known.components = Some(merged);
                }
                Some(known) if known.kind == SuiteKind::Backports => {
                    known.base_url.clone_from(&base_url);
                    known.keyring.clone_from(&keyring);
                }
                Some(known) => {
                    return Err(Error::Config(format!(
                        "{}: suite `{suite}` would be read from {base_url} and from {}",
                        source.file, known.base_url
                    )));
                }
                None => suites.push(SuiteSource {
                    suite: suite.clone(),
                    base_url: base_url.clone(),
                    kind: if suite == release || suite.starts_with(&format!("{release}-")) {
                        SuiteKind::of_suite(suite)
                    } else {
                        SuiteKind::Extra
                    },
                    components: Some(source.components.clone()),
                    keyring: keyring.clone(),
                    trusted: false,
                }),
            }
        }
    }
    Ok(())
}

/// The archive roots of a configuration: mkosi's `debian` and `debian-security`.
struct ArchiveRoots {
    debian: String,
    security: String,
    /// `LocalMirror=`: one plain repository, no suites beyond the release.
    plain: bool,
}

impl ArchiveRoots {
    fn of(config: &ImageConfig, options: &ArchiveOptions) -> Result<Self, Error> {
        let settings = &config.distribution;
        if let Some(local) = &settings.local_mirror {
            return Ok(Self {
                debian: with_slash(local),
                security: with_slash(local),
                plain: true,
            });
        }
        if let Some(snapshot) = &settings.snapshot {
            let base = settings
                .mirror
                .as_ref()
                .or(options.snapshot_service.as_ref())
                .ok_or_else(|| Error::SnapshotWithoutService {
                    snapshot: snapshot.clone(),
                })?;
            let base = with_slash(base);
            return Ok(Self {
                debian: format!("{base}archive/debian/{snapshot}/"),
                security: format!("{base}archive/debian-security/{snapshot}/"),
                plain: false,
            });
        }
        if let Some(mirror) = &settings.mirror {
            let debian = debian_root(mirror);
            return Ok(Self {
                security: sibling(&debian, "debian-security"),
                debian,
                plain: false,
            });
        }
        let debian = options
            .host
            .debian
            .as_deref()
            .map(with_slash)
            .ok_or(Error::NoMirror)?;
        Ok(Self {
            security: options
                .host
                .security
                .as_deref()
                .map_or_else(|| sibling(&debian, "debian-security"), with_slash),
            debian,
            plain: false,
        })
    }
}

/// The Debian archive root of a `Mirror=` value: the mirror itself when it already names it
/// (its last path segment is `debian`), else `<mirror>/debian/`.
fn debian_root(mirror: &str) -> String {
    let mirror = with_slash(mirror);
    if last_segment(&mirror) == Some("debian") {
        mirror
    } else {
        format!("{mirror}debian/")
    }
}

/// `root` (ending in `/`) with its last path segment replaced by `name`.
fn sibling(root: &str, name: &str) -> String {
    let trimmed = root.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((parent, _)) if last_segment(root).is_some() => format!("{parent}/{name}/"),
        _ => format!("{trimmed}/{name}/"),
    }
}

/// The last path segment of a URL (`None` when it has no path).
fn last_segment(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = rest.split_once('/').map(|(_, path)| path)?;
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
}

fn with_slash(url: &str) -> String {
    let url = url.trim();
    if url.ends_with('/') {
        url.to_owned()
    } else {
        format!("{url}/")
    }
}

/// One `deb` entry of apt's sources: an archive root, its suites and components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptSource {
    /// The file it was read from (`backports.sources`).
    pub file: String,
    /// The archive root (`http://<mirror>/debian`).
    pub uri: String,
    /// The suites (`trixie-backports`).
    pub suites: Vec<String>,
    /// The components (`main`).
    pub components: Vec<String>,
    /// `Signed-By=` / `[signed-by=...]`: the keyring path apt would check it against.
    pub signed_by: Option<String>,
}

/// The enabled `deb` entries of apt sources, given as `(file name, text)` in the order apt
/// reads them (`sources.list`, then `sources.list.d/*` by name): `.list` files with one-line
/// `deb [options] uri suite components` entries, `.sources` files in deb822. Source-only
/// and disabled entries are left out; a `.sources` entry with several URIs gives one entry
/// per URI. Pure.
pub fn parse_apt_sources(files: &[(String, String)]) -> Vec<AptSource> {
    let mut sources = Vec::new();
    for (name, text) in files {
        if name.ends_with(".sources") {
            for paragraph in paragraphs(text).filter_map(Result::ok) {
                let words = |field: &str| -> Vec<String> {
                    paragraph
                        .get(field)
                        .unwrap_or_default()
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect()
                };
                let enabled = paragraph
                    .get("Enabled")
                    .is_none_or(|v| !v.trim().eq_ignore_ascii_case("no"));
                if !enabled || !words("Types").iter().any(|t| t == "deb") {
                    continue;
                }
                for uri in words("URIs") {
                    sources.push(AptSource {
                        file: name.clone(),
                        uri,
                        suites: words("Suites"),
                        components: words("Components"),
                        signed_by: paragraph.get("Signed-By").map(|v| v.trim().to_owned()),
                    });
                }
            }
        } else if name.ends_with(".list") {
            for line in text.lines() {
                let line = line.split('#').next().unwrap_or_default();
                let mut words = line.split_whitespace().peekable();
                if words.next() != Some("deb") {
                    continue;
                }
                let mut signed_by = None;
                if words.peek().is_some_and(|w| w.starts_with('[')) {
                    for word in words.by_ref() {
                        let option = word.trim_start_matches('[').trim_end_matches(']');
                        if let Some(path) = option.strip_prefix("signed-by=") {
                            signed_by = Some(path.to_owned());
                        }
                        if word.ends_with(']') {
                            break;
                        }
                    }
                }
                let Some(uri) = words.next() else { continue };
                let suites: Vec<String> = words.next().map(str::to_owned).into_iter().collect();
                sources.push(AptSource {
                    file: name.clone(),
                    uri: uri.to_owned(),
                    suites,
                    components: words.map(str::to_owned).collect(),
                    signed_by,
                });
            }
        }
    }
    sources
}

/// The Debian archives named by apt sources (see [`parse_apt_sources`]): the first
/// http(s)/file entry for a suite other than `-security` is the archive, the first whose
/// suites are all `-security` the security archive.
pub fn host_archives_from_apt_sources(files: &[(String, String)]) -> HostArchives {
    let mut found = HostArchives::default();
    for source in parse_apt_sources(files) {
        let scheme_ok = ["http://", "https://", "file:"]
            .iter()
            .any(|scheme| source.uri.starts_with(scheme));
        if !scheme_ok {
            continue;
        }
        let only_security = !source.suites.is_empty()
            && source
                .suites
                .iter()
                .all(|suite| suite.ends_with("-security"));
        let slot = if only_security {
            &mut found.security
        } else {
            &mut found.debian
        };
        if slot.is_none() {
            *slot = Some(source.uri);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use config_model::{Architecture, PackageSpec};

    use super::*;

    const BASE: &str = "http://mirror.invalid";

    fn config() -> ImageConfig {
        let mut config = ImageConfig::default();
        config.distribution.distribution = Some(Distribution::Debian);
        config.distribution.release = Some("trixie".into());
        config.distribution.architecture = Some(Architecture::X86_64);
        config.content.packages = vec!["bash".parse::<PackageSpec>().unwrap()];
        config
    }

    fn host() -> ArchiveOptions {
        ArchiveOptions {
            host: HostArchives {
                debian: Some(format!("{BASE}/debian")),
                security: Some("http://security.invalid/debian-security".into()),
            },
            ..ArchiveOptions::default()
        }
    }

    /// `(suite, archive root)` of each suite.
    fn suites(spec: &ArchiveSpec) -> Vec<(&str, &str)> {
        spec.suites
            .iter()
            .map(|s| (s.suite.as_str(), s.base_url.as_str()))
            .collect()
    }

    #[test]
    fn the_host_archives_give_the_release_updates_security_and_backports() {
        let mut config = config();
        config.distribution.repositories = vec!["contrib".into(), "main".into()];
        let spec = ArchiveSpec::from_config(&config, &host()).unwrap();
        assert_eq!(spec.architecture, "amd64");
        assert_eq!(spec.components, ["main", "contrib"]);
        let debian = "http://mirror.invalid/debian/";
        assert_eq!(
            suites(&spec),
            [
                ("trixie", debian),
                ("trixie-updates", debian),
                (
                    "trixie-security",
                    "http://security.invalid/debian-security/"
                ),
                ("trixie-backports", debian),
            ]
        );
        assert_eq!(
            spec.suites[0].dist_url("InRelease"),
            format!("{BASE}/debian/dists/trixie/InRelease")
        );
        assert!(spec.check_signatures);
        assert!(spec.suites[2].required());
        assert_eq!(spec.snapshot_service, None);

        // A host without a security entry: its archive's sibling.
        let mut options = host();
        options.host.security = None;
        let spec = ArchiveSpec::from_config(&config, &options).unwrap();
        assert_eq!(spec.suites[2].base_url, format!("{BASE}/debian-security/"));

        assert!(matches!(
            ArchiveSpec::from_config(&config, &ArchiveOptions::default()),
            Err(Error::NoMirror)
        ));
    }

    #[test]
    fn mirror_is_a_base_or_an_archive_root() {
        let mut config = config();
        for mirror in [
            BASE,
            "http://mirror.invalid/",
            "http://mirror.invalid/debian",
        ] {
            config.distribution.mirror = Some(mirror.into());
            let spec = ArchiveSpec::from_config(&config, &host()).unwrap();
            assert_eq!(
                spec.suites[0].base_url,
                format!("{BASE}/debian/"),
                "{mirror}"
            );
            assert_eq!(
                spec.base_url_of("trixie-security"),
                Some(format!("{BASE}/debian-security/").as_str()),
                "{mirror}"
            );
        }
        config.distribution.mirror = Some("https://mirror.invalid/pub/linux/".into());
        let spec = ArchiveSpec::from_config(&config, &host()).unwrap();
        assert_eq!(
            spec.base_url_of("trixie-updates"),
            Some("https://mirror.invalid/pub/linux/debian/")
        );
        assert_eq!(
            spec.base_url_of("trixie-security"),
            Some("https://mirror.invalid/pub/linux/debian-security/")
        );
    }

    #[test]
    fn snapshots_read_the_snapshot_archives_without_updates() {
        let mut config = config();
        config.distribution.snapshot = Some("20260501T000000Z".into());
        let err = ArchiveSpec::from_config(&config, &host()).unwrap_err();
        assert!(matches!(err, Error::SnapshotWithoutService { .. }), "{err}");

        let mut options = host();
        options.snapshot_service = Some("http://snapshots.invalid".into());
        let spec = ArchiveSpec::from_config(&config, &options).unwrap();
        let debian = "http://snapshots.invalid/archive/debian/20260501T000000Z/";
        assert_eq!(
            suites(&spec),
            [
                ("trixie", debian),
                (
                    "trixie-security",
                    "http://snapshots.invalid/archive/debian-security/20260501T000000Z/"
                ),
                ("trixie-backports", debian),
            ]
        );
        assert_eq!(spec.snapshot.as_deref(), Some("20260501T000000Z"));
        assert_eq!(
            spec.snapshot_service.as_deref(),
            Some("http://snapshots.invalid/")
        );

        // Mirror= is the snapshot service's base when both are set, as in mkosi.
        config.distribution.mirror = Some("http://own-snapshots.invalid/".into());
        let spec = ArchiveSpec::from_config(&config, &options).unwrap();
        assert_eq!(
            spec.suites[0].base_url,
            "http://own-snapshots.invalid/archive/debian/20260501T000000Z/"
        );
        assert_eq!(
            spec.snapshot_service.as_deref(),
            Some("http://own-snapshots.invalid/")
        );
    }

    #[test]
    fn local_mirror_rolling_releases_and_key_fetching() {
        let mut config = config();
        config.distribution.local_mirror = Some("file:///srv/repo".into());
        config.distribution.repositories = vec!["contrib".into()];
        let spec = ArchiveSpec::from_config(&config, &host()).unwrap();
        assert_eq!(suites(&spec), [("trixie", "file:///srv/repo/")]);
        // As mkosi writes it: `main` only, `Trusted: yes`; a tree's suites are still checked.
        assert_eq!(spec.components, ["main"]);
        assert!(spec.suites[0].trusted);
        let mut options = host();
        options.sandbox.source_files = vec![(
            "vendor.list".to_owned(),
            "deb http://vendor.invalid/apt stable main\n".to_owned(),
        )];
        let spec = ArchiveSpec::from_config(&config, &options).unwrap();
        assert!(spec.check_signatures);
        assert!(
            !spec
                .suites
                .iter()
                .find(|s| s.suite == "stable")
                .unwrap()
                .trusted
        );

        let mut config = self::config();
        config.distribution.release = Some("sid".into());
        let spec = ArchiveSpec::from_config(&config, &host()).unwrap();
        assert_eq!(suites(&spec), [("sid", "http://mirror.invalid/debian/")]);

        config.distribution.repository_key_fetch = Some(true);
        let err = ArchiveSpec::from_config(&config, &host()).unwrap_err();
        assert!(err.to_string().contains("RepositoryKeyFetch=yes"), "{err}");
    }

    #[test]
    fn sandbox_sources_add_suites_and_replace_backports() {
        let mut options = host();
        let list = |text: &str| vec![("extra.list".to_owned(), text.to_owned())];
        options.sandbox.source_files = list(
            "deb [signed-by=/etc/apt/keyrings/v.asc] https://vendor.invalid/apt stable main extra\n\
             deb http://mirror.invalid/debian trixie main\n\
             deb http://backports.invalid/debian trixie-backports main\n",
        );
        options.sandbox.keyrings = vec![("/etc/apt/keyrings/v.asc".into(), "/tree/v.asc".into())];
        let spec = ArchiveSpec::from_config(&config(), &options).unwrap();
        let vendor = spec.suites.iter().find(|s| s.suite == "stable").unwrap();
        assert_eq!(vendor.base_url, "https://vendor.invalid/apt/");
        assert_eq!(vendor.kind, SuiteKind::Extra);
        assert_eq!(
            vendor.components.as_deref(),
            Some(&["main".to_owned(), "extra".to_owned()][..])
        );
        assert_eq!(vendor.keyring.as_deref(), Some(Path::new("/tree/v.asc")));
        assert_eq!(
            spec.base_url_of("trixie-backports"),
            Some("http://backports.invalid/debian/")
        );
        assert_eq!(
            spec.suites.iter().filter(|s| s.suite == "trixie").count(),
            1
        );

        // The same archive with more components: read once, with them.
        options.sandbox.source_files =
            list("deb http://mirror.invalid/debian trixie main non-free-firmware\n");
        let spec = ArchiveSpec::from_config(&config(), &options).unwrap();
        assert_eq!(
            spec.suites[0].components.as_deref(),
            Some(&["main".to_owned(), "non-free-firmware".to_owned()][..])
        );

        // A tree's mkosi.sources is the whole set: the image's own suites are not read.
        options.sandbox.source_files = vec![(
            "mkosi.sources".to_owned(),
            "Types: deb\nURIs: http://own.invalid/debian\nSuites: trixie trixie-security\n\
             Components: main\n"
                .to_owned(),
        )];
        let spec = ArchiveSpec::from_config(&config(), &options).unwrap();
        assert_eq!(
            suites(&spec),
            [
                ("trixie", "http://own.invalid/debian/"),
                ("trixie-security", "http://own.invalid/debian/")
            ]
        );
        assert_eq!(spec.suites[1].kind, SuiteKind::Security);

        for (text, refused) in [
            (
                "deb http://other.invalid/debian trixie main\n",
                "would be read from",
            ),
            ("deb http://flat.invalid/repo ./\n", "flat repository"),
        ] {
            options.sandbox.source_files = list(text);
            let err = ArchiveSpec::from_config(&config(), &options).unwrap_err();
            assert!(err.to_string().contains(refused), "{err}");
        }
        options.sandbox.source_files = vec![(
            "k.sources".to_owned(),
            "Types: deb\nURIs: http://k.invalid/\nSuites: s\nComponents: main\n\
             Signed-By: -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n"
                .to_owned(),
        )];
        let err = ArchiveSpec::from_config(&config(), &options).unwrap_err();
        assert!(
            err.to_string().contains("key written into Signed-By"),
            "{err}"
        );
    }

    #[test]
    fn suite_kinds_and_their_archives() {
        assert_eq!(SuiteKind::of_suite("trixie"), SuiteKind::Release);
        assert_eq!(SuiteKind::of_suite("trixie-security"), SuiteKind::Security);
        assert_eq!(SuiteKind::of_suite("trixie-updates"), SuiteKind::Updates);
        assert_eq!(
            SuiteKind::of_suite("trixie-backports"),
            SuiteKind::Backports
        );
        assert_eq!(SuiteKind::Security.archive_name(), Some("debian-security"));
        assert_eq!(SuiteKind::Backports.archive_name(), Some("debian"));
        assert_eq!(SuiteKind::Extra.archive_name(), None);
    }

    #[test]
    fn host_sources_in_both_formats() {
        let deb822 = "Types: deb\nURIs: http://a.invalid/debian-security\nSuites: bookworm-security\n\n\
                      Types: deb-src\nURIs: http://src.invalid/debian\nSuites: bookworm\n\n\
                      Types: deb\nURIs: http://b.invalid/debian\nSuites: bookworm bookworm-updates\n";
        let files = vec![("debian.sources".to_owned(), deb822.to_owned())];
        assert_eq!(
            host_archives_from_apt_sources(&files),
            HostArchives {
                debian: Some("http://b.invalid/debian".into()),
                security: Some("http://a.invalid/debian-security".into()),
            }
        );
        let list = "# comment\ndeb-src http://x.invalid/debian trixie main\n\
                    deb [arch=amd64 signed-by=/k.gpg] http://c.invalid/debian trixie main\n";
        let files = vec![
            ("sources.list".to_owned(), list.to_owned()),
            ("debian.sources".to_owned(), deb822.to_owned()),
        ];
        assert_eq!(
            host_archives_from_apt_sources(&files).debian.as_deref(),
            Some("http://c.invalid/debian")
        );
        assert_eq!(host_archives_from_apt_sources(&[]), HostArchives::default());
    }
}
