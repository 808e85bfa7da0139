//! The I/O edge: the only module that touches the network or the file system.
//!
//! - [`load_archive`] reads an [`ArchiveSpec`]'s suites: `InRelease` fetched and verified
//!   ([`crate::signature`]), `Valid-Until` applied against an explicit `now` (not for
//!   snapshots), each `Packages` index (xz preferred, gz fallback, `by-hash` when the archive
//!   offers it) checked against the Release sha256 before it is parsed, and local `.deb`
//!   directories read; the result is a [`LoadedArchive`]. Verified uncompressed indexes are
//!   kept in the [`Cache`], so the next load of an unchanged archive downloads only
//!   `InRelease` files.
//! - [`fetch`] downloads the `.deb`s of a [`Lock`] in parallel into the cache, with retries,
//!   sha256 checked while streaming, and returns [`VerifiedDeb`]s.
//!   A locked file the mirror no longer serves (a point release replaced it) is fetched
//!   from the snapshot service, when one is named, at its suite's locked Release date.
//! - [`host_archives`] reads the host's apt sources.
//!
//! Progress goes to a caller-supplied [`Progress`] (the CLI draws bars; the library draws
//! nothing).

pub mod cache;
pub mod http;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::archive::{
    ArchiveSpec, HostArchives, SandboxApt, SuiteKind, SuiteSource, host_archives_from_apt_sources,
};
use crate::error::Error;
use crate::lock::{Lock, LockSource, LockedPackage, PackageSet};
use crate::release::Release;
use crate::signature::{Keyring, unverified_text, verify_inrelease};
use crate::universe::{LOCAL_SUITE, Origin, Universe};
use build_vocab::PackageId;
use build_vocab::Sha256;
use build_vocab::debian::deb::{Limits, read_control_members};
use build_vocab::debian::deb822::paragraphs;

use build_vocab::{AtPath, PathError};
pub use cache::Cache;
pub use http::{HttpClient, RetryPolicy};

/// Receives progress events; every method has a default that ignores the event. Called from
/// several download threads at once.
pub trait Progress: Sync {
    /// A transfer starts; `total` is its size when known.
    fn started(&self, _item: &str, _total: Option<u64>) {}
    /// `done` bytes of the item have arrived so far.
    fn advanced(&self, _item: &str, _done: u64, _total: Option<u64>) {}
    /// An item is complete (downloaded, or found in the cache).
    fn finished(&self, _item: &str, _stats: &TransferStats) {}
    /// A transient failure; attempt `attempt` follows after a backoff.
    fn retrying(&self, _item: &str, _attempt: u32, _reason: &str) {}
    /// A notice (a suite skipped because the archive has none, ...).
    fn message(&self, _text: &str) {}
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// What a finished item cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransferStats {
    /// Bytes transferred (or found in the cache).
    pub bytes: u64,
    /// Time taken.
    pub elapsed: Duration,
    /// Whether it came from the cache without a download.
    pub from_cache: bool,
}

impl TransferStats {
    /// Bytes per second (0 for instant transfers).
    pub fn rate(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.bytes as f64 / seconds
        } else {
            0.0
        }
    }
}

/// One item's transfer, reporting to a [`Progress`].
pub(crate) struct Transfer<'a> {
    item: &'a str,
    total: Option<u64>,
    start: Instant,
    done: std::cell::Cell<u64>,
    progress: &'a dyn Progress,
}

impl<'a> Transfer<'a> {
    pub(crate) fn start(item: &'a str, total: Option<u64>, progress: &'a dyn Progress) -> Self {
        progress.started(item, total);
        Self {
            item,
            total,
            start: Instant::now(),
            done: std::cell::Cell::new(0),
            progress,
        }
    }

    pub(crate) fn advance(&self, done: u64) {
        self.done.set(done);
        self.progress.advanced(self.item, done, self.total);
    }

    pub(crate) fn finish(self, from_cache: bool) {
        self.progress.finished(
            self.item,
            &TransferStats {
                bytes: self.total.unwrap_or(self.done.get()),
                elapsed: http::elapsed(self.start),
                from_cache,
            },
        );
    }
}

