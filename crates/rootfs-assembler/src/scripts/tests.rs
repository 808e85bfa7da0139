//! Tests of the scripts module: the environment table, the helpers, what runs where (with a
//! recording runner, no root), and real runs in the sandbox (root).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use config_model::ImageConfig;

use super::*;
use crate::error::Error;
use crate::install::IMAGE_PATH;
use crate::sandbox::{NamespaceSandbox, Place, RecordingRunner};

fn config() -> ImageConfig {
    let mut config = ImageConfig::default();
    config.distribution.distribution = Some(config_model::Distribution::Debian);
    config.distribution.release = Some("trixie".into());
    config.distribution.architecture = Some(config_model::Architecture::X86_64);
    config.output.image_id = Some("flashbox-l1".into());
    config.output.image_version = Some("1.0.0".into());
    config.config.profiles = vec!["devtools".into(), "gcp".into()];
    config.build.with_network = Some(true);
    config
        .build
        .environment
        .insert("KERNEL_VERSION".into(), "6.19".into());
    // A configured variable does not override mkosi's own.
    config
        .build
        .environment
        .insert("BUILDROOT".into(), "/wrong".into());
    config
}

fn context() -> ScriptContext {
    ScriptContext {
        root: "/b/root".into(),
        src_dir: "/src".into(),
        output_dir: "/b/out".into(),
        package_dir: "/b/packages".into(),
        artifact_dir: "/b/artifacts".into(),
        build_dir: Some("/b/build".into()),
        dest_dir: Some("/b/dest".into()),
        work: "/b/work".into(),
        source_date_epoch: 0,
        invoking_user: (1000, 1000),
        log: None,
    }
}

/// The context of a build under `build` (its root, outputs and work directory there) for
/// the sources in `src`, with a `$DESTDIR` and a log.
fn context_under(build: &Path, src: &Path) -> ScriptContext {
    ScriptContext {
        root: build.join("root"),
        src_dir: src.to_path_buf(),
        output_dir: build.join("out"),
        package_dir: build.join("packages"),
        artifact_dir: build.join("artifacts"),
        build_dir: None,
        dest_dir: Some(build.join("dest")),
        work: build.join("work"),
        source_date_epoch: 0,
        invoking_user: (0, 0),
        log: Some(build.join("scripts.log")),
    }
}

