//! The crate's one error type.
//!
//! Every variant names what it is about: a definition file and line, a partition (by its
//! number and the definition file it came from), a path in a copy source or in the output
//! directory. Nothing is reported as a bare `io::Error`.

use build_vocab::PathError;
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while reading definitions, planning, emitting or writing a disk.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A definition file that is not valid INI.
    #[error("{}:{line}: {reason}", path.display())]
    Syntax {
        /// The definition file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong with the line (a detail of this error, not a cause of its own).
        reason: build_vocab::ini::IniSyntaxError,
    },
    /// A section other than `[Partition]`.
    #[error("{}:{line}: unknown section [{section}] (repart.d files have only [Partition])", path.display())]
    UnknownSection {
        /// The definition file.
        path: PathBuf,
        /// 1-based line of the section header.
        line: usize,
        /// The section name.
        section: String,
    },
    /// A key systemd-repart does not know.
    #[error("{}:{line}: unknown setting `{key}`", path.display())]
    UnknownSetting {
        /// The definition file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The key as written.
        key: String,
    },
    /// A key systemd-repart knows but this crate does not implement; ignoring it would build a
    /// different disk than systemd-repart, so it is refused.
    #[error("{}:{line}: `{key}=` is a systemd-repart setting this builder does not support", path.display())]
    UnsupportedSetting {
        /// The definition file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The key as written.
        key: String,
    },
    /// A value that does not parse as its setting requires.
    #[error("{}:{line}: invalid {key}=`{value}`: expected {expected}", path.display())]
    InvalidValue {
        /// The definition file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The setting.
        key: &'static str,
        /// The value as written.
        value: String,
        /// What the setting accepts.
        expected: &'static str,
    },
    /// A definition without `Type=`.
    #[error("{}: no Type= (every partition definition needs one)", path.display())]
    MissingType {
        /// The definition file.
        path: PathBuf,
    },
    /// Two settings that contradict each other in one definition.
    #[error("{}:{line}: {reason}", path.display())]
    Conflict {
        /// The definition file.
        path: PathBuf,
        /// 1-based line of the setting that made it contradictory (0 when it is the file).
        line: usize,
        /// What contradicts what.
        reason: String,
    },
    /// `SizeMinBytes=` and `SizeMaxBytes=` leave no size: rounded to 4 KiB, the minimum
    /// exceeds the maximum.
    #[error("{}: SizeMinBytes= rounds up to {min} and SizeMaxBytes= down to {max}: no size in between is a multiple of 4096", path.display())]
    SizeRange {
        /// The definition file.
        path: PathBuf,
        /// The minimum, rounded up to 4 KiB.
        min: u64,
        /// The maximum, rounded down to 4 KiB.
        max: u64,
    },
    /// A definitions directory that holds no `*.conf` file.
    #[error("no *.conf partition definitions in {}", dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", "))]
    NoDefinitions {
        /// The directories searched.
        dirs: Vec<PathBuf>,
    },
    /// Two partitions with the same UUID (given, or equal to a derived one).
    #[error("partitions {first} and {second} both have UUID {uuid}")]
    DuplicateUuid {
        /// Number of the first partition.
        first: u32,
        /// Number of the second partition.
        second: u32,
        /// The shared UUID.
        uuid: uuid::Uuid,
    },
    /// A `CopyFiles=` source that is neither staged nor found under the copy source root.
    #[error("{}: CopyFiles= source `{source_path}` not found", definition.display())]
    CopySourceMissing {
        /// The definition file naming it.
        definition: PathBuf,
        /// The source path as written.
        source_path: String,
    },
    /// A `CopyFiles=` source that a FAT filesystem cannot hold (a symlink, a device node).
    #[error("{}: {} cannot be copied into a FAT filesystem: {reason}", definition.display(), path.display())]
    CopySourceKind {
        /// The definition file naming it.
        definition: PathBuf,
        /// The file on disk.
        path: PathBuf,
        /// What kind of file it is.
        reason: &'static str,
    },
    /// A `CopyFiles=` path that cannot be used: a source with `..`, or a target that is not a
    /// valid FAT path (an invalid character, `..`, an empty component).
    #[error("{}: CopyFiles= path `{path}`: {reason}", definition.display())]
    InvalidCopyPath {
        /// The definition file naming it.
        definition: PathBuf,
        /// The path as written.
        path: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// Two copied entries that land on the same FAT name (FAT names are case-insensitive), or
    /// a file where a directory is needed.
    #[error("{}: `{target}` is copied twice or collides with `{other}`", definition.display())]
    TargetCollision {
        /// The definition file.
        definition: PathBuf,
        /// The target path.
        target: String,
        /// The entry it collides with.
        other: String,
    },
    /// The partition's content does not fit the size its definition allows.
    #[error("partition {number} ({}): its content needs {needed} bytes but the definition gives it {size} (raise SizeMinBytes= or set Minimize=guess)", definition.display())]
    ContentTooLarge {
        /// Partition number.
        number: u32,
        /// The definition file.
        definition: PathBuf,
        /// Bytes the content needs.
        needed: u64,
        /// Bytes the definition gives the partition (at most `SizeMaxBytes=`).
        size: u64,
    },
    /// A requested disk size that cannot hold the partitions, or is not a whole number of sectors.
    #[error("disk size {requested} bytes: {reason} (the partitions need {needed} bytes)")]
    DiskSize {
        /// The size asked for.
        requested: u64,
        /// The minimum the layout needs.
        needed: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No partition can take the UKI: the image needs an `esp` partition with `Format=vfat`.
    #[error("no Type=esp partition with Format=vfat to hold the UKI")]
    NoEsp,
    /// The FAT filesystem library failed while formatting or filling a partition.
    #[error("partition {number}: writing the FAT filesystem failed")]
    Fat {
        /// Partition number.
        number: u32,
        /// The library's error.
        source: io::Error,
    },
    /// Data for a dm-verity hash tree whose length is not a positive multiple of the 4 KiB
    /// data block.
    #[error("dm-verity data of {len} bytes: the length must be a positive multiple of 4096")]
    VerityDataLength {
        /// The length given.
        len: u64,
    },
    /// The data of a dm-verity hash tree could not be read, or ended before its stated length.
    #[error("reading the dm-verity data failed")]
    VerityRead(#[source] io::Error),
    /// A verity signing key that cannot be used: not PEM, encrypted, or malformed.
    #[error("verity signing key: {reason}")]
    SigningKey {
        /// What is wrong with it.
        reason: String,
    },
    /// A verity signing key of another algorithm than RSA.
    #[error("verity signing key: a {algorithm} key, but only RSA keys are supported")]
    UnsupportedKeyAlgorithm {
        /// The key's algorithm (a name, or the OID when it is not a known one).
        algorithm: String,
    },
    /// A verity signing certificate that cannot be used: not PEM, malformed, or not RSA.
    #[error("verity signing certificate: {reason}")]
    Certificate {
        /// What is wrong with it.
        reason: String,
    },
    /// A verity signing key whose public half is not the certificate's public key.
    #[error("the verity signing key does not match the certificate's public key")]
    KeyCertificateMismatch,
    /// RSA signing, or encoding the PKCS#7 signature, failed.
    #[error("signing the verity root hash failed: {reason}")]
    Signing {
        /// What failed.
        reason: String,
    },
    /// A verity signature JSON object too large for the signature partition.
    #[error(
        "the verity signature object is {len} bytes, more than the {size}-byte signature partition holds"
    )]
    SignatureTooLarge {
        /// Bytes of the JSON object and its terminating NUL.
        len: u64,
        /// The partition size.
        size: u64,
    },
    /// An architecture without the root, root verity and root verity signature partition types
    /// an extension image needs.
    #[error(
        "no extension image partition types for architecture `{architecture}` (known: {known})"
    )]
    UnsupportedArchitecture {
        /// The architecture asked for.
        architecture: String,
        /// The architectures that have all three types.
        known: String,
    },
    /// An extension image request that contradicts itself.
    #[error("extension image: {reason}")]
    ExtensionRequest {
        /// What contradicts what.
        reason: &'static str,
    },
    /// A root file system image whose size is not a positive multiple of 4096.
    #[error("{}: {len} bytes; a root file system image must be a positive multiple of 4096 bytes", path.display())]
    RootImageSize {
        /// The image file.
        path: PathBuf,
        /// Its size.
        len: u64,
    },
    /// The GPT library refused the planned table.
    #[error("writing the GPT failed")]
    Gpt(#[from] gpt::GptError),
    /// The protective MBR could not be written.
    #[error("writing the protective MBR failed")]
    Mbr(#[from] gpt::mbr::MBRError),
    /// An output file could not be published (written whole, synced, renamed).
    #[error(transparent)]
    Publish(#[from] build_vocab::Error),
    /// An I/O error on a file or directory.
    #[error(transparent)]
    Io(#[from] PathError),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
