//! Exports of the console's tables: the rows a dispatcher sees (headers in
//! the console's language, Chinese when it is set to Chinese) written as CSV
//! (UTF-8 with a byte-order mark, so Excel opens Chinese correctly; RFC 4180
//! quoting; a cell starting with `=`, `+`, `-` or `@` is prefixed with `'`
//! so no spreadsheet runs it as a formula) or as an Excel workbook
//! (`rust_xlsxwriter`: bold frozen header row, column widths fitted).

use crate::failure::{Failure, Fallible};
use rust_xlsxwriter::{Format, Workbook};
use serde::Deserialize;

/// The most rows one export takes.
pub const MAX_ROWS: usize = 50_000;
/// The most columns one export takes.
pub const MAX_COLUMNS: usize = 60;
/// The longest cell (characters).
pub const MAX_CELL_CHARS: usize = 4_000;

/// A table as the console shows it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Table {
    /// Names the file and the worksheet (`assignments`, `工单`).
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// The file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

/// Checks the table's size; each refusal names the field and the limit.
pub fn check(t: &Table) -> Fallible<()> {
    if t.headers.is_empty() || t.headers.len() > MAX_COLUMNS {
        return Err(Failure::field(
            "headers",
            format!("give 1 to {MAX_COLUMNS} column headers"),
        ));
    }
    if t.rows.len() > MAX_ROWS {
        return Err(Failure::field(
            "rows",
            format!("at most {MAX_ROWS} rows per export; filter the table first"),
        ));
    }
    for (i, r) in t.rows.iter().enumerate() {
        if r.len() > t.headers.len() {
            return Err(Failure::field(
                &format!("rows[{i}]"),
                format!(
                    "{} cells for {} headers: a row has at most one cell per header",
                    r.len(),
                    t.headers.len()
                ),
            ));
        }
        if let Some(j) = r.iter().position(|c| c.chars().count() > MAX_CELL_CHARS) {
            return Err(Failure::field(
                &format!("rows[{i}][{j}]"),
                format!("a cell holds at most {MAX_CELL_CHARS} characters"),
            ));
        }
    }
    Ok(())
}

/// A cell that a spreadsheet would take for a formula, made inert.
fn inert(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

fn csv_field(cell: &str) -> String {
    let cell = inert(cell);
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

/// The table as CSV (UTF-8 with BOM, CRLF line ends).
pub fn csv(t: &Table) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    for row in std::iter::once(&t.headers).chain(&t.rows) {
        let line: Vec<String> = row.iter().map(|c| csv_field(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// A worksheet name Excel accepts: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(title: &str) -> String {
    let clean: String = title
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect();
    if clean.trim().is_empty() {
        "Sheet1".into()
    } else {
        clean
    }
}

/// The table as an Excel workbook.
pub fn xlsx(t: &Table) -> Fallible<Vec<u8>> {
    let fail = |e: rust_xlsxwriter::XlsxError| {
        tracing::error!(error = %e, "writing a workbook");
        Failure::internal("writing the Excel file")
    };
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name(&t.title)).map_err(fail)?;
    let bold = Format::new().set_bold();
    for (c, h) in t.headers.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, h, &bold)
            .map_err(fail)?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet
                .write_string((r + 1) as u32, c as u16, cell)
                .map_err(fail)?;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(fail)?;
    sheet.autofit();
    book.save_to_buffer().map_err(fail)
}

/// A file name for the download: the title's letters, digits, CJK and
/// dashes, then the extension.
pub fn file_name(title: &str, format: ExportFormat) -> String {
    let stem: String = title
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let stem = stem.trim_matches('-');
    let stem = if stem.is_empty() { "export" } else { stem };
    match format {
        ExportFormat::Csv => format!("{stem}.csv"),
        ExportFormat::Xlsx => format!("{stem}.xlsx"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            title: "工单".into(),
            headers: vec!["编号".into(), "客户".into(), "备注".into()],
            rows: vec![
                vec!["A-1".into(), "黄梅".into(), "说：\"快\", 好".into()],
                vec!["A-2".into(), "=HYPERLINK(\"x\")".into()],
            ],
        }
    }

    #[test]
    fn csv_has_a_bom_quotes_and_no_formulas() {
        let text = String::from_utf8(csv(&table())).unwrap();
        assert_eq!(
            text,
            "\u{feff}编号,客户,备注\r\nA-1,黄梅,\"说：\"\"快\"\", 好\"\r\nA-2,\"'=HYPERLINK(\"\"x\"\")\"\r\n"
        );
    }

    #[test]
    fn xlsx_is_a_zip_workbook() {
        let bytes = xlsx(&table()).unwrap();
        assert_eq!(&bytes[..2], b"PK");
        assert!(bytes.len() > 1000);
    }

    #[test]
    fn a_row_longer_than_the_headers_is_refused_by_its_index() {
        let mut t = table();
        t.rows
            .push(vec!["a".into(), "b".into(), "c".into(), "d".into()]);
        let Err(Failure::InvalidField { field, .. }) = check(&t) else {
            panic!("refused");
        };
        assert_eq!(field, "rows[2]");
    }

    #[test]
    fn file_names_keep_chinese_and_drop_separators() {
        assert_eq!(
            file_name("工单 2026/12/01", ExportFormat::Xlsx),
            "工单-2026-12-01.xlsx"
        );
        assert_eq!(file_name("../", ExportFormat::Csv), "export.csv");
    }
}
