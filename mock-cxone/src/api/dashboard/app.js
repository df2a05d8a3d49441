// mock-cxone dashboard (docs/dashboard.md). Plain ES module, no framework, no build step: the
// binary serves this file as is. Everything comes from the control API (`/_mock`), so the page
// needs no bearer token and keeps working through a maintenance window; when the mock has an
// admin token, `/_mock` answers 401 and the page asks for it (kept in sessionStorage).
//
// Data is rendered with DOM nodes and textContent only (never innerHTML), and styles are set
// through the CSSOM: the page's Content-Security-Policy allows no inline markup or style.

const REFRESH_MS = 3000;
const TOKEN_KEY = "mock-cxone-admin-token";
const STATUSES = ["PENDING", "RUNNING", "COMPLETED", "FAILED", "TIMED_OUT"];
const MAX_FAULT_ROWS = 300;
const OBJECTS_SHOWN = 4;
const HOUR = 3600e3;
const DAY = 24 * HOUR;
const SEA_DAYS = 30;

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  overview: null,
  clock: null,            // {now: Date, mode, fetchedAt: performance.now()}
  seaTenant: null,
  seaChosen: false,       // the user picked the SEA tenant (else: the first with SEA objects)
  sea: null,
  windowHours: 48,
  timeline: null,
  selectedJob: null,
  faults: [],             // newest first
  faultSince: 0,
  faultRules: [],
  refreshing: false,
  advancing: false,
  needToken: false,
  lastNow: null,
};

// ---- Small helpers -----------------------------------------------------------------------

function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return e;
}

const $ = (sel) => document.querySelector(sel);
const pad = (n) => String(n).padStart(2, "0");
const fmtInt = (n) => Number(n || 0).toLocaleString("en-US");

