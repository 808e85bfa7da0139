//! End-to-end tests of the I/O edge against a tiny archive served on 127.0.0.1 by
//! [`crate::loopback::Server`]: a signed `InRelease` (a throwaway test key), `Packages.xz`, and
//! `.deb`s built by the test. Each integrity failure is served for real over HTTP, and the
//! tests check the typed error and that nothing bad was left in the cache.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use config_model::{Architecture, Distribution, ImageConfig};

use super::*;
use crate::archive::ArchiveOptions;
use crate::loopback::Reply;
use crate::resolve::{LockMode, LockOrigin, ResolveOptions, resolve, resolve_with_lock};
use crate::signature::testing::TestKey;
use crate::solver::BaseSet;
use build_vocab::debian::testdeb;

/// The test archive's server: a table of paths, which tests change while it runs.
struct Server {
    files: Arc<Mutex<BTreeMap<String, Reply>>>,
    server: crate::loopback::Server,
}

impl Server {
    fn start() -> Self {
        let files: Arc<Mutex<BTreeMap<String, Reply>>> = Arc::default();
        let table = files.clone();
        let server =
            crate::loopback::Server::start(move |path| table.lock().unwrap().get(path).cloned());
        Self { files, server }
    }

    fn url(&self) -> String {
        format!("{}debian", self.base())
    }

    /// The server's root URL, ending in `/`.
    fn base(&self) -> String {
        self.server.url()
    }

    fn put(&self, path: &str, reply: Reply) {
        self.files.lock().unwrap().insert(path.to_owned(), reply);
    }

    fn remove(&self, path: &str) {
        self.files.lock().unwrap().remove(path);
    }

    fn requests(&self) -> usize {
        self.server.requests().len()
    }
}

const DATE: &str = "Sat, 12 Sep 2026 07:55:41 UTC";
const VALID_UNTIL: &str = "Sat, 19 Sep 2026 07:55:41 UTC";
/// A "now" inside the validity window of the test Release.
fn now() -> i64 {
    crate::release::parse_date(DATE).unwrap() + 3600
}

/// The test archive: its files, so tests can tamper with them before serving.
struct TestArchive {
    key: TestKey,
    debs: BTreeMap<String, Vec<u8>>,
    packages: String,
    /// `trixie-security`: a security update of `libhello`, in the security archive.
    security_debs: BTreeMap<String, Vec<u8>>,
    security_packages: String,
}

/// The `Packages` paragraph of a `.deb` in the pool at `path`.
fn index_entry(control: &str, path: &str, deb: &[u8]) -> String {
    format!(
        "{control}Filename: {path}\nSize: {}\nSHA256: {}\n\n",
        deb.len(),
        Sha256::of(deb)
    )
}

impl TestArchive {
    fn new() -> Self {
        let mut debs = BTreeMap::new();
        let mut packages = String::new();
        for (name, control) in [
            (
                "hello",
                "Package: hello\nVersion: 1.0-1\nArchitecture: amd64\nDepends: libhello (>= 1.0)\n",
            ),
            (
                "libhello",
                "Package: libhello\nVersion: 1.0-1\nArchitecture: amd64\nMulti-Arch: same\n",
            ),
            (
                "unrelated",
                "Package: unrelated\nVersion: 2\nArchitecture: all\n",
            ),
        ] {
            let deb = minimal_deb(control);
            let path = format!("pool/main/{}/{name}/{name}_1.0-1_amd64.deb", &name[..1]);
            packages.push_str(&index_entry(control, &path, &deb));
            debs.insert(path, deb);
        }
        let control =
            "Package: libhello\nVersion: 1.0-1+deb13u1\nArchitecture: amd64\nMulti-Arch: same\n";
        let deb = minimal_deb(control);
        let path = "pool/updates/main/l/libhello/libhello_1.0-1+deb13u1_amd64.deb".to_owned();
        let security_packages = index_entry(control, &path, &deb);
        Self {
            key: TestKey::generate(42),
            debs,
            packages,
            security_debs: BTreeMap::from([(path, deb)]),
            security_packages,
        }
    }

