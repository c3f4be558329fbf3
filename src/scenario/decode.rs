//! TOML text to the raw types, reporting every type error at its value, with its field path.
//!
//! Serde stops at the first error, and inside internally tagged tables (sites, events,
//! distributions) it reports that error at the table, having buffered it. So each error is
//! located in a spanned parse of the document (the value or key it names, checked by a probe
//! when several look alike), then neutralised in a working copy of the text (the value
//! replaced by one of the expected type, an unknown key blanked) and the text decoded again,
//! until it decodes or an error cannot be neutralised (a missing field). A syntax error stops
//! at once, as in other tools, but still names the field it is in.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{FieldPath, Locator, Named, Problem, readable};
use super::raw::RawScenario;

/// Type errors reported from one file before giving up (each costs a decode of the file).
const MAX_TYPE_ERRORS: usize = 50;

/// A token no scenario contains, written in place of a suspect to see whether serde names it.
const PROBE: &str = "bloodsim_probe_4f1c";

/// Look-alikes probed for one error (each probe costs a decode).
const MAX_PROBES: usize = 16;

/// Decodes `text`, or returns every type error found (at least one).
pub(super) fn decode(text: &str, locator: &Locator) -> Result<RawScenario, Vec<Problem>> {
    let mut work = Working::new(text);
    let mut problems: Vec<Problem> = Vec::new();
    while problems.len() < MAX_TYPE_ERRORS {
        let error = match toml::from_str::<RawScenario>(&work.text) {
            Ok(raw) if problems.is_empty() => return Ok(raw),
            Ok(_) => break,
            Err(e) => e,
        };
        let message = error.message().trim().to_string();
        let Ok(doc) = DeTable::parse(&work.text) else {
            // A syntax error: only ever in the file as written (a stand-in is valid TOML).
            if problems.is_empty() {
                let span = error.span();
                let field = span
                    .as_ref()
                    .map(|s| syntax_path(text, s.start))
                    .unwrap_or_default();
                problems.push(locator.problem_at(span, field, readable(&message)));
            }
            break;
        };
        let found = locate(doc.get_ref(), &work.text, error.span(), &message);
        let Some(found) = found else {
            let span = error.span();
            let field = span
                .as_ref()
                .and_then(|s| path_at(doc.get_ref(), s.start))
                .map(|p| p.to_string())
                .unwrap_or_default();
            let span = span.map(|s| work.original(s));
            problems.push(locator.problem_at(span, field, readable(&message)));
            break;
        };
        let mut said = readable(&message);
        if let Some(hint) = misplaced_hint(&work.text, &found, &message) {
            said.push_str(&hint);
        }
        let at = work.original(found.span.clone());
        let problem = locator.problem_at(Some(at), found.path.to_string(), said);
        if problems.contains(&problem) {
            break;
        }
        problems.push(problem);
        if !work.neutralise(&found, &message) {
            break;
        }
    }
    Err(problems)
}

/// What an error named, where it is in the working text.
struct Found {
    /// The value (for a key: from the key to the end of its value).
    span: Range<usize>,
    path: FieldPath,
    /// An unknown key rather than a value of the wrong type.
    key: Option<String>,
    /// A value that names no table (so a stand-in replaces it whole).
    scalar: bool,
}

/// Finds what `message` names, at or after serde's place for it; among look-alikes inside
/// the place, the one whose probe changes the message.
fn locate(doc: &DeTable, text: &str, span: Option<Range<usize>>, message: &str) -> Option<Found> {
    let mut all: Vec<Found> = Vec::new();
    if let Some(key) = unknown_field(message) {
        walk(doc, &FieldPath::root(), &mut |path, k, v| {
            if let Some(k) = k.filter(|k| k.get_ref() == key.as_str()) {
                all.push(Found {
                    span: k.span().start..v.span().end,
                    path: path.clone(),
                    key: Some(key.clone()),
                    scalar: !matches!(v.get_ref(), DeValue::Table(_)),
                });
            }
        });
    } else {
        let wanted = Named::from_message(message)?;
        walk(doc, &FieldPath::root(), &mut |path, _, v| {
            if !matches!(v.get_ref(), DeValue::Table(_) | DeValue::Array(_))
                && wanted.matches(v.get_ref())
            {
                all.push(Found {
                    span: v.span(),
                    path: path.clone(),
                    key: None,
                    scalar: true,
                });
            }
        });
    }
    let place = span.unwrap_or(0..text.len());
    all.retain(|f| f.span.start >= place.start);
    all.sort_by_key(|f| f.span.start);
    // Serde's place is the tagged table, or only its header: a probe tells look-alikes
    // apart, those inside the place first.
    let inside = |f: &Found| f.span.start < place.end.max(place.start + 1);
    let order: Vec<usize> = (0..all.len())
        .filter(|&i| inside(&all[i]))
        .chain((0..all.len()).filter(|&i| !inside(&all[i])))
        .collect();
    let pick = match order.len() {
        0 => return None,
        1 => order[0],
        _ => order
            .iter()
            .take(MAX_PROBES)
            .copied()
            .find(|&i| probe_names(text, &all[i]))
            .unwrap_or(order[0]),
    };
    Some(all.swap_remove(pick))
}

