//! A Debian mirror that has moved on and a snapshot service, both real HTTP servers on
//! loopback, made from a lock and the package cache holding its files: what a committed
//! lock meets weeks after it was written, here where no snapshot service can be reached.
//!
//! - The mirror serves the lock's files under `/debian/` and `/debian-security/` (by their
//!   suite), except the ones it "dropped", as a mirror does after a point release.
//! - The snapshot service behaves as Debian's does: it holds snapshots of each archive, each
//!   taken some hours after one of the lock's Release dates, serves every locked file of the
//!   archive under `/archive/<archive>/<id>/<pool path>`, and answers a time that is not a
//!   snapshot id with a redirect to the last snapshot taken at or before it (404 before the
//!   first).
//!
//! Every request is recorded with its status, so a test can say which files came from where.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use deb_resolver::archive::SuiteKind;
use deb_resolver::fetch::snapshot_id;
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
        // (archive, pool path) -> the verified file in the cache.
        let mut files = BTreeMap::new();
        let mut dropped = Vec::new();
        for (index, package) in lock.packages.iter().enumerate() {
            let archive = SuiteKind::of_suite(&package.suite)
                .archive_name()
                .expect("the lock has only Debian suites");
            let file = cache.path_of(&package.sha256);
            assert!(file.is_file(), "{} is not in the cache", package.path);
            files.insert((archive.to_owned(), package.path.clone()), file);
            if index % drop_every == 0 {
                dropped.push(package.path.clone());
            }
        }
        let mut snapshot_ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for source in &lock.sources {
            let Some(date) = source.date.as_deref() else {
                continue;
            };
            let released = deb_resolver::release::parse_date(date).unwrap();
            let archive = SuiteKind::of_suite(&source.suite)
                .archive_name()
                .expect("the lock has only Debian suites");
            snapshot_ids
                .entry(archive.to_owned())
                .or_default()
                .push(snapshot_id(released + SNAPSHOT_DELAY_SECONDS));
        }
        let files = Arc::new(files);
        let mirror_files = files.clone();
        let mirror_dropped = dropped.clone();
        let mirror = Server::start(move |path| {
            let (archive, pool_path) = path.trim_start_matches('/').split_once('/')?;
            if mirror_dropped.iter().any(|d| d == pool_path) {
                return None;
            }
            let file = mirror_files.get(&(archive.to_owned(), pool_path.to_owned()))?;
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
            let file = files.get(&(archive.to_owned(), pool_path.to_owned()))?;
            Some(Reply::File(file.clone()))
        });
        Self {
            mirror,
            snapshots,
            dropped,
        }
    }
}

/// How a server answers a path.
pub(crate) enum Reply {
    File(PathBuf),
    /// A redirect to another path of the same server.
    Redirect(String),
}

type Route = dyn Fn(&str) -> Option<Reply> + Send + Sync;

/// A threaded HTTP/1.1 server for GET requests on 127.0.0.1.
pub(crate) struct Server {
    port: u16,
    /// `(path, status)` of every request, in arrival order.
    log: Arc<Mutex<Vec<(String, u16)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(route: impl Fn(&str) -> Option<Reply> + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log: Arc<Mutex<Vec<(String, u16)>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let route: Arc<Route> = Arc::new(route);
        let thread = {
            let (log, stop) = (log.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (route, log) = (route.clone(), log.clone());
                    std::thread::spawn(move || {
                        let _ = answer(stream, port, &*route, &log);
                    });
                }
            })
        };
        Self {
            port,
            log,
            stop,
            thread: Some(thread),
        }
    }

    /// The server's base URL, ending in `/`.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Every request so far: `(path, status)`.
    pub(crate) fn requests(&self) -> Vec<(String, u16)> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answer(
    stream: TcpStream,
    port: u16,
    route: &Route,
    log: &Mutex<Vec<(String, u16)>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" {
            break;
        }
    }
    let Some(path) = request_line.split_whitespace().nth(1) else {
        return Ok(());
    };
    let mut stream = stream;
    let status = match route(path) {
        Some(Reply::File(file)) => {
            let mut body = std::fs::File::open(&file)?;
            let length = body.metadata()?.len();
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
            )?;
            std::io::copy(&mut body, &mut stream)?;
            200
        }
        Some(Reply::Redirect(to)) => {
            write!(
                stream,
                "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}{to}\r\n\
                 Content-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
            302
        }
        None => {
            stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )?;
            404
        }
    };
    log.lock().unwrap().push((path.to_owned(), status));
    stream.flush()
}
