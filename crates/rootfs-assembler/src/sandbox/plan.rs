//! The pure plan of a sandboxed command: the steps the child takes between `fork` and `exec`
//! for a [`Sandbox`] and a [`Place`], from the host facts in [`PlanInputs`].

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use rustix::mount::MountFlags;

use super::{Place, Sandbox};

/// What the child does, one step at a time, before `exec`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `unshare(CLONE_NEWNS)`.
    UnshareMountNamespace,
    /// `mount --make-rprivate /`.
    MakeRootPrivate,
    /// A new file system mount.
    Mount {
        /// `proc`, `tmpfs`, `devpts`, ...
        fstype: CString,
        /// The mount point.
        target: CString,
        /// Flags (`MS_NOSUID`, ...).
        flags: MountFlags,
        /// File-system options (`mode=0755`).
        data: CString,
    },
    /// A bind mount (recursive or not).
    Bind {
        /// What is bound.
        source: CString,
        /// Where.
        target: CString,
        /// `MS_REC`.
        recursive: bool,
    },
    /// `MS_REMOUNT | MS_BIND`, read-only or read-write: changes only this mount's flags in
    /// this namespace, never the file system's.
    Remount {
        /// The mount point.
        target: CString,
        /// Read-only (else read-write).
        readonly: bool,
    },
    /// `mkdir` (an existing directory is fine).
    Mkdir {
        /// The directory.
        path: CString,
    },
    /// Creates an empty file as a mount point (an existing one is fine).
    Touch {
        /// The file.
        path: CString,
    },
    /// `symlink(target, path)`.
    Symlink {
        /// The link's contents.
        target: CString,
        /// The link.
        path: CString,
    },
    /// `chroot`.
    Chroot {
        /// The new root.
        path: CString,
    },
    /// `chdir`.
    Chdir {
        /// The directory.
        path: CString,
    },
    /// `umask(022)`, so the host's umask never reaches the image.
    Umask,
}

/// One step of the child's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What to do.
    pub op: Op,
    /// Whether a failure is ignored (remounting host mounts read-only: some cannot be).
    pub may_fail: bool,
    /// What the step is, for errors.
    pub label: String,
}

/// Facts about the host and the root that the plan depends on, read at the I/O edge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanInputs {
    /// Every mount point of the host (from `/proc/self/mountinfo`), for [`Place::Host`].
    pub host_mounts: Vec<PathBuf>,
    /// Where the host's resolv.conf goes in the view, if the network is wanted.
    pub resolv_conf: Option<ResolvConf>,
    /// The bind sources that are files (their mount point is a file, not a directory).
    pub file_sources: Vec<PathBuf>,
}

/// How the host's `/etc/resolv.conf` is made visible in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolvConf {
    /// Bound over this existing file of the image (`/etc/resolv.conf`, or the target of its
    /// symlink inside `/run`, created on the sandbox's `/run` tmpfs).
    BindOver {
        /// The path inside the image.
        path: String,
        /// Whether the file (and its directories) must first be created on `/run`'s tmpfs.
        create_on_run: bool,
    },
}

const DEV_NODES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

fn cstring(path: impl AsRef<OsStr>) -> CString {
    CString::new(path.as_ref().as_bytes()).unwrap_or_else(|_| c"/nonexistent-nul-in-path".into())
}

