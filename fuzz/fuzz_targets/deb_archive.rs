//! Fuzzes the bounded `.deb` reader: any bytes give members or a `MalformedDeb` error, never
//! a panic, and never more memory than the limits allow.

#![no_main]

use build_vocab::debian::deb::{Limits, read_control_members, with_data};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_control_expanded: 1 << 20,
        ..Limits::default()
    };
    let _ = read_control_members(data, &limits);
    let _ = with_data(data, &limits, |_, reader| {
        let mut sink = [0u8; 4096];
        let mut total = 0usize;
        // The data member is bounded by the caller (the unpacker); read a little of it.
        while total < 1 << 20 {
            match reader.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
        Ok::<_, build_vocab::Error>(total)
    });
});