function fmtBytes(n) {
  n = Number(n || 0);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

// "2026-01-02 00:00:00 UTC"
function fmtClock(d) {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}

// "01-02 13:00"
function fmtShort(s) {
  const d = new Date(s);
  return `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

function fmtSpan(ms) {
  if (ms <= 0) return "now";
  const m = Math.floor(ms / 60e3);
  const d = Math.floor(m / 1440), hh = Math.floor((m % 1440) / 60), mm = m % 60;
  if (d > 0) return `${d}d ${hh}h ${pad(mm)}m`;
  if (hh > 0) return `${hh}h ${pad(mm)}m`;
  return `${mm}m ${pad(Math.floor((ms % 60e3) / 1e3))}s`;
}

// The mock's now: frozen clocks stand still, running ones move with the wall clock between reads.
function mockNow() {
  if (!state.clock) return new Date();
  if (state.clock.mode === "frozen") return state.clock.now;
  return new Date(state.clock.now.getTime() + (performance.now() - state.clock.fetchedAt));
}

let toastTimer = null;
function toast(text) {
  const t = $("#toast");
  t.textContent = text;
  t.classList.remove("hidden");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.add("hidden"), 2200);
}

function banner(text) {
  const b = $("#banner");
  b.textContent = text || "";
  b.classList.toggle("hidden", !text);
}

// ---- Control API ---------------------------------------------------------------------------

class ApiFailure extends Error {
  constructor(status, body, path) {
    const msg = body && body.error && body.error.message ? body.error.message : `HTTP ${status}`;
    super(`${path}: ${msg}`);
    this.status = status;
    this.body = body;
  }
}

class NeedToken extends Error {}

async function api(path, opts = {}) {
  const headers = new Headers(opts.headers || {});
  if (state.token) headers.set("Authorization", `Bearer ${state.token}`);
  const r = await fetch(path, { ...opts, headers, cache: "no-store" });
  if (r.status === 401 && path.startsWith("/_mock")) {
    askToken(state.token ? "The admin token was refused: enter the one the mock printed at start." : null);
    throw new NeedToken("admin token needed");
  }
  return r;
}

async function apiJson(path, opts) {
  const r = await api(path, opts);
  let body = null;
  try { body = await r.json(); } catch { body = null; }
  if (!r.ok) throw new ApiFailure(r.status, body, path);
  return body;
}

// ---- Admin token -----------------------------------------------------------------------------

function askToken(message) {
  state.needToken = true;
  updateTokenButton();
  const dlg = $("#token-dialog");
  if (dlg.open) return;
  if (message) toast(message);
  $("#token-input").value = "";
  dlg.showModal();
  $("#token-input").focus();
}

function updateTokenButton() {
  const b = $("#token-button");
  b.classList.toggle("locked", state.needToken && !state.token);
  b.textContent = state.token ? "admin token ✓" : "admin token";
}

function setupToken() {
  const dlg = $("#token-dialog");
  $("#token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = $("#token-input").value.trim();
    if (!v) return;
    state.token = v;
    sessionStorage.setItem(TOKEN_KEY, v);
    state.needToken = false;
    dlg.close();
    updateTokenButton();
    refresh();
  });
  $("#token-cancel").addEventListener("click", () => dlg.close());
  $("#token-button").addEventListener("click", () => {
    $("#token-input").value = state.token || "";
    dlg.showModal();
  });
  updateTokenButton();
}

// ---- Objects: links that open, paths that copy --------------------------------------------

function parseS3(uri) {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri || "");
  return m ? { bucket: m[1], key: m[2] } : null;
}

function objectHref(bucket, key) {
  return `/_mock/dashboard/object?bucket=${encodeURIComponent(bucket)}&key=${encodeURIComponent(key)}`;
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API refused (permissions): the old way.
    const ta = h("textarea", { class: "hidden" });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    document.execCommand("copy");
    ta.remove();
  }
  toast(`copied ${text}`);
}

function copyButton(text) {
  return h("button", { type: "button", class: "copy", title: `copy ${text}`, onclick: () => copyText(text) }, "copy");
}

// Types a blob opened from this page may have: a blob URL has the page's origin, so anything
// that could run script (HTML, SVG, XML) is shown as text or downloaded instead.
function safeBlobType(type) {
  const t = (type || "").split(";")[0].trim().toLowerCase();
  if (t.startsWith("video/") || t.startsWith("audio/")) return t;
  if (t === "application/json" || t.startsWith("text/")) return "text/plain";
  return "application/octet-stream";
}

// With an admin token a plain link cannot carry the header: fetch, then open the bytes.
async function openWithToken(ev, href) {
  if (!state.token) return; // the plain link works
  ev.preventDefault();
  try {
    const r = await api(href);
    if (!r.ok) {
      let body = null;
      try { body = await r.json(); } catch { body = null; }
      toast(body && body.error ? body.error.message : `HTTP ${r.status}`);
      return;
    }
    const buf = await r.arrayBuffer();
    const blob = new Blob([buf], { type: safeBlobType(r.headers.get("content-type")) });
    window.open(URL.createObjectURL(blob), "_blank", "noopener");
  } catch (e) {
    if (!(e instanceof NeedToken)) toast(String(e.message || e));
  }
}

// One object: a link to the read-only view when the mock holds it, else its path to copy.
function objectItem(uri, external) {
  const o = parseS3(uri);
  if (!o) return h("li", {}, h("span", { class: "object-path", title: uri }, uri), copyButton(uri));
  if (external) {
    return h("li", {},
      h("span", { class: "object-path", title: uri }, uri),
      h("span", { class: "tag ext", title: "written to an external S3 endpoint: open it there" }, "external"),
      copyButton(uri));
  }
  const href = objectHref(o.bucket, o.key);
  return h("li", {},
    h("a", { class: "object-link", href, target: "_blank", rel: "noopener", title: `open ${uri}`,
      dataset: { uri }, onclick: (ev) => openWithToken(ev, href) }, uri),
    copyButton(uri));
}

function objectList(uris, external) {
  const list = h("ul", { class: "objects" });
  const all = uris || [];
  all.slice(0, OBJECTS_SHOWN).forEach((u) => list.append(objectItem(u, external)));
  if (all.length > OBJECTS_SHOWN) {
    const more = h("li", {}, h("a", { href: "#", class: "more", onclick: (ev) => {
      ev.preventDefault();
      more.remove();
      all.slice(OBJECTS_SHOWN).forEach((u) => list.append(objectItem(u, external)));
    } }, `+ ${all.length - OBJECTS_SHOWN} more`));
    list.append(more);
  }
  return list;
}

function isExternalDownload(downloadId) {
  const d = (state.overview?.downloads || []).find((x) => x.id === downloadId);
  // Another S3 endpoint, or Azure Blob Storage (its files are blob URLs, shown as paths to copy).
  return !!(d && d.destination && (d.destination.endpoint || d.destination.type === "azure_blob"));
}

// ---- Clock -----------------------------------------------------------------------------------

function renderClock() {
  if (!state.clock) return;
  $("#clock-now").textContent = fmtClock(mockNow());
  const mode = $("#clock-mode");
  mode.textContent = state.clock.mode;
  mode.className = `badge ${state.clock.mode}`;
}

async function advance(by, button) {
  if (state.advancing) return;
  state.advancing = true;
  const buttons = document.querySelectorAll(".advance button");
  buttons.forEach((b) => { b.disabled = true; });
  $("#advance-state").textContent = `advancing ${by}…`;
  const started = performance.now();
  try {
    const c = await apiJson("/_mock/clock/advance", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ by }),
    });
    setClock(c);
    $("#advance-state").textContent = `+${by} in ${((performance.now() - started) / 1000).toFixed(1)} s`;
    await refresh(true);
  } catch (e) {
    if (!(e instanceof NeedToken)) {
      $("#advance-state").textContent = "advance failed";
      toast(String(e.message || e));
    } else {
      $("#advance-state").textContent = "";
    }
  } finally {
    state.advancing = false;
    buttons.forEach((b) => { b.disabled = false; });
    button?.blur();
  }
}

function setClock(c) {
  const now = new Date(c.now);
  if (state.lastNow && now < state.lastNow) resetLedger(); // the mock was reset
  state.lastNow = now;
  state.clock = { now, mode: c.mode, fetchedAt: performance.now() };
  renderClock();
}

// ---- KPIs and tenants ----------------------------------------------------------------------

function kpi(label, value, cls, id) {
  return h("div", { class: `kpi ${cls || ""}`, id }, h("div", { class: "v" }, value), h("div", { class: "k" }, label));
}

function renderKpis() {
  const o = state.overview;
  const el = $("#kpis");
  if (!o) return;
  let objects = 0, bytes = 0, backlog = 0, faults = 0;
  const jobs = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  for (const t of o.tenants) {
    objects += t.sea.objects; bytes += t.sea.bytes; backlog += t.sea.backlog;
    for (const n of Object.values(t.faults_fired)) faults += n;
    for (const [s, cats] of Object.entries(t.jobs)) for (const n of Object.values(cats)) jobs[s] = (jobs[s] || 0) + n;
  }
  const failed = (jobs.FAILED || 0) + (jobs.TIMED_OUT || 0);
  el.replaceChildren(
    kpi("tenants", fmtInt(o.tenants.length), "", "kpi-tenants"),
    kpi(`SEA objects · ${fmtBytes(bytes)}`, fmtInt(objects), "good", "kpi-sea"),
    kpi("SEA backlog (daily cap)", fmtInt(backlog), backlog ? "warn" : "", "kpi-backlog"),
    kpi(`downloads`, fmtInt(o.downloads.length), "", "kpi-downloads"),
    kpi("jobs completed", fmtInt(jobs.COMPLETED), "good", "kpi-completed"),
    kpi("jobs pending / running", `${fmtInt(jobs.PENDING)} / ${fmtInt(jobs.RUNNING)}`, "", "kpi-open"),
    kpi("jobs failed / timed out", fmtInt(failed), failed ? "bad" : "", "kpi-failed"),
    kpi("faults fired", fmtInt(faults), faults ? "bad" : "", "kpi-faults"),
  );
}

function statusChips(jobs) {
  const counts = {};
  for (const [s, cats] of Object.entries(jobs || {})) counts[s] = Object.values(cats).reduce((a, b) => a + b, 0);
  const chips = STATUSES.filter((s) => counts[s]).map((s) =>
    h("span", { class: `chip s-${s}`, title: `${s}: ${Object.entries(jobs[s]).map(([c, n]) => `${c} ${n}`).join(", ")}` },
      `${s.toLowerCase().replace("_", " ")} ${fmtInt(counts[s])}`));
  return h("div", { class: "chips" }, chips.length ? chips : h("span", { class: "muted" }, "none"));
}

function renderTenants() {
  const o = state.overview;
  const body = $("#tenants tbody");
  if (!o) return;
  if (!o.tenants.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 7, class: "empty" }, "no tenants")));
    return;
  }
  body.replaceChildren(...o.tenants.map((t) => {
    const cap = t.sea.cap_per_day || 1;
    const frac = Math.min(1, t.sea.placed_today / cap);
    const bar = h("div", { class: `capbar ${frac >= 1 ? "full" : ""}`, title: `${fmtInt(t.sea.placed_today)} of ${fmtInt(cap)} files placed today (S7)` }, h("span"));
    // A sliver stays visible for a few files out of 100,000.
    bar.firstChild.style.width = `${t.sea.placed_today > 0 ? Math.max(2, frac * 100).toFixed(2) : 0}%`;
    const fired = Object.entries(t.faults_fired);
    const firedTotal = fired.reduce((a, [, n]) => a + n, 0);
    return h("tr", {
      class: t.tenant_id === state.seaTenant ? "selected" : "",
      dataset: { tenant: t.tenant_id },
      onclick: () => selectTenant(t.tenant_id),
    },
      h("td", {}, h("span", { class: "tname" }, t.name), t.faster_sea ? h("span", { class: "tag" }, "faster SEA") : null,
        h("div", { class: "tid" }, t.tenant_id)),
      h("td", { class: "num sea-objects" }, fmtInt(t.sea.objects)),
      h("td", { class: "num" }, fmtBytes(t.sea.bytes)),
      h("td", { class: "num backlog" }, t.sea.backlog ? h("span", { class: "tag warn" }, fmtInt(t.sea.backlog)) : "0"),
      h("td", {}, bar, h("div", { class: "caplabel" }, `${fmtInt(t.sea.placed_today)} / ${fmtInt(cap)}`)),
      h("td", {}, statusChips(t.jobs)),
      h("td", { title: fired.map(([k, n]) => `${k}: ${n}`).join("\n") },
        firedTotal ? h("div", { class: "chips" }, fired.map(([k, n]) => h("span", { class: "chip plain" }, `${k} ${n}`)))
          : h("span", { class: "muted" }, "none")),
    );
  }));
}

function selectTenant(id) {
  state.seaChosen = true;
  if (state.seaTenant === id) return;
  state.seaTenant = id;
  $("#sea-tenant").value = id;
  renderTenants();
  loadSea().catch(reportError);
}

// ---- SEA folder --------------------------------------------------------------------------------

function renderSeaSelect() {
  const o = state.overview;
  const sel = $("#sea-tenant");
  if (!o) return;
  const ids = o.tenants.map((t) => t.tenant_id);
  if (!state.seaChosen || !ids.includes(state.seaTenant)) {
    // Until the user picks one: the first tenant with SEA objects, else the first.
    const withSea = o.tenants.find((t) => t.sea.objects > 0);
    state.seaTenant = (withSea || o.tenants[0] || {}).tenant_id || null;
  }
  const current = Array.from(sel.options).map((x) => x.value).join("\n");
  if (current !== ids.join("\n")) {
    sel.replaceChildren(...o.tenants.map((t) => h("option", { value: t.tenant_id }, `${t.name} (${t.tenant_id})`)));
  }
  if (state.seaTenant) sel.value = state.seaTenant;
}

async function loadSea() {
  if (!state.seaTenant) { state.sea = null; renderSea(); return; }
  const tenant = state.seaTenant;
  const sea = await apiJson(`/_mock/dashboard/tenants/${encodeURIComponent(tenant)}/sea?limit=200`);
  if (tenant === state.seaTenant) { state.sea = sea; renderSea(); }
}

function countdown(expiresAt) {
  const left = new Date(expiresAt).getTime() - mockNow().getTime();
  const frac = Math.max(0, Math.min(1, left / (SEA_DAYS * DAY)));
  const cls = left < DAY ? "urgent" : left < 7 * DAY ? "soon" : "";
  const bar = h("span", { class: "bar" }, h("span"));
  bar.firstChild.style.width = `${(frac * 100).toFixed(1)}%`;
  return h("div", { class: `countdown ${cls}`, title: `expires ${expiresAt}` }, bar, h("span", { class: "left" }, fmtSpan(left)));
}

function renderSea() {
  const body = $("#sea tbody");
  const sea = state.sea;
  if (!sea) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 7, class: "empty" }, "no tenant")));
    $("#sea-location").replaceChildren();
    $("#sea-footer").textContent = "";
    return;
  }
  const loc = `s3://${sea.bucket}/${sea.prefix}`;
  $("#sea-location").replaceChildren(h("span", { class: "object-path" }, loc), " ", copyButton(loc));
  if (!sea.files.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 7, class: "empty" },
      "empty: nothing placed yet (an empty SEA folder answers AccessDenied, S6)")));
  } else {
    body.replaceChildren(...sea.files.map((f) => {
      const href = objectHref(sea.bucket, f.key);
      return h("tr", { dataset: { key: f.key } },
        h("td", { class: "file" }, h("a", { class: "object-link", href, target: "_blank", rel: "noopener",
          title: `open s3://${sea.bucket}/${f.key}`, onclick: (ev) => openWithToken(ev, href) }, f.name)),
        h("td", {}, f.media_type),
        h("td", {}, f.action),
        h("td", { class: "num" }, fmtBytes(f.size)),
        h("td", {}, fmtShort(f.placed_at)),
        h("td", {}, fmtShort(f.expires_at)),
        h("td", { class: "expiry", dataset: { expires: f.expires_at } }, countdown(f.expires_at)),
      );
    }));
  }
  const t = (state.overview?.tenants || []).find((x) => x.tenant_id === sea.tenant_id);
  const total = t ? t.sea.objects : sea.files.length;
  $("#sea-footer").textContent = sea.truncated
    ? `showing the ${fmtInt(sea.files.length)} soonest to expire of ${fmtInt(total)} live objects`
    : `${fmtInt(sea.files.length)} live object${sea.files.length === 1 ? "" : "s"}`;
}

