//! A ZIP archive of the exported handbook and its evidence files. Entries are stored, not
//! compressed: evidence is mostly PDF, Office and images, which are compressed already, and a
//! stored archive is a few lines of code rather than a dependency.

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

/// An archive of `entries` (name, content) in the order given. `dos_time` and `dos_date` stamp
/// every entry (MS-DOS format).
pub fn stored(
    entries: &[(String, Vec<u8>)],
    dos_time: u16,
    dos_date: u16,
) -> Result<Vec<u8>, ZipError> {
    let crc32 = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let mut out = Vec::new();
    let mut central = Vec::new();
    if entries.len() > u16::MAX as usize {
        return Err(ZipError::TooLarge);
    }
    let u32_of = |n: usize| u32::try_from(n).map_err(|_| ZipError::TooLarge);
    for (name, data) in entries {
        let offset = u32_of(out.len())?;
        let size = u32_of(data.len())?;
        let name_len = u16::try_from(name.len()).map_err(|_| ZipError::TooLarge)?;
        let crc = crc32.checksum(data);
        // Fields shared by the local and central headers, from "version needed" to the name length.
        let mut common = Vec::new();
        common.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
        common.extend_from_slice(&UTF8_NAMES.to_le_bytes());
        common.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        common.extend_from_slice(&dos_time.to_le_bytes());
        common.extend_from_slice(&dos_date.to_le_bytes());
        common.extend_from_slice(&crc.to_le_bytes());
        common.extend_from_slice(&size.to_le_bytes()); // compressed size
        common.extend_from_slice(&size.to_le_bytes()); // uncompressed size
        common.extend_from_slice(&name_len.to_le_bytes());

        out.extend_from_slice(&LOCAL_HEADER.to_le_bytes());
        out.extend_from_slice(&common);
        out.extend_from_slice(&0u16.to_le_bytes()); // extra field length
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);

        central.extend_from_slice(&CENTRAL_HEADER.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        central.extend_from_slice(&common);
        central.extend_from_slice(&[0u8; 12]); // extra, comment, disk, internal and external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let central_offset = u32_of(out.len())?;
    let central_size = u32_of(central.len())?;
    out.extend_from_slice(&central);
    let count = entries.len() as u16;
    out.extend_from_slice(&END_OF_CENTRAL.to_le_bytes());
    out.extend_from_slice(&[0u8; 4]); // this disk, disk with the central directory
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    Ok(out)
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

    fn u32_at(b: &[u8], i: usize) -> u32 {
        u32::from_le_bytes(b[i..i + 4].try_into().unwrap())
    }

    #[test]
    fn an_archive_has_headers_data_and_a_directory_that_points_back() {
        let entries = vec![
            ("handbook.pdf".to_string(), b"%PDF-1.7 test".to_vec()),
            (
                "strand 1.1/minutes.txt".to_string(),
                b"Governors met.".to_vec(),
            ),
        ];
        let zip = stored(&entries, 0, 0x5b76).unwrap();
        assert_eq!(u32_at(&zip, 0), LOCAL_HEADER);
        let end = zip.len() - 22;
        assert_eq!(u32_at(&zip, end), END_OF_CENTRAL);
        let central_offset = u32_at(&zip, end + 16) as usize;
        assert_eq!(u32_at(&zip, central_offset), CENTRAL_HEADER);
        // The second central entry points at the second local header.
        let second = central_offset + 46 + "handbook.pdf".len();
        let local = u32_at(&zip, second + 42) as usize;
        assert_eq!(u32_at(&zip, local), LOCAL_HEADER);
        assert_eq!(&zip[local + 30..local + 30 + 22], b"strand 1.1/minutes.txt");
        // CRC-32 of the content, as every unzip checks it.
        let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(b"Governors met.");
        assert_eq!(u32_at(&zip, local + 14), crc);
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
