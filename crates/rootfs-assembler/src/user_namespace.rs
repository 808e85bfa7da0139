//! Builds without root: a program started by an ordinary user runs itself again as root of a
//! user namespace that maps the user to root and the user's subordinate ids (`/etc/subuid`,
//! `/etc/subgid`) to the ids above, as mkosi and podman do.
//!
//! Inside, the build is root as far as the image is concerned: dpkg and maintainer scripts
//! `chown` files to system users, and every id of the image is recorded as a root build records
//! it (on disk the files belong to the user's subordinate ids). Outside, nothing beyond the
//! user's rights and the subordinate range is used. The mapping is written by shadow's setuid
//! helpers `newuidmap`/`newgidmap` (Debian package uidmap), the only programs allowed to map
//! more than the user's own id.
//!
//! How [`become_root`] gets there, in three steps of one program:
//! 1. the user's process starts itself again in a new user namespace (unshared between `fork`
//!    and `exec`), writes the mapping for it and tells it so through a pipe, then waits for it
//!    and exits with its status;
//! 2. that process, unmapped when it started and so without capabilities, waits for the
//!    word, then starts itself once more: now uid 0 of the namespace, it gets root's
//!    capabilities there;
//! 3. the third start finds itself root and goes on.
//!
//! Root takes the same steps with a namespace that maps every id to itself: the build is
//! the same either way, and its capabilities are the namespace's, not the host's.
//!
//! Call [`become_root`] first thing in `main`, before any thread starts.

#![allow(unsafe_code)]

use std::ffi::OsString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus};

use rustix::pipe::PipeFlags;
use rustix::process::Signal;
use rustix::thread::UnshareFlags;

use crate::error::Error;

/// The variable that tells the second and third starts where they are.
const STAGE: &str = "FLASHBOX_USER_NAMESPACE";
/// The second start's value: waiting on this fd for the mapping.
const WAITING: &str = "waiting:";
/// The third start's value.
const MAPPED: &str = "mapped";

/// A range of subordinate ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubordinateIds {
    /// The first id.
    pub start: u32,
    /// How many.
    pub count: u32,
}

/// The first range `/etc/subuid`- or `/etc/subgid`-format `text` gives the user called `name`
/// or numbered `id` (`name:start:count` lines).
pub fn subordinate_ids(text: &str, name: &str, id: u32) -> Option<SubordinateIds> {
    text.lines().find_map(|line| {
        let mut fields = line.trim().split(':');
        let owner = fields.next()?;
        let start = fields.next()?.parse().ok()?;
        let count = fields.next()?.parse().ok()?;
        let ours = owner == name || owner.parse() == Ok(id);
        (ours && count > 0).then_some(SubordinateIds { start, count })
    })
}

/// The name `/etc/passwd`-format `text` gives the user numbered `uid`.
pub fn user_name(text: &str, uid: u32) -> Option<String> {
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() > 2 && fields[2].parse() == Ok(uid)).then(|| fields[0].to_owned())
    })
}

/// Where the program stands after [`become_root`].
#[derive(Debug)]
pub enum Root {
    /// It is root of the build's user namespace: go on.
    Now,
    /// It ran as root of a user namespace in a child, which has finished: exit with this.
    Ran(ExitStatus),
}

/// Makes the calling program root of a user namespace by running it again there: the
/// invoking user's subordinate ids mapped, or every id to itself when run by root (see the
/// module docs). Says exactly what to configure when the user has no subordinate ids or the
/// helpers are missing.
pub fn become_root() -> Result<Root, Error> {
    // The stage first: step 2 may find itself uid 0 already (mapped while it started), but
    // without the capabilities only the next start gives it.
    let root = rustix::process::geteuid().is_root();
    match std::env::var(STAGE) {
        Ok(stage) if stage.starts_with(WAITING) => wait_then_restart(&stage[WAITING.len()..]),
        Ok(stage) if stage == MAPPED && !root => Err(failed(
            "started as uid 0 of the user namespace but is not root there",
        )),
        Ok(stage) if stage == MAPPED => Ok(Root::Now),
        _ => run_in_new_namespace(root).map(Root::Ran),
    }
}

/// How step 1 maps the new namespace.
enum Mapping {
    /// Root: every id to itself, written directly.
    Identity,
    /// A user: itself to 0, its subordinate ids above, through the setuid helpers.
    Subordinate {
        uid: u32,
        gid: u32,
        uids: SubordinateIds,
        gids: SubordinateIds,
    },
}

/// What a user without root maps, or why it cannot.
fn subordinate_mapping() -> Result<Mapping, Error> {
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let name = user_name(&read("/etc/passwd"), uid).unwrap_or_else(|| uid.to_string());
    let ranges = (
        subordinate_ids(&read("/etc/subuid"), &name, uid),
        subordinate_ids(&read("/etc/subgid"), &name, uid),
    );
    let (Some(uids), Some(gids)) = ranges else {
        return Err(Error::NoSubordinateIds { user: name });
    };
    for helper in ["newuidmap", "newgidmap"] {
        if !on_path(helper) {
            return Err(Error::MissingTool {
                action: "building without root",
                tool: helper,
                package: "uidmap",
            });
        }
    }
    Ok(Mapping::Subordinate {
        uid,
        gid,
        uids,
        gids,
    })
}

