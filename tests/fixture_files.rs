//! The fixture tree's files are real: shell scripts pass `bash -n` and ShellCheck, systemd
//! units pass `systemd-analyze verify`, the C source compiles warning-free, and kernel config
//! fragments are well-formed. Each check uses the tool a Debian developer would.

use std::path::{Path, PathBuf};
use std::process::Command;

use workspace_tests::fixtures_dir;

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && !path.is_symlink() {
                pending.push(path);
            } else if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn is_shell_script(path: &Path) -> bool {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let first = text.lines().next().unwrap_or_default();
    [
        "#!/bin/bash",
        "#!/bin/sh",
        "#!/usr/bin/env bash",
        "#!/usr/bin/env sh",
    ]
    .iter()
    .any(|shebang| first.trim_end() == *shebang)
}

fn run(command: &mut Command) -> (bool, String) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn shell_scripts_parse_and_pass_shellcheck() {
    let scripts: Vec<PathBuf> = all_files(&fixtures_dir())
        .into_iter()
        .filter(|p| is_shell_script(p))
        .collect();
    assert!(
        scripts.len() > 20,
        "expected the fixture scripts, found {scripts:?}"
    );
    for script in &scripts {
        let (ok, output) = run(Command::new("bash").arg("-n").arg(script));
        assert!(ok, "bash -n {}: {output}", script.display());
    }
    let (ok, output) = run(Command::new("shellcheck").args(&scripts));
    assert!(ok, "shellcheck found problems:\n{output}");
}

#[test]
fn executable_scripts_are_executable() {
    use std::os::unix::fs::PermissionsExt;
    for script in all_files(&fixtures_dir())
        .into_iter()
        .filter(|p| is_shell_script(p))
    {
        let sourced_helper = script.parent().is_some_and(|d| d.ends_with("scripts"));
        let mode = script.metadata().unwrap().permissions().mode();
        assert!(
            sourced_helper || mode & 0o111 != 0,
            "{} is not executable",
            script.display()
        );
    }
}

/// The overlay trees of flashbox-l1 in the order the image applies them.
const OVERLAYS: &[&str] = &[
    "shared/mkosi.extra",
    "modules/flashbox/common/mkosi.extra",
    "modules/flashbox/flashbox-l1/mkosi.extra",
    "modules/flashbox/observability/mkosi.extra",
];

fn copy_tree(from: &Path, to: &Path) {
    let (ok, output) = run(Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to));
    assert!(ok, "cp: {output}");
}

#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    // A scratch root holding the host's units (where the units ours name live) and the image's
    // overlays on top, so `--root` resolves dependencies as the image would.
    let root = std::env::temp_dir().join(format!("fixture-units-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("usr/lib/systemd")).unwrap();
    copy_tree(
        Path::new("/usr/lib/systemd/system"),
        &root.join("usr/lib/systemd/system"),
    );
    for overlay in OVERLAYS {
        copy_tree(&fixtures_dir().join(overlay), &root);
    }
    let units: Vec<PathBuf> = all_files(&root.join("etc/systemd/system"))
        .into_iter()
        .filter(|p| {
            p.extension().is_some_and(|e| {
                ["service", "target", "timer", "socket"]
                    .iter()
                    .any(|x| e == *x)
            })
        })
        .collect();
    assert!(
        units.len() >= 10,
        "expected the fixture units, found {units:?}"
    );
    let mut problems = Vec::new();
    for unit in &units {
        let (_, output) = run(Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(format!("--root={}", root.display()))
            .arg(unit));
        for line in output.lines().filter(|l| !l.trim().is_empty()) {
            if !tolerated(line) {
                problems.push(format!("{}: {line}", unit.display()));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(
        problems.is_empty(),
        "systemd-analyze verify:\n{}",
        problems.join("\n")
    );
}

/// Complaints that are about this host, not about the unit: programs and units that come from
/// Debian packages the image installs but this build host does not have.
fn tolerated(line: &str) -> bool {
    if line.contains("is not executable: No such file or directory") {
        return true;
    }
    if let Some(rest) = line
        .split("Unit ")
        .nth(1)
        .and_then(|r| r.strip_suffix(" not found."))
    {
        return !Path::new("/usr/lib/systemd/system").join(rest).exists();
    }
    false
}

#[test]
fn searcher_shell_compiles_without_warnings() {
    let source = fixtures_dir().join("modules/flashbox/common/searchersh.c");
    let output = std::env::temp_dir().join(format!("searchersh-{}", std::process::id()));
    let (ok, text) = run(Command::new("gcc")
        .args(["-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&output)
        .arg(&source));
    let _ = std::fs::remove_file(&output);
    assert!(ok, "gcc: {text}");
}

#[test]
fn kernel_fragments_are_well_formed() {
    let fragments: Vec<PathBuf> = all_files(&fixtures_dir())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "config"))
        .collect();
    assert!(fragments.len() >= 5, "{fragments:?}");
    for fragment in fragments {
        let text = std::fs::read_to_string(&fragment).unwrap();
        for (number, line) in text.lines().enumerate() {
            let valid = line.trim().is_empty()
                || (line.starts_with("# CONFIG_") && line.ends_with(" is not set"))
                || (line.starts_with('#') && !line.starts_with("# CONFIG_"))
                || line
                    .strip_prefix("CONFIG_")
                    .and_then(|l| l.split_once('='))
                    .is_some_and(|(name, value)| {
                        name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                            && (["y", "m", "n"].contains(&value)
                                || value.starts_with('"')
                                || value.parse::<i64>().is_ok()
                                || value.starts_with("0x"))
                    });
            assert!(valid, "{}:{}: `{line}`", fragment.display(), number + 1);
        }
    }
}
