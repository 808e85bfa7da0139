//! Test set-up shared by the crate's unit tests: a tiny lock of real `.deb` files whose
//! dependencies exercise the bootstrap and the install plan, and a stand-in for the target's
//! dpkg for the [`crate::sandbox::RecordingRunner`].

use std::fs;
use std::path::Path;

use crate::deb::LockedDeb;
use crate::error::Error;
use crate::install::InstallOptions;
use crate::sandbox::{Sandbox, SandboxCommand};
use build_vocab::debian::testdeb::{TestCompression, TestEntry, control, write_deb};
use build_vocab::{PackageName, debian::DebVersion};

/// A package list as a lock gives it (by name): `dpkg` (Essential, needs `libaa`),
/// `libaa`, `app` (needs `tool`), `tool` (Pre-Depends on `libbb`), `libbb`.
pub(crate) fn tiny_lock(dir: &Path) -> Vec<LockedDeb> {
    fs::create_dir_all(dir).unwrap();
    let packages = [
        ("app", "Depends: tool\n"),
        ("dpkg", "Essential: yes\nDepends: libaa\n"),
        ("libaa", ""),
        ("libbb", ""),
        ("tool", "Pre-Depends: libbb\n"),
    ];
    packages
        .iter()
        .map(|(name, extra)| {
            let file: &'static str = Box::leak(format!("./usr/share/{name}").into_boxed_str());
            let data = [
                TestEntry::Dir("./", 0o755),
                TestEntry::Dir("./usr/", 0o755),
                TestEntry::Dir("./usr/share/", 0o755),
                TestEntry::File(file, b"x", 0o644),
            ];
            let text = control(name, "1.0", extra);
            let path = write_deb(dir, name, &text, &[], &data, TestCompression::Xz);
            let id = build_vocab::PackageId {
                name: PackageName::new(*name).unwrap(),
                version: DebVersion::parse("1.0").unwrap(),
                architecture: "amd64".parse().unwrap(),
            };
            LockedDeb::hashing(id, path).unwrap()
        })
        .collect()
}

pub(crate) fn install_options(dir: &Path) -> InstallOptions {
    let root = dir.join("root");
    fs::create_dir_all(&root).unwrap();
    InstallOptions {
        root,
        work: dir.join("work"),
        architecture: "amd64".into(),
        source_date_epoch: 1_700_000_000,
    }
}

/// What dpkg would leave in `status` after the last run: every package installed, `tool`
/// at `tool_version`, `app` left out when `with_app` is false.
pub(crate) fn status_text(tool_version: &str, with_app: bool) -> String {
    ["app", "dpkg", "libaa", "libbb", "tool"]
        .iter()
        .filter(|name| with_app || **name != "app")
        .map(|name| {
            let version = if *name == "tool" { tool_version } else { "1.0" };
            format!(
                "Package: {name}\nStatus: install ok installed\nVersion: {version}\n\
                 Architecture: amd64\n\n"
            )
        })
        .collect()
}

/// A stand-in for the target's dpkg: checks the staged files are where the command says,
/// and writes `status` on the last `--configure --pending`.
pub(crate) fn fake_dpkg(
    status: String,
) -> impl Fn(&Sandbox, &SandboxCommand) -> Result<(), Error> + Sync {
    move |sandbox, command| {
        let staging = &sandbox.binds[0].source;
        for arg in &command.args {
            if let Some(file) = arg.to_str().and_then(|a| a.strip_prefix("/work/debs/")) {
                assert!(staging.join(file).is_file(), "{file} is not staged");
            }
        }
        let pending = command.args.iter().any(|a| a == "--pending");
        if pending {
            fs::write(sandbox.root.join("var/lib/dpkg/status"), &status).unwrap();
        }
        Ok(())
    }
}
