//! The handbook as a PDF, laid out like the printed handbook's evidence tables: A4 landscape,
//! each key theme from a new page with its heading, and a table per theme whose rows break
//! across pages with the header row repeated. Tagged (headings, paragraphs and tables in reading
//! order, the document's title and language set) so screen readers can follow it, with the
//! DejaVu Sans fonts subset and embedded.
//!
//! krilla writes the PDF; the layout here is deliberately small and kept apart from it, in plain
//! functions over a [`Measure`] so it can be tested without fonts: text is cleaned of control
//! characters ([`clean`]), wrapped at spaces ([`wrap`]), rows are split where a page ends
//! ([`split_row`]), and [`layout`] places everything on pages. [`render`] only draws the result.

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::tagging::{
    Artifact, ArtifactType, ContentTag, Identifier, Node as TagNode, SpanTag, TableHeaderScope,
    Tag, TagGroup, TagKind, TagTree,
};
use krilla::text::{Font, TextDirection};
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};
use std::num::NonZeroU16;

static REGULAR: &[u8] = include_bytes!("../../static/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../static/fonts/DejaVuSans-Bold.ttf");

/// A4 landscape, in points.
pub const PAGE_W: f32 = 842.0;
pub const PAGE_H: f32 = 595.0;
const MARGIN: f32 = 36.0;
/// Where the page's content ends; the page number sits below it.
const BOTTOM: f32 = PAGE_H - MARGIN - 8.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;

const BODY: TextStyle = TextStyle {
    size: 10.0,
    leading: 13.5,
};
const CELL: TextStyle = TextStyle {
    size: 8.5,
    leading: 11.0,
};
/// Space inside a table cell, around its text.
const PAD: f32 = 4.0;
/// Space between paragraphs in a cell.
const CELL_GAP: f32 = 4.0;
/// A row is split at the foot of a page only when at least this many lines fit there; otherwise
/// it starts on the next page.
const MIN_SPLIT_LINES: f32 = 3.0;

#[derive(Debug, Clone, Copy, PartialEq)]
struct TextStyle {
    size: f32,
    leading: f32,
}

/// A piece of text in one weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub bold: bool,
    pub text: String,
}

/// A paragraph: runs of text, wrapped as one; line breaks in the text are kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Para(pub Vec<Run>);

impl Para {
    pub fn plain(text: impl Into<String>) -> Para {
        Para(vec![Run {
            bold: false,
            text: text.into(),
        }])
    }

    pub fn bold(text: impl Into<String>) -> Para {
        Para(vec![Run {
            bold: true,
            text: text.into(),
        }])
    }

    /// A bold label followed, on the same line, by plain text ("Bronze: The school...").
    pub fn labelled(label: impl Into<String>, text: impl Into<String>) -> Para {
        Para(vec![
            Run {
                bold: true,
                text: label.into(),
            },
            Run {
                bold: false,
                text: format!(" {}", text.into()),
            },
        ])
    }

    fn text(&self) -> String {
        self.0.iter().map(|r| r.text.as_str()).collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub title: String,
    /// The column's share of the table's width.
    pub share: f32,
}

/// A table whose first cell in each row is the row's header (the strand).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
    /// Rows of cells, each cell a list of paragraphs.
    pub rows: Vec<Vec<Vec<Para>>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading of level 1 to 3.
    Heading(u16, String),
    Para(Para),
    Table(Table),
    /// What follows starts on a new page.
    PageBreak,
}

/// Text widths, from the fonts (or, in tests, from anything simpler).
pub trait Measure {
    fn width(&self, text: &str, bold: bool, size: f32) -> f32;
}

/// Text as it may be drawn: `\r\n` and `\r` (as browsers send paragraph breaks) and the Unicode
/// line and paragraph separators become line breaks, tabs become spaces, and other control
/// characters, which no font draws but as an empty box, are left out.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push('\n');
            }
            '\n' | '\u{2028}' | '\u{2029}' | '\u{85}' => out.push('\n'),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A word of a paragraph: pieces (one per weight it spans) drawn with no space between them.
type Word = Vec<Run>;

/// Appends `piece` to `line`, joining it to the last run when the weight is the same.
fn push_run(line: &mut Vec<Run>, bold: bool, piece: &str) {
    match line.last_mut() {
        Some(last) if last.bold == bold => last.text.push_str(piece),
        _ => line.push(Run {
            bold,
            text: piece.to_string(),
        }),
    }
}

