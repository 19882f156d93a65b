//! A table of figures as the officer's pages show it, and the same table as CSV and XLSX. Every
//! download is built from the value the page renders, so what she downloads is what she sees.

use crate::error::AppError;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// A figure and the decimals it is shown with.
    Number(f64, usize),
    /// No value (a marker in the source data, or nothing yet): shown as a dash, empty in files.
    Empty,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    pub fn count(n: impl Into<i64>) -> Cell {
        Cell::Number(n.into() as f64, 0)
    }

    /// A rate to one decimal, or a dash.
    pub fn rate(v: Option<f64>) -> Cell {
        v.map_or(Cell::Empty, |v| Cell::Number(v, 1))
    }

    /// As the page shows it.
    pub fn shown(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Number(v, d) => format!("{v:.d$}"),
            Cell::Empty => "–".to_string(),
        }
    }

    pub fn is_number(&self) -> bool {
        matches!(self, Cell::Number(..))
    }
}

pub struct ViewRow<'a> {
    pub first: String,
    pub link: Option<&'a str>,
    /// (column name, shown value, is a figure)
    pub cells: Vec<(&'a str, String, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The file name without extension, and the sheet's name: letters, digits and hyphens.
    pub name: &'static str,
    pub caption: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Links per row, for the first cell on screen (not in files).
    pub links: Vec<Option<String>>,
}

impl Table {
    pub fn new(name: &'static str, caption: impl Into<String>, columns: &[&str]) -> Table {
        Table {
            name,
            caption: caption.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
            links: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
        self.links.push(None);
    }

    pub fn push_linked(&mut self, link: String, row: Vec<Cell>) {
        self.rows.push(row);
        self.links.push(Some(link));
    }

    pub fn link(&self, row: usize) -> Option<&str> {
        self.links.get(row).and_then(|l| l.as_deref())
    }

    /// The column heading of cell `i`, for the phone layout's labels.
    pub fn label(&self, i: usize) -> &str {
        self.columns.get(i).map_or("", |c| c.as_str())
    }

    pub fn is_numeric(&self, i: usize) -> bool {
        self.rows
            .iter()
            .any(|r| r.get(i).is_some_and(Cell::is_number))
    }

    /// The column headings with whether each holds figures.
    pub fn headings(&self) -> Vec<(&str, bool)> {
        (0..self.columns.len())
            .map(|i| (self.columns[i].as_str(), self.is_numeric(i)))
            .collect()
    }

    /// The rows as the page lays them out: the first cell (linked if the row has a link), then
    /// each other cell with its column's name for the phone layout.
    pub fn view(&self) -> Vec<ViewRow<'_>> {
        self.rows
            .iter()
            .enumerate()
            .map(|(r, row)| ViewRow {
                first: row.first().map(Cell::shown).unwrap_or_default(),
                link: self.link(r),
                cells: row
                    .iter()
                    .enumerate()
                    .skip(1)
                    .map(|(i, c)| (self.label(i), c.shown(), c.is_number()))
                    .collect(),
            })
            .collect()
    }

    pub fn csv(&self) -> String {
        let mut out = String::new();
        let line = |cells: Vec<String>| cells.join(",") + "\r\n";
        out.push_str(&line(self.columns.iter().map(|c| text_cell(c)).collect()));
        for r in &self.rows {
            out.push_str(&line(
                r.iter()
                    .map(|c| match c {
                        Cell::Text(s) => text_cell(s),
                        Cell::Number(v, d) => format!("{v:.d$}"),
                        Cell::Empty => String::new(),
                    })
                    .collect(),
            ));
        }
        out
    }

    pub fn xlsx(&self) -> Result<Vec<u8>, AppError> {
        use rust_xlsxwriter::{Format, Workbook};
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        let fail = |e: rust_xlsxwriter::XlsxError| AppError::Internal(anyhow::anyhow!(e));
        sheet.set_name(self.name).map_err(fail)?;
        let bold = Format::new().set_bold();
        for (c, title) in self.columns.iter().enumerate() {
            let c = u16::try_from(c).map_err(|e| anyhow::anyhow!(e))?;
            sheet
                .write_string_with_format(0, c, neutralised(title), &bold)
                .map_err(fail)?;
        }
        let one = Format::new().set_num_format("0.0");
        for (r, row) in self.rows.iter().enumerate() {
            let r = u32::try_from(r + 1).map_err(|e| anyhow::anyhow!(e))?;
            for (c, cell) in row.iter().enumerate() {
                let c = u16::try_from(c).map_err(|e| anyhow::anyhow!(e))?;
                match cell {
                    Cell::Text(s) => sheet.write_string(r, c, neutralised(s)).map(|_| ()),
                    Cell::Number(v, 0) => sheet.write_number(r, c, *v).map(|_| ()),
                    Cell::Number(v, _) => {
                        sheet.write_number_with_format(r, c, *v, &one).map(|_| ())
                    }
                    Cell::Empty => Ok(()),
                }
                .map_err(fail)?;
            }
        }
        book.save_to_buffer().map_err(fail)
    }
}

/// A text that a spreadsheet would read as a formula starts with a quote instead.
pub fn neutralised(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    }
}

fn text_cell(value: &str) -> String {
    format!("\"{}\"", neutralised(value).replace('"', "\"\""))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Csv,
    Xlsx,
}

/// The table as a file to download.
pub fn download(table: &Table, format: Format) -> Result<Response, AppError> {
    let (kind, ext, body) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv", table.csv().into_bytes()),
        Format::Xlsx => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
            table.xlsx()?,
        ),
    };
    let disposition = format!("attachment; filename=\"{}.{ext}\"", table.name);
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new("schools", "Schools", &["School", "Change", "Note"]);
        t.push(vec![
            Cell::text("=HYPERLINK(\"x\")"),
            Cell::Number(-0.45, 1),
            Cell::Empty,
        ]);
        t.push(vec![
            Cell::text("@SUM"),
            Cell::count(3),
            Cell::text("a \"quote\""),
        ]);
        t
    }

    #[test]
    fn csv_neutralises_text_but_not_negative_figures() {
        let csv = sample().csv();
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], "\"School\",\"Change\",\"Note\"");
        assert_eq!(lines[1], "\"'=HYPERLINK(\"\"x\"\")\",-0.5,");
        assert_eq!(lines[2], "\"'@SUM\",3,\"a \"\"quote\"\"\"");
    }

    #[test]
    fn cells_show_a_dash_for_no_value() {
        assert_eq!(Cell::rate(None).shown(), "–");
        assert_eq!(Cell::rate(Some(4.04)).shown(), "4.0");
        assert_eq!(Cell::count(12).shown(), "12");
        assert!(sample().is_numeric(1));
        assert!(!sample().is_numeric(0));
    }

    #[test]
    fn xlsx_is_a_zip_with_the_sheet() {
        let bytes = sample().xlsx().unwrap();
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        assert!(bytes.windows(18).any(|w| w == b"xl/worksheets/shee"));
    }

    mod generated {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any text survives the CSV exactly (a spreadsheet formula only gains its leading
            /// quote), and nothing written starts as a formula.
            #[test]
            fn text_cells_read_back_neutralised(text in any::<String>()) {
                let mut t = Table::new("t", "t", &["a"]);
                t.push(vec![Cell::text(text.clone())]);
                let csv = t.csv();
                let mut reader = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
                let row = reader.records().next().unwrap().unwrap();
                let back = row.get(0).unwrap().to_string();
                prop_assert!(!back.starts_with(['=', '+', '-', '@']));
                prop_assert_eq!(back, neutralised(&text));
            }
        }
    }
}
