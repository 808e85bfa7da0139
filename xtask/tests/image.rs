//! End to end: `cargo xtask image flashbox-l1` with the real pipeline (real Debian archive,
//! target dpkg, QEMU + OVMF). Needs root and the network, as CI has.
//!
//! The first build is shared by both tests (built once per run). The reproducibility test
//! builds a second time in another output directory under another umask, TZ and locale, with
//! the lock of the first build, and compares the two UKIs byte for byte; on a difference it
//! names the first differing section and, for `.initrd`, the first differing cpio entry.

#![allow(clippy::print_stderr)] // build and boot times are part of what this test reports

#[path = "support/archive_server.rs"]
mod archive_server;
mod support;
#[path = "support/unprivileged.rs"]
mod unprivileged;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use image_builder::manifest::TreeOrigin;
use support::{Boot, build, explain_difference, manifest, scratch};

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
            &default_image_arguments(),
        );
        let origin = manifest(&efi).build_tree;
        assert!(
            matches!(origin, Some(TreeOrigin::AssembledAndCached { .. })),
            "the first build assembles its build tree and caches it: {origin:?}"
        );
        (efi, lock)
    })
}

/// The default image's arguments: the per-run build-tree cache and what a boot test needs
/// (the report unit, tdx-init).
fn default_image_arguments() -> Vec<String> {
    let mut arguments = vec![
        "--build-tree-cache".to_owned(),
        tree_cache().display().to_string(),
    ];
    arguments.extend(support::boot_test_arguments());
    arguments
}

#[test]
#[ignore = "needs root"]
fn flashbox_l1_boots_and_its_workload_runs() {
    let (efi, _) = first_build();
    let guest = support::boot_and_report(Boot::Uki(efi), &scratch().join("boot-uki"));
    support::assert_workload_runs(&guest, &support::not_built(efi));
    support::measured::assert_measurements_match(efi, "qemu-kernel", &guest.tpm);
}

#[test]
#[ignore = "needs root"]
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
    let not_built = &manifest.not_built;
    for entry in not_built {
        assert!(
            entry.message.contains("SKIPPED") && entry.message.contains("set "),
            "{entry:?}"
        );
        assert!(entry.message.contains(&entry.component), "{entry:?}");
    }
    if !not_built.is_empty() {
        assert!(
            not_built
                .iter()
                .any(|e| e.component == "lighthouse" && e.message.contains("LIGHTHOUSE_BINARY")),
            "{not_built:?}"
        );
    }
    // The Debian kernel is modular: KernelModules= kept the firewall's modules and what
    // they need, and depmod indexed them (checked with GNU cpio, not our reader).
    let modules = &manifest.kernel_modules[0];
    assert!(modules.filtered, "{modules:?}");
    let kept = &modules.kept;
    assert!(kept.len() < modules.total);
    let release = &modules.release;
    let modules_dep = String::from_utf8(initrd_member(
        efi,
        &format!("usr/lib/modules/{release}/modules.dep"),
    ))
    .unwrap();
    for module in [
        "nf_tables",
        "nft_compat",
        "nfnetlink",
        "xt_conntrack",
        "virtio_net",
    ] {
        let path = kept
            .iter()
            .find(|p| {
                p.rsplit('/')
                    .next()
                    .unwrap()
                    .starts_with(&format!("{module}.ko"))
            })
            .unwrap_or_else(|| panic!("{module} is not kept: {kept:?}"));
        assert!(
            modules_dep
                .lines()
                .any(|l| l.starts_with(&format!("{path}:"))),
            "{path} is not in the image's modules.dep"
        );
        assert!(!initrd_member(efi, &format!("usr/lib/modules/{release}/{path}")).is_empty());
    }
    assert_eq!(
        modules_dep.lines().count(),
        kept.len(),
        "modules.dep lists exactly the kept modules"
    );
}

#[test]
#[ignore = "needs root"]
fn the_lock_records_the_security_suite_it_read() {
    let (_, lock) = first_build();
    let lock = deb_resolver::Lock::from_toml(&std::fs::read_to_string(lock).unwrap()).unwrap();
    let suites: Vec<&str> = lock.sources.iter().map(|s| s.suite.as_str()).collect();
    assert!(suites.contains(&"trixie-security"), "{suites:?}");
    assert!(
        lock.request.suites.contains(&"trixie-security".to_owned()),
        "{:?}",
        lock.request.suites
    );
}

