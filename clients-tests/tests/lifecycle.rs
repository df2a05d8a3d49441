//! Life Cycle Management and SEA placement through the public API (S3, S4, S7, S10, S11).

use clients_tests::{start, Mock, TenantCreds};
use reqwest::Method;
use serde_json::{json, Value};

// Tokens live an hour of mock time, so helpers used after an advance take a fresh one.
async fn files(m: &Mock, t: &TenantCreds, query: &str) -> Value {
    let tok = m.token(t).await;
    let r = m
        .api(Method::GET, &format!("/api/v2/storage/files?{query}"), &tok)
        .send()
        .await
        .expect("files");
    assert_eq!(r.status(), 200);
    r.json().await.expect("json")
}

async fn total(m: &Mock, t: &TenantCreds, query: &str) -> i64 {
    files(m, t, query).await["total"].as_i64().expect("total")
}

async fn backlog(m: &Mock, t: &TenantCreds) -> Value {
    let tok = m.token(t).await;
    m.api(Method::GET, "/api/v2/storage/sea/backlog", &tok)
        .send()
        .await
        .expect("backlog")
        .json()
        .await
        .expect("json")
}

async fn usage(m: &Mock, t: &TenantCreds) -> Value {
    let tok = m.token(t).await;
    m.api(Method::GET, "/api/v2/storage/usage", &tok)
        .send()
        .await
        .expect("usage")
        .json()
        .await
        .expect("json")
}

