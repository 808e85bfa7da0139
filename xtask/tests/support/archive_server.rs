//! A Debian mirror that has moved on and a snapshot service, both real HTTP servers on
//! loopback, made from a lock and the package cache holding its files: what a committed
//! lock meets weeks after it was written, here where no snapshot service can be reached.
//!
//! - The mirror serves the lock's files under `/debian/` and `/debian-security/` (by their
//!   suite), except the ones it "dropped", as a mirror does after a point release.
//! - The snapshot service behaves as Debian's does: it holds snapshots of each archive, each
//!   taken some hours after one of the lock's Release dates, serves a locked file under
//!   `/archive/<archive>/<id>/<pool path>` in the snapshots taken after its suite's Release
//!   (not in earlier ones, which predate it), and answers a time that is not a
//!   snapshot id with a redirect to the last snapshot taken at or before it (404 before the
//!   first).
//!
//! Both are deb-resolver's loopback server, which logs every request with its status, so a
//! test can say which files came from where.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use deb_resolver::archive::SuiteKind;
use deb_resolver::fetch::snapshot_id;
use deb_resolver::loopback::{Reply, Server};
use deb_resolver::{Cache, Lock};

/// How long after a Release the loopback service takes its snapshot.
const SNAPSHOT_DELAY_SECONDS: i64 = 6 * 3600;

/// A mirror that dropped some of a lock's files, and a snapshot service that has them all.
pub(crate) struct LoopbackArchive {
    pub(crate) mirror: Server,
    pub(crate) snapshots: Server,
    /// The pool paths the mirror no longer serves.
    pub(crate) dropped: Vec<String>,
}

impl LoopbackArchive {
    /// Serves the files of the lock at `lock` from `cache`; the mirror drops every
    /// `drop_every`-th package of the lock.
    pub(crate) fn start(lock: &Path, cache: &Path, drop_every: usize) -> Self {
        let lock = Lock::from_toml(&std::fs::read_to_string(lock).unwrap()).unwrap();
        let cache = Cache::new(cache);
        // The snapshot taken after each suite's Release, by suite.
        let mut taken_after: BTreeMap<String, String> = BTreeMap::new();
        let mut snapshot_ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for source in &lock.sources {
            let Some(date) = source.date.as_deref() else {
                continue;
            };
            let released = deb_resolver::release::parse_date(date).unwrap();
            let archive = SuiteKind::of_suite(&source.suite)
                .archive_name()
                .expect("the lock has only Debian suites");
            let id = snapshot_id(released + SNAPSHOT_DELAY_SECONDS);
            taken_after.insert(source.suite.clone(), id.clone());
            snapshot_ids.entry(archive.to_owned()).or_default().push(id);
        }
        // (archive, pool path) -> the verified file in the cache, and the first snapshot
        // that holds it (the one after its suite's Release: earlier ones predate it).
        let mut files = BTreeMap::new();
        let mut dropped = Vec::new();
        for (index, package) in lock.packages.iter().enumerate() {
            let archive = SuiteKind::of_suite(&package.suite)
                .archive_name()
                .expect("the lock has only Debian suites");
            let file = cache.path_of(&package.sha256);
            assert!(file.is_file(), "{} is not in the cache", package.path);
            let first = taken_after[&package.suite].clone();
            files.insert((archive.to_owned(), package.path.clone()), (file, first));
            if index % drop_every == 0 {
                dropped.push(package.path.clone());
            }
        }
        let files = Arc::new(files);
        let mirror_files = files.clone();
        let mirror_dropped = dropped.clone();
        let mirror = Server::start(move |path| {
            let (archive, pool_path) = path.trim_start_matches('/').split_once('/')?;
            if mirror_dropped.iter().any(|d| d == pool_path) {
                return None;
            }
            let (file, _) = mirror_files.get(&(archive.to_owned(), pool_path.to_owned()))?;
            Some(Reply::File(file.clone()))
        });
        let snapshots = Server::start(move |path| {
            let rest = path.strip_prefix("/archive/")?;
            let (archive, rest) = rest.split_once('/')?;
            let (time, pool_path) = rest.split_once('/')?;
            // Ids are fixed-width UTC times: their text order is their time order.
            let taken = snapshot_ids
                .get(archive)?
                .iter()
                .filter(|id| id.as_str() <= time)
                .max()?;
            if taken != time {
                return Some(Reply::Redirect(format!(
                    "/archive/{archive}/{taken}/{pool_path}"
                )));
            }
            let (file, first) = files.get(&(archive.to_owned(), pool_path.to_owned()))?;
            (first.as_str() <= taken.as_str()).then(|| Reply::File(file.clone()))
        });
        Self {
            mirror,
            snapshots,
            dropped,
        }
    }
}
