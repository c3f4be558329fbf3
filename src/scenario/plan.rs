//! A plan: one base scenario and named variants of it, each a few of its fields set
//! (`bloodsim compare plan.toml`). A variant is the base file's text with those values put
//! in place ([`overrides`](super::overrides)), so it is validated, and its errors located,
//! exactly as the base file is, and it differs from the base only where the plan says.
//!
//! ```toml
//! base = "../centralisation-regional.toml"   # relative to the plan file
//! base_name = "5-day"                        # optional; default: the base file's name
//!
//! [[variants]]
//! name = "7-day"
//! set = { "products.platelets.shelf_life_days" = 7 }
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::{FieldPath, Locator, ScenarioError, readable};
use super::overrides;

/// A validated plan: where its base is and what each variant sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The base scenario file, resolved against the plan file's directory.
    pub base: PathBuf,
    pub base_name: String,
    pub variants: Vec<PlanVariant>,
}

/// One variant: its name (also its results directory) and `(field path, TOML value)` pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanVariant {
    pub name: String,
    pub settings: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    base: String,
    #[serde(default)]
    base_name: Option<String>,
    variants: Vec<RawVariant>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariant {
    name: String,
    set: toml::Table,
}

/// True if the text is a plan rather than a scenario (it has `base` and `[[variants]]`).
pub fn is_plan(text: &str) -> bool {
    toml::from_str::<toml::Table>(text)
        .is_ok_and(|t| t.contains_key("variants") && t.contains_key("base"))
}

/// Parses a plan file's text; `file` is its path (names it in messages, and its directory
/// is where `base` is looked for).
pub fn parse(text: &str, file: &Path) -> Result<Plan, ScenarioError> {
    let name = file.display().to_string();
    let locator = Locator::new(text);
    let raw: RawPlan = toml::from_str(text).map_err(|e| ScenarioError {
        file: name.clone(),
        problems: vec![locator.problem_at(e.span(), String::new(), readable(e.message().trim()))],
    })?;
    let base = file.parent().unwrap_or(Path::new("")).join(&raw.base);
    let base_name = raw.base_name.clone().unwrap_or_else(|| {
        base.file_stem()
            .map_or("base".into(), |s| s.to_string_lossy().to_string())
    });
    let mut problems = Vec::new();
    let mut names = vec![base_name.clone()];
    if let Some(why) = bad_name(&base_name) {
        problems.push(locator.problem(&FieldPath::root().key("base_name"), why));
    }
    if raw.variants.is_empty() {
        let at = FieldPath::root().key("variants");
        problems.push(locator.problem(&at, "a plan needs at least one variant".into()));
    }
    let mut variants = Vec::with_capacity(raw.variants.len());
    for (i, v) in raw.variants.into_iter().enumerate() {
        let at = FieldPath::root().key("variants").index(i);
        if let Some(why) = bad_name(&v.name) {
            problems.push(locator.problem(&at.key("name"), why));
        } else if names.contains(&v.name) {
            let why = format!(
                "the name `{}` is taken (by the base or another variant); each variant needs its own",
                v.name
            );
            problems.push(locator.problem(&at.key("name"), why));
        }
        names.push(v.name.clone());
        let mut settings = Vec::new();
        flatten("", &v.set, &mut settings);
        if settings.is_empty() {
            let why = "set at least one field, e.g. set = { \"policy.replenishment.red_cells.days\" = 5 }";
            problems.push(locator.problem(&at.key("set"), why.into()));
        }
        variants.push(PlanVariant {
            name: v.name,
            settings,
        });
    }
    if !problems.is_empty() {
        return Err(ScenarioError {
            file: name,
            problems,
        });
    }
    Ok(Plan {
        base,
        base_name,
        variants,
    })
}

impl PlanVariant {
    /// The base file's text with this variant's values put in.
    pub fn apply(&self, base_text: &str) -> Result<String, overrides::SettingError> {
        let pairs: Vec<(&str, &str)> = self
            .settings
            .iter()
            .map(|(p, v)| (p.as_str(), v.as_str()))
            .collect();
        overrides::apply(base_text, &pairs)
    }
}

/// Why a name cannot name a results directory, if it cannot.
fn bad_name(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(['.', '-'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    (!ok).then(|| {
        format!("`{name}` cannot name a results directory: use 1 to 64 letters, digits, `-`, `_` or `.`, not starting with `.` or `-`")
    })
}

/// `{ "a.b" = 1, c = { d = 2 } }` -> `a.b = 1`, `c.d = 2`: a table sets its leaves, so
/// dotted keys may be written quoted or as nested tables.
fn flatten(prefix: &str, table: &toml::Table, out: &mut Vec<(String, String)>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&path, inner, out),
            leaf => out.push((path, leaf.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Result<Plan, ScenarioError> {
        parse(text, Path::new("plans/p.toml"))
    }

    #[test]
    fn a_plan_names_its_variants_and_their_settings() {
        let p = plan(
            "base = \"../s.toml\"\n[[variants]]\nname = \"7-day\"\nset = { \"products.platelets.shelf_life_days\" = 7, policy.issuing = \"fefo\" }\n",
        )
        .unwrap();
        assert_eq!(p.base, Path::new("plans/../s.toml"));
        assert_eq!(p.base_name, "s");
        assert_eq!(p.variants.len(), 1);
        let mut settings = p.variants[0].settings.clone();
        settings.sort();
        assert_eq!(
            settings,
            [
                ("policy.issuing".to_string(), "\"fefo\"".to_string()),
                ("products.platelets.shelf_life_days".into(), "7".into())
            ]
        );
        assert!(is_plan("base = \"a\"\nvariants = []\n"));
        assert!(!is_plan("[scenario]\nname = \"a\"\n"));
    }

    #[test]
    fn bad_names_and_empty_settings_are_located() {
        let text = "base = \"s.toml\"\nbase_name = \"b\"\n[[variants]]\nname = \"b\"\nset = { a = 1 }\n[[variants]]\nname = \"no spaces\"\nset = {}\n";
        let err = plan(text).unwrap_err();
        let messages: Vec<(Option<usize>, &str)> = err
            .problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert_eq!(messages.len(), 3, "{err}");
        assert!(messages[0].1.contains("is taken") && messages[0].0 == Some(4));
        assert!(messages[1].1.contains("cannot name") && messages[1].0 == Some(7));
        assert!(messages[2].1.contains("at least one field") && messages[2].0 == Some(8));
        let err = plan("base = \"s.toml\"\nvariant = []\n").unwrap_err();
        assert!(err.to_string().contains("variant"), "{err}");
    }
}
