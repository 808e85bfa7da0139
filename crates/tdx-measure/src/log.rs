//! Reading a firmware event log (`binary_bios_measurements`): the crypto-agile format of the
//! TCG PC Client Platform Firmware Profile. The first record is a SHA-1-format
//! `TCG_PCR_EVENT` whose data is the `Spec ID Event03` structure naming the banks and their
//! digest sizes; every later record is a `TCG_PCR_EVENT2` (PCR index, event type, one digest
//! per bank, event data). All integers are little-endian.
//!
//! Every size read from the log is checked against [`Limits`] and the bytes left before it
//! is used, so a hostile log costs at most its own length in memory.

use crate::bank::AlgorithmId;
use crate::error::Error;
use crate::event::EventType;

/// Bounds on a log.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The whole log, in bytes.
    pub max_log_len: usize,
    /// Records.
    pub max_events: usize,
    /// The data of one record, in bytes.
    pub max_event_data: usize,
    /// Banks named by the Spec ID event.
    pub max_banks: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_log_len: 64 << 20,
            max_events: 1 << 16,
            max_event_data: 16 << 20,
            max_banks: 8,
        }
    }
}

/// One record of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    /// The byte offset of the record in the log.
    pub offset: usize,
    /// The PCR index.
    pub pcr: u32,
    /// The event type.
    pub event_type: EventType,
    /// The digests, one per bank, in the log's order.
    pub digests: Vec<(AlgorithmId, Vec<u8>)>,
    /// The event data.
    pub data: Vec<u8>,
}

impl LoggedEvent {
    /// The digest of bank `algorithm`, if the record has one.
    pub fn digest(&self, algorithm: AlgorithmId) -> Option<&[u8]> {
        self.digests
            .iter()
            .find(|(id, _)| *id == algorithm)
            .map(|(_, digest)| digest.as_slice())
    }
}

/// A parsed log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLog {
    /// The banks and their digest sizes, from the Spec ID event.
    pub banks: Vec<(AlgorithmId, u16)>,
    /// Every record after the Spec ID event, in order.
    pub events: Vec<LoggedEvent>,
}

/// The signature that opens the Spec ID event's data.
const SPEC_ID_SIGNATURE: &[u8; 16] = b"Spec ID Event03\0";

/// Parses a crypto-agile event log.
pub fn parse(log: &[u8], limits: &Limits) -> Result<EventLog, Error> {
    if log.len() > limits.max_log_len {
        return Err(Error::LogTooLarge {
            offset: 0,
            what: "the log",
            value: log.len() as u64,
            limit: limits.max_log_len as u64,
        });
    }
    let mut reader = Reader { log, offset: 0 };
    let banks = read_spec_id(&mut reader, limits)?;
    let mut events = Vec::new();
    while reader.offset < log.len() {
        if events.len() == limits.max_events {
            return Err(Error::LogTooLarge {
                offset: reader.offset,
                what: "the number of records",
                value: events.len() as u64 + 1,
                limit: limits.max_events as u64,
            });
        }
        events.push(read_event2(&mut reader, &banks, limits)?);
    }
    Ok(EventLog { banks, events })
}

/// The SHA-1-format first record and its `TCG_EfiSpecIDEvent` data.
fn read_spec_id(
    reader: &mut Reader<'_>,
    limits: &Limits,
) -> Result<Vec<(AlgorithmId, u16)>, Error> {
    let pcr = reader.u32("the first record's PCR index")?;
    let event_type = EventType(reader.u32("the first record's event type")?);
    if pcr != 0 || event_type != EventType::NO_ACTION {
        return Err(reader.malformed(format!(
            "the first record is {} in PCR {pcr}, not the EV_NO_ACTION Spec ID event \
             (a SHA-1-only log is not supported)",
            event_type.name()
        )));
    }
    reader.bytes(20, "the first record's SHA-1 digest")?;
    let size = reader.u32("the Spec ID event's size")? as usize;
    let data_start = reader.offset;
    let data = reader.bytes(size, "the Spec ID event")?;
    let mut spec = Reader {
        log: data,
        offset: 0,
    };
    if spec.bytes(16, "the signature")? != SPEC_ID_SIGNATURE {
        return Err(Error::MalformedLog {
            offset: data_start,
            reason: "the first record is not `Spec ID Event03`".into(),
        });
    }
    // platformClass u32, specVersionMinor/Major, specErrata, uintnSize: one byte each.
    spec.bytes(8, "the Spec ID event's version fields")?;
    let count = spec.u32("the number of banks")? as usize;
    if count == 0 || count > limits.max_banks {
        return Err(Error::LogTooLarge {
            offset: data_start + spec.offset,
            what: "the number of banks",
            value: count as u64,
            limit: limits.max_banks as u64,
        });
    }
    let mut banks = Vec::with_capacity(count);
    for _ in 0..count {
        let algorithm = AlgorithmId(spec.u16("a bank's algorithm")?);
        let size = spec.u16("a bank's digest size")?;
        if size == 0 || size > 64 {
            return Err(Error::MalformedLog {
                offset: data_start + spec.offset,
                reason: format!("bank {} has digest size {size}", algorithm.name()),
            });
        }
        banks.push((algorithm, size));
    }
    Ok(banks)
}

/// One `TCG_PCR_EVENT2`.
fn read_event2(
    reader: &mut Reader<'_>,
    banks: &[(AlgorithmId, u16)],
    limits: &Limits,
) -> Result<LoggedEvent, Error> {
    let offset = reader.offset;
    let pcr = reader.u32("a record's PCR index")?;
    let event_type = EventType(reader.u32("a record's event type")?);
    let count = reader.u32("a record's number of digests")? as usize;
    if count > banks.len() {
        return Err(reader.malformed(format!(
            "a record has {count} digests, the log declares {} banks",
            banks.len()
        )));
    }
    let mut digests = Vec::with_capacity(count);
    for _ in 0..count {
        let algorithm = AlgorithmId(reader.u16("a digest's algorithm")?);
        let Some(&(_, size)) = banks.iter().find(|(id, _)| *id == algorithm) else {
            return Err(reader.malformed(format!(
                "a digest of bank {}, which the Spec ID event does not declare",
                algorithm.name()
            )));
        };
        digests.push((algorithm, reader.bytes(size.into(), "a digest")?.to_vec()));
    }
    let size = reader.u32("a record's event size")? as usize;
    if size > limits.max_event_data {
        return Err(Error::LogTooLarge {
            offset: reader.offset,
            what: "a record's event data",
            value: size as u64,
            limit: limits.max_event_data as u64,
        });
    }
    let data = reader.bytes(size, "a record's event data")?.to_vec();
    Ok(LoggedEvent {
        offset,
        pcr,
        event_type,
        digests,
        data,
    })
}

/// A cursor over the log that never reads past its end.
struct Reader<'a> {
    log: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, len: usize, what: &str) -> Result<&'a [u8], Error> {
        let left = self.log.len() - self.offset;
        if len > left {
            return Err(self.malformed(format!("{what} needs {len} bytes, {left} are left")));
        }
        let bytes = &self.log[self.offset..self.offset + len];
        self.offset += len;
        Ok(bytes)
    }

    fn u16(&mut self, what: &str) -> Result<u16, Error> {
        let bytes = self.bytes(2, what)?;
        Ok(u16::from_le_bytes([bytes[0], bytes[1]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32, Error> {
        let bytes = self.bytes(4, what)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn malformed(&self, reason: String) -> Error {
        Error::MalformedLog {
            offset: self.offset,
            reason,
        }
    }
}
