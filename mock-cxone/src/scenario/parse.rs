//! Text to a checked [`Scenario`]: TOML syntax, unknown keys, types, names, kinds, categories,
//! references between entries, durations and instants — everything that needs no mock. Times
//! are checked against each other once a start is known (`plan`); references to tenants and
//! downloads that exist outside the file are checked against the mock (`apply`).

use serde_json::Value;
use toml::Spanned;

use super::format::{
    RawDownload, RawFault, RawFile, RawHeader, RawRecordings, RawRule, RawRuleSet, RawTenant, RawTimeline,
};
use super::when::{self, When, TOML_DATETIME_KEY};
use super::{Pos, ScenarioError, DEFAULT_RUN_FOR};
use crate::auth::tenants::NewTenant;
use crate::auth::ALL_SCOPES;
use crate::download::catalog::Frequency;
use crate::download::config::Spec;
use crate::faults::rules::KINDS;
use crate::storage::rules::{Filters, RuleSpec, ACTIONS, DEFAULT_PRIORITY};
use crate::storage::{CREATABLE_TIERS, MEDIA_TYPES};
use crate::store::time::Instant;

/// The name of the tenant every mock has.
pub const DEMO_TENANT: &str = "demo";

/// Most recordings one entry may create (as `POST /_mock/tenants/{t}/recordings`).
pub const MAX_RECORDINGS: i64 = 1_000_000;

/// A checked scenario: what to create and what happens when, positions kept for later errors.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// `scenario.name`.
    pub name: String,
    /// `scenario.description`.
    pub description: Option<String>,
    /// `scenario.seed`, with its position.
    pub seed: Option<(u64, Pos)>,
    /// `scenario.start`, with its position (the `[scenario]` header's when absent).
    pub start: Option<Instant>,
    /// Position of `start` (or of `[scenario]`).
    pub start_pos: Pos,
    /// How long `scenario run` runs.
    pub length: Length,
    /// Position of `run_for`/`end` (or of `[scenario]`).
    pub length_pos: Pos,
    /// `[[tenants]]`, in file order.
    pub tenants: Vec<TenantDecl>,
    /// `[[recordings]]`.
    pub recordings: Vec<RecordingsDecl>,
    /// `[[lifecycle_rules]]`.
    pub rules: Vec<RuleDecl>,
    /// `[[downloads]]`.
    pub downloads: Vec<DownloadDecl>,
    /// `[[faults]]`.
    pub faults: Vec<FaultDecl>,
    /// `[[timeline]]`, in file order (`plan` sorts them by instant).
    pub timeline: Vec<TimelineDecl>,
}

/// `run_for` or `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// Seconds after start.
    RunFor(i64),
    /// An instant.
    End(When),
}

/// A tenant named by an entry: a `[[tenants]]` name, `demo`, or (when loading into a running
/// mock) any existing tenant's name or id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRef {
    /// As written (`demo` when absent).
    pub name: String,
    /// Where (the entry's position when absent).
    pub pos: Pos,
}

/// `[[tenants]]`.
#[derive(Debug, Clone)]
pub struct TenantDecl {
    /// The validated body.
    pub new: NewTenant,
    /// Position of `name`.
    pub pos: Pos,
}

/// What a `[[recordings]]` entry or an `add_recordings` action creates (times unresolved).
#[derive(Debug, Clone)]
pub struct RecordingsSpec {
    /// How many (1 - 1,000,000).
    pub count: u64,
    /// Media types to cycle through.
    pub media_types: Vec<String>,
    /// Earliest recording time.
    pub start: Option<(When, Pos)>,
    /// Exclusive latest recording time.
    pub end: Option<(When, Pos)>,
    /// Tier.
    pub tier: String,
}

/// `[[recordings]]`.
#[derive(Debug, Clone)]
pub struct RecordingsDecl {
    /// Whose.
    pub tenant: TenantRef,
    /// What.
    pub spec: RecordingsSpec,
    /// The entry.
    pub pos: Pos,
}

/// `[[lifecycle_rules]]`.
#[derive(Debug, Clone)]
pub struct RuleDecl {
    /// Whose.
    pub tenant: TenantRef,
    /// The validated body.
    pub spec: RuleSpec,
    /// The entry.
    pub pos: Pos,
}

/// `[[downloads]]`.
#[derive(Debug, Clone)]
pub struct DownloadDecl {
    /// Whose.
    pub tenant: TenantRef,
    /// Its `name`.
    pub name: Option<String>,
    /// The body (checked; `manage::create` validates it again).
    pub spec: Spec,
    /// Its schedule's frequency.
    pub frequency: Frequency,
    /// The entry.
    pub pos: Pos,
}

