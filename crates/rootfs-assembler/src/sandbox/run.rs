//! Running one sandboxed command: preparing its mount points, planning, running bwrap with
//! the plan and the command, waiting, and turning failures into errors that end with the
//! command's log (where bwrap writes why it could not set the sandbox up, if it could not).

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::host::{host_top_level, resolv_conf_place};
use super::plan::{PlanInputs, plan};
use super::{Place, Sandbox, SandboxCommand, child};
use crate::error::{Error, require_root};
use build_vocab::AtPath;

/// The program that builds the sandbox.
pub(super) const BWRAP: &str = "bwrap";

/// Runs `command` in `sandbox` through bwrap and waits for it. Fails with
/// [`Error::Sandbox`] when bwrap cannot be started, or [`Error::Command`] when the command
/// (or bwrap setting the sandbox up) fails, with the end of its log.
pub(super) fn run(sandbox: &Sandbox, command: &SandboxCommand) -> Result<(), Error> {
    require_root("running commands in the image sandbox")?;
    let shown = command.display();
    check_bind_targets(sandbox)?;
    // A command on the host's tools has no image to make mount points in.
    let created_work = match command.place {
        Place::Tools { .. } => None,
        _ => prepare_mount_points(sandbox)?,
    };
    let result = run_prepared(sandbox, command, shown);
    if let Some(work) = created_work {
        // The `/work` mount point was made for this run only.
        let _ = fs::remove_dir(&work);
    }
    result
}

fn run_prepared(sandbox: &Sandbox, command: &SandboxCommand, shown: String) -> Result<(), Error> {
    let inputs = PlanInputs {
        resolv_conf: match command.place {
            _ if !sandbox.network => None,
            Place::Chroot { .. } | Place::Host { .. } => resolv_conf_place(&sandbox.root),
            // The host's own `/etc` is what a tools command sees; where its resolv.conf is a
            // link into `/run` (systemd-resolved), the file it names is bound into the fresh
            // `/run`.
            Place::Tools { .. } => resolv_conf_place(Path::new("/")),
        },
        host_top_level: match command.place {
            Place::Host { .. } | Place::Tools { .. } => host_top_level(),
            Place::Chroot { .. } => Vec::new(),
        },
    };
    let mut cmd = Command::new(BWRAP);
    cmd.args(plan(sandbox, &command.place, &inputs))
        .arg("--")
        .arg(&command.program)
        .args(&command.args)
        .env_clear()
        .envs(&command.env)
        .stdin(Stdio::null());
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
    child::set_umask(&mut cmd);
    let mut child = cmd.spawn().map_err(|source| Error::Sandbox {
        command: shown.clone(),
        step: format!("start {BWRAP} (Debian package bubblewrap)"),
        source,
    })?;
    let sandbox_error = |step: &str, source| Error::Sandbox {
        command: shown.clone(),
        step: step.into(),
        source,
    };
    let (status, init) =
        wait_noting_init(&mut child).map_err(|e| sandbox_error("wait for the command", e))?;
    if let Some(init) = init {
        init.wait_gone(INIT_EXIT_LIMIT)
            .map_err(|e| sandbox_error("wait for the sandbox's other processes to end", e))?;
    }
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

/// How long the sandbox's PID 1 may take to end after the command did.
const INIT_EXIT_LIMIT: Duration = Duration::from_secs(30);

/// Waits for bwrap, noting on the way its child that is PID 1 of the sandbox. bwrap reports
/// the command's exit as soon as the command ends, while that PID 1 may still be killing
/// what the command left behind: [`ProcessStamp::wait_gone`] waits for it after.
fn wait_noting_init(child: &mut Child) -> io::Result<(ExitStatus, Option<ProcessStamp>)> {
    let mut init = None;
    loop {
        if init.is_none() {
            init = ProcessStamp::first_child_of(child.id());
        }
        if init.is_some() {
            return Ok((child.wait()?, init));
        }
        if let Some(status) = child.try_wait()? {
            return Ok((status, None));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A process, told apart from a later one with the same pid by its start time.
struct ProcessStamp {
    pid: u32,
    start_time: String,
}

impl ProcessStamp {
    /// The first child of `pid`, if it has one now.
    fn first_child_of(pid: u32) -> Option<Self> {
        let children = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
        let child: u32 = children.split_whitespace().next()?.parse().ok()?;
        let (_, start_time) = Self::state_and_start(child)?;
        Some(Self {
            pid: child,
            start_time,
        })
    }

    /// The state letter and start time of `pid` from `/proc/<pid>/stat`.
    fn state_and_start(pid: u32) -> Option<(char, String)> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // After the command name, which may hold spaces and parentheses.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // `state` is field 3 of stat(5), `starttime` field 22: here 0 and 19.
        let state = fields.first()?.chars().next()?;
        Some((state, (*fields.get(19)?).to_owned()))
    }

    /// Waits until the process has ended (gone, or a zombie: a PID 1 becomes one only after
    /// every other process of its namespace is gone), at most `limit`.
    fn wait_gone(&self, limit: Duration) -> io::Result<()> {
        let start = Instant::now();
        loop {
            match Self::state_and_start(self.pid) {
                None => return Ok(()),
                Some((state, start_time))
                    if state == 'Z' || state == 'X' || start_time != self.start_time =>
                {
                    return Ok(());
                }
                Some(_) if start.elapsed() > limit => {
                    return Err(io::Error::other(format!(
                        "process {} still runs {limit:?} after the command ended",
                        self.pid
                    )));
                }
                Some(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }
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
    Ok(created_work)
}

/// Refuses a bind whose target is not below `/work`.
fn check_bind_targets(sandbox: &Sandbox) -> Result<(), Error> {
    for bind in &sandbox.binds {
        if !bind.target.starts_with("/work/") || bind.target.contains("/../") {
            return Err(Error::Sandbox {
                command: String::new(),
                step: format!("bind target {} is not below /work", bind.target),
                source: io::Error::other("invalid bind target"),
            });
        }
    }
    Ok(())
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
