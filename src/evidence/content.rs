//! What an uploaded file is, decided from its bytes and never from its name or from the type the
//! browser claims: a file called `minutes.pdf` that is really a web page must be refused, because
//! whoever downloads it later trusts the library to hold documents only.
//!
//! `infer` recognises the magic numbers. Word, Excel and PowerPoint files (OOXML) and OpenDocument
//! files are ZIP archives, and so are many things we do not accept, so for those we read the
//! archive's own list of entries (its central directory) rather than guess from the first bytes.
//! Plain text and CSV have no magic number: they are accepted when they decode as text, hold no
//! control characters, and do not start with markup (HTML, SVG, XML or script), which a browser
//! could be talked into running.

use std::fmt;

/// A kind of file the evidence library accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pdf,
    Docx,
    Xlsx,
    Pptx,
    Odt,
    Ods,
    Odp,
    Png,
    Jpeg,
    Text(Charset),
    Csv(Charset),
}

/// How a text file's bytes are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Utf8,
    /// Text saved by older Windows programs (Notepad, Excel's "CSV" on some versions).
    Windows1252,
}

/// Shown whenever a file is refused for its type, so people know what to send instead.
pub const ACCEPTED: &str = "PDF, Word, Excel or PowerPoint (.docx, .xlsx, .pptx), OpenDocument (.odt, .ods, .odp), PNG, JPEG, plain text or CSV";

/// Why a file is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Empty,
    /// Not one of the accepted types (or pretending to be one).
    NotAccepted,
    /// An Office file with macros, which run code when opened.
    Macros,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Empty => f.write_str("The selected file is empty"),
            Refusal::NotAccepted => write!(f, "The selected file must be a {ACCEPTED}"),
            Refusal::Macros => f.write_str(
                "The selected file contains macros, which can run code on the computer of whoever opens it. Save it without macros (as .docx, .xlsx or .pptx) and upload that",
            ),
        }
    }
}

impl Kind {
    /// The Content-Type stored and sent with downloads.
    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Pdf => "application/pdf",
            Kind::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Kind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Kind::Pptx => {
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            }
            Kind::Odt => "application/vnd.oasis.opendocument.text",
            Kind::Ods => "application/vnd.oasis.opendocument.spreadsheet",
            Kind::Odp => "application/vnd.oasis.opendocument.presentation",
            Kind::Png => "image/png",
            Kind::Jpeg => "image/jpeg",
            Kind::Text(Charset::Utf8) => "text/plain; charset=utf-8",
            Kind::Text(Charset::Windows1252) => "text/plain; charset=windows-1252",
            Kind::Csv(Charset::Utf8) => "text/csv; charset=utf-8",
            Kind::Csv(Charset::Windows1252) => "text/csv; charset=windows-1252",
        }
    }

    /// Text kinds are read for pupils' personal data before they are kept.
    pub fn is_text(self) -> bool {
        matches!(self, Kind::Text(_) | Kind::Csv(_))
    }
}

/// Each stored type (without parameters), what people call it, and the extensions its files
/// have (the first is the one a download gets when its name has none of them).
const TYPES: &[(&str, &str, &[&str])] = &[
    ("application/pdf", "PDF", &["pdf"]),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Word",
        &["docx"],
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Excel",
        &["xlsx"],
    ),
    (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "PowerPoint",
        &["pptx"],
    ),
    (
        "application/vnd.oasis.opendocument.text",
        "OpenDocument text",
        &["odt"],
    ),
    (
        "application/vnd.oasis.opendocument.spreadsheet",
        "OpenDocument spreadsheet",
        &["ods"],
    ),
    (
        "application/vnd.oasis.opendocument.presentation",
        "OpenDocument presentation",
        &["odp"],
    ),
    ("image/png", "PNG image", &["png"]),
    ("image/jpeg", "JPEG image", &["jpg", "jpeg"]),
    ("text/plain", "Text", &["txt", "text"]),
    ("text/csv", "CSV", &["csv"]),
];

fn type_of(
    content_type: &str,
) -> Option<&'static (&'static str, &'static str, &'static [&'static str])> {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    TYPES.iter().find(|(t, _, _)| *t == essence)
}

