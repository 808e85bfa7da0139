//! Progress on the terminal, drawn by indicatif: downloads (one line with bytes, rate, files
//! done and the current file, from deb-resolver's progress events) and long steps (the
//! current step and its elapsed time).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use deb_resolver::fetch::{Progress, TransferStats};
use indicatif::{ProgressBar, ProgressStyle};

/// Renders deb-resolver's [`Progress`] events as a progress line on standard error. The bar's
/// position is the number of bytes downloaded, so indicatif computes the rate.
pub struct TerminalProgress {
    bar: ProgressBar,
    /// Bytes seen so far per item, to turn cumulative counts into increments.
    seen: Mutex<BTreeMap<String, u64>>,
    files_done: AtomicU64,
    from_cache: AtomicU64,
}

impl Default for TerminalProgress {
    fn default() -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template(
                "  {spinner} {bytes} downloaded, {binary_bytes_per_sec}; {msg}",
            )
            .expect("the template is valid"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
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

    /// Clears the line once the phase is over.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
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

    fn retrying(&self, item: &str, attempt: u32, reason: &str) {
        self.bar
            .println(format!("  retrying {item} (attempt {attempt}): {reason}"));
    }

    fn message(&self, text: &str) {
        self.bar.println(format!("  {text}"));
    }
}

/// A spinner naming the current step of a long phase (a kernel build) and how long it has run.
pub struct StepSpinner {
    bar: ProgressBar,
}

impl StepSpinner {
    /// Starts the spinner.
    pub fn new() -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("  {spinner} {msg} ({elapsed})")
                .expect("the template is valid"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(500));
        Self { bar }
    }

    /// Shows `step`, keeping the previous step's line with its time.
    pub fn step(&self, step: &str) {
        self.print_done();
        self.bar.reset_elapsed();
        self.bar.set_message(step.to_owned());
    }

    /// Clears the line.
    pub fn finish(&self) {
        self.print_done();
        self.bar.finish_and_clear();
    }

    fn print_done(&self) {
        if !self.bar.message().is_empty() {
            self.bar.println(format!(
                "  {} ({}s)",
                self.bar.message(),
                self.bar.elapsed().as_secs()
            ));
        }
    }
}
