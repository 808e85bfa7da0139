//! Reads mkosi-format image definitions into a typed, serialisable [`ImageConfig`].
//!
//! # Goals
//! - Read existing mkosi trees as they are, with mkosi's semantics, so a team can switch
//!   builders without rewriting a line: the INI dialect, `[Include]`, `mkosi.conf.d/`,
//!   `mkosi.local.conf`, default paths, profiles, `[Match]`-family sections, specifiers, the
//!   append/reset rules of collection settings and command-line precedence.
//! - Fail loudly and precisely: every error names `file:line`; an unknown setting suggests the
//!   closest known name; settings mkosi knows but this builder ignores are kept and reported.
//! - Be an explicit function of its inputs: the host facts ([`Host`]) are a parameter, so the
//!   same tree and options always give the same configuration.
//!
//! # A tour
//! - [`load`] walks a tree ([`LoadOptions`]: directory, `-I` includes, command-line overrides,
//!   host facts) and returns a [`Loaded`]: the [`ImageConfig`] and [`Diagnostic`]s.
//! - [`ImageConfig`] groups settings by section; [`ImageConfig::to_json`] gives the shape
//!   scripts read from `$MKOSI_CONFIG`, [`ImageConfig::to_toml`] a readable dump.
//! - [`value`] holds the typed values ([`PackageSpec`] with its `/suite` pin, [`Tree`],
//!   [`Architecture`], ...), [`build_vocab::ini`] the file syntax, [`matching`] the condition sections,
//!   [`specifier`] the `%` expansion, [`setting`] the registry of setting names.
//!
//! ```no_run
//! use config_model::{load, Host, LoadOptions, Override};
//!
//! let loaded = load(&LoadOptions {
//!     directory: "/src/flashbox".into(),
//!     includes: vec!["images/flashbox-l1.conf".into()],
//!     overrides: vec![Override::new("Profiles", "devtools")],
//!     host: Host::detect(),
//! })?;
//! println!("{:?}", loaded.config.content.packages);
//! # Ok::<(), config_model::ConfigError>(())
//! ```

pub mod config;
pub mod error;
pub mod host;
pub mod loader;
pub mod matching;
pub mod setting;
pub mod specifier;
pub mod summary;
pub mod value;
pub mod version;

pub use config::{ImageConfig, UnimplementedSetting};
pub use error::{ConfigError, Location};
pub use host::Host;
pub use loader::{
    Diagnostic, DiagnosticKind, LoadOptions, Loaded, LoadedImage, Override, load, load_images,
};
pub use value::{Architecture, Distribution, PackagePin, PackageSpec, Seed, Tree};