/// What people see in the library's "Type" column.
pub fn type_label(content_type: &str) -> &'static str {
    type_of(content_type).map_or("Other", |(_, label, _)| label)
}

/// Whether a file name extension suits the stored type ("jpeg" suits image/jpeg).
pub fn extension_fits(content_type: &str, ext: &str) -> bool {
    let ext = ext.to_ascii_lowercase();
    type_of(content_type).is_some_and(|(_, _, exts)| exts.contains(&ext.as_str()))
}

/// The extension a download gets when its own name does not suit its type.
pub fn extension_for(content_type: &str) -> &'static str {
    type_of(content_type).map_or("bin", |(_, _, exts)| exts[0])
}

/// Decides what `bytes` are, by content alone.
pub fn classify(bytes: &[u8]) -> Result<Kind, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return classify_zip(bytes);
    }
    let found = infer::get(bytes).map(|t| t.mime_type());
    match found {
        // infer accepts "%PDF" anywhere in the first kilobyte; a web page can carry that too, so a
        // PDF must start with its header.
        Some("application/pdf") if bytes.starts_with(b"%PDF-") => Ok(Kind::Pdf),
        Some("image/png") => Ok(Kind::Png),
        Some("image/jpeg") => Ok(Kind::Jpeg),
        // Everything else infer names is refused by the text rules: binary formats hold control
        // characters, and the text-shaped ones (HTML, XML, scripts) start like markup. Text whose
        // first two letters happen to match a short magic number ("BM" of a bitmap, "MZ" of a
        // Windows program) is still text.
        _ => classify_text(bytes),
    }
}

/// OOXML (a `[Content_Types].xml` entry and the application's folder) or OpenDocument (a
/// `mimetype` entry naming it); any other archive is refused.
fn classify_zip(bytes: &[u8]) -> Result<Kind, Refusal> {
    let entries = zip_entries(bytes).ok_or(Refusal::NotAccepted)?;
    if let Some(m) = entries.iter().find(|e| e.name == "mimetype") {
        let declared = stored_content(bytes, m).ok_or(Refusal::NotAccepted)?;
        return match declared.trim_ascii() {
            b"application/vnd.oasis.opendocument.text" => Ok(Kind::Odt),
            b"application/vnd.oasis.opendocument.spreadsheet" => Ok(Kind::Ods),
            b"application/vnd.oasis.opendocument.presentation" => Ok(Kind::Odp),
            _ => Err(Refusal::NotAccepted),
        };
    }
    if !entries.iter().any(|e| e.name == "[Content_Types].xml") {
        return Err(Refusal::NotAccepted);
    }
    let has = |folder: &str| entries.iter().any(|e| e.name.starts_with(folder));
    let kind = match (has("word/"), has("xl/"), has("ppt/")) {
        (true, false, false) => Kind::Docx,
        (false, true, false) => Kind::Xlsx,
        (false, false, true) => Kind::Pptx,
        _ => return Err(Refusal::NotAccepted),
    };
    if entries
        .iter()
        .any(|e| e.name.to_ascii_lowercase().ends_with("vbaproject.bin"))
    {
        return Err(Refusal::Macros);
    }
    Ok(kind)
}

/// Plain text or CSV, in UTF-8 or Windows-1252, without control characters and not starting with
/// markup.
fn classify_text(bytes: &[u8]) -> Result<Kind, Refusal> {
    let (text, charset) = decode_text(bytes).ok_or(Refusal::NotAccepted)?;
    let start = text.trim_start().to_ascii_lowercase();
    // Any tag or declaration at the start ("<html", "<!doctype", "<?xml", "<svg", "<script")
    // makes it markup; a script starts "#!", PostScript "%!", rich text "{\rtf".
    if ["<", "#!", "%!", "{\\rtf"]
        .iter()
        .any(|m| start.starts_with(m))
    {
        return Err(Refusal::NotAccepted);
    }
    Ok(if looks_like_csv(&text) {
        Kind::Csv(charset)
    } else {
        Kind::Text(charset)
    })
}