/// A download named by a fault or a timeline entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadRef {
    /// The n-th `[[downloads]]` entry (from 0).
    File(usize),
    /// A download that exists in the mock already (`dl-...`).
    Id(String),
}

/// `[[faults]]` (times unresolved; the rule itself is validated by `plan`).
#[derive(Debug, Clone)]
pub struct FaultDecl {
    /// One of the kinds.
    pub kind: String,
    /// Only this tenant.
    pub tenant: Option<TenantRef>,
    /// Only this download.
    pub download: Option<(DownloadRef, Pos)>,
    /// Only this category.
    pub category: Option<String>,
    /// Only this data type.
    pub data_type: Option<String>,
    /// Window start.
    pub from: Option<(When, Pos)>,
    /// Window end.
    pub until: Option<(When, Pos)>,
    /// Next N jobs.
    pub next_jobs: Option<u32>,
    /// Chance.
    pub probability: Option<f64>,
    /// Kind-specific parameters (TOML datetimes already turned into strings).
    pub params: Option<Value>,
    /// Positions of the keys given, for the rule's validation messages.
    pub fields: Vec<(&'static str, Pos)>,
    /// The entry.
    pub pos: Pos,
}

/// The fields `update_lifecycle_rule` changes.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// New name.
    pub name: Option<String>,
    /// New media type (`Some(None)`: all).
    pub media_type: Option<Option<String>>,
    /// New age threshold.
    pub after_days: Option<i64>,
    /// New action.
    pub action: Option<String>,
    /// New priority.
    pub priority: Option<i64>,
    /// New filters.
    pub filters: Option<Filters>,
}

impl RuleSet {
    /// `base` with these changes.
    pub fn apply_to(&self, base: &RuleSpec) -> RuleSpec {
        RuleSpec {
            name: self.name.clone().unwrap_or_else(|| base.name.clone()),
            media_type: self.media_type.clone().unwrap_or_else(|| base.media_type.clone()),
            after_days: self.after_days.unwrap_or(base.after_days),
            action: self.action.clone().unwrap_or_else(|| base.action.clone()),
            priority: self.priority.unwrap_or(base.priority),
            filters: self.filters.clone().or_else(|| base.filters.clone()),
        }
    }
}

/// What a timeline entry does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Nothing but the clock reaching `at`.
    Advance,
    /// `POST /api/v2/sea/credentials` for the tenant (S1: the previous pair stops working).
    RegenerateSeaCredentials {
        /// Whose.
        tenant: TenantRef,
    },
    /// `POST /api/v2/data-lake/credentials` for the tenant (granted the keys current now, F9).
    IssueDatalakeCredentials {
        /// Whose.
        tenant: TenantRef,
    },
    /// `POST /_mock/tenants/{t}/recordings` (times default to the 7 days before `at`).
    AddRecordings {
        /// Whose.
        tenant: TenantRef,
        /// What.
        spec: RecordingsSpec,
    },
    /// `PUT /api/v2/storage/lifecycle-rules/{id}` with some fields changed (S3).
    UpdateLifecycleRule {
        /// Index of the rule in `[[lifecycle_rules]]`.
        rule: usize,
        /// The changes.
        set: RuleSet,
    },
    /// `PUT /api/v2/data-downloads/{id}` with its own body: a paused download resumes (D8).
    ResumeDownload {
        /// Which.
        download: (DownloadRef, Pos),
    },
    /// `POST /api/v2/data-downloads/{id}/manual-export` (D7).
    ManualExport {
        /// Which.
        download: (DownloadRef, Pos),
        /// Range start.
        start_time: (When, Pos),
        /// Range end.
        end_time: (When, Pos),
        /// Replace existing objects.
        overwrite: bool,
        /// Prefix instead of the download's.
        destination_prefix: Option<String>,
    },
}

impl Action {
    /// The `action` name.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Advance => "advance",
            Action::RegenerateSeaCredentials { .. } => "regenerate_sea_credentials",
            Action::IssueDatalakeCredentials { .. } => "issue_datalake_credentials",
            Action::AddRecordings { .. } => "add_recordings",
            Action::UpdateLifecycleRule { .. } => "update_lifecycle_rule",
            Action::ResumeDownload { .. } => "resume_download",
            Action::ManualExport { .. } => "manual_export",
        }
    }
}