/// Step 1: starts the program in a new user namespace, maps it, waits for it. Root gets a
/// namespace too, mapping every id to itself: the build is the same, and what it and its
/// commands hold are capabilities over their own namespaces, not over the host.
fn run_in_new_namespace(root: bool) -> Result<ExitStatus, Error> {
    let mapping = if root {
        Mapping::Identity
    } else {
        subordinate_mapping()?
    };
    let (wait_read, wait_write) = rustix::pipe::pipe_with(PipeFlags::empty())
        .map_err(|errno| failed(&format!("a pipe: {errno}")))?;
    // Only the read end reaches the child.
    rustix::io::fcntl_setfd(&wait_write, rustix::io::FdFlags::CLOEXEC)
        .map_err(|errno| failed(&format!("a pipe: {errno}")))?;
    let read_fd = wait_read.as_raw_fd();
    let mut command = Command::new(current_exe()?);
    command
        .args(std::env::args_os().skip(1))
        .env(STAGE, format!("{WAITING}{read_fd}"));
    // SAFETY: the closure runs in the forked child, which is single-threaded until it execs:
    // it only issues prctl(2) and unshare(2) through rustix (no allocation, no locks), and
    // unshares the user namespace alone (never `CLONE_FILES`, which makes `unshare` unsafe).
    unsafe {
        command.pre_exec(|| {
            rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
            rustix::thread::unshare_unsafe(UnshareFlags::NEWUSER)?;
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .map_err(|e| failed(&format!("starting itself again: {e}")))?;
    drop(wait_read);
    let pid = child.id().to_string();
    let mapped = match mapping {
        Mapping::Identity => ["uid_map", "gid_map"].iter().try_for_each(|map| {
            let path = format!("/proc/{pid}/{map}");
            std::fs::write(&path, "0 0 4294967295\n")
                .map_err(|e| failed(&format!("writing {path}: {e}")))
        }),
        Mapping::Subordinate {
            uid,
            gid,
            uids,
            gids,
        } => map_ids("newuidmap", &pid, uid, uids)
            .and_then(|()| map_ids("newgidmap", &pid, gid, gids)),
    };
    if let Err(error) = mapped {
        let _ = child.kill();
        let _ = child.wait();
        return Err(error);
    }
    rustix::io::write(&wait_write, b"m")
        .map_err(|errno| failed(&format!("signalling: {errno}")))?;
    drop(wait_write);
    child
        .wait()
        .map_err(|e| failed(&format!("waiting for the build: {e}")))
}

/// Maps `0` to `own` and `1..` to `range` in the user namespace of process `pid`.
fn map_ids(helper: &str, pid: &str, own: u32, range: SubordinateIds) -> Result<(), Error> {
    let output = Command::new(helper)
        .args([pid, "0", &own.to_string(), "1", "1"])
        .args([range.start.to_string(), range.count.to_string()])
        .output()
        .map_err(|e| failed(&format!("running {helper}: {e}")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(failed(&format!(
            "{helper} {pid} 0 {own} 1 1 {} {}: {}",
            range.start,
            range.count,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// Step 2: waits for the mapping on `fd`, then starts the program again as uid 0.
fn wait_then_restart(fd: &str) -> Result<Root, Error> {
    let fd: i32 = fd
        .parse()
        .map_err(|_| failed(&format!("{STAGE} names no pipe")))?;
    // SAFETY: the fd was inherited from step 1 for this read alone; nothing else owns it.
    let pipe = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut word = [0u8; 1];
    let read = rustix::io::read(&pipe, &mut word).unwrap_or(0);
    drop(pipe);
    if read != 1 {
        return Err(failed("the user namespace was never mapped"));
    }
    let error = Command::new(current_exe()?)
        .args(std::env::args_os().skip(1))
        .env(STAGE, MAPPED)
        .exec();
    Err(failed(&format!(
        "starting itself as root of the namespace: {error}"
    )))
}

fn current_exe() -> Result<OsString, Error> {
    std::env::current_exe()
        .map(Into::into)
        .map_err(|e| failed(&format!("finding its own executable: {e}")))
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| Path::new(&dir).join(program).is_file())
    })
}

fn failed(reason: &str) -> Error {
    Error::UserNamespace {
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subordinate_ranges_are_found_by_name_or_number() {
        let text = "alice:100000:65536\n1002:200000:1000\nbob:300000:0\n";
        assert_eq!(
            subordinate_ids(text, "alice", 1001),
            Some(SubordinateIds {
                start: 100_000,
                count: 65_536
            })
        );
        assert_eq!(
            subordinate_ids(text, "carol", 1002),
            Some(SubordinateIds {
                start: 200_000,
                count: 1000
            })
        );
        assert_eq!(
            subordinate_ids(text, "bob", 1003),
            None,
            "an empty range is none"
        );
        assert_eq!(subordinate_ids("garbage\n", "alice", 1), None);
    }

    #[test]
    fn user_names_come_from_passwd() {
        let text = "root:x:0:0:root:/root:/bin/bash\nalice:x:1001:1001::/home/alice:/bin/sh\n";
        assert_eq!(user_name(text, 1001).as_deref(), Some("alice"));
        assert_eq!(user_name(text, 7), None);
    }
}
