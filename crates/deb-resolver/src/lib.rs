//! A Debian archive client without apt: verified indexes, a dependency solver and a lockfile.
//!
//! # Goals
//! - **Trust nothing unverified.** `InRelease` signatures are checked with a pure-Rust
//!   OpenPGP implementation against the Debian archive keyring; every index and every `.deb`
//!   is checked against the sha256 the signed Release (or the lock) names *before* it is
//!   used, while it streams. Unsigned or badly signed archives are refused unless the
//!   configuration says `RepositoryKeyCheck=no`; expired Release files are refused (except in
//!   snapshots). Nothing unverified is ever written into the cache.
//! - **Choose what apt would choose.** dpkg's version order ([`DebVersion`]), dpkg's
//!   relationship and architecture rules, apt's candidate policy (pin priorities, backports
//!   only when pinned, `SetCandidateRelease`) and its preference among alternatives and
//!   providers, on a real CDCL solver (resolvo) that explains failures.
//! - **Reproducible by construction.** The result is a sorted, versioned TOML [`Lock`] with
//!   sizes and hashes, independent of the archive moving on and of the mirror used; time is an
//!   explicit input; no hash-map order reaches an output.
//! - **Fast enough not to matter.** A zero-copy deb822 parser and interned names load the
//!   56 MB trixie `Packages` index in a fraction of a second; solving takes milliseconds.
//!
//! # A tour
//! - Text formats, all pure and fuzzable: [`release`] (Release files, dates, `Valid-Until`),
//!   [`signature`] (OpenPGP); deb822 paragraphs, relationship fields, [`DebVersion`] and the
//!   `.deb` reader are the shared ones of [`build_vocab::debian`].
//! - [`archive::ArchiveSpec`]: the archives as mkosi reads them (`Mirror=` as a base for
//!   `debian` and `debian-security`, else the host's apt sources; `Snapshot=`,
//!   `LocalMirror=`), suites (release, `-updates`, `-security`, `-backports`), components,
//!   architectures, from an [`config_model::ImageConfig`].
//! - [`universe::Universe`]: the packages of all indexes, with typed ids.
//! - [`solver`]: [`solver::solve`] a [`solver::Request`] into a [`solver::Solution`];
//!   [`solver::Solution::why`] explains a package's presence.
//! - [`resolve()`](resolve::resolve) / [`resolve::resolve_with_lock`]: configuration to lock,
//!   reusing an up-to-date lock, refusing a stale one in `--locked` mode.
//! - [`lock`]: [`Lock::to_toml`], [`Lock::from_toml`], [`Lock::check_against`], [`Lock::diff`]
//!   (what changed between two locks).
//! - [`fetch`](mod@fetch): the I/O of a build: [`fetch::load_archive`], [`fetch::fetch`] (parallel,
//!   retried, verified downloads into the content-addressed [`fetch::Cache`]),
//!   [`fetch::host_archives`], progress through the [`fetch::Progress`] trait.
//! - [`compare`]: the host's apt over a `file:` copy of the same verified indexes, to check
//!   and time this resolver against it ([`compare::bench_resolve`]); tests and benchmarks
//!   only, the one other module doing I/O.
//!
//! ```no_run
//! use deb_resolver::{fetch, resolve, ArchiveOptions, BaseSet, Cache, FetchOptions};
//! # fn demo(config: &config_model::ImageConfig, now: i64) -> Result<(), deb_resolver::Error> {
//! let options = resolve::ResolveOptions {
//!     archive: ArchiveOptions {
//!         host: fetch::host_archives("/".as_ref())?,
//!         ..ArchiveOptions::default()
//!     },
//!     fetch: FetchOptions::at(now),
//!     base: BaseSet::Essential,
//!     installed: Vec::new(),
//! };
//! let cache = Cache::new(Cache::default_root().expect("HOME is set"));
//! let resolution = resolve::resolve(config, &options, &cache, &fetch::NoProgress)?;
//! std::fs::write("image.lock", resolution.lock.to_toml()).unwrap();
//! print!("{}", resolution.why("libc6", deb_resolver::PackageSet::Image)?);
//! let spec = deb_resolver::ArchiveSpec::from_config(config, &options.archive)?;
//! let sources = fetch::FetchSources::new(&spec, &config.content.package_directories);
//! let debs = fetch::fetch(&resolution.lock, &sources, &cache, &options.fetch, &fetch::NoProgress)?;
//! # let _ = debs; Ok(()) }
//! ```

pub mod archive;
pub mod compare;
pub mod error;
pub mod fetch;
pub mod lock;
#[cfg(any(test, feature = "loopback-server"))]
pub mod loopback;
pub mod release;
pub mod resolve;
pub mod signature;
pub mod solver;
pub mod universe;

pub use archive::{ArchiveOptions, ArchiveSpec};
pub use build_vocab::DebVersion;
pub use build_vocab::Sha256;
pub use error::{Error, Result};
pub use fetch::{Cache, FetchOptions, FetchSources, Progress, VerifiedDeb, fetch};
pub use lock::{Lock, LockDiff, LockRequest, LockedPackage, PackageSet};
pub use resolve::{
    LockMode, LockOrigin, LockOutcome, Resolution, ResolveOptions, resolve, resolve_with_lock,
};
pub use solver::{BaseSet, Request, Solution, Why};