    fn release(&self, codename: &str, packages_xz: &[u8]) -> String {
        self.release_of(codename, &self.packages, packages_xz)
    }

    fn release_of(&self, codename: &str, packages: &str, packages_xz: &[u8]) -> String {
        format!(
            "Origin: Test\nSuite: stable\nCodename: {codename}\nDate: {DATE}\nValid-Until: {VALID_UNTIL}\n\
             Architectures: amd64\nComponents: main\nNo-Support-for-Architecture-all: Packages\nSHA256:\n \
             {} {} main/binary-amd64/Packages\n {} {} main/binary-amd64/Packages.xz\n",
            Sha256::of(packages.as_bytes()),
            packages.len(),
            Sha256::of(packages_xz),
            packages_xz.len()
        )
    }

    /// Serves everything, honest: the archive at `/debian`, the security archive at
    /// `/debian-security`.
    fn serve(&self, server: &Server) {
        self.serve_at(server, "/debian", "/debian-security");
    }

    /// Serves everything under the given archive roots (`/debian`, or a snapshot's).
    fn serve_at(&self, server: &Server, debian: &str, security: &str) {
        for (root, suite, packages, debs) in [
            (debian, "trixie", &self.packages, &self.debs),
            (
                security,
                "trixie-security",
                &self.security_packages,
                &self.security_debs,
            ),
        ] {
            let xz = xz(packages.as_bytes());
            server.put(
                &format!("{root}/dists/{suite}/InRelease"),
                Reply::Bytes(self.key.clearsign(&self.release_of(suite, packages, &xz))),
            );
            server.put(
                &format!("{root}/dists/{suite}/main/binary-amd64/Packages.xz"),
                Reply::Bytes(xz),
            );
            for (path, deb) in debs {
                server.put(&format!("{root}/{path}"), Reply::Bytes(deb.clone()));
            }
        }
    }
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut encoder = liblzma::write::XzEncoder::new(Vec::new(), 6);
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

struct Setup {
    server: Server,
    archive: TestArchive,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let server = Server::start();
        let archive = TestArchive::new();
        archive.serve(&server);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keyring.gpg"), archive.key.keyring_bytes()).unwrap();
        Self {
            server,
            archive,
            dir,
        }
    }

    fn cache(&self) -> Cache {
        Cache::new(self.dir.path().join("cache"))
    }

    fn config(&self, packages: &[&str]) -> ImageConfig {
        let mut config = ImageConfig::default();
        config.distribution.distribution = Some(Distribution::Debian);
        config.distribution.release = Some("trixie".into());
        config.distribution.architecture = Some(Architecture::X86_64);
        config.distribution.mirror = Some(self.server.url());
        config.content.packages = packages.iter().map(|p| p.parse().unwrap()).collect();
        config
    }

    fn options(&self) -> ResolveOptions {
        ResolveOptions {
            archive: ArchiveOptions {
                keyring: self.dir.path().join("keyring.gpg"),
                ..ArchiveOptions::default()
            },
            fetch: FetchOptions {
                now: now(),
                parallel: 2,
                retry: RetryPolicy {
                    retries: 1,
                    backoff: Duration::from_millis(1),
                    connect_timeout: Duration::from_secs(5),
                    body_timeout: Duration::from_secs(10),
                },
            },
            base: BaseSet::Essential,
            installed: Vec::new(),
        }
    }

    fn resolve(&self, config: &ImageConfig) -> Result<crate::resolve::Resolution, Error> {
        resolve(config, &self.options(), &self.cache(), &NoProgress)
    }

    fn sources(&self, config: &ImageConfig) -> FetchSources {
        let spec = ArchiveSpec::from_config(config, &self.options().archive).unwrap();
        FetchSources::new(&spec, &[])
    }

    /// Every file under the cache (temporary files included).
    fn cached_files(&self) -> Vec<PathBuf> {
        walk(&self.dir.path().join("cache"))
    }
}

/// The files (not directories) below `dir`, none when it does not exist.
fn walk(dir: &Path) -> Vec<PathBuf> {
    if !dir.exists() {
        return Vec::new();
    }
    build_vocab::walk::walk(dir)
        .map(Result::unwrap)
        .filter(|found| !found.metadata.is_dir())
        .map(|found| found.path)
        .collect()
}

