//! The files mkosi adds to every root after the post-installation scripts, from settings:
//! `/init` and `/etc/initrd-release` (mkosi's `configure_initrd`, `MakeInitrd=`), and a
//! system extension's `usr/lib/extension-release.d/extension-release.<name>` (mkosi's
//! `configure_extension_release`, `Format=sysext`).
//!
//! Neither is written into an overlay (`Overlay=yes`: the bases have them), and the initrd
//! links are not written into an extension.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use build_vocab::AtPath;
use build_vocab::os_release::OsRelease;
use config_model::ImageConfig;
use config_model::value::OutputFormat;

use crate::error::Error;

/// What the caller's root is.
fn is_extension(config: &ImageConfig) -> bool {
    config.output.format == Some(OutputFormat::Sysext)
}

/// Writes the files the module doc lists, as `config` asks. `name` is the output's name
/// (mkosi's `Output=`), which names an extension's release file.
pub fn write_release_files(config: &ImageConfig, root: &Path, name: &str) -> Result<(), Error> {
    if config.output.overlay == Some(true) && !is_extension(config) {
        return Ok(());
    }
    if is_extension(config) {
        return write_extension_release(config, root, name);
    }
    let init = root.join("init");
    if fs::symlink_metadata(&init).is_err() && root.join("usr/lib/systemd/systemd").exists() {
        symlink("/usr/lib/systemd/systemd", &init).at(&init)?;
    }
    let initrd_release = root.join("etc/initrd-release");
    if config.content.make_initrd == Some(true) && fs::symlink_metadata(&initrd_release).is_err() {
        symlink("/etc/os-release", &initrd_release).at(&initrd_release)?;
    }
    Ok(())
}

/// `extension-release.<name>`: what the extension's author wrote there, completed as mkosi
/// completes it from the root's `usr/lib/os-release` (`ID`, `SYSEXT_LEVEL`, `VERSION_ID`), the
/// image id and version, and `SYSEXT_SCOPE` (the `SYSEXT_SCOPE` environment value, else
/// `initrd system portable`).
fn write_extension_release(config: &ImageConfig, root: &Path, name: &str) -> Result<(), Error> {
    let read = |path: &Path| -> Result<Option<OsRelease>, Error> {
        if !path.is_file() {
            return Ok(None);
        }
        let text = fs::read_to_string(path).at(path)?;
        OsRelease::parse(&text)
            .map(Some)
            .map_err(|e| Error::Config {
                setting: "Format",
                reason: format!("{}: {e}", path.display()),
            })
    };
    let os = read(&root.join("usr/lib/os-release"))?;
    let dir = root.join("usr/lib/extension-release.d");
    let path = dir.join(format!("extension-release.{name}"));
    let existing = read(&path)?;
    let from_os = |key: &str| os.as_ref().and_then(|os| os.get(key)).map(str::to_owned);
    let mut text = existing
        .as_ref()
        .map(|e| e.text().to_owned())
        .unwrap_or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    let has = |key: &str| existing.as_ref().is_some_and(|e| e.get(key).is_some());
    let scope = config
        .build
        .environment
        .get("SYSEXT_SCOPE")
        .cloned()
        .unwrap_or_else(|| "initrd system portable".to_owned());
    let fields = [
        (
            "ID",
            Some(from_os("ID").unwrap_or_else(|| "_any".to_owned())),
        ),
        ("SYSEXT_LEVEL", from_os("SYSEXT_LEVEL")),
        ("VERSION_ID", from_os("VERSION_ID")),
        ("SYSEXT_ID", config.output.image_id.clone()),
        ("SYSEXT_VERSION_ID", config.output.image_version.clone()),
        ("SYSEXT_SCOPE", Some(format!("\"{scope}\""))),
    ];
    for (key, value) in fields {
        if let Some(value) = value.filter(|_| !has(key)) {
            text.push_str(&format!("{key}={value}\n"));
        }
    }
    fs::create_dir_all(&dir).at(&dir)?;
    fs::write(&path, text).at(&path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(format: OutputFormat) -> ImageConfig {
        let mut config = ImageConfig::default();
        config.output.format = Some(format);
        config
    }

    #[test]
    fn an_initrd_gets_its_links_and_an_extension_its_release_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("usr/lib/systemd")).unwrap();
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::write(root.join("usr/lib/systemd/systemd"), "").unwrap();
        fs::write(
            root.join("usr/lib/os-release"),
            "ID=debian\nVERSION_ID=\"13\"\n",
        )
        .unwrap();

        let mut initrd = config(OutputFormat::Cpio);
        initrd.content.make_initrd = Some(true);
        write_release_files(&initrd, root, "initrd").unwrap();
        assert_eq!(
            fs::read_link(root.join("init")).unwrap(),
            Path::new("/usr/lib/systemd/systemd")
        );
        assert_eq!(
            fs::read_link(root.join("etc/initrd-release")).unwrap(),
            Path::new("/etc/os-release")
        );

        let mut sysext = config(OutputFormat::Sysext);
        sysext.output.image_version = Some("1.2".into());
        let release = root.join("usr/lib/extension-release.d/extension-release.btrfs");
        fs::create_dir_all(release.parent().unwrap()).unwrap();
        fs::write(&release, "ID=_any\nEXTRA=kept").unwrap();
        write_release_files(&sysext, root, "btrfs").unwrap();
        assert_eq!(
            fs::read_to_string(&release).unwrap(),
            "ID=_any\nEXTRA=kept\nVERSION_ID=13\nSYSEXT_VERSION_ID=1.2\n\
             SYSEXT_SCOPE=\"initrd system portable\"\n"
        );
    }
}
