//! GPT partition types: the names `Type=` accepts and the type GUIDs they stand for.
//!
//! The names and GUIDs are those of the UAPI Discoverable Partitions Specification, as
//! systemd-repart spells them. The name also gives a partition its default GPT label (see
//! [`crate::layout`]), as in systemd-repart: the name when the type is known, `linux` otherwise.
//!
//! Only architecture-qualified names are accepted (`root-x86-64`, not `root`): systemd-repart
//! resolves a bare `root` to the architecture it runs on, and a build must not depend on that.

use std::fmt;

use uuid::{Uuid, uuid};

/// A partition type: its GUID, and its name when the type is one this crate knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartitionType {
    /// The type GUID written to the partition entry.
    pub guid: Uuid,
}

/// `(name, type GUID)` of the types `Type=` accepts by name.
const KNOWN: &[(&str, Uuid)] = &[
    ("esp", uuid!("c12a7328-f81f-11d2-ba4b-00a0c93ec93b")),
    ("xbootldr", uuid!("bc13c2ff-59e6-4262-a352-b275fd6f7172")),
    ("swap", uuid!("0657fd6d-a4ab-43c4-84e5-0933c84b4f4f")),
    ("home", uuid!("933ac7e1-2eb4-4f13-b844-0e14e2aef915")),
    ("srv", uuid!("3b8f8425-20e0-4f3b-907f-1a25a76f98e8")),
    ("var", uuid!("4d21b016-b534-45c2-a9fb-5c16e091fd2d")),
    ("tmp", uuid!("7ec6f557-3bc5-4aca-b293-16ef5df639d1")),
    ("user-home", uuid!("773f91ef-66d4-49b5-bd83-d683bf40ad16")),
    (
        "linux-generic",
        uuid!("0fc63daf-8483-4772-8e79-3d69d8477de4"),
    ),
    ("root-x86-64", uuid!("4f68bce3-e8cd-4db1-96e7-fbcaf984b709")),
    (
        "root-x86-64-verity",
        uuid!("2c7357ed-ebd2-46d9-aec1-23d437ec2bf5"),
    ),
    (
        "root-x86-64-verity-sig",
        uuid!("41092b05-9fc8-4523-994f-2def0408b176"),
    ),
    ("usr-x86-64", uuid!("8484680c-9521-48c6-9c11-b0720656f69e")),
    (
        "usr-x86-64-verity",
        uuid!("77ff5f63-e7b6-4633-acf4-1565b864c0e6"),
    ),
    (
        "usr-x86-64-verity-sig",
        uuid!("e7bb33fb-06cf-4e81-8273-e543b413e2e2"),
    ),
    ("root-arm64", uuid!("b921b045-1df0-41c3-af44-4c6f280d3fae")),
    (
        "root-arm64-verity",
        uuid!("df3300ce-d69f-4c92-978c-9bfb0f38d820"),
    ),
    (
        "root-arm64-verity-sig",
        uuid!("6db69de6-29f4-4758-a7a5-962190f00ce3"),
    ),
    ("usr-arm64", uuid!("b0e01050-ee5f-4390-949a-9101b17104e9")),
    (
        "usr-arm64-verity",
        uuid!("6e11a4e7-fbca-4ded-b9e9-e1a512bb664e"),
    ),
];

impl PartitionType {
    /// The EFI System Partition.
    pub const ESP: PartitionType = PartitionType {
        guid: uuid!("c12a7328-f81f-11d2-ba4b-00a0c93ec93b"),
    };

    /// Parses a `Type=` value: a known name or a GUID.
    pub fn parse(value: &str) -> Option<PartitionType> {
        let value = value.trim();
        if let Some((_, guid)) = KNOWN.iter().find(|(name, _)| *name == value) {
            return Some(PartitionType { guid: *guid });
        }
        // A GUID, with or without hyphens, as sd_id128_from_string accepts.
        Uuid::try_parse(value)
            .ok()
            .filter(|guid| !guid.is_nil())
            .map(|guid| PartitionType { guid })
    }

    /// The name systemd-repart knows this type by, if it is one of the known ones.
    pub fn name(self) -> Option<&'static str> {
        KNOWN
            .iter()
            .find(|(_, guid)| *guid == self.guid)
            .map(|(name, _)| *name)
    }

    /// Every `(name, type GUID)` pair `Type=` accepts by name.
    pub fn known() -> &'static [(&'static str, Uuid)] {
        KNOWN
    }

    /// Whether this is the EFI System Partition type.
    pub fn is_esp(self) -> bool {
        self == Self::ESP
    }
}

impl fmt::Display for PartitionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}", self.guid.hyphenated()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_guids_round_trip() {
        for (name, guid) in KNOWN {
            let parsed = PartitionType::parse(name).unwrap();
            assert_eq!(parsed.guid, *guid);
            assert_eq!(parsed.name(), Some(*name));
        }
    }

    #[test]
    fn guid_values_are_accepted_and_named_when_known() {
        let esp = PartitionType::parse("C12A7328-F81F-11D2-BA4B-00A0C93EC93B").unwrap();
        assert!(esp.is_esp());
        assert_eq!(esp.to_string(), "esp");
        let other = PartitionType::parse("01234567-89ab-cdef-0123-456789abcdef").unwrap();
        assert_eq!(other.name(), None);
        assert_eq!(other.to_string(), "01234567-89ab-cdef-0123-456789abcdef");
    }

    #[test]
    fn host_dependent_and_bogus_names_are_refused() {
        assert_eq!(PartitionType::parse("root"), None);
        assert_eq!(PartitionType::parse("usr"), None);
        assert_eq!(PartitionType::parse("espp"), None);
        assert_eq!(
            PartitionType::parse("00000000-0000-0000-0000-000000000000"),
            None
        );
    }
}