#[test]
#[ignore = "needs root"]
fn a_second_build_elsewhere_gives_the_same_uki() {
    let (first, lock) = first_build();
    // The image root is assembled afresh under the other umask/TZ/locale; the build tree is
    // the first build's, copied from the cache, so this also checks that a cached tree
    // builds what a fresh one does. Its packages come afresh from a loopback mirror that
    // has dropped every eighth locked file since the lock was written, and those from a
    // loopback snapshot service, as a committed lock meets the archive weeks later.
    let package_cache = deb_resolver::Cache::default_root().unwrap();
    let archive = archive_server::LoopbackArchive::start(lock, &package_cache, 8);
    let fresh_cache = scratch().join("second-package-cache");
    let _ = std::fs::remove_dir_all(&fresh_cache);
    // A tree without `Snapshot=` (the fixture's is not followed where no snapshot service
    // is named, as in the first build; naming one here would follow it).
    let without_snapshot = scratch().join("without-snapshot.conf");
    std::fs::write(&without_snapshot, "[Distribution]\nSnapshot=\n").unwrap();
    let mut arguments = default_image_arguments();
    arguments.extend([
        "-I".to_owned(),
        without_snapshot.display().to_string(),
        "--mirror".to_owned(),
        archive.mirror.url(),
        "--snapshot-mirror".to_owned(),
        archive.snapshots.url(),
        "--package-cache".to_owned(),
        fresh_cache.display().to_string(),
    ]);
    let second = build(
        &scratch().join("second-build-dir"),
        lock,
        "077",
        "Pacific/Kiritimati",
        "C",
        true,
        &arguments,
    );
    assert_dropped_files_came_from_the_snapshots(&archive);
    let origin = manifest(&second).build_tree;
    assert!(
        matches!(origin, Some(TreeOrigin::FromCache { .. })),
        "the second build takes the first one's build tree from the cache: {origin:?}"
    );
    assert_same_uki(first, &second, "the two UKIs differ");
    // The predicted measurements are a function of the UKI: the same document, byte for byte.
    let measurements =
        |efi: &Path| std::fs::read_to_string(efi.with_extension("measurements.json")).unwrap();
    assert_eq!(measurements(first), measurements(&second));
    std::fs::remove_dir_all(&fresh_cache).unwrap();
}

#[test]
#[ignore = "needs root"]
fn an_unprivileged_build_gives_the_root_builds_uki() {
    let (first, lock) = first_build();
    let home = unprivileged::unprivileged_user();
    // Everything the user's build writes is its own: the output, the lock it reads, the
    // build-tree cache.
    let dir = scratch().join("unprivileged");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let user_lock = dir.join("flashbox-l1.lock");
    std::fs::copy(lock, &user_lock).unwrap();
    let inputs = unprivileged::stage_inputs(&dir.join("inputs"));
    let owner = format!("{}:", unprivileged::BUILD_USER);
    run("chown", &["-R", &owner, &dir.display().to_string()]);
    let arguments = [
        "--build-tree-cache".to_owned(),
        dir.join("build-tree-cache").display().to_string(),
    ];
    let efi =
        unprivileged::build_unprivileged(&home, &inputs, &dir.join("out"), &user_lock, &arguments);
    assert_same_uki(
        first,
        &efi,
        "the unprivileged build's UKI differs from root's",
    );
    // Its files belong to the user (the image's ids are in the cpio, not on the host).
    let uid = run("id", &["-u", unprivileged::BUILD_USER]);
    let meta = std::fs::metadata(&efi).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&meta).to_string(),
        uid.trim()
    );
    // Its build tree cache and package cache are gigabytes no later test reads.
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "needs root"]
fn a_user_without_subordinate_ids_is_told_what_to_configure() {
    let said = unprivileged::build_without_subordinate_ids();
    let user = unprivileged::USER_WITHOUT_RANGE;
    assert!(
        said.contains(&format!(
            "usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user}"
        )),
        "{said}"
    );
    assert!(said.contains("/etc/subuid"), "{said}");
}