/// The archives of the host's apt configuration under `root` (`/` for the running host):
/// `etc/apt/sources.list`, then `etc/apt/sources.list.d/*.list` and `*.sources` by name.
pub fn host_archives(root: &Path) -> Result<HostArchives, Error> {
    let mut files = Vec::new();
    let list = root.join("etc/apt/sources.list");
    if let Ok(text) = std::fs::read_to_string(&list) {
        files.push(("sources.list".to_owned(), text));
    }
    let dir = root.join("etc/apt/sources.list.d");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        for path in names {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.ends_with(".list") || name.ends_with(".sources") {
                let text = std::fs::read_to_string(&path).at(&path)?;
                files.push((name, text));
            }
        }
    }
    Ok(host_archives_from_apt_sources(&files))
}

/// The apt configuration of a definition's sandbox trees (each tree's files seen at its
/// target, `/` by default): `etc/apt/sources.list` and `etc/apt/sources.list.d/*.list` /
/// `*.sources`, in apt's order (later trees replace a file of the same name), and the
/// keyrings under `etc/apt/keyrings/` and `usr/share/keyrings/`. Any other file (apt
/// preferences, `apt.conf.d`, `trusted.gpg.d`, files for other tools) is refused with its
/// path: it would change what is installed, and this builder does not act on it.
pub fn sandbox_apt(trees: &[config_model::Tree]) -> Result<SandboxApt, Error> {
    let mut sources: BTreeMap<String, (u8, String)> = BTreeMap::new();
    let mut keyrings = Vec::new();
    for tree in trees {
        if !tree.source.is_dir() {
            return Err(Error::Config(format!(
                "SandboxTrees={}: only directories are supported as sandbox trees",
                tree.source.display()
            )));
        }
        let target = tree.target.as_deref().unwrap_or(Path::new("/"));
        for found in build_vocab::walk::walk(&tree.source) {
            let found = found.map_err(|e| PathError::new(&e.path, e.source))?;
            if found.metadata.is_dir() {
                continue;
            }
            let seen_as = target.join(&found.relative);
            let seen = seen_as.to_string_lossy().into_owned();
            let name = found
                .relative
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let parent = seen_as.parent().map(Path::to_path_buf).unwrap_or_default();
            let source_list = seen == "/etc/apt/sources.list";
            let source_part = parent == Path::new("/etc/apt/sources.list.d")
                && (name.ends_with(".list") || name.ends_with(".sources"));
            if source_list || source_part {
                let text = std::fs::read_to_string(&found.path).at(&found.path)?;
                // `sources.list` first, then the parts by name, as apt reads them.
                sources.insert(name, (u8::from(source_part), text));
            } else if parent == Path::new("/etc/apt/keyrings")
                || parent == Path::new("/usr/share/keyrings")
            {
                keyrings.push((seen, found.path.clone()));
            } else {
                return Err(Error::Config(format!(
                    "sandbox tree {}: {seen} is not acted on by this builder (only apt sources \
                     and keyrings are)",
                    tree.source.display()
                )));
            }
        }
    }
    let mut source_files: Vec<(u8, String, String)> = sources
        .into_iter()
        .map(|(name, (order, text))| (order, name, text))
        .collect();
    source_files.sort();
    Ok(SandboxApt {
        source_files: source_files
            .into_iter()
            .map(|(_, name, text)| (name, text))
            .collect(),
        keyrings,
    })
}

/// One suite as it was read: the raw `InRelease` and the indexes used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedSuite {
    /// The suite name.
    pub suite: String,
    /// The `InRelease` bytes as served (signature included).
    pub inrelease: Vec<u8>,
    /// The `Packages` index files read, as paths relative to the suite with their sha256
    /// and size, all of them in the cache under that hash: the uncompressed file first, then
    /// the compressed one it was decompressed from (when it was downloaded and kept).
    pub indexes: Vec<(String, Sha256, u64)>,
}

