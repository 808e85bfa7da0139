//! The kernel source build end to end (`cargo xtask image flashbox-l1 --kernel source`). Each
//! build compiles a whole kernel (tens of minutes on two cores), so the test is ignored unless
//! asked for explicitly:
//!
//! ```sh
//! cargo test -p xtask --test kernel_source -- --ignored --nocapture
//! ```
//!
//! The series is `FLASHBOX_TEST_KERNEL_VERSION` when set (the Debian mirror must carry
//! `linux-source-X.Y`), else the definition's `KERNEL_VERSION`. Two builds, each with an empty
//! kernel cache of its own, in different output directories under different umask, TZ and
//! locale: the two UKIs, and so their kernels, must be byte-identical; the first must boot
//! with a NIC, print the image's measurements and run its workload, as the default image's
//! test asserts (`support::assert_workload_runs`).

#![allow(clippy::print_stderr)] // build times and the kernel's digest are what this test reports

mod support;

use support::{Boot, build, explain_difference, manifest, scratch};

#[test]
#[ignore = "compiles the kernel twice: tens of minutes on two cores"]
fn a_source_kernel_builds_twice_identically_and_boots() {
    let root = scratch().join("kernel-source");
    let lock = root.join("flashbox-l1+kernel-source.lock");
    let _ = std::fs::remove_file(&lock);
    let series = std::env::var("FLASHBOX_TEST_KERNEL_VERSION")
        .ok()
        .map(|v| format!("KERNEL_VERSION={v}"));
    let mut ukis = Vec::new();
    for (name, umask, tz, locale, locked) in [
        ("a", "022", "UTC", "C.UTF-8", false),
        ("b", "077", "Pacific/Kiritimati", "C", true),
    ] {
        let cache = root.join(format!("kernel-cache-{name}"));
        let _ = std::fs::remove_dir_all(&cache);
        let mut extra: Vec<String> = vec![
            "--kernel".into(),
            "source".into(),
            "--kernel-cache".into(),
            cache.display().to_string(),
        ];
        if let Some(series) = &series {
            extra.extend(["-E".into(), series.clone()]);
        }
        extra.extend(support::boot_test_arguments());
        let efi = build(&root.join(name), &lock, umask, tz, locale, locked, &extra);
        let origin = manifest(&efi).kernel.expect("a UKI has a kernel").origin;
        assert!(
            origin.starts_with("built from linux-source"),
            "the manifest says where the kernel came from: {origin}"
        );
        let bytes = std::fs::read(&efi).unwrap();
        let linux = uki_stitcher::inspect(&bytes)
            .unwrap()
            .sections
            .into_iter()
            .find(|s| s.name == ".linux")
            .expect("the UKI has a .linux section");
        eprintln!(
            "build {name}: kernel sha256 {} ({} bytes)",
            linux
                .sha256
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
            linux.size
        );
        ukis.push((efi, bytes));
    }
    let (a, b) = (&ukis[0].1, &ukis[1].1);
    assert!(a == b, "the two UKIs differ: {}", explain_difference(a, b));
    let efi = &ukis[0].0;
    let guest = support::boot_and_report(Boot::Uki(efi), &root.join("boot"));
    support::assert_workload_runs(&guest, &support::not_built(efi));
    support::measured::assert_measurements_match(efi, "qemu-kernel", &guest.tpm);
}