#[test]
#[ignore = "needs root"]
fn gcp_disk_boots_and_its_workload_runs() {
    let output = scratch().join("gcp");
    let lock = scratch().join("flashbox-l1+gcp.lock");
    let volatile_deb = attested_tls_proxy_deb(&scratch().join("volatile-deb"));
    let mut arguments = vec![
        // Another configuration, so another build tree: not worth keeping.
        "--no-build-tree-cache".to_owned(),
        "--profile".to_owned(),
        "gcp".to_owned(),
        // A prebuilt .deb, which the build script drops into $PACKAGEDIR and
        // VolatilePackages= has the image's dpkg install.
        "-E".to_owned(),
        format!("ATTESTED_TLS_PROXY_DEB={}", volatile_deb.display()),
    ];
    // Among them a prebuilt binary for a component whose source is unreachable (tdx-init).
    arguments.extend(support::boot_test_arguments());
    let efi = build(&output, &lock, "022", "UTC", "C.UTF-8", false, &arguments);
    assert_eq!(
        initrd_member(&efi, "usr/bin/tdx-init"),
        std::fs::read(support::tdx_init_stand_in()).unwrap(),
        "the prebuilt TDX_INIT_BINARY is the image's /usr/bin/tdx-init"
    );
    assert_eq!(
        initrd_member(&efi, "usr/bin/attested-tls-proxy"),
        VOLATILE_PROGRAM.as_bytes(),
        "the volatile package's file is in the image"
    );
    let packages = manifest(&efi).packages;
    assert!(
        packages
            .iter()
            .any(|p| p.name == "attested-tls-proxy" && p.version == "1.0-e2e"),
        "dpkg in the image lists the volatile package: {packages:?}"
    );
    let name = efi.file_stem().unwrap().to_string_lossy().into_owned();
    let tarball = output.join(format!("{name}.tar.gz"));
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
    // OVMF finds EFI/BOOT/BOOTX64.EFI on the ESP, as a GCP VM's firmware does.
    let guest = support::boot_and_report(Boot::Disk(&disk), &output.join("boot-disk"));
    support::assert_workload_runs(&guest, &support::not_built(&efi));
    support::measured::assert_measurements_match(&efi, "disk", &guest.tpm);
    std::fs::remove_dir_all(&output).unwrap();
}

#[test]
#[ignore = "needs root"]
fn azure_profile_writes_a_fixed_vhd() {
    let output = scratch().join("azure");
    let lock = scratch().join("flashbox-l1+azure.lock");
    let efi = build(
        &output,
        &lock,
        "022",
        "UTC",
        "C.UTF-8",
        false,
        &["--no-build-tree-cache", "--profile", "azure"],
    );
    let name = efi.file_stem().unwrap().to_string_lossy().into_owned();
    let vhd = output.join(format!("{name}.vhd"));
    // Azure: a fixed VHD (a raw disk and a 512-byte footer) that qemu-img reads as vpc.
    let info = run(
        "qemu-img",
        &["info", "-f", "vpc", "--output=json", vhd.to_str().unwrap()],
    );
    let disk_len = std::fs::metadata(&vhd).unwrap().len() - 512;
    assert!(info.contains("\"format\": \"vpc\""), "{info}");
    assert!(
        info.contains(&format!("\"virtual-size\": {disk_len}")),
        "virtual size should be {disk_len}: {info}"
    );
    // The disk is gigabytes no later test reads.
    std::fs::remove_dir_all(&output).unwrap();
}

