//! Against the real Debian archive (network): the Flashbox L1 package lists resolved by this
//! crate equal what apt selects for the same request on the same indexes.
//!
//! The mirror comes from the host's apt configuration, as in a build. Indexes are shared
//! through the user cache, so after the first run only the `InRelease` files are downloaded.
//! apt runs with its own configuration and state directories over a `file:` copy of exactly
//! the indexes this crate verified (the signed `InRelease` files as served and the
//! uncompressed `Packages` files), with an empty dpkg status, `Install-Recommends=false` and
//! the archive keyring; so both resolvers see the same bytes. Set `DEB_RESOLVER_OFFLINE=1` to
//! skip (the test says so on stderr).
//!
//! It also measures: `Packages` parse throughput, solve time, and the ratio to
//! `apt-get install --simulate` on the same indexes.

// These tests report measurements and explanations on stderr on purpose.
#![allow(clippy::print_stderr)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{Apt, apt_request, cache, load, offline, versions};
use config_model::PackageSpec;
use deb_resolver::solver::{Request, solve};
use deb_resolver::universe::{Origin, Universe};
use deb_resolver::{BaseSet, PackageSet};

/// Differences between two selections, one line each.
fn differences(ours: &BTreeMap<String, String>, apt: &BTreeMap<String, String>) -> Vec<String> {
    let mut diff = Vec::new();
    for (name, version) in ours {
        match apt.get(name) {
            None => diff.push(format!("only ours: {name} {version}")),
            Some(v) if v != version => diff.push(format!("{name}: ours {version}, apt {v}")),
            Some(_) => {}
        }
    }
    for (name, version) in apt {
        if !ours.contains_key(name) {
            diff.push(format!("only apt: {name} {version}"));
        }
    }
    diff
}

/// Differences with apt that are understood, with the reason. Empty: apt and this resolver
/// agree exactly on the Flashbox L1 lists.
const EXPLAINED: &[(&str, &str)] = &[];

