//! A human-readable rendering of an [`ImageConfig`], like `mkosi summary`.
//!
//! It walks the same serialised form that `$MKOSI_CONFIG` carries, so it can never disagree
//! with the JSON: unset settings are left out, lists print one item per line, and paths under
//! the definition's root are shown relative to it.

use std::fmt::Write;
use std::path::Path;

use serde_json::Value;

use crate::config::ImageConfig;

/// Renders `config` as aligned `Name: value` lines, paths relative to `root` where possible.
pub fn render(config: &ImageConfig, root: &Path) -> String {
    let value = serde_json::to_value(config).expect("ImageConfig always serialises to JSON");
    let Value::Object(settings) = value else {
        unreachable!("ImageConfig serialises to a JSON object");
    };
    let root_prefix = format!("{}/", root.display());
    let shorten = |text: &str| text.strip_prefix(&root_prefix).unwrap_or(text).to_owned();
    let width = settings.keys().map(String::len).max().unwrap_or(0);
    let mut out = String::new();
    for (name, value) in &settings {
        let lines = render_value(value, &shorten);
        let Some((first, rest)) = lines.split_first() else {
            continue;
        };
        let _ = writeln!(out, "{name:>width$}: {first}");
        for line in rest {
            let _ = writeln!(out, "{:>width$}  {line}", "");
        }
    }
    out
}

/// The display lines of one value; none for unset or empty values.
fn render_value(value: &Value, shorten: &dyn Fn(&str) -> String) -> Vec<String> {
    match value {
        Value::Null => Vec::new(),
        Value::String(text) => vec![shorten(text)],
        Value::Bool(flag) => vec![if *flag { "yes" } else { "no" }.to_owned()],
        Value::Number(number) => vec![number.to_string()],
        Value::Array(items) => items
            .iter()
            .flat_map(|item| render_value(item, shorten))
            .collect(),
        Value::Object(fields) => {
            // Trees render as `source:target`, maps (Environment) as `KEY=value`.
            if let (Some(source), Some(target)) = (fields.get("Source"), fields.get("Target")) {
                let source = render_value(source, shorten).join("");
                let target = render_value(target, shorten).join("");
                vec![if target.is_empty() {
                    source
                } else {
                    format!("{source}:{target}")
                }]
            } else {
                fields
                    .iter()
                    .map(|(key, value)| format!("{key}={}", render_value(value, shorten).join(" ")))
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Tree;

    #[test]
    fn renders_set_values_only_with_relative_paths() {
        let mut config = ImageConfig::default();
        config.distribution.release = Some("trixie".into());
        config.content.extra_trees = vec![Tree {
            source: "/src/shared/mkosi.extra".into(),
            target: None,
        }];
        config.content.kernel_command_line = vec!["console=ttyS0".into(), "quiet".into()];
        config.build.environment.insert("A".into(), "1".into());
        let text = render(&config, Path::new("/src"));
        assert!(text.contains("Release: trixie"), "{text}");
        assert!(text.contains("ExtraTrees: shared/mkosi.extra"), "{text}");
        assert!(
            text.contains("KernelCommandLine: console=ttyS0\n"),
            "{text}"
        );
        assert!(text.contains("quiet"), "{text}");
        assert!(text.contains("Environment: A=1"), "{text}");
        assert!(
            !text.contains("Mirror"),
            "unset settings are not shown: {text}"
        );
    }
}