#[test]
fn resolve_lock_fetch_and_reuse_end_to_end() {
    let setup = Setup::new();
    let config = setup.config(&["hello"]);
    let resolution = setup.resolve(&config).unwrap();
    let names: Vec<_> = resolution
        .lock
        .packages
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["hello", "libhello"]);
    assert_eq!(resolution.lock.sources[0].suite, "trixie");
    assert_eq!(resolution.lock.sources[0].date.as_deref(), Some(DATE));
    // The lock names no mirror: it can be used with any archive location.
    assert!(!resolution.lock.to_toml().contains("127.0.0.1"));

    // Fetch: verified files in the cache; a second fetch downloads nothing.
    let sources = setup.sources(&config);
    let options = setup.options();
    let debs = fetch(
        &resolution.lock,
        &sources,
        &setup.cache(),
        &options.fetch,
        &NoProgress,
    )
    .unwrap();
    assert_eq!(debs.len(), 2);
    for deb in &debs {
        assert_eq!(Sha256::of(&std::fs::read(&deb.path).unwrap()), deb.sha256);
    }
    let before = setup.server.requests();
    fetch(
        &resolution.lock,
        &sources,
        &setup.cache(),
        &options.fetch,
        &NoProgress,
    )
    .unwrap();
    assert_eq!(
        setup.server.requests(),
        before,
        "everything came from the cache"
    );

    // A corrupted cache entry is detected and fetched again.
    std::fs::write(&debs[0].path, b"corrupted").unwrap();
    let again = fetch(
        &resolution.lock,
        &sources,
        &setup.cache(),
        &options.fetch,
        &NoProgress,
    )
    .unwrap();
    assert_eq!(setup.server.requests(), before + 1);
    assert_eq!(
        Sha256::of(&std::fs::read(&again[0].path).unwrap()),
        again[0].sha256
    );

    // An up-to-date lock is used without reading the archive.
    let lock = resolution.lock.clone();
    let before = setup.server.requests();
    let outcome = resolve_with_lock(
        &config,
        &options,
        Some(&lock),
        LockMode::Locked,
        &setup.cache(),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(outcome.origin, LockOrigin::Reused);
    assert_eq!(outcome.lock, lock);
    assert_eq!(setup.server.requests(), before);

    // A changed request: --locked refuses and names the stale entry; otherwise re-resolves.
    let changed = setup.config(&["hello", "unrelated"]);
    let err = resolve_with_lock(
        &changed,
        &options,
        Some(&lock),
        LockMode::Locked,
        &setup.cache(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::LockStale { reasons } if reasons == &["Packages= `unrelated` is not in the lock"]),
        "{err}"
    );
    let outcome = resolve_with_lock(
        &changed,
        &options,
        Some(&lock),
        LockMode::Update,
        &setup.cache(),
        &NoProgress,
    )
    .unwrap();
    assert!(matches!(outcome.origin, LockOrigin::Resolved { .. }));
    assert_eq!(outcome.lock.packages.len(), 3);

    // why: the chain from the request.
    let why = resolution.why("libhello", PackageSet::Image).unwrap();
    assert_eq!(why.steps.len(), 2);
    assert_eq!(why.steps[1].via, "Depends: libhello (>= 1.0)");
}

#[test]
fn tampered_inrelease_is_refused() {
    let setup = Setup::new();
    let xz = xz(setup.archive.packages.as_bytes());
    let signed = String::from_utf8(
        setup
            .archive
            .key
            .clearsign(&setup.archive.release("trixie", &xz)),
    )
    .unwrap();
    let tampered = signed.replace("Origin: Test", "Origin: Evil");
    setup.server.put(
        "/debian/dists/trixie/InRelease",
        Reply::Bytes(tampered.into_bytes()),
    );
    let err = setup.resolve(&setup.config(&["hello"])).unwrap_err();
    assert!(matches!(err, Error::BadSignature { .. }), "{err}");
    assert!(err.to_string().contains("signature check failed"), "{err}");
    assert!(
        setup.cached_files().is_empty(),
        "{:?}",
        setup.cached_files()
    );

    // An unsigned Release is refused too, unless the configuration trusts the archive.
    setup.server.put(
        "/debian/dists/trixie/InRelease",
        Reply::Bytes(setup.archive.release("trixie", &xz).into_bytes()),
    );
    let err = setup.resolve(&setup.config(&["hello"])).unwrap_err();
    assert!(matches!(err, Error::BadSignature { .. }), "{err}");
    let mut trusting = setup.config(&["hello"]);
    trusting.distribution.repository_key_check = Some(false);
    setup.resolve(&trusting).unwrap();
}