// Countdowns move with a running clock between refreshes.
function tickCountdowns() {
  renderClock();
  if (!state.clock || state.clock.mode === "frozen") return;
  document.querySelectorAll("#sea td.expiry").forEach((td) => td.replaceChildren(countdown(td.dataset.expires)));
}

// ---- Jobs timeline --------------------------------------------------------------------------

function timelineWindow() {
  const now = mockNow().getTime();
  const until = Math.floor(now / HOUR) * HOUR + 2 * HOUR;
  return { from: until - state.windowHours * HOUR, until };
}

async function loadTimeline() {
  const w = timelineWindow();
  const q = `from=${encodeURIComponent(new Date(w.from).toISOString())}&until=${encodeURIComponent(new Date(w.until).toISOString())}`;
  const tl = await apiJson(`/_mock/dashboard/jobs?${q}`);
  state.timeline = { ...tl, fromMs: w.from, untilMs: w.until };
  renderTimeline();
}

function renderLegend() {
  $("#legend").replaceChildren(...STATUSES.map((s) =>
    h("span", {}, h("span", { class: `sw s-${s}` }), s.toLowerCase().replace("_", " "))),
    h("span", { class: "muted" }, "striped: manual export"));
}

function pct(ms, tl) {
  return ((ms - tl.fromMs) / (tl.untilMs - tl.fromMs)) * 100;
}