/// Everything read from the archive and the local directories.
#[derive(Debug, Clone)]
pub struct LoadedArchive {
    /// The packages.
    pub universe: Universe,
    /// The suites read, with their raw `InRelease` and indexes (to mirror or audit them).
    pub suites: Vec<LoadedSuite>,
    /// The suites read, with their Release dates and hashes.
    pub sources: Vec<LockSource>,
    /// Local `.deb`s: `file name sha256`, sorted.
    pub local_debs: Vec<String>,
}

/// Inputs of loading and fetching that are not the archive itself.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// "Now" as Unix seconds, for `Valid-Until` (an explicit input, never read here).
    pub now: i64,
    /// Parallel downloads.
    pub parallel: usize,
    /// Retries and timeouts.
    pub retry: RetryPolicy,
}

impl FetchOptions {
    /// Defaults (4 parallel downloads, 3 retries) at a given time.
    pub fn at(now: i64) -> Self {
        Self {
            now,
            parallel: 4,
            retry: RetryPolicy::default(),
        }
    }
}

/// The largest `InRelease` accepted (Debian's are about 150 kB).
const MAX_INRELEASE: u64 = 64 << 20;

/// Reads every suite of `spec` and the local `.deb` directories into a universe.
pub fn load_archive(
    spec: &ArchiveSpec,
    local_dirs: &[PathBuf],
    cache: &Cache,
    options: &FetchOptions,
    progress: &dyn Progress,
) -> Result<LoadedArchive, Error> {
    let client = HttpClient::new(options.retry);
    let mut keyrings: Vec<(PathBuf, Keyring)> = Vec::new();
    let mut universe = Universe::new(&spec.architecture);
    let mut sources = Vec::new();
    let mut suites = Vec::new();
    for source in &spec.suites {
        let url = source.dist_url("InRelease");
        let data = match client.get_bytes(&url, MAX_INRELEASE, progress) {
            Ok(data) => data,
            Err(Error::HttpStatus { status: 404, .. }) if !source.required() => {
                progress.message(&format!(
                    "{}: no such suite in the archive, skipped",
                    source.suite
                ));
                continue;
            }
            Err(error) => return Err(error),
        };
        let text = if spec.check_signatures && !source.trusted {
            let path = source.keyring.as_ref().unwrap_or(&spec.keyring);
            let keyring = keyring_at(&mut keyrings, path)?;
            verify_inrelease(&data, keyring).map_err(|reason| Error::BadSignature {
                url: url.clone(),
                reason,
            })?
        } else {
            unverified_text(&data).map_err(|reason| Error::BadSignature {
                url: url.clone(),
                reason,
            })?
        };
        let release = Release::parse(&text).map_err(|e| e.with_origin(&url))?;
        if !release.describes(&source.suite) {
            return Err(Error::WrongRelease {
                url,
                expected: source.suite.clone(),
                found: release
                    .codename
                    .clone()
                    .or(release.suite.clone())
                    .unwrap_or_default(),
            });
        }
        if spec.snapshot.is_none() {
            release
                .check_fresh(options.now)
                .map_err(|valid_until| Error::Expired {
                    url: url.clone(),
                    valid_until,
                    now: options.now,
                })?;
        }
        let mut indexes = Vec::new();
        let mut architectures = vec![spec.architecture.clone()];
        if !release.arch_all_in_arch_indexes {
            architectures.push("all".to_owned());
        }
        for component in source.components.as_ref().unwrap_or(&spec.components) {
            // The security archive lists `updates/main` and serves it as `main` too.
            let listed = release.components.iter().any(|listed| {
                listed == component
                    || listed
                        .rsplit_once('/')
                        .is_some_and(|(_, last)| last == component)
            });
            if !release.components.is_empty() && !listed {
                if source.required() {
                    return Err(Error::MissingIndex {
                        release: url.clone(),
                        path: format!("{component}/ (component not in Components)"),
                    });
                }
                continue;
            }
            // Whether this component's arch index lists `Architecture: all` packages too.
            let mut arch_index_has_all = false;
            for arch in &architectures {
                let path = format!("{component}/binary-{arch}/Packages");
                if arch == "all" && !has_index(&release, &path) {
                    continue;
                }
                let loaded = load_index(&client, source, &release, &url, &path, cache, progress);
                let (index, sha) = match loaded {
                    Ok(loaded) => loaded,
                    // Where the arch index lists the `Architecture: all` packages too (as
                    // Debian's security archive does without saying so in its Release),
                    // `binary-all` only repeats them: a mirror caught mid-sync on it costs a
                    // warning. Where it does not, it is the only list of them, and its loss
                    // is an error like any other index's.
                    Err(error)
                        if arch == "all" && arch_index_has_all && is_mirror_fault(&error) =>
                    {
                        progress.message(&format!(
                            "{}: {path} left out, the mirror serves it wrong: {error}",
                            source.suite
                        ));
                        continue;
                    }
                    Err(error) => return Err(error),
                };
                indexes.push((path.clone(), sha, index.len() as u64));
                for ext in [".xz", ".gz"] {
                    let file = format!("{path}{ext}");
                    if let Some((sha, size)) = release.index(&file) {
                        if cache.path_of(&sha).exists() {
                            indexes.push((file, sha, size));
                        }
                    }
                }
                let text = std::str::from_utf8(&index).map_err(|_| Error::Parse {
                    origin: source.dist_url(&path),
                    line: 0,
                    message: "index is not UTF-8".into(),
                })?;
                if arch != "all" {
                    arch_index_has_all = text.contains("\nArchitecture: all\n");
                }
                let origin = universe.add_origin(Origin {
                    suite: source.suite.clone(),
                    component: component.clone(),
                    priority: release.default_priority(),
                });
                universe
                    .add_packages_index(text, origin)
                    .map_err(|e| e.with_origin(&source.dist_url(&path)))?;
            }
        }
        sources.push(LockSource {
            suite: source.suite.clone(),
            date: release.date.clone(),
            release_sha256: Some(Sha256::of(text.as_bytes())),
        });
        suites.push(LoadedSuite {
            suite: source.suite.clone(),
            inrelease: data,
            indexes,
        });
    }
    let local_debs = load_local_debs(&mut universe, local_dirs, progress)?;
    if !local_debs.is_empty() {
        sources.push(LockSource {
            suite: LOCAL_SUITE.to_owned(),
            date: None,
            release_sha256: None,
        });
    }
    Ok(LoadedArchive {
        universe,
        suites,
        sources,
        local_debs,
    })
}