/// The steps the child takes for `sandbox` and `place`. Pure.
pub fn plan(sandbox: &Sandbox, place: &Place, inputs: &PlanInputs) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut push = |op: Op, may_fail: bool, label: String| {
        steps.push(Step {
            op,
            may_fail,
            label,
        })
    };
    push(
        Op::UnshareMountNamespace,
        false,
        "unshare the mount namespace".into(),
    );
    push(Op::MakeRootPrivate, false, "make / private".into());
    if let Place::Host { writable, .. } = place {
        for mount in &inputs.host_mounts {
            let skip = ["/proc", "/sys", "/dev"]
                .iter()
                .any(|api| mount.starts_with(api));
            if !skip {
                push(
                    Op::Remount {
                        target: cstring(mount),
                        readonly: true,
                    },
                    true,
                    format!("remount {} read-only", mount.display()),
                );
            }
        }
        for dir in writable {
            let target = cstring(dir);
            push(
                Op::Bind {
                    source: target.clone(),
                    target: target.clone(),
                    recursive: false,
                },
                false,
                format!("bind {} writable", dir.display()),
            );
            push(
                Op::Remount {
                    target,
                    readonly: false,
                },
                false,
                format!("remount {} read-write", dir.display()),
            );
        }
    }
    let view = &sandbox.view;
    let at = |inside: &str| cstring(view.join(inside.trim_start_matches('/')));
    push(
        Op::Bind {
            source: cstring(&sandbox.root),
            target: cstring(view),
            recursive: false,
        },
        false,
        format!(
            "bind the image {} onto {}",
            sandbox.root.display(),
            view.display()
        ),
    );
    if matches!(place, Place::Host { .. }) {
        // The image stays writable even though the host's mounts above it were made
        // read-only (a bind mount starts with its source mount's flags).
        push(
            Op::Remount {
                target: cstring(view),
                readonly: false,
            },
            false,
            "remount the view read-write".into(),
        );
    }
    let nosuid_nodev_noexec = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    push(
        Op::Mount {
            fstype: c"proc".into(),
            target: at("proc"),
            flags: nosuid_nodev_noexec,
            data: c"".into(),
        },
        false,
        "mount /proc".into(),
    );
    push(
        Op::Bind {
            source: c"/sys".into(),
            target: at("sys"),
            recursive: true,
        },
        false,
        "bind /sys".into(),
    );
    push(
        Op::Remount {
            target: at("sys"),
            readonly: true,
        },
        false,
        "remount /sys read-only".into(),
    );
    push(
        Op::Mount {
            fstype: c"tmpfs".into(),
            target: at("dev"),
            flags: MountFlags::NOSUID | MountFlags::NOEXEC,
            data: c"mode=0755,size=4m".into(),
        },
        false,
        "mount a tmpfs on /dev".into(),
    );
    for node in DEV_NODES {
        push(
            Op::Touch {
                path: at(&format!("dev/{node}")),
            },
            false,
            format!("create /dev/{node}"),
        );
        push(
            Op::Bind {
                source: cstring(format!("/dev/{node}")),
                target: at(&format!("dev/{node}")),
                recursive: false,
            },
            false,
            format!("bind /dev/{node}"),
        );
    }
    push(
        Op::Mkdir {
            path: at("dev/pts"),
        },
        false,
        "create /dev/pts".into(),
    );
    push(
        Op::Mount {
            fstype: c"devpts".into(),
            target: at("dev/pts"),
            flags: MountFlags::NOSUID | MountFlags::NOEXEC,
            data: c"newinstance,ptmxmode=0666,mode=0620".into(),
        },
        false,
        "mount /dev/pts".into(),
    );
    push(
        Op::Symlink {
            target: c"pts/ptmx".into(),
            path: at("dev/ptmx"),
        },
        false,
        "link /dev/ptmx".into(),
    );
    push(
        Op::Mkdir {
            path: at("dev/shm"),
        },
        false,
        "create /dev/shm".into(),
    );
    push(
        Op::Mount {
            fstype: c"tmpfs".into(),
            target: at("dev/shm"),
            flags: nosuid_nodev_noexec,
            data: c"mode=1777".into(),
        },
        false,
        "mount /dev/shm".into(),
    );
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        push(
            Op::Symlink {
                target: cstring(target),
                path: at(&format!("dev/{link}")),
            },
            false,
            format!("link /dev/{link}"),
        );
    }
    push(
        Op::Mount {
            fstype: c"tmpfs".into(),
            target: at("run"),
            flags: MountFlags::NOSUID | MountFlags::NODEV,
            data: c"mode=0755".into(),
        },
        false,
        "mount a tmpfs on /run".into(),
    );
    if sandbox.network {
        if let Some(ResolvConf::BindOver {
            path,
            create_on_run,
        }) = &inputs.resolv_conf
        {
            if *create_on_run {
                let mut dir = String::new();
                let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
                for part in &parts[..parts.len().saturating_sub(1)] {
                    dir.push('/');
                    dir.push_str(part);
                    if dir != "/run" {
                        push(Op::Mkdir { path: at(&dir) }, false, format!("create {dir}"));
                    }
                }
                push(
                    Op::Touch { path: at(path) },
                    false,
                    format!("create {path}"),
                );
            }
            push(
                Op::Bind {
                    source: c"/etc/resolv.conf".into(),
                    target: at(path),
                    recursive: false,
                },
                false,
                format!("bind the host's resolv.conf onto {path}"),
            );
            push(
                Op::Remount {
                    target: at(path),
                    readonly: true,
                },
                false,
                format!("remount {path} read-only"),
            );
        }
    }
    if !sandbox.binds.is_empty() {
        push(
            Op::Mount {
                fstype: c"tmpfs".into(),
                target: at("work"),
                flags: MountFlags::NOSUID | MountFlags::NODEV,
                data: c"mode=0755".into(),
            },
            false,
            "mount a tmpfs on /work".into(),
        );
        for bind in &sandbox.binds {
            let is_file = inputs.file_sources.contains(&bind.source);
            let parts: Vec<&str> = bind
                .target
                .trim_start_matches("/work/")
                .split('/')
                .collect();
            let dirs = if is_file {
                parts.len() - 1
            } else {
                parts.len()
            };
            let mut dir = String::from("/work");
            for part in &parts[..dirs] {
                dir.push('/');
                dir.push_str(part);
                push(Op::Mkdir { path: at(&dir) }, false, format!("create {dir}"));
            }
            if is_file {
                push(
                    Op::Touch {
                        path: at(&bind.target),
                    },
                    false,
                    format!("create {}", bind.target),
                );
            }
            push(
                Op::Bind {
                    source: cstring(&bind.source),
                    target: at(&bind.target),
                    recursive: false,
                },
                false,
                format!("bind {} onto {}", bind.source.display(), bind.target),
            );
            push(
                Op::Remount {
                    target: at(&bind.target),
                    readonly: !bind.writable,
                },
                false,
                format!("remount {}", bind.target),
            );
        }
    }
    match place {
        Place::Chroot { cwd } => {
            push(
                Op::Chroot {
                    path: cstring(view),
                },
                false,
                format!("chroot into {}", view.display()),
            );
            push(
                Op::Chdir { path: cstring(cwd) },
                false,
                format!("change to {cwd} in the image"),
            );
        }
        Place::Host { cwd, .. } => {
            push(
                Op::Chdir { path: cstring(cwd) },
                false,
                format!("change to {}", cwd.display()),
            );
        }
    }
    push(Op::Umask, false, "set the umask".into());
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::Bind;

    fn sandbox() -> Sandbox {
        Sandbox {
            root: "/b/root".into(),
            view: "/b/view".into(),
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

    fn labels(steps: &[Step]) -> Vec<&str> {
        steps.iter().map(|s| s.label.as_str()).collect()
    }

    #[test]
    fn chroot_plan_builds_the_view_then_chroots() {
        let steps = plan(
            &sandbox(),
            &Place::Chroot { cwd: "/".into() },
            &PlanInputs::default(),
        );
        let labels = labels(&steps);
        assert_eq!(labels[0], "unshare the mount namespace");
        assert_eq!(labels[1], "make / private");
        assert_eq!(labels[2], "bind the image /b/root onto /b/view");
        for wanted in [
            "mount /proc",
            "remount /sys read-only",
            "bind /dev/urandom",
            "mount /dev/pts",
            "mount a tmpfs on /run",
            "bind /src onto /work/src",
            "chroot into /b/view",
        ] {
            assert!(labels.contains(&wanted), "{wanted} missing from {labels:?}");
        }
        assert!(!labels.iter().any(|l| l.contains("resolv.conf")));
        // Binds: source read-only, output writable.
        let remounts: Vec<_> = steps
            .iter()
            .filter_map(|s| match &s.op {
                Op::Remount { target, readonly } if s.label.contains("/work/") => {
                    Some((target.to_str().unwrap().to_owned(), *readonly))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            remounts,
            [
                ("/b/view/work/src".to_owned(), true),
                ("/b/view/work/out".to_owned(), false)
            ]
        );
        assert_eq!(steps.last().unwrap().op, Op::Umask);
    }

    #[test]
    fn host_plan_makes_host_read_only_except_writable_dirs() {
        let inputs = PlanInputs {
            host_mounts: vec![
                "/".into(),
                "/proc".into(),
                "/dev/pts".into(),
                "/home".into(),
            ],
            ..PlanInputs::default()
        };
        let place = Place::Host {
            cwd: "/src".into(),
            writable: vec!["/b".into()],
        };
        let steps = plan(&sandbox(), &place, &inputs);
        let labels = labels(&steps);
        assert!(labels.contains(&"remount / read-only"));
        assert!(labels.contains(&"remount /home read-only"));
        assert!(!labels.iter().any(|l| l.starts_with("remount /proc")));
        assert!(!labels.iter().any(|l| l.starts_with("remount /dev")));
        let ro = labels.iter().position(|l| *l == "remount /home read-only");
        let rw = labels.iter().position(|l| *l == "remount /b read-write");
        assert!(ro < rw, "{labels:?}");
        assert!(!labels.iter().any(|l| l.starts_with("chroot")));
        assert!(labels.contains(&"change to /src"));
    }

    #[test]
    fn network_binds_resolv_conf() {
        let mut sandbox = sandbox();
        sandbox.network = true;
        let inputs = PlanInputs {
            host_mounts: vec![],
            file_sources: vec![],
            resolv_conf: Some(ResolvConf::BindOver {
                path: "/run/systemd/resolve/stub-resolv.conf".into(),
                create_on_run: true,
            }),
        };
        let steps = plan(&sandbox, &Place::Chroot { cwd: "/".into() }, &inputs);
        let labels = labels(&steps);
        let tmpfs = labels.iter().position(|l| *l == "mount a tmpfs on /run");
        let mkdir = labels
            .iter()
            .position(|l| *l == "create /run/systemd/resolve");
        let bind = labels
            .iter()
            .position(|l| l.starts_with("bind the host's resolv.conf"));
        assert!(tmpfs < mkdir && mkdir < bind, "{labels:?}");
        assert!(labels.contains(&"create /run/systemd"));
    }
}
