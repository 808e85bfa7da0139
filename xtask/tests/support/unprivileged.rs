//! Builds as an unprivileged user: the user (made when missing, with a subordinate id
//! range), its seeded package cache, and `cargo xtask image` run as it. Used by `image.rs`
//! only.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::support::run_build;

/// The user the unprivileged builds run as.
pub(crate) const BUILD_USER: &str = "flashbox-build-test";

/// Makes sure [`BUILD_USER`] exists with a home and a subordinate id range, and that its
/// package cache holds the packages root's does (copied, so the build fetches nothing
/// twice); returns its home.
pub(crate) fn unprivileged_user() -> PathBuf {
    ensure_user(BUILD_USER, &["--create-home", "--shell", "/bin/sh"]);
    let listed = |file: &str| {
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .any(|line| line.starts_with(&format!("{BUILD_USER}:")))
    };
    if !listed("/etc/subuid") || !listed("/etc/subgid") {
        run_checked(Command::new("usermod").args([
            "--add-subuids",
            "600000-665535",
            "--add-subgids",
            "600000-665535",
            BUILD_USER,
        ]));
    }
    let home = PathBuf::from(format!("/home/{BUILD_USER}"));
    let cache = home.join(".cache/flashbox-builder");
    let root_packages = image_builder::CacheLayout::for_user().unwrap().packages;
    let _ = std::fs::remove_dir_all(cache.join("deb-resolver"));
    std::fs::create_dir_all(&cache).unwrap();
    run_checked(
        Command::new("cp")
            .arg("-a")
            .arg(&root_packages)
            .arg(cache.join("deb-resolver")),
    );
    run_checked(
        Command::new("chown")
            .args(["-R", &format!("{BUILD_USER}:")])
            .arg(home.join(".cache")),
    );
    home
}

/// Copies of what the unprivileged build reads from the workspace, in a directory the user
/// can read wherever the workspace is (a clone below `/root` is not readable by others).
pub(crate) struct StagedInputs {
    /// The xtask binary.
    pub xtask: PathBuf,
    /// The fixtures tree.
    pub fixtures: PathBuf,
    /// The arguments a boot-test image gets, pointing at the copies.
    pub boot_test_arguments: Vec<String>,
}

/// Copies the xtask binary, the fixtures and the boot-test inputs into `dir`.
pub(crate) fn stage_inputs(dir: &Path) -> StagedInputs {
    std::fs::create_dir_all(dir).unwrap();
    let copy = |from: &Path, name: &str| {
        let to = dir.join(name);
        run_checked(Command::new("cp").arg("-a").arg(from).arg(&to));
        to
    };
    let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support");
    let boot_check = copy(&support.join("boot-check"), "boot-check");
    let tdx_init = copy(&support.join("tdx-init-stand-in"), "tdx-init-stand-in");
    StagedInputs {
        xtask: copy(Path::new(env!("CARGO_BIN_EXE_xtask")), "xtask"),
        fixtures: copy(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures"),
            "fixtures",
        ),
        boot_test_arguments: super::support::boot_test_arguments_from(&boot_check, &tdx_init),
    }
}

/// Runs `cargo xtask image flashbox-l1 --locked` (the staged copy, on the staged fixtures)
/// as [`BUILD_USER`] (home `home`, nothing else of root's environment) into `output`, which
/// it owns; returns the UKI path.
pub(crate) fn build_unprivileged(
    home: &Path,
    inputs: &StagedInputs,
    output: &Path,
    lock: &Path,
    extra: &[impl AsRef<std::ffi::OsStr>],
) -> PathBuf {
    let mut command = Command::new("runuser");
    command
        .args(["-u", BUILD_USER, "--", "env", "-i"])
        .arg(format!("HOME={}", home.display()))
        .arg("PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .args(["TZ=UTC", "LC_ALL=C.UTF-8"])
        .arg(&inputs.xtask)
        .args(["image", "flashbox-l1", "--locked", "-C"])
        .arg(&inputs.fixtures)
        .arg("--output-dir")
        .arg(output)
        .arg("--lock-file")
        .arg(lock)
        .args(&inputs.boot_test_arguments)
        .args(extra)
        .stdout(Stdio::piped());
    run_build(&mut command, &format!("as {BUILD_USER}"))
}

fn run_checked(command: &mut Command) {
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(status.success(), "{command:?} failed with {status}");
}

/// A user with no subordinate ids, made when missing.
pub(crate) const USER_WITHOUT_RANGE: &str = "flashbox-nosubid-test";

/// What `cargo xtask image` says, failing, when run as [`USER_WITHOUT_RANGE`].
pub(crate) fn build_without_subordinate_ids() -> String {
    ensure_user(
        USER_WITHOUT_RANGE,
        &[
            "--no-create-home",
            "-K",
            "SUB_UID_COUNT=0",
            "-K",
            "SUB_GID_COUNT=0",
        ],
    );
    // A copy the user can run wherever the workspace is.
    let dir = super::support::scratch().join("no-subordinate-ids");
    std::fs::create_dir_all(&dir).unwrap();
    let xtask = dir.join("xtask");
    run_checked(
        Command::new("cp")
            .arg(env!("CARGO_BIN_EXE_xtask"))
            .arg(&xtask),
    );
    let output = Command::new("runuser")
        .args([
            "-u",
            USER_WITHOUT_RANGE,
            "--",
            "env",
            "-i",
            "HOME=/nonexistent",
        ])
        .arg("PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .arg(&xtask)
        .args(["image", "flashbox-l1", "--output-dir", "/nonexistent/out"])
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "the build cannot run without a range"
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Creates the user `name` with `useradd` and `options` unless it exists.
fn ensure_user(name: &str, options: &[&str]) {
    let exists = Command::new("id")
        .arg(name)
        .output()
        .unwrap()
        .status
        .success();
    if !exists {
        run_checked(Command::new("useradd").args(options).arg(name));
    }
}
