//! The package manifest, in mkosi's JSON shape (`ManifestFormat=json`).
//!
//! `{"manifest_version": 1, "config": {...}, "packages": [{"type": "deb", "name", "version",
//! "architecture", "source"}]}`: mkosi's fields, plus each package's source package name.
//! Packages are sorted by name. Pure.

use config_model::ImageConfig;
use serde::{Deserialize, Serialize};

use crate::install::InstalledPackage;

/// The manifest of one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version (mkosi's is 1).
    pub manifest_version: u32,
    /// The image.
    pub config: ManifestConfig,
    /// Installed packages, sorted by name.
    pub packages: Vec<ManifestPackage>,
}

/// The image a manifest describes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestConfig {
    /// `ImageId=`, or `image`.
    pub name: String,
    /// `ImageVersion=`, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `Architecture=` in mkosi's spelling.
    pub architecture: String,
    /// `Distribution=`.
    pub distribution: String,
    /// `Release=`, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ManifestPackage {
    /// Always `deb`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Package name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Debian architecture.
    pub architecture: String,
    /// Source package name.
    pub source: String,
}

impl Manifest {
    /// The manifest of `config` with `packages` installed.
    pub fn new(config: &ImageConfig, packages: &[InstalledPackage]) -> Self {
        let mut packages: Vec<ManifestPackage> = packages
            .iter()
            .map(|p| ManifestPackage {
                kind: "deb".into(),
                name: p.id.name.to_string(),
                version: p.id.version.to_string(),
                architecture: p.id.architecture.to_string(),
                source: p.source.clone(),
            })
            .collect();
        packages.sort();
        Self {
            manifest_version: 1,
            config: ManifestConfig {
                name: config
                    .output
                    .image_id
                    .clone()
                    .unwrap_or_else(|| "image".into()),
                version: config.output.image_version.clone(),
                architecture: config
                    .distribution
                    .architecture
                    .map(|a| a.as_str().to_owned())
                    .unwrap_or_default(),
                distribution: config
                    .distribution
                    .distribution
                    .map(|d| d.as_str().to_owned())
                    .unwrap_or_default(),
                release: config.distribution.release.clone(),
            },
            packages,
        }
    }

    /// The JSON text, pretty-printed, ending in a newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a manifest always serialises");
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use build_vocab::PackageId;

    #[test]
    fn mkosi_shape() {
        let mut config = ImageConfig::default();
        config.output.image_id = Some("flashbox-l1".into());
        config.distribution.architecture = Some(config_model::Architecture::X86_64);
        config.distribution.distribution = Some(config_model::Distribution::Debian);
        let packages = [
            InstalledPackage {
                id: PackageId::parse("zlib1g", "1:1.3", "amd64").unwrap(),
                source: "zlib".into(),
                installed_size_kib: 1,
            },
            InstalledPackage {
                id: PackageId::parse("bash", "5.2", "amd64").unwrap(),
                source: "bash".into(),
                installed_size_kib: 1,
            },
        ];
        let json: serde_json::Value =
            serde_json::from_str(&Manifest::new(&config, &packages).to_json()).unwrap();
        assert_eq!(json["manifest_version"], 1);
        assert_eq!(json["config"]["name"], "flashbox-l1");
        assert_eq!(json["config"]["architecture"], "x86-64");
        assert!(json["config"].get("version").is_none());
        assert_eq!(json["packages"][0]["name"], "bash");
        assert_eq!(json["packages"][1]["type"], "deb");
        assert_eq!(json["packages"][1]["source"], "zlib");
    }
}
