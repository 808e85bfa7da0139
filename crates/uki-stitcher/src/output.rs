//! Writing a UKI file atomically.
//!
//! The UKI is written under a temporary name in the destination directory and renamed over the
//! destination only once complete and synced (`build_vocab::publish`), so a failed build never leaves half an image
//! where a good one was. The mode is set to 0644 explicitly rather than left to the umask.

use std::path::Path;

use build_vocab::publish::{self, WriteError};

use crate::error::Error;
use crate::inputs::UkiInputs;
use crate::layout::Layout;
use crate::stitch::plan;

/// Builds the UKI of `inputs` into the file at `path`, replacing it atomically; returns its
/// layout.
pub fn write_uki_file(inputs: &UkiInputs<'_>, path: &Path) -> Result<Layout, Error> {
    let plan = plan(inputs)?;
    publish::write_buffered(path, 0o644, |out| {
        plan.write_to(out).map_err(|e| match e {
            Error::Output(source) => WriteError::Io(source),
            other => WriteError::Producer(other),
        })
    })??;
    Ok(plan.layout)
}
