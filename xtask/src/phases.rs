//! Timing the phases of a long task and printing them as a table at the end.

use std::time::{Duration, Instant};

/// One finished phase.
struct Phase {
    name: &'static str,
    took: Duration,
    detail: String,
}

/// The phases of one run, in order.
#[derive(Default)]
pub struct Phases {
    done: Vec<Phase>,
}

impl Phases {
    /// Runs `body` as the phase `name`, announcing it, and records its wall time and the detail
    /// it returns (a size, a count, "cached", ...).
    pub fn run<T>(
        &mut self,
        name: &'static str,
        body: impl FnOnce() -> anyhow::Result<(T, String)>,
    ) -> anyhow::Result<T> {
        eprintln!("==> {name}");
        let start = Instant::now();
        let (value, detail) = body()?;
        self.done.push(Phase {
            name,
            took: start.elapsed(),
            detail,
        });
        Ok(value)
    }

    /// The table: phase, wall time, detail, and the total.
    pub fn table(&self) -> String {
        let width = self
            .done
            .iter()
            .map(|p| p.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let mut out = format!("{:<width$}  {:>9}  detail\n", "phase", "time");
        let mut total = Duration::ZERO;
        for phase in &self.done {
            total += phase.took;
            out += &format!(
                "{:<width$}  {:>8.1}s  {}\n",
                phase.name,
                phase.took.as_secs_f64(),
                phase.detail
            );
        }
        out += &format!("{:<width$}  {:>8.1}s\n", "total", total.as_secs_f64());
        out
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