/// The key of a value in a table (`None` for an item of an array).
type Key<'a> = Option<&'a Spanned<Cow<'a, str>>>;

/// Visits every value of `table` and of the tables and arrays within it, depth first, with
/// its own path and its key.
fn walk<'a>(
    table: &'a DeTable<'a>,
    path: &FieldPath,
    visit: &mut impl FnMut(&FieldPath, Key<'a>, &'a Spanned<DeValue<'a>>),
) {
    for (key, value) in table.iter() {
        walk_value(value, &path.key(key.get_ref()), Some(key), visit);
    }
}

fn walk_value<'a>(
    value: &'a Spanned<DeValue<'a>>,
    path: &FieldPath,
    key: Key<'a>,
    visit: &mut impl FnMut(&FieldPath, Key<'a>, &'a Spanned<DeValue<'a>>),
) {
    visit(path, key, value);
    match value.get_ref() {
        DeValue::Table(t) => walk(t, path, visit),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_value(item, &path.index(i), None, visit);
            }
        }
        _ => {}
    }
}

/// True when writing a probe in place of `found` makes serde's first error name the probe:
/// then `found` is the culprit, not a look-alike elsewhere in the table.
fn probe_names(text: &str, found: &Found) -> bool {
    let (range, with, token) = match &found.key {
        Some(key) => (
            found.span.start..found.span.start + key.len(),
            PROBE.to_string(),
            format!("`{PROBE}`"),
        ),
        None => match probe_value(&text[found.span.clone()]) {
            Some((with, token)) => (found.span.clone(), with, token),
            None => return false,
        },
    };
    let mut probed = text.to_string();
    probed.replace_range(range, &with);
    match toml::from_str::<RawScenario>(&probed) {
        Ok(_) => false,
        Err(e) => e.message().contains(&token),
    }
}

/// A value of the same TOML type as `written`, different from it, and how serde would
/// print it in a message.
fn probe_value(written: &str) -> Option<(String, String)> {
    let value = DeValue::parse(written).ok()?;
    Some(match value.get_ref() {
        DeValue::String(_) => (format!("\"{PROBE}\""), PROBE.to_string()),
        DeValue::Integer(_) => {
            let n: i64 = toml::from_str::<HashMap<String, i64>>(&format!("v = {written}"))
                .ok()?
                .remove("v")?;
            let p = if n < 0 {
                n - 7919
            } else {
                n.checked_add(7919)?
            };
            (p.to_string(), format!("integer `{p}`"))
        }
        DeValue::Float(_) => {
            let x: f64 = toml::from_str::<HashMap<String, f64>>(&format!("v = {written}"))
                .ok()?
                .remove("v")?;
            let p = if x.is_finite() { x + 0.25 } else { 0.25 };
            (format!("{p:?}"), format!("floating point `{p}`"))
        }
        DeValue::Boolean(b) => ((!b).to_string(), format!("boolean `{}`", !b)),
        _ => return None,
    })
}

/// The key an `unknown field` error names.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest[..rest.find('`')?].to_string())
}

