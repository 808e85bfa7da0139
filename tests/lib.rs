//! Shared helpers of the workspace-level tests: where the fixtures are, and how to load an
//! image definition from them the way `cargo xtask` does, with fixed host facts.

use std::path::PathBuf;

use config_model::{Host, LoadOptions, Loaded, Override};

/// The workspace's top directory.
pub fn workspace_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// The `fixtures/` tree (the mkosi `--directory` of our images).
pub fn fixtures_dir() -> PathBuf {
    workspace_dir().join("fixtures")
}

/// Host facts that do not depend on the machine running the tests (empty environment).
pub fn fixed_host() -> Host {
    Host {
        distribution: Some(config_model::Distribution::Debian),
        release: Some("bookworm".into()),
        architecture: Some(config_model::Architecture::X86_64),
        systemd_version: Some("252".into()),
        environment: Default::default(),
    }
}

/// Loads `images/<name>.conf` from the fixtures with the given profiles.
pub fn load_image(name: &str, profiles: &[&str]) -> Loaded {
    config_model::load(&LoadOptions {
        directory: fixtures_dir(),
        includes: vec![PathBuf::from(format!("images/{name}.conf"))],
        overrides: profiles
            .iter()
            .map(|p| Override::new("Profiles", p))
            .collect(),
        host: fixed_host(),
    })
    .unwrap_or_else(|e| panic!("loading {name}: {e}"))
}
