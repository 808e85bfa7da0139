//! mkosi's configuration semantics, one rule per test, on small trees written by each test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use config_model::{
    ConfigError, DiagnosticKind, Distribution, Host, ImageConfig, LoadOptions, Loaded, Override,
    PackagePin, load, load_images,
};
use tempfile::TempDir;

/// A mkosi tree on disk. `files` are `(relative path, contents)`; a path ending in `/` is an
/// empty directory; contents starting with `#!` make an executable script.
struct TestTree {
    dir: TempDir,
}

impl TestTree {
    fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (path, contents) in files {
            let full = dir.path().join(path);
            if path.ends_with('/') {
                std::fs::create_dir_all(&full).unwrap();
                continue;
            }
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, contents).unwrap();
            if contents.starts_with("#!") {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&full, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        Self { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root().join(relative)
    }

    fn load(&self, includes: &[&str], overrides: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
        load(&LoadOptions {
            directory: self.root(),
            includes: includes.iter().map(PathBuf::from).collect(),
            overrides: overrides.iter().map(|(k, v)| Override::new(k, v)).collect(),
            host: host(),
        })
    }

    fn images(
        &self,
        overrides: &[(&str, &str)],
    ) -> Result<Vec<config_model::LoadedImage>, ConfigError> {
        load_images(&LoadOptions {
            directory: self.root(),
            includes: Vec::new(),
            overrides: overrides.iter().map(|(k, v)| Override::new(k, v)).collect(),
            host: host(),
        })
    }

    fn config(&self, includes: &[&str], overrides: &[(&str, &str)]) -> ImageConfig {
        self.load(includes, overrides).unwrap().config
    }

    /// The error message with the tree's root replaced by `ROOT`.
    fn error(&self, includes: &[&str], overrides: &[(&str, &str)]) -> String {
        let err = self.load(includes, overrides).unwrap_err().to_string();
        err.replace(&self.root().display().to_string(), "ROOT")
    }
}

fn host() -> Host {
    Host {
        distribution: Some(Distribution::Debian),
        release: Some("bookworm".into()),
        architecture: Some(config_model::Architecture::X86_64),
        systemd_version: Some("252".into()),
        environment: BTreeMap::from([
            ("HOME".to_owned(), "/home/builder".to_owned()),
            ("PASSED".to_owned(), "from-host".to_owned()),
        ]),
    }
}

fn names(specs: &[config_model::PackageSpec]) -> Vec<String> {
    specs.iter().map(ToString::to_string).collect()
}

#[test]
fn continuation_lines_append_and_empty_assignment_resets() {
    let tree = TestTree::new(&[(
        "mkosi.conf",
        "[Content]\nPackages=zsh\n  vim, curl\nPackages=\nPackages=kmod\n    udev # trailing comment\nPackages=bash\n",
    )]);
    let config = tree.config(&[], &[]);
    // Reset by `Packages=`, then appended; kept sorted as mkosi keeps package lists.
    assert_eq!(names(&config.content.packages), ["bash", "kmod", "udev"]);
}

#[test]
fn single_values_override_and_empty_resets_to_default() {
    let tree = TestTree::new(&[
        ("mkosi.conf", "[Output]\nImageId=first\nImageVersion=1\n"),
        (
            "mkosi.conf.d/10.conf",
            "[Output]\nImageId=second\nImageVersion=\n",
        ),
    ]);
    let config = tree.config(&[], &[]);
    assert_eq!(config.output.image_id.as_deref(), Some("second"));
    assert_eq!(config.output.image_version, None);
}

#[test]
fn command_line_wins_for_single_values_and_appends_to_lists() {
    let tree = TestTree::new(&[(
        "mkosi.conf",
        "[Output]\nImageId=from-file\n[Content]\nPackages=b\nKernelCommandLine=quiet\n",
    )]);
    let config = tree.config(
        &[],
        &[
            ("ImageId", "from-cli"),
            ("Packages", "a"),
            ("KernelCommandLine", "console=ttyS0,115200"),
        ],
    );
    assert_eq!(config.output.image_id.as_deref(), Some("from-cli"));
    // Command-line values come after the files' values and are not re-sorted.
    assert_eq!(names(&config.content.packages), ["b", "a"]);
    assert_eq!(
        config.content.kernel_command_line,
        ["quiet", "console=ttyS0,115200"]
    );
    // An empty command-line value discards the files' values.
    let config = tree.config(&[], &[("Packages", ""), ("Packages", "c")]);
    assert_eq!(names(&config.content.packages), ["c"]);
}

#[test]
fn booleans_and_typed_values() {
    let tree = TestTree::new(&[(
        "mkosi.conf",
        "[Distribution]\nDistribution=debian\nRelease=trixie\nArchitecture=x86-64\n\
         [Output]\nFormat=uki\nSeed=630b5f72-a36a-4e83-b23d-6ef47c82fd9c\nManifestFormat=json,changelog\n\
         [Content]\nSourceDateEpoch=0\nCleanPackageMetadata=true\nWithDocs=no\nBootable=auto\n\
         [Build]\nWithNetwork=1\n",
    )]);
    let config = tree.config(&[], &[]);
    assert_eq!(config.distribution.distribution, Some(Distribution::Debian));
    assert_eq!(config.content.source_date_epoch, Some(0));
    assert_eq!(config.content.with_docs, Some(false));
    assert_eq!(config.build.with_network, Some(true));
    assert_eq!(config.output.manifest_format.len(), 2);
    let json = config.to_json();
    for expected in [
        "\"Format\": \"uki\"",
        "\"Seed\": \"630b5f72-a36a-4e83-b23d-6ef47c82fd9c\"",
        "\"CleanPackageMetadata\": \"enabled\"",
        "\"Architecture\": \"x86-64\"",
    ] {
        assert!(json.contains(expected), "{expected} not in {json}");
    }
    let back: ImageConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, config);
    let back: ImageConfig = toml::from_str(&config.to_toml()).unwrap();
    assert_eq!(back, config);
}

