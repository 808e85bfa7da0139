//! The README's list of mkosi settings stays true: every setting config-model knows is in
//! it exactly once, and those config-model records as changing the image when ignored are
//! listed as refused, the others ignored as without effect.

use std::collections::BTreeMap;

use config_model::setting::{Effect, IGNORED, SETTINGS};

/// The README's bullets between the markers, by their bold title, and the `Name=` tokens of
/// each.
fn listed() -> BTreeMap<String, Vec<String>> {
    let readme = std::fs::read_to_string(workspace_tests::workspace_dir().join("README.md"))
        .expect("README.md");
    let start = readme
        .find("<!-- settings:begin -->")
        .expect("begin marker");
    let end = readme.find("<!-- settings:end -->").expect("end marker");
    let mut bullets = BTreeMap::new();
    let mut current = String::new();
    for line in readme[start..end].lines() {
        if let Some(rest) = line.strip_prefix("- **") {
            current = rest.split("**").next().unwrap_or_default().to_owned();
        }
        let names = bullets.entry(current.clone()).or_insert_with(Vec::new);
        for token in line.split('`') {
            if let Some(name) = token.strip_suffix('=') {
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()) {
                    names.push(name.to_owned());
                }
            }
        }
    }
    bullets
}

#[test]
fn the_readme_lists_every_setting_once_where_it_belongs() {
    let bullets = listed();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for names in bullets.values() {
        for name in names {
            *seen.entry(name.as_str()).or_default() += 1;
        }
    }
    let known: Vec<&str> = SETTINGS
        .iter()
        .map(|def| def.name)
        .chain(IGNORED.iter().map(|(name, ..)| *name))
        .collect();
    for name in &known {
        assert_eq!(
            seen.get(name),
            Some(&1),
            "`{name}=` is listed {:?} times",
            seen.get(name)
        );
    }
    for name in seen.keys() {
        assert!(known.contains(name), "`{name}=` is listed but not known");
    }
    let in_bullet = |title: &str, name: &str| {
        bullets
            .get(title)
            .is_some_and(|names| names.iter().any(|n| n == name))
    };
    for (name, _, effect) in IGNORED {
        let title = match effect {
            Effect::Image(_) => "Refused when set",
            Effect::None => "Accepted, without effect",
        };
        assert!(
            in_bullet(title, name),
            "`{name}=` belongs under \"{title}\""
        );
    }
}