function axisRow(tl) {
  const track = h("div", { class: "tl-track tl-axis" });
  const hours = state.windowHours;
  const step = hours <= 24 ? 3 : hours <= 48 ? 6 : 24;
  for (let t = tl.fromMs; t <= tl.untilMs; t += HOUR) {
    const d = new Date(t);
    if (d.getUTCHours() === 0) {
      const bar = h("div", { class: "tl-daybar" });
      bar.style.left = `${pct(t, tl)}%`;
      track.append(bar);
    }
    if (d.getUTCHours() % step !== 0 || t === tl.fromMs) continue;
    const day = d.getUTCHours() === 0;
    const label = day ? `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` : `${pad(d.getUTCHours())}:00`;
    const tick = h("div", { class: `tl-tick ${day ? "day" : ""}` }, label);
    tick.style.left = `${pct(t, tl)}%`;
    track.append(tick);
  }
  return h("div", { class: "tl-row" }, h("div", { class: "tl-label" }, "UTC (interval time)"), track);
}

function nowLine(tl, withLabel) {
  const now = mockNow().getTime();
  if (now < tl.fromMs || now > tl.untilMs) return null;
  const line = h("div", { class: "tl-now", title: `mock now ${fmtClock(new Date(now))}` });
  line.style.left = `${pct(now, tl)}%`;
  if (!withLabel) return line;
  const label = h("div", { class: "tl-now-label" }, "now");
  label.style.left = `${pct(now, tl)}%`;
  return [line, label];
}