#[test]
fn package_pins_are_typed() {
    let tree = TestTree::new(&[(
        "mkosi.conf",
        "[Content]\nBuildPackages=golang\n  cargo/trixie-backports\n  rustc/trixie-backports\n",
    )]);
    let config = tree.config(&[], &[]);
    let cargo = &config.content.build_packages[0];
    assert_eq!(cargo.name, "cargo");
    assert_eq!(
        cargo.pin,
        Some(PackagePin::Suite("trixie-backports".into()))
    );
}

#[test]
fn included_files_resolve_paths_against_the_working_directory() {
    let tree = TestTree::new(&[
        ("images/img.conf", "[Include]\nInclude=shared/mkosi.conf\n"),
        (
            "shared/mkosi.conf",
            "[Content]\nExtraTrees=shared/mkosi.extra\nBuildScripts=shared/mkosi.build.d/*\n",
        ),
        ("shared/mkosi.extra/", ""),
        ("shared/mkosi.build.d/20-b.sh", "#!/bin/sh\n"),
        ("shared/mkosi.build.d/10-a.sh", "#!/bin/sh\n"),
        // Default paths next to an included *file* are not picked up.
        ("shared/mkosi.postinst", "#!/bin/sh\n"),
    ]);
    let config = tree.config(&["images/img.conf"], &[]);
    assert_eq!(
        config.content.extra_trees[0].source,
        tree.path("shared/mkosi.extra")
    );
    assert_eq!(
        config.content.build_scripts,
        [
            tree.path("shared/mkosi.build.d/10-a.sh"),
            tree.path("shared/mkosi.build.d/20-b.sh")
        ]
    );
    assert!(config.content.post_installation_scripts.is_empty());
    assert_eq!(
        config.files_read,
        [tree.path("images/img.conf"), tree.path("shared/mkosi.conf")]
    );
}

