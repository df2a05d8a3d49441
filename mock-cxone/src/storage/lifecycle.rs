//! Life Cycle Management runs: which rule claims a file, what happens to it, and why a file is
//! refused SEA (S3, S4, S10).
//!
//! The model (CONTRACT §3): a file is claimed by the first rule, by priority, that matches it when
//! rules first evaluate it, and the action that rule had at that moment decides its fate. So a
//! file managed by a rule is never eligible for another; editing a rule changes only files
//! claimed afterwards; a file enters SEA at most once; nothing comes back from SEA.

use chrono::Duration;
use rusqlite::Connection;
use serde_json::json;

use super::daily_cap;
use super::rules::{self, Rule};
use crate::app::App;
use crate::auth::tenants;
use crate::engine::Task;
use crate::events::{self, NewEvent};
use crate::store::time::{rfc3339, to_us, Instant};
use crate::store::{meta_set, reserve_counter, StoreResult};

/// `meta` key of the last daily run (unix µs), so a restart does not run a day twice.
pub const LAST_RUN_KEY: &str = "lifecycle.last_run";

/// Files one claim step takes at a time (bounds the memory of a first run over many files).
const CLAIM_PAGE: usize = 10_000;

/// How soon Faster SEA places files of zero-day rules (S10): "within minutes".
pub const FASTER_SEA_DELAY_MINUTES: i64 = 5;

/// The daily run at `at` (a UTC midnight) for every tenant, then schedules the next one.
pub fn run_daily(app: &App, at: Instant) -> StoreResult<()> {
    let placed_any = app.store.tx(|tx| {
        let mut expiries = vec![];
        for t in tenants::list(tx)? {
            let rules = rules::list(tx, &t.tenant_id)?;
            claim(tx, at, &t.tenant_id, &rules, false)?;
            refuse(tx, at, &t.tenant_id, &rules)?;
            expiries.extend(daily_cap::place(tx, at, &t.tenant_id)?);
        }
        crate::auth::tokens::purge_expired(tx, at)?;
        meta_set(tx, LAST_RUN_KEY, &to_us(at).to_string())?;
        Ok(expiries)
    })?;
    for expiry in placed_any {
        app.engine.schedule(expiry, Task::SeaSweep);
    }
    app.engine.schedule(at + Duration::days(1), Task::LifecycleRun);
    Ok(())
}

/// A Faster SEA pass for one tenant: only files whose first matching rule is a zero-day SEA rule.
pub fn run_faster_sea(app: &App, at: Instant, tenant_id: &str) -> StoreResult<()> {
    let expiries = app.store.tx(|tx| {
        let Some(t) = tenants::find(tx, tenant_id)? else {
            return Ok(None);
        };
        if !t.faster_sea {
            return Ok(None);
        }
        let rules = rules::list(tx, &t.tenant_id)?;
        claim(tx, at, &t.tenant_id, &rules, true)?;
        daily_cap::place(tx, at, &t.tenant_id)
    })?;
    if let Some(expiry) = expiries {
        app.engine.schedule(expiry, Task::SeaSweep);
    }
    Ok(())
}

/// Schedules a Faster SEA pass a few minutes from `now` if the tenant has the licence.
pub fn nudge_faster_sea(app: &App, tenant_id: &str, faster_sea: bool) {
    if faster_sea {
        let at = app.now() + Duration::minutes(FASTER_SEA_DELAY_MINUTES);
        app.engine.schedule(
            at,
            Task::FasterSea {
                tenant_id: tenant_id.to_string(),
            },
        );
    }
}

