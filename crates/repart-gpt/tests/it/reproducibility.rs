//! The same inputs give the same bytes, whatever the umask, time zone, locale, build directory,
//! working directory, environment and file creation order of the build.
//!
//! Each build runs in a child process (this test binary, re-run on the ignored
//! `child_build` test) so that umask and environment really differ; the parent compares the
//! outputs and names the first differing region of the disk.

use std::env;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

const CHILD_DIR: &str = "REPART_GPT_REPRO_DIR";
const CHILD_ORDER: &str = "REPART_GPT_REPRO_ORDER";
const OUTPUTS: [&str; 3] = ["disk.raw", "image_1.0.tar.gz", "image_1.0.vhd"];

/// Writes the inputs under `dir` (definitions, a copy source tree), in the given order.
fn write_inputs(dir: &Path, reverse: bool) {
    let esp = gcp_esp_definition();
    let mut definitions = vec![
        ("00-esp.conf", esp.as_str()),
        (
            "10-data.conf",
            "[Partition]\nType=linux-generic\nFormat=vfat\nLabel=data\nMinimize=guess\n\
             CopyFiles=/cfg:/CFG\nCopyFiles=/top.txt:/TOP.TXT\n",
        ),
        (
            "20-root.conf",
            "[Partition]\nType=root-x86-64\nSizeMinBytes=3M\n",
        ),
    ];
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        ("src/cfg/a.txt", b"alpha\n".to_vec()),
        ("src/cfg/sub/b.bin", fake_uki(70_000, 9)),
        ("src/cfg/sub/c", Vec::new()),
        ("src/cfg/z-last.cfg", b"omega\n".to_vec()),
        ("src/top.txt", b"top\n".to_vec()),
    ];
    if reverse {
        definitions.reverse();
        files.reverse();
    }
    write_definitions(&dir.join("repart"), &definitions);
    for (path, data) in files {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
    }
}

fn build_in(dir: &Path) -> repart_gpt::BuiltImage {
    build_with(
        &dir.join("repart"),
        &fake_uki(1_500_000, 4),
        &dir.join("out"),
        Some(&dir.join("src")),
        SEED,
    )
}

#[test]
#[ignore = "a child process of builds_are_byte_identical_across_environments"]
fn child_build() {
    let Some(dir) = env::var_os(CHILD_DIR) else {
        panic!("run by builds_are_byte_identical_across_environments with {CHILD_DIR} set");
    };
    let dir = PathBuf::from(dir);
    write_inputs(&dir, env::var(CHILD_ORDER).as_deref() == Ok("reverse"));
    build_in(&dir);
}

#[test]
fn builds_are_byte_identical_across_environments() {
    let tmp = tempfile::tempdir().unwrap();
    let exe = env::current_exe().unwrap();
    // (build directory, umask, TZ, LC_ALL, creation order, an unrelated SOURCE_DATE_EPOCH)
    let variants = [
        ("one", "022", "UTC", "C", "forward", "0"),
        (
            "two/a deeper build dir",
            "077",
            "Pacific/Kiritimati",
            "C.UTF-8",
            "reverse",
            "1700000000",
        ),
    ];
    let mut dirs = Vec::new();
    for (name, umask, tz, locale, order, epoch) in variants {
        let dir = tmp.path().join(name);
        fs::create_dir_all(&dir).unwrap();
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(&exe)
            .args([
                "--exact",
                "reproducibility::child_build",
                "--ignored",
                "--test-threads=1",
            ])
            .current_dir(&dir)
            .env(CHILD_DIR, &dir)
            .env(CHILD_ORDER, order)
            .env("TZ", tz)
            .env("LC_ALL", locale)
            .env("SOURCE_DATE_EPOCH", epoch)
            .output()
            .unwrap();
        assert!(
            child.status.success(),
            "child build in {} failed:\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&child.stdout),
            String::from_utf8_lossy(&child.stderr)
        );
        for output in OUTPUTS {
            let path = dir.join("out").join(output);
            let meta = fs::metadata(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                meta.mode() & 0o777,
                0o644,
                "{} under umask {umask}",
                path.display()
            );
        }
        dirs.push(dir);
    }

    // An in-process build of the same inputs gives the layout that names regions.
    let reference = tmp.path().join("reference");
    write_inputs(&reference, false);
    let built = build_in(&reference);
    assert_eq!(built.layout.partitions.len(), 3);
    for dir in &dirs {
        for output in OUTPUTS {
            let difference = first_difference(
                &reference.join("out").join(output),
                &dir.join("out").join(output),
                &built.layout,
            );
            assert_eq!(difference, None);
        }
    }
}

#[test]
fn the_seed_reaches_the_bytes_and_differences_are_located() {
    let tmp = tempfile::tempdir().unwrap();
    write_inputs(tmp.path(), false);
    let uki = fake_uki(100_000, 4);
    let src = tmp.path().join("src");
    let defs = tmp.path().join("repart");
    let a = build_with(&defs, &uki, &tmp.path().join("a"), Some(&src), SEED);
    let b = build_with(
        &defs,
        &uki,
        &tmp.path().join("b"),
        Some(&src),
        "630b5f72-a36a-4e83-b23d-6ef47c82fd9d",
    );
    assert_ne!(a.layout.disk_guid, b.layout.disk_guid);
    // The ESP keeps its UUID from the definition; the others are derived from the seed.
    assert_eq!(a.layout.partitions[0].uuid, b.layout.partitions[0].uuid);
    assert_ne!(a.layout.partitions[1].uuid, b.layout.partitions[1].uuid);
    let difference = first_difference(
        &tmp.path().join("a/disk.raw"),
        &tmp.path().join("b/disk.raw"),
        &a.layout,
    )
    .expect("another seed gives another disk");
    assert!(difference.contains("PrimaryHeader"), "{difference}");
}