#[test]
fn included_directories_change_directory_and_use_default_paths() {
    let tree = TestTree::new(&[
        ("mkosi.conf", "[Include]\nInclude=module\n"),
        ("module/mkosi.conf", "[Content]\nSkeletonTrees=skel:/opt\n"),
        ("module/skel/", ""),
        ("module/mkosi.extra/", ""),
        ("module/mkosi.postinst.chroot", "#!/bin/sh\n"),
        ("module/mkosi.finalize.d/10-x", "#!/bin/sh\n"),
        ("module/mkosi.finalize", "#!/bin/sh\n"),
        ("module/mkosi.version", "1.2.3\n"),
    ]);
    let config = tree.config(&[], &[]);
    assert_eq!(
        config.content.skeleton_trees[0].source,
        tree.path("module/skel")
    );
    assert_eq!(
        config.content.skeleton_trees[0].target,
        Some(PathBuf::from("/opt"))
    );
    assert_eq!(
        config.content.extra_trees[0].source,
        tree.path("module/mkosi.extra")
    );
    assert_eq!(
        config.content.post_installation_scripts,
        [tree.path("module/mkosi.postinst.chroot")]
    );
    // The plain script comes before the `.d` directory's entries.
    assert_eq!(
        config.content.finalize_scripts,
        [
            tree.path("module/mkosi.finalize"),
            tree.path("module/mkosi.finalize.d/10-x")
        ]
    );
    assert_eq!(config.output.image_version.as_deref(), Some("1.2.3"));
}

#[test]
fn default_paths_come_before_mkosi_conf() {
    let tree = TestTree::new(&[
        (
            "mkosi.conf",
            "[Content]\nExtraTrees=other\n[Output]\nImageVersion=9\n",
        ),
        ("other/", ""),
        ("mkosi.extra/", ""),
        ("mkosi.version", "1\n"),
    ]);
    let config = tree.config(&[], &[]);
    let sources: Vec<_> = config
        .content
        .extra_trees
        .iter()
        .map(|t| t.source.clone())
        .collect();
    assert_eq!(sources, [tree.path("mkosi.extra"), tree.path("other")]);
    assert_eq!(config.output.image_version.as_deref(), Some("9"));
}

#[test]
fn dropins_are_read_in_order_and_subdirectories_are_directories() {
    let tree = TestTree::new(&[
        ("mkosi.conf", "[Output]\nImageId=base\n"),
        (
            "mkosi.conf.d/20-b.conf",
            "[Output]\nImageId=b\n[Build]\nEnvironment=DROPIN=%P\n",
        ),
        ("mkosi.conf.d/10-a.conf", "[Output]\nImageId=a\n"),
        (
            "mkosi.conf.d/15-sub/mkosi.conf",
            "[Build]\nEnvironment=WHERE=%P CONF=%C\n",
        ),
        ("mkosi.conf.d/15-sub/mkosi.extra/", ""),
        ("mkosi.conf.d/README.md", "not a config file"),
    ]);
    let config = tree.config(&[], &[]);
    assert_eq!(config.output.image_id.as_deref(), Some("b"));
    let root = tree.root().display().to_string();
    // %P in a drop-in file is the directory holding mkosi.conf.d (no chdir for files).
    assert_eq!(config.build.environment["DROPIN"], root);
    // A subdirectory is read as a directory: working directory and default paths change.
    let sub = tree.path("mkosi.conf.d/15-sub").display().to_string();
    assert_eq!(config.build.environment["WHERE"], sub);
    assert_eq!(config.build.environment["CONF"], sub);
    assert_eq!(
        config.content.extra_trees[0].source,
        tree.path("mkosi.conf.d/15-sub/mkosi.extra")
    );
}

#[test]
fn specifiers_expand_current_values() {
    let tree = TestTree::new(&[(
        "mkosi.conf",
        "[Distribution]\nDistribution=debian\nRelease=trixie\n[Output]\nImageId=%d-%r\nOutput=%i_%v\n\
         [Build]\nEnvironment=PCT=100%% DIR=%D IMAGE=%I\n",
    )]);
    let config = tree.config(&[], &[]);
    assert_eq!(config.output.image_id.as_deref(), Some("debian-trixie"));
    // %v is not set: it expands to nothing, as in mkosi.
    assert_eq!(config.output.output.as_deref(), Some("debian-trixie_"));
    assert_eq!(config.build.environment["PCT"], "100%");
    assert_eq!(
        config.build.environment["DIR"],
        tree.root().display().to_string()
    );
    assert_eq!(config.build.environment["IMAGE"], "main");
}