/// Every timeline action and the keys it takes besides `at` and `action`.
pub const TIMELINE_ACTIONS: [(&str, &[&str]); 7] = [
    ("advance", &[]),
    ("regenerate_sea_credentials", &["tenant"]),
    ("issue_datalake_credentials", &["tenant"]),
    (
        "add_recordings",
        &["tenant", "count", "media_types", "start", "end", "tier"],
    ),
    ("update_lifecycle_rule", &["tenant", "rule", "set"]),
    ("resume_download", &["download"]),
    (
        "manual_export",
        &["download", "start_time", "end_time", "overwrite", "destination_prefix"],
    ),
];

/// `[[timeline]]`.
#[derive(Debug, Clone)]
pub struct TimelineDecl {
    /// When.
    pub at: When,
    /// Position of `at`.
    pub at_pos: Pos,
    /// What.
    pub action: Action,
    /// The entry.
    pub pos: Pos,
}

/// Parses and checks a scenario file's text.
pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let pos = e.span().map_or(Pos { line: 1, column: 1 }, |s| Pos::of(text, s.start));
        ScenarioError::new(pos, e.message().trim().to_string())
    })?;
    P { text }.file(raw)
}

/// The first of `fields` whose name the message mentions, else `default`: where a domain
/// validator's complaint belongs.
pub fn locate(message: &str, fields: &[(&'static str, Pos)], default: Pos) -> Pos {
    fields
        .iter()
        .find(|(name, _)| message.contains(name))
        .map_or(default, |(_, p)| *p)
}

/// Turns TOML datetimes inside a value into RFC3339 strings (what the JSON API takes).
pub fn datetimes_to_strings(v: Value) -> Value {
    match v {
        Value::Object(o) => {
            if o.len() == 1 {
                if let Some(Value::String(s)) = o.get(TOML_DATETIME_KEY) {
                    return Value::String(s.clone());
                }
            }
            Value::Object(o.into_iter().map(|(k, v)| (k, datetimes_to_strings(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(datetimes_to_strings).collect()),
        other => other,
    }
}

struct P<'a> {
    text: &'a str,
}

type R<T> = Result<T, ScenarioError>;

impl P<'_> {
    fn pos<T>(&self, s: &Spanned<T>) -> Pos {
        Pos::of(self.text, s.span().start)
    }

    fn err<T, U>(&self, s: &Spanned<T>, msg: impl Into<String>) -> R<U> {
        Err(ScenarioError::new(self.pos(s), msg))
    }

    fn file(&self, raw: RawFile) -> R<Scenario> {
        let header_pos = self.pos(&raw.scenario);
        let h = raw.scenario.into_inner();
        let mut sc = self.header(h, header_pos)?;
        for t in raw.tenants {
            let d = self.tenant_decl(t)?;
            if d.new.name == DEMO_TENANT {
                return Err(ScenarioError::new(
                    d.pos,
                    "every mock has a tenant named \"demo\" already: refer to it with tenant = \"demo\" instead of declaring it",
                ));
            }
            if sc.tenants.iter().any(|o| o.new.name == d.new.name) {
                return Err(ScenarioError::new(
                    d.pos,
                    format!("tenant {:?} is declared twice", d.new.name),
                ));
            }
            sc.tenants.push(d);
        }
        for r in raw.recordings {
            let pos = self.pos(&r);
            let r = r.into_inner();
            sc.recordings.push(self.recordings_decl(r, pos)?);
        }
        for r in raw.lifecycle_rules {
            let pos = self.pos(&r);
            let d = self.rule_decl(r.into_inner(), pos)?;
            if sc
                .rules
                .iter()
                .any(|o| o.tenant.name == d.tenant.name && o.spec.name == d.spec.name)
            {
                return Err(ScenarioError::new(
                    d.pos,
                    format!(
                        "tenant {:?} has two lifecycle rules named {:?}: the timeline refers to rules by name",
                        d.tenant.name, d.spec.name
                    ),
                ));
            }
            sc.rules.push(d);
        }
        for d in raw.downloads {
            let pos = self.pos(&d);
            let (d, name_pos) = self.download_decl(d.into_inner(), pos)?;
            if let Some(n) = &d.name {
                if sc.downloads.iter().any(|o| o.name.as_ref() == Some(n)) {
                    return Err(ScenarioError::new(
                        name_pos,
                        format!("two downloads are named {n:?}: faults and the timeline refer to downloads by name"),
                    ));
                }
            }
            sc.downloads.push(d);
        }
        for f in raw.faults {
            let pos = self.pos(&f);
            let f = self.fault_decl(f.into_inner(), pos, &sc.downloads)?;
            sc.faults.push(f);
        }
        for t in raw.timeline {
            let pos = self.pos(&t);
            let t = self.timeline_decl(t.into_inner(), pos, &sc)?;
            sc.timeline.push(t);
        }
        Ok(sc)
    }

    fn header(&self, h: RawHeader, header_pos: Pos) -> R<Scenario> {
        let name = h.name.get_ref().trim().to_string();
        if name.is_empty()
            || name.len() > 100
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return self.err(
                &h.name,
                format!("scenario.name {name:?} must be 1-100 letters, digits, '-', '_' or '.'"),
            );
        }
        let seed = match &h.seed {
            None => None,
            Some(s) if *s.get_ref() < 0 => return self.err(s, format!("seed must be 0 or more, got {}", s.get_ref())),
            Some(s) => Some((*s.get_ref() as u64, self.pos(s))),
        };
        let (start, start_pos) = match &h.start {
            None => (None, header_pos),
            Some(s) => match when::parse(s.get_ref()) {
                Ok(When::At(t)) => (Some(t), self.pos(s)),
                Ok(When::Offset(_)) => {
                    return self.err(
                        s,
                        "start must be an instant like \"2026-01-05T00:00:00Z\", not an offset",
                    )
                }
                Err(e) => return self.err(s, format!("start: {e}")),
            },
        };
        let (length, length_pos) = match (&h.run_for, &h.end) {
            (Some(_), Some(e)) => return self.err(e, "give run_for or end, not both"),
            (Some(r), None) => match crate::duration::parse_seconds(r.get_ref()) {
                Ok(s) => (Length::RunFor(s), self.pos(r)),
                Err(e) => return self.err(r, format!("run_for: {e}")),
            },
            (None, Some(e)) => match when::parse(e.get_ref()) {
                Ok(w) => (Length::End(w), self.pos(e)),
                Err(msg) => return self.err(e, format!("end: {msg}")),
            },
            (None, None) => (
                Length::RunFor(crate::duration::parse_seconds(DEFAULT_RUN_FOR).unwrap_or(86_400)),
                header_pos,
            ),
        };
        Ok(Scenario {
            name,
            description: h.description.map(Spanned::into_inner),
            seed,
            start,
            start_pos,
            length,
            length_pos,
            tenants: vec![],
            recordings: vec![],
            rules: vec![],
            downloads: vec![],
            faults: vec![],
            timeline: vec![],
        })
    }

    fn tenant_ref(&self, t: Option<&Spanned<String>>, entry: Pos) -> R<TenantRef> {
        match t {
            None => Ok(TenantRef {
                name: DEMO_TENANT.into(),
                pos: entry,
            }),
            Some(t) if t.get_ref().trim().is_empty() => self.err(t, "tenant must not be empty"),
            Some(t) => Ok(TenantRef {
                name: t.get_ref().trim().to_string(),
                pos: self.pos(t),
            }),
        }
    }

    fn tenant_decl(&self, t: Spanned<RawTenant>) -> R<TenantDecl> {
        let t = t.into_inner();
        let pos = self.pos(&t.name);
        let name = t.name.get_ref().trim().to_string();
        if name.is_empty() || name.len() > 100 {
            return self.err(&t.name, "name must be 1-100 characters");
        }
        let scopes = match &t.scopes {
            None => ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
            Some(s) => {
                if let Some(bad) = s.get_ref().iter().find(|x| !ALL_SCOPES.contains(&x.as_str())) {
                    return self.err(
                        s,
                        format!("unknown scope {bad:?}; scopes are {}", ALL_SCOPES.join(", ")),
                    );
                }
                s.get_ref().clone()
            }
        };
        if let Some(k) = &t.kms_key_id {
            if k.get_ref().trim().is_empty() {
                return self.err(k, "kms_key_id must not be empty (omit it for the system key)");
            }
        }
        Ok(TenantDecl {
            new: NewTenant {
                name,
                scopes,
                faster_sea: t.faster_sea.is_some_and(|f| *f.get_ref()),
                kms_key_id: t.kms_key_id.map(Spanned::into_inner),
            },
            pos,
        })
    }

    fn recordings_spec(
        &self,
        count: &Spanned<i64>,
        media_types: Option<&Spanned<Vec<String>>>,
        start: Option<&Spanned<Value>>,
        end: Option<&Spanned<Value>>,
        tier: Option<&Spanned<String>>,
    ) -> R<RecordingsSpec> {
        if !(1..=MAX_RECORDINGS).contains(count.get_ref()) {
            return self.err(
                count,
                format!("count must be between 1 and {MAX_RECORDINGS}, got {}", count.get_ref()),
            );
        }
        let media_types = match media_types {
            None => MEDIA_TYPES.iter().map(|m| m.to_string()).collect(),
            Some(m) if m.get_ref().is_empty() => return self.err(m, "media_types must not be empty"),
            Some(m) => {
                if let Some(bad) = m.get_ref().iter().find(|x| !MEDIA_TYPES.contains(&x.as_str())) {
                    return self.err(m, format!("unknown media type {bad:?}; use VOICE, SCREEN or STATEMENT"));
                }
                m.get_ref().clone()
            }
        };
        let tier = match tier {
            None => "active".to_string(),
            Some(t) if !CREATABLE_TIERS.contains(&t.get_ref().as_str()) => {
                return self.err(
                    t,
                    format!("tier {:?} is not one of active, long_term, custom", t.get_ref()),
                )
            }
            Some(t) => t.get_ref().clone(),
        };
        Ok(RecordingsSpec {
            count: *count.get_ref() as u64,
            media_types,
            start: self.when_opt("start", start)?,
            end: self.when_opt("end", end)?,
            tier,
        })
    }

    fn when_opt(&self, key: &str, v: Option<&Spanned<Value>>) -> R<Option<(When, Pos)>> {
        v.map(|v| self.when(key, v)).transpose()
    }

    fn when(&self, key: &str, v: &Spanned<Value>) -> R<(When, Pos)> {
        match when::parse(v.get_ref()) {
            Ok(w) => Ok((w, self.pos(v))),
            Err(e) => self.err(v, format!("{key}: {e}")),
        }
    }

    fn recordings_decl(&self, r: RawRecordings, pos: Pos) -> R<RecordingsDecl> {
        Ok(RecordingsDecl {
            tenant: self.tenant_ref(r.tenant.as_ref(), pos)?,
            spec: self.recordings_spec(
                &r.count,
                r.media_types.as_ref(),
                r.start.as_ref(),
                r.end.as_ref(),
                r.tier.as_ref(),
            )?,
            pos,
        })
    }

    fn rule_name(&self, n: &Spanned<String>) -> R<String> {
        let name = n.get_ref().trim().to_string();
        if name.is_empty() || name.len() > 200 {
            return self.err(n, "name must be 1-200 characters");
        }
        Ok(name)
    }

    fn media_type(&self, m: &Spanned<String>, all_allowed: bool) -> R<Option<String>> {
        let v = m.get_ref().as_str();
        if all_allowed && v == "all" {
            return Ok(None);
        }
        if !MEDIA_TYPES.contains(&v) {
            return self.err(
                m,
                format!(
                    "media_type {v:?} is not one of VOICE, SCREEN, STATEMENT{}",
                    if all_allowed {
                        " or \"all\""
                    } else {
                        " (omit it for all)"
                    }
                ),
            );
        }
        Ok(Some(v.to_string()))
    }

    fn after_days(&self, a: &Spanned<i64>) -> R<i64> {
        if !(0..=36_500).contains(a.get_ref()) {
            return self.err(
                a,
                format!("after_days must be between 0 and 36500, got {}", a.get_ref()),
            );
        }
        Ok(*a.get_ref())
    }

    fn rule_action(&self, a: &Spanned<String>) -> R<String> {
        if !ACTIONS.contains(&a.get_ref().as_str()) {
            return self.err(
                a,
                format!("action {:?} is not one of {}", a.get_ref(), ACTIONS.join(", ")),
            );
        }
        Ok(a.get_ref().clone())
    }

    fn priority(&self, p: &Spanned<i64>) -> R<i64> {
        if !(0..=1_000_000).contains(p.get_ref()) {
            return self.err(
                p,
                format!("priority must be between 0 and 1000000, got {}", p.get_ref()),
            );
        }
        Ok(*p.get_ref())
    }

    fn rule_decl(&self, r: RawRule, pos: Pos) -> R<RuleDecl> {
        Ok(RuleDecl {
            tenant: self.tenant_ref(r.tenant.as_ref(), pos)?,
            spec: RuleSpec {
                name: self.rule_name(&r.name)?,
                media_type: r
                    .media_type
                    .as_ref()
                    .map(|m| self.media_type(m, false))
                    .transpose()?
                    .flatten(),
                after_days: self.after_days(&r.after_days)?,
                action: self.rule_action(&r.action)?,
                priority: r
                    .priority
                    .as_ref()
                    .map(|p| self.priority(p))
                    .transpose()?
                    .unwrap_or(DEFAULT_PRIORITY),
                filters: r.filters.map(Spanned::into_inner),
            },
            pos,
        })
    }

    fn rule_set(&self, s: RawRuleSet, pos: Pos) -> R<RuleSet> {
        let set = RuleSet {
            name: s.name.as_ref().map(|n| self.rule_name(n)).transpose()?,
            media_type: s.media_type.as_ref().map(|m| self.media_type(m, true)).transpose()?,
            after_days: s.after_days.as_ref().map(|a| self.after_days(a)).transpose()?,
            action: s.action.as_ref().map(|a| self.rule_action(a)).transpose()?,
            priority: s.priority.as_ref().map(|p| self.priority(p)).transpose()?,
            filters: s.filters.map(Spanned::into_inner),
        };
        if set.name.is_none()
            && set.media_type.is_none()
            && set.after_days.is_none()
            && set.action.is_none()
            && set.priority.is_none()
            && set.filters.is_none()
        {
            return Err(ScenarioError::new(
                pos,
                "set changes nothing: give name, media_type, after_days, action, priority or filters",
            ));
        }
        Ok(set)
    }

    fn download_decl(&self, d: RawDownload, pos: Pos) -> R<(DownloadDecl, Pos)> {
        let tenant = self.tenant_ref(d.tenant.as_ref(), pos)?;
        let mut fields: Vec<(&'static str, Pos)> = vec![];
        let mut note = |name: &'static str, p: Option<Pos>| {
            if let Some(p) = p {
                fields.push((name, p));
            }
        };
        note("partitioning", d.partitioning.as_ref().map(|x| self.pos(x)));
        note("schedule", d.schedule.as_ref().map(|x| self.pos(x)));
        note("destination", Some(self.pos(&d.destination)));
        note("retention", d.retention.as_ref().map(|x| self.pos(x)));
        note("compression", d.compression.as_ref().map(|x| self.pos(x)));
        note("format", d.format.as_ref().map(|x| self.pos(x)));
        note("data type", d.data_types.as_ref().map(|x| self.pos(x)));
        note("category", Some(self.pos(&d.category)));
        note("name", d.name.as_ref().map(|x| self.pos(x)));
        let name_pos = d.name.as_ref().map_or(pos, |n| self.pos(n));
        if let Some(n) = &d.name {
            if n.get_ref().trim().is_empty() {
                return self.err(n, "name must not be empty");
            }
            if n.get_ref().starts_with("dl-") {
                return self.err(n, "a download's name must not start with \"dl-\" (ids do)");
            }
        }
        let spec = Spec {
            name: d.name.map(Spanned::into_inner),
            category: d.category.into_inner(),
            data_types: d.data_types.map(Spanned::into_inner).unwrap_or_default(),
            format: d.format.map_or_else(|| "parquet".to_string(), Spanned::into_inner),
            compression: d.compression.map(Spanned::into_inner),
            partitioning: d.partitioning.map(Spanned::into_inner).unwrap_or_default(),
            schedule: d.schedule.map(Spanned::into_inner),
            destination: d.destination.into_inner(),
            retention: d.retention.map(Spanned::into_inner),
        };
        let valid = match spec.clone().validate() {
            Ok(v) => v,
            Err(e) => return Err(ScenarioError::new(locate(&e.0, &fields, pos), e.0)),
        };
        Ok((
            DownloadDecl {
                tenant,
                name: spec.name.clone(),
                spec,
                frequency: valid.frequency,
                pos,
            },
            name_pos,
        ))
    }

    fn download_ref(&self, v: &Spanned<Value>, downloads: &[DownloadDecl]) -> R<(DownloadRef, Pos)> {
        let pos = self.pos(v);
        let names = || {
            let n: Vec<String> = downloads
                .iter()
                .enumerate()
                .map(|(i, d)| d.name.as_ref().map_or(i.to_string(), |n| format!("{i} or {n:?}")))
                .collect();
            if n.is_empty() {
                "this file has no [[downloads]]".to_string()
            } else {
                format!("[[downloads]] are {}", n.join(", "))
            }
        };
        match v.get_ref() {
            Value::Number(n) => match n.as_u64() {
                Some(i) if (i as usize) < downloads.len() => Ok((DownloadRef::File(i as usize), pos)),
                _ => self.err(
                    v,
                    format!("download {n} is not an index of [[downloads]] (from 0); {}", names()),
                ),
            },
            Value::String(s) if s.starts_with("dl-") => Ok((DownloadRef::Id(s.clone()), pos)),
            Value::String(s) => match downloads.iter().position(|d| d.name.as_deref() == Some(s)) {
                Some(i) => Ok((DownloadRef::File(i), pos)),
                None => self.err(v, format!("no download named {s:?}; {}", names())),
            },
            other => self.err(
                v,
                format!("download must be an index of [[downloads]], a download's name or a dl- id, got {other}"),
            ),
        }
    }

    fn fault_decl(&self, f: RawFault, pos: Pos, downloads: &[DownloadDecl]) -> R<FaultDecl> {
        let kind = f.kind.get_ref().clone();
        if !KINDS.contains(&kind.as_str()) {
            return self.err(
                &f.kind,
                format!("unknown fault kind {kind:?}; kinds are {}", KINDS.join(", ")),
            );
        }
        let mut fields: Vec<(&'static str, Pos)> = vec![];
        let p = |s: Option<Pos>, name: &'static str, fields: &mut Vec<(&'static str, Pos)>| {
            if let Some(s) = s {
                fields.push((name, s));
            }
        };
        p(f.params.as_ref().map(|x| self.pos(x)), "params", &mut fields);
        p(f.next_jobs.as_ref().map(|x| self.pos(x)), "next_jobs", &mut fields);
        p(f.probability.as_ref().map(|x| self.pos(x)), "probability", &mut fields);
        p(f.data_type.as_ref().map(|x| self.pos(x)), "data type", &mut fields);
        p(f.category.as_ref().map(|x| self.pos(x)), "category", &mut fields);
        p(f.until.as_ref().map(|x| self.pos(x)), "until", &mut fields);
        p(f.from.as_ref().map(|x| self.pos(x)), "from", &mut fields);
        p(Some(self.pos(&f.kind)), "kind", &mut fields);
        let next_jobs = match &f.next_jobs {
            None => None,
            Some(n) if *n.get_ref() < 1 || *n.get_ref() > i64::from(u32::MAX) => {
                return self.err(n, format!("next_jobs must be at least 1, got {}", n.get_ref()))
            }
            Some(n) => Some(*n.get_ref() as u32),
        };
        let probability = match &f.probability {
            None => None,
            Some(v) => match v.get_ref().as_f64() {
                Some(x) => Some(x),
                None => {
                    return self.err(
                        v,
                        format!("probability must be a number in (0, 1], got {}", v.get_ref()),
                    )
                }
            },
        };
        let params = match &f.params {
            None => None,
            Some(v) if !v.get_ref().is_object() => {
                return self.err(v, "params must be a table, e.g. params = { percent = 10 }")
            }
            Some(v) => Some(datetimes_to_strings(v.get_ref().clone())),
        };
        Ok(FaultDecl {
            kind,
            tenant: f.tenant.as_ref().map(|t| self.tenant_ref(Some(t), pos)).transpose()?,
            download: f
                .download
                .as_ref()
                .map(|d| self.download_ref(d, downloads))
                .transpose()?,
            category: f.category.map(Spanned::into_inner),
            data_type: f.data_type.map(Spanned::into_inner),
            from: self.when_opt("from", f.from.as_ref())?,
            until: self.when_opt("until", f.until.as_ref())?,
            next_jobs,
            probability,
            params,
            fields,
            pos,
        })
    }

    fn timeline_decl(&self, t: RawTimeline, pos: Pos, sc: &Scenario) -> R<TimelineDecl> {
        let (at, at_pos) = self.when("at", &t.at)?;
        let name = t.action.get_ref().as_str();
        let Some((_, allowed)) = TIMELINE_ACTIONS.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = TIMELINE_ACTIONS.iter().map(|(n, _)| *n).collect();
            return self.err(
                &t.action,
                format!("unknown timeline action {name:?}; actions are {}", names.join(", ")),
            );
        };
        let given: [(&str, Option<Pos>); 13] = [
            ("tenant", t.tenant.as_ref().map(|x| self.pos(x))),
            ("download", t.download.as_ref().map(|x| self.pos(x))),
            ("rule", t.rule.as_ref().map(|x| self.pos(x))),
            ("set", t.set.as_ref().map(|x| self.pos(x))),
            ("count", t.count.as_ref().map(|x| self.pos(x))),
            ("media_types", t.media_types.as_ref().map(|x| self.pos(x))),
            ("start", t.start.as_ref().map(|x| self.pos(x))),
            ("end", t.end.as_ref().map(|x| self.pos(x))),
            ("tier", t.tier.as_ref().map(|x| self.pos(x))),
            ("start_time", t.start_time.as_ref().map(|x| self.pos(x))),
            ("end_time", t.end_time.as_ref().map(|x| self.pos(x))),
            ("overwrite", t.overwrite.as_ref().map(|x| self.pos(x))),
            ("destination_prefix", t.destination_prefix.as_ref().map(|x| self.pos(x))),
        ];
        if let Some((key, Some(p))) = given.iter().find(|(k, p)| p.is_some() && !allowed.contains(k)) {
            let takes = if allowed.is_empty() {
                "no other keys".to_string()
            } else {
                allowed.join(", ")
            };
            return Err(ScenarioError::new(
                *p,
                format!("action {name:?} does not take `{key}` (it takes {takes})"),
            ));
        }
        let need = |key: &str| ScenarioError::new(pos, format!("action {name:?} needs `{key}`"));
        let action = match name {
            "advance" => Action::Advance,
            "regenerate_sea_credentials" => Action::RegenerateSeaCredentials {
                tenant: self.tenant_ref(t.tenant.as_ref(), pos)?,
            },
            "issue_datalake_credentials" => Action::IssueDatalakeCredentials {
                tenant: self.tenant_ref(t.tenant.as_ref(), pos)?,
            },
            "add_recordings" => {
                let count = t.count.as_ref().ok_or_else(|| need("count"))?;
                Action::AddRecordings {
                    tenant: self.tenant_ref(t.tenant.as_ref(), pos)?,
                    spec: self.recordings_spec(
                        count,
                        t.media_types.as_ref(),
                        t.start.as_ref(),
                        t.end.as_ref(),
                        t.tier.as_ref(),
                    )?,
                }
            }
            "update_lifecycle_rule" => {
                let rule = t.rule.as_ref().ok_or_else(|| need("rule"))?;
                let set = t.set.ok_or_else(|| need("set"))?;
                let set_pos = self.pos(&set);
                let tenant = t.tenant.as_ref().map(|x| self.tenant_ref(Some(x), pos)).transpose()?;
                let candidates: Vec<usize> = sc
                    .rules
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| {
                        &r.spec.name == rule.get_ref() && tenant.as_ref().is_none_or(|t| t.name == r.tenant.name)
                    })
                    .map(|(i, _)| i)
                    .collect();
                let index = match candidates.as_slice() {
                    [i] => *i,
                    [] => {
                        return self.err(
                            rule,
                            format!(
                                "no lifecycle rule named {:?}{} in [[lifecycle_rules]]",
                                rule.get_ref(),
                                tenant
                                    .as_ref()
                                    .map_or(String::new(), |t| format!(" for tenant {:?}", t.name))
                            ),
                        )
                    }
                    _ => {
                        return self.err(
                            rule,
                            format!(
                                "several tenants have a rule named {:?}: add tenant = \"...\"",
                                rule.get_ref()
                            ),
                        )
                    }
                };
                Action::UpdateLifecycleRule {
                    rule: index,
                    set: self.rule_set(set.into_inner(), set_pos)?,
                }
            }
            "resume_download" => {
                let d = t.download.as_ref().ok_or_else(|| need("download"))?;
                Action::ResumeDownload {
                    download: self.download_ref(d, &sc.downloads)?,
                }
            }
            _ => {
                let d = t.download.as_ref().ok_or_else(|| need("download"))?;
                let s = t.start_time.as_ref().ok_or_else(|| need("start_time"))?;
                let e = t.end_time.as_ref().ok_or_else(|| need("end_time"))?;
                if let Some(p) = &t.destination_prefix {
                    let v = p.get_ref();
                    if !v.is_empty() && (!v.ends_with('/') || v.starts_with('/') || v.contains("//")) {
                        return self.err(
                            p,
                            format!("destination_prefix {v:?} must be empty or a folder path ending in '/'"),
                        );
                    }
                }
                Action::ManualExport {
                    download: self.download_ref(d, &sc.downloads)?,
                    start_time: self.when("start_time", s)?,
                    end_time: self.when("end_time", e)?,
                    overwrite: t.overwrite.is_some_and(|o| *o.get_ref()),
                    destination_prefix: t.destination_prefix.map(Spanned::into_inner),
                }
            }
        };
        Ok(TimelineDecl {
            at,
            at_pos,
            action,
            pos,
        })
    }
}
