//! Setting fields of a scenario file: from the command line (`bloodsim sweep --set`) or a
//! plan's variants (`scenario::plan`).
//!
//! A setting replaces the text of one value already in the file, in place: every other
//! byte stays where it was, so a value of the wrong type is reported by the normal
//! validation at the file's own line and column. Paths are dotted keys with array indices,
//! as the validation messages print them: `policy.replenishment.red_cells.days`,
//! `sites[3].demand[0].requests_per_day.mean`.

use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One `--set path=v1,v2,...`: a field path and the values to try, as TOML literals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub path: String,
    pub values: Vec<String>,
}

/// Why a `--set` cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError(pub String);

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SettingError {}

impl Setting {
    /// Parses `path=v1,v2,...`. Values are TOML literals (`3`, `0.5`, `true`, `"fifo"`); a
    /// bare word that is not one is taken as a string (`fifo`). Commas inside brackets,
    /// braces or quotes do not split values.
    pub fn parse(arg: &str) -> Result<Setting, SettingError> {
        let Some((path, values)) = arg.split_once('=') else {
            return Err(SettingError(format!(
                "--set {arg}: give a field path and values, e.g. --set policy.replenishment.red_cells.days=3,5"
            )));
        };
        let path = path.trim().to_string();
        let values: Vec<String> = split_values(values)
            .into_iter()
            .map(|v| literal(v.trim()))
            .collect();
        if path.is_empty() || values.iter().any(String::is_empty) {
            return Err(SettingError(format!(
                "--set {arg}: a path and one or more non-empty values are needed"
            )));
        }
        Ok(Setting { path, values })
    }
}

fn split_values(s: &str) -> Vec<&str> {
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    let mut parts = Vec::new();
    for (i, c) in s.char_indices() {
        match c {
            '"' | '\'' => quoted = !quoted,
            '[' | '{' if !quoted => depth += 1,
            ']' | '}' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// `v` if it is a TOML value, else `v` as a TOML string.
fn literal(v: &str) -> String {
    if v.is_empty() || DeValue::parse(v).is_ok() {
        v.to_string()
    } else {
        format!("{v:?}")
    }
}

/// The file's text with each `(path, value)` put in place of the value at `path`. Errors
/// start with the path; the caller says where the setting came from.
pub fn apply(text: &str, settings: &[(&str, &str)]) -> Result<String, SettingError> {
    let doc =
        DeTable::parse(text).map_err(|e| SettingError(format!("the file does not parse: {e}")))?;
    let mut edits: Vec<(Range<usize>, &str)> = Vec::with_capacity(settings.len());
    for &(path, value) in settings {
        edits.push((span_of(doc.get_ref(), path)?, value));
    }
    edits.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
    let mut out = text.to_string();
    for (span, value) in edits {
        out.replace_range(span, value);
    }
    Ok(out)
}

/// The byte range of the value at `path`.
fn span_of(doc: &DeTable<'_>, path: &str) -> Result<Range<usize>, SettingError> {
    let missing = |at: &str, what: String| {
        SettingError(format!(
            "{path}: {what} at `{at}`; only fields written in the file can be set (write the field in the file first)"
        ))
    };
    let mut current: Option<&Spanned<DeValue<'_>>> = None;
    let mut walked = String::new();
    for segment in path.split('.') {
        let (key, indices) = parse_segment(segment)
            .ok_or_else(|| SettingError(format!("{path}: cannot read `{segment}`")))?;
        let table = match current.map(Spanned::get_ref) {
            None => doc,
            Some(DeValue::Table(t)) => t,
            Some(_) => return Err(missing(&walked, "not a table".into())),
        };
        let Some(mut value) = table.get(key) else {
            let mut keys: Vec<&str> = table.iter().map(|(k, _)| k.get_ref().as_ref()).collect();
            keys.sort_unstable();
            let at = if walked.is_empty() {
                "the top level"
            } else {
                &walked
            };
            return Err(missing(
                at,
                format!("no field `{key}` (there: {})", keys.join(", ")),
            ));
        };
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(key);
        for index in indices {
            let DeValue::Array(items) = value.get_ref() else {
                return Err(missing(&walked, "not a list".into()));
            };
            value = items.get(index).ok_or_else(|| {
                missing(
                    &walked,
                    format!("no item [{index}] (it has {})", items.len()),
                )
            })?;
            walked.push_str(&format!("[{index}]"));
        }
        current = Some(value);
    }
    match current {
        None => Err(SettingError(format!("{path}: empty path"))),
        Some(v) if matches!(v.get_ref(), DeValue::Table(_)) => Err(SettingError(format!(
            "{path}: this is a table; set one of its fields"
        ))),
        Some(v) => Ok(v.span()),
    }
}

/// `sites[3]` -> ("sites", [3]); `a` -> ("a", []).
fn parse_segment(segment: &str) -> Option<(&str, Vec<usize>)> {
    let key_end = segment.find('[').unwrap_or(segment.len());
    let key = &segment[..key_end];
    if key.is_empty() {
        return None;
    }
    let mut indices = Vec::new();
    let mut rest = &segment[key_end..];
    while let Some(inner) = rest.strip_prefix('[') {
        let close = inner.find(']')?;
        indices.push(inner[..close].trim().parse().ok()?);
        rest = &inner[close + 1..];
    }
    rest.is_empty().then_some((key, indices))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[policy]\nissuing = \"fifo\"\n[policy.replenishment.red_cells]\ntype = \"order_up_to\"\ndays = 3 # comment\n[[sites]]\nname = \"a\"\n[[sites]]\nname = \"b\"\ndemand = [{ product = \"red_cells\", per_day = { mean = 4 } }]\n";

    #[test]
    fn a_setting_replaces_only_its_value() {
        let out = apply(TEXT, &[("policy.replenishment.red_cells.days", "5")]).unwrap();
        assert_eq!(out, TEXT.replace("days = 3", "days = 5"));
        let out = apply(
            TEXT,
            &[
                ("sites[1].demand[0].per_day.mean", "7.5"),
                ("policy.issuing", "\"fefo\""),
            ],
        )
        .unwrap();
        assert!(
            out.contains("mean = 7.5 }") && out.contains("issuing = \"fefo\""),
            "{out}"
        );
        assert_eq!(out.lines().count(), TEXT.lines().count());
    }

    #[test]
    fn a_missing_field_names_where_it_was_looked_for() {
        let err = apply(TEXT, &[("policy.replenishment.red_cells.level", "5")]).unwrap_err();
        assert!(
            err.0.contains("no field `level`") && err.0.contains("policy.replenishment.red_cells"),
            "{err}"
        );
        let err = apply(TEXT, &[("sites[5].name", "\"x\"")]).unwrap_err();
        assert!(err.0.contains("no item [5] (it has 2)"), "{err}");
        let err = apply(TEXT, &[("policy", "1")]).unwrap_err();
        assert!(err.0.contains("is a table"), "{err}");
    }

    #[test]
    fn values_split_on_top_level_commas_and_bare_words_become_strings() {
        let s = Setting::parse("policy.issuing=fifo,\"lifo\",[1, 2],{ a = 1, b = 2 }").unwrap();
        assert_eq!(s.path, "policy.issuing");
        assert_eq!(
            s.values,
            ["\"fifo\"", "\"lifo\"", "[1, 2]", "{ a = 1, b = 2 }"]
        );
        assert!(Setting::parse("no-equals").is_err());
        assert!(Setting::parse("a=1,,2").is_err());
    }
}