/// A value of the type a message expects, to stand in for the wrong one; `None` when the
/// message names no type a scalar can take.
fn stand_in(message: &str) -> Option<String> {
    let expected = message.rsplit_once("expected ")?.1.trim();
    if let Some(rest) = expected
        .strip_prefix("one of `")
        .or_else(|| expected.strip_prefix('`'))
    {
        return Some(format!("\"{}\"", &rest[..rest.find('`')?]));
    }
    let integer = [
        "u8",
        "u16",
        "u32",
        "u64",
        "usize",
        "i32",
        "i64",
        "an integer",
    ];
    Some(match expected {
        "f64" | "f32" | "a number" | "a float" => "1.0".to_string(),
        e if integer.contains(&e) => "1".to_string(),
        "a string" => "\"x\"".to_string(),
        "a boolean" => "true".to_string(),
        "a sequence" => "[]".to_string(),
        _ => return None,
    })
}

/// The text being decoded, with the edits made to it so far, to map places back to the
/// file as written.
struct Working {
    text: String,
    /// (start, length replaced, length written), in the order made.
    edits: Vec<(usize, usize, usize)>,
}

impl Working {
    fn new(text: &str) -> Working {
        Working {
            text: text.to_string(),
            edits: Vec::new(),
        }
    }

    /// A place in the working text as a place in the file.
    fn original(&self, span: Range<usize>) -> Range<usize> {
        let back = |mut x: usize| {
            for &(start, old, new) in self.edits.iter().rev() {
                if x >= start + new {
                    x = x - new + old;
                } else if x > start {
                    x = start;
                }
            }
            x
        };
        back(span.start)..back(span.end).max(back(span.start))
    }

    /// Makes the error at `found` go away so the next one shows; false when it cannot.
    fn neutralise(&mut self, found: &Found, message: &str) -> bool {
        if !found.scalar {
            return false;
        }
        let with = match &found.key {
            // Blank the key and its value; line breaks stay, so lines keep their numbers.
            Some(_) => self.text[found.span.clone()]
                .chars()
                .map(|c| if c == '\n' { '\n' } else { ' ' })
                .collect(),
            None => match stand_in(message) {
                Some(v) => v,
                None => return false,
            },
        };
        self.edits
            .push((found.span.start, found.span.len(), with.len()));
        self.text.replace_range(found.span.clone(), &with);
        true
    }
}

