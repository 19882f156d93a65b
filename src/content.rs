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
//!
//! Macros are refused, and found the way Office finds them, not by the names of the parts that
//! hold them: in an OOXML archive by its declared content types and its relationships (read and
//! inflated, within limits, so an archive that inflates to gigabytes costs nothing); in an
//! OpenDocument archive by its `Basic/` and `Scripts/` folders; in the old binary formats (.doc,
//! .xls, .ppt, which are OLE compound files read with `cfb`) by the storages that hold a VBA
//! project, the macro sheets listed in a workbook, and the VBA information a presentation names.
//! Word files attached to a template elsewhere are refused too, since Word fetches the template
//! (and its macros) when the file is opened. Password-protected files cannot be looked into, so
//! they are refused with a message that says so.

use std::fmt;
use std::io::{Cursor, Read};

/// A kind of file the evidence library accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pdf,
    Docx,
    Xlsx,
    Pptx,
    /// Word 97-2003 (and Word 6/95): a compound file with a `WordDocument` stream.
    Doc,
    /// Excel 97-2003 (`Workbook` stream) or Excel 5/95 (`Book` stream).
    Xls,
    /// PowerPoint 97-2003: a compound file with a `PowerPoint Document` stream.
    Ppt,
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
pub const ACCEPTED: &str = "PDF, Word, Excel or PowerPoint (.doc, .docx, .xls, .xlsx, .ppt, .pptx), OpenDocument (.odt, .ods, .odp), PNG, JPEG, plain text or CSV";

/// Why a file is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Empty,
    /// Not one of the accepted types (or pretending to be one).
    NotAccepted,
    /// An Office file with macros, which run code when opened.
    Macros,
    /// A Word file attached to a template kept outside it, which Word fetches on opening (and
    /// with it the template's macros).
    ExternalTemplate,
    /// Protected with a password: what is inside cannot be checked, nor opened by others.
    Encrypted,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Empty => f.write_str("The selected file is empty"),
            Refusal::NotAccepted => write!(f, "The selected file must be a {ACCEPTED}"),
            Refusal::Macros => f.write_str(
                "The selected file contains macros, which can run code on the computer of whoever opens it. Save it without macros (as .docx, .xlsx or .pptx) and upload that",
            ),
            Refusal::ExternalTemplate => f.write_str(
                "The selected file is attached to a template kept outside it, which can bring in macros when it is opened. Attach it to the Normal template instead (in Word: File, Options, Add-ins, Manage Templates), save it and upload that",
            ),
            Refusal::Encrypted => f.write_str(
                "The selected file is protected with a password, so it cannot be checked and others could not open it. Remove the password, save it and upload that",
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
            Kind::Doc => "application/msword",
            Kind::Xls => "application/vnd.ms-excel",
            Kind::Ppt => "application/vnd.ms-powerpoint",
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
    ("application/msword", "Word 97-2003", &["doc", "dot"]),
    ("application/vnd.ms-excel", "Excel 97-2003", &["xls", "xlt"]),
    (
        "application/vnd.ms-powerpoint",
        "PowerPoint 97-2003",
        &["ppt", "pps", "pot"],
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
/// Characters that reorder text (right-to-left overrides, isolates, marks): a name such as
/// "invoice\u{202E}fdp.exe" would show as "invoiceexe.pdf". They never belong in a file name.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// A stored file name without the characters that would make it read as something else.
pub fn without_bidi(name: &str) -> String {
    name.chars().filter(|c| !is_bidi_control(*c)).collect()
}

/// The name a file leaves the service under, as a download or inside the handbook's ZIP: its
/// own name when its extension fits what the file is, else that name with the right extension
/// added ("notes.html" holding text becomes "notes.html.txt"), so opening it never runs it.
pub fn safe_download_name(file_name: &str, content_type: &str) -> String {
    let name = without_bidi(file_name);
    let fits = name
        .rsplit_once('.')
        .is_some_and(|(_, ext)| extension_fits(content_type, ext));
    if fits {
        name
    } else {
        format!("{name}.{}", extension_for(content_type))
    }
}

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
    if bytes.starts_with(COMPOUND_FILE) {
        return classify_compound(bytes);
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
        let kind = match declared.trim_ascii() {
            b"application/vnd.oasis.opendocument.text" => Kind::Odt,
            b"application/vnd.oasis.opendocument.spreadsheet" => Kind::Ods,
            b"application/vnd.oasis.opendocument.presentation" => Kind::Odp,
            _ => return Err(Refusal::NotAccepted),
        };
        // LibreOffice keeps Basic modules and dialogs under Basic/, and scripts in other
        // languages (Python, JavaScript, BeanShell) under Scripts/.
        let macros = entries.iter().any(|e| {
            let name = part_name(&e.name);
            name.starts_with("basic/") || name.starts_with("scripts/")
        });
        return if macros {
            Err(Refusal::Macros)
        } else {
            Ok(kind)
        };
    }
    let content_types: Vec<&ZipEntry> = entries
        .iter()
        .filter(|e| part_name(&e.name) == "[content_types].xml")
        .collect();
    if content_types.is_empty() {
        return Err(Refusal::NotAccepted);
    }
    let has = |folder: &str| entries.iter().any(|e| e.name.starts_with(folder));
    let kind = match (has("word/"), has("xl/"), has("ppt/")) {
        (true, false, false) => Kind::Docx,
        (false, true, false) => Kind::Xlsx,
        (false, false, true) => Kind::Pptx,
        _ => return Err(Refusal::NotAccepted),
    };
    // The usual names need nothing inflated; the content types and relationships below are what
    // Office itself goes by, whatever the parts are called.
    if entries.iter().any(|e| {
        let name = part_name(&e.name);
        name.ends_with("vbaproject.bin") || name.starts_with("xl/macrosheets/")
    }) {
        return Err(Refusal::Macros);
    }
    let mut budget = TOTAL_LIMIT;
    for entry in content_types {
        check_content_types(&read_xml_part(bytes, entry, &mut budget)?)?;
    }
    for entry in entries
        .iter()
        .filter(|e| part_name(&e.name).ends_with(".rels"))
    {
        check_relationships(&read_xml_part(bytes, entry, &mut budget)?)?;
    }
    Ok(kind)
}

/// No content types or relationships part Office writes comes near this once inflated (a
/// sheet with ten thousand hyperlinks has relationships of about 1.5 MB).
const PART_LIMIT: usize = 4 << 20;

/// What all the parts read from one archive may inflate to together: bounds the time an
/// archive of many small parts can cost.
const TOTAL_LIMIT: usize = 16 << 20;

/// Content types that mean VBA or Excel 4 macros: the main part of a .docm, .xlsm, .pptm (and
/// their templates and add-ins; a binary .xlsb, which can always hold macros, declares itself so
/// too), the VBA project and its signature, Word's VBA data, and macro sheets.
const MACRO_CONTENT_TYPES: &[&str] = &["macroenabled", "vbaproject", "vbadata", "macrosheet"];

/// Refuses content types that carry macros.
fn check_content_types(xml: &str) -> Result<(), Refusal> {
    for tag in XmlTags::new(xml) {
        for (name, value) in &tag.attributes {
            let value = value.to_ascii_lowercase();
            if name.eq_ignore_ascii_case("ContentType")
                && MACRO_CONTENT_TYPES.iter().any(|m| value.contains(m))
            {
                return Err(Refusal::Macros);
            }
        }
    }
    Ok(())
}

/// Refuses relationships to a VBA project, VBA data or a macro sheet, and to a template outside
/// the file. Relationship types are compared by their last segment, so the transitional and the
/// strict namespaces are both covered.
fn check_relationships(xml: &str) -> Result<(), Refusal> {
    for tag in XmlTags::new(xml) {
        if !tag.name.eq_ignore_ascii_case("Relationship") {
            continue;
        }
        let kind = tag.attribute("Type").unwrap_or("");
        let kind = kind.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
        if ["vbaproject", "vbadata", "macrosheet"]
            .iter()
            .any(|m| kind.contains(m))
        {
            return Err(Refusal::Macros);
        }
        let external = tag
            .attribute("TargetMode")
            .is_some_and(|m| m.eq_ignore_ascii_case("External"));
        if kind == "attachedtemplate" && external {
            return Err(Refusal::ExternalTemplate);
        }
    }
    Ok(())
}

/// An entry's name as a part name to compare: `%XX` escapes decoded (OPC part names may be
/// written so), backslashes as slashes, no leading slash, lower case (part names are compared
/// without regard to case).
fn part_name(name: &str) -> String {
    let b = name.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(c)) => {
                out.push(c);
                i += 3;
            }
            (b'\\', _) => {
                out.push(b'/');
                i += 1;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    let name = String::from_utf8_lossy(&out).to_lowercase();
    name.trim_start_matches('/').to_string()
}

/// The text of an XML part of the archive, inflated to at most [`PART_LIMIT`] and what is left
/// of `budget`. A part that cannot be read (encrypted, compressed by a method Office does not
/// use, broken, too large, or declaring a DTD, which could spell names in entities) refuses the
/// file: what cannot be read cannot be shown to be harmless.
fn read_xml_part(b: &[u8], e: &ZipEntry, budget: &mut usize) -> Result<String, Refusal> {
    const ENCRYPTED: u16 = 1;
    if e.flags & ENCRYPTED != 0 {
        return Err(Refusal::NotAccepted);
    }
    let at = usize::try_from(e.local_header).map_err(|_| Refusal::NotAccepted)?;
    if !b.get(at..).is_some_and(|h| h.starts_with(b"PK\x03\x04")) {
        return Err(Refusal::NotAccepted);
    }
    let name_len = usize::from(u16_at(b, at + 26).ok_or(Refusal::NotAccepted)?);
    let extra_len = usize::from(u16_at(b, at + 28).ok_or(Refusal::NotAccepted)?);
    let start = at + 30 + name_len + extra_len;
    let size = usize::try_from(e.compressed_size).unwrap_or(usize::MAX);
    let data = b
        .get(start..start.saturating_add(size).min(b.len()))
        .ok_or(Refusal::NotAccepted)?;
    let limit = PART_LIMIT.min(*budget);
    let raw = match e.method {
        0 => data.to_vec(),
        8 => {
            // One byte past the limit tells a part at the limit from one beyond it.
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(data)
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|_| Refusal::NotAccepted)?;
            out
        }
        _ => return Err(Refusal::NotAccepted),
    };
    if raw.len() > limit {
        return Err(Refusal::NotAccepted);
    }
    *budget -= raw.len();
    let text = xml_text(&raw);
    if text.to_ascii_lowercase().contains("<!doctype") {
        return Err(Refusal::NotAccepted);
    }
    Ok(text)
}