/// `para` broken into lines no wider than `max` at `size` points: at spaces (kept at the end of
/// the line), and inside a word only when that word alone is wider than the line. Line breaks
/// in the text are kept; an empty line stays (as no runs). The text is [`clean`]ed first.
pub fn wrap(para: &Para, max: f32, size: f32, m: &impl Measure) -> Vec<Vec<Run>> {
    // Hard lines, each a list of words.
    let mut hard: Vec<Vec<Word>> = vec![Vec::new()];
    let mut glued = false;
    for run in &para.0 {
        for c in clean(&run.text).chars() {
            let words = hard.last_mut().expect("there is a line");
            match c {
                '\n' => {
                    hard.push(Vec::new());
                    glued = false;
                }
                c if c.is_whitespace() && c != '\u{a0}' => glued = false,
                c => {
                    if !glued {
                        words.push(Vec::new());
                        glued = true;
                    }
                    let mut buf = [0; 4];
                    push_run(
                        words.last_mut().expect("there is a word"),
                        run.bold,
                        c.encode_utf8(&mut buf),
                    );
                }
            }
        }
    }

    let word_width = |w: &Word| -> f32 { w.iter().map(|r| m.width(&r.text, r.bold, size)).sum() };
    let space = m.width(" ", false, size);
    let mut lines = Vec::new();
    for words in hard {
        let mut line: Vec<Run> = Vec::new();
        let mut used = 0.0;
        for word in words {
            let w = word_width(&word);
            if !line.is_empty() && used + space + w <= max {
                let bold = line.last().is_some_and(|r| r.bold);
                push_run(&mut line, bold, " ");
                for r in &word {
                    push_run(&mut line, r.bold, &r.text);
                }
                used += space + w;
                continue;
            }
            if !line.is_empty() {
                // The space broken at stays, at the end of the line, so that text read from the
                // PDF keeps its words apart.
                let bold = line.last().is_some_and(|r| r.bold);
                push_run(&mut line, bold, " ");
                lines.push(std::mem::take(&mut line));
            }
            if w <= max {
                for r in &word {
                    push_run(&mut line, r.bold, &r.text);
                }
                used = w;
                continue;
            }
            // A word wider than the line is cut where it must be.
            used = 0.0;
            for r in &word {
                for c in r.text.chars() {
                    let mut buf = [0; 4];
                    let piece = c.encode_utf8(&mut buf);
                    let cw = m.width(piece, r.bold, size);
                    if !line.is_empty() && used + cw > max {
                        lines.push(std::mem::take(&mut line));
                        used = 0.0;
                    }
                    push_run(&mut line, r.bold, piece);
                    used += cw;
                }
            }
        }
        lines.push(line);
    }
    lines
}

/// How many lines of each cell fit in `avail` points of height, each cell given as its lines'
/// heights from where it carries on. Every line fits when the row is short enough.
pub fn split_row(cells: &[&[f32]], avail: f32) -> Vec<usize> {
    cells
        .iter()
        .map(|heights| {
            let mut used = 0.0;
            heights
                .iter()
                .take_while(|h| {
                    used += **h;
                    used <= avail + 0.01
                })
                .count()
        })
        .collect()
}

/// Something drawn on a page. Text with a `slot` belongs to that leaf of the tag tree; text
/// without one (a repeated table header, the page number) is an artifact.
#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    Text {
        x: f32,
        /// The baseline, from the top of the page.
        y: f32,
        size: f32,
        bold: bool,
        text: String,
        slot: Option<usize>,
    },
    /// A table rule.
    Rule { x0: f32, y0: f32, x1: f32, y1: f32 },
    /// The shading behind a header row.
    Shade { x: f32, y: f32, w: f32, h: f32 },
}

/// The role of a group in the tag tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    Heading(u16, String),
    P,
    Table,
    THead,
    TBody,
    TR,
    /// The header cell of a column.
    ColumnHeader,
    /// The header cell of a row (a strand's number).
    RowHeader,
    TD,
}

/// The document's logical structure: groups, and leaves holding the text of one slot.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Group(Role, Vec<Node>),
    Leaf(usize),
}

#[derive(Debug, Default)]
pub struct Laid {
    pub pages: Vec<Vec<Mark>>,
    pub tree: Vec<Node>,
}

/// A line of a table cell, ready to be placed.
struct CellLine {
    slot: usize,
    runs: Vec<Run>,
    /// Space above it: the gap between paragraphs, dropped at the top of a page.
    gap: f32,
}

