//! Partition paths (D4): `year={yyyy}/month={MM}/day={dd}/hour={HH}` filled from an interval's
//! start, and the file and manifest keys under them (CONTRACT §4).

use chrono::{Datelike, Timelike};

use crate::store::time::Instant;

/// A validated partition template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(String);

const TOKENS: [&str; 4] = ["{yyyy}", "{MM}", "{dd}", "{HH}"];

impl Template {
    /// Checks a template: `/`-separated non-empty segments of letters, digits, `=`, `_`, `-`, `.`
    /// and the tokens `{yyyy}`, `{MM}`, `{dd}`, `{HH}`; at least one token.
    pub fn parse(s: &str) -> Result<Template, String> {
        if s.is_empty() || s.len() > 200 {
            return Err("must be 1 to 200 characters".into());
        }
        if s.starts_with('/') || s.ends_with('/') {
            return Err(format!("{s:?} must not start or end with '/'"));
        }
        for seg in s.split('/') {
            if seg.is_empty() || seg == "." || seg == ".." {
                return Err(format!("{s:?} has an empty, '.' or '..' segment"));
            }
        }
        let mut rest = s.to_string();
        for t in TOKENS {
            rest = rest.replace(t, "");
        }
        if let Some(bad) = rest.find(['{', '}']) {
            return Err(format!(
                "{s:?} has an unknown token near {:?}; tokens are {{yyyy}}, {{MM}}, {{dd}}, {{HH}}",
                &rest[bad..]
            ));
        }
        if let Some(c) = rest
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '=' | '_' | '-' | '.' | '/')))
        {
            return Err(format!(
                "{s:?} has the character {c:?}; use letters, digits, '=', '_', '-', '.', '/'"
            ));
        }
        if !TOKENS.iter().any(|t| s.contains(t)) {
            return Err(format!(
                "{s:?} has no time token; use {{yyyy}}, {{MM}}, {{dd}} or {{HH}}"
            ));
        }
        Ok(Template(s.to_string()))
    }

    /// The partition path of an interval starting at `at`.
    pub fn render(&self, at: Instant) -> String {
        self.0
            .replace("{yyyy}", &format!("{:04}", at.year()))
            .replace("{MM}", &format!("{:02}", at.month()))
            .replace("{dd}", &format!("{:02}", at.day()))
            .replace("{HH}", &format!("{:02}", at.hour()))
    }
}

/// The folder of one data type's files for an interval: `<prefix><data type>/<partition>/`.
pub fn folder(prefix: &str, data_type: &str, template: Option<&Template>, interval_start: Instant) -> String {
    match template {
        Some(t) => format!("{prefix}{data_type}/{}/", t.render(interval_start)),
        None => format!("{prefix}{data_type}/"),
    }
}

/// `part-NNNNN.<ext>` in `folder`.
pub fn part_key(folder: &str, n: u32, extension: &str) -> String {
    format!("{folder}part-{n:05}.{extension}")
}

/// `_manifest-<job id>.json` in `folder`.
pub fn manifest_key(folder: &str, job_id: &str) -> String {
    format!("{folder}_manifest-{job_id}.json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::time::parse_rfc3339;

    #[test]
    fn d4_guide_template_renders_hive_partitions() {
        let t = Template::parse("year={yyyy}/month={MM}/day={dd}/hour={HH}").expect("valid");
        let at = parse_rfc3339("2024-03-15T14:00:00Z").unwrap_or_default();
        assert_eq!(t.render(at), "year=2024/month=03/day=15/hour=14");
        assert_eq!(
            part_key(&folder("exports/telephony/", "cdr", Some(&t), at), 0, "parquet"),
            "exports/telephony/cdr/year=2024/month=03/day=15/hour=14/part-00000.parquet"
        );
        assert_eq!(folder("x/", "cdr", None, at), "x/cdr/");
    }

    #[test]
    fn bad_templates_are_refused() {
        for bad in [
            "",
            "/year={yyyy}",
            "year={yyyy}/",
            "year={YYYY}",
            "a//{HH}",
            "plain",
            "x={HH}/../y",
            "a b/{HH}",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Template::parse("dt={yyyy}-{MM}-{dd}/{HH}").is_ok());
    }
}
