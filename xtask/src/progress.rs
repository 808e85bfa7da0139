//! Progress on the terminal, drawn by indicatif: [`TerminalObserver`] hears image-builder's
//! stages and draws downloads (one line with bytes, rate, files done and the current file,
//! from deb-resolver's progress events) and long steps (the current step, its elapsed time
//! and the last line of the stage's logs).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deb_resolver::fetch::{Progress, TransferStats};
use image_builder::{Observer, Stage, StageReport};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Prints each stage as it starts, a spinner for stages with logs to follow, download
/// progress, notes and warnings, all on standard error.
#[derive(Default)]
pub(crate) struct TerminalObserver {
    downloads: TerminalProgress,
    spinner: Mutex<Option<StepSpinner>>,
}

impl TerminalObserver {
    /// Clears whatever is still drawn.
    pub(crate) fn finish(&self) {
        self.downloads.finish();
        if let Some(spinner) = self.spinner.lock().expect("spinner lock").take() {
            spinner.finish();
        }
    }
}

impl Observer for TerminalObserver {
    fn stage_started(&self, stage: Stage, logs: &[PathBuf]) {
        eprintln!("==> {}", stage.name());
        if matches!(stage, Stage::Resolve | Stage::Fetch) {
            self.downloads.begin();
        }
        if !logs.is_empty() {
            *self.spinner.lock().expect("spinner lock") = Some(StepSpinner::new(logs.to_vec()));
        }
    }

    fn step(&self, _stage: Stage, text: &str) {
        if let Some(spinner) = &*self.spinner.lock().expect("spinner lock") {
            spinner.step(text);
        }
    }

    fn stage_finished(&self, _report: &StageReport) {
        self.finish();
    }

    fn stage_failed(&self, _stage: Stage) {
        self.finish();
    }

    fn note(&self, text: &str) {
        eprintln!("  {text}");
    }

    fn warning(&self, text: &str) {
        eprintln!("warning: {text}");
    }

    fn downloads(&self) -> &dyn Progress {
        &self.downloads
    }
}

/// Renders deb-resolver's [`Progress`] events as a progress line on standard error. The bar's
/// position is the number of bytes downloaded, so indicatif computes the rate.
struct TerminalProgress {
    bar: ProgressBar,
    /// Bytes seen so far per item, to turn cumulative counts into increments.
    seen: Mutex<BTreeMap<String, u64>>,
    files_done: AtomicU64,
    from_cache: AtomicU64,
}

impl Default for TerminalProgress {
    /// Hidden until [`TerminalProgress::begin`].
    fn default() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template(
                "  {spinner} {bytes} downloaded, {binary_bytes_per_sec}; {msg}",
            )
            .expect("the template is valid"),
        );
        Self {
            bar,
            seen: Mutex::new(BTreeMap::new()),
            files_done: AtomicU64::new(0),
            from_cache: AtomicU64::new(0),
        }
    }
}

impl TerminalProgress {
    fn show(&self, item: &str) {
        self.bar.set_message(format!(
            "{} files ({} cached) {item}",
            self.files_done.load(Ordering::Relaxed),
            self.from_cache.load(Ordering::Relaxed)
        ));
    }

    /// Starts drawing on standard error.
    fn begin(&self) {
        self.bar.set_draw_target(ProgressDrawTarget::stderr());
        self.bar.enable_steady_tick(Duration::from_millis(200));
    }

    /// Clears the line once the phase is over; hidden until the next `begin`.
    fn finish(&self) {
        self.bar.disable_steady_tick();
        self.bar.finish_and_clear();
        self.bar.set_draw_target(ProgressDrawTarget::hidden());
        self.bar.reset();
    }
}

impl Progress for TerminalProgress {
    fn started(&self, item: &str, _total: Option<u64>) {
        self.show(item);
    }

    fn advanced(&self, item: &str, done: u64, _total: Option<u64>) {
        let previous = self
            .seen
            .lock()
            .expect("progress lock")
            .insert(item.to_owned(), done)
            .unwrap_or(0);
        self.bar.inc(done.saturating_sub(previous));
    }

    fn finished(&self, item: &str, stats: &TransferStats) {
        self.files_done.fetch_add(1, Ordering::Relaxed);
        if stats.from_cache {
            self.from_cache.fetch_add(1, Ordering::Relaxed);
        }
        self.show(item);
    }

    // `suspend`, not `println`: indicatif drops `println` lines while the bar is hidden (no
    // terminal), and these must reach a log too.
    fn retrying(&self, item: &str, attempt: u32, reason: &str) {
        self.bar
            .suspend(|| eprintln!("  retrying {item} (attempt {attempt}): {reason}"));
    }

    fn message(&self, text: &str) {
        self.bar.suspend(|| eprintln!("  {text}"));
    }
}

/// A spinner naming the current step of a long phase (package installation, a kernel build),
/// how long it has run and the last line of the most recently written of its logs.
struct StepSpinner {
    bar: ProgressBar,
    stop: Arc<AtomicBool>,
    tail: Option<std::thread::JoinHandle<()>>,
}

impl StepSpinner {
    /// Starts the spinner, following `logs` (which may not exist yet).
    fn new(logs: Vec<PathBuf>) -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("  {spinner} {prefix} ({elapsed}) {wide_msg}")
                .expect("the template is valid"),
        );
        bar.enable_steady_tick(Duration::from_millis(500));
        let stop = Arc::new(AtomicBool::new(false));
        let tail = {
            let (bar, stop) = (bar.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(line) = newest(&logs).and_then(last_line) {
                        bar.set_message(line);
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            })
        };
        Self {
            bar,
            stop,
            tail: Some(tail),
        }
    }

    /// Shows `step`, keeping the previous step's line with its time.
    fn step(&self, step: &str) {
        self.print_done();
        self.bar.reset_elapsed();
        self.bar.set_prefix(step.to_owned());
    }

    /// Clears the line.
    fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(tail) = self.tail.take() {
            let _ = tail.join();
        }
        self.print_done();
        self.bar.finish_and_clear();
    }

    fn print_done(&self) {
        if !self.bar.prefix().is_empty() {
            self.bar.println(format!(
                "  {} ({}s)",
                self.bar.prefix(),
                self.bar.elapsed().as_secs()
            ));
        }
    }
}

/// The most recently modified of `paths` that exists.
fn newest(paths: &[PathBuf]) -> Option<&Path> {
    paths
        .iter()
        .filter_map(|path| Some((std::fs::metadata(path).ok()?.modified().ok()?, path)))
        .max()
        .map(|(_, path)| path.as_path())
}

/// The last non-empty line of the file's last 4 KiB, trimmed.
fn last_line(path: &Path) -> Option<String> {
    let mut file = File::open(path).ok()?;
    let length = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(length.saturating_sub(4096)))
        .ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ok()?;
    String::from_utf8_lossy(&tail)
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .map(str::to_owned)
}