#[test]
fn expired_and_misplaced_releases_are_refused() {
    let setup = Setup::new();
    let config = setup.config(&["hello"]);
    let mut options = setup.options();
    options.fetch.now = crate::release::parse_date(VALID_UNTIL).unwrap() + 1;
    let err = resolve(&config, &options, &setup.cache(), &NoProgress).unwrap_err();
    assert!(matches!(err, Error::Expired { .. }), "{err}");

    // A snapshot is old on purpose: Valid-Until does not apply.
    let mut snapshot = config.clone();
    snapshot.distribution.snapshot = Some("20260912T000000Z".into());
    // Without Mirror=, the snapshot service named by the caller is read.
    snapshot.distribution.mirror = None;
    options.archive.snapshot_service = Some(setup.server.base());
    setup.archive.serve_at(
        &setup.server,
        "/archive/debian/20260912T000000Z",
        "/archive/debian-security/20260912T000000Z",
    );
    resolve(&snapshot, &options, &setup.cache(), &NoProgress).unwrap();

    // A validly signed Release of another suite served in place of this one.
    let xz = xz(setup.archive.packages.as_bytes());
    setup.server.put(
        "/debian/dists/trixie/InRelease",
        Reply::Bytes(
            setup
                .archive
                .key
                .clearsign(&setup.archive.release("forky", &xz)),
        ),
    );
    let err = setup.resolve(&config).unwrap_err();
    assert!(matches!(err, Error::WrongRelease { .. }), "{err}");
}

#[test]
fn security_updates_are_read_and_locked() {
    let setup = Setup::new();
    let lock = setup.resolve(&setup.config(&["hello"])).unwrap().lock;
    let libhello = lock.packages.iter().find(|p| p.name == "libhello").unwrap();
    assert_eq!(
        (libhello.version.as_str(), libhello.suite.as_str()),
        ("1.0-1+deb13u1", "trixie-security")
    );
    let suites: Vec<_> = lock.sources.iter().map(|s| s.suite.as_str()).collect();
    assert_eq!(suites, ["trixie", "trixie-security"]);
    assert!(lock.request.suites.contains(&"trixie-security".to_owned()));

    // A mirror without the security archive is an error that names it, not an image
    // without security updates.
    setup
        .server
        .remove("/debian-security/dists/trixie-security/InRelease");
    let err = setup.resolve(&setup.config(&["hello"])).unwrap_err();
    assert!(
        matches!(&err, Error::HttpStatus { url, status: 404 } if url.ends_with("/debian-security/dists/trixie-security/InRelease")),
        "{err}"
    );
}