impl CellLine {
    fn height(&self, first: bool) -> f32 {
        CELL.leading + if first { 0.0 } else { self.gap }
    }
}

struct Layouter<'a, M: Measure> {
    m: &'a M,
    pages: Vec<Vec<Mark>>,
    y: f32,
    slots: usize,
}

/// Where the text of a line sits in a line box of `style` whose top is at `top`.
fn baseline(top: f32, style: TextStyle) -> f32 {
    // DejaVu Sans: ascender 0.928 em, descender 0.236 em; centred in the leading.
    top + (style.leading - 1.164 * style.size) / 2.0 + 0.928 * style.size
}

impl<M: Measure> Layouter<'_, M> {
    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    fn page_is_empty(&self) -> bool {
        self.pages.last().is_none_or(Vec::is_empty)
    }

    fn room(&self) -> f32 {
        BOTTOM - self.y
    }

    fn slot(&mut self) -> usize {
        self.slots += 1;
        self.slots - 1
    }

    fn mark(&mut self, mark: Mark) {
        self.pages.last_mut().expect("there is a page").push(mark);
    }

    /// Draws a line of runs at `x`, baseline `y`.
    fn runs(&mut self, x: f32, y: f32, size: f32, runs: &[Run], slot: Option<usize>) {
        let mut x = x;
        for r in runs {
            if !r.text.trim().is_empty() {
                self.mark(Mark::Text {
                    x,
                    y,
                    size,
                    bold: r.bold,
                    text: r.text.clone(),
                    slot,
                });
            }
            x += self.m.width(&r.text, r.bold, size);
        }
    }

    /// A paragraph or heading flowing down the page; `keep` lines of what follows must fit
    /// below a heading, or it moves to the next page.
    fn flow(&mut self, para: &Para, style: TextStyle, space_before: f32, keep: f32) -> usize {
        let slot = self.slot();
        let lines = wrap(para, CONTENT_W, style.size, self.m);
        if !self.page_is_empty() {
            self.y += space_before;
        }
        let needed = style.leading * (lines.len() as f32).min(2.0) + keep;
        if needed > self.room() && !self.page_is_empty() {
            self.new_page();
        }
        for line in lines {
            if style.leading > self.room() && !self.page_is_empty() {
                self.new_page();
            }
            self.runs(
                MARGIN,
                baseline(self.y, style),
                style.size,
                &line,
                Some(slot),
            );
            self.y += style.leading;
        }
        slot
    }

    fn heading(&mut self, level: u16, text: &str) -> Node {
        let (size, before) = match level {
            1 => (18.0, 0.0),
            2 => (14.0, 14.0),
            _ => (11.5, 10.0),
        };
        let style = TextStyle {
            size,
            leading: size * 1.3,
        };
        let slot = self.flow(&Para::bold(text), style, before, BODY.leading * 3.0);
        self.y += 4.0;
        Node::Group(Role::Heading(level, clean(text)), vec![Node::Leaf(slot)])
    }

    fn paragraph(&mut self, para: &Para) -> Node {
        let slot = self.flow(para, BODY, 4.0, 0.0);
        Node::Group(Role::P, vec![Node::Leaf(slot)])
    }

    /// Draws a row (or the part of it on this page) at the current position: `lines[c]` of
    /// cell `c` from `from[c]` to `to[c]`, in a row `height` tall.
    #[allow(clippy::too_many_arguments)]
    fn row_part(
        &mut self,
        xs: &[f32],
        lines: &[Vec<CellLine>],
        from: &[usize],
        to: &[usize],
        height: f32,
        header: bool,
        tagged: bool,
    ) {
        let top = self.y;
        if header {
            self.mark(Mark::Shade {
                x: xs[0],
                y: top,
                w: CONTENT_W,
                h: height,
            });
        }
        for (c, cell) in lines.iter().enumerate() {
            let mut y = top + PAD;
            for (i, line) in cell[from[c]..to[c]].iter().enumerate() {
                y += line.height(i == 0) - CELL.leading;
                let slot = tagged.then_some(line.slot);
                self.runs(xs[c] + PAD, baseline(y, CELL), CELL.size, &line.runs, slot);
                y += CELL.leading;
            }
        }
        let right = xs[0] + CONTENT_W;
        for y in [top, top + height] {
            self.mark(Mark::Rule {
                x0: xs[0],
                y0: y,
                x1: right,
                y1: y,
            });
        }
        for x in xs.iter().copied().chain([right]) {
            self.mark(Mark::Rule {
                x0: x,
                y0: top,
                x1: x,
                y1: top + height,
            });
        }
        self.y = top + height;
    }

    /// The lines of each cell of a row, at the columns' widths, and the tag tree of its cells.
    fn cells(
        &mut self,
        cells: &[Vec<Para>],
        widths: &[f32],
        header_row: bool,
    ) -> (Vec<Vec<CellLine>>, Vec<Node>) {
        let mut lines = Vec::new();
        let mut nodes = Vec::new();
        for (c, paras) in cells.iter().enumerate() {
            let mut cell = Vec::new();
            let mut leaves = Vec::new();
            for (p, para) in paras.iter().enumerate() {
                let slot = self.slot();
                leaves.push(Node::Leaf(slot));
                let bold_all = header_row || c == 0;
                let para = if bold_all {
                    Para::bold(para.text())
                } else {
                    para.clone()
                };
                for (i, runs) in wrap(&para, widths[c] - 2.0 * PAD, CELL.size, self.m)
                    .into_iter()
                    .enumerate()
                {
                    cell.push(CellLine {
                        slot,
                        runs,
                        gap: if i == 0 && p > 0 { CELL_GAP } else { 0.0 },
                    });
                }
            }
            let role = match (header_row, c) {
                (true, _) => Role::ColumnHeader,
                (false, 0) => Role::RowHeader,
                _ => Role::TD,
            };
            let children = if leaves.len() == 1 {
                leaves
            } else {
                leaves
                    .into_iter()
                    .map(|l| Node::Group(Role::P, vec![l]))
                    .collect()
            };
            nodes.push(Node::Group(role, children));
            lines.push(cell);
        }
        (lines, nodes)
    }

    fn table(&mut self, table: &Table) -> Node {
        let total: f32 = table.columns.iter().map(|c| c.share).sum();
        let widths: Vec<f32> = table
            .columns
            .iter()
            .map(|c| CONTENT_W * c.share / total)
            .collect();
        let xs: Vec<f32> = widths
            .iter()
            .scan(MARGIN, |x, w| {
                let at = *x;
                *x += w;
                Some(at)
            })
            .collect();
        let titles: Vec<Vec<Para>> = table
            .columns
            .iter()
            .map(|c| vec![Para::bold(&c.title)])
            .collect();
        let (header, header_nodes) = self.cells(&titles, &widths, true);
        let header_h = 2.0 * PAD
            + header
                .iter()
                .map(|c| c.len() as f32 * CELL.leading)
                .fold(0.0, f32::max);
        let ends: Vec<usize> = header.iter().map(Vec::len).collect();
        let starts = vec![0; header.len()];
        let draw_header = |me: &mut Self, tagged: bool| {
            me.row_part(&xs, &header, &starts, &ends, header_h, true, tagged);
        };

        self.y += 6.0;
        let min_row = 2.0 * PAD + MIN_SPLIT_LINES * CELL.leading;
        if header_h + min_row > self.room() && !self.page_is_empty() {
            self.new_page();
        }
        draw_header(self, true);

        let mut rows = Vec::new();
        // Whether the page holds only the (repeated) header so far.
        let mut fresh = false;
        for cells in &table.rows {
            let (lines, nodes) = self.cells(cells, &widths, false);
            let mut from = vec![0; lines.len()];
            loop {
                let heights: Vec<Vec<f32>> = lines
                    .iter()
                    .zip(&from)
                    .map(|(cell, &f)| {
                        cell[f..]
                            .iter()
                            .enumerate()
                            .map(|(i, l)| l.height(i == 0))
                            .collect()
                    })
                    .collect();
                let slices: Vec<&[f32]> = heights.iter().map(Vec::as_slice).collect();
                let rest = slices
                    .iter()
                    .map(|h| h.iter().sum::<f32>())
                    .fold(0.0, f32::max);
                let room = self.room() - 2.0 * PAD;
                if rest <= room {
                    let to: Vec<usize> = lines.iter().map(Vec::len).collect();
                    self.row_part(&xs, &lines, &from, &to, rest + 2.0 * PAD, false, true);
                    fresh = false;
                    break;
                }
                if room >= MIN_SPLIT_LINES * CELL.leading || fresh {
                    let mut take = split_row(&slices, room);
                    if take.iter().all(|t| *t == 0) {
                        // Not even a line fits under the header of a new page: place one anyway
                        // rather than turn pages for ever.
                        if let Some(c) = slices.iter().position(|h| !h.is_empty()) {
                            take[c] = 1;
                        }
                    }
                    let to: Vec<usize> = from.iter().zip(&take).map(|(f, t)| f + t).collect();
                    let used = slices
                        .iter()
                        .zip(&take)
                        .map(|(h, t)| h[..*t].iter().sum::<f32>())
                        .fold(0.0, f32::max);
                    self.row_part(&xs, &lines, &from, &to, used + 2.0 * PAD, false, true);
                    from = to;
                }
                self.new_page();
                draw_header(self, false);
                fresh = true;
            }
            rows.push(Node::Group(Role::TR, nodes));
        }
        self.y += 6.0;
        Node::Group(
            Role::Table,
            vec![
                Node::Group(Role::THead, vec![Node::Group(Role::TR, header_nodes)]),
                Node::Group(Role::TBody, rows),
            ],
        )
    }
}