/// XML bytes as text: UTF-16 (either order, with or without a byte order mark) or UTF-8, the
/// two encodings OPC allows.
fn xml_text(raw: &[u8]) -> String {
    let encoding = match encoding_rs::Encoding::for_bom(raw) {
        Some((encoding, _)) => encoding,
        None if raw.starts_with(b"<\0") => encoding_rs::UTF_16LE,
        None if raw.starts_with(b"\0<") => encoding_rs::UTF_16BE,
        None => encoding_rs::UTF_8,
    };
    encoding.decode(raw).0.into_owned()
}

/// One start (or empty-element) tag: its local name and attributes (local names, values with
/// character and entity references resolved, trimmed).
struct XmlTag<'a> {
    name: &'a str,
    attributes: Vec<(&'a str, String)>,
}

impl XmlTag<'_> {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The start tags of an XML text, in order, skipping comments, CDATA, processing instructions,
/// declarations and end tags. Enough for content types and relationships, which are flat lists
/// of elements with attributes; not a general XML parser. Stops at the first malformed tag (Office
/// would not open such a part either).
struct XmlTags<'a> {
    rest: &'a str,
}

impl<'a> XmlTags<'a> {
    fn new(xml: &'a str) -> Self {
        XmlTags { rest: xml }
    }

    /// Moves past `end`, or to the end of the text if it never comes.
    fn skip_past(&mut self, end: &str) {
        self.rest = self
            .rest
            .find(end)
            .map_or("", |i| &self.rest[i + end.len()..]);
    }
}

impl<'a> Iterator for XmlTags<'a> {
    type Item = XmlTag<'a>;