#[test]
fn locked_files_the_mirror_dropped_come_from_the_snapshot_of_their_release() {
    let setup = Setup::new();
    let config = setup.config(&["hello"]);
    let lock = setup.resolve(&config).unwrap().lock;
    // A point release later: the mirror no longer has the locked hello.
    let (path, deb) = setup
        .archive
        .debs
        .iter()
        .find(|(p, _)| p.contains("/hello_"))
        .unwrap();
    setup.server.remove(&format!("/debian/{path}"));

    // No snapshot service named: the error says what is gone and what to do.
    let err = fetch(
        &lock,
        &setup.sources(&config),
        &setup.cache(),
        &setup.options().fetch,
        &NoProgress,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(&err, Error::LockedFileGone { package, snapshot_urls, .. }
            if package == "hello_1.0-1_amd64.deb" && snapshot_urls.is_empty()),
        "{text}"
    );
    assert!(text.contains(&format!("/debian/{path}")), "{text}");
    assert!(text.contains("FLASHBOX_SNAPSHOT_MIRROR"), "{text}");

    // The service has no snapshot with it either: both URLs are named.
    let mut options = setup.options();
    options.archive.snapshot_service = Some(setup.server.base());
    let spec = ArchiveSpec::from_config(&config, &options.archive).unwrap();
    let sources = FetchSources::new(&spec, &[]);
    let err = fetch(&lock, &sources, &setup.cache(), &options.fetch, &NoProgress).unwrap_err();
    let day_after = "20260913T075541Z";
    assert!(
        matches!(&err, Error::LockedFileGone { snapshot_urls, .. }
        if snapshot_urls == &[
            format!("{}archive/debian/{day_after}/{path}", setup.server.base()),
            format!("{}archive/debian/20260912T075541Z/{path}", setup.server.base()),
        ]),
        "{err}"
    );

    // The snapshot taken after the locked Release has it: fetched and verified from there.
    setup.server.put(
        &format!("/archive/debian/{day_after}/{path}"),
        Reply::Bytes(deb.clone()),
    );
    let debs = fetch(&lock, &sources, &setup.cache(), &options.fetch, &NoProgress).unwrap();
    let hello = debs.iter().find(|d| d.id.name == "hello").unwrap();
    assert_eq!(std::fs::read(&hello.path).unwrap(), *deb);

    // A snapshot serving other bytes under that name is refused like a bad mirror.
    std::fs::remove_file(&hello.path).unwrap();
    let mut evil = deb.clone();
    let last = evil.len() - 1;
    evil[last] ^= 0xff;
    setup.server.put(
        &format!("/archive/debian/{day_after}/{path}"),
        Reply::Bytes(evil),
    );
    let err = fetch(&lock, &sources, &setup.cache(), &options.fetch, &NoProgress).unwrap_err();
    assert!(matches!(err, Error::HashMismatch { .. }), "{err}");
}

#[test]
fn snapshot_ids_are_utc_timestamps() {
    assert_eq!(
        snapshot_id(crate::release::parse_date(DATE).unwrap()),
        "20260912T075541Z"
    );
    assert_eq!(snapshot_id(0), "19700101T000000Z");
}

#[test]
fn packages_index_with_a_wrong_hash_is_refused() {
    let setup = Setup::new();
    let mut other = setup.archive.packages.clone();
    other.push_str("Package: injected\nVersion: 1\nArchitecture: amd64\n\n");
    setup.server.put(
        "/debian/dists/trixie/main/binary-amd64/Packages.xz",
        Reply::Bytes(xz(other.as_bytes())),
    );
    let err = setup.resolve(&setup.config(&["hello"])).unwrap_err();
    assert!(
        matches!(&err, Error::HashMismatch { url, .. } | Error::SizeMismatch { url, .. } if url.ends_with("Packages.xz")),
        "{err}"
    );
    assert!(
        setup.cached_files().is_empty(),
        "{:?}",
        setup.cached_files()
    );
}

#[test]
fn deb_with_a_wrong_hash_is_refused_and_not_cached() {
    let setup = Setup::new();
    let config = setup.config(&["hello"]);
    let lock = setup.resolve(&config).unwrap().lock;
    let before = setup.cached_files();
    // Same length, different bytes.
    let (path, deb) = setup
        .archive
        .debs
        .iter()
        .find(|(p, _)| p.contains("/hello_"))
        .unwrap();
    let mut evil = deb.clone();
    let last = evil.len() - 1;
    evil[last] ^= 0xff;
    setup
        .server
        .put(&format!("/debian/{path}"), Reply::Bytes(evil));
    let err = fetch(
        &lock,
        &setup.sources(&config),
        &setup.cache(),
        &setup.options().fetch,
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::HashMismatch { url, .. } if url.ends_with("hello_1.0-1_amd64.deb")),
        "{err}"
    );
    let after: Vec<_> = setup
        .cached_files()
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    assert!(
        after.iter().all(|f| !f
            .to_string_lossy()
            .contains(&lock.packages[0].sha256.to_hex())
            && !f.to_string_lossy().contains(".tmp-")),
        "{after:?}"
    );
}