#[test]
fn environment_quotes_passthrough_and_later_wins() {
    let tree = TestTree::new(&[(
        "mkosi.conf",
        "[Build]\nEnvironment=A=1 B=\"two words\" PASSED\nEnvironment=A=2\n",
    )]);
    let config = tree.config(&[], &[]);
    assert_eq!(config.build.environment["A"], "2");
    assert_eq!(config.build.environment["B"], "two words");
    assert_eq!(config.build.environment["PASSED"], "from-host");
}

#[test]
fn local_configuration_beats_later_files_but_not_the_command_line() {
    let tree = TestTree::new(&[
        (
            "mkosi.local.conf",
            "[Output]\nImageId=local\nImageVersion=local\n[Content]\nPackages=from-local\n",
        ),
        (
            "mkosi.conf",
            "[Output]\nImageId=conf\nImageVersion=conf\n[Content]\nPackages=from-conf\n",
        ),
        ("mkosi.conf.d/10.conf", "[Output]\nImageId=dropin\n"),
    ]);
    let config = tree.config(&[], &[("ImageVersion", "cli")]);
    assert_eq!(config.output.image_id.as_deref(), Some("local"));
    assert_eq!(config.output.image_version.as_deref(), Some("cli"));
    // Lists: files first, then local, then the command line.
    assert_eq!(names(&config.content.packages), ["from-conf", "from-local"]);
}

#[test]
fn profiles_are_read_after_dropins_from_files_and_directories() {
    let tree = TestTree::new(&[
        ("mkosi.conf", "[Content]\nPackages=base\n"),
        ("mkosi.conf.d/10.conf", "[Output]\nImageId=dropin\n"),
        (
            "mkosi.profiles/devtools/mkosi.conf",
            "[Content]\nPackages=strace\n",
        ),
        ("mkosi.profiles/devtools/mkosi.postinst", "#!/bin/sh\n"),
        ("mkosi.profiles/gcp.conf", "[Output]\nImageId=gcp\n"),
    ]);
    let config = tree.config(&[], &[]);
    assert_eq!(names(&config.content.packages), ["base"]);
    let config = tree.config(&[], &[("Profiles", "devtools"), ("Profiles", "gcp")]);
    assert_eq!(names(&config.content.packages), ["base", "strace"]);
    assert_eq!(
        config.output.image_id.as_deref(),
        Some("gcp"),
        "profiles override drop-ins"
    );
    assert_eq!(
        config.content.post_installation_scripts,
        [tree.path("mkosi.profiles/devtools/mkosi.postinst")]
    );
    assert_eq!(config.config.profiles, ["devtools", "gcp"]);
    let err = tree.error(&[], &[("Profiles", "devtoolz")]);
    assert!(err.contains("profile `devtoolz` not found"), "{err}");
}

#[test]
fn profiles_selected_in_files_are_honoured() {
    let tree = TestTree::new(&[
        ("mkosi.conf", "[Config]\nProfiles=gcp\n"),
        ("mkosi.profiles/gcp.conf", "[Output]\nImageId=gcp\n"),
    ]);
    assert_eq!(
        tree.config(&[], &[]).output.image_id.as_deref(),
        Some("gcp")
    );
}

#[test]
fn a_failing_match_in_mkosi_conf_skips_the_whole_directory() {
    let tree = TestTree::new(&[
        ("mkosi.conf", "[Include]\nInclude=sub\n"),
        (
            "sub/mkosi.conf",
            "[Match]\nDistribution=fedora\n[Content]\nPackages=never\n",
        ),
        ("sub/mkosi.extra/", ""),
        (
            "sub/mkosi.conf.d/10.conf",
            "[Content]\nPackages=never-either\n",
        ),
    ]);
    let config = tree.config(&[], &[]);
    assert!(config.content.packages.is_empty());
    assert!(config.content.extra_trees.is_empty());
}

