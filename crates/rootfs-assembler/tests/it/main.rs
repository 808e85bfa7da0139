//! Integration tests against real Debian trixie packages: the Flashbox base set assembled
//! with the target's dpkg and the Flashbox scripts, checked with tools of the image itself
//! (`dpkg-query`), and built twice under a changed environment to compare tree digests.
//!
//! They need root and the Debian mirror named in the host's apt configuration; without
//! either they fail, saying which is missing. `hostile` runs a hostile maintainer script
//! against the build sandbox.

#![allow(
    clippy::print_stderr,
    reason = "the tests say why they are skipped and report measured times"
)]

mod hostile;
mod trixie_debs;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use config_model::value::Feature;
use config_model::{Host, ImageConfig, LoadOptions, load};
use rootfs_assembler::{
    AssembleOptions, BuildOutputs, LockedDeb, Rootfs, assemble, first_difference, tree_digest,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// The Flashbox base definition (`shared/mkosi.conf`) read from the tree at `src`.
fn base_config(src: &Path) -> ImageConfig {
    let loaded = load(&LoadOptions {
        directory: src.to_path_buf(),
        includes: vec!["shared/mkosi.conf".into()],
        overrides: Vec::new(),
        host: Host {
            environment: Default::default(),
            ..Host::detect()
        },
    })
    .expect("the fixtures load");
    loaded.config
}

fn base_packages(config: &ImageConfig) -> Vec<String> {
    config
        .content
        .packages
        .iter()
        .map(|p| p.name.clone())
        .collect()
}

fn fetch_base(config: &ImageConfig) -> Vec<LockedDeb> {
    let names = base_packages(config);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let start = Instant::now();
    let debs = trixie_debs::fetch(&names);
    eprintln!(
        "fetched {} packages (apt update + download/cache) in {:.1?}",
        debs.len(),
        start.elapsed()
    );
    debs
}

fn assemble_at(config: &ImageConfig, debs: &[LockedDeb], build_dir: &Path, src: &Path) -> Rootfs {
    let start = Instant::now();
    let rootfs = assemble(&AssembleOptions {
        config,
        output_name: "image".into(),
        packages: debs,
        build_dir: build_dir.to_path_buf(),
        src_dir: src.to_path_buf(),
        build_outputs: BuildOutputs::Skip,
        invoking_user: (0, 0),
        runner: &rootfs_assembler::NamespaceSandbox,
    })
    .unwrap_or_else(|e| panic!("assembly failed: {e}"));
    eprintln!(
        "assembled {} packages in {:.1?} ({} entries, {} MB): {:?}",
        rootfs.manifest.packages.len(),
        start.elapsed(),
        rootfs.digest.entries.len(),
        rootfs.digest.total_size / 1_000_000,
        rootfs
            .report
            .steps
            .iter()
            .map(|(step, time)| format!("{step} {:.1}s", time.as_secs_f64()))
            .collect::<Vec<_>>()
    );
    rootfs
}

fn no_mount_below(dir: &Path) {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = dir.to_string_lossy();
    assert!(
        !mountinfo.lines().any(|l| l.contains(dir.as_ref())),
        "a mount below {dir} is visible on the host:\n{mountinfo}"
    );
}

#[test]
#[ignore = "needs root"]
fn flashbox_base_set_installs_with_the_targets_dpkg() {
    trixie_debs::require_archive_and_root();
    let src = fixtures().canonicalize().unwrap();
    let mut config = base_config(&src);
    // Keep dpkg's database so the image's own dpkg-query can be asked.
    config.content.clean_package_metadata = Some(Feature::Disabled);
    let debs = fetch_base(&config);
    let build = tempfile::Builder::new()
        .prefix("rootfs-it-")
        .tempdir_in("/var/tmp")
        .unwrap();
    // Two probe scripts after Flashbox's own: one on the host using the helpers, one
    // `.chroot` script running inside the image.
    let probes = build.path().join("probes");
    fs::create_dir_all(&probes).unwrap();
    for (name, text) in [
        ("90-probe.sh", HOST_PROBE),
        ("91-probe.sh.chroot", CHROOT_PROBE),
    ] {
        let path = probes.join(name);
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        config.content.post_installation_scripts.push(path);
    }
    let rootfs = assemble_at(&config, &debs, build.path(), &src);
    let root = &rootfs.root;
    no_mount_below(build.path());
    assert!(!root.join("work").exists(), "the /work mount point is left");
    assert!(!root.join("usr/sbin/policy-rc.d").exists());

    // The image's dpkg-query lists every package as installed, at the locked version.
    let output = Command::new("chroot")
        .arg(root)
        .args([
            "dpkg-query",
            "-W",
            "-f",
            "${Package}\t${Version}\t${db:Status-Abbrev}\n",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let listed: std::collections::BTreeMap<String, (String, String)> =
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|line| {
                let fields: Vec<&str> = line.split('\t').collect();
                (
                    fields[0].to_owned(),
                    (fields[1].to_owned(), fields[2].trim().to_owned()),
                )
            })
            .collect();
    for deb in &debs {
        let (version, status) = listed
            .get(deb.id.name.as_str())
            .unwrap_or_else(|| panic!("dpkg-query does not list {}", deb.id.name));
        assert_eq!(version, deb.id.version.as_str(), "{}", deb.id);
        assert_eq!(status, "ii", "{}", deb.id);
    }
    assert_eq!(rootfs.manifest.packages.len(), debs.len());
    // Conffiles and md5sums are where dpkg keeps them.
    assert!(root.join("var/lib/dpkg/info/chrony.conffiles").is_file());
    assert!(root.join("var/lib/dpkg/info/chrony.md5sums").is_file());

    // The probes: mkosi-chroot sees the image with /work binds and API file systems,
    // useradd acts on the image, a .chroot script gets the environment as seen inside.
    let out = |name: &str| fs::read_to_string(build.path().join("out").join(name)).unwrap();
    assert_eq!(
        out("mkosi-chroot"),
        "/ /work/src /work/src /work/config.json\n"
    );
    assert_eq!(out("api"), "proc dev-null shm src-bound\n");
    assert!(
        fs::read_to_string(root.join("etc/passwd"))
            .unwrap()
            .contains("\nprobeuser:")
    );
    let chroot_env = out("chroot-env");
    for line in [
        "BUILDROOT=/",
        "SRCDIR=/work/src",
        "OUTPUTDIR=/work/out",
        "CHROOT_SCRIPT=/work/91-probe.sh.chroot",
        "MKOSI_CONFIG=/work/config.json",
        "DISTRIBUTION=debian",
        "RELEASE=trixie",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "SCRIPT_NAME=/work/91-probe.sh.chroot",
        "CWD=/work/src",
        "CONFIG_RELEASE=trixie",
    ] {
        assert!(
            chroot_env.lines().any(|l| l == line),
            "{line} missing from\n{chroot_env}"
        );
    }

    // Maintainer scripts ran: system users, the CA bundle.
    let passwd = fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert!(
        passwd.lines().any(|l| l.starts_with("_chrony:")),
        "{passwd}"
    );
    assert!(
        passwd.lines().any(|l| l.starts_with("systemd-")),
        "{passwd}"
    );
    let bundle = fs::metadata(root.join("etc/ssl/certs/ca-certificates.crt")).unwrap();
    assert!(
        bundle.len() > 100_000,
        "CA bundle of {} bytes",
        bundle.len()
    );

    // The Flashbox scripts ran unchanged: postinst (debloat, enable units, EFI stub) and
    // finalize (sorted accounts, removed paths, os-release).
    let log = fs::read_to_string(build.path().join("work/logs/scripts.log")).unwrap();
    for line in [
        "flashbox-debloat: masked",
        "flashbox-postinst: EFI stub present",
        "flashbox-finalize: removed logs",
    ] {
        assert!(
            log.contains(line),
            "{line:?} missing from the script log:\n{log}"
        );
    }
    let wants = root.join("etc/systemd/system/minimal.target.wants");
    for unit in [
        "chrony.service",
        "systemd-networkd.service",
        "print-measurements.service",
    ] {
        assert!(
            fs::symlink_metadata(wants.join(unit)).is_ok(),
            "{unit} not enabled"
        );
    }
    assert_eq!(
        fs::read_link(root.join("etc/systemd/system/systemd-logind.service")).unwrap(),
        Path::new("/dev/null")
    );
    let os_release = fs::read_to_string(root.join("usr/lib/os-release")).unwrap();
    assert!(!os_release.contains("IMAGE_VERSION="));
    for gone in [
        "usr/share/doc",
        "usr/share/man",
        "etc/machine-id",
        "var/log/dpkg.log",
    ] {
        assert!(
            fs::symlink_metadata(root.join(gone)).is_err(),
            "{gone} is left"
        );
    }
    // Skeleton trees came before the packages: dpkg's excludes were honoured from the start.
    assert!(
        root.join("etc/dpkg/dpkg.cfg.d/90-flashbox-excludes")
            .is_file()
    );
    assert!(!root.join("usr/share/locale/de").exists());
    // Extra trees keep their modes.
    let init = fs::metadata(root.join("init")).unwrap();
    assert_eq!(
        init.permissions().mode() & 0o777,
        fs::metadata(src.join("shared/mkosi.extra/init"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    );
    // The manifest in mkosi's shape next to the root.
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(build.path().join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["manifest_version"], 1);
    assert!(
        manifest["packages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "systemd" && p["source"] == "systemd")
    );
    assert_eq!(tree_digest(root).unwrap(), rootfs.digest);
}

const HOST_PROBE: &str = r#"#!/bin/bash
set -euo pipefail
mkosi-chroot sh -c 'echo "$BUILDROOT $SRCDIR $PWD $MKOSI_CONFIG"' > "$OUTPUTDIR/mkosi-chroot"
mkosi-chroot sh -c 'test -e /proc/self/status && echo -n "proc "; test -c /dev/null && echo -n "dev-null "; test -d /dev/shm && echo -n "shm "; test -f /work/src/shared/mkosi.conf && echo "src-bound"' > "$OUTPUTDIR/api"
useradd --system --no-create-home --shell /usr/sbin/nologin probeuser
"#;

const CHROOT_PROBE: &str = r#"#!/bin/sh
set -eu
{
    env
    echo "SCRIPT_NAME=$0"
    echo "CWD=$(pwd)"
    echo "CONFIG_RELEASE=$(sed -n 's/.*"Release": *"\([^"]*\)".*/\1/p' "$MKOSI_CONFIG")"
} | sort > /work/out/chroot-env
"#;

/// Parent of the reproducibility check: builds twice in child processes that differ in
/// umask, TZ, LC_ALL, build directory and the order in which the overlay trees' files were
/// created, and compares the tree digests. With `REPRO_KEEP_METADATA=1` in the environment,
/// both builds keep dpkg's database (CleanPackageMetadata=no), so it is compared too.
#[test]
#[ignore = "needs root"]
fn flashbox_base_set_is_reproducible() {
    trixie_debs::require_archive_and_root();
    let src = fixtures().canonicalize().unwrap();
    let debs = fetch_base(&base_config(&src));
    let scratch = tempfile::Builder::new()
        .prefix("rootfs-repro-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let list = scratch.path().join("debs.json");
    fs::write(&list, serde_json::to_string(&debs).unwrap()).unwrap();
    let runs = [
        ("022", "UTC", "C", "a", "forward"),
        (
            "077",
            "Pacific/Auckland",
            "de_DE.UTF-8",
            "second-build-dir",
            "reverse",
        ),
    ];
    let mut roots = Vec::new();
    for (umask, tz, lc_all, dir, order) in runs {
        let build_dir = scratch.path().join(dir);
        let status = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$@\""))
            .arg("sh")
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "reproducibility_child",
                "--ignored",
                "--nocapture",
            ])
            .env("TZ", tz)
            .env("LC_ALL", lc_all)
            .env("REPRO_DEBS", &list)
            .env("REPRO_BUILD_DIR", &build_dir)
            .env("REPRO_ORDER", order)
            .envs(std::env::var_os("REPRO_KEEP_METADATA").map(|v| ("REPRO_KEEP_METADATA", v)))
            .status()
            .unwrap();
        assert!(status.success(), "build in {dir} failed");
        roots.push(build_dir.join("root"));
    }
    let a = tree_digest(&roots[0]).unwrap();
    let b = tree_digest(&roots[1]).unwrap();
    if let Some(difference) = first_difference(&a, &b) {
        panic!("the two builds differ: {difference}");
    }
    assert_eq!(a.sha256, b.sha256);
    eprintln!(
        "both builds: tree {} ({} entries)",
        a.sha256,
        a.entries.len()
    );
}

/// Copies the tree at `from` to `to`, creating files in name order or its reverse, with the
/// original modes.
fn copy_in_order(from: &Path, to: &Path, reverse: bool) {
    fs::create_dir_all(to).unwrap();
    let mut entries: Vec<PathBuf> = fs::read_dir(from)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    if reverse {
        entries.reverse();
    }
    for path in entries {
        let target = to.join(path.file_name().unwrap());
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            copy_in_order(&path, &target, reverse);
        } else if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&path).unwrap(), &target).unwrap();
            continue;
        } else {
            fs::copy(&path, &target).unwrap();
        }
        fs::set_permissions(&target, meta.permissions()).unwrap();
    }
}

