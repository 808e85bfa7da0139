//! The crate's one error type.

use build_vocab::PathError;
use std::path::PathBuf;

/// Why a kernel could not be configured or provided.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// A line of a `.config` or fragment that is neither an assignment nor a comment.
    #[error("{file}:{line}: not a kernel config line: `{text}`")]
    MalformedConfigLine {
        /// The file (name or path) it is in.
        file: String,
        /// 1-based line.
        line: usize,
        /// The line.
        text: String,
    },
    /// Two fragments share a file name.
    #[error("config fragment `{name}` is given twice (fragment names must be unique)")]
    DuplicateFragment {
        /// The repeated name.
        name: String,
    },
    /// A `KERNEL_CONFIG_SNIPPETS*` item names nothing.
    #[error("{variable} names {}, which does not exist", path.display())]
    MissingSnippet {
        /// The variable.
        variable: String,
        /// The resolved path.
        path: PathBuf,
    },
    /// No kernel, or not exactly one, or not the wanted one, in a tree's `boot/`.
    #[error("{}: {}", root.display(), match (wanted, found.as_slice()) {
        (Some(w), []) => format!("no boot/vmlinuz-{w} (no kernel installed)"),
        (Some(w), f) => format!("no boot/vmlinuz-{w}; installed: {}", f.join(", ")),
        (None, []) => "no kernel installed (no boot/vmlinuz-*)".to_owned(),
        (None, f) => format!("several kernels installed, choose one: {}", f.join(", ")),
    })]
    KernelNotFound {
        /// The tree searched.
        root: PathBuf,
        /// The release asked for, if any.
        wanted: Option<String>,
        /// The releases found.
        found: Vec<String>,
    },
    /// The image's environment has no `KERNEL_VERSION`.
    #[error("Environment= has no KERNEL_VERSION (the Debian kernel series to build, e.g. 7.2)")]
    NoKernelVersion,
    /// `KERNEL_VERSION` is not `X.Y`.
    #[error("KERNEL_VERSION={value}: expected a Debian kernel series such as 7.2")]
    BadKernelVersion {
        /// The value.
        value: String,
    },
    /// The configuration asks for loadable modules, but a source build puts only the
    /// kernel image into the UKI: the image would miss every module its services load.
    #[error(
        "the kernel configuration enables loadable modules (CONFIG_MODULES=y), but a kernel \
         built from source goes into the image without modules: build what the image needs \
         in (`# CONFIG_MODULES is not set` in a fragment) or use a Debian kernel package"
    )]
    LoadableModules,
    /// A step of a source build failed.
    #[error("kernel build: {step} failed (log: {})", log.display())]
    Build {
        /// The step (`make bzImage`).
        step: String,
        /// The build log.
        log: PathBuf,
        /// The sandbox's error (exit status and the last lines of output).
        source: Box<rootfs_assembler::Error>,
    },
    /// Reading or writing a file or directory failed.
    #[error(transparent)]
    Io(#[from] PathError),
}
