//! Fuzzes everything config-model does with the text of one file, short of reading other files:
//! the INI dialect, condition prefixes, specifier expansion, every setting's value parser, and
//! version comparison. Any panic is a bug; errors are expected.

#![no_main]

use std::collections::BTreeMap;
use std::path::Path;

use build_vocab::ini::{self, IniItem};
use config_model::ImageConfig;
use config_model::matching::Condition;
use config_model::setting::{self, Known, ValueContext};
use config_model::specifier::{self, Directories};
use config_model::version::compare_versions;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(items) = ini::parse(text) else {
        return;
    };
    let environment = BTreeMap::new();
    // A directory that does not exist, so path checks fail fast and touch nothing.
    let cwd = Path::new("/nonexistent-fuzz-root");
    let cx = ValueContext {
        cwd,
        environment: &environment,
    };
    let dirs = Directories {
        config_dir: cwd,
        cwd,
        invoked: cwd,
        image: "main",
    };
    let mut config = ImageConfig::default();
    let mut previous = String::new();
    for item in items {
        let IniItem::Assignment(assignment) = item else {
            continue;
        };
        let condition = Condition::parse(&assignment.key, &assignment.value, assignment.line);
        let _ = compare_versions(&condition.value, &previous);
        previous = condition.value;
        let Ok(value) = specifier::expand(&assignment.value, &config, &dirs) else {
            continue;
        };
        if let Some(Known::Used(def)) = setting::lookup(&assignment.key) {
            let _ = (def.apply)(&mut config, &value, &cx);
        }
    }
    let _ = config.to_json();
    let _ = config.to_toml();
});