    fn next(&mut self) -> Option<XmlTag<'a>> {
        loop {
            let open = self.rest.find('<')?;
            self.rest = &self.rest[open + 1..];
            let section = [("!--", "-->"), ("![CDATA[", "]]>"), ("?", "?>"), ("!", ">")]
                .into_iter()
                .chain([("/", ">")])
                .find(|(start, _)| self.rest.starts_with(start));
            if let Some((_, end)) = section {
                self.skip_past(end);
                continue;
            }
            let is_name_end = |c: char| c.is_whitespace() || c == '/' || c == '>' || c == '=';
            let name_end = self.rest.find(is_name_end)?;
            if name_end == 0 {
                // A '<' that opens nothing, or what a skipped section left: go on from here.
                continue;
            }
            let name = local(&self.rest[..name_end]);
            self.rest = &self.rest[name_end..];
            let mut attributes = Vec::new();
            loop {
                self.rest = self.rest.trim_start();
                if self.rest.starts_with('/') || self.rest.starts_with('>') {
                    self.skip_past(">");
                    return Some(XmlTag { name, attributes });
                }
                let end = self.rest.find(is_name_end)?;
                let attribute = local(&self.rest[..end]);
                self.rest = self.rest[end..]
                    .trim_start()
                    .strip_prefix('=')?
                    .trim_start();
                let quote = self
                    .rest
                    .chars()
                    .next()
                    .filter(|q| *q == '"' || *q == '\'')?;
                self.rest = &self.rest[1..];
                let close = self.rest.find(quote)?;
                let value = unescape(&self.rest[..close]);
                self.rest = &self.rest[close + 1..];
                attributes.push((attribute, value.trim().to_string()));
            }
        }
    }
}