function jobTitle(j) {
  return [`${j.status} · ${j.category} (${j.kind})`, `interval ${fmtShort(j.interval_start)} → ${fmtShort(j.interval_end)}`,
    `start ${fmtShort(j.start_time)}${j.end_time ? ` · end ${fmtShort(j.end_time)}` : ""}`,
    `${fmtInt(j.record_count)} records · ${j.output_files.length} files`, j.error_details || "", j.id].filter(Boolean).join("\n");
}

function renderTimeline() {
  const tl = state.timeline;
  const root = $("#timeline");
  if (!tl) return;
  const rows = [...tl.downloads].sort((a, b) => a.category.localeCompare(b.category) || a.download_id.localeCompare(b.download_id));
  if (!rows.length) {
    root.replaceChildren(h("div", { class: "tl-empty" }, "no downloads yet: create one (POST /api/v2/data-downloads) or load a scenario"));
    renderJobDetails();
    return;
  }
  const tenants = new Map((state.overview?.tenants || []).map((t) => [t.tenant_id, t.name]));
  const out = [axisRow(tl)];
  const gridSize = `${(100 / state.windowHours).toFixed(5)}% 100%`;
  let first = true;
  for (const row of rows) {
    // Lanes: a job goes in the first lane whose last job ended before it starts.
    const lanes = [];
    const placed = [];
    const jobs = [...row.jobs].sort((a, b) => a.interval_start.localeCompare(b.interval_start) || a.id.localeCompare(b.id));
    for (const j of jobs) {
      const s = Date.parse(j.interval_start), e = Date.parse(j.interval_end);
      let lane = lanes.findIndex((end) => end <= s);
      if (lane < 0) { lane = lanes.length; lanes.push(e); } else lanes[lane] = e;
      placed.push({ j, s, e, lane });
    }
    const track = h("div", { class: "tl-track", dataset: { download: row.download_id } });
    track.style.backgroundSize = gridSize;
    track.style.height = `${Math.max(1, lanes.length) * 19 + 10}px`;
    for (const { j, s, e, lane } of placed) {
      const left = Math.max(0, pct(s, tl));
      const right = Math.min(100, pct(e, tl));
      const block = h("div", {
        class: `job s-${j.status} ${j.kind === "manual" ? "manual" : ""} ${state.selectedJob === j.id ? "selected" : ""}`,
        title: jobTitle(j),
        role: "button",
        tabindex: "0",
        dataset: { jobId: j.id, status: j.status, category: j.category, intervalStart: j.interval_start },
        onclick: () => { state.selectedJob = j.id; renderTimeline(); },
      });
      block.style.left = `${left}%`;
      block.style.width = `calc(${Math.max(0, right - left)}% - 1px)`;
      block.style.top = `${5 + lane * 19}px`;
      track.append(block);
    }
    const nl = nowLine(tl, first);
    if (nl) track.append(...[nl].flat());
    first = false;
    const status = row.status === "active" ? null : h("span", { class: "tag bad", title: "a refused write paused it (D8): PUT the download to resume" }, row.status.replace("_", " "));
    const ext = isExternalDownload(row.download_id) ? h("span", { class: "tag ext" }, "external") : null;
    out.push(h("div", { class: "tl-row" },
      h("div", { class: "tl-label" },
        h("div", {}, h("span", { class: "cat" }, row.category), status, ext, row.truncated ? h("span", { class: "tag warn" }, "truncated") : null),
        h("div", { class: "dl", title: row.download_id }, `${tenants.get(row.tenant_id) || row.tenant_id} · ${row.download_id}`)),
      track));
  }
  root.replaceChildren(...out);
  renderJobDetails();
}

