//! Fuzzes deb-resolver's pure text parsers with one input: deb822 paragraphs (and the relation
//! fields and versions in them), a `Packages` index read into a `Universe`, a Release file,
//! apt sources, a lock file (whose TOML must round-trip), and the cleartext-signature framing
//! of an `InRelease`. Any panic is a bug; errors are expected.

#![no_main]

use build_vocab::debian::deb822::paragraphs;
use build_vocab::debian::relation::{parse_relation_list, parse_relations};
use deb_resolver::archive::mirror_from_apt_sources;
use deb_resolver::release::{Release, parse_date};
use deb_resolver::signature::unverified_text;
use deb_resolver::universe::{Origin, Universe};
use deb_resolver::{DebVersion, Lock};
use libfuzzer_sys::fuzz_target;

const RELATION_FIELDS: &[&str] = &["Depends", "Pre-Depends", "Recommends", "Suggests"];
const LIST_FIELDS: &[&str] = &["Conflicts", "Breaks", "Provides", "Replaces"];

fuzz_target!(|data: &[u8]| {
    let _ = unverified_text(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    // deb822, field by field, as the universe and the local-.deb reader use it.
    for paragraph in paragraphs(text) {
        let Ok(paragraph) = paragraph else {
            break;
        };
        for field in &paragraph.fields {
            assert!(paragraph.get(field.name).is_some());
            let _ = paragraph.line_of(field.name);
        }
        if let Some(version) = paragraph.get("Version") {
            let _ = DebVersion::parse(version);
        }
        for name in RELATION_FIELDS {
            if let Some(Ok(groups)) = paragraph.get(name).map(parse_relations) {
                for relation in groups.iter().flatten() {
                    if let Some((_, version)) = relation.constraint {
                        let _ = DebVersion::parse(version);
                    }
                }
            }
        }
        for name in LIST_FIELDS {
            if let Some(value) = paragraph.get(name) {
                let _ = parse_relation_list(value);
            }
        }
    }

    // A Packages index into a universe, then every package described and its relations
    // checked against every package (small inputs only: quadratic).
    let mut universe = Universe::new("amd64");
    let origin = universe.add_origin(Origin {
        suite: "trixie".into(),
        component: "main".into(),
        priority: 500,
    });
    if universe.add_packages_index(text, origin).is_ok() && universe.len() <= 16 {
        for (id, package) in universe.packages() {
            let _ = universe.describe(id);
            let deps: Vec<_> = package
                .pre_depends()
                .chain(package.depends())
                .chain(package.recommends())
                .flatten()
                .chain(package.conflicts())
                .chain(package.breaks())
                .collect();
            for dep in deps {
                let _ = universe.display_dep(dep).to_string();
                for (other, _) in universe.packages() {
                    let _ = universe.satisfies(other, dep, false);
                    let _ = universe.satisfies(other, dep, true);
                }
            }
        }
    }

    // A Release file.
    if let Ok(release) = Release::parse(text) {
        let _ = release.describes("trixie");
        let _ = release.default_priority();
        let _ = release.check_fresh(0);
        let _ = release.index("main/binary-amd64/Packages");
        for date in [&release.date, &release.valid_until].into_iter().flatten() {
            let _ = parse_date(date);
        }
    }
    let _ = parse_date(text);

    // apt sources, one-line and deb822.
    let _ = mirror_from_apt_sources(&[
        ("sources.list".to_owned(), text.to_owned()),
        ("debian.sources".to_owned(), text.to_owned()),
    ]);

    // A lock: what reads back must write the same lock again.
    if let Ok(lock) = Lock::from_toml(text) {
        let written = lock.to_toml();
        let again = Lock::from_toml(&written).expect("a written lock reads back");
        assert_eq!(again, lock);
        assert_eq!(again.to_toml(), written);
        assert!(lock.check_against(&lock.request).is_empty());
        assert!(lock.diff(&lock).is_empty());
    }
});