#[test]
fn a_failing_match_in_a_dropin_skips_only_that_file() {
    let tree = TestTree::new(&[
        (
            "mkosi.conf",
            "[Distribution]\nDistribution=debian\nRelease=trixie\n[Output]\nFormat=uki\n",
        ),
        (
            "mkosi.conf.d/10-no.conf",
            "[Match]\nRelease=bookworm\n[Content]\nPackages=no\n",
        ),
        (
            "mkosi.conf.d/20-yes.conf",
            "[Match]\nFormat=|disk\nFormat=|uki\n[Content]\nPackages=yes\n",
        ),
        (
            "mkosi.conf.d/30-neg.conf",
            "[Match]\nImageId=!anything\n[Content]\nPackages=negated-unset\n",
        ),
        (
            "mkosi.conf.d/40-trigger.conf",
            "[TriggerMatch]\nDistribution=ubuntu\n[TriggerMatch]\nDistribution=debian\nRelease=trixie\n\
             [Content]\nPackages=triggered\n",
        ),
        (
            "mkosi.conf.d/50-path.conf",
            "[Match]\nPathExists=mkosi.conf\n[Content]\nPackages=path\n",
        ),
    ]);
    let config = tree.config(&[], &[]);
    assert_eq!(
        names(&config.content.packages),
        ["negated-unset", "path", "triggered", "yes"]
    );
}

#[test]
fn matches_see_command_line_values() {
    let tree = TestTree::new(&[(
        "mkosi.conf.d/10.conf",
        "[Match]\nProfiles=devtools\n[Content]\nPackages=strace\n",
    )]);
    assert!(tree.config(&[], &[]).content.packages.is_empty());
    tree.path("mkosi.profiles/devtools")
        .exists()
        .then(|| unreachable!());
    std::fs::create_dir_all(tree.path("mkosi.profiles/devtools")).unwrap();
    let config = tree.config(&[], &[("Profiles", "devtools")]);
    assert_eq!(names(&config.content.packages), ["strace"]);
}

#[test]
fn failed_assert_is_an_error_naming_the_file() {
    let tree = TestTree::new(&[(
        "mkosi.conf",
        "[Assert]\nArchitecture=arm64\n[Content]\nPackages=a\n",
    )]);
    assert_eq!(
        tree.error(&[], &[]),
        "ROOT/mkosi.conf: the file's [Assert] conditions are not satisfied"
    );
}

#[test]
fn files_are_included_once_and_cycles_are_errors() {
    let tree = TestTree::new(&[
        ("mkosi.conf", "[Include]\nInclude=a.conf\nInclude=b.conf\n"),
        ("a.conf", "[Include]\nInclude=common.conf\n"),
        ("b.conf", "[Include]\nInclude=common.conf\n"),
        ("common.conf", "[Content]\nPackages=once\n"),
    ]);
    assert_eq!(names(&tree.config(&[], &[]).content.packages), ["once"]);

    let cyclic = TestTree::new(&[
        ("mkosi.conf", "[Include]\nInclude=a.conf\n"),
        ("a.conf", "[Include]\nInclude=b.conf\n"),
        (
            "b.conf",
            "[Content]\nPackages=x\n[Include]\nInclude=a.conf\n",
        ),
    ]);
    assert_eq!(
        cyclic.error(&[], &[]),
        "ROOT/b.conf:4: include cycle: ROOT/a.conf -> ROOT/b.conf -> ROOT/a.conf"
    );
    let missing = TestTree::new(&[("mkosi.conf", "[Include]\nInclude=nope.conf\n")]);
    assert_eq!(
        missing.error(&[], &[]),
        "ROOT/mkosi.conf:2: included path ROOT/nope.conf does not exist"
    );
}