/// The text of a text file, or `None` when the bytes are not text. A UTF-8 byte order mark is
/// dropped.
pub fn decode_text(bytes: &[u8]) -> Option<(String, Charset)> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let (text, charset) = match std::str::from_utf8(bytes) {
        Ok(t) => (t.to_string(), Charset::Utf8),
        Err(_) => {
            // Windows-1252 gives every byte a character, so "decodes" proves nothing: the control
            // character check below is what keeps binary files out.
            let (t, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            (t.into_owned(), Charset::Windows1252)
        }
    };
    let control = |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0C');
    (!text.chars().any(control)).then_some((text, charset))
}

/// CSV when the first lines (at least two) have the same number of commas, and at least one.
/// Only the Content-Type follows from this: both are stored and downloaded alike.
fn looks_like_csv(text: &str) -> bool {
    let counts: Vec<usize> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(5)
        .map(|l| fields_in(l) - 1)
        .collect();
    counts.len() >= 2 && counts[0] > 0 && counts.iter().all(|&c| c == counts[0])
}

/// Fields in one CSV line, with commas inside double quotes not counted.
fn fields_in(line: &str) -> usize {
    let mut quoted = false;
    let mut n = 1;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => n += 1,
            _ => {}
        }
    }
    n
}

/// One entry of a ZIP archive's central directory.
#[derive(Debug)]
struct ZipEntry {
    name: String,
    method: u16,
    compressed_size: u64,
    local_header: u64,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// No document we accept has more entries; a larger directory is not worth reading.
const MAX_ENTRIES: u64 = 20_000;

/// The names in a ZIP archive's central directory (ZIP64 included), or `None` if it has none that
/// can be read. Only the directory is read: nothing is decompressed.
fn zip_entries(b: &[u8]) -> Option<Vec<ZipEntry>> {
    // The end-of-central-directory record is 22 bytes plus a comment of up to 64 KiB, at the end.
    let search_from = b.len().saturating_sub(22 + 0xFFFF);
    let eocd = (search_from..=b.len().checked_sub(22)?)
        .rev()
        .find(|&i| b[i..].starts_with(b"PK\x05\x06"))?;
    let mut count = u64::from(u16_at(b, eocd + 10)?);
    let mut offset = u64::from(u32_at(b, eocd + 16)?);
    if count == 0xFFFF || offset == 0xFFFF_FFFF {
        // ZIP64: a locator just before the record points at the 64-bit record.
        let locator = eocd.checked_sub(20)?;
        if !b[locator..].starts_with(b"PK\x06\x07") {
            return None;
        }
        let record = usize::try_from(u64_at(b, locator + 8)?).ok()?;
        if !b.get(record..)?.starts_with(b"PK\x06\x06") {
            return None;
        }
        count = u64_at(b, record + 32)?;
        offset = u64_at(b, record + 48)?;
    }
    if count > MAX_ENTRIES {
        return None;
    }
    let mut at = usize::try_from(offset).ok()?;
    let mut entries = Vec::new();
    for _ in 0..count {
        if !b.get(at..)?.starts_with(b"PK\x01\x02") {
            return None;
        }
        let method = u16_at(b, at + 10)?;
        let compressed_size = u64::from(u32_at(b, at + 20)?);
        let name_len = usize::from(u16_at(b, at + 28)?);
        let extra_len = usize::from(u16_at(b, at + 30)?);
        let comment_len = usize::from(u16_at(b, at + 32)?);
        let local_header = u64::from(u32_at(b, at + 42)?);
        let name = String::from_utf8_lossy(b.get(at + 46..at + 46 + name_len)?).into_owned();
        entries.push(ZipEntry {
            name,
            method,
            compressed_size,
            local_header,
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    (!entries.is_empty()).then_some(entries)
}

/// The bytes of an entry stored without compression (as OpenDocument's `mimetype` must be).
fn stored_content<'a>(b: &'a [u8], e: &ZipEntry) -> Option<&'a [u8]> {
    if e.method != 0 || e.compressed_size > 200 {
        return None;
    }
    let at = usize::try_from(e.local_header).ok()?;
    if !b.get(at..)?.starts_with(b"PK\x03\x04") {
        return None;
    }
    let data = at + 30 + usize::from(u16_at(b, at + 26)?) + usize::from(u16_at(b, at + 28)?);
    b.get(data..data + usize::try_from(e.compressed_size).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ZIP archive of `entries`, stored without compression, built byte by byte as the format
    /// describes it (CRCs are left at zero: nothing here checks them).
    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data) in entries {
            let offset = out.len() as u32;
            let size = data.len() as u32;
            out.extend_from_slice(b"PK\x03\x04");
            out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(data);
            central.extend_from_slice(b"PK\x01\x02");
            central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            central.extend_from_slice(&size.to_le_bytes());
            central.extend_from_slice(&size.to_le_bytes());
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    fn docx() -> Vec<u8> {
        zip(&[
            ("[Content_Types].xml", b"<?xml version=\"1.0\"?><Types/>"),
            ("_rels/.rels", b"<Relationships/>"),
            ("word/document.xml", b"<w:document/>"),
        ])
    }

    const PDF: &[u8] =
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
    const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0";

    #[test]
    fn documents_and_images_by_their_magic_numbers() {
        assert_eq!(classify(PDF), Ok(Kind::Pdf));
        assert_eq!(classify(PNG), Ok(Kind::Png));
        assert_eq!(classify(JPEG), Ok(Kind::Jpeg));
        assert_eq!(classify(b""), Err(Refusal::Empty));
        // Formats infer knows but we do not accept: GIF, an old Word file, a Windows program.
        assert_eq!(
            classify(b"GIF89a\x01\0\x01\0\0\0\0;"),
            Err(Refusal::NotAccepted)
        );
        assert_eq!(
            classify(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0\0\0\0\0\0\0"),
            Err(Refusal::NotAccepted)
        );
        assert_eq!(
            classify(b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xFF\xFF"),
            Err(Refusal::NotAccepted)
        );
    }

    #[test]
    fn office_files_by_the_entries_of_their_archive() {
        assert_eq!(classify(&docx()), Ok(Kind::Docx));
        let ct: &[u8] = b"<Types/>";
        assert_eq!(
            classify(&zip(&[
                ("[Content_Types].xml", ct),
                ("xl/workbook.xml", b"<workbook/>")
            ])),
            Ok(Kind::Xlsx)
        );
        // A document property part before the body: infer 0.22 reads only the first few local
        // headers and calls this (and a deflated Word file made the same way) a plain ZIP.
        assert_eq!(
            classify(&zip(&[
                ("[Content_Types].xml", ct),
                ("_rels/.rels", b"<Relationships/>"),
                ("docProps/core.xml", b"<cp/>"),
                ("docProps/app.xml", b"<Properties/>"),
                ("word/document.xml", b"<w:document/>")
            ])),
            Ok(Kind::Docx)
        );
        // Entry order does not matter: LibreOffice writes [Content_Types].xml last.
        assert_eq!(
            classify(&zip(&[
                ("ppt/presentation.xml", b"<p/>"),
                ("[Content_Types].xml", ct)
            ])),
            Ok(Kind::Pptx)
        );
        for (mime, kind) in [
            ("application/vnd.oasis.opendocument.text", Kind::Odt),
            ("application/vnd.oasis.opendocument.spreadsheet", Kind::Ods),
            ("application/vnd.oasis.opendocument.presentation", Kind::Odp),
        ] {
            let odf = zip(&[
                ("mimetype", mime.as_bytes()),
                ("content.xml", b"<office:document-content/>"),
            ]);
            assert_eq!(classify(&odf), Ok(kind), "{mime}");
        }
    }

    #[test]
    fn other_archives_are_refused() {
        // A plain ZIP, a Java archive, an EPUB (a mimetype we do not take), macros, and a ZIP
        // whose directory is cut off.
        assert_eq!(
            classify(&zip(&[("photo.jpg", JPEG), ("notes.txt", b"hello")])),
            Err(Refusal::NotAccepted)
        );
        assert_eq!(
            classify(&zip(&[("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0")])),
            Err(Refusal::NotAccepted)
        );
        assert_eq!(
            classify(&zip(&[("mimetype", b"application/epub+zip")])),
            Err(Refusal::NotAccepted)
        );
        let ct: &[u8] = b"<Types/>";
        assert_eq!(
            classify(&zip(&[
                ("[Content_Types].xml", ct),
                ("word/document.xml", b"<w/>"),
                ("word/vbaProject.bin", b"\0\0")
            ])),
            Err(Refusal::Macros)
        );
        let mut cut = docx();
        cut.truncate(cut.len() - 30);
        assert_eq!(classify(&cut), Err(Refusal::NotAccepted));
    }

    #[test]
    fn text_and_csv_in_utf8_or_windows_1252() {
        assert_eq!(
            classify("Minutes of the attendance panel, 3 March.\nAll present.".as_bytes()),
            Ok(Kind::Text(Charset::Utf8))
        );
        assert_eq!(
            classify(b"\xEF\xBB\xBFWeek,Attendance\n1,95.1\n2,96.3\n"),
            Ok(Kind::Csv(Charset::Utf8))
        );
        // "Caf\xe9 \x80" is "Café €" in Windows-1252, not UTF-8.
        assert_eq!(
            classify(b"Caf\xe9 meeting cost \x8020"),
            Ok(Kind::Text(Charset::Windows1252))
        );
        assert_eq!(
            decode_text(b"Caf\xe9 \x80").unwrap().0,
            "Caf\u{e9} \u{20ac}"
        );
        assert_eq!(
            classify(b"Name,\"Note, with comma\"\nA,\"b, c\"\n"),
            Ok(Kind::Csv(Charset::Utf8))
        );
    }

    #[test]
    fn markup_and_binary_are_not_text() {
        for markup in [
            "<!DOCTYPE html><html><body>hi</body></html>",
            "  \n<html><script>alert(1)</script>",
            "<script>alert(1)</script>",
            "<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            "<svg onload=\"alert(1)\"/>",
            "#!/bin/sh\nrm -rf /",
            "%!PS-Adobe-3.0\n",
            "{\\rtf1\\ansi hello}",
            // A web page that mentions %PDF early must not pass as a PDF either.
            "<html>%PDF-1.4</html>",
        ] {
            assert_eq!(
                classify(markup.as_bytes()),
                Err(Refusal::NotAccepted),
                "{markup}"
            );
        }
        assert_eq!(classify(b"abc\0def"), Err(Refusal::NotAccepted));
        // A bitmap's header has control characters; text that starts "BM" is still text.
        assert_eq!(
            classify(b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0"),
            Err(Refusal::NotAccepted)
        );
        assert_eq!(
            classify(b"BMI checks were moved to the spring term."),
            Ok(Kind::Text(Charset::Utf8))
        );
        assert_eq!(classify(b"\x01\x02\x03binary"), Err(Refusal::NotAccepted));
        // The undefined bytes of Windows-1252 decode to control characters.
        assert_eq!(classify(b"abc \x81 def"), Err(Refusal::NotAccepted));
    }

    #[test]
    fn labels_and_extensions_follow_the_stored_type() {
        assert_eq!(type_label(Kind::Csv(Charset::Utf8).content_type()), "CSV");
        assert_eq!(type_label(Kind::Docx.content_type()), "Word");
        assert!(extension_fits("image/jpeg", "JPEG"));
        assert!(!extension_fits("application/pdf", "txt"));
        assert_eq!(extension_for(Kind::Jpeg.content_type()), "jpg");
        // Every kind we store has its row in the table.
        for kind in [
            Kind::Pdf,
            Kind::Docx,
            Kind::Xlsx,
            Kind::Pptx,
            Kind::Odt,
            Kind::Ods,
            Kind::Odp,
            Kind::Png,
            Kind::Jpeg,
            Kind::Text(Charset::Windows1252),
            Kind::Csv(Charset::Utf8),
        ] {
            assert_ne!(type_label(kind.content_type()), "Other", "{kind:?}");
        }
        let message = Refusal::NotAccepted.to_string();
        for name in [
            "PDF",
            "Word",
            "Excel",
            "PowerPoint",
            "OpenDocument",
            "PNG",
            "JPEG",
            "plain text",
            "CSV",
        ] {
            assert!(message.contains(name), "{name} in {message}");
        }
    }
}