#[test]
fn truncated_download_is_refused_and_not_cached() {
    let setup = Setup::new();
    let config = setup.config(&["hello"]);
    let lock = setup.resolve(&config).unwrap().lock;
    let before = setup.cached_files();
    let (path, deb) = setup
        .archive
        .debs
        .iter()
        .find(|(p, _)| p.contains("/hello_"))
        .unwrap();
    setup
        .server
        .put(&format!("/debian/{path}"), Reply::Truncated(deb.clone()));
    let err = fetch(
        &lock,
        &setup.sources(&config),
        &setup.cache(),
        &setup.options().fetch,
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::SizeMismatch { expected, actual, .. } if *actual < *expected),
        "{err}"
    );
    let hello = &lock.packages[0];
    assert_eq!(hello.name, "hello");
    let after: Vec<_> = setup
        .cached_files()
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    assert!(
        after
            .iter()
            .all(|f| !f.to_string_lossy().contains(&hello.sha256.to_hex())),
        "{after:?}"
    );
}

#[test]
fn local_debs_take_part_and_are_verified() {
    let setup = Setup::new();
    let local = setup.dir.path().join("packages");
    std::fs::create_dir_all(&local).unwrap();
    let deb = minimal_deb("Package: tool\nVersion: 0.1\nArchitecture: amd64\nDepends: hello\n");
    std::fs::write(local.join("tool_0.1_amd64.deb"), &deb).unwrap();
    let mut config = setup.config(&["tool"]);
    config.content.package_directories = vec![local.clone()];
    let resolution = setup.resolve(&config).unwrap();
    let tool = resolution
        .lock
        .packages
        .iter()
        .find(|p| p.name == "tool")
        .unwrap();
    assert_eq!(
        (tool.suite.as_str(), tool.path.as_str()),
        ("local", "tool_0.1_amd64.deb")
    );
    assert_eq!(resolution.lock.request.local_debs.len(), 1);
    let sources = FetchSources::new(
        &ArchiveSpec::from_config(&config, &setup.options().archive).unwrap(),
        std::slice::from_ref(&local),
    );
    let debs = fetch(
        &resolution.lock,
        &sources,
        &setup.cache(),
        &setup.options().fetch,
        &NoProgress,
    )
    .unwrap();
    assert!(
        debs.iter()
            .any(|d| d.path == local.join("tool_0.1_amd64.deb"))
    );

    // A local .deb changed after locking: the lock is stale, and fetching refuses it.
    std::fs::write(
        local.join("tool_0.1_amd64.deb"),
        minimal_deb("Package: tool\nVersion: 0.1\nArchitecture: amd64\n"),
    )
    .unwrap();
    let err = fetch(
        &resolution.lock,
        &sources,
        &setup.cache(),
        &setup.options().fetch,
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::SizeMismatch { .. } | Error::HashMismatch { .. }),
        "{err}"
    );
    let err = resolve_with_lock(
        &config,
        &setup.options(),
        Some(&resolution.lock),
        LockMode::Locked,
        &setup.cache(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(err.to_string().contains("local package"), "{err}");
}

#[test]
fn progress_reports_bytes() {
    #[derive(Default)]
    struct Recorder(Mutex<Vec<(String, u64, bool)>>);
    impl Progress for Recorder {
        fn finished(&self, item: &str, stats: &TransferStats) {
            self.0
                .lock()
                .unwrap()
                .push((item.to_owned(), stats.bytes, stats.from_cache));
        }
    }
    let setup = Setup::new();
    let config = setup.config(&["hello"]);
    let lock = setup.resolve(&config).unwrap().lock;
    let recorder = Recorder::default();
    fetch(
        &lock,
        &setup.sources(&config),
        &setup.cache(),
        &setup.options().fetch,
        &recorder,
    )
    .unwrap();
    let mut seen = recorder.0.into_inner().unwrap();
    seen.sort();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, "hello_1.0-1_amd64.deb");
    assert_eq!(seen[0].1, lock.packages[0].size);
    assert!(!seen[0].2);
}