/// The keyring at `path`, read once per load.
fn keyring_at<'k>(
    keyrings: &'k mut Vec<(PathBuf, Keyring)>,
    path: &Path,
) -> Result<&'k Keyring, Error> {
    let index = match keyrings.iter().position(|(seen, _)| seen == path) {
        Some(index) => index,
        None => {
            let data = std::fs::read(path).at(path)?;
            let keyring = Keyring::from_bytes(&data).map_err(|message| Error::Keyring {
                path: path.to_owned(),
                message,
            })?;
            keyrings.push((path.to_owned(), keyring));
            keyrings.len() - 1
        }
    };
    Ok(&keyrings[index].1)
}

fn has_index(release: &Release, path: &str) -> bool {
    ["", ".xz", ".gz"]
        .iter()
        .any(|ext| release.index(&format!("{path}{ext}")).is_some())
}

/// One index, verified: from the cache if its uncompressed hash is there, else downloaded
/// (xz, then gz, then uncompressed), checked, decompressed, checked again, cached.
fn load_index(
    client: &HttpClient,
    source: &crate::archive::SuiteSource,
    release: &Release,
    release_url: &str,
    path: &str,
    cache: &Cache,
    progress: &dyn Progress,
) -> Result<(Vec<u8>, Sha256), Error> {
    let plain = release.index(path);
    if let Some((sha, size)) = plain {
        if let Some(data) = cache.read(&sha, Some(size))? {
            progress.finished(
                &source.dist_url(path),
                &TransferStats {
                    bytes: size,
                    elapsed: Duration::ZERO,
                    from_cache: true,
                },
            );
            return Ok((data, sha));
        }
    }
    let mut last_error = None;
    for ext in [".xz", ".gz", ""] {
        let file = format!("{path}{ext}");
        let Some((sha, size)) = release.index(&file) else {
            continue;
        };
        let by_hash = match file.rsplit_once('/') {
            Some((dir, _)) if release.acquire_by_hash => {
                Some(source.dist_url(&format!("{dir}/by-hash/SHA256/{}", sha.to_hex())))
            }
            _ => None,
        };
        let direct = source.dist_url(&file);
        let fetched = match by_hash {
            Some(url) => match client.get_verified(&url, sha, size, progress) {
                Err(Error::HttpStatus { status: 404, .. }) => {
                    client.get_verified(&direct, sha, size, progress)
                }
                other => other,
            },
            None => client.get_verified(&direct, sha, size, progress),
        };
        // Another compression of the same index may be served right.
        let compressed = match fetched {
            Ok(compressed) => compressed,
            Err(error) if is_mirror_fault(&error) => {
                last_error.get_or_insert(error);
                continue;
            }
            Err(error) => return Err(error),
        };
        let data = decompress(ext, &compressed).map_err(|message| Error::Parse {
            origin: direct.clone(),
            line: 0,
            message,
        })?;
        let key = match plain {
            Some((plain_sha, plain_size)) => {
                let actual = Sha256::of(&data);
                if data.len() as u64 != plain_size {
                    return Err(Error::SizeMismatch {
                        url: format!("{direct} (decompressed)"),
                        expected: plain_size,
                        actual: data.len() as u64,
                    });
                }
                if actual != plain_sha {
                    return Err(Error::HashMismatch {
                        url: format!("{direct} (decompressed)"),
                        expected: plain_sha.to_hex(),
                        actual: actual.to_hex(),
                    });
                }
                plain_sha
            }
            None => Sha256::of(&data),
        };
        cache.insert(&key, &data, &direct)?;
        if !ext.is_empty() {
            // Kept too, so the exact files the archive served can be handed on (a local
            // mirror for apt in tests, an audit).
            cache.insert(&sha, &compressed, &direct)?;
        }
        return Ok((data, key));
    }
    Err(last_error.unwrap_or_else(|| Error::MissingIndex {
        release: release_url.to_owned(),
        path: path.to_owned(),
    }))
}

