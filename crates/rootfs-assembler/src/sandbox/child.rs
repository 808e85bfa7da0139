//! The only code of the crate that runs between `fork` and `exec`, and the only `unsafe`:
//! the sandboxed command's umask. bwrap passes on the umask it starts with, and the host's
//! must never reach the image.

#![allow(unsafe_code)]

use std::os::unix::process::CommandExt;
use std::process::Command;

use rustix::fs::Mode;

/// Makes `command` start with umask `022`.
pub(super) fn set_umask(command: &mut Command) {
    // SAFETY: `pre_exec` requires the closure to be safe to run in a child forked from a
    // possibly multi-threaded process, i.e. to use only async-signal-safe operations. The
    // closure issues one system call, umask(2), through rustix, which neither allocates
    // nor takes locks.
    unsafe {
        command.pre_exec(|| {
            rustix::process::umask(Mode::from_raw_mode(0o022));
            Ok(())
        });
    }
}
