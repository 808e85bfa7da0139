//! The pure plan of a sandboxed command: the arguments of bubblewrap (`bwrap`), which builds
//! the command's namespaces and its root, for a [`Sandbox`] and a [`Place`], from the host
//! facts in [`PlanInputs`].
//!
//! Every command gets new PID, IPC, UTS and cgroup namespaces (and a network namespace of its
//! own, with only a loopback device, unless the sandbox wants the network), a root made only
//! of the mounts listed here (bwrap `pivot_root`s into it), `/proc` of its PID namespace with
//! `/proc/sys` read-only, `/sys` read-only with every submount, bwrap's minimal `/dev`, the
//! capabilities in [`KEPT_CAPABILITIES`] and no others, `no_new_privs`, and death with its
//! parent. bwrap's init is PID 1 of the namespace: when the command exits, every process it
//! left behind dies with the namespace.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{Place, Sandbox};

/// The capabilities a sandboxed command keeps of root's: what dpkg and maintainer scripts
/// need to own files, set modes and file capabilities and switch users, and `chroot` for
/// `mkosi-chroot`. Not `CAP_SYS_ADMIN` (mounts, namespaces), `CAP_MKNOD`, `CAP_SYS_PTRACE`,
/// `CAP_NET_*`, `CAP_SYS_MODULE`, `CAP_SYS_RAWIO`, `CAP_SYS_TIME`, ...
pub const KEPT_CAPABILITIES: [&str; 10] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SYS_CHROOT",
];

/// The host name inside every sandbox: the host's never reaches the image.
pub const HOSTNAME: &str = "flashbox-build";

/// Facts about the host and the root that the plan depends on, read at the I/O edge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanInputs {
    /// Where the host's resolv.conf goes in the image, if the network is wanted.
    pub resolv_conf: Option<ResolvConf>,
    /// For [`Place::Host`]: the host's top-level directories besides `/usr` that programs
    /// are found through (`/bin`, `/lib64`, ...), as they are on the host.
    pub host_top_level: Vec<TopLevel>,
}

/// A top-level entry of the host's file system that a [`Place::Host`] command sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopLevel {
    /// A symlink (`/bin -> usr/bin` on a merged-`/usr` host), recreated as it is.
    Symlink {
        /// The entry (`/bin`).
        path: PathBuf,
        /// What it points to (`usr/bin`).
        target: PathBuf,
    },
    /// A directory, bound read-only.
    Directory(PathBuf),
}

/// How the host's `/etc/resolv.conf` is made visible in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolvConf {
    /// Bound over this path inside the image (`/etc/resolv.conf`, or the target of its
    /// symlink inside `/run`, created on the sandbox's `/run` tmpfs).
    BindOver {
        /// The path inside the image.
        path: String,
    },
}

/// The top-level entries of a host a [`Place::Host`] command sees, when present.
pub const HOST_TOP_LEVEL: [&str; 6] = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/// The arguments bwrap is given for `sandbox` and `place`, up to (not including) the `--`
/// before the program. Pure.
pub fn plan(sandbox: &Sandbox, place: &Place, inputs: &PlanInputs) -> Vec<OsString> {
    let mut args = Args::default();
    args.flag("--die-with-parent");
    args.flag("--new-session");
    for namespace in ["pid", "ipc", "uts"] {
        args.flag(&format!("--unshare-{namespace}"));
    }
    args.flag("--unshare-cgroup-try");
    if !sandbox.network {
        args.flag("--unshare-net");
    }
    args.one("--hostname", HOSTNAME);
    args.one("--cap-drop", "ALL");
    for capability in KEPT_CAPABILITIES {
        args.one("--cap-add", capability);
    }
    match place {
        Place::Chroot { cwd } => {
            image_mounts(&mut args, sandbox, inputs, Path::new("/"));
            args.one("--chdir", cwd);
        }
        Place::Tools { cwd } => {
            host_tools(&mut args, inputs);
            args.one("--tmpfs", "/run");
            if let (true, Some(ResolvConf::BindOver { path })) =
                (sandbox.network, &inputs.resolv_conf)
            {
                // `-try`: with the resolver stopped the link dangles, and the script runs
                // without DNS rather than not at all.
                if path.starts_with("/run/") {
                    args.two("--ro-bind-try", "/etc/resolv.conf", path);
                }
            }
            work_binds(&mut args, sandbox, Path::new("/"));
            args.one("--chdir", cwd);
        }
        Place::Host {
            cwd,
            readable,
            writable,
        } => {
            host_tools(&mut args, inputs);
            // The working directory and the readable paths (when they exist) read-only, the
            // writable directories read-write, parents before what lies below them.
            let mut paths: Vec<(&PathBuf, &str)> =
                writable.iter().map(|dir| (dir, "--bind")).collect();
            paths.push((cwd, "--ro-bind"));
            for path in readable {
                paths.push((path, "--ro-bind-try"));
            }
            paths.sort();
            paths.dedup_by(|later, kept| later.0 == kept.0);
            for (path, option) in paths {
                args.two(option, path, path);
            }
            image_mounts(&mut args, sandbox, inputs, &sandbox.view);
            args.one("--chdir", cwd);
        }
    }
    args.0
}