/// Whether an index download failed because the mirror served the wrong bytes or none
/// (after the retries), rather than the request being wrong.
fn is_mirror_fault(error: &Error) -> bool {
    matches!(
        error,
        Error::HashMismatch { .. }
            | Error::SizeMismatch { .. }
            | Error::HttpStatus { status: 404, .. }
    )
}

fn decompress(ext: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(data.len() * 6);
    match ext {
        ".xz" => liblzma::read::XzDecoder::new(data)
            .read_to_end(&mut out)
            .map_err(|e| format!("bad xz data: {e}"))?,
        ".gz" => flate2::read::MultiGzDecoder::new(data)
            .read_to_end(&mut out)
            .map_err(|e| format!("bad gzip data: {e}"))?,
        _ => return Ok(data.to_vec()),
    };
    Ok(out)
}

/// The `file name sha256` records of the local `.deb`s in `dirs` (what a lock request
/// records), without the archive.
pub fn local_deb_records(dirs: &[PathBuf]) -> Result<Vec<String>, Error> {
    let mut scratch = Universe::new("");
    load_local_debs(&mut scratch, dirs, &NoProgress)
}

fn load_local_debs(
    universe: &mut Universe,
    dirs: &[PathBuf],
    progress: &dyn Progress,
) -> Result<Vec<String>, Error> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for dir in dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                progress.message(&format!(
                    "{}: package directory does not exist yet",
                    dir.display()
                ));
                continue;
            }
            Err(e) => return Err(Error::from(PathError::new(dir, e))),
        };
        for entry in entries {
            let path = entry.at(dir)?.path();
            if path.extension().is_some_and(|ext| ext == "deb") && path.is_file() {
                let name = path
                    .file_name()
                    .expect("a file")
                    .to_string_lossy()
                    .into_owned();
                files.push((name, path));
            }
        }
    }
    files.sort();
    let mut recorded = Vec::new();
    if files.is_empty() {
        return Ok(recorded);
    }
    let origin = universe.add_origin(Origin {
        suite: LOCAL_SUITE.to_owned(),
        component: String::new(),
        priority: 1000,
    });
    for (name, path) in files {
        let data = std::fs::read(&path).at(&path)?;
        let sha = Sha256::of(&data);
        let deb_error = |e: build_vocab::Error| Error::Deb {
            path: path.clone(),
            message: e.to_string(),
        };
        let members = read_control_members(&data[..], &Limits::default()).map_err(deb_error)?;
        let control = members.control_text().map_err(deb_error)?;
        let paragraph = paragraphs(control)
            .next()
            .ok_or_else(|| Error::Deb {
                path: path.clone(),
                message: "empty control file".into(),
            })?
            .map_err(|e| Error::from(e).with_origin(&path.display().to_string()))?;
        universe
            .add_paragraph(&paragraph, origin, Some((&name, data.len() as u64, sha)))
            .map_err(|e| e.with_origin(&path.display().to_string()))?;
        recorded.push(format!("{name} {sha}"));
    }
    Ok(recorded)
}