async fn events(m: &Mock, kind: &str) -> Vec<Value> {
    let v: Value = m
        .http
        .get(m.url(&format!("/_mock/events?kind={kind}&limit=100000")))
        .send()
        .await
        .expect("events")
        .json()
        .await
        .expect("json");
    v["events"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn sea_s3_only_active_storage_files_are_eligible() {
    let m = start().await;
    let t = m.demo();
    let tok = m.token(&t).await;
    m.recordings(&t.tenant_id, json!({"count": 3})).await;
    m.recordings(&t.tenant_id, json!({"count": 2, "tier": "long_term"}))
        .await;
    m.recordings(&t.tenant_id, json!({"count": 2, "tier": "custom"})).await;
    m.rule(
        &tok,
        json!({"name": "copy all", "after_days": 0, "action": "copy_to_sea"}),
    )
    .await;
    m.advance("1d").await;
    assert_eq!(total(&m, &t, "tier=sea").await, 3);
    let lt = files(&m, &t, "tier=long_term").await;
    for f in lt["files"].as_array().expect("files") {
        assert!(f["sea"].is_null());
        let reason = f["sea_refusals"][0]["reason"].as_str().expect("refusal");
        assert!(reason.starts_with("not_in_active_storage"), "{reason}");
    }
    let refused = events(&m, "lifecycle.refused").await;
    assert_eq!(
        refused.len(),
        4,
        "every long-term and custom file is refused once: {refused:?}"
    );
    // A second run does not repeat the refusals.
    m.advance("1d").await;
    assert_eq!(events(&m, "lifecycle.refused").await.len(), 4);
}

#[tokio::test]
async fn sea_s3_files_managed_by_an_existing_rule_are_not_eligible() {
    let m = start().await;
    let t = m.demo();
    let tok = m.token(&t).await;
    m.recordings(&t.tenant_id, json!({"count": 4})).await;
    let keep = m
        .rule(
            &tok,
            json!({"name": "keep", "after_days": 0, "action": "keep", "priority": 1}),
        )
        .await;
    m.advance("1d").await;
    let tok = m.token(&t).await;
    m.rule(&tok, json!({"name": "copy", "after_days": 0, "action": "copy_to_sea"}))
        .await;
    m.advance("1d").await;
    assert_eq!(total(&m, &t, "tier=sea").await, 0);
    let all = files(&m, &t, "").await;
    for f in all["files"].as_array().expect("files") {
        assert_eq!(f["rule_id"], keep.as_str());
        assert_eq!(f["sea_refusals"][0]["reason"], "already_managed_by_another_rule");
    }
}

#[tokio::test]
async fn sea_s3_editing_a_rule_to_add_sea_affects_only_files_processed_afterwards() {
    let m = start().await;
    let t = m.demo();
    let tok = m.token(&t).await;
    m.recordings(&t.tenant_id, json!({"count": 3})).await;
    let id = m
        .rule(&tok, json!({"name": "r", "after_days": 0, "action": "keep"}))
        .await;
    m.advance("1d").await;
    let tok = m.token(&t).await;
    let r = m
        .api(Method::PUT, &format!("/api/v2/storage/lifecycle-rules/{id}"), &tok)
        .json(&json!({"name": "r", "after_days": 0, "action": "copy_to_sea"}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 200);
    m.recordings(&t.tenant_id, json!({"count": 2})).await;
    m.advance("1d").await;
    assert_eq!(
        total(&m, &t, "tier=sea").await,
        2,
        "only files claimed after the edit go to SEA"
    );
    let all = files(&m, &t, "limit=100").await;
    let old: Vec<&Value> = all["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter(|f| f["sea"].is_null())
        .collect();
    assert_eq!(old.len(), 3);
    for f in old {
        assert_eq!(f["sea_refusals"][0]["reason"], "processed_before_rule_was_edited");
    }
}

#[tokio::test]
async fn sea_s4_a_copied_file_is_placed_once_and_can_never_be_moved() {
    let m = start().await;
    let t = m.demo();
    let tok = m.token(&t).await;
    m.recordings(&t.tenant_id, json!({"count": 2})).await;
    let copy = m
        .rule(
            &tok,
            json!({"name": "copy", "after_days": 0, "action": "copy_to_sea", "priority": 1}),
        )
        .await;
    m.advance("1d").await;
    assert_eq!(total(&m, &t, "tier=sea").await, 2);
    let tok = m.token(&t).await;
    m.rule(
        &tok,
        json!({"name": "move", "after_days": 0, "action": "move_to_sea", "priority": 2}),
    )
    .await;
    m.advance("1d").await;
    let all = files(&m, &t, "").await;
    for f in all["files"].as_array().expect("files") {
        assert_eq!(f["sea"]["action"], "copied");
        assert_eq!(f["tier"], "active", "a copy leaves the file in active storage");
        assert_eq!(f["sea_refusals"][0]["reason"], "copied_file_cannot_be_moved");
    }
    // After expiry the copy is gone from SEA and never placed again, even by a new rule.
    let tok = m.token(&t).await;
    m.api(Method::DELETE, &format!("/api/v2/storage/lifecycle-rules/{copy}"), &tok)
        .send()
        .await
        .expect("delete");
    m.rule(
        &tok,
        json!({"name": "copy again", "after_days": 0, "action": "copy_to_sea"}),
    )
    .await;
    m.advance("31d").await;
    assert_eq!(total(&m, &t, "tier=sea").await, 0);
    assert_eq!(
        events(&m, "lifecycle.placed_in_sea").await.len(),
        2,
        "placed once, ever"
    );
}

#[tokio::test]
async fn sea_s4_a_moved_file_leaves_active_storage_and_never_comes_back() {
    let m = start().await;
    let t = m.demo();
    let tok = m.token(&t).await;
    m.recordings(&t.tenant_id, json!({"count": 3})).await;
    m.rule(&tok, json!({"name": "move", "after_days": 0, "action": "move_to_sea"}))
        .await;
    m.advance("1d").await;
    assert_eq!(total(&m, &t, "tier=active").await, 0);
    assert_eq!(total(&m, &t, "tier=sea").await, 3);
    m.advance("30d").await;
    assert_eq!(total(&m, &t, "tier=sea").await, 0);
    assert_eq!(
        total(&m, &t, "tier=active").await,
        0,
        "nothing moves back to active storage"
    );
    assert_eq!(total(&m, &t, "tier=deleted").await, 3);
    assert_eq!(events(&m, "sea.expired").await.len(), 3);
}

#[tokio::test]
async fn sea_s7_at_most_100000_files_a_day_enter_sea_and_the_backlog_drains_next() {
    let m = start().await;
    let t = m.demo();
    let tok = m.token(&t).await;
    assert_eq!(
        m.recordings(&t.tenant_id, json!({"count": 150_000, "media_types": ["VOICE"]}))
            .await,
        150_000
    );
    m.rule(&tok, json!({"name": "copy", "after_days": 0, "action": "copy_to_sea"}))
        .await;
    m.advance("1d").await;
    let b = backlog(&m, &t).await;
    assert_eq!(b["cap_per_day"], 100_000);
    assert_eq!(b["placed_today"], 100_000);
    assert_eq!(b["backlog"], 50_000);
    assert_eq!(total(&m, &t, "tier=sea").await, 100_000);
    // Files seeded on day 2 queue behind the backlog, which goes first.
    m.recordings(&t.tenant_id, json!({"count": 10, "media_types": ["SCREEN"]}))
        .await;
    m.advance("1d").await;
    let b = backlog(&m, &t).await;
    assert_eq!(b["backlog"], 0);
    assert_eq!(b["placed_today"], 50_010);
    assert_eq!(total(&m, &t, "tier=sea").await, 150_010);
}

#[tokio::test]
async fn sea_s7_backlog_order_is_first_claimed_first_placed() {
    let m = start().await;
    let t = m.demo();
    let tok = m.token(&t).await;
    m.recordings(&t.tenant_id, json!({"count": 100_005, "media_types": ["VOICE"]}))
        .await;
    m.rule(&tok, json!({"name": "copy", "after_days": 0, "action": "copy_to_sea"}))
        .await;
    m.advance("1d").await;
    m.recordings(&t.tenant_id, json!({"count": 100_000, "media_types": ["SCREEN"]}))
        .await;
    m.advance("1d").await;
    // Day 2: the 5 waiting VOICE files go before any of the new SCREEN files.
    assert_eq!(total(&m, &t, "tier=sea&media_type=VOICE").await, 100_005);
    assert_eq!(total(&m, &t, "tier=sea&media_type=SCREEN").await, 99_995);
    assert_eq!(backlog(&m, &t).await["backlog"], 5);
}

#[tokio::test]
async fn sea_s10_faster_sea_places_zero_day_files_within_minutes() {
    let m = start().await;
    let fast = m.tenant(json!({"name": "fast", "faster_sea": true})).await;
    let slow = m.demo();
    let (ft, st) = (m.token(&fast).await, m.token(&slow).await);
    for (t, tok) in [(&fast, &ft), (&slow, &st)] {
        m.rule(
            tok,
            json!({"name": "zero-day copy", "after_days": 0, "action": "copy_to_sea"}),
        )
        .await;
        m.recordings(&t.tenant_id, json!({"count": 4})).await;
    }
    m.advance("10m").await;
    assert_eq!(
        total(&m, &fast, "tier=sea").await,
        4,
        "Faster SEA places within minutes"
    );
    assert_eq!(
        total(&m, &slow, "tier=sea").await,
        0,
        "standard SEA waits for the daily run"
    );
    let placed = files(&m, &fast, "tier=sea").await;
    assert_eq!(placed["files"][0]["sea"]["placed_at"], "2026-01-01T00:05:00Z");
    m.advance("1d").await;
    assert_eq!(total(&m, &slow, "tier=sea").await, 4);
}

#[tokio::test]
async fn sea_s10_faster_sea_does_not_apply_to_rules_with_a_delay() {
    let m = start().await;
    let fast = m.tenant(json!({"name": "fast", "faster_sea": true})).await;
    let tok = m.token(&fast).await;
    m.rule(
        &tok,
        json!({"name": "two-day copy", "after_days": 2, "action": "copy_to_sea"}),
    )
    .await;
    m.recordings(
        &fast.tenant_id,
        json!({"count": 3, "start": "2025-12-31T12:00:00Z", "end": "2026-01-01T00:00:00Z"}),
    )
    .await;
    m.advance("1h").await;
    assert_eq!(total(&m, &fast, "tier=sea").await, 0);
    m.advance_to("2026-01-03T00:00:00Z").await;
    assert_eq!(total(&m, &fast, "tier=sea").await, 3);
}

#[tokio::test]
async fn sea_s11_files_in_sea_still_count_as_active_storage() {
    let m = start().await;
    let t = m.demo();
    let tok = m.token(&t).await;
    m.recordings(
        &t.tenant_id,
        json!({"count": 5, "start": "2025-12-31T00:00:00Z", "end": "2026-01-01T00:00:00Z"}),
    )
    .await;
    m.rule(&tok, json!({"name": "move", "after_days": 0, "action": "move_to_sea"}))
        .await;
    let before = usage(&m, &t).await;
    m.advance("1d").await;
    let placed = usage(&m, &t).await;
    assert_eq!(total(&m, &t, "tier=active").await, 0, "moved out of active storage");
    assert_eq!(
        placed["sea_bytes"], before["active_bytes"],
        "the same bytes, now in SEA"
    );
    assert_eq!(
        placed["active_bytes"], before["active_bytes"],
        "SEA is charged as active storage"
    );
    m.advance("1d").await;
    let later = usage(&m, &t).await;
    let bytes = later["sea_bytes"].as_f64().expect("bytes");
    let grew = later["active_byte_days"].as_f64().expect("f") - placed["active_byte_days"].as_f64().expect("f");
    assert!(
        (grew - bytes).abs() < 1e-6,
        "a day in SEA adds a day of its bytes: {grew} vs {bytes}"
    );
    m.advance("30d").await;
    assert_eq!(
        usage(&m, &t).await["active_bytes"],
        0,
        "expired from SEA: no longer charged"
    );
}

#[tokio::test]
async fn lifecycle_rules_crud_and_validation() {
    let m = start().await;
    let tok = m.token(&m.demo()).await;
    let id = m
        .rule(
            &tok,
            json!({"name": "a", "media_type": "VOICE", "after_days": 3, "action": "archive"}),
        )
        .await;
    let got: Value = m
        .api(Method::GET, &format!("/api/v2/storage/lifecycle-rules/{id}"), &tok)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(got["priority"], 100);
    assert_eq!(got["media_type"], "VOICE");
    for bad in [
        json!({"name": "x", "after_days": 0, "action": "teleport"}),
        json!({"name": "x", "after_days": -1, "action": "keep"}),
        json!({"name": "x", "after_days": 0, "action": "keep", "media_type": "FAX"}),
        json!({"name": "", "after_days": 0, "action": "keep"}),
        json!({"name": "x", "after_days": 0, "action": "keep", "colour": "red"}),
    ] {
        let r = m
            .api(Method::POST, "/api/v2/storage/lifecycle-rules", &tok)
            .json(&bad)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 400, "{bad}");
        let body: Value = r.json().await.expect("json");
        assert!(body["error"]["message"].as_str().is_some_and(|s| !s.is_empty()));
    }
    let list: Value = m
        .api(Method::GET, "/api/v2/storage/lifecycle-rules", &tok)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(
        list["rules"].as_array().map(Vec::len),
        Some(1),
        "bad input changed nothing"
    );
    let r = m
        .api(Method::DELETE, &format!("/api/v2/storage/lifecycle-rules/{id}"), &tok)
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 204);
    let r = m
        .api(Method::GET, &format!("/api/v2/storage/lifecycle-rules/{id}"), &tok)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn lifecycle_archive_and_delete_rules_act_after_their_days() {
    let m = start().await;
    let t = m.demo();
    let tok = m.token(&t).await;
    m.recordings(
        &t.tenant_id,
        json!({"count": 2, "media_types": ["VOICE"], "start": "2025-12-31T00:00:00Z", "end": "2026-01-01T00:00:00Z"}),
    )
    .await;
    m.recordings(
        &t.tenant_id,
        json!({"count": 2, "media_types": ["SCREEN"], "start": "2025-12-31T00:00:00Z", "end": "2026-01-01T00:00:00Z"}),
    )
    .await;
    m.rule(
        &tok,
        json!({"name": "archive voice", "media_type": "VOICE", "after_days": 3, "action": "archive"}),
    )
    .await;
    m.rule(
        &tok,
        json!({"name": "delete screen", "media_type": "SCREEN", "after_days": 3, "action": "delete"}),
    )
    .await;
    m.advance("2d").await;
    assert_eq!(total(&m, &t, "tier=active").await, 4);
    m.advance("2d").await;
    assert_eq!(total(&m, &t, "tier=long_term").await, 2);
    assert_eq!(total(&m, &t, "tier=deleted").await, 2);
    assert_eq!(total(&m, &t, "tier=active").await, 0);
}
