//! The phase table printed at the end of a build: each stage, its wall time, its detail.

use image_builder::StageReport;

/// The table: stage, wall time, detail, and the total.
pub(crate) fn table(stages: &[StageReport]) -> String {
    let width = stages
        .iter()
        .map(|s| s.stage.name().len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!("{:<width$}  {:>9}  detail\n", "phase", "time");
    let mut total = std::time::Duration::ZERO;
    for stage in stages {
        total += stage.took;
        out += &format!(
            "{:<width$}  {:>8.1}s  {}\n",
            stage.stage.name(),
            stage.took.as_secs_f64(),
            stage.detail
        );
    }
    out += &format!("{:<width$}  {:>8.1}s\n", "total", total.as_secs_f64());
    out
}
