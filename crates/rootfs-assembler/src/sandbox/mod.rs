//! The build sandbox: every command that acts on the image (dpkg, maintainer scripts, the
//! tree's scripts, the kernel build) runs in bubblewrap (`bwrap`), in namespaces of its own.
//!
//! A sandboxed command gets new mount, PID, IPC, UTS, cgroup and (unless the sandbox wants
//! the network) network namespaces, and a root made of explicit mounts only ([`plan()`]):
//!
//! - [`Place::Chroot`] (dpkg, maintainer scripts, `.chroot` scripts): the image is the root,
//!   with `/proc` of the command's PID namespace (`/proc/sys` read-only), a read-only `/sys`
//!   (every submount too), bwrap's minimal `/dev`, a tmpfs on `/run`, the host's
//!   `resolv.conf` only when the network is wanted, and the [`Bind`]s under `/work` (on a
//!   tmpfs, so no mount point is created inside the image below `/work`).
//! - [`Place::Host`] (ordinary mkosi scripts, which run outside the image): the host's `/usr`
//!   and `/etc` read-only, the working directory and the given readable paths (when they
//!   exist) read-only, the given writable directories,
//!   fresh `/tmp`, and the image prepared as above at the sandbox's view, where the script's
//!   `mkosi-chroot` chroots. Nothing else of the host: no `/home`, no `/root`, no other
//!   mounts.
//! - [`Place::Tools`] (sync and post-output scripts, which mkosi runs before there is an
//!   image and after it is written): the host's `/usr` and `/etc` read-only, fresh `/tmp` and
//!   `/run`, and the [`Bind`]s at their targets below `/work` (`/work/src`,
//!   `/work/config.json`, `/work/out`), so the paths are the ones mkosi gives them.
//!
//! Either way the command keeps only [`KEPT_CAPABILITIES`] of root's, runs with
//! `no_new_privs`, dies with the build (`--die-with-parent`), and cannot outlive itself: bwrap
//! is PID 1 of the namespace, so when the command exits every process it left behind is
//! killed. The mounts live only in the command's namespace: nothing needs unmounting, and the
//! image directory itself never carries a mount (a host-side script walking `$BUILDROOT` does
//! not see `/proc`).
//!
//! Why bwrap rather than namespaces set up in this crate: the sandbox is a security boundary,
//! and bwrap is the one the field already trusts for it (Flatpak, mkosi), handles the corners
//! (recursive read-only binds, `pivot_root`, a reaping PID 1, capability bounding) in a small
//! audited C program, and takes its whole configuration as arguments, so the plan stays pure
//! data that tests assert on. [`NamespaceSandbox`] needs root and bwrap
//! ([`CommandRunner::preflight`] says which is missing).
//!
//! Files: [`mod@plan`] (the pure bwrap arguments), [`host`] (the host facts the plan needs),
//! `run` (the I/O: preparing mount points, spawning, waiting, reporting), `child` (the
//! command's umask, between `fork` and `exec`). [`CommandRunner`] is the seam through which
//! the rest of the crate runs commands: [`NamespaceSandbox`] runs them for real;
//! `RecordingRunner` (feature `recording-runner`) records them for tests that check what
//! would run without needing root.

mod child;
pub mod host;
pub mod plan;
#[cfg(any(test, feature = "recording-runner"))]
mod recording;
mod run;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;
use build_vocab::AtPath;

pub use host::{host_top_level, resolv_conf_place};
pub use plan::{KEPT_CAPABILITIES, PlanInputs, ResolvConf, TopLevel, plan};
#[cfg(any(test, feature = "recording-runner"))]
pub use recording::{RecordedRun, RecordingRunner};

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
        /// Host paths it reads besides `/usr`, `/etc` and `cwd` (the script's directory,
        /// paths its environment names), bound when they exist.
        readable: Vec<PathBuf>,
        /// Host directories that stay writable (the build directory, outputs).
        writable: Vec<PathBuf>,
    },
    /// On the host's tools (`/usr`, `/etc` and the top-level links, read-only) with the
    /// sandbox's [`Bind`]s at their targets below `/work` and no image: where mkosi runs
    /// sync and post-output scripts.
    Tools {
        /// The working directory (`/work/src`).
        cwd: String,
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

    pub(crate) fn display(&self) -> String {
        let mut text = self.program.to_string_lossy().into_owned();
        for arg in &self.args {
            text.push(' ');
            text.push_str(&arg.to_string_lossy());
        }
        text
    }
}

/// How the crate runs a command for the image: the seam between deciding what runs (install,
/// scripts, removals, `depmod`) and running it.
pub trait CommandRunner: Sync + std::fmt::Debug {
    /// Fails early, before any work, when commands cannot be run at all (the real sandbox
    /// needs root); `action` says what the caller is about to do.
    fn preflight(&self, action: &'static str) -> Result<(), Error>;

    /// Runs `command` in `sandbox` to completion; an error when it cannot run or fails.
    fn run(&self, sandbox: &Sandbox, command: &SandboxCommand) -> Result<(), Error>;
}

/// The real runner: each command in bwrap's namespaces, as the module doc describes.
#[derive(Debug, Clone, Copy, Default)]
pub struct NamespaceSandbox;

impl CommandRunner for NamespaceSandbox {
    fn preflight(&self, action: &'static str) -> Result<(), Error> {
        crate::require_root(action)?;
        let found = std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|dir| dir.join(run::BWRAP).is_file())
        });
        if found {
            Ok(())
        } else {
            Err(Error::MissingTool {
                action,
                tool: run::BWRAP,
                package: "bubblewrap",
            })
        }
    }

    fn run(&self, sandbox: &Sandbox, command: &SandboxCommand) -> Result<(), Error> {
        run::run(sandbox, command)
    }
}
