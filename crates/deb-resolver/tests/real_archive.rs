//! Against the real Debian archive (network): the Flashbox L1 package lists resolved by this
//! crate equal what apt selects for the same request on the same indexes.
//!
//! The mirror comes from the host's apt configuration, as in a build. Indexes are shared
//! through the user cache, so after the first run only the `InRelease` files are downloaded.
//! apt runs with its own configuration and state directories over a `file:` copy of exactly
//! the indexes this crate verified (the signed `InRelease` files as served and the
//! uncompressed `Packages` files), with an empty dpkg status, `Install-Recommends=false` and
//! the archive keyring; so both resolvers see the same bytes. The tests need the mirror and
//! fail when it cannot be reached.
//!
//! apt is never told our answer: each side resolves the same request on its own, and every
//! known difference is listed with its reason ([`EXPLAINED`], [`APT_CANNOT_RESOLVE`]) and
//! checked to still be one.
//!
//! It also measures, with [`deb_resolver::compare::bench_resolve`] (as `cargo xtask bench
//! resolve` does): `Packages` parse throughput, solve time, and the ratio to `apt-get install
//! --simulate` on the same indexes.

// These tests report measurements and explanations on stderr on purpose.
#![allow(clippy::print_stderr)]

mod common;

use std::time::Instant;

use common::{Apt, cache, load};
use config_model::value::PackagePin;
use deb_resolver::compare::{
    apt_request, base_packages, bench_resolve, cached_indexes, differences, versions,
};
use deb_resolver::{BaseSet, PackageSet};

/// Differences with apt that are understood, with the reason. Empty: apt and this resolver
/// agree exactly on the Flashbox L1 lists.
const EXPLAINED: &[(&str, &str)] = &[];

/// Requests bookworm's apt (2.6) cannot resolve at all, with the reason, and the word its
/// failure names. A `name/suite` request is kept to its suite by apt's
/// `SetCandidateRelease`, but the dependencies that must come from the same suite are not:
/// `rustc/trixie-backports` needs `libstd-rust-dev (= <the backports version>)`, which apt
/// then looks for in trixie and fails. This resolver follows the request as meant (the
/// dependency switches suite). The test checks that apt still fails this way (so the entry
/// is dropped when apt learns it), then compares both on the request without the pinned
/// packages.
const APT_CANNOT_RESOLVE: (&str, &str) = (
    "Depends",
    "apt 2.6 does not carry a /suite pin to the dependencies that need the same suite",
);

#[test]
fn flashbox_l1_matches_apt_on_the_same_indexes() {
    let test_start = Instant::now();
    if cfg!(debug_assertions) {
        eprintln!(
            "(debug build: times below are not representative; see `cargo xtask bench resolve`)"
        );
    }
    let loaded = load();
    let universe = &loaded.archive.universe;
    let config = &loaded.config;

    // Image: Packages= plus the essential set.
    let archive = loaded.archive.clone();
    let start = Instant::now();
    let resolution = deb_resolver::resolve::resolve_loaded(
        config,
        &loaded.spec,
        archive,
        BaseSet::Essential,
        &[],
    )
    .unwrap();
    let solve_time = start.elapsed();
    let image = versions(universe, &resolution.image.packages);
    let build = versions(universe, &resolution.build.packages);
    let base = base_packages(&resolution.image);

    let apt = Apt::new(&loaded);
    let mirror = &apt.mirror;
    let simulate = |request: &[String]| {
        let simulation = mirror
            .simulate(request, false)
            .unwrap_or_else(|e| panic!("{e}"));
        (simulation.selected, simulation.elapsed)
    };
    let (apt_image, apt_image_time) =
        simulate(&apt_request(universe, &base, &config.content.packages));
    // Build overlay: BuildPackages= installed on top of the image, as mkosi does it; apt sees
    // the image packages as installed.
    let indexes = cached_indexes(&loaded.archive, &cache()).unwrap();
    mirror.set_installed(&indexes, &image).unwrap();
    let build_specs = &config.content.build_packages;
    let (build_compared, apt_build, apt_build_time) = match mirror
        .simulate(&apt_request(universe, &[], build_specs), false)
    {
        Ok(simulation) => (build.clone(), simulation.selected, simulation.elapsed),
        Err(failure) => {
            // The known failure, and only it; then both resolve the request without the
            // suite-pinned packages.
            let (word, why) = APT_CANNOT_RESOLVE;
            let pinned: Vec<&str> = build_specs
                .iter()
                .filter(|spec| matches!(spec.pin, Some(PackagePin::Suite(_))))
                .map(|spec| spec.name.as_str())
                .collect();
            assert!(
                !pinned.is_empty() && failure.to_string().contains(word),
                "apt cannot resolve the build request, and not for the known reason ({why}):\n{failure}"
            );
            eprintln!(
                "explained: apt cannot resolve the build request ({why}); both resolve it \
                 without {pinned:?}"
            );
            let mut reduced = config.clone();
            reduced
                .content
                .build_packages
                .retain(|spec| !pinned.contains(&spec.name.as_str()));
            let ours = deb_resolver::resolve::resolve_loaded(
                &reduced,
                &loaded.spec,
                loaded.archive.clone(),
                BaseSet::Essential,
                &[],
            )
            .unwrap();
            let simulation = mirror
                .simulate(
                    &apt_request(universe, &[], &reduced.content.build_packages),
                    false,
                )
                .unwrap_or_else(|e| panic!("{e}"));
            (
                versions(universe, &ours.build.packages),
                simulation.selected,
                simulation.elapsed,
            )
        }
    };
    let mut apt_build = apt_build;
    apt_build.extend(image.iter().map(|(n, v)| (n.clone(), v.clone())));

    let mut unexplained = Vec::new();
    for (what, ours, theirs) in [
        ("image", &image, &apt_image),
        ("build", &build_compared, &apt_build),
    ] {
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
    let loaded = load();
    let apt_dir = tempfile::tempdir().unwrap();
    let bench = bench_resolve(
        &loaded.config,
        &loaded.spec,
        &loaded.archive,
        &cache(),
        BaseSet::Essential,
        apt_dir.path(),
        3,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "parse: {:.1} MB ({} packages) in {:.0} ms = {:.0} MB/s",
        bench.index_bytes as f64 / 1e6,
        bench.universe_packages,
        bench.parse.as_secs_f64() * 1000.0,
        bench.parse_mb_per_s()
    );
    eprintln!(
        "solve: {:.1} ms for {} packages; apt-get install --simulate: {:.0} ms; apt / solve = {:.0}x; apt / (parse + solve) = {:.1}x",
        bench.solve.as_secs_f64() * 1000.0,
        bench.selected,
        bench.apt.as_secs_f64() * 1000.0,
        bench.apt_over_solve(),
        bench.apt_over_parse_and_solve()
    );
    // Speed is reported, never asserted here (`cargo xtask bench resolve` measures it).
    assert!(
        bench.differences.is_empty(),
        "differences with apt:\n{}",
        bench.differences.join("\n")
    );
}