function findJob(id) {
  for (const row of state.timeline?.downloads || []) {
    const j = row.jobs.find((x) => x.id === id);
    if (j) return j;
  }
  return null;
}

function renderJobDetails() {
  const box = $("#job-details");
  const j = state.selectedJob ? findJob(state.selectedJob) : null;
  if (!j) { box.classList.add("hidden"); box.replaceChildren(); state.jobShown = null; return; }
  // Unchanged since the last refresh: keep the panel (and any list the user expanded).
  const key = JSON.stringify(j);
  if (key === state.jobShown && !box.classList.contains("hidden")) return;
  state.jobShown = key;
  const external = isExternalDownload(j.download_id);
  const dl = h("dl", {},
    h("dt", {}, "download"), h("dd", { class: "ids" }, j.download_id),
    h("dt", {}, "interval"), h("dd", {}, `${j.interval_start} → ${j.interval_end}`),
    h("dt", {}, "start / end"), h("dd", {}, `${j.start_time} → ${j.end_time || "(not ended)"}`),
    h("dt", {}, "records"), h("dd", {}, `${fmtInt(j.record_count)}${Object.keys(j.record_counts).length ? ` (${Object.entries(j.record_counts).map(([k, v]) => `${k}: ${fmtInt(v)}`).join(", ")})` : ""}`),
    j.error_details ? [h("dt", {}, "error"), h("dd", { class: "error-details" }, j.error_details)] : null,
    h("dt", {}, `files (${j.output_files.length})`), h("dd", {}, j.output_files.length ? objectList(j.output_files, external) : "none yet"),
    h("dt", {}, `manifests (${j.manifests.length})`), h("dd", {}, j.manifests.length ? objectList(j.manifests, external) : "none yet"),
  );
  box.replaceChildren(
    h("h3", {}, h("span", { class: `chip s-${j.status}` }, j.status), `${j.category} job`, h("span", { class: "ids" }, j.id),
      h("button", { type: "button", class: "ghost-dark close", onclick: () => { state.selectedJob = null; renderTimeline(); } }, "close")),
    dl);
  box.classList.remove("hidden");
}

