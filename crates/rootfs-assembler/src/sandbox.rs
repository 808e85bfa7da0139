//! The build sandbox: commands that act on the image run in a private mount namespace.
//!
//! A sandboxed command runs in a child process that, between `fork` and `exec`, unshares its
//! mount namespace, marks `/` private (recursively, so nothing propagates back to the host),
//! and builds a *view* of the image: the root directory bind-mounted onto an empty directory
//! outside it (`view`), with `/proc`, a read-only `/sys`, a minimal `/dev` (`null zero full
//! random urandom tty`, `pts`, `shm`), a tmpfs on `/run`, the host's `resolv.conf` only when
//! the network is wanted, and the [`Bind`]s under `/work` (on a tmpfs, so no mount point is
//! created inside the image below `/work`). The mounts live only in that namespace, which dies
//! with the child: nothing needs unmounting, on success, error or panic, and the image
//! directory itself never carries a mount (a host-side script walking `$BUILDROOT` does not
//! see `/proc`).
//!
//! Two [`Place`]s: [`Place::Chroot`] chroots into the view (dpkg, maintainer scripts,
//! `.chroot` scripts); [`Place::Host`] stays on the host's file system (ordinary mkosi
//! scripts, whose `mkosi-chroot` then chroots into the prepared view) with every host mount
//! remounted read-only except the given writable directories, so such a script cannot write
//! outside the build directory either.
//!
//! The plan ([`plan`]) is pure data that tests assert on; only the private `child` module
//! executes it, with the crate's only `unsafe` code. Root is required ([`crate::require_root`]).

mod child;

use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rustix::mount::MountFlags;

use crate::error::{Error, require_root};
use build_vocab::AtPath;

/// A directory of the build host made visible inside the image at `/work/...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// The directory on the host.
    pub source: PathBuf,
    /// Where it appears in the image: an absolute path below `/work` (`/work/src`).
    pub target: String,
    /// Whether commands may write to it.
    pub writable: bool,
}

/// The sandbox of one assembly: the image root, its view and what is made visible in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    /// The image root directory (`$BUILDROOT`).
    pub root: PathBuf,
    /// An empty directory outside the root where the view is assembled.
    pub view: PathBuf,
    /// Whether the host's `/etc/resolv.conf` is made visible (mkosi's `WithNetwork=`).
    pub network: bool,
    /// Host directories bound below `/work`.
    pub binds: Vec<Bind>,
}

impl Sandbox {
    /// The sandbox of a command that works on the image alone (no binds, no network), with
    /// its view in `work/view`, and the log `work/logs/<log_name>` (its directory created).
    pub fn over_image(root: &Path, work: &Path, log_name: &str) -> Result<(Self, PathBuf), Error> {
        let log = work.join("logs").join(log_name);
        if let Some(dir) = log.parent() {
            fs::create_dir_all(dir).at(dir)?;
        }
        let sandbox = Self {
            root: root.to_path_buf(),
            view: work.join("view"),
            network: false,
            binds: Vec::new(),
        };
        Ok((sandbox, log))
    }
}

/// Where a sandboxed command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// Chrooted into the view, in this directory of the image.
    Chroot {
        /// The working directory inside the image.
        cwd: String,
    },
    /// On the host's file system, read-only except `writable`, in `cwd`.
    Host {
        /// The working directory on the host.
        cwd: PathBuf,
        /// Host directories that stay writable (the build directory, outputs).
        writable: Vec<PathBuf>,
    },
}

/// One command to run in the sandbox.
#[derive(Debug, Clone)]
pub struct SandboxCommand {
    /// The program: a path inside the image for [`Place::Chroot`], on the host otherwise.
    pub program: OsString,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// The complete environment (nothing is inherited from the calling process).
    pub env: BTreeMap<String, String>,
    /// Where it runs.
    pub place: Place,
    /// A file that receives stdout and stderr (appended); `None` inherits them.
    pub log: Option<PathBuf>,
}

impl SandboxCommand {
    /// A command running `program` with `args` in `place`, with an empty environment and
    /// inherited output.
    pub fn new<I, S>(program: impl Into<OsString>, args: I, place: Place) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            env: BTreeMap::new(),
            place,
            log: None,
        }
    }

    fn display(&self) -> String {
        let mut text = self.program.to_string_lossy().into_owned();
        for arg in &self.args {
            text.push(' ');
            text.push_str(&arg.to_string_lossy());
        }
        text
    }
}

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