#[test]
#[ignore = "needs root"]
fn directory_cpio_and_tar_images_are_their_root() {
    // A tree of its own, as mkosi's guides write one: no kernel, no UKI, the root as output.
    let dir = scratch().join("directory-image");
    let _ = std::fs::remove_dir_all(&dir);
    let tree = dir.join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(
        tree.join("mkosi.conf"),
        "[Distribution]\nDistribution=debian\nRelease=trixie\nArchitecture=x86-64\n\n\
         [Output]\nFormat=directory\nImageId=tiny\nOutputDirectory=mkosi.output\n\n\
         [Content]\nSourceDateEpoch=0\nPackages=busybox\n",
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(["image", "-C"])
        .arg(&tree)
        .arg("--lock-file")
        .arg(dir.join("tiny.lock"))
        .stdout(std::process::Stdio::piped());
    let root = support::run_build(&mut command, "as root");
    // Written where the definition's OutputDirectory= says, named after ImageId=.
    assert_eq!(root, tree.join("mkosi.output/tiny"));
    assert!(root.is_dir(), "{}", root.display());
    // dpkg's own query tool reads the image's database: busybox and the base set are in it.
    let admindir = root.join("var/lib/dpkg");
    let listed = run(
        "dpkg-query",
        &[
            &format!("--admindir={}", admindir.display()),
            "-W",
            "-f",
            "${Package} ${Version}\n",
        ],
    );
    let manifest = image_builder::Manifest::from_json(
        &std::fs::read_to_string(tree.join("mkosi.output/tiny.manifest")).unwrap(),
    )
    .unwrap();
    assert!(manifest.kernel.is_none(), "{:?}", manifest.kernel);
    assert!(
        !manifest
            .packages
            .iter()
            .any(|p| p.name.starts_with("linux-image")),
        "no kernel was added to a directory image"
    );
    for package in &manifest.packages {
        let line = format!("{} {}", package.name, package.version);
        assert!(listed.lines().any(|l| l == line), "{line} not in\n{listed}");
    }
    assert!(
        listed.lines().any(|l| l.starts_with("busybox ")),
        "{listed}"
    );
    // The artifact is the root, by its tree digest.
    assert_eq!(manifest.artifacts[0].path, "tiny");
    assert_eq!(manifest.artifacts[0].sha256, manifest.rootfs_tree_sha256);
    assert!(root.join("usr/bin/busybox").is_file());

    // The same tree as the guide's initrd (Format=cpio, Output=initrd) with the directory
    // image as a subimage of mkosi.images/: one command builds both, the subimage first,
    // each with its own lock.
    let conf = std::fs::read_to_string(tree.join("mkosi.conf")).unwrap();
    std::fs::write(
        tree.join("mkosi.conf"),
        conf.replace("Format=directory", "Format=cpio\nOutput=initrd"),
    )
    .unwrap();
    let base = tree.join("mkosi.images/base");
    std::fs::create_dir_all(base.join("mkosi.extra")).unwrap();
    std::fs::write(
        base.join("mkosi.conf"),
        "[Output]\nFormat=directory\n\n[Content]\nPackages=busybox\n",
    )
    .unwrap();
    // A second subimage, the same root as a tar archive.
    std::fs::create_dir_all(tree.join("mkosi.images/rootfs")).unwrap();
    std::fs::write(
        tree.join("mkosi.images/rootfs/mkosi.conf"),
        "[Output]\nFormat=tar\n\n[Content]\nPackages=busybox\n",
    )
    .unwrap();
    // The main image's sync script runs before any image is built, as in mkosi: what it
    // puts in the subimage's extra tree reaches the subimage.
    let sync = tree.join("mkosi.sync");
    std::fs::write(
        &sync,
        "#!/bin/sh\nset -eu\necho synced > \"$SRCDIR/mkosi.images/base/mkosi.extra/synced\"\n",
    )
    .unwrap();
    run("chmod", &["755", sync.to_str().unwrap()]);
    let result = command.output().unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let printed = String::from_utf8(result.stdout).unwrap();
    let outputs: Vec<&str> = printed.lines().collect();
    let (subimage, tar, cpio) = (
        tree.join("mkosi.output/base"),
        tree.join("mkosi.output/rootfs.tar.zst"),
        tree.join("mkosi.output/initrd.cpio.zst"),
    );
    assert_eq!(
        outputs,
        [
            subimage.to_str().unwrap(),
            tar.to_str().unwrap(),
            cpio.to_str().unwrap()
        ],
        "the subimages are built first"
    );
    // GNU tar reads the tar image: the root first, busybox in it, numeric owners, and
    // nothing under the API file systems' directories.
    let tar_listing = run(
        "sh",
        &[
            "-c",
            &format!("zstd -dc '{}' | tar -tv --numeric-owner", tar.display()),
        ],
    );
    let names: Vec<&str> = tar_listing
        .lines()
        .map(|l| l.split_whitespace().nth(5).unwrap_or_default())
        .collect();
    assert_eq!(names.first(), Some(&"./"), "{tar_listing}");
    assert!(names.contains(&"usr/bin/busybox"), "{tar_listing}");
    assert!(
        !names
            .iter()
            .any(|n| ["dev/", "proc/", "sys/", "run/", "tmp/"]
                .iter()
                .any(|d| n.starts_with(d) && n != d)),
        "{tar_listing}"
    );
    assert!(subimage.join("usr/bin/busybox").is_file());
    assert_eq!(
        std::fs::read_to_string(subimage.join("synced")).unwrap(),
        "synced\n"
    );
    assert!(tree.join("mkosi.images/base.lock").is_file());
    let listing = run(
        "sh",
        &[
            "-c",
            &format!("zstd -dc '{}' | cpio -t --quiet", cpio.display()),
        ],
    );
    assert!(listing.lines().any(|l| l == "usr/bin/busybox"), "{listing}");
    let manifest = image_builder::Manifest::from_json(
        &std::fs::read_to_string(tree.join("mkosi.output/initrd.manifest")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest.artifacts[0].path, "initrd.cpio.zst");
    assert_eq!(
        manifest.artifacts[0].sha256,
        build_vocab::Sha256::of_file(&cpio).unwrap()
    );
}

/// Every file the loopback mirror dropped was asked of it (404), then of the snapshot
/// service (a redirect from the day after its Release to the snapshot taken after it, then
/// the file); every other file came from the mirror.
fn assert_dropped_files_came_from_the_snapshots(archive: &archive_server::LoopbackArchive) {
    let mirror = archive.mirror.requests();
    let snapshots = archive.snapshots.requests();
    for path in &archive.dropped {
        let asked = |log: &[(String, u16)], status: u16| {
            log.iter()
                .any(|(p, s)| p.ends_with(&format!("/{path}")) && *s == status)
        };
        assert!(asked(&mirror, 404), "the mirror was not asked for {path}");
        assert!(
            asked(&snapshots, 302) && asked(&snapshots, 200),
            "the snapshot service did not serve {path}: {snapshots:?}"
        );
    }
    let served = mirror.iter().filter(|(_, status)| *status == 200).count();
    let fetched = served + archive.dropped.len();
    assert!(
        archive.dropped.len() > 10 && served > 300,
        "{served} files from the mirror, {} from the snapshots",
        archive.dropped.len()
    );
    eprintln!(
        "fetched {fetched} locked files: {served} from the mirror, {} from the snapshots",
        archive.dropped.len()
    );
}

/// Runs a tool we did not write; its output, or a panic with it when it fails.
/// Asserts the UKIs `a` and `b` are byte-identical; else fails with `what` and the first
/// differing section (and, for `.initrd`, cpio entry and field).
fn assert_same_uki(a: &Path, b: &Path, what: &str) {
    let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert!(a == b, "{what}: {}", explain_difference(&a, &b));
}

fn run(program: &str, args: &[&str]) -> String {
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
}

/// What the stand-in attested-tls-proxy package installs as `/usr/bin/attested-tls-proxy`.
/// Like the real proxy, it keeps running.
const VOLATILE_PROGRAM: &str = "#!/bin/sh\necho attested-tls-proxy stand-in\nexec sleep infinity\n";

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

/// What one build of the system-extension guide's tree left.
struct GuideBuild {
    /// The test's directory (the tree is its `tree/`).
    dir: PathBuf,
    /// What `xtask image` printed.
    printed: String,
    /// The base directory image.
    base: PathBuf,
    /// The signed btrfs sysext.
    sysext: PathBuf,
    /// The initrd made of the base.
    initrd: PathBuf,
}

/// The tree of mkosi's system-extension guide (`shared/reference/mkosi-sysext-guide.txt`),
/// as `fixtures/sysext-guide/` writes it (the guide's files plus what every tree here needs:
/// the distribution and a SOURCE_DATE_EPOCH), copied, with `mkosi.key` and `mkosi.crt` made by openssl as the guide tells its
/// reader to, built by one command (once per run, shared by the tests of the guide).
fn guide_build() -> &'static GuideBuild {
    static GUIDE: OnceLock<GuideBuild> = OnceLock::new();
    GUIDE.get_or_init(|| {
        let dir = scratch().join("sysext-guide");
        let _ = std::fs::remove_dir_all(&dir);
        let tree = dir.join("tree");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sysext-guide");
        for path in [
            "mkosi.conf",
            "mkosi.images/base/mkosi.conf",
            "mkosi.images/btrfs/mkosi.conf",
        ] {
            let target = tree.join(path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(fixture.join(path), target).unwrap();
        }
        run(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=sysext guide test",
                "-days",
                "3650",
                "-keyout",
                tree.join("mkosi.key").to_str().unwrap(),
                "-out",
                tree.join("mkosi.crt").to_str().unwrap(),
            ],
        );
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .args(["image", "-C"])
            .arg(&tree)
            .arg("--lock-file")
            .arg(dir.join("initrd.lock"))
            .stdout(std::process::Stdio::piped());
        let result = command.output().unwrap();
        assert!(
            result.status.success(),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
        let output = tree.join("mkosi.output");
        let (base, sysext, initrd) = (
            output.join("base"),
            output.join("btrfs.raw"),
            output.join("initrd.cpio.zst"),
        );
        let printed = String::from_utf8(result.stdout).unwrap();
        GuideBuild {
            dir,
            printed,
            base,
            sysext,
            initrd,
        }
    })
}

/// The guide's tree (see [`guide_build`]): one command builds the base directory, the signed
/// btrfs sysext on top of it and the initrd made of the base; tools we did not write judge
/// each output.
#[test]
#[ignore = "needs root"]
fn the_sysext_guide_tree_builds_its_three_images_in_one_command() {
    let GuideBuild {
        dir,
        printed,
        base,
        sysext,
        initrd,
    } = guide_build();
    assert_eq!(
        printed.lines().collect::<Vec<_>>(),
        [
            base.to_str().unwrap(),
            sysext.to_str().unwrap(),
            initrd.to_str().unwrap()
        ],
        "the images in dependency order"
    );
    assert!(base.join("usr/bin/systemctl").exists());

    // The sysext: systemd's own dissector finds the root and its verity partitions.
    let dissected = run(
        "systemd-dissect",
        &["--json=short", sysext.to_str().unwrap()],
    );
    eprintln!("systemd-dissect: {dissected}");
    for designator in ["\"root\"", "\"root-verity\"", "\"root-verity-sig\""] {
        assert!(
            dissected.contains(designator),
            "{designator} in {dissected}"
        );
    }
    assert!(dissected.contains("erofs"), "{dissected}");
    // Its file system, cut out by the partition table as sfdisk reads it and unpacked by
    // erofs-utils' checker: btrfs-progs and the extension's release file, none of the base.
    let table: serde_json::Value =
        serde_json::from_str(&run("sfdisk", &["--json", sysext.to_str().unwrap()])).unwrap();
    // Partition `index` of the sysext, cut out at the offsets sfdisk reads.
    let cut = |index: usize, name: &str| {
        let partition = &table["partitiontable"]["partitions"][index];
        let path = dir.join(name);
        run(
            "dd",
            &[
                &format!("if={}", sysext.display()),
                &format!("of={}", path.display()),
                "bs=512",
                &format!("skip={}", partition["start"].as_u64().unwrap()),
                &format!("count={}", partition["size"].as_u64().unwrap()),
                "status=none",
            ],
        );
        path
    };
    let file_system = cut(0, "root.erofs");
    let extracted = dir.join("extracted");
    run(
        "fsck.erofs",
        &[
            &format!("--extract={}", extracted.display()),
            file_system.to_str().unwrap(),
        ],
    );
    assert!(extracted.join("usr/bin/btrfs").is_file());
    assert!(
        !extracted.join("usr/bin/systemctl").exists(),
        "the base is left out"
    );
    assert!(!extracted.join("etc").exists(), "only /usr and /opt");
    let release = std::fs::read_to_string(
        extracted.join("usr/lib/extension-release.d/extension-release.btrfs"),
    )
    .unwrap();
    assert!(release.lines().any(|l| l == "ID=debian"), "{release}");
    assert!(release.lines().any(|l| l == "VERSION_ID=13"), "{release}");
    // The verity data checks out with cryptsetup against the signed root hash.
    let hash_device = cut(1, "root.verity");
    let signature = cut(2, "root.verity-sig");
    let signature_json = std::fs::read(&signature).unwrap();
    let end = signature_json
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(signature_json.len());
    let signature_json: serde_json::Value = serde_json::from_slice(&signature_json[..end]).unwrap();
    let root_hash = signature_json["rootHash"].as_str().unwrap();
    run(
        "veritysetup",
        &[
            "verify",
            file_system.to_str().unwrap(),
            hash_device.to_str().unwrap(),
            root_hash,
        ],
    );

    // The initrd is the base made an initrd.
    let listing = run(
        "sh",
        &[
            "-c",
            &format!("zstd -dc '{}' | cpio -tv --quiet", initrd.display()),
        ],
    );
    assert!(
        listing
            .lines()
            .any(|l| l.contains(" etc/initrd-release -> /etc/os-release")),
        "{listing}"
    );
    assert!(
        listing
            .lines()
            .any(|l| l.contains(" init -> /usr/lib/systemd/systemd")),
        "{listing}"
    );
    assert!(
        listing.lines().any(|l| l.ends_with(" usr/bin/systemctl")),
        "{listing}"
    );
}

/// The guide's sysext merges on a booted image of the base it was built on: a UKI whose root
/// is the guide's base directory (`BaseTrees=`) plus the Debian kernel, kmod, the stub and
/// libcryptsetup, with the guide's certificate in `/etc/verity.d` and the test-only
/// `sysext-check` unit, boots in QEMU with `btrfs.raw` attached as a disk. The guest runs
/// `systemd-sysext merge` under a policy that takes only a signed verity root, so the merge
/// proves the signature partition verifies against the certificate (without it, the same
/// merge is refused); btrfs-progs then runs from the merged `/usr`. The guide's base is
/// unconfigured, so the command line turns off systemd-firstboot, which would wait at the
/// console.
#[test]
#[ignore = "needs root"]
fn the_guide_sysext_merges_on_a_booted_image_of_its_base() {
    let guide = guide_build();
    let dir = scratch().join("sysext-host");
    let _ = std::fs::remove_dir_all(&dir);
    let tree = dir.join("tree");
    let conf = format!(
        "[Distribution]\nDistribution=debian\nRelease=trixie\nArchitecture=x86-64\n\n\
         [Output]\nFormat=uki\nOutput=host\nOutputDirectory=mkosi.output\n\n\
         [Content]\nSourceDateEpoch=0\nBaseTrees={}\nPackages=kmod\n         \
         systemd-boot-efi\n         libcryptsetup12\nExtraTrees=mkosi.extra\n\
         KernelCommandLine=console=ttyS0,115200n8 systemd.firstboot=off\n",
        guide.base.display()
    );
    std::fs::create_dir_all(tree.join("mkosi.extra/etc/verity.d")).unwrap();
    std::fs::write(tree.join("mkosi.conf"), conf).unwrap();
    std::fs::copy(
        guide.dir.join("tree/mkosi.crt"),
        tree.join("mkosi.extra/etc/verity.d/sysext-guide.crt"),
    )
    .unwrap();
    let check_tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/sysext-check");
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(["image", "-C"])
        .arg(&tree)
        .arg("--lock-file")
        .arg(dir.join("host.lock"))
        .arg("--extra-tree")
        .arg(&check_tree)
        .stdout(std::process::Stdio::piped());
    let efi = support::run_build(&mut command, "as root");
    let report = support::boot_with_disks(
        &efi,
        &[("sysext", &guide.sysext)],
        "sysext-check",
        &dir.join("boot"),
    );
    let text = report.join("\n");
    eprintln!("{text}");
    assert!(
        report
            .iter()
            .any(|l| l.starts_with("merge-untrusted exit=") && l != "merge-untrusted exit=0"),
        "without the certificate the signed-only policy refuses the extension: {text}"
    );
    assert!(report.iter().any(|l| l == "merge exit=0"), "{text}");
    assert!(
        report
            .iter()
            .any(|l| l.starts_with("log ") && l.contains("erofs: (device dm-")),
        "the extension's erofs is mounted through dm-verity: {text}"
    );
    assert!(
        report
            .iter()
            .any(|l| l.starts_with("file /usr/bin/btrfs -rwxr-xr-x")),
        "btrfs-progs is in the merged /usr: {text}"
    );
    assert!(
        report
            .iter()
            .any(|l| l.starts_with("file /usr/lib/extension-release.d/extension-release.btrfs -")),
        "{text}"
    );
    assert!(
        report
            .iter()
            .any(|l| l.starts_with("version btrfs-progs v")),
        "btrfs runs from the extension: {text}"
    );
    assert!(
        report
            .iter()
            .any(|l| l.starts_with("status ") && l.contains("btrfs")),
        "systemd-sysext status lists the extension: {text}"
    );
}