#[test]
fn errors_name_file_line_and_the_closest_setting() {
    let cases: &[(&str, &str)] = &[
        (
            "[Content]\nPakages=vim\n",
            "ROOT/mkosi.conf:2: unknown setting `Pakages` (did you mean `Packages`?)",
        ),
        (
            "[Content]\n\nXyzzy=1\n",
            "ROOT/mkosi.conf:3: unknown setting `Xyzzy`",
        ),
        (
            "[Contnet]\nPackages=vim\n",
            "ROOT/mkosi.conf:1: unknown section [Contnet]",
        ),
        (
            "[Build]\nWithNetwork=maybe\n",
            "ROOT/mkosi.conf:2: invalid value for `WithNetwork=`: expected a boolean (yes/no, true/false, 1/0), got `maybe`",
        ),
        (
            "[Output]\nSeed=abc\n",
            "ROOT/mkosi.conf:2: invalid value for `Seed=`: expected a UUID or `random`, got `abc`",
        ),
        (
            "[Distribution]\nArchitecture=x86_64\n",
            "ROOT/mkosi.conf:2: invalid value for `Architecture=`: unknown architecture `x86_64` (expected one of: x86-64, x86, arm64, arm, alpha, arc, ia64, loongarch64, mips-le, mips64-le, parisc, ppc, ppc64, ppc64-le, riscv32, riscv64, s390, s390x, tilegx)",
        ),
        (
            "[Content]\nSkeletonTrees=missing\n",
            "ROOT/mkosi.conf:2: invalid value for `SkeletonTrees=`: ROOT/missing does not exist",
        ),
        (
            "[Content]\nSourceDateEpoch=-1\n",
            "ROOT/mkosi.conf:2: invalid value for `SourceDateEpoch=`: expected a non-negative integer, got `-1`",
        ),
        (
            "[Output]\nImageId=%q\n",
            "ROOT/mkosi.conf:2: unknown specifier `%q` (write `%%` for a literal `%`)",
        ),
        (
            "[Match]\nColour=blue\n",
            "ROOT/mkosi.conf:2: unknown match condition `Colour`",
        ),
        (
            "Packages=vim\n",
            "ROOT/mkosi.conf:1: setting `Packages=vim` is outside of any section",
        ),
        (
            "[Content]\nPackages\n",
            "ROOT/mkosi.conf:2: setting `Packages` must be followed by `=`",
        ),
        (
            "[Content\n",
            "ROOT/mkosi.conf:1: section header `[Content` is missing its closing `]`",
        ),
    ];
    for (text, expected) in cases {
        let tree = TestTree::new(&[("mkosi.conf", text)]);
        assert_eq!(&tree.error(&[], &[]), expected, "for {text:?}");
    }
    let tree = TestTree::new(&[]);
    assert_eq!(
        tree.error(&[], &[("Pakages", "x")]),
        "<command line>: unknown setting `Pakages` (did you mean `Packages`?)"
    );
}

#[test]
fn ignored_settings_are_kept_and_reported() {
    let tree = TestTree::new(&[(
        "mkosi.conf",
        "[Content]\nRootPassword=hashed:xyz\nWithDocs=no\n[Build]\nPackages=misplaced\n[Content]\nBuildScript=\n",
    )]);
    let loaded = tree.load(&[], &[]).unwrap();
    assert_eq!(loaded.config.ignored["RootPassword"], ["hashed:xyz"]);
    let kinds: Vec<_> = loaded
        .diagnostics
        .iter()
        .map(|d| (d.location.line, d.kind.clone()))
        .collect();
    assert!(
        kinds.contains(&(
            2,
            DiagnosticKind::IgnoredSetting {
                name: "RootPassword".into()
            }
        )),
        "{kinds:?}"
    );
    // A setting in the wrong section is applied anyway, with a warning, as mkosi does.
    assert_eq!(names(&loaded.config.content.packages), ["misplaced"]);
    assert!(
        kinds
            .iter()
            .any(|(line, k)| *line == 5 && matches!(k, DiagnosticKind::WrongSection { .. })),
        "{kinds:?}"
    );
    assert!(
        kinds.iter().any(|(line, k)| *line == 7
            && matches!(
                k,
                DiagnosticKind::RenamedSetting {
                    new: "BuildScripts",
                    ..
                }
            )),
        "{kinds:?}"
    );
}

#[test]
fn ignored_settings_that_change_the_image_are_recorded_with_where_they_were_set() {
    let tree = TestTree::new(&[(
        "mkosi.conf",
        "[Output]\nSplitArtifacts=yes\n[Content]\nHostname=box\nHostname=\n[Runtime]\nRAM=4G\n",
    )]);
    let loaded = tree.load(&[], &[("Bootloader", "systemd-boot")]).unwrap();
    let unimplemented = &loaded.config.unimplemented;
    let names: Vec<&str> = unimplemented.keys().map(String::as_str).collect();
    // Hostname= was reset, RAM= changes only the VM: neither is recorded.
    assert_eq!(names, ["Bootloader", "SplitArtifacts"]);
    assert!(
        unimplemented["SplitArtifacts"]
            .location
            .ends_with("mkosi.conf:2"),
        "{unimplemented:?}"
    );
    assert_eq!(unimplemented["Bootloader"].location, "<command line>");
    assert!(
        unimplemented["SplitArtifacts"]
            .changes
            .contains("which outputs")
    );
    assert_eq!(loaded.config.ignored["RAM"], ["4G"]);
}