// ---- Fault ledger -----------------------------------------------------------------------------

function resetLedger() {
  state.faults = [];
  state.faultSince = 0;
  state.faultsRendered = false;
  state.selectedJob = null;
}

async function loadFaults() {
  let fresh = [];
  for (let page = 0; page < 20; page++) {
    const v = await apiJson(`/_mock/events?kind=fault&since=${state.faultSince}&limit=1000`);
    fresh = fresh.concat(v.events);
    const more = v.events.length === 1000;
    state.faultSince = v.next_since;
    if (!more) break;
  }
  const rules = await apiJson("/_mock/faults");
  const rulesKey = JSON.stringify(rules.faults || []);
  // Re-rendered only when something changed, so an opened "detail" stays open.
  if (!fresh.length && rulesKey === state.faultRulesKey && state.faultsRendered) return;
  state.faultRules = rules.faults || [];
  state.faultRulesKey = rulesKey;
  if (fresh.length) {
    const firstLoad = state.faults.length === 0;
    fresh.forEach((e) => { e.fresh = !firstLoad; });
    state.faults = fresh.reverse().concat(state.faults).slice(0, MAX_FAULT_ROWS);
  }
  renderFaults();
  state.faultsRendered = true;
}

function summary(detail) {
  const d = { ...(detail || {}) };
  delete d.kind;
  const files = d.files;
  delete d.files;
  const head = d.effect ? String(d.effect) : Object.entries(d).slice(0, 3).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ");
  const full = h("details", {}, h("summary", {}, "detail"), h("pre", {}, JSON.stringify(detail, null, 2)));
  return h("div", { class: "what" }, head || "", files ? h("span", { class: "muted" }, ` (${files.length} file${files.length === 1 ? "" : "s"})`) : null, full);
}

function renderFaults() {
  const body = $("#faults tbody");
  const rules = state.faultRules;
  $("#fault-rules").textContent = rules.length
    ? `${rules.length} rule${rules.length === 1 ? "" : "s"}: ${rules.map((r) => `${r.kind} ×${r.fired}`).join(" · ")}`
    : "no fault rules (faults are off until a scenario or POST /_mock/faults adds one)";
  if (!state.faults.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 6, class: "empty" }, "no fault has fired")));
    return;
  }
  const tenants = new Map((state.overview?.tenants || []).map((t) => [t.tenant_id, t.name]));
  body.replaceChildren(...state.faults.map((e) => {
    const kind = (e.detail && e.detail.kind) || "fault";
    const row = h("tr", { class: `fault ${e.fresh ? "fresh" : ""}`, dataset: { seq: e.seq, kind } },
      h("td", { class: "at" }, fmtShort(e.at)),
      h("td", {}, h("span", { class: "fkind" }, kind)),
      h("td", { class: "ids" }, e.fault_id || ""),
      h("td", { class: "ids" },
        e.tenant_id ? h("div", {}, `${tenants.get(e.tenant_id) || ""} ${e.tenant_id}`) : null,
        e.download_id ? h("div", {}, e.download_id) : null,
        e.job_id ? h("div", {}, h("a", { class: "job-link", href: "#timeline", title: "show the job", onclick: (ev) => { ev.preventDefault(); showJob(e.job_id); } }, e.job_id)) : null),
      h("td", {}, summary(e.detail)),
      h("td", {}, e.objects && e.objects.length ? objectList(e.objects, isExternalDownload(e.download_id)) : h("span", { class: "muted" }, "none")),
    );
    e.fresh = false;
    return row;
  }));
}

function showJob(id) {
  state.selectedJob = id;
  renderTimeline();
  if (!findJob(id)) toast("that job is outside the timeline's window: widen it");
  $("#timeline-card").scrollIntoView({ behavior: "smooth" });
}

// ---- Scenario loader ----------------------------------------------------------------------

