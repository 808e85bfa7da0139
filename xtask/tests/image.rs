//! End to end: `cargo xtask image flashbox-l1` with the real pipeline (real Debian archive,
//! target dpkg, QEMU + OVMF). Needs root and the network, as CI has.
//!
//! The first build is shared by both tests (built once per run). The reproducibility test
//! builds a second time in another output directory under another umask, TZ and locale, with
//! the lock of the first build, and compares the two UKIs byte for byte; on a difference it
//! names the first differing section and, for `.initrd`, the first differing cpio entry.

#![allow(clippy::print_stderr)] // build and boot times are part of what this test reports

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use support::{build, explain_difference, manifest, scratch};

/// The build-tree cache of this test run (emptied by the first build).
fn tree_cache() -> PathBuf {
    scratch().join("build-tree-cache")
}

/// The first build, shared by the tests of this file.
fn first_build() -> &'static (PathBuf, PathBuf) {
    static FIRST: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    FIRST.get_or_init(|| {
        let lock = scratch().join("flashbox-l1.lock");
        let _ = std::fs::remove_file(&lock);
        let _ = std::fs::remove_dir_all(tree_cache());
        let efi = build(
            &scratch().join("first"),
            &lock,
            "022",
            "UTC",
            "C.UTF-8",
            false,
            &["--build-tree-cache", tree_cache().to_str().unwrap()],
        );
        assert_eq!(
            manifest(&efi)["build_tree"]["from_cache"],
            false,
            "the first build assembles its build tree"
        );
        (efi, lock)
    })
}

#[test]
fn flashbox_l1_boots_to_minimal_target_and_prints_measurements() {
    let (efi, _) = first_build();
    support::boot_to_minimal_target(efi, &scratch().join("console.log"));
}

