//! The crate's one error type.
//!
//! Every variant names what it is about: the package and archive entry, the file on disk, the
//! script or the command. Nothing is reported as a bare `io::Error`.

use build_vocab::PathError;
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while unpacking, installing, running scripts or normalising.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operation that needs root (mount namespaces, chroot, file ownership) was asked for
    /// by another user.
    #[error(
        "{action} needs root (namespaces and file ownership): run as root, or as a user \
         with subordinate ids through a front end that calls `user_namespace::become_root`"
    )]
    NotRoot {
        /// What was about to happen.
        action: &'static str,
    },
    /// An unprivileged build, but the user has no subordinate ids to map.
    #[error(
        "building without root needs subordinate user and group ids for `{user}`, and \
         /etc/subuid or /etc/subgid has none: add a range (as root: `usermod --add-subuids \
         100000-165535 --add-subgids 100000-165535 {user}`), or build as root"
    )]
    NoSubordinateIds {
        /// The invoking user.
        user: String,
    },
    /// Entering the build's user namespace failed.
    #[error("building without root: {reason}")]
    UserNamespace {
        /// What failed.
        reason: String,
    },
    /// A program the build needs on the host is not installed.
    #[error("{action} needs `{tool}`, which is not installed (Debian package {package})")]
    MissingTool {
        /// What was about to happen.
        action: &'static str,
        /// The program.
        tool: &'static str,
        /// The Debian package that has it.
        package: &'static str,
    },
    /// A `.deb` file that is not a well-formed Debian binary package.
    #[error("{}: not a valid .deb: {reason}", deb.display())]
    MalformedDeb {
        /// The file.
        deb: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An archive entry that would land outside the root or write through a symlink, or
    /// that cannot be created as asked. Nothing of it was written.
    #[error("{package}: refusing archive entry `{entry}`: {reason}")]
    UnsafeEntry {
        /// The package (or tree archive) the entry belongs to.
        package: String,
        /// The entry's path as written in the archive.
        entry: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// A control file (`control`, `conffiles`, `/var/lib/dpkg/status`) that does not parse.
    #[error("{what}: {reason}")]
    Control {
        /// The package or file.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The package list handed in is inconsistent (a name twice, a package missing that
    /// another one needs for the bootstrap).
    #[error("package list: {reason}")]
    PackageList {
        /// What is wrong.
        reason: String,
    },
    /// The image configuration lacks something the assembly needs.
    #[error("configuration: {setting}: {reason}")]
    Config {
        /// The mkosi setting.
        setting: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Setting up the sandbox (namespace, mounts, chroot) failed.
    #[error("sandbox for `{command}`: {step}")]
    Sandbox {
        /// The command that was to run.
        command: String,
        /// The step that failed.
        step: String,
        /// The underlying error.
        source: io::Error,
    },
    /// A command (dpkg, a maintainer script run, a user's script) exited unsuccessfully.
    #[error("{command} failed ({status}){}", if output.is_empty() { String::new() } else { format!(":\n{output}") })]
    Command {
        /// The command line or script.
        command: String,
        /// How it ended (`exit status 1`, `signal 9`).
        status: String,
        /// The last lines of its output, when it was captured.
        output: String,
    },
    /// A skeleton or extra tree that cannot be copied.
    #[error("tree {}: {reason}", source_path.display())]
    Tree {
        /// The tree's source directory or archive.
        source_path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Modules the kernel module filter kept were deleted afterwards (by `RemoveFiles=` or a
    /// finalize script) while their kernel stayed: the image would boot a modular kernel
    /// without the modules its services load.
    #[error(
        "kernel {release}: {} of the {kept} modules the image keeps were removed after the \
         module filter ran (first: {}); a finalize script or RemoveFiles= deletes what the \
         kernel loads from /usr/lib/modules/{release}. Choose modules with KernelModules= \
         instead (`KernelModules=-*` for none)",
        missing.len(),
        missing.first().map_or("", String::as_str)
    )]
    KernelModulesRemoved {
        /// The kernel release.
        release: String,
        /// How many modules the filter kept.
        kept: usize,
        /// The kept modules that are gone, relative to the kernel's modules directory.
        missing: Vec<String>,
    },
    /// An output file could not be published (written whole, synced, renamed).
    #[error(transparent)]
    Publish(#[from] build_vocab::Error),
    /// An I/O error on a file or directory.
    #[error(transparent)]
    Io(#[from] PathError),
}

impl Error {
    /// An [`Error::UnsafeEntry`].
    pub(crate) fn unsafe_entry(package: &str, entry: &str, reason: impl Into<String>) -> Error {
        Error::UnsafeEntry {
            package: package.to_owned(),
            entry: entry.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Fails with [`Error::NotRoot`] unless the effective user is root.
pub fn require_root(action: &'static str) -> Result<(), Error> {
    if rustix::process::geteuid().is_root() {
        Ok(())
    } else {
        Err(Error::NotRoot { action })
    }
}