#[test]
fn postinst_environment_follows_the_table() {
    let env = script_environment(
        &config(),
        &context(),
        ScriptKind::PostInstallation,
        Path::new("/src/shared/mkosi.postinst.d/10-x.sh"),
    );
    let expect = [
        ("ARCHITECTURE", "x86-64"),
        ("DISTRIBUTION_ARCHITECTURE", "amd64"),
        ("EFI_ARCHITECTURE", "x64"),
        ("DISTRIBUTION", "debian"),
        ("RELEASE", "trixie"),
        ("IMAGE_ID", "flashbox-l1"),
        ("IMAGE_VERSION", "1.0.0"),
        ("PROFILES", "devtools,gcp"),
        ("BUILDROOT", "/b/root"),
        ("SRCDIR", "/src"),
        ("OUTPUTDIR", "/b/out"),
        ("PACKAGEDIR", "/b/packages"),
        ("ARTIFACTDIR", "/b/artifacts"),
        ("BUILDDIR", "/b/build"),
        ("SOURCE_DATE_EPOCH", "0"),
        ("WITH_NETWORK", "1"),
        ("MKOSI_CONFIG", "/b/work/config.json"),
        ("MKOSI_UID", "1000"),
        ("CHROOT_SCRIPT", "/work/10-x.sh"),
        ("CHROOT_SRCDIR", "/work/src"),
        ("CHROOT_OUTPUTDIR", "/work/out"),
        ("KERNEL_VERSION", "6.19"),
        ("LC_ALL", "C.UTF-8"),
        (
            "PATH",
            "/b/work/helpers:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ),
    ];
    for (name, value) in expect {
        assert_eq!(env.get(name).map(String::as_str), Some(value), "{name}");
    }
    for absent in [
        "DESTDIR",
        "CHROOT_DESTDIR",
        "CHROOT_BUILDDIR",
        "WITH_DOCS",
        "USER",
        "TERM",
    ] {
        assert!(!env.contains_key(absent), "{absent} should not be set");
    }
}

#[test]
fn build_and_finalize_differ_as_the_table_says() {
    let build = script_environment(&config(), &context(), ScriptKind::Build, Path::new("/s/b"));
    assert_eq!(build["DESTDIR"], "/b/dest");
    assert_eq!(build["CHROOT_DESTDIR"], "/work/dest");
    assert_eq!(build["CHROOT_BUILDDIR"], "/work/build");
    assert_eq!(build["WITH_DOCS"], "1");
    let finalize = script_environment(
        &config(),
        &context(),
        ScriptKind::Finalize,
        Path::new("/s/f"),
    );
    assert!(!finalize.contains_key("BUILDDIR"));
    assert!(!finalize.contains_key("DESTDIR"));
    assert_eq!(finalize["CHROOT_OUTPUTDIR"], "/work/out");
}

#[test]
fn chroot_environment_rewrites_paths() {
    let host = script_environment(
        &config(),
        &context(),
        ScriptKind::PostInstallation,
        Path::new("/s/x.chroot"),
    );
    let inside = chroot_environment(&host);
    assert_eq!(inside["BUILDROOT"], "/");
    assert_eq!(inside["SRCDIR"], "/work/src");
    assert_eq!(inside["OUTPUTDIR"], "/work/out");
    assert_eq!(inside["PACKAGEDIR"], "/work/packages");
    assert_eq!(inside["BUILDDIR"], "/work/build");
    assert_eq!(inside["MKOSI_CONFIG"], "/work/config.json");
    assert_eq!(inside["PATH"], IMAGE_PATH);
    assert!(!inside.contains_key("TMPDIR"));
    assert!(!inside.contains_key("DESTDIR"));
    assert_eq!(inside["IMAGE_ID"], "flashbox-l1");
}

#[test]
fn mkosi_chroot_script_quotes_and_chroots_into_the_view() {
    let overrides = BTreeMap::from([
        ("BUILDROOT".to_owned(), "/".to_owned()),
        ("X".to_owned(), "it's".to_owned()),
    ]);
    let text = mkosi_chroot_script(Path::new("/b/work/view"), &overrides);
    assert!(text.starts_with("#!/bin/sh\n"));
    assert!(text.contains("exec /usr/sbin/chroot '/b/work/view' /usr/bin/env -u TMPDIR"));
    assert!(text.contains(r#"'X=it'\''s'"#), "{text}");
    assert!(text.contains("'BUILDROOT=/'"));
}

/// A build script (root only) writes `$DESTDIR` on the host side and sees it bound at
/// `/work/dest` in the view that `mkosi-chroot` enters; it gets no arguments.
#[test]
#[ignore = "needs root"]
fn build_scripts_get_a_writable_destdir() {
    crate::require_root("this test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir_all(&src).unwrap();
    let script = src.join("mkosi.build");
    fs::write(
        &script,
        r#"#!/bin/sh
set -eu
echo "args:$#" > "$DESTDIR/host-side"
view="$(dirname "$(command -v mkosi-chroot)")/../view"
echo "$CHROOT_DESTDIR" > "$view/work/dest/through-the-view"
"#,
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let build = dir.path().join("build");
    fs::create_dir_all(build.join("root")).unwrap();
    let context = context_under(&build, &src);
    run_scripts(
        &config(),
        &context,
        ScriptKind::Build,
        &[script],
        &NamespaceSandbox,
    )
    .unwrap();
    let read = |name: &str| fs::read_to_string(build.join("dest").join(name)).unwrap();
    assert_eq!(read("host-side"), "args:0\n");
    assert_eq!(read("through-the-view"), "/work/dest\n");
}

/// Runs a real host-side script in the sandbox (root only): it gets the environment,
/// writes into the image and the output directory, but neither to the host nor to the
/// sources; the image's `/proc` is not a mount it can see, the sandbox view is.
#[test]
#[ignore = "needs root"]
fn host_scripts_run_in_the_sandbox() {
    crate::require_root("this test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let src = base.join("src");
    fs::create_dir_all(&src).unwrap();
    fs::create_dir_all(base.join("build/root")).unwrap();
    let probe = src.join("10-probe.sh");
    fs::write(
        &probe,
        r#"#!/bin/sh
set -eu
env | sort > "$OUTPUTDIR/env"
echo inside > "$BUILDROOT/marker"
if touch /etc/rootfs-assembler-probe 2>/dev/null; then echo writable; else echo read-only; fi > "$OUTPUTDIR/host"
if touch "$SRCDIR/probe" 2>/dev/null; then echo writable; else echo read-only; fi > "$OUTPUTDIR/src"
ls -A "$BUILDROOT/proc" > "$OUTPUTDIR/proc"
helpers=$(dirname "$(command -v mkosi-chroot)")
test -e "$helpers/../view/proc/self/status" && echo mounted > "$OUTPUTDIR/view"
pwd > "$OUTPUTDIR/cwd"
"#,
    )
    .unwrap();
    fs::set_permissions(&probe, fs::Permissions::from_mode(0o755)).unwrap();
    let failing = src.join("20-fail.sh");
    fs::write(&failing, "#!/bin/sh\necho about to fail\nexit 3\n").unwrap();
    fs::set_permissions(&failing, fs::Permissions::from_mode(0o755)).unwrap();
    let build = base.join("build");
    let context = ScriptContext {
        dest_dir: None,
        ..context_under(&build, &src)
    };
    let config = config();
    run_scripts(
        &config,
        &context,
        ScriptKind::PostInstallation,
        &[probe],
        &NamespaceSandbox,
    )
    .unwrap();
    let out = |name: &str| fs::read_to_string(build.join("out").join(name)).unwrap();
    assert_eq!(out("host"), "read-only\n");
    assert_eq!(out("src"), "read-only\n");
    assert_eq!(out("proc"), "");
    assert_eq!(out("view"), "mounted\n");
    assert_eq!(out("cwd").trim(), src.display().to_string());
    assert!(!Path::new("/etc/rootfs-assembler-probe").exists());
    assert_eq!(
        fs::read_to_string(build.join("root/marker")).unwrap(),
        "inside\n"
    );
    let env = out("env");
    for line in [
        "ARCHITECTURE=x86-64".to_owned(),
        "DISTRIBUTION=debian".to_owned(),
        format!("BUILDROOT={}", build.join("root").display()),
        format!("SRCDIR={}", src.display()),
        "CHROOT_SCRIPT=/work/10-probe.sh".to_owned(),
        "SOURCE_DATE_EPOCH=0".to_owned(),
        "WITH_NETWORK=1".to_owned(),
    ] {
        assert!(env.lines().any(|l| l == line), "{line} missing from\n{env}");
    }
    let json = env
        .lines()
        .find_map(|l| l.strip_prefix("MKOSI_CONFIG="))
        .unwrap();
    let parsed: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(parsed["ImageId"], "flashbox-l1");
    assert!(
        !env.contains("CARGO"),
        "the caller's environment leaked:\n{env}"
    );
    // The /work mount point made for the run is gone, and no mount is left on the host.
    assert!(!build.join("root/work").exists());
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(&base.display().to_string()),
        "{mountinfo}"
    );

    let err = run_scripts(
        &config,
        &context,
        ScriptKind::Finalize,
        &[failing],
        &NamespaceSandbox,
    )
    .unwrap_err();
    match err {
        Error::Command {
            command,
            status,
            output,
        } => {
            assert!(command.ends_with("20-fail.sh"), "{command}");
            assert_eq!(status, "exit status 3");
            assert_eq!(output, "about to fail");
        }
        other => panic!("unexpected {other}"),
    }
}

/// Writes an executable script `name` into `dir`.
fn executable(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Without root and without running anything: scripts run in the given order, `.chroot`
/// ones chrooted at `/work/src` with the image's view of the environment, the others on the
/// host with the host read-only but for the build's directories; prepare scripts get `final`;
/// the config JSON, the helpers and the log headers are written before each run; a failure
/// stops the scripts after it.
#[test]
fn scripts_run_in_order_where_their_kind_says() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let src = base.join("src");
    fs::create_dir_all(&src).unwrap();
    let build = base.join("build");
    let context = ScriptContext {
        source_date_epoch: 7,
        invoking_user: (1000, 1000),
        ..context_under(&build, &src)
    };
    let host = executable(&src, "10-host.prepare", "#!/bin/sh\n");
    let chroot = executable(&src, "20-inside.prepare.chroot", "#!/bin/sh\n");
    let config = config();
    let runner = RecordingRunner::new(|_, _| Ok(()));
    run_scripts(
        &config,
        &context,
        ScriptKind::Prepare,
        &[host.clone(), chroot.clone()],
        &runner,
    )
    .unwrap();
    let runs = runner.runs();
    assert_eq!(runs.len(), 2);

    let first = &runs[0];
    assert_eq!(first.command.program, host.as_os_str());
    assert_eq!(first.command.args, ["final"]);
    match &first.command.place {
        Place::Host {
            cwd,
            readable,
            writable,
        } => {
            assert_eq!(cwd, &src);
            assert_eq!(readable, &[host.parent().unwrap().to_path_buf()]);
            assert!(writable.contains(&context.root) && writable.contains(&context.work));
            assert!(!writable.contains(&src), "the sources stay read-only");
            assert!(
                !writable.contains(&build.join("dest")),
                "only build scripts write $DESTDIR"
            );
        }
        other => panic!("a host script ran as {other:?}"),
    }
    assert_eq!(first.command.env["SRCDIR"], src.display().to_string());
    assert_eq!(first.sandbox.root, context.root);
    assert!(
        first.sandbox.network,
        "the configuration asks for WithNetwork="
    );

    let second = &runs[1];
    assert_eq!(second.command.program, "/work/20-inside.prepare.chroot");
    assert_eq!(
        second.command.place,
        Place::Chroot {
            cwd: "/work/src".into()
        }
    );
    assert_eq!(second.command.env["BUILDROOT"], "/");
    assert_eq!(second.command.env["PATH"], IMAGE_PATH);
    let script_bind = second
        .sandbox
        .binds
        .iter()
        .find(|b| b.target == "/work/20-inside.prepare.chroot")
        .expect("the script is bound into the view");
    assert_eq!(script_bind.source, chroot);
    assert!(!script_bind.writable);
    assert!(
        second
            .sandbox
            .binds
            .iter()
            .all(|b| b.target != "/work/dest"),
        "only build scripts get $DESTDIR"
    );

    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(context.config_json()).unwrap()).unwrap();
    assert_eq!(json["ImageId"], "flashbox-l1");
    assert!(context.helpers().join("mkosi-chroot").is_file());
    let log = fs::read_to_string(build.join("scripts.log")).unwrap();
    assert_eq!(log.matches("==> prepare script").count(), 2, "{log}");

    // A failing script stops the ones after it; the error is the runner's.
    let failing = RecordingRunner::new(|_, command| {
        Err(Error::Command {
            command: command.program.to_string_lossy().into_owned(),
            status: "exit status 3".into(),
            output: String::new(),
        })
    });
    let err = run_scripts(
        &config,
        &context,
        ScriptKind::Finalize,
        &[host.clone(), chroot],
        &failing,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Command { .. }), "{err}");
    assert_eq!(failing.runs().len(), 1);
    assert!(
        failing.runs()[0].command.args.is_empty(),
        "finalize gets no argument"
    );
}

/// Build scripts get `$DESTDIR` bound writable at `/work/dest`, and no arguments.
#[test]
fn build_scripts_bind_destdir_writable() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir_all(&src).unwrap();
    let script = executable(&src, "mkosi.build.chroot", "#!/bin/sh\n");
    let context = ScriptContext {
        build_dir: Some(dir.path().join("build")),
        ..context_under(dir.path(), &src)
    };
    let runner = RecordingRunner::new(|_, _| Ok(()));
    run_scripts(&config(), &context, ScriptKind::Build, &[script], &runner).unwrap();
    let run = &runner.runs()[0];
    assert!(run.command.args.is_empty());
    let dest = run
        .sandbox
        .binds
        .iter()
        .find(|b| b.target == "/work/dest")
        .expect("$DESTDIR is bound");
    assert_eq!(dest.source, dir.path().join("dest"));
    assert!(dest.writable);
    assert_eq!(run.command.env["DESTDIR"], "/work/dest");
}

/// A script that is not executable is refused before anything runs.
#[test]
fn non_executable_scripts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("mkosi.postinst");
    fs::write(&script, "#!/bin/sh\n").unwrap();
    let context = context_under(dir.path(), dir.path());
    let runner = RecordingRunner::new(|_, _| Ok(()));
    let err = run_scripts(
        &config(),
        &context,
        ScriptKind::PostInstallation,
        &[script],
        &runner,
    )
    .unwrap_err();
    assert!(err.to_string().contains("not executable"), "{err}");
    assert!(runner.runs().is_empty());
}

fn tool_context(src: &Path, work: &Path, out: Option<&Path>) -> ToolScriptContext {
    ToolScriptContext {
        src_dir: src.to_path_buf(),
        work: work.to_path_buf(),
        output_dir: out.map(Path::to_path_buf),
        invoking_user: (1000, 1000),
        cached: false,
        log: None,
    }
}

/// Sync and post-output scripts get mkosi's paths and variables for their kind, and only
/// post-output scripts get `/work/out`; only sync scripts get the network.
#[test]
fn tool_scripts_get_mkosis_paths_and_variables() {
    let config = config();
    let context = tool_context(
        Path::new("/src"),
        Path::new("/b/work"),
        Some(Path::new("/b/out")),
    );
    let sync = tool_script_environment(&config, &context, ToolScriptKind::Sync);
    for (name, value) in [
        ("SRCDIR", "/work/src"),
        ("MKOSI_CONFIG", "/work/config.json"),
        ("PROFILES", "devtools gcp"),
        ("CACHED", "0"),
        ("DISTRIBUTION_ARCHITECTURE", "amd64"),
        ("EFI_ARCHITECTURE", "x64"),
        ("RELEASE", "trixie"),
        ("MKOSI_UID", "1000"),
        ("KERNEL_VERSION", "6.19"),
    ] {
        assert_eq!(sync.get(name).map(String::as_str), Some(value), "{name}");
    }
    assert_eq!(sync["IMAGE_ID"], "flashbox-l1");
    assert_eq!(sync["IMAGE_VERSION"], "1.0.0");
    for absent in ["OUTPUTDIR", "DESTDIR", "PACKAGEDIR", "CHROOT_SCRIPT"] {
        assert!(!sync.contains_key(absent), "{absent} in {sync:?}");
    }
    let postoutput = tool_script_environment(&config, &context, ToolScriptKind::PostOutput);
    assert_eq!(postoutput["OUTPUTDIR"], "/work/out");
    assert!(!postoutput.contains_key("CACHED"));

    let (sandbox, command) = tool_script_invocation(
        &config,
        &context,
        ToolScriptKind::Sync,
        Path::new("/src/mkosi.sync.d/10-a.sh"),
    );
    assert!(sandbox.network);
    assert_eq!(command.program, "/work/sync");
    assert_eq!(command.args, ["final"]);
    assert_eq!(
        command.place,
        Place::Tools {
            cwd: "/work/src".into()
        }
    );
    let targets: Vec<(&str, bool)> = sandbox
        .binds
        .iter()
        .map(|b| (b.target.as_str(), b.writable))
        .collect();
    assert_eq!(
        targets,
        [
            ("/work/sync", false),
            ("/work/config.json", false),
            ("/work/src", true)
        ]
    );
    let (sandbox, command) = tool_script_invocation(
        &config,
        &context,
        ToolScriptKind::PostOutput,
        Path::new("/src/mkosi.postoutput"),
    );
    assert!(!sandbox.network);
    assert_eq!(command.program, "/work/postoutput");
    assert!(command.args.is_empty());
    assert!(
        sandbox
            .binds
            .iter()
            .any(|b| b.target == "/work/out" && b.source == Path::new("/b/out") && b.writable)
    );
}

/// In the real sandbox: a sync script reads the configuration where mkosi puts it, may
/// change the sources, cannot change the host; a post-output script adds an output.
#[test]
#[ignore = "needs root"]
fn tool_scripts_run_on_the_tools_with_mkosis_mounts() {
    crate::require_root("this test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let src = base.join("src");
    let out = base.join("out");
    fs::create_dir_all(&src).unwrap();
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("image.efi"), b"uki").unwrap();
    let sync = executable(
        &src,
        "10-sync.sh",
        r#"#!/bin/sh
set -eu
test "$1" = final
test "$(pwd)" = /work/src
grep -q '"ImageId": "flashbox-l1"' /work/config.json
cp "$MKOSI_CONFIG" "$SRCDIR/seen-config.json"
echo "$PROFILES" > "$SRCDIR/profiles"
if touch /etc/rootfs-assembler-sync-probe 2>/dev/null; then echo writable; else echo read-only; fi > "$SRCDIR/host"
test ! -e /home/. || ls -A /home > "$SRCDIR/home"
"#,
    );
    let postoutput = executable(
        &src,
        "mkosi.postoutput",
        "#!/bin/sh\nset -eu\nsha256sum \"$OUTPUTDIR/image.efi\" | cut -d' ' -f1 > \"$OUTPUTDIR/SHA256SUMS\"\n",
    );
    let config = config();
    let context = tool_context(&src, &base.join("work"), Some(&out));
    run_tool_scripts(
        &config,
        &context,
        ToolScriptKind::Sync,
        &[sync],
        &NamespaceSandbox,
    )
    .unwrap();
    let seen: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(src.join("seen-config.json")).unwrap()).unwrap();
    assert_eq!(seen["ImageId"], "flashbox-l1");
    assert_eq!(
        fs::read_to_string(src.join("profiles")).unwrap(),
        "devtools gcp\n"
    );
    assert_eq!(fs::read_to_string(src.join("host")).unwrap(), "read-only\n");
    assert!(!Path::new("/etc/rootfs-assembler-sync-probe").exists());
    assert!(!src.join("home").exists(), "the host's /home is visible");
    run_tool_scripts(
        &config,
        &context,
        ToolScriptKind::PostOutput,
        &[postoutput],
        &NamespaceSandbox,
    )
    .unwrap();
    assert_eq!(
        fs::read_to_string(out.join("SHA256SUMS")).unwrap().trim(),
        build_vocab::Sha256::of(b"uki").to_hex()
    );
}