/// One build of the reproducibility check, run by `flashbox_base_set_is_reproducible` in a
/// child process with its own environment.
#[test]
#[ignore = "run by flashbox_base_set_is_reproducible in a child process"]
fn reproducibility_child() {
    let (Some(list), Some(build_dir), Some(order)) = (
        std::env::var_os("REPRO_DEBS"),
        std::env::var_os("REPRO_BUILD_DIR"),
        std::env::var("REPRO_ORDER").ok(),
    ) else {
        panic!(
            "run by flashbox_base_set_is_reproducible with REPRO_DEBS, REPRO_BUILD_DIR and REPRO_ORDER set"
        );
    };
    let build_dir = PathBuf::from(build_dir);
    let debs: Vec<LockedDeb> = serde_json::from_str(&fs::read_to_string(list).unwrap()).unwrap();
    let src = build_dir.join("src");
    copy_in_order(&fixtures(), &src, order == "reverse");
    let mut config = base_config(&src);
    if std::env::var_os("REPRO_KEEP_METADATA").is_some() {
        config.content.clean_package_metadata = Some(Feature::Disabled);
    }
    assemble_at(&config, &debs, &build_dir, &src);
}

/// The bounded `.deb` reader of build-vocab, judged by dpkg-deb on the real packages of the
/// base set: the same control members (by `tar --list` of `dpkg-deb --ctrl-tarfile`), each
/// byte-identical to `dpkg-deb --info <deb> <member>`, and the decompressed data tar
/// identical (by sha256) to `dpkg-deb --fsys-tarfile`.
#[test]
#[ignore = "needs root"]
fn real_debs_read_as_dpkg_deb_reads_them() {
    use build_vocab::Sha256;
    use build_vocab::debian::deb::{Limits, read_control_members, with_data};
    use std::process::Stdio;

    trixie_debs::require_archive_and_root();
    let config = base_config(&fixtures());
    let debs = fetch_base(&config);
    let dpkg_deb = |args: &[&std::ffi::OsStr]| -> Vec<u8> {
        let out = Command::new("dpkg-deb")
            .args(args)
            .stderr(Stdio::inherit())
            .output()
            .expect("dpkg-deb runs");
        assert!(out.status.success(), "dpkg-deb {args:?}");
        out.stdout
    };
    let limits = Limits::default();
    for deb in &debs {
        let path = deb.path.as_os_str();
        let open = || fs::File::open(&deb.path).unwrap();
        let members = read_control_members(open(), &limits)
            .unwrap_or_else(|e| panic!("{}: {e}", deb.path.display()));

        let tarball = dpkg_deb(&["--ctrl-tarfile".as_ref(), path]);
        let mut tar = Command::new("tar")
            .args(["--list", "--file", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("tar runs");
        std::io::Write::write_all(&mut tar.stdin.take().unwrap(), &tarball).unwrap();
        let listing = tar.wait_with_output().unwrap();
        assert!(listing.status.success());
        let theirs: Vec<String> = String::from_utf8(listing.stdout)
            .unwrap()
            .lines()
            .map(|line| line.trim_start_matches("./").to_owned())
            .filter(|name| !name.is_empty() && !name.ends_with('/'))
            .collect();
        let ours: Vec<String> = members.files.keys().cloned().collect();
        let mut sorted = theirs.clone();
        sorted.sort();
        assert_eq!(ours, sorted, "{}: control members", deb.path.display());

        for (name, bytes) in &members.files {
            let expected = dpkg_deb(&["--info".as_ref(), path, name.as_ref()]);
            assert!(
                expected == *bytes,
                "{}: `{name}` differs from dpkg-deb's",
                deb.path.display()
            );
        }

        let ours = with_data(open(), &limits, |_, reader| {
            Sha256::of_reader(reader).map_err(|e| build_vocab::Error::MalformedDeb {
                reason: e.to_string(),
            })
        })
        .unwrap_or_else(|e| panic!("{}: {e}", deb.path.display()));
        let theirs = Sha256::of(&dpkg_deb(&["--fsys-tarfile".as_ref(), path]));
        assert_eq!(ours, theirs, "{}: data tar", deb.path.display());
    }
    eprintln!("{} packages read as dpkg-deb reads them", debs.len());
}