/// Reads the host's mount points from `/proc/self/mountinfo`.
pub fn host_mounts() -> Result<Vec<PathBuf>, Error> {
    let path = Path::new("/proc/self/mountinfo");
    let text = fs::read_to_string(path).at(path)?;
    Ok(parse_mountinfo(&text))
}

/// The mount points listed in mountinfo text (field 5, with `\NNN` octal escapes decoded).
pub fn parse_mountinfo(text: &str) -> Vec<PathBuf> {
    let mut mounts: Vec<PathBuf> = text
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|escaped| {
            let bytes = escaped.as_bytes();
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'\\' && i + 3 < bytes.len() {
                    let octal = std::str::from_utf8(&bytes[i + 1..i + 4]).unwrap_or("");
                    if let Ok(value) = u8::from_str_radix(octal, 8) {
                        out.push(value);
                        i += 4;
                        continue;
                    }
                }
                out.push(bytes[i]);
                i += 1;
            }
            PathBuf::from(OsStr::from_bytes(&out))
        })
        .collect();
    mounts.sort();
    mounts.dedup();
    mounts
}

/// Where the host's resolv.conf can be bound in the image at `root`: over
/// `/etc/resolv.conf` when it is a regular file, over its target when it is a symlink into
/// `/run` (created on the sandbox's tmpfs); `None` when neither (no name resolution then).
pub fn resolv_conf_place(root: &Path) -> Option<ResolvConf> {
    let path = root.join("etc/resolv.conf");
    let meta = fs::symlink_metadata(&path).ok()?;
    if meta.is_file() {
        return Some(ResolvConf::BindOver {
            path: "/etc/resolv.conf".into(),
            create_on_run: false,
        });
    }
    if meta.file_type().is_symlink() {
        let target = fs::read_link(&path).ok()?;
        let target = target.to_str()?;
        let absolute = if let Some(rest) = target.strip_prefix("../") {
            format!("/{rest}")
        } else if target.starts_with('/') {
            target.to_owned()
        } else {
            format!("/etc/{target}")
        };
        let clean = crate::unpack::MemberPath::parse(absolute.trim_start_matches('/').as_bytes())
            .ok()?
            .absolute();
        if clean.starts_with("/run/") {
            return Some(ResolvConf::BindOver {
                path: clean,
                create_on_run: true,
            });
        }
    }
    None
}

/// Runs `command` in `sandbox`: plans the steps, spawns the child (which executes them and
/// then `exec`s), waits for it. Fails with [`Error::Sandbox`] naming the step that failed,
/// or [`Error::Command`] when the command itself fails (with the end of its log).
pub fn run(sandbox: &Sandbox, command: &SandboxCommand) -> Result<(), Error> {
    require_root("running commands in the image sandbox")?;
    let shown = command.display();
    let created_work = prepare_mount_points(sandbox)?;
    let result = run_prepared(sandbox, command, shown);
    if let Some(work) = created_work {
        // The `/work` mount point was made for this run only.
        let _ = fs::remove_dir(&work);
    }
    result
}

fn run_prepared(sandbox: &Sandbox, command: &SandboxCommand, shown: String) -> Result<(), Error> {
    let inputs = PlanInputs {
        host_mounts: match command.place {
            Place::Host { .. } => host_mounts()?,
            Place::Chroot { .. } => Vec::new(),
        },
        resolv_conf: if sandbox.network {
            resolv_conf_place(&sandbox.root)
        } else {
            None
        },
        file_sources: sandbox
            .binds
            .iter()
            .filter(|b| b.source.is_file())
            .map(|b| b.source.clone())
            .collect(),
    };
    let steps = plan(sandbox, &command.place, &inputs);
    let labels: Vec<String> = steps.iter().map(|s| s.label.clone()).collect();
    let mut cmd = Command::new(&command.program);
    cmd.args(&command.args).env_clear().envs(&command.env);
    cmd.stdin(Stdio::null());
    let mut log_start = 0;
    if let Some(log) = &command.log {
        let file = File::options()
            .create(true)
            .append(true)
            .open(log)
            .at(log)?;
        log_start = file.metadata().map(|m| m.len()).unwrap_or(0);
        let clone = file.try_clone().at(log)?;
        cmd.stdout(file).stderr(clone);
    }
    let report = child::install(&mut cmd, steps).map_err(|source| Error::Sandbox {
        command: shown.clone(),
        step: "create the report pipe".into(),
        source,
    })?;
    let spawned = cmd.spawn();
    drop(cmd);
    let mut child = match spawned {
        Ok(child) => child,
        Err(source) => {
            let step = report
                .failed_step()
                .and_then(|index| labels.get(index).cloned())
                .unwrap_or_else(|| "start the command".into());
            return Err(Error::Sandbox {
                command: shown,
                step,
                source,
            });
        }
    };
    let status = child.wait().map_err(|source| Error::Sandbox {
        command: shown.clone(),
        step: "wait for the command".into(),
        source,
    })?;
    if status.success() {
        return Ok(());
    }
    let status = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "unknown status".into(),
    };
    let output = command
        .log
        .as_deref()
        .map(|log| log_tail(log, log_start, 40))
        .unwrap_or_default();
    Err(Error::Command {
        command: shown,
        status,
        output,
    })
}

