//! A hostile maintainer script against the build sandbox: a package this test builds with
//! the host's `dpkg-deb`, whose `postinst` tries to reach the build host in every way the
//! sandbox must stop, writes what each attempt got to `/var/lib/hostile-probe/<case>` in the
//! image, and fails. Each case is its own assertion, checked from inside (what the script
//! saw) and, where the host can tell, from outside (the host's secret file, process, listener
//! and process table).

use std::fs;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

use rootfs_assembler::LockedDeb;
use rootfs_assembler::deb::read_deb;

/// What the script is told about the host, to aim at.
struct Targets<'a> {
    /// A file on the host the script must not read.
    secret: &'a Path,
    /// A host process it must not signal or trace.
    pid: u32,
    /// A port of a listener on the host's loopback.
    port: u16,
    /// The host's root file system's block device, `major:minor`.
    device: (u64, u64),
    /// The argv[0] of the daemon it leaves behind.
    daemon: &'a str,
}

/// The postinst: one attempt per case, each recorded, then a failure.
fn postinst(targets: &Targets<'_>) -> String {
    let secret = targets.secret.display();
    let (pid, port, daemon) = (targets.pid, targets.port, targets.daemon);
    let (major, minor) = targets.device;
    format!(
        r#"#!/bin/bash
# Tries to leave the build sandbox; each outcome goes to $out/<case>.
out=/var/lib/hostile-probe
mkdir -p "$out"
report() {{ printf '%s\n' "$2" > "$out/$1"; }}
attempt() {{ # case command...: "succeeded: <output>" or "failed: <error>"
    local name=$1; shift
    local result
    if result=$("$@" 2>&1); then report "$name" "succeeded: $result"; else report "$name" "failed: $result"; fi
}}

attempt proc-1-root cat /proc/1/root{secret}
attempt proc-parent-root cat /proc/$PPID/root{secret}
found=""
for dir in /proc/[0-9]*; do
    cat "$dir/root{secret}" >/dev/null 2>&1 && found="$found ${{dir#/proc/}}"
done
report proc-any-root "read through:$found"

attempt sysctl-hostname sh -c 'echo hostile-probe > /proc/sys/kernel/hostname'

written=""
for dir in /sys /sys/fs/cgroup /sys/kernel; do
    mkdir "$dir/hostile-probe" 2>/dev/null && written="$written mkdir:$dir" && rmdir "$dir/hostile-probe"
done
: 2>/dev/null > /sys/kernel/uevent_helper && written="$written write:/sys/kernel/uevent_helper"
while read -r _ _ _ _ mount options _; do
    case "$mount" in /sys|/sys/*) case ",$options," in *,ro,*) ;; *) written="$written rw-mount:$mount" ;; esac ;; esac
done < /proc/self/mountinfo
report sys "written:$written"

attempt mknod-block sh -c 'mknod /tmp/hostile-block b {major} {minor} && head -c 512 /tmp/hostile-block | wc -c'

attempt signal-host-process kill -TERM {pid}
attempt ptrace-host-process perl -e 'my $r = syscall(101, 16, {pid}, 0, 0); die "ptrace: $!\n" if $r != 0; print "attached"'

attempt tcp-host-loopback bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected'

( setsid bash -c 'exec -a {daemon} sleep 900' </dev/null >/dev/null 2>&1 & )
report daemon started

echo "hostile-probe: every attempt made, failing on purpose" >&2
exit 1
"#
    )
}

/// The `hostile-probe` package, built in `dir`.
fn hostile_deb(dir: &Path, targets: &Targets<'_>) -> LockedDeb {
    let tree = dir.join("hostile-probe");
    let debian = tree.join("DEBIAN");
    fs::create_dir_all(&debian).unwrap();
    fs::create_dir_all(tree.join("usr/share/doc/hostile-probe")).unwrap();
    fs::write(
        tree.join("usr/share/doc/hostile-probe/README"),
        "A package whose postinst attacks the build host.\n",
    )
    .unwrap();
    fs::write(
        debian.join("control"),
        "Package: hostile-probe\nVersion: 1.0\nArchitecture: all\nMaintainer: tests <t@example.invalid>\n\
         Description: attacks the build host from its postinst\n",
    )
    .unwrap();
    let script = debian.join("postinst");
    fs::write(&script, postinst(targets)).unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let deb = dir.join("hostile-probe_1.0_all.deb");
    let status = Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(&tree)
        .arg(&deb)
        .stdout(Stdio::null())
        .status()
        .expect("dpkg-deb runs");
    assert!(status.success());
    LockedDeb::hashing(read_deb(&deb).unwrap().control.id, deb).unwrap()
}

/// Host processes whose command line starts with `argv0`.
fn host_processes_named(argv0: &str) -> Vec<String> {
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let cmdline = fs::read(entry.path().join("cmdline")).ok()?;
            cmdline
                .starts_with(argv0.as_bytes())
                .then(|| entry.file_name().to_string_lossy().into_owned())
        })
        .collect()
}

#[test]
#[ignore = "needs root"]
fn a_hostile_maintainer_script_cannot_reach_the_host() {
    crate::trixie_debs::require_archive_and_root();
    let src = crate::fixtures().canonicalize().unwrap();
    let config = crate::base_config(&src);
    let mut debs = crate::fetch_base(&config);

    let dir = tempfile::Builder::new()
        .prefix("rootfs-hostile-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let secret = dir.path().join("host-secret");
    fs::write(&secret, "the host's secret\n").unwrap();
    let mut target = Command::new("sleep").arg("900").spawn().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let root_device = fs::metadata("/").unwrap().dev();
    let daemon = format!("hostile-probe-daemon-{}", std::process::id());
    let targets = Targets {
        secret: &secret,
        pid: target.id(),
        port: listener.local_addr().unwrap().port(),
        device: (
            rustix::fs::major(root_device).into(),
            rustix::fs::minor(root_device).into(),
        ),
        daemon: &daemon,
    };
    debs.push(hostile_deb(dir.path(), &targets));
    let hostname = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();

    let build = dir.path().join("build");
    let error = rootfs_assembler::assemble(&rootfs_assembler::AssembleOptions {
        config: &config,
        output_name: "image".into(),
        packages: &debs,
        build_dir: build.clone(),
        src_dir: src.clone(),
        build_outputs: rootfs_assembler::BuildOutputs::Skip,
        invoking_user: (0, 0),
        runner: &rootfs_assembler::NamespaceSandbox,
    })
    .expect_err("the build fails with the script");

    // The failure is reported as the package's script failing; its words are in the log.
    let chain = format!("{error:?}");
    assert!(
        chain.contains("hostile-probe") && chain.contains("exit status 1"),
        "the error names the package and dpkg's failure: {error}\n{chain}"
    );
    let logs = build.join("work/logs");
    let logged = fs::read_dir(&logs)
        .unwrap()
        .filter_map(Result::ok)
        .any(|log| {
            fs::read_to_string(log.path()).is_ok_and(|text| text.contains("failing on purpose"))
        });
    assert!(
        logged,
        "a log in {} has the script's output",
        logs.display()
    );

    let outcome = |case: &str| {
        let path = build.join("root.partial/var/lib/hostile-probe").join(case);
        let text = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: the script's report is missing ({e})", path.display()));
        eprintln!("{case}: {}", text.trim_end());
        text
    };
    let failed = |case: &str| {
        let text = outcome(case);
        assert!(text.starts_with("failed: "), "{case}: {text}");
    };
    failed("proc-1-root");
    failed("proc-parent-root");
    assert_eq!(
        outcome("proc-any-root"),
        "read through:\n",
        "no /proc/<pid>/root reaches the host"
    );
    failed("sysctl-hostname");
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        hostname
    );
    assert_eq!(
        outcome("sys"),
        "written:\n",
        "every mount under /sys is read-only"
    );
    failed("mknod-block");
    failed("signal-host-process");
    failed("ptrace-host-process");
    assert!(
        target.try_wait().unwrap().is_none(),
        "the host process is alive and was not stopped"
    );
    let status = fs::read_to_string(format!("/proc/{}/stat", target.id())).unwrap();
    assert!(
        !status.contains(") T "),
        "the host process is not traced: {status}"
    );
    failed("tcp-host-loopback");
    match listener.accept() {
        Err(error) if error.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the host's listener was reached: {other:?}"),
    }
    assert_eq!(outcome("daemon"), "started\n");
    assert_eq!(
        host_processes_named(&daemon),
        Vec::<String>::new(),
        "the script's daemon outlived its command"
    );
    target.kill().unwrap();
    target.wait().unwrap();
}