/// A `.deb` with `control` as its control file and no data.
fn minimal_deb(control: &str) -> Vec<u8> {
    testdeb::deb_bytes(control, &[], &[], testdeb::TestCompression::Gz)
}

/// A vendor repository of the test server, signed by its own key: one package that needs
/// one of the Debian test archive's.
fn serve_vendor_repository(setup: &Setup, key: &TestKey) {
    let control = "Package: vendortool\nVersion: 3.0\nArchitecture: amd64\nDepends: hello\n";
    let deb = minimal_deb(control);
    let path = "pool/main/v/vendortool/vendortool_3.0_amd64.deb";
    let packages = index_entry(control, path, &deb);
    let xz = xz(packages.as_bytes());
    let release = setup
        .archive
        .release_of("stable", &packages, &xz)
        .replace("Codename: stable", "Codename: vendor");
    setup.server.put(
        "/vendor/dists/stable/InRelease",
        Reply::Bytes(key.clearsign(&release)),
    );
    setup.server.put(
        "/vendor/dists/stable/main/binary-amd64/Packages.xz",
        Reply::Bytes(xz),
    );
    setup
        .server
        .put(&format!("/vendor/{path}"), Reply::Bytes(deb));
}

#[test]
fn sandbox_trees_add_repositories_with_their_own_keys() {
    let setup = Setup::new();
    let vendor_key = TestKey::generate(7);
    serve_vendor_repository(&setup, &vendor_key);
    let tree = setup.dir.path().join("mkosi.sandbox");
    let keyrings = tree.join("etc/apt/keyrings");
    std::fs::create_dir_all(&keyrings).unwrap();
    std::fs::write(keyrings.join("vendor.gpg"), vendor_key.keyring_bytes()).unwrap();
    let sources = tree.join("etc/apt/sources.list.d");
    std::fs::create_dir_all(&sources).unwrap();
    std::fs::write(
        sources.join("vendor.sources"),
        format!(
            "Types: deb\nURIs: {}vendor\nSuites: stable\nComponents: main\n\
             Signed-By: /etc/apt/keyrings/vendor.gpg\n",
            setup.server.base()
        ),
    )
    .unwrap();
    let trees = [config_model::Tree {
        source: tree.clone(),
        target: None,
    }];
    let mut config = setup.config(&["vendortool"]);
    config.build.sandbox_trees = trees.to_vec();
    let mut options = setup.options();
    options.archive.sandbox = sandbox_apt(&trees).unwrap();
    let lock = resolve(&config, &options, &setup.cache(), &NoProgress)
        .unwrap()
        .lock;
    let vendortool = lock
        .packages
        .iter()
        .find(|p| p.name == "vendortool")
        .unwrap();
    assert_eq!(vendortool.suite, "stable");
    assert!(lock.packages.iter().any(|p| p.name == "hello"));
    assert!(lock.request.suites.contains(&"stable".to_owned()));
    let spec = ArchiveSpec::from_config(&config, &options.archive).unwrap();
    let debs = fetch(
        &lock,
        &FetchSources::new(&spec, &[]),
        &setup.cache(),
        &options.fetch,
        &NoProgress,
    )
    .unwrap();
    assert_eq!(debs.len(), lock.packages.len());

    // The vendor's Release signed by another key than the one its source names: refused.
    serve_vendor_repository(&setup, &TestKey::generate(8));
    let err = resolve(&config, &options, &setup.cache(), &NoProgress).unwrap_err();
    assert!(
        matches!(&err, Error::BadSignature { url, .. } if url.contains("/vendor/")),
        "{err}"
    );

    // What the builder does not act on is refused, with its path.
    let preferences = tree.join("etc/apt/preferences.d");
    std::fs::create_dir_all(&preferences).unwrap();
    std::fs::write(
        preferences.join("pin"),
        "Package: *\nPin: origin x\nPin-Priority: 1\n",
    )
    .unwrap();
    let err = sandbox_apt(&trees).unwrap_err().to_string();
    assert!(err.contains("/etc/apt/preferences.d/pin"), "{err}");
}

