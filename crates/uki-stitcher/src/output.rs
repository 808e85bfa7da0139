//! Writing a UKI file atomically.
//!
//! The UKI is written under a temporary name in the destination directory and renamed over the
//! destination only once complete and synced, so a failed build never leaves half an image
//! where a good one was. The mode is set to 0644 explicitly rather than left to the umask.

use std::fs::Permissions;
use std::io::{BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::error::Error;
use crate::inputs::UkiInputs;
use crate::layout::Layout;
use crate::stitch::plan;

/// Builds the UKI of `inputs` into the file at `path`, replacing it atomically; returns its
/// layout.
pub fn write_uki_file(inputs: &UkiInputs<'_>, path: &Path) -> Result<Layout, Error> {
    let plan = plan(inputs)?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(".uki-stitcher-")
        .tempfile_in(dir)
        .map_err(Error::io(dir))?;
    let file = temp.as_file();
    let mut out = BufWriter::with_capacity(1 << 20, file);
    plan.write_to(&mut out).map_err(|e| match e {
        Error::Output(source) => Error::Io {
            path: path.to_path_buf(),
            source,
        },
        other => other,
    })?;
    out.flush().map_err(Error::io(path))?;
    drop(out);
    file.set_permissions(Permissions::from_mode(0o644))
        .map_err(Error::io(path))?;
    file.sync_all().map_err(Error::io(path))?;
    temp.persist(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(plan.layout)
}
