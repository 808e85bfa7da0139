//! [`HttpClient`]: blocking HTTP(S) over ureq with rustls, retries with exponential backoff,
//! and downloads hashed while they stream.

use std::io::Read;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::fetch::cache::Cache;
use crate::fetch::{Progress, Transfer};
use build_vocab::{Hasher, Sha256};

/// Retry and timeout settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after the first one.
    pub retries: u32,
    /// The wait before the first retry; doubled for each further one.
    pub backoff: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Timeout for receiving a whole body.
    pub body_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retries: 3,
            backoff: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(15),
            body_timeout: Duration::from_secs(600),
        }
    }
}

/// A shared HTTP client.
#[derive(Debug, Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
    policy: RetryPolicy,
}

impl HttpClient {
    /// A client trusting the host's TLS root certificates.
    pub fn new(policy: RetryPolicy) -> Self {
        let roots: Vec<ureq::tls::Certificate<'static>> = rustls_native_certs::load_native_certs()
            .certs
            .iter()
            .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
            .collect();
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(ureq::tls::RootCerts::new_with_certs(&roots))
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .timeout_connect(Some(policy.connect_timeout))
            .timeout_recv_body(Some(policy.body_timeout))
            .user_agent(concat!("deb-resolver/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Self { agent, policy }
    }

    fn call(&self, url: &str) -> Result<ureq::Body, Error> {
        match self.agent.get(url).call() {
            Ok(response) => Ok(response.into_body()),
            Err(ureq::Error::StatusCode(status)) => Err(Error::HttpStatus {
                url: url.to_owned(),
                status,
            }),
            Err(e) => Err(Error::Http {
                url: url.to_owned(),
                message: e.to_string(),
            }),
        }
    }

    /// Runs `attempt` with retries on transient failures (transport errors, 5xx, 408, 429,
    /// truncated or corrupted content).
    fn with_retries<T>(
        &self,
        url: &str,
        progress: &dyn Progress,
        mut attempt: impl FnMut() -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut tries = 0;
        loop {
            match attempt() {
                Ok(value) => return Ok(value),
                Err(error) if tries < self.policy.retries && is_transient(&error) => {
                    progress.retrying(url, tries + 1, &error.to_string());
                    std::thread::sleep(self.policy.backoff * 2u32.pow(tries));
                    tries += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Fetches a small file whole (an `InRelease`), at most `limit` bytes.
    pub fn get_bytes(
        &self,
        url: &str,
        limit: u64,
        progress: &dyn Progress,
    ) -> Result<Vec<u8>, Error> {
        self.with_retries(url, progress, || {
            let body = self.call(url)?;
            let mut data = Vec::new();
            body.into_with_config()
                .limit(limit)
                .reader()
                .read_to_end(&mut data)
                .map_err(|e| Error::Http {
                    url: url.to_owned(),
                    message: format!("transfer failed: {e}"),
                })?;
            Ok(data)
        })
    }

    /// Fetches content whose sha256 and size are known into memory, verifying while it
    /// streams.
    pub fn get_verified(
        &self,
        url: &str,
        expected: Sha256,
        size: u64,
        progress: &dyn Progress,
    ) -> Result<Vec<u8>, Error> {
        self.with_retries(url, progress, || {
            let mut data = Vec::with_capacity(size.min(1 << 30) as usize);
            let mut hasher = Hasher::new();
            let transfer = Transfer::start(url, Some(size), progress);
            self.stream(url, size, &transfer, |chunk| {
                hasher.update(chunk);
                data.extend_from_slice(chunk);
                Ok(())
            })?;
            check(url, expected, size, hasher.clone())?;
            transfer.finish(false);
            Ok(data)
        })
    }

    /// Downloads content whose sha256 and size are known straight into the cache.
    pub fn download_to_cache(
        &self,
        url: &str,
        expected: Sha256,
        size: u64,
        cache: &Cache,
        progress: &dyn Progress,
        item: &str,
    ) -> Result<std::path::PathBuf, Error> {
        self.with_retries(url, progress, || {
            let mut writer = cache.writer(expected, Some(size), url)?;
            let transfer = Transfer::start(item, Some(size), progress);
            self.stream(url, size, &transfer, |chunk| writer.write_chunk(chunk))?;
            let path = writer.finish()?;
            transfer.finish(false);
            Ok(path)
        })
    }

    fn stream(
        &self,
        url: &str,
        size: u64,
        transfer: &Transfer<'_>,
        mut sink: impl FnMut(&[u8]) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let body = self.call(url)?;
        let mut reader = body.into_reader();
        let mut buffer = vec![0u8; 1 << 16];
        let mut done = 0u64;
        loop {
            let n = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // A connection that ends early is a truncated download.
                Err(_) if done < size => {
                    return Err(Error::SizeMismatch {
                        url: url.to_owned(),
                        expected: size,
                        actual: done,
                    });
                }
                Err(e) => {
                    return Err(Error::Http {
                        url: url.to_owned(),
                        message: format!("transfer failed: {e}"),
                    });
                }
            };
            done += n as u64;
            if done > size {
                return Err(Error::SizeMismatch {
                    url: url.to_owned(),
                    expected: size,
                    actual: done,
                });
            }
            sink(&buffer[..n])?;
            transfer.advance(done);
        }
        Ok(())
    }
}

fn check(url: &str, expected: Sha256, size: u64, hasher: Hasher) -> Result<(), Error> {
    if hasher.len() != size {
        return Err(Error::SizeMismatch {
            url: url.to_owned(),
            expected: size,
            actual: hasher.len(),
        });
    }
    let actual = hasher.finish();
    if actual != expected {
        return Err(Error::HashMismatch {
            url: url.to_owned(),
            expected: expected.to_hex(),
            actual: actual.to_hex(),
        });
    }
    Ok(())
}

fn is_transient(error: &Error) -> bool {
    match error {
        Error::Http { .. } | Error::SizeMismatch { .. } | Error::HashMismatch { .. } => true,
        Error::HttpStatus { status, .. } => *status >= 500 || *status == 408 || *status == 429,
        _ => false,
    }
}

/// Time since `start`, for rates.
pub(crate) fn elapsed(start: Instant) -> Duration {
    start.elapsed()
}