/// Where the `.deb`s of a lock are fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchSources {
    /// The suites, each with its archive root (ending in `/`).
    pub suites: Vec<SuiteSource>,
    /// The snapshot service's base URL (ending in `/`): where a locked file the mirror no
    /// longer serves is looked for, in the snapshot of its suite's locked Release date.
    pub snapshot_service: Option<String>,
    /// Directories searched for `local` packages.
    pub local_dirs: Vec<PathBuf>,
}

impl FetchSources {
    /// The sources of an archive spec plus local package directories.
    pub fn new(spec: &ArchiveSpec, local_dirs: &[PathBuf]) -> Self {
        Self {
            suites: spec.suites.clone(),
            snapshot_service: spec.snapshot_service.clone(),
            local_dirs: local_dirs.to_vec(),
        }
    }

    /// The snapshot URLs to try, in order, for a locked file of `suite` whose lock records
    /// the Release `date`: the snapshot a day after that date, then the one at it. A
    /// snapshot service answers a time with the last snapshot taken at or before it, and
    /// takes its snapshots some hours after the archive publishes, so the later time finds
    /// the Release's files even when they were new in it; the earlier one is for a file
    /// removed within a day.
    pub fn snapshot_urls(&self, suite: &str, date: Option<&str>, path: &str) -> Vec<String> {
        let (Some(service), Some(date)) = (&self.snapshot_service, date) else {
            return Vec::new();
        };
        let Some(released) = crate::release::parse_date(date) else {
            return Vec::new();
        };
        // Only Debian's own archives have snapshots.
        let kind = self
            .suites
            .iter()
            .find(|source| source.suite == suite)
            .map_or_else(|| SuiteKind::of_suite(suite), |source| source.kind);
        let Some(archive) = kind.archive_name() else {
            return Vec::new();
        };
        [released + 86_400, released]
            .into_iter()
            .map(|time| format!("{service}archive/{archive}/{}/{path}", snapshot_id(time)))
            .collect()
    }
}

/// A snapshot id (`20260912T075541Z`) for a Unix time.
pub fn snapshot_id(unix_seconds: i64) -> String {
    let t = build_vocab::calendar::UtcDateTime::from_unix(unix_seconds);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// A `.deb` whose sha256 was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDeb {
    /// Which package it is, as the lock names it.
    pub id: PackageId,
    /// The verified file (in the cache, or in a local package directory).
    pub path: PathBuf,
    /// Its sha256.
    pub sha256: Sha256,
    /// Its size.
    pub size: u64,
    /// Image or build overlay only.
    pub set: PackageSet,
}

