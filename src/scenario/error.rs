//! Errors in scenario files, located by file, line, column and field.

use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A place in the TOML document, such as `sites[2].lab`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

impl FieldPath {
    pub fn root() -> FieldPath {
        FieldPath(Vec::new())
    }

    pub fn key(&self, key: &str) -> FieldPath {
        let mut p = self.clone();
        p.0.push(Segment::Key(key.to_string()));
        p
    }

    pub fn index(&self, i: usize) -> FieldPath {
        let mut p = self.clone();
        p.0.push(Segment::Index(i));
        p
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Key(k) if i == 0 => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// One problem found in a scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// 1-based line and column, when the place is known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The field, e.g. `sites[2].lab`; empty for syntax errors.
    pub field: String,
    pub message: String,
    /// The source line, for display.
    pub source_line: String,
}

/// Everything wrong with one scenario file (or why it could not be read).
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl std::error::Error for ScenarioError {}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "{}: {} problem{} found",
            self.file,
            n,
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            let place = match (p.line, p.column) {
                (Some(l), Some(c)) => format!("{}:{l}:{c}", self.file),
                _ => self.file.clone(),
            };
            if p.field.is_empty() {
                writeln!(f, "error: {place}: {}", p.message)?;
            } else {
                writeln!(f, "error: {place}: `{}`: {}", p.field, p.message)?;
            }
            if let (Some(line), Some(col)) = (p.line, p.column) {
                let gutter = line.to_string().len();
                writeln!(f, "{:gutter$} |", "")?;
                writeln!(f, "{line} | {}", p.source_line)?;
                writeln!(f, "{:gutter$} | {:>col$}", "", "^")?;
            }
        }
        Ok(())
    }
}

impl ScenarioError {
    /// An error not tied to a place in the file (e.g. it cannot be read).
    pub fn whole_file(file: &str, message: String) -> ScenarioError {
        ScenarioError {
            file: file.to_string(),
            problems: vec![Problem {
                line: None,
                column: None,
                field: String::new(),
                message,
                source_line: String::new(),
            }],
        }
    }
}

/// Turns byte offsets into lines and columns, and field paths into byte offsets.
pub struct Locator<'a> {
    text: &'a str,
    document: Option<Spanned<DeTable<'a>>>,
}

impl<'a> Locator<'a> {
    pub fn new(text: &'a str) -> Locator<'a> {
        Locator {
            text,
            document: DeTable::parse(text).ok(),
        }
    }

    pub fn problem_at(
        &self,
        span: Option<Range<usize>>,
        field: String,
        message: String,
    ) -> Problem {
        let Some(span) = span else {
            return Problem {
                line: None,
                column: None,
                field,
                message,
                source_line: String::new(),
            };
        };
        let start = span.start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = self.text[line_start..start].chars().count() + 1;
        let source_line = self.text[line_start..]
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        Problem {
            line: Some(line),
            column: Some(column),
            field,
            message,
            source_line,
        }
    }

    /// A problem at a field; located at the deepest part of the path present in the file.
    pub fn problem(&self, path: &FieldPath, message: String) -> Problem {
        self.problem_at(self.span_of(path), path.to_string(), message)
    }

    fn span_of(&self, path: &FieldPath) -> Option<Range<usize>> {
        let doc = self.document.as_ref()?;
        let mut span = None;
        let mut table: Option<&DeTable> = Some(doc.get_ref());
        let mut value: Option<&DeValue> = None;
        for seg in &path.0 {
            let next = match (seg, table, value) {
                (Segment::Key(k), Some(t), _) => t.get(k.as_str()),
                (Segment::Index(i), _, Some(DeValue::Array(a))) => a.get(*i),
                _ => None,
            };
            let Some(next) = next else { break };
            span = Some(next.span());
            value = Some(next.get_ref());
            table = match next.get_ref() {
                DeValue::Table(t) => Some(t),
                _ => None,
            };
        }
        span
    }
}

/// A value named in a serde error message.
pub(super) enum Named {
    Str(String),
    Integer(i128),
    Float(f64),
    Bool(bool),
}

impl Named {
    pub(super) fn from_message(message: &str) -> Option<Named> {
        let between = |s: &str, open: &str, close: char| -> Option<String> {
            let start = s.find(open)? + open.len();
            let len = s[start..].find(close)?;
            Some(s[start..start + len].to_string())
        };
        if let Some(rest) = message.find("string \"").map(|i| &message[i + 7..]) {
            // Serde writes the string with Rust's debug escapes: compare that way.
            let end = rest.rfind("\", expected").or_else(|| rest.rfind('"'))?;
            return Some(Named::Str(rest[..=end].to_string()));
        }
        if let Some(x) = between(message, "integer `", '`') {
            return x.parse().ok().map(Named::Integer);
        }
        if let Some(x) = between(message, "floating point `", '`') {
            return x.parse().ok().map(Named::Float);
        }
        if let Some(x) = between(message, "boolean `", '`') {
            return x.parse().ok().map(Named::Bool);
        }
        if let Some(x) = between(message, "unknown variant `", '`') {
            return Some(Named::Str(format!("{x:?}")));
        }
        None
    }

