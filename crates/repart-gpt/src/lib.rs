//! Deterministic GPT disk images from systemd-repart style partition definitions.
//!
//! Planned (issue "repart-gpt"): read `repart.d` definitions, lay out a GPT with 1 MiB
//! alignment, derive the disk GUID and partition UUIDs from the image seed as systemd-repart
//! does, write the ESP as a FAT filesystem holding the UKI with fixed volume id and timestamps,
//! and package the disk for clouds (GCP `disk.raw` in a tar.gz, Azure fixed VHD).
//!
//! Nothing is implemented yet; this crate only reserves its place in the pipeline.