/// Fetches every package of `lock` into `cache` (in parallel, verified) and returns them in
/// lock order. Packages already in the cache are verified and not downloaded again.
pub fn fetch(
    lock: &Lock,
    sources: &FetchSources,
    cache: &Cache,
    options: &FetchOptions,
    progress: &dyn Progress,
) -> Result<Vec<VerifiedDeb>, Error> {
    let client = HttpClient::new(options.retry);
    let verified = |package: &LockedPackage, path: PathBuf| VerifiedDeb {
        id: package.id(),
        path,
        sha256: package.sha256,
        size: package.size,
        set: package.set,
    };
    let fetch_one = |package: &LockedPackage| -> Result<VerifiedDeb, Error> {
        let item = format!(
            "{}_{}_{}.deb",
            package.name, package.version, package.architecture
        );
        if package.suite == LOCAL_SUITE {
            return fetch_local(package, &sources.local_dirs).map(|path| verified(package, path));
        }
        if let Some(path) = cache.get(&package.sha256, Some(package.size))? {
            progress.finished(
                &item,
                &TransferStats {
                    bytes: package.size,
                    elapsed: Duration::ZERO,
                    from_cache: true,
                },
            );
            return Ok(verified(package, path));
        }
        let base = sources
            .suites
            .iter()
            .find(|source| source.suite == package.suite)
            .map(|source| &source.base_url)
            .ok_or_else(|| Error::NotInSet {
                name: package.name.to_string(),
                message: format!(
                    "comes from suite `{}`, which no source provides",
                    package.suite
                ),
            })?;
        let url = format!("{base}{}", package.path);
        let download = |url: &str| {
            client.download_to_cache(url, package.sha256, package.size, cache, progress, &item)
        };
        match download(&url) {
            Err(Error::HttpStatus { status: 404, .. }) => {}
            other => return other.map(|path| verified(package, path)),
        }
        let date = lock
            .sources
            .iter()
            .find(|source| source.suite == package.suite)
            .and_then(|source| source.date.as_deref());
        let snapshot_urls = sources.snapshot_urls(&package.suite, date, &package.path);
        for snapshot_url in &snapshot_urls {
            match download(snapshot_url) {
                Err(Error::HttpStatus { status: 404, .. }) => continue,
                Err(error) => return Err(error),
                Ok(path) => {
                    progress.message(&format!(
                        "{item}: gone from the mirror, fetched from {snapshot_url}"
                    ));
                    return Ok(verified(package, path));
                }
            }
        }
        Err(Error::LockedFileGone {
            package: item.clone(),
            url,
            snapshot_urls,
        })
    };
    let results: Vec<Mutex<Option<Result<VerifiedDeb, Error>>>> =
        lock.packages.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = options
        .parallel
        .clamp(1, 16)
        .min(lock.packages.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(package) = lock.packages.get(index) else {
                        break;
                    };
                    let result = fetch_one(package);
                    let failed = result.is_err();
                    *results[index].lock().expect("no poisoned lock") = Some(result);
                    if failed {
                        // Stop handing out work; running downloads finish.
                        next.store(usize::MAX / 2, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let mut out = Vec::with_capacity(lock.packages.len());
    for slot in results {
        match slot.into_inner().expect("no poisoned lock") {
            Some(Ok(deb)) => out.push(deb),
            Some(Err(error)) => return Err(error),
            None => {}
        }
    }
    if out.len() != lock.packages.len() {
        return Err(Error::Http {
            url: String::new(),
            message: "fetch stopped early".into(),
        });
    }
    Ok(out)
}

fn fetch_local(package: &LockedPackage, dirs: &[PathBuf]) -> Result<PathBuf, Error> {
    for dir in dirs {
        let path = dir.join(&package.path);
        let data = match std::fs::read(&path) {
            Ok(data) => data,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::from(PathError::new(&path, e))),
        };
        let actual = Sha256::of(&data);
        if data.len() as u64 != package.size {
            return Err(Error::SizeMismatch {
                url: path.display().to_string(),
                expected: package.size,
                actual: data.len() as u64,
            });
        }
        if actual != package.sha256 {
            return Err(Error::HashMismatch {
                url: path.display().to_string(),
                expected: package.sha256.to_hex(),
                actual: actual.to_hex(),
            });
        }
        return Ok(path);
    }
    Err(Error::NotInSet {
        name: package.name.to_string(),
        message: format!(
            "is a local package but `{}` is in no package directory",
            package.path
        ),
    })
}