/// A name without its namespace prefix.
fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// An attribute value with its character references (`&#69;`, `&#x45;`) and the five
/// predefined entities resolved; anything else is kept as written.
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let reference = &rest[1..semi];
        let resolved = match reference {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => reference
                .strip_prefix("#x")
                .or_else(|| reference.strip_prefix("#X"))
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| reference.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match resolved {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The signature of an OLE compound file, the container of the binary Office formats.
const COMPOUND_FILE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// A Word, Excel or PowerPoint file in the binary formats of Office 97-2003 (and Word and Excel
/// 95), told apart by the stream at the root of the compound file; any other compound file (an
/// installer, an Outlook message, a password-protected OOXML package...) is refused.
fn classify_compound(bytes: &[u8]) -> Result<Kind, Refusal> {
    // cfb returns errors for the malformed files it knows about, but has panicked on others in
    // the past: a file that makes it panic is refused like any other that cannot be read.
    std::panic::catch_unwind(|| read_compound(bytes)).unwrap_or(Err(Refusal::NotAccepted))
}

/// Names of the storages and streams that hold a VBA project: Word's `Macros`, Excel's
/// `_VBA_PROJECT_CUR`, and the `VBA` storage with its `_VBA_PROJECT` stream inside either (and
/// at the root of other applications' files). Refused wherever they are, since an embedded
/// object (an Excel sheet inside a Word file) carries its own.
const VBA_NAMES: &[&str] = &["Macros", "_VBA_PROJECT_CUR", "VBA", "_VBA_PROJECT"];

fn read_compound(bytes: &[u8]) -> Result<Kind, Refusal> {
    let mut file = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(|_| Refusal::NotAccepted)?;
    let root: Vec<String> = file
        .read_root_storage()
        .filter(|e| e.is_stream())
        .map(|e| e.name().to_string())
        .collect();
    // Compound file names are compared without regard to case.
    let stream = |name: &str| root.iter().find(|n| n.eq_ignore_ascii_case(name)).cloned();
    if stream("EncryptedPackage").is_some() {
        return Err(Refusal::Encrypted);
    }
    let word = stream("WordDocument");
    let workbooks: Vec<String> = ["Workbook", "Book"]
        .into_iter()
        .filter_map(stream)
        .collect();
    let slides = stream("PowerPoint Document");
    let kind = match (&word, workbooks.is_empty(), &slides) {
        (Some(_), true, None) => Kind::Doc,
        (None, false, None) => Kind::Xls,
        (None, true, Some(_)) => Kind::Ppt,
        _ => return Err(Refusal::NotAccepted),
    };
    if file
        .walk()
        .any(|e| VBA_NAMES.iter().any(|n| e.name().eq_ignore_ascii_case(n)))
    {
        return Err(Refusal::Macros);
    }
    // A stream holds no more than the file it is in.
    let whole = bytes.len() as u64;
    let mut read = |name: &str, most: u64| -> Result<Vec<u8>, Refusal> {
        let mut data = Vec::new();
        file.open_stream(format!("/{name}"))
            .and_then(|s| s.take(most).read_to_end(&mut data))
            .map_err(|_| Refusal::NotAccepted)?;
        Ok(data)
    };
    match kind {
        Kind::Doc => check_word(&read(&word.unwrap_or_default(), 32)?)?,
        Kind::Xls => {
            for name in &workbooks {
                check_workbook(&read(name, whole)?)?;
            }
        }
        _ => {
            if stream("EncryptedSummary").is_some() {
                return Err(Refusal::Encrypted);
            }
            check_presentation(&read(&slides.unwrap_or_default(), whole)?)?;
        }
    }
    Ok(kind)
}

/// The start of a Word file's main stream, its File Information Block: Word's signature, and
/// the flags for a template and for encryption.
fn check_word(stream: &[u8]) -> Result<(), Refusal> {
    let (Some(ident), Some(n_fib), Some(flags)) =
        (u16_at(stream, 0), u16_at(stream, 2), u16_at(stream, 10))
    else {
        return Err(Refusal::NotAccepted);
    };
    if ident != 0xA5EC {
        return Err(Refusal::NotAccepted);
    }
    const TEMPLATE: u16 = 0x0001;
    const ENCRYPTED: u16 = 0x0100;
    if flags & ENCRYPTED != 0 {
        return Err(Refusal::Encrypted);
    }
    // Word 6 and 95 (format numbers below 0xC0; Word 97 and later write 0xC1) keep macros inside
    // the main stream of a template, where no storage shows them; their documents hold none.
    if n_fib < 0x00C0 && flags & TEMPLATE != 0 {
        return Err(Refusal::Macros);
    }
    Ok(())
}

/// An Excel workbook stream (BIFF5 or BIFF8): a run of records, each a type and a length. The
/// workbook's list of sheets (BOUNDSHEET) gives each sheet's type, and so does the start (BOF)
/// of the sheet's own records; either naming an Excel 4 macro sheet or a VBA module sheet
/// refuses the file. A workbook protected with a password (FILEPASS) cannot be read past that.
fn check_workbook(stream: &[u8]) -> Result<(), Refusal> {
    const BOF: u16 = 0x0809;
    const FILEPASS: u16 = 0x002F;
    const BOUNDSHEET: u16 = 0x0085;
    const MACRO_SHEET: u8 = 0x01;
    const MODULE_SHEET: u8 = 0x06;
    const MODULE_SUBSTREAM: u16 = 0x0006;
    const MACRO_SUBSTREAM: u16 = 0x0040;
    if u16_at(stream, 0) != Some(BOF) {
        return Err(Refusal::NotAccepted);
    }
    let mut at = 0;
    while let (Some(kind), Some(len)) = (u16_at(stream, at), u16_at(stream, at + 2)) {
        let data = stream.get(at + 4..).unwrap_or(&[]);
        let data = &data[..usize::from(len).min(data.len())];
        match kind {
            FILEPASS => return Err(Refusal::Encrypted),
            BOUNDSHEET if matches!(data.get(5), Some(&(MACRO_SHEET | MODULE_SHEET))) => {
                return Err(Refusal::Macros);
            }
            BOF if matches!(u16_at(data, 2), Some(MODULE_SUBSTREAM | MACRO_SUBSTREAM)) => {
                return Err(Refusal::Macros);
            }
            _ => {}
        }
        at += 4 + usize::from(len);
    }
    Ok(())
}

/// A PowerPoint Document stream: records with an eight-byte header (version and instance,
/// type, length), containers (version 0xF) holding records of their own. Stepping into every
/// container and over every atom visits each record once, without recursion. PowerPoint keeps
/// a VBA project compressed inside another record, where no storage shows it; the document's
/// VBA information atom says where (a persist id) and whether it has macros. LibreOffice writes
/// that atom into every presentation, with both zero, so only a non-zero one refuses the file.
/// An encryption container means the rest cannot be read.
fn check_presentation(stream: &[u8]) -> Result<(), Refusal> {
    const VBA_INFO_ATOM: u16 = 0x0400;
    const CRYPT_SESSION: u16 = 0x2F14;
    let mut at = 0;
    // A length past the end ends the walk (`get` of a start beyond the end is None).
    while let Some(header) = stream.get(at..).and_then(|rest| rest.get(..8)) {
        let (Some(ver), Some(kind), Some(len)) =
            (u16_at(header, 0), u16_at(header, 2), u32_at(header, 4))
        else {
            break;
        };
        match kind {
            VBA_INFO_ATOM => {
                let body = stream.get(at + 8..).unwrap_or(&[]);
                let (persist_id, has_macros) = (u32_at(body, 0), u32_at(body, 4));
                if persist_id != Some(0) || has_macros != Some(0) {
                    return Err(Refusal::Macros);
                }
            }
            CRYPT_SESSION => return Err(Refusal::Encrypted),
            _ => {}
        }
        at += 8;
        if ver & 0x000F != 0x000F {
            at = at.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
        }
    }
    Ok(())
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
    flags: u16,
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
        let flags = u16_at(b, at + 8)?;
        let method = u16_at(b, at + 10)?;
        let mut compressed_size = u64::from(u32_at(b, at + 20)?);
        let size = u32_at(b, at + 24)?;
        let name_len = usize::from(u16_at(b, at + 28)?);
        let extra_len = usize::from(u16_at(b, at + 30)?);
        let comment_len = usize::from(u16_at(b, at + 32)?);
        let mut local_header = u64::from(u32_at(b, at + 42)?);
        let name = String::from_utf8_lossy(b.get(at + 46..at + 46 + name_len)?).into_owned();
        if compressed_size == 0xFFFF_FFFF || local_header == 0xFFFF_FFFF {
            // ZIP64: the real values are in the extra field, in this order, each present only
            // where the 32-bit field is full.
            let extra = b.get(at + 46 + name_len..at + 46 + name_len + extra_len)?;
            let mut fields = zip64_fields(extra)?.into_iter();
            if size == 0xFFFF_FFFF {
                fields.next()?;
            }
            if compressed_size == 0xFFFF_FFFF {
                compressed_size = fields.next()?;
            }
            if local_header == 0xFFFF_FFFF {
                local_header = fields.next()?;
            }
        }
        entries.push(ZipEntry {
            name,
            flags,
            method,
            compressed_size,
            local_header,
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    (!entries.is_empty()).then_some(entries)
}

/// The 64-bit values of the ZIP64 block (tag 1) in an extra field.
fn zip64_fields(extra: &[u8]) -> Option<Vec<u64>> {
    let mut at = 0;
    while let (Some(tag), Some(len)) = (u16_at(extra, at), u16_at(extra, at + 2)) {
        let data = extra.get(at + 4..at + 4 + usize::from(len))?;
        if tag == 1 {
            return Some(
                (0..data.len() / 8)
                    .filter_map(|i| u64_at(data, i * 8))
                    .collect(),
            );
        }
        at += 4 + usize::from(len);
    }
    None
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
mod name_tests {
    use super::*;

    #[test]
    fn names_leave_with_the_extension_of_what_they_are_and_no_reordering() {
        assert_eq!(
            safe_download_name("notes.html", "text/plain; charset=utf-8"),
            "notes.html.txt"
        );
        assert_eq!(
            safe_download_name("plan.pdf", "application/pdf"),
            "plan.pdf"
        );
        assert_eq!(
            safe_download_name("invoice\u{202E}fdp.exe", "application/pdf"),
            "invoicefdp.exe.pdf"
        );
        assert_eq!(without_bidi("a\u{2066}b\u{2069}c\u{200F}"), "abc");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ZIP archive of `entries`, stored without compression, built byte by byte as the format
    /// describes it (CRCs are left at zero: nothing here checks them).
    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        zip_with(entries, STORED)
    }

    /// The same, every entry deflated, as Office and LibreOffice write them.
    fn zipped(entries: &[(&str, &[u8])]) -> Vec<u8> {
        zip_with(entries, DEFLATED)
    }

    const STORED: u16 = 0;
    const DEFLATED: u16 = 8;

    /// Entries compressed by `method` (any other than these two is written as it is, claiming
    /// the method).
    fn zip_with(entries: &[(&str, &[u8])], method: u16) -> Vec<u8> {
        use std::io::Write;
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data) in entries {
            let offset = out.len() as u32;
            let stored = if method == DEFLATED {
                let mut e =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            } else {
                data.to_vec()
            };
            let size = data.len() as u32;
            let packed = stored.len() as u32;
            let [m0, m1] = method.to_le_bytes();
            out.extend_from_slice(b"PK\x03\x04");
            out.extend_from_slice(&[20, 0, 0, 0, m0, m1, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&packed.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&stored);
            central.extend_from_slice(b"PK\x01\x02");
            central.extend_from_slice(&[20, 0, 20, 0, 0, 0, m0, m1, 0, 0, 0, 0, 0, 0, 0, 0]);
            central.extend_from_slice(&packed.to_le_bytes());
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

    /// Sets general-purpose `flag` on the central directory record of entry `name`.
    fn set_flag(zip: &mut [u8], name: &str, flag: u16) {
        let at = (0..zip.len())
            .find(|&i| {
                zip[i..].starts_with(b"PK\x01\x02") && zip[i + 46..].starts_with(name.as_bytes())
            })
            .unwrap();
        zip[at + 8..at + 10].copy_from_slice(&flag.to_le_bytes());
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
        // Formats infer knows but we do not accept: GIF, a compound file cut short, a Windows
        // program.
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
            Kind::Doc,
            Kind::Xls,
            Kind::Ppt,
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

    // Office Open XML parts as Word and Excel write them.

    const XML: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#;
    const WORD_MAIN: &str =
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml";
    const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

    /// `[Content_Types].xml` with the usual defaults and `overrides` (part name, type).
    fn content_types(overrides: &[(&str, &str)]) -> String {
        let mut xml = format!(
            r#"{XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>"#
        );
        for (part, ct) in overrides {
            xml += &format!(r#"<Override PartName="{part}" ContentType="{ct}"/>"#);
        }
        xml + "</Types>"
    }

    /// A relationships part holding `rels` (type, target, external or not).
    fn relationships(rels: &[(&str, &str, bool)]) -> String {
        let mut xml = format!(
            r#"{XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#
        );
        for (i, (kind, target, external)) in rels.iter().enumerate() {
            let mode = if *external {
                r#" TargetMode="External""#
            } else {
                ""
            };
            xml += &format!(
                r#"<Relationship Id="rId{}" Type="{kind}" Target="{target}"{mode}/>"#,
                i + 1
            );
        }
        xml + "</Relationships>"
    }

    /// A deflated Word file with these content types and document relationships, and `extra`
    /// parts.
    fn word(types: &str, document_rels: &str, extra: &[(&str, &[u8])]) -> Vec<u8> {
        let root = relationships(&[(&format!("{REL}/officeDocument"), "word/document.xml", false)]);
        let mut entries: Vec<(&str, &[u8])> = vec![
            ("[Content_Types].xml", types.as_bytes()),
            ("_rels/.rels", root.as_bytes()),
            ("word/document.xml", b"<w:document/>"),
            ("word/_rels/document.xml.rels", document_rels.as_bytes()),
        ];
        entries.extend_from_slice(extra);
        zipped(&entries)
    }

    fn plain_types() -> String {
        content_types(&[("/word/document.xml", WORD_MAIN)])
    }

    #[test]
    fn office_files_as_office_writes_them_are_accepted() {
        // Deflated, with an external hyperlink (links are fine) and settings of their own.
        let rels = relationships(&[
            (&format!("{REL}/styles"), "styles.xml", false),
            (&format!("{REL}/hyperlink"), "https://www.gov.uk/", true),
            (&format!("{REL}/settings"), "settings.xml", false),
        ]);
        let settings_rels = relationships(&[(&format!("{REL}/image"), "media/logo.png", false)]);
        let file = word(
            &plain_types(),
            &rels,
            &[
                ("word/settings.xml", b"<w:settings/>"),
                ("word/_rels/settings.xml.rels", settings_rels.as_bytes()),
            ],
        );
        assert_eq!(classify(&file), Ok(Kind::Docx));
        // A UTF-16 content types part (which XML allows) is read as such.
        let utf16: Vec<u8> = "\u{feff}<Types/>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let file = zipped(&[
            ("[Content_Types].xml", &utf16),
            ("word/document.xml", b"<w:document/>"),
        ]);
        assert_eq!(classify(&file), Ok(Kind::Docx));
    }

    #[test]
    fn a_renamed_vba_part_is_found_by_its_content_type_and_relationship() {
        let vba_type = "application/vnd.ms-office.vbaProject";
        let vba_rel = "http://schemas.microsoft.com/office/2006/relationships/vbaProject";
        let macro_main = "application/vnd.ms-word.document.macroEnabled.main+xml";
        let parts: &[(&str, &[u8])] = &[("word/notes.dat", b"\xCC\x61\0\0")];
        // The issue's file: all three, the part under a name of its own.
        let types = content_types(&[
            ("/word/document.xml", macro_main),
            ("/word/notes.dat", vba_type),
        ]);
        let rels = relationships(&[(vba_rel, "notes.dat", false)]);
        assert_eq!(classify(&word(&types, &rels, parts)), Err(Refusal::Macros));
        // Any one of them is enough.
        let plain_rels = relationships(&[]);
        let only_type = content_types(&[
            ("/word/document.xml", WORD_MAIN),
            ("/word/notes.dat", vba_type),
        ]);
        assert_eq!(
            classify(&word(&only_type, &plain_rels, parts)),
            Err(Refusal::Macros)
        );
        let only_main = content_types(&[("/word/document.xml", macro_main)]);
        assert_eq!(
            classify(&word(&only_main, &plain_rels, parts)),
            Err(Refusal::Macros)
        );
        assert_eq!(
            classify(&word(&plain_types(), &rels, parts)),
            Err(Refusal::Macros)
        );
        // A type given for an extension rather than a part, and Word's VBA data part.
        let by_extension = plain_types().replace(
            "</Types>",
            &format!(r#"<Default Extension="dat" ContentType="{vba_type}"/></Types>"#),
        );
        assert_eq!(
            classify(&word(&by_extension, &plain_rels, parts)),
            Err(Refusal::Macros)
        );
        let vba_data = content_types(&[
            ("/word/document.xml", WORD_MAIN),
            ("/word/vbaData.xml", "application/vnd.ms-word.vbaData+xml"),
        ]);
        assert_eq!(
            classify(&word(&vba_data, &plain_rels, parts)),
            Err(Refusal::Macros)
        );
    }

    #[test]
    fn macro_content_types_are_found_however_the_xml_spells_them() {
        let plain_rels = relationships(&[]);
        // Single quotes, spaces round "=", a character reference, a namespace prefix.
        let spelled = format!(
            r#"{XML}<ct:Types xmlns:ct="http://schemas.openxmlformats.org/package/2006/content-types"><ct:Override PartName="/word/document.xml" ContentType = 'application/vnd.ms-word.document.macro&#69;nabled.main+xml'/></ct:Types>"#
        );
        assert_eq!(
            classify(&word(&spelled, &plain_rels, &[])),
            Err(Refusal::Macros)
        );
        // Comments are not content types.
        let commented = plain_types().replace(
            "</Types>",
            "<!-- ContentType=\"application/vnd.ms-office.vbaProject\" --></Types>",
        );
        assert_eq!(
            classify(&word(&commented, &plain_rels, &[])),
            Ok(Kind::Docx)
        );
        // UTF-16, which XML allows and a byte search for the ASCII name would miss.
        let utf16: Vec<u8> = "\u{feff}<Types><Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.ms-word.document.macroEnabled.main+xml\"/></Types>"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
        let file = zipped(&[
            ("[Content_Types].xml", &utf16),
            ("word/document.xml", b"<w:document/>"),
        ]);
        assert_eq!(classify(&file), Err(Refusal::Macros));
        // A document type declaration could define entities that spell anything: refused.
        let dtd = plain_types().replacen(
            "<Types",
            "<!DOCTYPE Types [<!ENTITY v \"vbaProject\">]><Types",
            1,
        );
        assert_eq!(
            classify(&word(&dtd, &plain_rels, &[])),
            Err(Refusal::NotAccepted)
        );
        // The relationship type in its own spelling: the strict namespace, a prefix, and
        // a reference.
        let rels = format!(
            r#"{XML}<r:Relationships xmlns:r="http://schemas.openxmlformats.org/package/2006/relationships"><r:Relationship Id="rId1" Type="http://schemas.microsoft.com/office/2006/relationships/vba&#x50;roject" Target="x.bin"/></r:Relationships>"#
        );
        assert_eq!(
            classify(&word(&plain_types(), &rels, &[])),
            Err(Refusal::Macros)
        );
        // Right after a comment, a declaration or an end tag, a tag is still read as one.
        let vba = r#"<Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="x.bin"/>"#;
        for before in [
            "<!-- made by hand -->",
            "<?pi x?>",
            "<a></a>",
            "<![CDATA[<]]>",
        ] {
            let rels = relationships(&[]).replace(
                "</Relationships>",
                &format!("{before}{vba}</Relationships>"),
            );
            assert_eq!(
                classify(&word(&plain_types(), &rels, &[])),
                Err(Refusal::Macros),
                "{before}"
            );
        }
    }

    #[test]
    fn excel_4_macro_sheets_are_refused() {
        let sheet_rel = "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet";
        let ct: &[u8] = b"<Types/>";
        let workbook = |extra: &[(&str, &[u8])]| {
            let mut entries: Vec<(&str, &[u8])> = vec![
                ("[Content_Types].xml", ct),
                ("xl/workbook.xml", b"<workbook/>"),
            ];
            entries.extend_from_slice(extra);
            zipped(&entries)
        };
        assert_eq!(classify(&workbook(&[])), Ok(Kind::Xlsx));
        assert_eq!(
            classify(&workbook(&[(
                "xl/macrosheets/sheet1.xml",
                b"<xm:macrosheet/>"
            )])),
            Err(Refusal::Macros)
        );
        // Elsewhere, found by its relationship or its content type.
        let rels = relationships(&[(sheet_rel, "sheets/auto.xml", false)]);
        assert_eq!(
            classify(&workbook(&[
                ("xl/sheets/auto.xml", b"<xm:macrosheet/>"),
                ("xl/_rels/workbook.xml.rels", rels.as_bytes())
            ])),
            Err(Refusal::Macros)
        );
        for ct in [
            "application/vnd.ms-excel.macrosheet+xml",
            "application/vnd.ms-excel.intlmacrosheet+xml",
            "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
        ] {
            let types = content_types(&[("/xl/sheets/auto.xml", ct)]);
            let file = zipped(&[
                ("[Content_Types].xml", types.as_bytes()),
                ("xl/workbook.xml", b"<workbook/>"),
            ]);
            assert_eq!(classify(&file), Err(Refusal::Macros), "{ct}");
        }
    }

    #[test]
    fn opendocument_basic_and_scripts_are_refused() {
        let odt = |extra: &[(&str, &[u8])]| {
            let mut entries: Vec<(&str, &[u8])> = vec![
                ("mimetype", b"application/vnd.oasis.opendocument.text"),
                ("content.xml", b"<office:document-content/>"),
            ];
            entries.extend_from_slice(extra);
            zip(&entries)
        };
        assert_eq!(classify(&odt(&[])), Ok(Kind::Odt));
        assert_eq!(
            classify(&odt(&[("Basic/Standard/Module1.xml", b"<script:module/>")])),
            Err(Refusal::Macros)
        );
        assert_eq!(
            classify(&odt(&[("Scripts/python/hello.py", b"print(1)")])),
            Err(Refusal::Macros)
        );
    }

    #[test]
    fn external_templates_are_refused() {
        let settings = |rels: &str| {
            word(
                &plain_types(),
                &relationships(&[(&format!("{REL}/settings"), "settings.xml", false)]),
                &[
                    ("word/settings.xml", b"<w:settings/>"),
                    ("word/_rels/settings.xml.rels", rels.as_bytes()),
                ],
            )
        };
        let remote = relationships(&[(
            &format!("{REL}/attachedTemplate"),
            "https://example.invalid/letter.dotm",
            true,
        )]);
        assert_eq!(classify(&settings(&remote)), Err(Refusal::ExternalTemplate));
        // The strict namespace, and a share on another computer.
        let strict = relationships(&[(
            "http://purl.oclc.org/ooxml/officeDocument/relationships/attachedTemplate",
            "file://server/share/letter.dotm",
            true,
        )]);
        assert_eq!(classify(&settings(&strict)), Err(Refusal::ExternalTemplate));
        assert!(
            Refusal::ExternalTemplate
                .to_string()
                .contains("Normal template")
        );
    }

    #[test]
    fn reading_an_archive_is_bounded() {
        // A relationships part that inflates far past what any real one holds: refused, having
        // inflated no more than the limit.
        let bomb = vec![b' '; PART_LIMIT + 1];
        let file = word(
            &plain_types(),
            &relationships(&[]),
            &[("_rels/x.rels", &bomb)],
        );
        assert!(file.len() < 64 * 1024, "{}", file.len());
        assert_eq!(classify(&file), Err(Refusal::NotAccepted));
        // Many parts each under the limit, over the total.
        let part = vec![b' '; PART_LIMIT];
        let names: Vec<String> = (0..=TOTAL_LIMIT / PART_LIMIT)
            .map(|i| format!("word/_rels/p{i}.xml.rels"))
            .collect();
        let extra: Vec<(&str, &[u8])> = names
            .iter()
            .map(|n| (n.as_str(), part.as_slice()))
            .collect();
        assert_eq!(
            classify(&word(&plain_types(), &relationships(&[]), &extra)),
            Err(Refusal::NotAccepted)
        );
        // Parts that cannot be read are not taken as harmless: a method Office does not
        // write, an encrypted entry, a deflate stream cut short.
        let ct: &[u8] = b"<Types/>";
        let entries: &[(&str, &[u8])] = &[
            ("[Content_Types].xml", ct),
            ("word/document.xml", b"<w:document/>"),
        ];
        assert_eq!(classify(&zip_with(entries, 12)), Err(Refusal::NotAccepted));
        let mut encrypted = zipped(entries);
        set_flag(&mut encrypted, "[Content_Types].xml", 1);
        assert_eq!(classify(&encrypted), Err(Refusal::NotAccepted));
        let long = content_types(&[("/word/document.xml", WORD_MAIN)]).repeat(50);
        let mut cut = zipped(&[
            ("[Content_Types].xml", long.as_bytes()),
            ("word/document.xml", b"<w:document/>"),
        ]);
        let data = 30 + "[Content_Types].xml".len();
        cut[data + 10..data + 20].fill(0xFF);
        assert_eq!(classify(&cut), Err(Refusal::NotAccepted));
    }

    // Compound files, as the old binary Office formats are.

    /// A compound file with these storages (parents first) and streams.
    fn compound(storages: &[&str], streams: &[(&str, &[u8])]) -> Vec<u8> {
        use std::io::Write;
        let mut file = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).unwrap();
        for s in storages {
            file.create_storage_all(s).unwrap();
        }
        for (path, data) in streams {
            file.create_stream(path).unwrap().write_all(data).unwrap();
        }
        file.flush().unwrap();
        file.into_inner().into_inner()
    }

    /// The start of a Word file's main stream: its File Information Block.
    fn fib(n_fib: u16, flags: u16) -> Vec<u8> {
        let mut b = vec![0u8; 68];
        b[0..2].copy_from_slice(&0xA5ECu16.to_le_bytes());
        b[2..4].copy_from_slice(&n_fib.to_le_bytes());
        b[10..12].copy_from_slice(&flags.to_le_bytes());
        b
    }

    fn doc_with(storages: &[&str], streams: &[(&str, &[u8])]) -> Vec<u8> {
        let word = fib(0x00C1, 0);
        let mut all: Vec<(&str, &[u8])> = vec![("WordDocument", &word), ("1Table", &[0; 16])];
        all.extend_from_slice(streams);
        compound(storages, &all)
    }

    /// Excel records: type, length, data.
    fn biff(records: &[(u16, &[u8])]) -> Vec<u8> {
        let mut b = Vec::new();
        for (kind, data) in records {
            b.extend_from_slice(&kind.to_le_bytes());
            b.extend_from_slice(&(data.len() as u16).to_le_bytes());
            b.extend_from_slice(data);
        }
        b
    }

    /// A BOF record's data for a substream of type `dt`.
    fn bof(dt: u16) -> Vec<u8> {
        let mut d = vec![0u8; 16];
        d[0..2].copy_from_slice(&0x0600u16.to_le_bytes());
        d[2..4].copy_from_slice(&dt.to_le_bytes());
        d
    }

    /// A workbook stream with one sheet: `sheet_type` in the workbook's list of sheets, and
    /// `sheet_bof` at the start of the sheet's own records.
    fn workbook(sheet_type: u8, sheet_bof: u16) -> Vec<u8> {
        let sheet = [
            0, 0, 0, 0, 0, sheet_type, 6, 0, b'S', b'h', b'e', b'e', b't', b'1',
        ];
        biff(&[
            (0x0809, &bof(0x0005)),
            (0x0085, &sheet),
            (0x000A, &[]),
            (0x0809, &bof(sheet_bof)),
            (0x000A, &[]),
        ])
    }

    /// A PowerPoint record: version and instance, type, body.
    fn record(ver_instance: u16, kind: u16, body: &[u8]) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend_from_slice(&ver_instance.to_le_bytes());
        r.extend_from_slice(&kind.to_le_bytes());
        r.extend_from_slice(&(body.len() as u32).to_le_bytes());
        r.extend_from_slice(body);
        r
    }

    /// A PowerPoint Document stream: a document container holding its atom and `inside`, then
    /// the atom of the last edit.
    fn presentation(inside: &[u8]) -> Vec<u8> {
        let mut body = record(0x0001, 0x03E9, &[0; 40]);
        body.extend_from_slice(inside);
        let mut s = record(0x000F, 0x03E8, &body);
        s.extend(record(0x0000, 0x0FF5, &[0; 28]));
        s
    }

    /// The VBA information a presentation keeps in its document: where its VBA project is
    /// (a persist id, 0 for none), whether it has macros, and a version.
    fn vba_info(persist_id: u8, has_macros: u8) -> Vec<u8> {
        let body = [persist_id, 0, 0, 0, has_macros, 0, 0, 0, 2, 0, 0, 0];
        let atom = record(0x0002, 0x0400, &body);
        let info = record(0x001F, 0x03FF, &atom);
        record(0x000F, 0x07D0, &info)
    }

    #[test]
    fn old_office_files_by_the_streams_of_their_compound_file() {
        assert_eq!(classify(&doc_with(&[], &[])), Ok(Kind::Doc));
        assert_eq!(
            classify(&compound(&[], &[("Workbook", &workbook(0, 0x0010))])),
            Ok(Kind::Xls)
        );
        // Excel 5/95 calls its stream Book; names are compared without regard to case.
        assert_eq!(
            classify(&compound(&[], &[("BOOK", &workbook(0, 0x0010))])),
            Ok(Kind::Xls)
        );
        assert_eq!(
            classify(&compound(
                &[],
                &[
                    ("PowerPoint Document", &presentation(&[])),
                    ("Current User", &[0; 8])
                ]
            )),
            Ok(Kind::Ppt)
        );
        // LibreOffice writes VBA information into every presentation, saying there is none.
        assert_eq!(
            classify(&compound(
                &[],
                &[("PowerPoint Document", &presentation(&vba_info(0, 0)))]
            )),
            Ok(Kind::Ppt)
        );
        // Properties, an embedded picture and a chart sheet are not macros.
        assert_eq!(
            classify(&doc_with(
                &["ObjectPool", "ObjectPool/_1234"],
                &[
                    ("\u{5}SummaryInformation", &[0; 48]),
                    ("ObjectPool/_1234/\u{1}Ole", &[0; 20])
                ]
            )),
            Ok(Kind::Doc)
        );
        assert_eq!(
            classify(&compound(&[], &[("Workbook", &workbook(2, 0x0020))])),
            Ok(Kind::Xls)
        );
        assert_eq!(extension_for(Kind::Doc.content_type()), "doc");
        assert_eq!(extension_for(Kind::Xls.content_type()), "xls");
        assert_eq!(extension_for(Kind::Ppt.content_type()), "ppt");
        assert!(extension_fits(Kind::Doc.content_type(), "DOC"));
        assert!(!extension_fits(Kind::Doc.content_type(), "docx"));
        assert_eq!(type_label(Kind::Xls.content_type()), "Excel 97-2003");
    }

    #[test]
    fn old_office_files_with_macros_are_refused() {
        // Word keeps its VBA project in Macros, Excel in _VBA_PROJECT_CUR; both hold a VBA
        // storage with the _VBA_PROJECT stream.
        assert_eq!(
            classify(&doc_with(
                &["Macros", "Macros/VBA"],
                &[
                    ("Macros/PROJECT", b"ID=x"),
                    ("Macros/VBA/_VBA_PROJECT", &[0xCC, 0x61])
                ]
            )),
            Err(Refusal::Macros)
        );
        let book = workbook(0, 0x0010);
        assert_eq!(
            classify(&compound(
                &["_VBA_PROJECT_CUR", "_VBA_PROJECT_CUR/VBA"],
                &[("Workbook", &book), ("_VBA_PROJECT_CUR/PROJECT", b"ID=x")]
            )),
            Err(Refusal::Macros)
        );
        // Any VBA storage anywhere: in an Excel sheet embedded in a Word file, say.
        assert_eq!(
            classify(&doc_with(
                &[
                    "ObjectPool",
                    "ObjectPool/_1",
                    "ObjectPool/_1/_vba_project_cur"
                ],
                &[]
            )),
            Err(Refusal::Macros)
        );
        let slides = presentation(&[]);
        assert_eq!(
            classify(&compound(
                &["VBA"],
                &[("PowerPoint Document", &slides), ("VBA/dir", &[1])]
            )),
            Err(Refusal::Macros)
        );
        // PowerPoint keeps its project inside its own stream, named in the document.
        for (persist_id, has_macros) in [(1, 1), (3, 0), (0, 1)] {
            let slides = presentation(&vba_info(persist_id, has_macros));
            assert_eq!(
                classify(&compound(&[], &[("PowerPoint Document", &slides)])),
                Err(Refusal::Macros),
                "{persist_id} {has_macros}"
            );
        }
        // Excel 4 macro sheets and Excel 5 module sheets, by the list of sheets or by the
        // sheet's own start.
        for (listed, own) in [(1, 0x0040), (6, 0x0010), (0, 0x0040), (0, 0x0006)] {
            assert_eq!(
                classify(&compound(&[], &[("Workbook", &workbook(listed, own))])),
                Err(Refusal::Macros),
                "{listed} {own:#x}"
            );
        }
        // A Word 6/95 template keeps its macros in the main stream.
        assert_eq!(
            classify(&compound(&[], &[("WordDocument", &fib(0x0065, 0x0001))])),
            Err(Refusal::Macros)
        );
    }

    #[test]
    fn other_compound_files_are_refused() {
        // An Outlook message, an installer, a Visio drawing.
        for streams in [
            &[
                ("__properties_version1.0", &[0u8; 32][..]),
                ("__substg1.0_0037001F", b"S\0u\0b\0"),
            ][..],
            &[("\u{4840}\u{3F3F}\u{4577}", &[0u8; 16][..])][..],
            &[("VisioDocument", &[0u8; 64][..])][..],
        ] {
            assert_eq!(
                classify(&compound(&[], streams)),
                Err(Refusal::NotAccepted),
                "{streams:?}"
            );
        }
        // A Word file that is also a workbook; a Word stream that is not Word's; a storage
        // where the stream should be; a compound file cut short.
        let word = fib(0x00C1, 0);
        assert_eq!(
            classify(&compound(
                &[],
                &[("WordDocument", &word), ("Workbook", &workbook(0, 0x10))]
            )),
            Err(Refusal::NotAccepted)
        );
        assert_eq!(
            classify(&compound(&[], &[("WordDocument", &[0x12; 68])])),
            Err(Refusal::NotAccepted)
        );
        assert_eq!(
            classify(&compound(&["WordDocument"], &[])),
            Err(Refusal::NotAccepted)
        );
        assert_eq!(
            classify(&compound(&[], &[("Workbook", b"not records")])),
            Err(Refusal::NotAccepted)
        );
        // A presentation whose last record claims more than the stream holds.
        let mut slides = presentation(&[]);
        slides.extend(record(0x0000, 0x0FF5, &[]));
        let n = slides.len();
        slides[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            classify(&compound(&[], &[("PowerPoint Document", &slides)])),
            Ok(Kind::Ppt)
        );
        let mut cut = doc_with(&[], &[]);
        cut.truncate(cut.len() / 2);
        assert_eq!(classify(&cut), Err(Refusal::NotAccepted));
        let mut scrambled = doc_with(&[], &[]);
        scrambled[48..76].fill(0xEE);
        assert_eq!(classify(&scrambled), Err(Refusal::NotAccepted));
    }

    #[test]
    fn password_protected_files_are_refused_as_such() {
        // A protected .docx/.xlsx/.pptx is a compound file holding the encrypted package.
        assert_eq!(
            classify(&compound(
                &[],
                &[
                    ("EncryptionInfo", &[4, 0, 4, 0]),
                    ("EncryptedPackage", &[0; 64])
                ]
            )),
            Err(Refusal::Encrypted)
        );
        assert_eq!(
            classify(&compound(&[], &[("WordDocument", &fib(0x00C1, 0x0100))])),
            Err(Refusal::Encrypted)
        );
        let protected = biff(&[
            (0x0809, &bof(0x0005)),
            (0x002F, &[1, 0, 1, 0]),
            (0x000A, &[]),
        ]);
        assert_eq!(
            classify(&compound(&[], &[("Workbook", &protected)])),
            Err(Refusal::Encrypted)
        );
        let crypt = record(0x000F, 0x2F14, &record(0x0000, 0x2F15, &[0; 16]));
        assert_eq!(
            classify(&compound(
                &[],
                &[("PowerPoint Document", &presentation(&crypt))]
            )),
            Err(Refusal::Encrypted)
        );
        assert_eq!(
            classify(&compound(
                &[],
                &[
                    ("PowerPoint Document", &presentation(&[])),
                    ("EncryptedSummary", &[0; 16])
                ]
            )),
            Err(Refusal::Encrypted)
        );
    }
}
