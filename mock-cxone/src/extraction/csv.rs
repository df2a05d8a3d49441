//! The CSV of a job's result: RFC 4180 (CRLF line ends, fields quoted only when they hold a
//! comma, a quote or a line break, quotes doubled), a header row, empty fields for nulls, and
//! timestamps as RFC3339 UTC with `Z` and milliseconds.

use chrono::SecondsFormat;

use crate::store::time::Instant;

/// Builds a CSV document in memory, one row at a time.
#[derive(Debug, Default)]
pub struct CsvWriter {
    out: String,
    rows: usize,
}

/// One field of a row.
#[derive(Debug, Clone)]
pub enum Field {
    /// An empty field (SQL NULL).
    Null,
    /// Text, quoted when it needs to be.
    Text(String),
    /// An integer.
    Int(i64),
    /// A boolean, `true` / `false`.
    Bool(bool),
    /// A timestamp, RFC3339 UTC with milliseconds.
    Time(Instant),
}

impl From<&str> for Field {
    fn from(s: &str) -> Self {
        Field::Text(s.to_string())
    }
}

impl From<String> for Field {
    fn from(s: String) -> Self {
        Field::Text(s)
    }
}

impl From<i64> for Field {
    fn from(v: i64) -> Self {
        Field::Int(v)
    }
}

impl From<bool> for Field {
    fn from(v: bool) -> Self {
        Field::Bool(v)
    }
}

impl From<Instant> for Field {
    fn from(t: Instant) -> Self {
        Field::Time(t)
    }
}

impl<T: Into<Field>> From<Option<T>> for Field {
    fn from(v: Option<T>) -> Self {
        v.map_or(Field::Null, Into::into)
    }
}

/// A timestamp as the CSV writes it.
pub fn timestamp(t: Instant) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl CsvWriter {
    /// A writer whose first row is `header`.
    pub fn with_header(header: &[&str]) -> Self {
        let mut w = Self::default();
        for (i, name) in header.iter().enumerate() {
            if i > 0 {
                w.out.push(',');
            }
            push_text(&mut w.out, name);
        }
        w.out.push_str("\r\n");
        w
    }

    /// Appends one data row.
    pub fn row(&mut self, fields: &[Field]) {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            match f {
                Field::Null => {}
                Field::Text(s) => push_text(&mut self.out, s),
                Field::Int(v) => self.out.push_str(&v.to_string()),
                Field::Bool(v) => self.out.push_str(if *v { "true" } else { "false" }),
                Field::Time(t) => self.out.push_str(&timestamp(*t)),
            }
        }
        self.out.push_str("\r\n");
        self.rows += 1;
    }

    /// Data rows written so far (the header is not counted).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The document.
    pub fn finish(self) -> String {
        self.out
    }
}

fn push_text(out: &mut String, s: &str) {
    if s.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::time::parse_rfc3339;

    #[test]
    fn quotes_only_what_rfc_4180_needs() {
        let mut w = CsvWriter::with_header(&["a", "b,c"]);
        let t = parse_rfc3339("2026-01-01T10:00:00.123456Z").unwrap_or_default();
        w.row(&["plain".into(), "say \"hi\"".into()]);
        w.row(&[Field::Null, "two\nlines".into()]);
        w.row(&[7i64.into(), t.into()]);
        assert_eq!(w.rows(), 3);
        assert_eq!(
            w.finish(),
            "a,\"b,c\"\r\nplain,\"say \"\"hi\"\"\"\r\n,\"two\nlines\"\r\n7,2026-01-01T10:00:00.123Z\r\n"
        );
    }
}
