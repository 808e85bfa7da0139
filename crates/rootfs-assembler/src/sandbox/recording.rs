//! A [`CommandRunner`] that runs nothing: it records each command with its sandbox and answers
//! with what the test's responder does (write the files the real command would have written,
//! or fail as it would have). With it, what install, scripts and assembly decide to run is
//! tested without root and without a target system.

use std::sync::Mutex;

use super::{CommandRunner, Sandbox, SandboxCommand};
use crate::error::Error;

/// One recorded command.
#[derive(Debug, Clone)]
pub struct RecordedRun {
    /// The sandbox it would have run in.
    pub sandbox: Sandbox,
    /// The command.
    pub command: SandboxCommand,
}

impl RecordedRun {
    /// The program and its arguments, as text (`/usr/bin/dpkg --unpack /work/debs/0000.deb`).
    pub fn command_line(&self) -> String {
        self.command.display()
    }
}

/// A [`CommandRunner`] that records and calls `respond` instead of running.
pub struct RecordingRunner<F> {
    respond: F,
    runs: Mutex<Vec<RecordedRun>>,
}

impl<F> std::fmt::Debug for RecordingRunner<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingRunner")
            .field("runs", &self.runs)
            .finish_non_exhaustive()
    }
}

impl<F> RecordingRunner<F>
where
    F: Fn(&Sandbox, &SandboxCommand) -> Result<(), Error> + Sync,
{
    /// A runner answering every command with `respond`.
    pub fn new(respond: F) -> Self {
        Self {
            respond,
            runs: Mutex::new(Vec::new()),
        }
    }

    /// Every command so far, in order.
    pub fn runs(&self) -> Vec<RecordedRun> {
        self.runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl<F> CommandRunner for RecordingRunner<F>
where
    F: Fn(&Sandbox, &SandboxCommand) -> Result<(), Error> + Sync,
{
    fn preflight(&self, _action: &'static str) -> Result<(), Error> {
        Ok(())
    }

    fn run(&self, sandbox: &Sandbox, command: &SandboxCommand) -> Result<(), Error> {
        self.runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(RecordedRun {
                sandbox: sandbox.clone(),
                command: command.clone(),
            });
        (self.respond)(sandbox, command)
    }
}
