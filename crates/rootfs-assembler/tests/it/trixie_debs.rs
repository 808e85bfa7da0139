//! TEST HELPER — STAND-IN FOR deb-resolver. Delete this file when deb-resolver can produce a
//! lock and fetch verified `.deb` files; the tests then take their packages from it.
//!
//! Downloads real Debian trixie packages with the *host's* `apt-get`, fully isolated from the
//! host's apt state: its own sources list (trixie `main` from the mirror URL the host's apt
//! configuration names; no host name is written here), its own state, cache and (empty) dpkg
//! status under `~/.cache/flashbox-builder/trixie-apt`, no locking, no recommends. The Essential
//! set (`?essential`) plus the requested packages are downloaded, and `apt-get --simulate`
//! over an empty status gives the order apt would install them in, which becomes the order of
//! the returned list.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use rootfs_assembler::LockedDeb;
use rootfs_assembler::deb::read_deb;

/// One apt run at a time over the shared cache.
static APT: Mutex<()> = Mutex::new(());

/// Fails the test, saying what is missing, unless the real-archive tests can run here: as
/// root (they are `#[ignore = "needs root"]`), with apt and a Debian mirror in the host's apt
/// configuration.
pub(crate) fn require_archive_and_root() {
    rootfs_assembler::require_root("the real-archive tests").unwrap();
    Command::new("apt-get")
        .arg("--version")
        .output()
        .expect("apt-get runs on the host");
    assert!(
        host_mirror().is_some(),
        "no Debian mirror in the host's apt configuration"
    );
}

/// The first Debian archive URL (not the security archive) of the host's apt sources.
pub(crate) fn host_mirror() -> Option<String> {
    let mut candidates = Vec::new();
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut files: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for file in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "sources"))
        {
            let text = fs::read_to_string(file).unwrap_or_default();
            for line in text.lines() {
                if let Some(uris) = line.strip_prefix("URIs:") {
                    candidates.extend(uris.split_whitespace().map(str::to_owned));
                }
            }
        }
    }
    if let Ok(text) = fs::read_to_string("/etc/apt/sources.list") {
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.first() == Some(&"deb") {
                if let Some(url) = words.iter().skip(1).find(|w| !w.starts_with('[')) {
                    candidates.push((*url).to_owned());
                }
            }
        }
    }
    candidates
        .into_iter()
        .find(|url| url.trim_end_matches('/').ends_with("/debian"))
}

fn cache_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".cache/flashbox-builder/trixie-apt")
}

fn apt(dir: &Path) -> Command {
    let mut command = Command::new("apt-get");
    let d = |p: &str| dir.join(p).display().to_string();
    for option in [
        format!("Dir::Etc::SourceList={}", d("sources.list")),
        "Dir::Etc::SourceParts=/dev/null".into(),
        "Dir::Etc::Preferences=/dev/null".into(),
        "Dir::Etc::PreferencesParts=/dev/null".into(),
        format!("Dir::State={}", d("state")),
        format!("Dir::State::status={}", d("status")),
        format!("Dir::Cache={}", d("cache")),
        "Debug::NoLocking=1".into(),
        "APT::Sandbox::User=root".into(),
        "APT::Architecture=amd64".into(),
        "APT::Install-Recommends=false".into(),
        "APT::Install-Suggests=false".into(),
        "Acquire::Languages=none".into(),
    ] {
        command.arg("-o").arg(option);
    }
    command.env("DEBIAN_FRONTEND", "noninteractive");
    command
}

fn run(mut command: Command, what: &str) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The Essential set plus `packages`, downloaded (or taken from the cache), in apt's
/// installation order.
pub(crate) fn fetch(packages: &[&str]) -> Vec<LockedDeb> {
    let _guard = APT.lock().unwrap_or_else(|e| e.into_inner());
    let dir = cache_dir();
    for sub in ["state/lists/partial", "cache/archives/partial"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let mirror = host_mirror().expect("checked by require_archive_and_root()");
    fs::write(
        dir.join("sources.list"),
        format!(
            "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {mirror} trixie main\n"
        ),
    )
    .unwrap();
    fs::write(dir.join("status"), "").unwrap();
    let mut update = apt(&dir);
    update.arg("update");
    run(update, "apt-get update");
    let mut download = apt(&dir);
    download
        .args(["install", "-y", "--download-only", "?essential"])
        .args(packages);
    run(download, "apt-get install --download-only");
    let mut simulate = apt(&dir);
    simulate
        .args(["install", "-s", "?essential"])
        .args(packages);
    let plan = run(simulate, "apt-get install --simulate");

    let mut available: BTreeMap<(String, String), LockedDeb> = BTreeMap::new();
    for entry in fs::read_dir(dir.join("cache/archives")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "deb") {
            continue;
        }
        let control = read_deb(&path).unwrap().control;
        available.insert(
            (control.id.name.to_string(), control.id.version.to_string()),
            LockedDeb::hashing(control.id, path).unwrap(),
        );
    }
    plan.lines()
        .filter_map(|line| line.strip_prefix("Inst "))
        .map(|rest| {
            let name = rest.split_whitespace().next().unwrap();
            let version = rest
                .split_once('(')
                .and_then(|(_, v)| v.split_whitespace().next())
                .unwrap();
            available
                .get(&(name.to_owned(), version.to_owned()))
                .unwrap_or_else(|| panic!("apt plans {name} {version}, but it was not downloaded"))
                .clone()
        })
        .collect()
}