/// Places `blocks` on A4 landscape pages.
pub fn layout(blocks: &[Block], m: &impl Measure) -> Laid {
    let mut l = Layouter {
        m,
        pages: Vec::new(),
        y: MARGIN,
        slots: 0,
    };
    l.new_page();
    let mut tree = Vec::new();
    for block in blocks {
        match block {
            Block::Heading(level, text) => tree.push(l.heading(*level, text)),
            Block::Para(p) => tree.push(l.paragraph(p)),
            Block::Table(t) => tree.push(l.table(t)),
            Block::PageBreak => {
                if !l.page_is_empty() {
                    l.new_page();
                }
            }
        }
    }
    if l.pages.len() > 1 && l.page_is_empty() {
        l.pages.pop();
    }
    Laid {
        pages: l.pages,
        tree,
    }
}

/// The two fonts, measured with their own advance widths.
struct Fonts<'a> {
    regular: FontRef<'a>,
    bold: FontRef<'a>,
}

impl Fonts<'_> {
    fn font(&self, bold: bool) -> &FontRef<'_> {
        if bold { &self.bold } else { &self.regular }
    }

    /// `text` with every character the font has no glyph for shown as U+FFFD (a visible "?" in
    /// a diamond) rather than an empty box.
    fn printable(&self, text: &str) -> String {
        let has = |f: &FontRef<'_>, c: char| f.charmap().map(c).is_some();
        text.chars()
            .map(|c| {
                if c == '\n' || (has(&self.regular, c) && has(&self.bold, c)) {
                    c
                } else {
                    '\u{fffd}'
                }
            })
            .collect()
    }

    fn printable_para(&self, p: &Para) -> Para {
        Para(
            p.0.iter()
                .map(|r| Run {
                    bold: r.bold,
                    text: self.printable(&clean(&r.text)),
                })
                .collect(),
        )
    }

    fn printable_blocks(&self, blocks: &[Block]) -> Vec<Block> {
        blocks
            .iter()
            .map(|b| match b {
                Block::Heading(l, t) => Block::Heading(*l, self.printable(&clean(t))),
                Block::Para(p) => Block::Para(self.printable_para(p)),
                Block::Table(t) => Block::Table(Table {
                    columns: t
                        .columns
                        .iter()
                        .map(|c| Column {
                            title: self.printable(&clean(&c.title)),
                            share: c.share,
                        })
                        .collect(),
                    rows: t
                        .rows
                        .iter()
                        .map(|r| {
                            r.iter()
                                .map(|c| c.iter().map(|p| self.printable_para(p)).collect())
                                .collect()
                        })
                        .collect(),
                }),
                Block::PageBreak => Block::PageBreak,
            })
            .collect()
    }
}

