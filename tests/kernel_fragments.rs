//! The flashbox-l1 kernel fragments, found through the image's `KERNEL_CONFIG_SNIPPETS*`
//! environment, merge cleanly and in the documented order (base, then modules).

use kernel_builder::kconfig::{KernelConfig, Value};
use kernel_builder::merge::{Fragment, merge};
use kernel_builder::snippets::fragment_files;
use workspace_tests::{fixtures_dir, load_image};

#[test]
fn flashbox_l1_fragments_merge_in_order() {
    let config = load_image("flashbox-l1", &[]).config;
    let files = fragment_files(&config.build.environment, &fixtures_dir()).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "00-no-modules.config",
            "01-sane-defaults.config",
            "02-disable-unneeded.config",
            "03-bbr-net-fq.config",
            "10-bob.config",
        ]
    );
    let fragments: Vec<Fragment> = files
        .iter()
        .map(|path| Fragment {
            name: path.file_name().unwrap().to_string_lossy().into_owned(),
            text: std::fs::read_to_string(path).unwrap(),
        })
        .collect();
    let merged = merge(&KernelConfig::default(), &fragments).unwrap();
    assert_eq!(merged.config.value("MODULES"), &Value::No);
    assert_eq!(
        merged.config.value("IPV6"),
        &Value::No,
        "10-bob turns IPv6 off"
    );
    assert_eq!(merged.config.value("TCP_CONG_BBR"), &Value::Yes);
    assert!(
        merged.requests.len() > 100,
        "{} symbols",
        merged.requests.len()
    );
}
