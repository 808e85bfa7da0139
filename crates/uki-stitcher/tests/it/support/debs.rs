//! Real inputs from Debian packages: the one place the tests fetch anything.
//!
//! For now the host's apt fetches the packages (`apt-get download`, from the host's configured
//! archive) into a cache outside the repository, `$XDG_CACHE_HOME/flashbox-builder/test-debs`
//! (default `~/.cache/...`), reused while it holds the candidate version with the sha256 apt
//! expects. The `.deb`s are read with build-vocab's `.deb` reader and the `tar` crate.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use build_vocab::Sha256;
use build_vocab::debian::deb::{self, Limits};
use build_vocab::debian::deb822::paragraphs;

/// The real parts of a UKI, taken from Debian packages.
pub(crate) struct Debs {
    /// `usr/lib/systemd/boot/efi/linuxx64.efi.stub` from `systemd-boot-efi`.
    pub stub: Vec<u8>,
    /// `boot/vmlinuz-*` from the package `linux-image-cloud-amd64` depends on.
    pub kernel: Vec<u8>,
    /// The `*` of `boot/vmlinuz-*`.
    pub kernel_release: String,
    /// `bin/busybox` from `busybox-static`.
    pub busybox: Vec<u8>,
}

/// The packages, fetched and unpacked once per test run. Panics with the reason when they
/// cannot be had: these tests fail rather than skip.
pub(crate) fn debs() -> &'static Debs {
    static DEBS: OnceLock<Debs> = OnceLock::new();
    DEBS.get_or_init(|| load().unwrap_or_else(|e| panic!("test packages: {e}")))
}

fn load() -> Result<Debs, String> {
    let cache = cache_dir()?;
    let stub_deb = fs::read(fetch(&cache, "systemd-boot-efi")?).map_err(|e| e.to_string())?;
    let (_, stub) = data_file(&stub_deb, |p| {
        p == Path::new("usr/lib/systemd/boot/efi/linuxx64.efi.stub")
    })?;

    // linux-image-cloud-amd64 is a metapackage; the image is in the package it depends on.
    let meta = fs::read(fetch(&cache, "linux-image-cloud-amd64")?).map_err(|e| e.to_string())?;
    let depends = control_field(&meta, "Depends")?;
    let image_package = depends
        .split(',')
        .map(|d| d.trim().split([' ', '(']).next().unwrap_or_default())
        .find(|name| name.starts_with("linux-image-"))
        .ok_or_else(|| format!("no linux-image-* in Depends: {depends}"))?;
    let image_deb = fs::read(fetch(&cache, image_package)?).map_err(|e| e.to_string())?;
    let (path, kernel) = data_file(&image_deb, |p| {
        p.parent() == Some(Path::new("boot"))
            && p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
    })?;
    let kernel_release = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .trim_start_matches("vmlinuz-")
        .to_owned();

    let busybox_deb = fs::read(fetch(&cache, "busybox-static")?).map_err(|e| e.to_string())?;
    let (_, busybox) = data_file(&busybox_deb, |p| p == Path::new("bin/busybox"))?;
    Ok(Debs {
        stub,
        kernel,
        kernel_release,
        busybox,
    })
}

fn cache_dir() -> Result<PathBuf, String> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or("neither XDG_CACHE_HOME nor HOME is set")?;
    let dir = base.join("flashbox-builder/test-debs");
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// The candidate `.deb` of `package` in `cache`, downloaded by apt unless already there with
/// the expected sha256.
fn fetch(cache: &Path, package: &str) -> Result<PathBuf, String> {
    // `'URI' FILENAME SIZE SHA256:HEX`, one line per package.
    let uris = run(Command::new("apt-get").args(["download", "--print-uris", package]))?;
    let line = uris
        .lines()
        .find(|l| l.starts_with('\''))
        .ok_or_else(|| format!("apt-get download --print-uris {package} printed no URI"))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (file_name, sha256) = match fields[..] {
        [_, name, _, hash] => (
            name,
            hash.strip_prefix("SHA256:")
                .ok_or_else(|| format!("no SHA256 for {package}: {line}"))?,
        ),
        _ => return Err(format!("unexpected apt output for {package}")),
    };
    let path = cache.join(file_name);
    if sha256_file(&path).as_deref() == Some(sha256) {
        return Ok(path);
    }
    let temp = tempfile::tempdir_in(cache).map_err(|e| e.to_string())?;
    run(Command::new("apt-get")
        .args(["download", package])
        .current_dir(temp.path()))?;
    let downloaded = temp.path().join(file_name);
    match sha256_file(&downloaded) {
        Some(actual) if actual == sha256 => {}
        actual => {
            return Err(format!(
                "{file_name}: sha256 {actual:?}, apt expects {sha256}"
            ));
        }
    }
    fs::rename(&downloaded, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

fn sha256_file(path: &Path) -> Option<String> {
    Sha256::of_file(path).ok().map(|digest| digest.to_string())
}

fn run(command: &mut Command) -> Result<String, String> {
    let output = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The first regular file of the data archive whose path (without `./`) matches.
fn data_file(deb: &[u8], wanted: impl Fn(&Path) -> bool) -> Result<(PathBuf, Vec<u8>), String> {
    let found = deb::with_data(deb, &Limits::default(), |_, data| {
        let mut archive = tar::Archive::new(data);
        for entry in archive.entries()? {
            let mut entry = entry?;
            let path = entry.path()?;
            let path = path.strip_prefix("./").unwrap_or(&path).to_path_buf();
            if entry.header().entry_type().is_file() && wanted(&path) {
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes)?;
                return Ok(Some((path, bytes)));
            }
        }
        Ok::<_, Box<dyn std::error::Error>>(None)
    });
    found
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "file not found in data.tar".into())
}

/// A field of the package's `control` file.
fn control_field(deb: &[u8], field: &str) -> Result<String, String> {
    let members = deb::read_control_members(deb, &Limits::default()).map_err(|e| e.to_string())?;
    let text = members.control_text().map_err(|e| e.to_string())?;
    let paragraph = paragraphs(text)
        .next()
        .ok_or("empty control file")?
        .map_err(|e| e.to_string())?;
    paragraph
        .get(field)
        .map(str::to_owned)
        .ok_or_else(|| format!("no {field} field"))
}