impl Measure for Fonts<'_> {
    fn width(&self, text: &str, bold: bool, size: f32) -> f32 {
        let font = self.font(bold);
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
}

fn tag_group(node: &Node, ids: &mut [Vec<Identifier>], push: &mut dyn FnMut(TagNode)) {
    match node {
        Node::Leaf(slot) => {
            for id in std::mem::take(&mut ids[*slot]) {
                push(id.into());
            }
        }
        Node::Group(role, children) => {
            let kind: TagKind = match role {
                Role::Heading(level, title) => Tag::Hn(
                    NonZeroU16::new(*level).unwrap_or(NonZeroU16::MIN),
                    Some(title.clone()),
                )
                .into(),
                Role::P => Tag::P.into(),
                Role::Table => Tag::Table.into(),
                Role::THead => Tag::THead.into(),
                Role::TBody => Tag::TBody.into(),
                Role::TR => Tag::TR.into(),
                Role::ColumnHeader => Tag::TH(TableHeaderScope::Column).into(),
                Role::RowHeader => Tag::TH(TableHeaderScope::Row).into(),
                Role::TD => Tag::TD.into(),
            };
            let mut group = TagGroup::new(kind);
            for child in children {
                tag_group(child, ids, &mut |n| group.push(n));
            }
            push(group.into());
        }
    }
}