/// Creates the mount points the plan needs in the root and the view directory. Returns the
/// `/work` directory of the image if it had to be created (it is removed after the run).
fn prepare_mount_points(sandbox: &Sandbox) -> Result<Option<PathBuf>, Error> {
    fs::create_dir_all(&sandbox.view).at(&sandbox.view)?;
    let mut created_work = None;
    if !sandbox.binds.is_empty() {
        let work = crate::unpack::path_in_root(&sandbox.root, "work")?;
        if fs::symlink_metadata(&work).is_err() {
            fs::create_dir(&work).at(&work)?;
            created_work = Some(work);
        }
    }
    for dir in ["proc", "sys", "dev", "run", "work"] {
        if dir == "work" && sandbox.binds.is_empty() {
            continue;
        }
        let path = crate::unpack::path_in_root(&sandbox.root, dir)?;
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(Error::Sandbox {
                    command: String::new(),
                    step: format!("/{dir} in the image is not a directory"),
                    source: io::Error::other("not a directory"),
                });
            }
            Err(_) => {
                fs::create_dir(&path).at(&path)?;
                crate::unpack::apply_metadata(&path, false, 0o755, 0, 0, 0, true)?;
            }
        }
    }
    for bind in &sandbox.binds {
        if !bind.target.starts_with("/work/") || bind.target.contains("/../") {
            return Err(Error::Sandbox {
                command: String::new(),
                step: format!("bind target {} is not below /work", bind.target),
                source: io::Error::other("invalid bind target"),
            });
        }
    }
    Ok(created_work)
}

/// The last `lines` lines a command wrote to its log (from byte `start` on).
fn log_tail(log: &Path, start: u64, lines: usize) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(log) {
        let _ = file.seek(SeekFrom::Start(start));
        let mut bytes = Vec::new();
        let _ = file.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    let all: Vec<&str> = text.lines().collect();
    let from = all.len().saturating_sub(lines);
    all[from..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn mountinfo_escapes() {
        let text = "22 1 0:21 / /proc rw - proc proc rw\n\
                    30 1 8:1 / / rw - ext4 /dev/vda rw\n\
                    31 30 8:2 / /mnt/with\\040space rw - ext4 /dev/vdb rw\n";
        let mounts = parse_mountinfo(text);
        assert_eq!(
            mounts,
            [
                PathBuf::from("/"),
                PathBuf::from("/mnt/with space"),
                PathBuf::from("/proc")
            ]
        );
    }

    #[test]
    fn resolv_conf_symlink_into_run() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("etc")).unwrap();
        assert_eq!(resolv_conf_place(root), None);
        std::os::unix::fs::symlink(
            "../run/systemd/resolve/stub-resolv.conf",
            root.join("etc/resolv.conf"),
        )
        .unwrap();
        assert_eq!(
            resolv_conf_place(root),
            Some(ResolvConf::BindOver {
                path: "/run/systemd/resolve/stub-resolv.conf".into(),
                create_on_run: true
            })
        );
        fs::remove_file(root.join("etc/resolv.conf")).unwrap();
        fs::write(root.join("etc/resolv.conf"), "").unwrap();
        assert_eq!(
            resolv_conf_place(root),
            Some(ResolvConf::BindOver {
                path: "/etc/resolv.conf".into(),
                create_on_run: false
            })
        );
    }
}
