//! `cargo xtask`: the workspace's task runner.
//!
//! It holds wiring only: argument parsing, calling the crates in pipeline order, and printing.
//! Anything that is more than wiring belongs in one of the crates under `crates/`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod summary;
mod test;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Tasks for building and checking Flashbox images.
#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what the tests need (when missing), then run fmt, clippy, cargo-deny and every test.
    Test,
    /// Print the resolved configuration of an image definition.
    Summary(summary::SummaryArgs),
    /// Measure speed as ratios against a baseline run side by side.
    #[command(subcommand)]
    Bench(bench::Bench),
}

fn main() -> Result<()> {
    match Cli::parse().task {
        Task::Test => test::run(),
        Task::Summary(args) => summary::run(&args),
        Task::Bench(bench) => bench::run(&bench),
    }
}

/// The workspace root: xtask lives one level below it.
fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}
