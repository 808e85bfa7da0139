//! What Linux's EFI stub measures (since 6.1; the kernel of Debian trixie is 6.12): into
//! PCR 9, as EV_EVENT_TAG events, first the LoadOptions it was started with (the raw bytes,
//! here systemd-stub's UTF-16LE command line with its NUL), then the initrd it loaded
//! through the LINUX_INITRD_MEDIA LoadFile2 protocol. The event data is
//! `{u32 tag; u32 size; ASCII description with NUL}`.

use crate::bank::Digests;
use crate::event::{Event, EventType};

/// The PCR Linux's EFI stub measures into (`TPM2_PCR_KERNEL_INITRD`).
pub const PCR_KERNEL_INITRD: u32 = 9;

/// The tag and description of the LoadOptions event.
const LOAD_OPTIONS: (u32, &str) = (0x8F3B_22ED, "LOADED_IMAGE::LoadOptions");
/// The tag and description of the initrd event.
const INITRD: (u32, &str) = (0x8F3B_22EC, "Linux initrd");

/// The EFI stub's events, given the LoadOptions it gets and the initrd it loads.
pub fn events(load_options: Option<&[u8]>, initrd: Option<&Digests>) -> Vec<Event> {
    let mut events = Vec::new();
    if let Some(options) = load_options.filter(|options| !options.is_empty()) {
        events.push(tagged(
            LOAD_OPTIONS,
            Digests::of(options),
            "kernel LoadOptions",
        ));
    }
    if let Some(initrd) = initrd {
        events.push(tagged(INITRD, initrd.clone(), "initrd as Linux loaded it"));
    }
    events
}

fn tagged((tag, text): (u32, &str), digests: Digests, description: &str) -> Event {
    let mut data = tag.to_le_bytes().to_vec();
    data.extend((text.len() as u32 + 1).to_le_bytes());
    data.extend(text.as_bytes());
    data.push(0);
    Event {
        pcr: PCR_KERNEL_INITRD,
        event_type: EventType::EVENT_TAG,
        digests,
        description: description.to_owned(),
        data: Some(data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_then_initrd_as_tagged_events() {
        let initrd = Digests::of(b"initrd");
        let events = events(Some(&[0x61, 0, 0, 0]), Some(&initrd));
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].digests, Digests::of(&[0x61, 0, 0, 0]));
        // Linux's TCG_PCClientTaggedEvent for "Linux initrd": the id, 13, the string.
        let data = events[1].data.as_deref().unwrap();
        assert_eq!(&data[..8], [0xEC, 0x22, 0x3B, 0x8F, 13, 0, 0, 0]);
        assert_eq!(&data[8..], b"Linux initrd\0");
        assert!(super::events(None, None).is_empty());
    }
}