/// A `binary-all` index the mirror serves wrong is left out, with a warning, only where the
/// arch index lists the `Architecture: all` packages too; else it is an error.
#[test]
fn a_broken_binary_all_index_is_left_out_only_where_the_arch_index_has_its_packages() {
    let setup = Setup::new();
    let all_index = "Package: extra-all\nVersion: 1\nArchitecture: all\n\n";
    let serve = |packages: &str| {
        let xz_packages = xz(packages.as_bytes());
        let all_xz = xz(all_index.as_bytes());
        let release = setup
            .archive
            .release_of("trixie", packages, &xz_packages)
            .replace("No-Support-for-Architecture-all: Packages\n", "")
            + &format!(
                " {} {} main/binary-all/Packages.xz\n",
                Sha256::of(&all_xz),
                all_xz.len()
            );
        setup.server.put(
            "/debian/dists/trixie/InRelease",
            Reply::Bytes(setup.archive.key.clearsign(&release)),
        );
        setup.server.put(
            "/debian/dists/trixie/main/binary-amd64/Packages.xz",
            Reply::Bytes(xz_packages),
        );
        // Served wrong: other bytes than the Release names.
        setup.server.put(
            "/debian/dists/trixie/main/binary-all/Packages.xz",
            Reply::Bytes(xz(b"Package: stale\n")),
        );
    };
    /// Keeps the notices a load gives.
    #[derive(Default)]
    struct Notices(Mutex<Vec<String>>);
    impl Progress for Notices {
        fn message(&self, text: &str) {
            self.0.lock().unwrap().push(text.to_owned());
        }
    }
    // The test archive's arch index lists `unrelated`, an `Architecture: all` package.
    serve(&setup.archive.packages.clone());
    let notices = Notices::default();
    resolve(
        &setup.config(&["hello"]),
        &setup.options(),
        &setup.cache(),
        &notices,
    )
    .unwrap();
    let notices = notices.0.into_inner().unwrap();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("main/binary-all/Packages left out")),
        "{notices:?}"
    );

    let arch_only: String = setup
        .archive
        .packages
        .split("\n\n")
        .filter(|p| !p.is_empty() && !p.contains("Architecture: all"))
        .map(|p| format!("{p}\n\n"))
        .collect();
    serve(&arch_only);
    let err = setup.resolve(&setup.config(&["hello"])).unwrap_err();
    assert!(
        matches!(&err, Error::HashMismatch { url, .. } | Error::SizeMismatch { url, .. } if url.contains("binary-all")),
        "{err}"
    );
}

#[test]
fn on_a_base_tree_only_what_goes_on_top_is_locked() {
    let setup = Setup::new();
    let base = setup
        .resolve(&setup.config(&["libhello", "unrelated"]))
        .unwrap()
        .lock;
    let installed: Vec<build_vocab::PackageId> = base
        .packages
        .iter()
        .map(|p| {
            build_vocab::PackageId::parse(
                p.name.as_str(),
                p.version.as_str(),
                p.architecture.as_str(),
            )
            .unwrap()
        })
        .collect();
    assert!(!installed.is_empty());
    let mut options = setup.options();
    options.installed = installed.clone();
    let on_top = resolve(
        &setup.config(&["hello"]),
        &options,
        &setup.cache(),
        &NoProgress,
    )
    .unwrap()
    .lock;
    let names: Vec<&str> = on_top.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["hello"]);
    for package in &base.packages {
        assert!(
            !names.contains(&package.name.as_str()),
            "{} is in the base: {names:?}",
            package.name
        );
    }
    assert_eq!(on_top.request.installed.len(), installed.len());
    assert_ne!(
        on_top.request.hash,
        setup
            .resolve(&setup.config(&["hello"]))
            .unwrap()
            .lock
            .request
            .hash,
        "the base's packages are part of the request"
    );

    // A base built from another archive state cannot be extended.
    options.installed[0].version = "99:9".parse().unwrap();
    let err = resolve(
        &setup.config(&["hello"]),
        &options,
        &setup.cache(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::InstalledNotInArchive { package } if package.contains("99:9")),
        "{err}"
    );
}
