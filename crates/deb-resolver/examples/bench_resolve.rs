//! Measures this resolver against apt on the same verified indexes (network, shared cache):
//! `Packages` parse throughput, solve time, and `apt-get install --simulate` time.
//!
//! ```sh
//! cargo run --release -p deb-resolver --example bench_resolve -- <mkosi tree> <include.conf>
//! ```
#![allow(clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use config_model::PackageSpec;
use deb_resolver::BaseSet;
use deb_resolver::solver::{Request, RootReason, solve};
use deb_resolver::universe::{Origin, Universe};

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        last = Some(value);
    }
    (best, last.expect("at least one run"))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let directory = PathBuf::from(
        args.next()
            .expect("usage: bench_resolve <mkosi tree> <include.conf>"),
    );
    let include = args
        .next()
        .expect("usage: bench_resolve <mkosi tree> <include.conf>");
    let loaded = common::load_config(common::config_from(&directory, &include));
    println!(
        "archive load (3 InRelease fetched and verified, indexes read from the cache and hash-checked, parsed): {:.0} ms",
        loaded.load_time.as_secs_f64() * 1e3
    );
    let cache = common::cache();
    let mut texts = Vec::new();
    for suite in &loaded.archive.suites {
        for (path, sha, size) in suite
            .indexes
            .iter()
            .filter(|(p, ..)| p.ends_with("Packages"))
        {
            let data = cache.read(sha, Some(*size)).unwrap().expect("cached index");
            texts.push((
                suite.suite.clone(),
                path.clone(),
                String::from_utf8(data).unwrap(),
            ));
        }
    }
    let bytes: usize = texts.iter().map(|(_, _, t)| t.len()).sum();
    let (parse, universe) = best_of(5, || {
        let mut universe = Universe::new(&loaded.spec.architecture);
        for (suite, path, text) in &texts {
            let origin = universe.add_origin(Origin {
                suite: suite.clone(),
                component: path.split('/').next().unwrap().to_owned(),
                priority: if suite.ends_with("-backports") {
                    100
                } else {
                    500
                },
            });
            universe.add_packages_index(text, origin).unwrap();
        }
        universe
    });
    let mb = bytes as f64 / 1e6;
    if std::env::var_os("BENCH_DETAIL").is_some() {
        let (scan, fields) = best_of(5, || {
            texts
                .iter()
                .map(|(_, _, t)| {
                    deb_resolver::control::paragraphs(t)
                        .map(|p| p.unwrap().fields.len())
                        .sum::<usize>()
                })
                .sum::<usize>()
        });
        println!(
            "scan only: {fields} fields in {:.0} ms",
            scan.as_secs_f64() * 1e3
        );
        let (rel, n) = best_of(5, || {
            let mut n = 0;
            for (_, _, t) in &texts {
                for p in deb_resolver::control::paragraphs(t) {
                    let p = p.unwrap();
                    for f in ["Depends", "Pre-Depends", "Recommends"] {
                        if let Some(v) = p.get(f) {
                            n += deb_resolver::relation::parse_relations(v).unwrap().len();
                        }
                    }
                }
            }
            n
        });
        println!(
            "scan + relations: {n} groups in {:.0} ms",
            rel.as_secs_f64() * 1e3
        );
    }
    println!(
        "parse: {mb:.1} MB, {} packages, {:.0} ms, {:.0} MB/s",
        universe.len(),
        parse.as_secs_f64() * 1e3,
        mb / parse.as_secs_f64()
    );
    if std::env::var_os("BENCH_PARSE_ONLY").is_some() {
        return;
    }
    let request = Request {
        packages: loaded.config.content.packages.clone(),
        base: BaseSet::Essential,
        ..Request::default()
    };
    let (solve_time, solution) = best_of(10, || solve(&universe, &request, "image").unwrap());
    println!(
        "solve (image, {} packages): {:.1} ms",
        solution.packages.len(),
        solve_time.as_secs_f64() * 1e3
    );
    let base: Vec<_> = solution
        .roots
        .iter()
        .filter(|(_, reason)| *reason == RootReason::Base)
        .map(|(id, _)| *id)
        .collect();
    let specs: Vec<&PackageSpec> = loaded.config.content.packages.iter().collect();
    let apt = common::Apt::new(&loaded);
    let names = common::apt_request(&universe, &base, &specs);
    apt.simulate(&names);
    let (apt_time, _) = best_of(5, || apt.simulate(&names));
    println!(
        "apt-get install --simulate (same request, same indexes, warm cache): {:.0} ms",
        apt_time.as_secs_f64() * 1e3
    );
    println!(
        "apt / solve: {:.0}x; apt / (parse + solve): {:.1}x",
        apt_time.as_secs_f64() / solve_time.as_secs_f64(),
        apt_time.as_secs_f64() / (parse + solve_time).as_secs_f64()
    );
}
