//! The stages of a build, in pipeline order, and the observer that hears about them.
//!
//! The library decides and does; a front end (a terminal, a daemon, a test) only watches.
//! [`Observer`] is how it watches: a stage starts (with the logs its long commands write, for
//! a spinner that follows them), reports steps, and finishes with a [`StageReport`]; notes and
//! warnings arrive as text; downloads report through deb-resolver's [`Progress`].

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use deb_resolver::fetch::{NoProgress, Progress};

use crate::error::Error;

/// One stage of [`crate::build`], in the order they run. Stages a build does not need
/// (the build tree without build scripts, disks without a cloud profile) are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Reading the mkosi tree.
    Configure,
    /// The definition's sync scripts (`SyncScripts=`), before anything is built.
    Sync,
    /// Reusing the lock, or resolving afresh.
    Resolve,
    /// Downloading and verifying every locked `.deb`.
    Fetch,
    /// The build tree: image packages plus `BuildPackages=`.
    BuildTree,
    /// The kernel from `linux-source-X.Y`, in the build tree.
    KernelBuild,
    /// The definition's build scripts, in the build tree.
    BuildScripts,
    /// The image root.
    Assemble,
    /// Finding the kernel the image carries (a Debian package).
    Kernel,
    /// The initrd: the whole root as one compressed cpio.
    Initrd,
    /// The UKI.
    Uki,
    /// The image root published as a directory (`Format=directory`).
    Directory,
    /// The image root as a zstd-compressed tar archive (`Format=tar`).
    Tar,
    /// A system extension image (`Format=sysext`): EROFS, dm-verity, signature, GPT.
    Extension,
    /// The cloud disks of the gcp/azure profiles.
    Disks,
    /// The predicted TPM and TDX measurements of booting the UKI and disk.
    Measure,
    /// The definition's post-output scripts (`PostOutputScripts=`), on the staged outputs.
    PostOutput,
    /// The manifest next to the UKI.
    Manifest,
}

impl Stage {
    /// The stage's name, as the phase table prints it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Configure => "configure",
            Self::Sync => "sync",
            Self::Resolve => "resolve",
            Self::Fetch => "fetch",
            Self::BuildTree => "build tree",
            Self::KernelBuild => "kernel build",
            Self::BuildScripts => "build scripts",
            Self::Assemble => "assemble",
            Self::Kernel => "kernel",
            Self::Initrd => "initrd",
            Self::Uki => "uki",
            Self::Directory => "directory",
            Self::Tar => "tar",
            Self::Extension => "sysext",
            Self::Disks => "disk",
            Self::Measure => "measure",
            Self::PostOutput => "postoutput",
            Self::Manifest => "manifest",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let doing = match self {
            Self::Configure => "reading the image definition",
            Self::Sync => "running the sync scripts",
            Self::Resolve => "resolving the packages",
            Self::Fetch => "fetching the packages",
            Self::BuildTree => "assembling the build tree",
            Self::KernelBuild => "building the kernel from source",
            Self::BuildScripts => "running the build scripts",
            Self::Assemble => "assembling the image root",
            Self::Kernel => "finding the image's kernel",
            Self::Initrd => "writing the initrd",
            Self::Uki => "stitching the UKI",
            Self::Directory => "publishing the image directory",
            Self::Tar => "writing the tar archive",
            Self::Extension => "writing the system extension image",
            Self::Disks => "writing the disk images",
            Self::Measure => "predicting the measurements",
            Self::PostOutput => "running the post-output scripts",
            Self::Manifest => "writing the manifest",
        };
        f.write_str(doing)
    }
}

/// How one finished stage went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageReport {
    /// The stage.
    pub stage: Stage,
    /// Its wall time.
    pub took: Duration,
    /// One line for people: sizes, counts, whether a cache served it.
    pub detail: String,
}

/// Watches a build. Every method has an empty default; [`Silent`] watches nothing.
pub trait Observer: Sync {
    /// `stage` starts; its long-running commands write `logs` (which may not exist yet).
    fn stage_started(&self, _stage: Stage, _logs: &[PathBuf]) {}
    /// The current step of a long stage (`121 packages, then the scripts`, `make bzImage`).
    fn step(&self, _stage: Stage, _text: &str) {}
    /// A stage finished.
    fn stage_finished(&self, _report: &StageReport) {}
    /// A stage failed; the error follows as the build's result.
    fn stage_failed(&self, _stage: Stage) {}
    /// Something worth saying that changes nothing (the kernel series a source build uses).
    fn note(&self, _text: &str) {}
    /// Something the user should look at (a loader diagnostic, a setting not followed).
    fn warning(&self, _text: &str) {}
    /// Where download progress goes.
    fn downloads(&self) -> &dyn Progress {
        &NoProgress
    }
}

/// An [`Observer`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {}

/// Runs stages, timing each and telling the observer; keeps the reports in order.
pub(crate) struct StageRunner<'a> {
    observer: &'a dyn Observer,
    pub(crate) reports: Vec<StageReport>,
}

impl<'a> StageRunner<'a> {
    pub(crate) fn new(observer: &'a dyn Observer) -> Self {
        Self {
            observer,
            reports: Vec::new(),
        }
    }

    /// Runs `body` as `stage`; it returns its value and the report's detail line.
    pub(crate) fn run<T>(
        &mut self,
        stage: Stage,
        logs: &[PathBuf],
        body: impl FnOnce(&dyn Observer) -> Result<(T, String), Error>,
    ) -> Result<T, Error> {
        self.observer.stage_started(stage, logs);
        let started = std::time::Instant::now();
        match body(self.observer) {
            Ok((value, detail)) => {
                let report = StageReport {
                    stage,
                    took: started.elapsed(),
                    detail,
                };
                self.observer.stage_finished(&report);
                self.reports.push(report);
                Ok(value)
            }
            Err(error) => {
                self.observer.stage_failed(stage);
                Err(error)
            }
        }
    }
}

/// A byte count for people: `12.3 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_read_well() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }

    #[test]
    fn a_failed_stage_is_not_reported_as_finished() {
        #[derive(Default)]
        struct Record(std::sync::Mutex<Vec<String>>);
        impl Observer for Record {
            fn stage_started(&self, stage: Stage, _: &[PathBuf]) {
                self.0
                    .lock()
                    .unwrap()
                    .push(format!("start {}", stage.name()));
            }
            fn stage_finished(&self, report: &StageReport) {
                self.0
                    .lock()
                    .unwrap()
                    .push(format!("done {}", report.detail));
            }
            fn stage_failed(&self, stage: Stage) {
                self.0
                    .lock()
                    .unwrap()
                    .push(format!("failed {}", stage.name()));
            }
        }
        let record = Record::default();
        let mut runner = StageRunner::new(&record);
        runner
            .run(Stage::Fetch, &[], |_| Ok(((), "3 packages".into())))
            .unwrap();
        runner
            .run(Stage::Uki, &[], |_| {
                Err::<((), String), _>(Error::NoFixedSeed)
            })
            .unwrap_err();
        assert_eq!(
            *record.0.lock().unwrap(),
            ["start fetch", "done 3 packages", "start uki", "failed uki"]
        );
        assert_eq!(runner.reports.len(), 1);
    }
}