/// The image and what is mounted in it, with the image's `/` at `at` (`/`, or the view a
/// host command's `mkosi-chroot` chroots into).
fn image_mounts(args: &mut Args, sandbox: &Sandbox, inputs: &PlanInputs, at: &Path) {
    let inside = |path: &str| at.join(path.trim_start_matches('/'));
    args.two("--bind", &sandbox.root, at);
    api_mounts(args, at);
    args.one("--tmpfs", inside("/run"));
    if sandbox.network {
        if let Some(ResolvConf::BindOver { path }) = &inputs.resolv_conf {
            args.two("--ro-bind", "/etc/resolv.conf", inside(path));
        }
    }
    work_binds(args, sandbox, at);
}

/// The host's `/usr`, top-level links and `/etc` read-only, the API file systems, fresh
/// `/tmp` and `/var/tmp`: what a command running on the host's tools sees of the host.
fn host_tools(args: &mut Args, inputs: &PlanInputs) {
    args.two("--ro-bind", "/usr", "/usr");
    for entry in &inputs.host_top_level {
        match entry {
            TopLevel::Symlink { path, target } => args.two("--symlink", target, path),
            TopLevel::Directory(path) => args.two("--ro-bind", path, path),
        }
    }
    args.two("--ro-bind", "/etc", "/etc");
    api_mounts(args, Path::new("/"));
    args.one("--tmpfs", "/tmp");
    args.one("--tmpfs", "/var/tmp");
}

/// The sandbox's binds at their targets below `/work` (a tmpfs) of the root at `at`.
fn work_binds(args: &mut Args, sandbox: &Sandbox, at: &Path) {
    if sandbox.binds.is_empty() {
        return;
    }
    let inside = |path: &str| at.join(path.trim_start_matches('/'));
    args.one("--tmpfs", inside("/work"));
    for bind in &sandbox.binds {
        let option = if bind.writable { "--bind" } else { "--ro-bind" };
        args.two(option, &bind.source, inside(&bind.target));
    }
}

/// `/proc` (of the command's PID namespace, `/proc/sys` read-only), `/dev` and a read-only
/// `/sys` below `at`.
fn api_mounts(args: &mut Args, at: &Path) {
    let proc = at.join("proc");
    args.one("--proc", &proc);
    args.two("--ro-bind", "/proc/sys", proc.join("sys"));
    args.one("--dev", at.join("dev"));
    args.two("--ro-bind", "/sys", at.join("sys"));
}

/// bwrap's argument list, built option by option.
#[derive(Default)]
struct Args(Vec<OsString>);

impl Args {
    fn flag(&mut self, flag: &str) {
        self.0.push(flag.into());
    }

    fn one(&mut self, option: &str, value: impl Into<OsString>) {
        self.0.push(option.into());
        self.0.push(value.into());
    }