const EXAMPLE = `# A demo: a tenant with recordings copied to SEA, an hourly telephony export, and a fault.
[scenario]
name = "dashboard-demo"

[[tenants]]
name = "acme"

[[recordings]]
tenant = "acme"
count = 12

[[lifecycle_rules]]
tenant = "acme"
name = "copy to SEA"
after_days = 0
action = "copy_to_sea"

[[downloads]]
tenant = "acme"
name = "acme-telephony"
category = "telephony"
data_types = ["cdr"]
destination = { type = "aws_s3", bucket = "acme-data-lake", prefix = "exports/" }

[[faults]]
kind = "duplicate_manifest"
download = "acme-telephony"
next_jobs = 2
`;

function scenarioResult(node, ok) {
  const r = $("#scenario-result");
  r.className = `result ${ok ? "ok" : "err"}`;
  r.replaceChildren(node);
}

// Puts the caret on the line an error names.
function selectLine(line) {
  const ta = $("#scenario-text");
  const lines = ta.value.split("\n");
  if (!line || line > lines.length) return;
  const start = lines.slice(0, line - 1).reduce((a, l) => a + l.length + 1, 0);
  ta.focus();
  ta.setSelectionRange(start, start + lines[line - 1].length);
}

async function loadScenario() {
  const text = $("#scenario-text").value;
  if (!text.trim()) { scenarioResult(document.createTextNode("paste or choose a scenario file first"), false); return; }
  const button = $("#scenario-load");
  button.disabled = true;
  scenarioResult(document.createTextNode("loading…"), true);
  try {
    const r = await api("/_mock/scenarios", { method: "POST", headers: { "Content-Type": "application/toml" }, body: text });
    let body = null;
    try { body = await r.json(); } catch { body = null; }
    if (r.ok) {
      const parts = [
        `${(body.tenants || []).length} tenant(s)`, `${(body.downloads || []).length} download(s)`,
        `${(body.faults || []).length} fault rule(s)`, `${(body.timeline || []).length} timeline entr${(body.timeline || []).length === 1 ? "y" : "ies"}`,
      ];
      scenarioResult(h("span", { id: "scenario-ok" }, `loaded "${body.scenario}": ${parts.join(", ")}; clock now ${body.now}`), true);
      await refresh(true);
    } else {
      const err = (body && body.error) || {};
      const pos = err.line ? h("span", { class: "pos", id: "scenario-error-pos" }, `line ${err.line}, column ${err.column}`) : null;
      scenarioResult(h("span", { id: "scenario-error" }, pos, `${r.status} ${err.code || ""}: ${err.message || r.statusText}`), false);
      if (err.line) selectLine(err.line);
    }
  } catch (e) {
    if (!(e instanceof NeedToken)) scenarioResult(document.createTextNode(String(e.message || e)), false);
  } finally {
    button.disabled = false;
  }
}

function setupScenario() {
  $("#scenario-load").addEventListener("click", loadScenario);
  $("#scenario-example").addEventListener("click", () => { $("#scenario-text").value = EXAMPLE; });
  $("#scenario-file").addEventListener("change", async (ev) => {
    const f = ev.target.files && ev.target.files[0];
    if (f) $("#scenario-text").value = await f.text();
  });
}

// ---- Refresh loop -------------------------------------------------------------------------

function reportError(e) {
  if (e instanceof NeedToken) return;
  banner(`Cannot read the mock: ${e.message || e}`);
}

async function refresh(force) {
  if (state.refreshing && !force) return;
  if (state.needToken && !state.token) return;
  state.refreshing = true;
  try {
    const o = await apiJson("/_mock/dashboard/overview");
    setClock(o);
    state.overview = o;
    renderKpis();
    renderSeaSelect();
    renderTenants();
    await Promise.all([loadSea(), loadTimeline(), loadFaults()]);
    banner(null);
    const t = new Date();
    $("#refresh-state").textContent = `updated ${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  } catch (e) {
    reportError(e);
    $("#refresh-state").textContent = "not updated";
  } finally {
    state.refreshing = false;
  }
}

function setup() {
  setupToken();
  setupScenario();
  renderLegend();
  document.querySelectorAll(".advance button").forEach((b) => b.addEventListener("click", () => advance(b.dataset.by, b)));
  document.querySelectorAll("#window-buttons button").forEach((b) => b.addEventListener("click", () => {
    state.windowHours = Number(b.dataset.hours);
    document.querySelectorAll("#window-buttons button").forEach((x) => x.classList.toggle("on", x === b));
    loadTimeline().catch(reportError);
  }));
  $("#sea-tenant").addEventListener("change", (ev) => selectTenant(ev.target.value));
  refresh();
  setInterval(() => { if ($("#auto-refresh").checked && !document.hidden) refresh(); }, REFRESH_MS);
  setInterval(tickCountdowns, 1000);
}

setup();
