//! The helper directory put first on a script's `$PATH`: `mkosi-chroot` (chroots into the
//! sandbox's prepared view of the image) and `useradd`/`groupadd` (act on the image).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::ScriptContext;
use super::environment::chroot_environment;
use crate::error::Error;
use crate::install::write_new_file;
use build_vocab::AtPath;

/// Quotes a string for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r#"'\''"#))
}

/// The text of the `mkosi-chroot` helper: chroots into `view` with the variables `overrides`
/// set (the rest of the caller's environment is kept) and runs its arguments, or a shell,
/// in `/work/src`.
pub fn mkosi_chroot_script(view: &Path, overrides: &BTreeMap<String, String>) -> String {
    let mut text = String::from(
        "#!/bin/sh\n\
         # mkosi-chroot, written by rootfs-assembler for this build: runs its arguments (default: a\n\
         # shell) chrooted into the image, in the sandbox's view of it (/proc, /sys, /dev and the\n\
         # /work binds are mounted in the namespace the calling script runs in).\n\
         set -eu\n\
         [ \"$#\" -gt 0 ] || set -- /bin/sh\n",
    );
    text.push_str(&format!(
        "exec /usr/sbin/chroot {} /usr/bin/env -u TMPDIR",
        shell_quote(&view.display().to_string())
    ));
    for (name, value) in overrides {
        text.push_str(" \\\n    ");
        text.push_str(&shell_quote(&format!("{name}={value}")));
    }
    text.push_str(
        " \\\n    /bin/sh -c 'cd /work/src 2>/dev/null || cd /; exec \"$@\"' mkosi-chroot \"$@\"\n",
    );
    text
}

/// Writes the helper directory for a script whose host environment is `env`:
/// `mkosi-chroot`, `useradd`, `groupadd`.
pub fn write_helpers(context: &ScriptContext, env: &BTreeMap<String, String>) -> Result<(), Error> {
    let helpers = context.helpers();
    fs::create_dir_all(&helpers).at(&helpers)?;
    let inside = chroot_environment(env);
    let overrides: BTreeMap<String, String> = inside
        .into_iter()
        .filter(|(name, value)| env.get(name) != Some(value))
        .collect();
    let chroot = mkosi_chroot_script(&context.view(), &overrides);
    write_new_file(&helpers.join("mkosi-chroot"), chroot.as_bytes(), 0o755)?;
    for tool in ["useradd", "groupadd"] {
        let text = format!(
            "#!/bin/sh\n# {tool}, written by rootfs-assembler: acts on the image (as mkosi's \
             `{tool} --root=$BUILDROOT`), using the image's own {tool}.\nexec mkosi-chroot {tool} \"$@\"\n"
        );
        write_new_file(&helpers.join(tool), text.as_bytes(), 0o755)?;
    }
    Ok(())
}