/// Lets each rule, in order, claim the unclaimed active files it matches at `at`.
/// With `zero_day_sea_only`, only zero-day SEA rules claim, and only files no earlier rule matches.
fn claim(c: &Connection, at: Instant, tenant_id: &str, rules: &[Rule], zero_day_sea_only: bool) -> StoreResult<()> {
    for (i, rule) in rules.iter().enumerate() {
        if zero_day_sea_only && !(rule.is_sea() && rule.after_days == 0) {
            continue;
        }
        let mut pred = rule.predicate(at);
        if zero_day_sea_only {
            for earlier in &rules[..i] {
                pred.push_str(&format!(" AND NOT {}", earlier.predicate(at)));
            }
        }
        // SEA claims join the back of the queue (S7: the backlog drains first, in order): each
        // claim pass gets a block of queue numbers above every earlier one, ordered by file seq.
        let queue_base = if rule.is_sea() {
            Some(reserve_counter(c, "sea_queue", max_file_seq(c)? + 1)? as i64)
        } else {
            None
        };
        // In pages along `seq` (the rowid, so the unclaimed index is walked in order and each page
        // starts where the last one stopped): a first run over a million files would otherwise
        // hold every claimed (id, name) at once.
        let sql = format!(
            "UPDATE files SET rule_id=?2, rule_action=?3, claimed_at=?4, sea_queued=?5 + seq \
             WHERE seq IN (SELECT seq FROM files WHERE tenant_id=?1 AND rule_id IS NULL AND tier='active' \
             AND created_at<=?4 AND {pred} AND seq > ?6 ORDER BY seq LIMIT {CLAIM_PAGE}) RETURNING seq, id, name"
        );
        let mut stmt = c.prepare(&sql)?;
        let mut after = 0i64;
        loop {
            let mut claimed: Vec<(i64, String, String)> = stmt
                .query_map(
                    rusqlite::params![tenant_id, rule.id, rule.action, to_us(at), queue_base, after],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?
                .collect::<Result<_, _>>()?;
            // RETURNING order is unspecified: events go out in file order.
            claimed.sort_unstable_by_key(|(seq, ..)| *seq);
            let Some((last, ..)) = claimed.last() else { break };
            after = *last;
            apply_action(c, at, tenant_id, rule, &claimed)?;
        }
    }
    Ok(())
}

/// Highest file sequence number so far (sizes a claim pass's block of queue numbers).
fn max_file_seq(c: &Connection) -> StoreResult<u64> {
    Ok(c.query_row("SELECT COALESCE(MAX(seq), 0) FROM files", [], |r| r.get::<_, i64>(0))? as u64)
}

/// Carries out what the claiming rule says for the files it just claimed.
fn apply_action(
    c: &Connection,
    at: Instant,
    tenant_id: &str,
    rule: &Rule,
    claimed: &[(i64, String, String)],
) -> StoreResult<()> {
    let kind = match rule.action.as_str() {
        "archive" => "lifecycle.archived",
        "delete" => "lifecycle.deleted",
        "copy_to_sea" | "move_to_sea" => "lifecycle.queued_for_sea",
        _ => "lifecycle.kept",
    };
    for (_, id, name) in claimed {
        match rule.action.as_str() {
            "archive" => c
                .prepare_cached("UPDATE files SET tier='long_term', tier_changed_at=?2 WHERE id=?1")?
                .execute(rusqlite::params![id, to_us(at)])?,
            "delete" => c
                .prepare_cached("UPDATE files SET tier='deleted', tier_changed_at=?2 WHERE id=?1")?
                .execute(rusqlite::params![id, to_us(at)])?,
            // keep: the claim itself is the decision; SEA claims were queued by the claim itself.
            _ => 0,
        };
        let detail = json!({"file_id": id, "name": name, "rule_id": rule.id, "action": rule.action});
        events::record(c, at, &NewEvent::tenant(kind, tenant_id, detail))?;
    }
    Ok(())
}

/// Why a SEA rule that matches a file cannot place it, if it cannot (S3, S4).
fn refusal_reason(
    rule: &Rule,
    tier: &str,
    claimed_by: Option<&str>,
    claimed_action: Option<&str>,
    sea_action: Option<&str>,
) -> Option<String> {
    match (sea_action, claimed_by) {
        (Some("copied"), _) if rule.action == "move_to_sea" => Some("copied_file_cannot_be_moved".into()),
        (Some(_), _) => Some("already_placed_in_sea_once".into()),
        (None, Some(by)) if by == rule.id && claimed_action != Some(rule.action.as_str()) => {
            Some("processed_before_rule_was_edited".into())
        }
        (None, Some(by)) if by != rule.id => Some("already_managed_by_another_rule".into()),
        (None, None) if tier != "active" => Some(format!("not_in_active_storage ({tier})")),
        _ => None,
    }
}

/// A file a SEA rule matches but did not claim: a refusal candidate.
struct Candidate {
    id: String,
    name: String,
    tier: String,
    claimed_by: Option<String>,
    claimed_action: Option<String>,
    sea_action: Option<String>,
}

/// Records, once per (file, rule), each SEA rule's refusal of a file it matches.
fn refuse(c: &Connection, at: Instant, tenant_id: &str, rules: &[Rule]) -> StoreResult<()> {
    for rule in rules.iter().filter(|r| r.is_sea()) {
        // Files this rule claimed with its current action can never be refused by it, and at
        // scale they are nearly all the files it matches: so the scan walks `files_rule` around
        // the key (rule, action) — unclaimed files, then the two key ranges either side — instead
        // of every file the predicate matches, each day.
        let rest = format!(
            "tier != 'deleted' AND created_at<=?3 AND {} \
             AND NOT EXISTS (SELECT 1 FROM sea_refusals r WHERE r.file_id=f.id AND r.rule_id=?2)",
            rule.predicate(at)
        );
        let sql = [
            "rule_id IS NULL",
            "(rule_id, rule_action) < (?2, ?4)",
            "(rule_id, rule_action) > (?2, ?4)",
        ]
        .map(|claim| {
            format!(
                "SELECT seq, id, name, tier, rule_id, rule_action, sea_action FROM files f \
                     INDEXED BY files_rule WHERE tenant_id=?1 AND {claim} AND {rest}"
            )
        })
        .join(" UNION ALL ")
            + " ORDER BY seq";
        let rows: Vec<Candidate> = c
            .prepare(&sql)?
            .query_map(rusqlite::params![tenant_id, rule.id, to_us(at), rule.action], |r| {
                Ok(Candidate {
                    id: r.get(1)?,
                    name: r.get(2)?,
                    tier: r.get(3)?,
                    claimed_by: r.get(4)?,
                    claimed_action: r.get(5)?,
                    sea_action: r.get(6)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        for f in rows {
            let Some(reason) = refusal_reason(
                rule,
                &f.tier,
                f.claimed_by.as_deref(),
                f.claimed_action.as_deref(),
                f.sea_action.as_deref(),
            ) else {
                continue;
            };
            let (id, name, by) = (f.id, f.name, f.claimed_by);
            c.execute(
                "INSERT OR IGNORE INTO sea_refusals(file_id,rule_id,reason,at) VALUES(?1,?2,?3,?4)",
                rusqlite::params![id, rule.id, reason, to_us(at)],
            )?;
            let detail = json!({"file_id": id, "name": name, "rule_id": rule.id, "reason": reason,
                                "managed_by": by, "at": rfc3339(at)});
            events::record(c, at, &NewEvent::tenant("lifecycle.refused", tenant_id, detail))?;
        }
    }
    Ok(())
}