    pub(super) fn matches(&self, value: &DeValue) -> bool {
        let number = |raw: &str| raw.replace('_', "");
        match (self, value) {
            (Named::Str(debug), DeValue::String(s)) => format!("{:?}", s.as_ref()) == *debug,
            (Named::Integer(n), DeValue::Integer(i)) => {
                i128::from_str_radix(&number(i.as_str()), i.radix()).ok() == Some(*n)
            }
            (Named::Float(x), DeValue::Float(f)) => {
                number(f.as_str()).parse::<f64>().ok() == Some(*x)
            }
            (Named::Bool(b), DeValue::Boolean(v)) => b == v,
            _ => false,
        }
    }
}

/// A parser's type error in a planner's words: serde prints a float in full (`1e300` as 301
/// digits) and names Rust types (`u32`). The `invalid type` / `invalid value` lead is kept.
pub fn readable(message: &str) -> String {
    let mut out = message.to_string();
    if let Some(start) = out
        .find("floating point `")
        .map(|i| i + "floating point `".len())
        && let Some(len) = out[start..].find('`')
        && len > 16
        && let Ok(x) = out[start..start + len].parse::<f64>()
    {
        out.replace_range(start..start + len, &format!("{x:e}"));
    }
    for (rust, plain) in [
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        (
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        ),
        ("expected u64", "expected a whole number >= 0"),
        ("expected usize", "expected a whole number >= 0"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
    ] {
        if let Some(rest) = out.strip_suffix(rust) {
            out = format!("{rest}{plain}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_errors_read_as_plain_words() {
        let huge = format!(
            "invalid type: floating point `1{}.0`, expected u32",
            "0".repeat(300)
        );
        assert_eq!(
            readable(&huge),
            "invalid type: floating point `1e300`, expected a whole number from 0 to 4294967295"
        );
        let short = "invalid type: floating point `2.5`, expected u32";
        assert!(
            readable(short).starts_with("invalid type: floating point `2.5`, expected a whole")
        );
        assert_eq!(
            readable("invalid type: string \"x\", expected f64"),
            "invalid type: string \"x\", expected a number"
        );
        assert_eq!(readable("missing field `name`"), "missing field `name`");
    }

    #[test]
    fn paths_display_like_toml_access() {
        let p = FieldPath::root().key("sites").index(2).key("lab");
        assert_eq!(p.to_string(), "sites[2].lab");
    }

    #[test]
    fn locates_nested_fields() {
        let text = "[time]\nhorizon_days = 3\n\n[[sites]]\nname = \"a\"\n\n[[sites]]\nname = \"b\"\nlab = \"x\"\n";
        let loc = Locator::new(text);
        let p = loc.problem(
            &FieldPath::root().key("sites").index(1).key("lab"),
            "bad".into(),
        );
        assert_eq!((p.line, p.column), (Some(9), Some(7)));
        assert_eq!(p.source_line, "lab = \"x\"");
        let missing = loc.problem(
            &FieldPath::root().key("sites").index(0).key("lab"),
            "missing".into(),
        );
        assert_eq!(
            missing.line,
            Some(4),
            "falls back to the enclosing table's header"
        );
    }
}
