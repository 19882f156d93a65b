//! A ZIP archive of the exported handbook and its evidence files, written as it is sent
//! (`ZipStream`). Entries are stored, not compressed: evidence is mostly PDF, Office and images,
//! which are compressed already, and a stored archive is a few lines of code rather than a
//! dependency.

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL: u32 = 0x0605_4b50;
/// General-purpose flag: file names are UTF-8.
const UTF8_NAMES: u16 = 1 << 11;

#[derive(Debug, PartialEq, Eq)]
pub enum ZipError {
    /// Past what a ZIP without the ZIP64 extension holds (4 GB, 65,535 entries).
    TooLarge,
}

/// General-purpose flag: the CRC and sizes follow the data in a data descriptor, so an entry can
/// be written while its file is still being read.
const DATA_DESCRIPTOR: u16 = 1 << 3;
const DESCRIPTOR: u32 = 0x0807_4b50;

/// An archive written as it goes: the header of each entry, then its bytes as they arrive, then
/// a data descriptor with its CRC and size; the central directory at the end. Only the
/// directory's few bytes per entry are held, however large the files, so a handbook with
/// hundreds of megabytes of evidence streams in constant memory.
pub struct ZipStream {
    dos_time: u16,
    dos_date: u16,
    written: u64,
    central: Vec<u8>,
    count: usize,
    current: Option<Current>,
}

struct Current {
    name: Vec<u8>,
    offset: u64,
    size: u64,
    crc: crc::Digest<'static, u32>,
}

static CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

impl ZipStream {
    pub fn new(dos_time: u16, dos_date: u16) -> ZipStream {
        ZipStream {
            dos_time,
            dos_date,
            written: 0,
            central: Vec::new(),
            count: 0,
            current: None,
        }
    }

    fn out(&mut self, bytes: Vec<u8>) -> Vec<u8> {
        self.written += bytes.len() as u64;
        bytes
    }