/// Renders `blocks` as a tagged PDF titled `title`, each page numbered after `footer`.
pub fn render(title: &str, footer: &str, blocks: &[Block]) -> Result<Vec<u8>, String> {
    let regular = Font::new(REGULAR.into(), 0).ok_or("the regular font cannot be read")?;
    let bold = Font::new(BOLD.into(), 0).ok_or("the bold font cannot be read")?;
    let fonts = Fonts {
        regular: FontRef::new(REGULAR).map_err(|e| e.to_string())?,
        bold: FontRef::new(BOLD).map_err(|e| e.to_string())?,
    };
    let blocks = fonts.printable_blocks(blocks);
    let laid = layout(&blocks, &fonts);
    let slots = laid
        .pages
        .iter()
        .flatten()
        .filter_map(|m| match m {
            Mark::Text { slot, .. } => *slot,
            _ => None,
        })
        .max()
        .map_or(0, |s| s + 1);
    let mut ids: Vec<Vec<Identifier>> = (0..slots).map(|_| Vec::new()).collect();

    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(title.to_string())
            .language("en-GB".to_string()),
    );
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or("bad page size")?;
    let count = laid.pages.len();
    let footer = fonts.printable(&clean(footer));
    let rule = Stroke {
        paint: rgb::Color::new(0xb1, 0xb4, 0xb6).into(),
        width: 0.6,
        ..Stroke::default()
    };
    let shade = Fill {
        paint: rgb::Color::new(0xf3, 0xf2, 0xf1).into(),
        ..Fill::default()
    };
    let layout_artifact = || ContentTag::Artifact(Artifact::with_kind(ArtifactType::Layout));
    for (n, marks) in laid.pages.iter().enumerate() {
        let mut page = document.start_page_with(settings.clone());
        let mut surface: Surface<'_> = page.surface();

        // Shading first, text over it, rules last.
        let mut shades = PathBuilder::new();
        let mut rules = PathBuilder::new();
        for mark in marks {
            match mark {
                Mark::Shade { x, y, w, h } => {
                    if let Some(r) = Rect::from_xywh(*x, *y, *w, *h) {
                        shades.push_rect(r);
                    }
                }
                Mark::Rule { x0, y0, x1, y1 } => {
                    rules.move_to(*x0, *y0);
                    rules.line_to(*x1, *y1);
                }
                Mark::Text { .. } => {}
            }
        }
        if let Some(path) = shades.finish() {
            surface.start_tagged(layout_artifact());
            surface.set_fill(Some(shade.clone()));
            surface.set_stroke(None);
            surface.draw_path(&path);
            surface.end_tagged();
        }
        surface.set_fill(Some(Fill::default()));
        for mark in marks {
            let Mark::Text {
                x,
                y,
                size,
                bold: is_bold,
                text,
                slot,
            } = mark
            else {
                continue;
            };
            let font = if *is_bold {
                bold.clone()
            } else {
                regular.clone()
            };
            let id = match slot {
                Some(_) => surface.start_tagged(ContentTag::Span(SpanTag::empty())),
                None => surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(
                    ArtifactType::PaginationOther,
                ))),
            };
            surface.draw_text(
                Point::from_xy(*x, *y),
                font,
                *size,
                text,
                false,
                TextDirection::Auto,
            );
            surface.end_tagged();
            if let Some(s) = slot {
                ids[*s].push(id);
            }
        }
        let number = format!("{footer} – page {} of {count}", n + 1);
        let width = fonts.width(&number, false, 8.0);
        surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(
            ArtifactType::PageNumber,
        )));
        surface.draw_text(
            Point::from_xy(PAGE_W - MARGIN - width, PAGE_H - MARGIN + 10.0),
            regular.clone(),
            8.0,
            &number,
            false,
            TextDirection::Auto,
        );
        surface.end_tagged();
        if let Some(path) = rules.finish() {
            surface.start_tagged(layout_artifact());
            surface.set_fill(None);
            surface.set_stroke(Some(rule.clone()));
            surface.draw_path(&path);
            surface.end_tagged();
        }
        surface.finish();
        page.finish();
    }

    let mut tree = TagTree::new();
    for node in &laid.tree {
        tag_group(node, &mut ids, &mut |n| tree.push(n));
    }
    document.set_tag_tree(tree);
    document.finish().map_err(|e| format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character as wide as half its size: easy to reason about.
    struct Mono;

    impl Measure for Mono {
        fn width(&self, text: &str, _bold: bool, size: f32) -> f32 {
            text.chars().count() as f32 * size / 2.0
        }
    }

    /// One unit per character at size 2.
    fn lines(text: &str, max: f32) -> Vec<String> {
        wrap(&Para::plain(text), max, 2.0, &Mono)
            .into_iter()
            .map(|l| l.into_iter().map(|r| r.text).collect::<String>())
            .map(|l| l.trim_end().to_string())
            .collect()
    }

    #[test]
    fn a_line_broken_at_a_space_keeps_it_so_words_stay_apart_when_read() {
        let got = wrap(&Para::plain("one two"), 4.0, 2.0, &Mono);
        assert_eq!(got[0][0].text, "one ");
        assert_eq!(got[1][0].text, "two");
    }

    #[test]
    fn wraps_at_spaces_and_keeps_line_breaks() {
        assert_eq!(lines("one two three", 7.0), vec!["one two", "three"]);
        assert_eq!(lines("a\n\nb", 10.0), vec!["a", "", "b"]);
        assert_eq!(lines("", 10.0), vec![""]);
        assert_eq!(lines("  spaced   out ", 20.0), vec!["spaced out"]);
    }

    #[test]
    fn paragraph_breaks_from_a_browser_are_line_breaks_and_no_control_character_is_drawn() {
        assert_eq!(clean("a\r\n\r\nb\rc\td\u{7}e\u{2028}f"), "a\n\nb\nc de\nf");
        assert_eq!(
            lines("one\r\n\r\ntwo\rthree", 20.0),
            vec!["one", "", "two", "three"]
        );
        for line in lines("x\u{0}y\u{1b}[0m z\u{7f}\u{9f}", 20.0) {
            assert!(!line.chars().any(char::is_control), "{line:?}");
        }
    }

    #[test]
    fn cuts_only_a_word_wider_than_the_line() {
        assert_eq!(lines("abcdefgh ij", 3.0), vec!["abc", "def", "gh", "ij"]);
        // "Development" fits on a line of its own: it moves down whole.
        assert_eq!(
            lines("School Development Plan", 12.0),
            vec!["School", "Development", "Plan"]
        );
    }

    #[test]
    fn runs_of_both_weights_wrap_as_one_paragraph() {
        let p = Para::labelled("Bronze:", "The school has a policy");
        let got = wrap(&p, 14.0, 2.0, &Mono);
        assert_eq!(
            got[0],
            vec![
                Run {
                    bold: true,
                    text: "Bronze: ".into()
                },
                Run {
                    bold: false,
                    text: "The ".into()
                }
            ]
        );
        assert_eq!(
            got[1],
            vec![Run {
                bold: false,
                text: "school has a ".into()
            }]
        );
        assert_eq!(
            got[2],
            vec![Run {
                bold: false,
                text: "policy".into()
            }]
        );
    }

    #[test]
    fn a_row_is_split_where_the_page_ends() {
        let a = [10.0, 10.0, 10.0, 10.0];
        let b = [10.0, 14.0];
        assert_eq!(split_row(&[&a, &b], 25.0), vec![2, 2]);
        assert_eq!(split_row(&[&a, &b], 100.0), vec![4, 2]);
        assert_eq!(split_row(&[&a, &b], 5.0), vec![0, 0]);
    }

    fn table(rows: usize, words: usize) -> Table {
        let col = |t: &str| Column {
            title: t.into(),
            share: 1.0,
        };
        Table {
            columns: vec![col("Strand"), col("Statements"), col("Actions")],
            rows: (0..rows)
                .map(|r| {
                    vec![
                        vec![Para::plain(format!("{r}.1"))],
                        vec![Para::labelled("Bronze:", "word ".repeat(words))],
                        vec![Para::plain("a\r\nb"), Para::plain("c")],
                    ]
                })
                .collect(),
        }
    }

    fn texts(page: &[Mark]) -> Vec<(String, Option<usize>, f32)> {
        page.iter()
            .filter_map(|m| match m {
                Mark::Text { text, slot, y, .. } => Some((text.clone(), *slot, *y)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn each_theme_starts_a_page_and_nothing_runs_off_it() {
        let blocks = vec![
            Block::Heading(1, "Handbook".into()),
            Block::PageBreak,
            Block::Heading(2, "Key theme 1".into()),
            Block::Table(table(3, 20)),
            Block::PageBreak,
            Block::Heading(2, "Key theme 2".into()),
            Block::Table(table(2, 10)),
        ];
        let laid = layout(&blocks, &Mono);
        assert_eq!(laid.pages.len(), 3);
        assert_eq!(texts(&laid.pages[1])[0].0, "Key theme 1");
        assert_eq!(texts(&laid.pages[2])[0].0, "Key theme 2");
        for page in &laid.pages {
            for (text, _, y) in texts(page) {
                assert!(y < BOTTOM, "{text} below the foot of the page");
            }
        }
    }

    #[test]
    fn a_tall_row_carries_on_over_pages_under_a_repeated_header() {
        let blocks = vec![
            Block::Heading(2, "Key theme 3".into()),
            Block::Table(table(2, 2500)),
        ];
        let laid = layout(&blocks, &Mono);
        assert!(laid.pages.len() >= 3, "{} pages", laid.pages.len());
        // The header row: tagged on the first page, an artifact where repeated.
        let first = texts(&laid.pages[0]);
        assert!(
            first
                .iter()
                .any(|(t, s, _)| t == "Statements" && s.is_some())
        );
        for page in &laid.pages[1..] {
            let t = texts(page);
            assert_eq!(t[0].0, "Strand", "a page starts with the header row");
            assert!(t.iter().any(|(t, s, _)| t == "Statements" && s.is_none()));
        }
        // The row's text continues in order: every slot's lines, across pages, go down.
        let words: usize = laid
            .pages
            .iter()
            .flat_map(|p| texts(p))
            .filter(|(_, s, _)| s.is_some())
            .map(|(t, _, _)| t.matches("word").count())
            .sum();
        assert_eq!(words, 2 * 2500);
    }

    #[test]
    fn a_row_that_fits_on_the_page_is_not_split() {
        let laid = layout(&[Block::Table(table(4, 30))], &Mono);
        assert_eq!(laid.pages.len(), 1);
    }

    #[test]
    fn every_slot_is_one_leaf_of_the_tree() {
        fn leaves(n: &Node, out: &mut Vec<usize>) {
            match n {
                Node::Leaf(s) => out.push(*s),
                Node::Group(_, c) => c.iter().for_each(|c| leaves(c, out)),
            }
        }
        let laid = layout(
            &[
                Block::Heading(1, "H".into()),
                Block::Para(Para::plain("p")),
                Block::Table(table(3, 400)),
            ],
            &Mono,
        );
        let mut found = Vec::new();
        laid.tree.iter().for_each(|n| leaves(n, &mut found));
        let mut sorted = found.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), found.len(), "no slot twice");
        for page in &laid.pages {
            for (_, slot, _) in texts(page) {
                if let Some(s) = slot {
                    assert!(found.contains(&s));
                }
            }
        }
    }

    #[test]
    fn renders_a_tagged_pdf_with_embedded_fonts() {
        let blocks = vec![
            Block::Heading(1, "Handbook".into()),
            Block::PageBreak,
            Block::Heading(2, "Key theme 1: Policy Framework".into()),
            Block::Para(Para::labelled("Suggested best fit:", "Silver.")),
            Block::Table(table(6, 120)),
        ];
        let pdf = render("Handbook", "Riverside Primary", &blocks).unwrap();
        let text = String::from_utf8_lossy(&pdf);
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(text.contains("/StructTreeRoot"));
        assert!(text.contains("/MarkInfo"));
        assert!(text.contains("/Table") && text.contains("/TH"));
        assert!(text.contains("/FontFile2") || text.contains("/FontFile3"));
        assert!(text.contains("/Lang"));
    }

    #[test]
    fn a_character_the_fonts_lack_is_shown_as_a_replacement_not_a_box() {
        let fonts = Fonts {
            regular: FontRef::new(REGULAR).unwrap(),
            bold: FontRef::new(BOLD).unwrap(),
        };
        assert_eq!(fonts.printable("a\u{4e2d}b\nc"), "a\u{fffd}b\nc");
        assert!(fonts.regular.charmap().map('\u{fffd}').is_some());
    }
}