/// A hint when an unknown key is one its enclosing table's parent takes: in TOML every key
/// after a `[[sites.demand]]` header belongs to that demand, so a site's `supplied_by`
/// written below it is read as the demand's.
fn misplaced_hint(text: &str, found: &Found, message: &str) -> Option<String> {
    let key = found.key.as_ref()?;
    let line_start = text[..found.span.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[found.span.end..]
        .find('\n')
        .map_or(text.len(), |i| found.span.end + i + 1);
    if !text[line_start..found.span.start].trim().is_empty() {
        return None; // inside an inline table: the header rule does not apply
    }
    let line = &text[line_start..line_end];
    // Headers above the key, nearest first, within the same parent table.
    let mut at = line_start;
    for _ in 0..8 {
        let header_start = header_above(text, at)?;
        let header = text[header_start..].lines().next()?.trim();
        if !header.starts_with("[[") || !header.contains('.') {
            return None;
        }
        let mut moved = String::with_capacity(text.len());
        moved.push_str(&text[..header_start]);
        moved.push_str(line.trim_start());
        if !line.ends_with('\n') {
            moved.push('\n');
        }
        moved.push_str(&text[header_start..line_start]);
        moved.push_str(&text[line_end..]);
        let still = match toml::from_str::<RawScenario>(&moved) {
            Ok(_) => false,
            Err(e) => e.message() == message,
        };
        if !still {
            let line_no = text[..header_start].matches('\n').count() + 1;
            return Some(format!(
                " (every key after the `{header}` header on line {line_no} belongs to it: move `{key}` above that header)"
            ));
        }
        at = header_start;
    }
    None
}

/// The start of the nearest line above the line starting at `before` that opens a table.
fn header_above(text: &str, before: usize) -> Option<usize> {
    let mut end = before;
    while end > 0 {
        let start = text[..end - 1].rfind('\n').map_or(0, |i| i + 1);
        if text[start..end].trim_start().starts_with('[') {
            return Some(start);
        }
        end = start;
    }
    None
}

/// The deepest table or value of `doc` whose span starts at `offset` or holds it.
fn path_at(doc: &DeTable, offset: usize) -> Option<FieldPath> {
    let mut best: Option<(usize, FieldPath)> = None;
    walk(doc, &FieldPath::root(), &mut |path, _, value| {
        let span = value.span();
        let holds = span.start <= offset && offset < span.end.max(span.start + 1);
        if holds && best.as_ref().is_none_or(|(len, _)| span.len() <= *len) {
            best = Some((span.len(), path.clone()));
        }
    });
    best.map(|(_, p)| p)
}

/// The field a syntax error at `offset` is in, read from the text (the document does not
/// parse): the key on its line, under the table headers above it, with array indices.
fn syntax_path(text: &str, offset: usize) -> String {
    let line_no = text[..offset.min(text.len())].matches('\n').count();
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut table: Vec<String> = Vec::new();
    for line in text.lines().take(line_no) {
        let l = line.trim();
        if let Some(name) = l.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = name.trim().to_string();
            *counts.entry(name.clone()).or_default() += 1;
            counts.retain(|k, _| !k.starts_with(&format!("{name}.")));
            table = name.split('.').map(|s| s.trim().to_string()).collect();
        } else if let Some(name) = l.strip_prefix('[').and_then(|r| r.split(']').next()) {
            table = name.split('.').map(|s| s.trim().to_string()).collect();
        }
    }
    let mut path = FieldPath::root();
    for i in 0..table.len() {
        path = path.key(&table[i]);
        if let Some(n) = counts.get(&table[..=i].join(".")) {
            path = path.index(n.saturating_sub(1));
        }
    }
    let line = text.lines().nth(line_no).unwrap_or("");
    let line_start: usize = text.lines().take(line_no).map(|l| l.len() + 1).sum();
    if let Some(eq) = line.find('=')
        && line_start + eq < offset
        && !line.trim_start().starts_with('[')
    {
        for part in line[..eq].split('.') {
            let k = part.trim().trim_matches('"');
            if !k.is_empty() {
                path = path.key(k);
            }
        }
    }
    path.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_name_the_field_under_the_headers() {
        let text = "[time]\nstart = 2026-02-30\n[[sites]]\nname = \"a\"\n[[sites]]\nname = \"b\"\n[[sites.demand]]\nmean = 4x\n[[sites.demand]]\nmean = 4x\n";
        let at = |needle: &str, nth: usize| {
            let mut from = 0;
            for _ in 0..nth {
                from += text[from..].find(needle).unwrap() + 1;
            }
            from + text[from..].find(needle).unwrap()
        };
        assert_eq!(syntax_path(text, at("2026", 0)), "time.start");
        assert_eq!(syntax_path(text, at("4x", 0)), "sites[1].demand[0].mean");
        assert_eq!(syntax_path(text, at("4x", 1)), "sites[1].demand[1].mean");
        assert_eq!(syntax_path(text, at("[[sites]]", 1)), "sites[0]");
    }

    #[test]
    fn stand_ins_have_the_expected_type() {
        let cases = [
            ("invalid type: string \"x\", expected f64", Some("1.0")),
            ("invalid value: integer `-1`, expected u32", Some("1")),
            (
                "unknown variant `lifo2`, expected one of `fifo`, `lifo`",
                Some("\"fifo\""),
            ),
            ("unknown variant `x`, expected `only`", Some("\"only\"")),
            (
                "invalid type: integer `3`, expected a string",
                Some("\"x\""),
            ),
            ("invalid type: map, expected struct RawTime", None),
        ];
        for (message, want) in cases {
            assert_eq!(stand_in(message).as_deref(), want, "{message}");
        }
    }

    #[test]
    fn places_in_the_working_text_map_back_to_the_file() {
        let mut w = Working::new("a = 5\nb = 7\n");
        let found = Found {
            span: 4..5,
            path: FieldPath::root().key("a"),
            key: None,
            scalar: true,
        };
        assert!(w.neutralise(&found, "invalid type: integer `5`, expected a string"));
        assert_eq!(w.text, "a = \"x\"\nb = 7\n");
        assert_eq!(
            w.original(12..13),
            10..11,
            "after the edit: shifted back by two"
        );
        assert_eq!(w.original(0..1), 0..1, "before the edit: unchanged");
    }
}
