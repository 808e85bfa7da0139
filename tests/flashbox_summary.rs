//! Golden test: the resolved flashbox-l1 configuration equals `golden/flashbox-l1.toml`, an
//! expectation written by hand from the fixture files and the mkosi manual.

use serde_json::Value;
use workspace_tests::{fixtures_dir, load_image};

/// Settings whose order mkosi does not keep (it sorts package lists); compared as multisets.
const UNORDERED: &[&str] = &["Packages", "BuildPackages", "VolatilePackages"];

fn golden() -> toml::Table {
    let text = include_str!("golden/flashbox-l1.toml");
    text.parse().expect("golden file is valid TOML")
}

/// The configuration as JSON, with paths under fixtures/ made relative and trees reduced to
/// their source, so it can be compared with the hand-written expectation.
fn actual(profiles: &[&str]) -> serde_json::Map<String, Value> {
    let config = load_image("flashbox-l1", profiles).config;
    let prefix = format!("{}/", fixtures_dir().display());
    let mut json: Value = serde_json::from_str(&config.to_json()).unwrap();
    relativize(&mut json, &prefix);
    match json {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn relativize(value: &mut Value, prefix: &str) {
    match value {
        Value::String(text) => {
            if let Some(relative) = text.strip_prefix(prefix) {
                *text = relative.to_owned();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| relativize(item, prefix)),
        Value::Object(fields) => {
            if let (Some(source), Some(Value::Null)) = (fields.get("Source"), fields.get("Target"))
            {
                let mut source = source.clone();
                relativize(&mut source, prefix);
                *value = source;
            } else {
                fields.values_mut().for_each(|v| relativize(v, prefix));
            }
        }
        _ => {}
    }
}

fn to_json(value: &toml::Value) -> Value {
    serde_json::to_value(value).unwrap()
}

fn sorted(value: &Value) -> Vec<String> {
    let mut items: Vec<String> = value
        .as_array()
        .unwrap_or_else(|| panic!("expected a list, got {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    items.sort();
    items
}

#[test]
fn flashbox_l1_matches_the_hand_written_expectation() {
    let actual = actual(&[]);
    for (key, expected) in golden().iter().filter(|(k, _)| *k != "devtools") {
        let got = actual
            .get(key)
            .unwrap_or_else(|| panic!("{key} missing from the config"));
        let expected = to_json(expected);
        if UNORDERED.contains(&key.as_str()) {
            assert_eq!(sorted(got), sorted(&expected), "{key}");
        } else {
            assert_eq!(got, &expected, "{key}");
        }
    }
}

#[test]
fn devtools_profile_adds_its_packages_tree_and_script_after_the_base() {
    let golden = golden();
    let base = actual(&[]);
    let with = actual(&["devtools"]);
    let devtools = golden["devtools"].as_table().unwrap();

    let mut expected_packages = sorted(&base["Packages"]);
    expected_packages.extend(sorted(&to_json(&devtools["Packages"])));
    expected_packages.sort();
    assert_eq!(sorted(&with["Packages"]), expected_packages);

    for key in ["ExtraTrees", "PostInstallationScripts"] {
        let mut expected = base[key].as_array().unwrap().clone();
        expected.extend(to_json(&devtools[key]).as_array().unwrap().iter().cloned());
        assert_eq!(with[key].as_array().unwrap(), &expected, "{key}");
    }
    assert_eq!(with["Profiles"], serde_json::json!(["devtools"]));
}

#[test]
fn every_fixture_image_and_profile_loads_without_warnings() {
    for image in ["flashbox-l1", "flashbox-l2"] {
        for profiles in [&[][..], &["devtools"], &["gcp"], &["azure"]] {
            let loaded = load_image(image, profiles);
            let warnings: Vec<String> =
                loaded.diagnostics.iter().map(ToString::to_string).collect();
            assert!(warnings.is_empty(), "{image} {profiles:?}: {warnings:#?}");
        }
    }
}
