//! The only code of the crate that runs between `fork` and `exec`, and the only `unsafe`.
//!
//! [`install`] registers, through [`std::os::unix::process::CommandExt::pre_exec`], a closure
//! that executes a [`Step`] plan in the forked child. When a step fails, the child writes the
//! step's index to a close-on-exec pipe before returning the error, so the parent can say
//! which step failed ([`Report::failed_step`]); `std` already returns the errno from `spawn`.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, MountPropagationFlags};
use rustix::pipe::PipeFlags;
use rustix::thread::UnshareFlags;

use super::{Op, Step};

/// The parent's end of the failure report pipe.
pub(super) struct Report {
    read: OwnedFd,
}

impl Report {
    /// The index of the step that failed in the child, if one did. Call only after `spawn`
    /// returned and the `Command` (holding the write end) was dropped.
    pub(super) fn failed_step(&self) -> Option<usize> {
        let mut bytes = [0u8; 8];
        let mut filled = 0;
        while filled < bytes.len() {
            match rustix::io::read(&self.read, &mut bytes[filled..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => filled += n,
            }
        }
        (filled == bytes.len()).then(|| u64::from_le_bytes(bytes) as usize)
    }
}

/// Makes `command` execute `steps` in its child before `exec`.
pub(super) fn install(command: &mut Command, steps: Vec<Step>) -> io::Result<Report> {
    let (read, write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)?;
    let hook = move || run_steps(&steps, &write);
    // SAFETY: `pre_exec` requires the closure to be safe to run in a child forked from a
    // possibly multi-threaded process, i.e. to use only async-signal-safe operations. The
    // closure only reads the `steps` prepared (and allocated) before the fork and issues raw
    // system calls through rustix with `&CStr` arguments, which pass them to the kernel
    // without allocating: unshare, mount, mkdir, open/close, symlink, chroot, chdir, umask,
    // write. It takes no locks, does not allocate, and touches no std I/O state. The only
    // error value it builds, `io::Error::from_raw_os_error`, does not allocate either.
    unsafe {
        command.pre_exec(hook);
    }
    Ok(Report { read })
}

fn run_steps(steps: &[Step], report: &OwnedFd) -> io::Result<()> {
    for (index, step) in steps.iter().enumerate() {
        if let Err(errno) = execute(&step.op) {
            if step.may_fail {
                continue;
            }
            let _ = rustix::io::write(report, &(index as u64).to_le_bytes());
            return Err(io::Error::from_raw_os_error(errno.raw_os_error()));
        }
    }
    Ok(())
}

fn execute(op: &Op) -> Result<(), Errno> {
    match op {
        // SAFETY: unsharing only the mount namespace (never `CLONE_FILES`, the reason this
        // function is unsafe) in a single-threaded child right before `exec`.
        Op::UnshareMountNamespace => unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) },
        Op::MakeRootPrivate => rustix::mount::mount_change(
            c"/",
            MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
        ),
        Op::Mount {
            fstype,
            target,
            flags,
            data,
        } => rustix::mount::mount(
            fstype.as_c_str(),
            target.as_c_str(),
            fstype.as_c_str(),
            *flags,
            data.as_c_str(),
        ),
        Op::Bind {
            source,
            target,
            recursive: false,
        } => rustix::mount::mount_bind(source.as_c_str(), target.as_c_str()),
        Op::Bind {
            source,
            target,
            recursive: true,
        } => rustix::mount::mount_bind_recursive(source.as_c_str(), target.as_c_str()),
        Op::Remount { target, readonly } => {
            let mut flags = MountFlags::BIND;
            if *readonly {
                flags |= MountFlags::RDONLY;
            }
            rustix::mount::mount_remount(target.as_c_str(), flags, c"")
        }
        Op::Mkdir { path } => {
            match rustix::fs::mkdir(path.as_c_str(), Mode::from_raw_mode(0o755)) {
                Err(Errno::EXIST) => Ok(()),
                other => other,
            }
        }
        Op::Touch { path } => rustix::fs::open(
            path.as_c_str(),
            OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::from_raw_mode(0o644),
        )
        .map(drop),
        Op::Symlink { target, path } => {
            match rustix::fs::symlink(target.as_c_str(), path.as_c_str()) {
                Err(Errno::EXIST) => Ok(()),
                other => other,
            }
        }
        Op::Chroot { path } => rustix::process::chroot(path.as_c_str()),
        Op::Chdir { path } => rustix::process::chdir(path.as_c_str()),
        Op::Umask => {
            rustix::process::umask(Mode::from_raw_mode(0o022));
            Ok(())
        }
    }
}
