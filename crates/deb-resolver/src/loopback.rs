//! A threaded HTTP/1.1 server on 127.0.0.1 for tests (feature `loopback-server`): what
//! archives, mirrors and snapshot services look like where the real ones cannot be reached.
//! Each request's path goes to a route, which answers with bytes, a file, a truncated body
//! (a connection that breaks), a redirect or nothing (404); every request is logged with
//! its status.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the server answers a path.
#[derive(Debug, Clone)]
pub enum Reply {
    /// These bytes.
    Bytes(Vec<u8>),
    /// The contents of this file.
    File(PathBuf),
    /// Announces the full length, sends only the first half, then closes.
    Truncated(Vec<u8>),
    /// A `302` to another path of the same server.
    Redirect(String),
}

type Route = dyn Fn(&str) -> Option<Reply> + Send + Sync;

/// The server; it stops when dropped.
pub struct Server {
    port: u16,
    log: Arc<Mutex<Vec<(String, u16)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts a server answering each path with `route` (`None`: 404), one thread per
    /// connection.
    pub fn start(route: impl Fn(&str) -> Option<Reply> + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("a bound socket").port();
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
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Every request answered so far: `(path, status)`, in the order they were answered.
    pub fn requests(&self) -> Vec<(String, u16)> {
        self.log.lock().expect("an unpoisoned log").clone()
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
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
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
    let reply = route(path);
    let status = match reply {
        Some(Reply::Redirect(_)) => 302,
        Some(_) => 200,
        None => 404,
    };
    // Logged before the answer goes out, so a client that has its answer finds it logged.
    log.lock()
        .expect("an unpoisoned log")
        .push((path.to_owned(), status));
    let mut stream = stream;
    let head = |length: u64| {
        format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n")
    };
    match reply {
        Some(Reply::Bytes(body)) => {
            stream.write_all(head(body.len() as u64).as_bytes())?;
            stream.write_all(&body)?;
        }
        Some(Reply::File(file)) => {
            let mut body = std::fs::File::open(&file)?;
            stream.write_all(head(body.metadata()?.len()).as_bytes())?;
            std::io::copy(&mut body, &mut stream)?;
        }
        Some(Reply::Truncated(body)) => {
            stream.write_all(head(body.len() as u64).as_bytes())?;
            stream.write_all(&body[..body.len() / 2])?;
        }
        Some(Reply::Redirect(to)) => write!(
            stream,
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}{to}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        )?,
        None => stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?,
    }
    stream.flush()
}
