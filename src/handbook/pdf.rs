//! The handbook as a PDF: A4 pages of headings and paragraphs in reading order, tagged (a
//! structure tree of H1-H3 and P elements, the document's title and language set) so screen
//! readers can follow it, with the DejaVu Sans fonts subset and embedded.
//!
//! krilla writes the PDF; the layout here is deliberately small: blocks flow down the page, lines
//! wrap greedily at word boundaries (measured with the font's own advance widths), and a block
//! that does not fit continues on the next page.

use krilla::Document;
use krilla::geom::Point;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::surface::Surface;
use krilla::tagging::{ContentTag, SpanTag, Tag, TagGroup, TagTree};
use krilla::text::{Font, TextDirection};
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};
use std::num::NonZeroU16;

static REGULAR: &[u8] = include_bytes!("../../static/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../static/fonts/DejaVuSans-Bold.ttf");

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 56.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    H1,
    H2,
    H3,
    /// A paragraph; line breaks in its text are kept.
    P,
    /// A short bold paragraph that names what follows ("Actions and evidence").
    Label,
}

#[derive(Debug, Clone)]
pub struct Block {
    pub kind: Kind,
    pub text: String,
}

impl Block {
    pub fn new(kind: Kind, text: impl Into<String>) -> Block {
        Block {
            kind,
            text: text.into(),
        }
    }
}

struct Style {
    bold: bool,
    size: f32,
    space_before: f32,
}

fn style(kind: Kind) -> Style {
    match kind {
        Kind::H1 => Style {
            bold: true,
            size: 20.0,
            space_before: 0.0,
        },
        Kind::H2 => Style {
            bold: true,
            size: 15.0,
            space_before: 18.0,
        },
        Kind::H3 => Style {
            bold: true,
            size: 12.5,
            space_before: 12.0,
        },
        Kind::Label => Style {
            bold: true,
            size: 10.0,
            space_before: 6.0,
        },
        Kind::P => Style {
            bold: false,
            size: 10.0,
            space_before: 3.0,
        },
    }
}

/// Width of `text` at `size` points, from the font's advance widths.
fn width(font: &FontRef<'_>, text: &str, size: f32) -> f32 {
    let charmap = font.charmap();
    let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
    text.chars()
        .map(|c| {
            charmap
                .map(c)
                .and_then(|g| metrics.advance_width(g))
                .unwrap_or(size * 0.6)
        })
        .sum()
}

/// `text` broken into lines no wider than `max`: at spaces where possible, inside a word only
/// when the word alone is too wide. Line breaks in the text are kept; empty lines stay empty.
pub fn wrap(text: &str, max: f32, measure: impl Fn(&str) -> f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if measure(&candidate) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // A word wider than the line is cut where it must be.
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if measure(&piece) > max && piece.chars().count() > 1 {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(c);
                }
            }
            line = piece;
        }
        lines.push(line);
    }
    lines
}

/// Renders `blocks` as a tagged PDF titled `title`.
pub fn render(title: &str, blocks: &[Block]) -> Result<Vec<u8>, String> {
    let regular = Font::new(REGULAR.into(), 0).ok_or("the regular font cannot be read")?;
    let bold = Font::new(BOLD.into(), 0).ok_or("the bold font cannot be read")?;
    let regular_ref = FontRef::new(REGULAR).map_err(|e| e.to_string())?;
    let bold_ref = FontRef::new(BOLD).map_err(|e| e.to_string())?;

    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(title.to_string())
            .language("en-GB".to_string()),
    );
    let mut tree = TagTree::new();
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or("bad page size")?;

    // Lay out first (which line goes on which page), then draw page by page.
    struct Line {
        block: usize,
        y: f32,
        text: String,
    }
    let mut pages: Vec<Vec<Line>> = vec![Vec::new()];
    let mut y = MARGIN;
    for (i, block) in blocks.iter().enumerate() {
        let s = style(block.kind);
        let font_ref = if s.bold { &bold_ref } else { &regular_ref };
        let leading = s.size * 1.35;
        let lines = wrap(&block.text, PAGE_W - 2.0 * MARGIN, |t| {
            width(font_ref, t, s.size)
        });
        y += s.space_before;
        // Keep a heading with at least two lines of what follows.
        let keep = if matches!(block.kind, Kind::H1 | Kind::H2 | Kind::H3 | Kind::Label) {
            3.0
        } else {
            1.0
        };
        if y + leading * keep > PAGE_H - MARGIN && !pages.last().is_some_and(Vec::is_empty) {
            pages.push(Vec::new());
            y = MARGIN;
        }
        for text in lines {
            if y + leading > PAGE_H - MARGIN {
                pages.push(Vec::new());
                y = MARGIN;
            }
            y += leading;
            pages.last_mut().expect("there is a page").push(Line {
                block: i,
                y: y - s.size * 0.3,
                text,
            });
        }
    }

    let mut groups: Vec<TagGroup> = blocks
        .iter()
        .map(|b| match b.kind {
            Kind::H1 => TagGroup::new(Tag::Hn(NonZeroU16::MIN, Some(b.text.clone()))),
            Kind::H2 => TagGroup::new(Tag::Hn(
                NonZeroU16::new(2).expect("2 is not zero"),
                Some(b.text.clone()),
            )),
            Kind::H3 => TagGroup::new(Tag::Hn(
                NonZeroU16::new(3).expect("3 is not zero"),
                Some(b.text.clone()),
            )),
            Kind::P | Kind::Label => TagGroup::new(Tag::P),
        })
        .collect();
    for lines in &pages {
        let mut page = document.start_page_with(settings.clone());
        let mut surface: Surface<'_> = page.surface();
        for line in lines {
            let s = style(blocks[line.block].kind);
            let font = if s.bold {
                bold.clone()
            } else {
                regular.clone()
            };
            let id = surface.start_tagged(ContentTag::Span(SpanTag::empty()));
            surface.draw_text(
                Point::from_xy(MARGIN, line.y),
                font,
                s.size,
                &line.text,
                false,
                TextDirection::Auto,
            );
            surface.end_tagged();
            groups[line.block].push(id);
        }
        surface.finish();
        page.finish();
    }
    for g in groups {
        tree.push(g);
    }
    document.set_tag_tree(tree);
    document.finish().map_err(|e| format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One unit per character: easy to reason about.
    fn chars(t: &str) -> f32 {
        t.chars().count() as f32
    }

    #[test]
    fn wraps_at_spaces_and_keeps_line_breaks() {
        assert_eq!(wrap("one two three", 7.0, chars), vec!["one two", "three"]);
        assert_eq!(wrap("a\n\nb", 10.0, chars), vec!["a", "", "b"]);
        assert_eq!(wrap("", 10.0, chars), vec![""]);
    }

    #[test]
    fn cuts_a_word_wider_than_the_line() {
        assert_eq!(
            wrap("abcdefgh ij", 3.0, chars),
            vec!["abc", "def", "gh", "ij"]
        );
    }

    #[test]
    fn renders_a_tagged_pdf_with_embedded_fonts() {
        let blocks = vec![
            Block::new(Kind::H1, "Handbook"),
            Block::new(Kind::H2, "Key theme 1: Policy Framework"),
            Block::new(
                Kind::P,
                "The school’s policy is reviewed annually. ".repeat(200),
            ),
        ];
        let pdf = render("Handbook", &blocks).unwrap();
        let text = String::from_utf8_lossy(&pdf);
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(text.contains("/StructTreeRoot"));
        assert!(text.contains("/MarkInfo"));
        assert!(text.contains("/FontFile2") || text.contains("/FontFile3"));
        assert!(text.contains("/Lang"));
    }
}
