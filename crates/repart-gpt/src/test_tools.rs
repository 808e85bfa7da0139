//! Unit-test helper: runs the outside tools (veritysetup, openssl) that judge what the pure
//! modules compute. A missing tool fails the test with the package to install; it never skips.

use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output};

/// Where `program` is: on PATH, or in /usr/sbin or /sbin (not always on a user's PATH).
fn locate(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            let package = match program {
                "veritysetup" => "cryptsetup-bin",
                "openssl" => "openssl",
                _ => "the one that provides it",
            };
            panic!("{program} is missing: install the Debian package `{package}`")
        })
}

fn output(program: &str, args: &[&str]) -> Output {
    let path = locate(program);
    Command::new(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()))
}

/// Runs `program` and returns its stdout; fails the test (showing both streams) unless it
/// exits 0.
pub(crate) fn run_tool(program: &str, args: &[&str]) -> String {
    let out = output(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tool output is UTF-8")
}

/// Runs `program` and returns how it exited, whatever that was.
pub(crate) fn run_tool_status(program: &str, args: &[&str]) -> ExitStatus {
    output(program, args).status
}