#[test]
fn flashbox_l1_matches_apt_on_the_same_indexes() {
    if offline() {
        return;
    }
    let test_start = Instant::now();
    if cfg!(debug_assertions) {
        eprintln!(
            "(debug build: times below are not representative; see examples/bench_resolve.rs with --release)"
        );
    }
    let loaded = load();
    let universe = &loaded.archive.universe;
    let config = &loaded.config;

    // Image: Packages= plus the essential set.
    let archive = loaded.archive.clone();
    let start = Instant::now();
    let resolution =
        deb_resolver::resolve::resolve_loaded(config, &loaded.spec, archive, BaseSet::Essential)
            .unwrap();
    let solve_time = start.elapsed();
    let image = versions(universe, &resolution.image.packages);
    let build = versions(universe, &resolution.build.packages);
    let base: Vec<_> = resolution
        .image
        .roots
        .iter()
        .filter(|(_, reason)| *reason == deb_resolver::solver::RootReason::Base)
        .map(|(id, _)| *id)
        .collect();

    let apt = Apt::new(&loaded);
    let image_specs: Vec<&PackageSpec> = config.content.packages.iter().collect();
    let (apt_image, apt_image_time) = apt.simulate(&apt_request(universe, &base, &image_specs));
    // Build overlay: BuildPackages= installed on top of the image, as mkosi does it; apt sees
    // the image packages as installed.
    apt.set_installed(&loaded, &image);
    let build_specs: Vec<&PackageSpec> = config.content.build_packages.iter().collect();
    let mut build_request = apt_request(universe, &[], &build_specs);
    let (apt_build, apt_build_time) = match apt.try_simulate(&build_request) {
        Ok(result) => result,
        Err(failure) => {
            // apt 2.6 (bookworm's) does not carry `/trixie-backports` over to dependencies
            // that need it (its SetCandidateRelease leaves rustc's `libstd-rust-dev (= <bpo>)`
            // unsatisfied and the request fails). This resolver switches them, as the
            // request means; to compare the rest of the selection, apt is told the same
            // switched versions explicitly.
            eprintln!(
                "explained: apt alone cannot resolve the build request: {}",
                failure
                    .lines()
                    .filter(|l| l.contains("Depends"))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            let requested: Vec<&str> = build_specs.iter().map(|s| s.name.as_str()).collect();
            for (id, package) in resolution
                .build
                .packages
                .iter()
                .map(|&id| (id, universe.package(id)))
            {
                let name = universe.name(package.name);
                let suite = &universe.origin_of(id).suite;
                if universe.origin_of(id).priority < 500 && !requested.contains(&name) {
                    eprintln!("explained: naming switched dependency {name}/{suite} for apt");
                    build_request.push(format!("{name}/{suite}"));
                }
            }
            apt.simulate(&build_request)
        }
    };
    let mut apt_build = apt_build;
    apt_build.extend(image.iter().map(|(n, v)| (n.clone(), v.clone())));

    let mut unexplained = Vec::new();
    for (what, ours, theirs) in [("image", &image, &apt_image), ("build", &build, &apt_build)] {
        for line in differences(ours, theirs) {
            let explained = EXPLAINED.iter().find(|(name, _)| line.contains(name));
            match explained {
                Some((_, why)) => eprintln!("{what}: {line} (explained: {why})"),
                None => {
                    let why = line
                        .strip_prefix("only ours: ")
                        .and_then(|rest| rest.split_whitespace().next())
                        .and_then(|name| {
                            let set = if what == "image" {
                                PackageSet::Image
                            } else {
                                PackageSet::Build
                            };
                            resolution.why(name, set).ok()
                        })
                        .map(|why| format!("\n{why}"))
                        .unwrap_or_default();
                    unexplained.push(format!("{what}: {line}{why}"))
                }
            }
        }
    }
    eprintln!(
        "image: {} packages, build overlay: {} packages ({} build-only)",
        image.len(),
        build.len(),
        build.len() - image.len()
    );
    let ours = solve_time.as_secs_f64() * 1000.0;
    let theirs = (apt_image_time + apt_build_time).as_secs_f64() * 1000.0;
    eprintln!(
        "solve (image + build): {ours:.1} ms; apt-get install --simulate (image + build): {theirs:.1} ms; apt / ours = {:.1}x",
        theirs / ours
    );
    eprintln!(
        "archive load (InRelease fetch + verify, indexes from cache or network, parse): {:?}",
        loaded.load_time
    );
    eprintln!("network test time: {:?}", test_start.elapsed());
    assert!(
        unexplained.is_empty(),
        "differences with apt:\n{}",
        unexplained.join("\n")
    );

    // The lock of the same resolution round-trips and names every package once.
    let text = resolution.lock.to_toml();
    let lock = deb_resolver::Lock::from_toml(&text).unwrap();
    assert_eq!(lock.packages_in(PackageSet::Image).count(), image.len());
    assert_eq!(lock.packages.len(), build.len());
    let why = resolution.why("libc6", PackageSet::Image).unwrap();
    eprintln!("why libc6:\n{why}");
}

#[test]
fn packages_parse_throughput_and_solver_speed_against_apt() {
    if offline() {
        return;
    }
    let loaded = load();
    let cache = cache();
    // Parse throughput: every index of every suite, from the verified cache copies.
    let mut texts = Vec::new();
    for suite in &loaded.archive.suites {
        for (path, sha, size) in suite
            .indexes
            .iter()
            .filter(|(path, ..)| path.ends_with("Packages"))
        {
            let data = cache.read(sha, Some(*size)).unwrap().unwrap();
            texts.push((
                suite.suite.clone(),
                path.clone(),
                String::from_utf8(data).unwrap(),
            ));
        }
    }
    let bytes: usize = texts.iter().map(|(_, _, t)| t.len()).sum();
    let mut best = Duration::MAX;
    let mut universe = Universe::new("amd64");
    for _ in 0..3 {
        let start = Instant::now();
        universe = Universe::new("amd64");
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
        best = best.min(start.elapsed());
    }
    let mb = bytes as f64 / 1e6;
    eprintln!(
        "parse: {mb:.1} MB ({} packages) in {:.0} ms = {:.0} MB/s",
        universe.len(),
        best.as_secs_f64() * 1000.0,
        mb / best.as_secs_f64()
    );

    // Solve time for the image request alone, best of 5.
    let request = Request {
        packages: loaded.config.content.packages.clone(),
        base: BaseSet::Essential,
        ..Request::default()
    };
    let mut solve_best = Duration::MAX;
    let mut solution = None;
    for _ in 0..5 {
        let start = Instant::now();
        solution = Some(solve(&universe, &request, "image").unwrap());
        solve_best = solve_best.min(start.elapsed());
    }
    let solution = solution.unwrap();
    let base: Vec<_> = solution
        .roots
        .iter()
        .filter(|(_, reason)| *reason == deb_resolver::solver::RootReason::Base)
        .map(|(id, _)| *id)
        .collect();
    let apt = Apt::new(&loaded);
    let specs: Vec<&PackageSpec> = loaded.config.content.packages.iter().collect();
    let request_names = apt_request(&universe, &base, &specs);
    apt.simulate(&request_names); // warm: pkgcache.bin exists after the first run
    let mut apt_best = Duration::MAX;
    for _ in 0..3 {
        apt_best = apt_best.min(apt.simulate(&request_names).1);
    }
    let parse_and_solve = best + solve_best;
    eprintln!(
        "solve: {:.1} ms for {} packages; apt-get install --simulate: {:.0} ms; apt / solve = {:.0}x; apt / (parse + solve) = {:.1}x",
        solve_best.as_secs_f64() * 1000.0,
        solution.packages.len(),
        apt_best.as_secs_f64() * 1000.0,
        apt_best.as_secs_f64() / solve_best.as_secs_f64(),
        apt_best.as_secs_f64() / parse_and_solve.as_secs_f64()
    );
    assert!(
        apt_best.as_secs_f64() / solve_best.as_secs_f64() >= 5.0,
        "the solver should be at least 5x faster than apt"
    );
}
