//! Integration tests: synthetic stubs check the layout rules offline; the real systemd-stub
//! and Debian kernel are judged by objdump, osslsigncode and a QEMU/OVMF boot.

mod authenticode;
mod boot;
mod errors;
mod layout;
mod real;
mod support;