#[test]
fn output_names_cannot_leave_the_output_directory() {
    for (setting, value) in [
        ("Output", "../../etc/cron.d/x"),
        ("ImageId", "a/b"),
        ("ImageVersion", ".."),
    ] {
        let tree = TestTree::new(&[("mkosi.conf", &format!("[Output]\n{setting}={value}\n"))]);
        let err = tree.load(&[], &[]).unwrap_err().to_string();
        assert!(
            err.contains("mkosi.conf:2") && err.contains("a file name"),
            "{err}"
        );
    }
    let tree = TestTree::new(&[(
        "mkosi.conf",
        "[Output]\nOutput=initrd\nImageVersion=1.0~rc1\n",
    )]);
    let config = tree.config(&[], &[]);
    assert_eq!(config.output.output.as_deref(), Some("initrd"));
}

#[test]
fn environment_files_add_variables_environment_wins() {
    let tree = TestTree::new(&[
        (
            "mkosi.conf",
            "[Build]\nEnvironment=SHARED=from-conf\nEnvironmentFiles=extra.env\n",
        ),
        (
            "mkosi.env",
            "# defaults\nQUOTED = \"a b\"\nSHARED=from-default\n\nLATER=first\nFROM_HOST\n",
        ),
        ("extra.env", "LATER=second\n"),
    ]);
    let mut host = host();
    host.environment
        .insert("FROM_HOST".into(), "host value".into());
    let config = load(&LoadOptions {
        directory: tree.root(),
        includes: Vec::new(),
        overrides: Vec::new(),
        host,
    })
    .unwrap()
    .config;
    let environment = config.build.environment;
    // As mkosi reads them: trimmed, quotes kept, a bare name from the invoking environment.
    assert_eq!(environment["QUOTED"], "\"a b\"");
    assert_eq!(environment["SHARED"], "from-conf");
    assert_eq!(environment["LATER"], "second");
    assert_eq!(environment["FROM_HOST"], "host value");
    assert!(!environment.keys().any(|k| k.starts_with('#')));

    let tree = TestTree::new(&[
        ("mkosi.conf", "[Build]\n"),
        ("mkosi.env", "ok=1\n=no name\n"),
    ]);
    let err = tree.load(&[], &[]).unwrap_err().to_string();
    assert!(
        err.contains("mkosi.env:2") && err.contains("KEY=VALUE"),
        "{err}"
    );
}

/// The tree of mkosi's system-extension guide, as the guide writes it (the workspace's
/// `fixtures/sysext-guide/`).
const SYSEXT_GUIDE: &[(&str, &str)] = &[
    (
        "mkosi.conf",
        include_str!("../../../fixtures/sysext-guide/mkosi.conf"),
    ),
    (
        "mkosi.images/base/mkosi.conf",
        include_str!("../../../fixtures/sysext-guide/mkosi.images/base/mkosi.conf"),
    ),
    (
        "mkosi.images/btrfs/mkosi.conf",
        include_str!("../../../fixtures/sysext-guide/mkosi.images/btrfs/mkosi.conf"),
    ),
];

