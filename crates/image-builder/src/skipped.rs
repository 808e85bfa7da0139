//! Components a tree's build scripts skipped, read from the scripts' log.
//!
//! The convention (the Flashbox build scripts follow it; any tree may): a script that cannot
//! build a component prints one line `SKIPPED <component> <version>: <why, and the variable
//! that supplies a prebuilt one>`. The component is the name of the program its units run,
//! so a boot test can tell a unit that fails for want of it from one that is broken. Lines of
//! the tree's own kernel script (`flashbox-kernel: ...`) are left out: the pipeline stands it
//! down on purpose and provides the kernel itself.

use serde::{Deserialize, Serialize};

/// One component the build scripts skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotBuilt {
    /// The component (`tdx-init`).
    pub component: String,
    /// The version the scripts would have built.
    pub version: String,
    /// The scripts' whole line: why, and how to supply it.
    pub message: String,
}

/// The skipped components the build-script log `text` names, in log order.
pub fn skipped_components(text: &str) -> Vec<NotBuilt> {
    text.lines()
        .filter(|line| !line.starts_with("flashbox-kernel:"))
        .filter_map(|line| {
            let (_, rest) = line.split_once("SKIPPED ")?;
            let (component, rest) = rest.split_once(' ')?;
            let (version, _) = rest.split_once(':')?;
            Some(NotBuilt {
                component: component.to_owned(),
                version: version.to_owned(),
                message: line.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_skipped_lines_and_leaves_the_kernel_out() {
        let log = "building searchersh\n\
                   lighthouse: SKIPPED lighthouse v7.1.0: no network; set LIGHTHOUSE_BINARY\n\
                   flashbox-kernel: SKIPPED kernel 6.19: KERNEL_SOURCE_BUILD=0\n\
                   SKIPPED broken-line-without-version\n";
        let skipped = skipped_components(log);
        assert_eq!(
            skipped,
            [NotBuilt {
                component: "lighthouse".into(),
                version: "v7.1.0".into(),
                message: "lighthouse: SKIPPED lighthouse v7.1.0: no network; set LIGHTHOUSE_BINARY"
                    .into(),
            }]
        );
    }
}
