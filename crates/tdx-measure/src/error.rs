//! The crate's one error type.

/// What can go wrong reading an event log or a UKI, or modelling a boot.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The event log is not what the TCG PC Client profile describes.
    #[error("event log, byte {offset}: {reason}")]
    MalformedLog {
        /// Where in the log.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// The event log breaks one of the reader's bounds.
    #[error("event log, byte {offset}: {what} is {value}, more than the limit of {limit}")]
    LogTooLarge {
        /// Where in the log.
        offset: usize,
        /// What is too large.
        what: &'static str,
        /// Its value.
        value: u64,
        /// The bound.
        limit: u64,
    },
    /// The UKI could not be read.
    #[error("the UKI")]
    Uki(#[source] uki_stitcher::Error),
    /// The UKI's stub is a systemd-stub whose behaviour is not modelled.
    #[error(
        "the UKI's stub is systemd-stub {version}, whose measurements are not modelled \
         (modelled: {modelled})"
    )]
    UnmodelledStub {
        /// The version read from the stub's `.sdmagic`.
        version: String,
        /// The versions that are.
        modelled: String,
    },
    /// The UKI or boot uses something whose measurements are not modelled.
    #[error("not modelled: {what}")]
    Unmodelled {
        /// What.
        what: String,
    },
    /// The GPT of a disk could not be read for its measurement.
    #[error("the disk's GPT: {reason}")]
    Gpt {
        /// What is wrong.
        reason: String,
    },
    /// The firmware image is not a TDX firmware (TDVF) image this crate can read.
    #[error("the TDX firmware image: {reason}")]
    Firmware {
        /// What is wrong.
        reason: String,
    },
    /// The UKI lacks what a systemd-stub UKI has.
    #[error("the UKI: {reason}")]
    NotAUki {
        /// What is missing.
        reason: String,
    },
}

impl From<uki_stitcher::Error> for Error {
    fn from(source: uki_stitcher::Error) -> Self {
        Self::Uki(source)
    }
}
