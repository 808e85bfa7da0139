//! The crate's one error type.
//!
//! Every variant says which input it is about: the stub, the kernel, a UKI being read, a
//! section by name, or a file on disk. Nothing is reported as a bare `io::Error` or a bare
//! parser message.

use std::io;

/// Which PE file an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeRole {
    /// The systemd-stub the UKI is built from.
    Stub,
    /// The kernel going into `.linux`.
    Kernel,
    /// A PE image being inspected or hashed.
    Image,
}

impl std::fmt::Display for PeRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PeRole::Stub => "stub",
            PeRole::Kernel => "kernel",
            PeRole::Image => "PE image",
        })
    }
}

/// Everything that can go wrong while planning, writing, inspecting or hashing a UKI.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not a well-formed PE image (as `object` reads it), or a header field
    /// points outside the file.
    #[error("{role}: not a valid PE image: {reason}")]
    Malformed {
        /// Which input.
        role: PeRole,
        /// What is wrong.
        reason: String,
    },
    /// A stub this crate does not build on, for a reason stated (PE32 rather than PE32+,
    /// unaligned raw data, unknown data after the last section, ...).
    #[error("unsupported stub: {reason}")]
    UnsupportedStub {
        /// Why it is refused.
        reason: String,
    },
    /// The stub carries an Authenticode signature; appending sections would invalidate it.
    #[error("the stub is signed (security directory present); sign the UKI instead")]
    SignedStub,
    /// The stub's header area has no room for the section headers the UKI needs.
    #[error(
        "no room for {sections} more section headers: the table would end at byte {needed}, \
         the headers end at byte {available}"
    )]
    NoHeaderRoom {
        /// Section headers to add.
        sections: usize,
        /// Where the extended section table would end.
        needed: u64,
        /// SizeOfHeaders of the stub (rounded up to FileAlignment).
        available: u64,
    },
    /// The merged `.sbat` does not fit where the stub's own `.sbat` section is: its raw size or
    /// the virtual room before the stub's next section is smaller. Old stubs (systemd 252) pack
    /// `.sdmagic` right behind `.sbat`; use a newer stub or add no SBAT entries of your own.
    #[error(
        "merged .sbat is {needed} bytes, the stub's .sbat section has room for {available} \
         (add no SBAT entries, or use a stub with room)"
    )]
    SbatDoesNotFit {
        /// Length of the merged SBAT text.
        needed: u64,
        /// The smaller of the section's raw size and its virtual room.
        available: u64,
    },
    /// A `.sbat` section or SBAT text that is not SBAT CSV.
    #[error("{origin}: invalid SBAT, line {line}: {reason}")]
    InvalidSbat {
        /// Where the text comes from (`stub`, `kernel`, `input`).
        origin: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A kernel release string that cannot name a kernel, or a kernel whose release cannot be
    /// read from its boot header.
    #[error("kernel release: {reason}")]
    InvalidUname {
        /// What is wrong.
        reason: String,
    },
    /// A value that does not fit the 32-bit PE field it must go into.
    #[error("{what} ({value} bytes) does not fit a 32-bit PE field")]
    TooLarge {
        /// The section or field.
        what: String,
        /// The value.
        value: u64,
    },
    /// No section of that name in the image.
    #[error("no section named `{name}`")]
    SectionNotFound {
        /// The name looked for.
        name: String,
    },
    /// The output file could not be published (written whole, synced, renamed), or an
    /// os-release text is not one.
    #[error(transparent)]
    Vocab(#[from] build_vocab::Error),
    /// An I/O error from the caller's output stream.
    #[error("writing the UKI")]
    Output(#[source] io::Error),
}

impl Error {
    /// An [`Error::Malformed`] about `role`.
    pub(crate) fn malformed(role: PeRole, reason: impl Into<String>) -> Error {
        Error::Malformed {
            role,
            reason: reason.into(),
        }
    }

    /// An [`Error::UnsupportedStub`].
    pub(crate) fn stub(reason: impl Into<String>) -> Error {
        Error::UnsupportedStub {
            reason: reason.into(),
        }
    }
}

/// Converts a length or offset to `u32`, naming `what` when it does not fit.
pub(crate) fn to_u32(value: u64, what: impl FnOnce() -> String) -> Result<u32, Error> {
    u32::try_from(value).map_err(|_| Error::TooLarge {
        what: what(),
        value,
    })
}