#[test]
fn build_scripts_run_in_the_build_tree_and_their_outputs_reach_the_image() {
    let (efi, _) = first_build();
    // searchersh.c is compiled by the fixture's build script with the build tree's gcc.
    let searchersh = initrd_member(efi, "usr/bin/searchersh");
    assert!(
        searchersh.starts_with(b"\x7fELF"),
        "usr/bin/searchersh is not in the initrd as an ELF program ({} bytes)",
        searchersh.len()
    );
    // The git-built components cannot be fetched here: the manifest says so, with the hint.
    let manifest = manifest(efi);
    let not_built: Vec<&str> = manifest["not_built"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for line in &not_built {
        assert!(line.contains("SKIPPED") && line.contains("set "), "{line}");
    }
    if !not_built.is_empty() {
        assert!(
            not_built.iter().any(|l| l.contains("LIGHTHOUSE_BINARY")),
            "{not_built:?}"
        );
    }
}

#[test]
fn a_second_build_elsewhere_gives_the_same_uki() {
    let (first, lock) = first_build();
    // The image root is assembled afresh under the other umask/TZ/locale; the build tree is
    // the first build's, copied from the cache, so this also checks that a cached tree
    // builds what a fresh one does.
    let second = build(
        &scratch().join("second-build-dir"),
        lock,
        "077",
        "Pacific/Kiritimati",
        "C",
        true,
        &["--build-tree-cache", tree_cache().to_str().unwrap()],
    );
    assert_eq!(
        manifest(&second)["build_tree"]["from_cache"],
        true,
        "the second build takes the first one's build tree from the cache"
    );
    let a = std::fs::read(first).unwrap();
    let b = std::fs::read(&second).unwrap();
    if a == b {
        return;
    }
    panic!("the two UKIs differ: {}", explain_difference(&a, &b));
}

#[test]
fn gcp_and_azure_profiles_produce_disks_that_debian_tools_accept() {
    let output = scratch().join("clouds");
    let lock = scratch().join("flashbox-l1+gcp+azure.lock");
    let volatile_deb = attested_tls_proxy_deb(&scratch().join("volatile-deb"));
    let efi = build(
        &output,
        &lock,
        "022",
        "UTC",
        "C.UTF-8",
        false,
        &[
            // Another configuration, so another build tree: not worth keeping.
            "--no-build-tree-cache",
            "--profile",
            "gcp",
            "--profile",
            "azure",
            // A prebuilt binary for a component whose source is unreachable.
            "-E",
            "TDX_INIT_BINARY=/usr/bin/true",
            // A prebuilt .deb, which the build script drops into $PACKAGEDIR and
            // VolatilePackages= has the image's dpkg install.
            "-E",
            &format!("ATTESTED_TLS_PROXY_DEB={}", volatile_deb.display()),
        ],
    );
    assert_eq!(
        initrd_member(&efi, "usr/bin/tdx-init"),
        std::fs::read("/usr/bin/true").unwrap(),
        "the prebuilt TDX_INIT_BINARY is the image's /usr/bin/tdx-init"
    );
    assert_eq!(
        initrd_member(&efi, "usr/bin/attested-tls-proxy"),
        VOLATILE_PROGRAM.as_bytes(),
        "the volatile package's file is in the image"
    );
    let manifest = manifest(&efi);
    let packages = manifest["packages"].as_array().unwrap();
    assert!(
        packages
            .iter()
            .any(|p| p["name"] == "attested-tls-proxy" && p["version"] == "1.0-e2e"),
        "dpkg in the image lists the volatile package: {packages:?}"
    );
    let name = efi.file_stem().unwrap().to_string_lossy().into_owned();
    let tarball = output.join(format!("{name}.tar.gz"));
    let vhd = output.join(format!("{name}.vhd"));
    let run = |program: &str, args: &[&str]| {
        let out = Command::new(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{program} {args:?} failed: {text}");
        text
    };
    // GCP: a tar.gz holding disk.raw, which GNU tar extracts and sgdisk finds sound.
    let listing = run("tar", &["-tvzf", tarball.to_str().unwrap()]);
    assert!(listing.contains(" disk.raw"), "{listing}");
    let extracted = output.join("extracted");
    std::fs::create_dir_all(&extracted).unwrap();
    run(
        "tar",
        &[
            "-xzf",
            tarball.to_str().unwrap(),
            "-C",
            extracted.to_str().unwrap(),
        ],
    );
    let disk = extracted.join("disk.raw");
    let verify = run("sgdisk", &["-v", disk.to_str().unwrap()]);
    assert!(verify.contains("No problems found"), "{verify}");
    // Azure: a fixed VHD of the same disk.
    let info = run(
        "qemu-img",
        &["info", "-f", "vpc", "--output=json", vhd.to_str().unwrap()],
    );
    let disk_len = std::fs::metadata(&disk).unwrap().len();
    assert!(info.contains("\"format\": \"vpc\""), "{info}");
    assert!(
        info.contains(&format!("\"virtual-size\": {disk_len}")),
        "virtual size should be {disk_len}: {info}"
    );
}

/// What the stand-in attested-tls-proxy package installs as `/usr/bin/attested-tls-proxy`.
const VOLATILE_PROGRAM: &str = "#!/bin/sh\necho attested-tls-proxy stand-in\n";

/// A small `attested-tls-proxy` package built by the host's `dpkg-deb` in `dir`.
fn attested_tls_proxy_deb(dir: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        "Package: attested-tls-proxy\nVersion: 1.0-e2e\nArchitecture: amd64\n\
         Maintainer: Flashbox builder tests <tests@localhost>\n\
         Description: stand-in for the prebuilt attested-tls-proxy package\n",
    )
    .unwrap();
    let program = root.join("usr/bin/attested-tls-proxy");
    std::fs::write(&program, VOLATILE_PROGRAM).unwrap();
    std::fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let deb = dir.join("attested-tls-proxy_1.0-e2e_amd64.deb");
    let out = Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(&root)
        .arg(&deb)
        .output()
        .expect("dpkg-deb runs");
    assert!(out.status.success(), "dpkg-deb failed: {out:?}");
    deb
}

/// The bytes of the member `path` (no leading `/`) of the UKI's initrd, taken out with
/// binutils' objcopy, zstd and GNU cpio: tools we did not write. Empty when it is missing.
fn initrd_member(efi: &Path, path: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let initrd = dir.path().join("initrd.cpio.zst");
    let status = Command::new("objcopy")
        .arg("--dump-section")
        .arg(format!(".initrd={}", initrd.display()))
        .arg(efi)
        .arg(dir.path().join("copy.efi"))
        .status()
        .expect("objcopy (binutils) runs");
    assert!(status.success(), "objcopy failed: {status}");
    let member = Command::new("sh")
        .arg("-c")
        .arg("zstd -dc \"$0\" | cpio -i --to-stdout --quiet \"$1\"")
        .arg(&initrd)
        .arg(path)
        .output()
        .expect("zstd and cpio run");
    assert!(member.status.success(), "{member:?}");
    member.stdout
}