#[test]
fn a_multi_image_tree_gives_its_images_in_dependency_order() {
    let tree = TestTree::new(SYSEXT_GUIDE);
    let images = tree.images(&[("ImageVersion", "1.2")]).unwrap();
    let order: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(order, ["base", "btrfs", "main"]);
    let (base, btrfs, main) = (
        &images[0].loaded.config,
        &images[1].loaded.config,
        &images[2].loaded.config,
    );
    let output = tree.path("mkosi.output");
    // Universal settings come from the main image, inherited ones too unless overridden.
    for config in [base, btrfs] {
        assert_eq!(config.distribution.release.as_deref(), Some("trixie"));
        assert_eq!(
            config.output.output_directory.as_deref(),
            Some(output.as_path())
        );
        assert_eq!(config.output.image_version.as_deref(), Some("1.2"));
    }
    // Each image's own settings: its format, packages, trees; %O is the shared output dir.
    assert_eq!(
        base.output.format.map(|f| f.to_string()).as_deref(),
        Some("directory")
    );
    assert_eq!(names(&base.content.packages), ["systemd", "udev"]);
    assert!(base.unimplemented.is_empty(), "{:?}", base.unimplemented);
    assert_eq!(
        btrfs.output.format.map(|f| f.to_string()).as_deref(),
        Some("sysext")
    );
    assert_eq!(names(&btrfs.content.packages), ["btrfs-progs"]);
    assert_eq!(btrfs.content.base_trees, [output.join("base")]);
    assert_eq!(btrfs.output.overlay, Some(true));
    assert!(btrfs.unimplemented.is_empty(), "{:?}", btrfs.unimplemented);
    assert_eq!(main.content.make_initrd, Some(true));
    assert_eq!(btrfs.config.dependencies, ["base"]);
    // The main image depends on every subimage by default; its Output= is its own.
    assert_eq!(main.config.dependencies, ["base", "btrfs"]);
    assert_eq!(main.output.output.as_deref(), Some("initrd"));
    assert_eq!(base.output.output, None);
}

#[test]
fn subimage_dependencies_are_checked() {
    let mut files = SYSEXT_GUIDE.to_vec();
    files.push((
        "mkosi.images/base/mkosi.conf.d/10-loop.conf",
        "[Config]\nDependencies=btrfs\n",
    ));
    let err = TestTree::new(&files).images(&[]).unwrap_err().to_string();
    assert!(
        err.contains("cycle") && err.contains("base -> btrfs -> base"),
        "{err}"
    );

    let files = [
        SYSEXT_GUIDE[0],
        (
            "mkosi.images/extra.conf",
            "[Config]\nDependencies=missing\n",
        ),
    ];
    let err = TestTree::new(&files).images(&[]).unwrap_err().to_string();
    assert_eq!(
        err,
        "image `extra` depends on `missing`, which is not an image of mkosi.images/"
    );

    // Dependencies= of the main image chooses; a subimage whose [Match] fails is left out.
    let files = [
        (
            "mkosi.conf",
            "[Config]\nDependencies=kept\n[Output]\nFormat=uki\n",
        ),
        ("mkosi.images/kept.conf", "[Output]\nFormat=directory\n"),
        ("mkosi.images/unused.conf", "[Output]\nFormat=directory\n"),
        (
            "mkosi.images/other/mkosi.conf",
            "[Match]\nRelease=forky\n[Output]\nFormat=tar\n",
        ),
    ];
    let images = TestTree::new(&files).images(&[]).unwrap();
    let order: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(order, ["kept", "main"]);
}

#[test]
fn mkosi_subdirectory_is_used_when_the_top_has_no_mkosi_conf() {
    let tree = TestTree::new(&[
        ("mkosi/mkosi.conf", "[Output]\nImageId=nested\n"),
        ("mkosi/mkosi.extra/", ""),
    ]);
    let config = tree.config(&[], &[]);
    assert_eq!(config.output.image_id.as_deref(), Some("nested"));
    assert_eq!(
        config.content.extra_trees[0].source,
        tree.path("mkosi/mkosi.extra")
    );
}

#[test]
fn unreadable_paths_are_reported_with_the_path() {
    let tree = TestTree::new(&[("images/x.conf", "[Output]\nFormat=uki\n")]);
    let err = tree.error(&["images/missing.conf"], &[]);
    assert_eq!(
        err,
        "<command line>: included path ROOT/images/missing.conf does not exist"
    );
    // The include is relative to the tree, whatever the process's working directory is.
    let config = tree.config(&["images/x.conf"], &[]);
    assert_eq!(config.output.format.map(|f| f.as_str()), Some("uki"));
    let _ = Path::new("unused");
}