    fn two(&mut self, option: &str, first: impl Into<OsString>, second: impl Into<OsString>) {
        self.0.push(option.into());
        self.0.push(first.into());
        self.0.push(second.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::Bind;

    fn sandbox() -> Sandbox {
        Sandbox {
            root: "/b/root".into(),
            view: "/b/work/view".into(),
            network: false,
            binds: vec![
                Bind {
                    source: "/src".into(),
                    target: "/work/src".into(),
                    writable: false,
                },
                Bind {
                    source: "/b/out".into(),
                    target: "/work/out".into(),
                    writable: true,
                },
            ],
        }
    }

    /// The plan as one line of text, each option with its values.
    fn text(args: &[OsString]) -> String {
        args.iter()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn a_chroot_command_gets_the_image_as_its_root_and_nothing_of_the_host() {
        let args = text(&plan(
            &sandbox(),
            &Place::Chroot {
                cwd: "/work/src".into(),
            },
            &PlanInputs::default(),
        ));
        for wanted in [
            "--die-with-parent --new-session --unshare-pid --unshare-ipc --unshare-uts \
             --unshare-cgroup-try --unshare-net --hostname flashbox-build --cap-drop ALL",
            "--bind /b/root / --proc /proc --ro-bind /proc/sys /proc/sys --dev /dev \
             --ro-bind /sys /sys --tmpfs /run",
            "--tmpfs /work --ro-bind /src /work/src --bind /b/out /work/out",
        ] {
            assert!(args.contains(wanted), "{wanted:?} missing from {args}");
        }
        assert!(args.ends_with("--chdir /work/src"), "{args}");
        for capability in KEPT_CAPABILITIES {
            assert!(args.contains(&format!("--cap-add {capability}")));
        }
        assert!(!args.contains("CAP_SYS_ADMIN") && !args.contains("CAP_MKNOD"));
        assert!(!args.contains("resolv.conf") && !args.contains("/usr"));
    }

    #[test]
    fn a_host_command_sees_usr_etc_its_directories_and_the_view_only() {
        let inputs = PlanInputs {
            host_top_level: vec![
                TopLevel::Symlink {
                    path: "/bin".into(),
                    target: "usr/bin".into(),
                },
                TopLevel::Directory("/lib64".into()),
            ],
            ..PlanInputs::default()
        };
        let place = Place::Host {
            cwd: "/src".into(),
            readable: vec!["/scripts".into(), "/src".into()],
            writable: vec!["/b/work".into(), "/b/root".into()],
        };
        let args = text(&plan(&sandbox(), &place, &inputs));
        for wanted in [
            "--ro-bind /usr /usr --symlink usr/bin /bin --ro-bind /lib64 /lib64 \
             --ro-bind /etc /etc --proc /proc",
            "--tmpfs /tmp --tmpfs /var/tmp --bind /b/root /b/root --bind /b/work /b/work \
             --ro-bind-try /scripts /scripts --ro-bind /src /src --bind /b/root /b/work/view \
             --proc /b/work/view/proc",
            "--dev /b/work/view/dev --ro-bind /sys /b/work/view/sys --tmpfs /b/work/view/run",
            "--tmpfs /b/work/view/work --ro-bind /src /b/work/view/work/src",
        ] {
            assert!(args.contains(wanted), "{wanted:?} missing from {args}");
        }
        assert!(args.ends_with("--chdir /src"), "{args}");
        assert!(!args.contains("/home") && !args.contains("--bind / /"));
    }

    #[test]
    fn a_tools_command_gets_the_hosts_tools_and_its_binds_at_work() {
        let inputs = PlanInputs {
            host_top_level: vec![TopLevel::Symlink {
                path: "/bin".into(),
                target: "usr/bin".into(),
            }],
            ..PlanInputs::default()
        };
        let place = Place::Tools {
            cwd: "/work/src".into(),
        };
        let args = text(&plan(&sandbox(), &place, &inputs));
        for wanted in [
            "--ro-bind /usr /usr --symlink usr/bin /bin --ro-bind /etc /etc --proc /proc",
            "--tmpfs /tmp --tmpfs /var/tmp --tmpfs /run --tmpfs /work \
             --ro-bind /src /work/src --bind /b/out /work/out --chdir /work/src",
        ] {
            assert!(args.contains(wanted), "{wanted:?} missing from {args}");
        }
        // No image, no view, nothing else of the host.
        assert!(
            !args.contains("/b/root") && !args.contains("/b/work/view"),
            "{args}"
        );
        assert!(
            !args.contains("/home") && !args.contains("--bind / /"),
            "{args}"
        );

        // With the network, a resolv.conf that links into /run is bound into the new /run.
        let mut networked = sandbox();
        networked.network = true;
        let inputs = PlanInputs {
            resolv_conf: Some(ResolvConf::BindOver {
                path: "/run/systemd/resolve/stub-resolv.conf".into(),
            }),
            ..inputs
        };
        let args = text(&plan(&networked, &place, &inputs));
        assert!(
            args.contains(
                "--tmpfs /run --ro-bind-try /etc/resolv.conf /run/systemd/resolve/stub-resolv.conf"
            ),
            "{args}"
        );
        assert!(!args.contains("--unshare-net"), "{args}");
    }

    #[test]
    fn the_network_keeps_the_hosts_namespace_and_resolv_conf() {
        let mut sandbox = sandbox();
        sandbox.network = true;
        let inputs = PlanInputs {
            resolv_conf: Some(ResolvConf::BindOver {
                path: "/run/systemd/resolve/stub-resolv.conf".into(),
            }),
            ..PlanInputs::default()
        };
        let args = text(&plan(&sandbox, &Place::Chroot { cwd: "/".into() }, &inputs));
        assert!(!args.contains("--unshare-net"), "{args}");
        assert!(args.contains(
            "--tmpfs /run --ro-bind /etc/resolv.conf /run/systemd/resolve/stub-resolv.conf"
        ));
    }
}