    /// The local header of the next entry.
    pub fn begin(&mut self, name: &str) -> Result<Vec<u8>, ZipError> {
        if self.count >= u16::MAX as usize || self.current.is_some() {
            return Err(ZipError::TooLarge);
        }
        let name_len = u16::try_from(name.len()).map_err(|_| ZipError::TooLarge)?;
        let mut h = Vec::with_capacity(30 + name.len());
        h.extend_from_slice(&LOCAL_HEADER.to_le_bytes());
        h.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
        h.extend_from_slice(&(UTF8_NAMES | DATA_DESCRIPTOR).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        h.extend_from_slice(&self.dos_time.to_le_bytes());
        h.extend_from_slice(&self.dos_date.to_le_bytes());
        h.extend_from_slice(&[0u8; 12]); // CRC and sizes: in the descriptor
        h.extend_from_slice(&name_len.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes()); // extra field length
        h.extend_from_slice(name.as_bytes());
        self.current = Some(Current {
            name: name.as_bytes().to_vec(),
            offset: self.written,
            size: 0,
            crc: CRC32.digest(),
        });
        Ok(self.out(h))
    }

    /// Counts `chunk` of the current entry's bytes (the caller sends the chunk itself on).
    pub fn data(&mut self, chunk: &[u8]) {
        if let Some(c) = self.current.as_mut() {
            c.crc.update(chunk);
            c.size += chunk.len() as u64;
        }
        self.written += chunk.len() as u64;
    }

    /// The data descriptor that ends the current entry.
    pub fn end(&mut self) -> Result<Vec<u8>, ZipError> {
        let c = self.current.take().ok_or(ZipError::TooLarge)?;
        let u32_of = |n: u64| u32::try_from(n).map_err(|_| ZipError::TooLarge);
        let (size, offset) = (u32_of(c.size)?, u32_of(c.offset)?);
        let crc = c.crc.finalize();
        let mut d = Vec::with_capacity(16);
        d.extend_from_slice(&DESCRIPTOR.to_le_bytes());
        d.extend_from_slice(&crc.to_le_bytes());
        d.extend_from_slice(&size.to_le_bytes());
        d.extend_from_slice(&size.to_le_bytes());
        let name_len = c.name.len() as u16;
        let cd = &mut self.central;
        cd.extend_from_slice(&CENTRAL_HEADER.to_le_bytes());
        cd.extend_from_slice(&20u16.to_le_bytes()); // version made by
        cd.extend_from_slice(&20u16.to_le_bytes()); // version needed
        cd.extend_from_slice(&(UTF8_NAMES | DATA_DESCRIPTOR).to_le_bytes());
        cd.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        cd.extend_from_slice(&self.dos_time.to_le_bytes());
        cd.extend_from_slice(&self.dos_date.to_le_bytes());
        cd.extend_from_slice(&crc.to_le_bytes());
        cd.extend_from_slice(&size.to_le_bytes());
        cd.extend_from_slice(&size.to_le_bytes());
        cd.extend_from_slice(&name_len.to_le_bytes());
        cd.extend_from_slice(&[0u8; 12]); // extra, comment, disk, internal and external attributes
        cd.extend_from_slice(&offset.to_le_bytes());
        cd.extend_from_slice(&c.name);
        self.count += 1;
        Ok(self.out(d))
    }

    /// The central directory and its end record.
    pub fn finish(mut self) -> Result<Vec<u8>, ZipError> {
        let u32_of = |n: u64| u32::try_from(n).map_err(|_| ZipError::TooLarge);
        let central_offset = u32_of(self.written)?;
        let central_size = u32_of(self.central.len() as u64)?;
        let count = self.count as u16;
        let mut out = std::mem::take(&mut self.central);
        out.extend_from_slice(&END_OF_CENTRAL.to_le_bytes());
        out.extend_from_slice(&[0u8; 4]); // this disk, disk with the central directory
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&central_size.to_le_bytes());
        out.extend_from_slice(&central_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // comment length
        Ok(out)
    }
}

/// MS-DOS time and date of a moment (local time is the archive's convention; UTC is close
/// enough for a file stamp).
pub fn dos_stamp(t: chrono::NaiveDateTime) -> (u16, u16) {
    use chrono::{Datelike, Timelike};
    let time = ((t.hour() << 11) | (t.minute() << 5) | (t.second() / 2)) as u16;
    let year = t.year().clamp(1980, 2107) - 1980;
    let date = ((year as u32) << 9 | t.month() << 5 | t.day()) as u16;
    (time, date)
}

/// A name safe inside an archive: no folders, no characters that some systems refuse.
pub fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_control() || crate::content::is_bidi_control(c) || "/\\:*?\"<>|".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.');
    if trimmed.is_empty() {
        "file".to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_archive_has_descriptors_and_a_directory_that_points_at_them() {
        let mut z = ZipStream::new(0, 0x21);
        let mut out = Vec::new();
        for (name, data) in [("a.txt", &b"hello"[..]), ("b/c.pdf", &b"%PDF-1.4"[..])] {
            out.extend(z.begin(name).unwrap());
            z.data(data);
            out.extend_from_slice(data);
            out.extend(z.end().unwrap());
        }
        out.extend(z.finish().unwrap());
        // First entry: flag bit 3 set, sizes zero in the header, the descriptor after the data.
        assert_eq!(u32_at(&out, 0), LOCAL_HEADER);
        assert_eq!(
            u16::from_le_bytes([out[6], out[7]]) & DATA_DESCRIPTOR,
            DATA_DESCRIPTOR
        );
        let after = 30 + 5 + 5;
        assert_eq!(u32_at(&out, after), DESCRIPTOR);
        assert_eq!(u32_at(&out, after + 4), CRC32.checksum(b"hello"));
        assert_eq!(u32_at(&out, after + 8), 5);
        // The end record counts two entries and points at the directory.
        let end = out.len() - 22;
        assert_eq!(u32_at(&out, end), END_OF_CENTRAL);
        assert_eq!(u16::from_le_bytes([out[end + 8], out[end + 9]]), 2);
        let central = u32_at(&out, end + 16) as usize;
        assert_eq!(u32_at(&out, central), CENTRAL_HEADER);
        // Second entry's directory record points at its local header.
        let second = central + 46 + 5;
        assert_eq!(u32_at(&out, second), CENTRAL_HEADER);
        let offset = u32_at(&out, second + 42) as usize;
        assert_eq!(u32_at(&out, offset), LOCAL_HEADER);
        assert_eq!(&out[offset + 30..offset + 37], b"b/c.pdf");
    }

    fn u32_at(b: &[u8], i: usize) -> u32 {
        u32::from_le_bytes(b[i..i + 4].try_into().unwrap())
    }

    #[test]
    fn names_lose_folders_and_odd_characters() {
        assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_name("a:b?.pdf"), "a_b_.pdf");
        assert_eq!(safe_name("   "), "file");
    }

    #[test]
    fn dos_stamps() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 11, 22)
            .unwrap()
            .and_hms_opt(10, 42, 30)
            .unwrap();
        let (time, date) = dos_stamp(t);
        assert_eq!(time, (10 << 11) | (42 << 5) | 15);
        assert_eq!(date, (46 << 9) | (11 << 5) | 22);
    }
}
