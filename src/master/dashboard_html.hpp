// dashboard_html.hpp: the page the stats endpoint serves at / (DESIGN.md §6).
// Self-contained HTML, CSS and JS (no external assets): it polls stats.json,
// keeps five minutes of samples to compute rates and draw sparklines, and
// updates the DOM in place. An entry point's card lists its routes in match
// order with their hits. Only stats_server.cpp includes it.
#pragma once
#include <string_view>

namespace ep::master {

inline constexpr std::string_view kDashboardHtml = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>easyproxy</title>
<link rel="icon" href="data:,">
<style>
:root {
  --bg: #f3f5f8; --card: #fff; --fg: #1b2230; --muted: #687286; --line: #e2e6ed; --soft: #f7f8fb;
  --up: #15965a; --down: #d33a3a; --drain: #d48806; --maint: #8b4fd0; --unk: #8a93a6;
  --conn: #15965a; --in: #2d7be0; --out: #e06a2c;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #12151a; --card: #1b1f26; --fg: #e4e8ef; --muted: #98a2b5; --line: #2b313c; --soft: #20252d;
    --up: #2cb874; --down: #f05b5b; --drain: #f0a92a; --maint: #a97be8; --unk: #7c8598;
    --conn: #2cb874; --in: #5b9cf0; --out: #f08a50;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif; }
header { position: sticky; top: 0; z-index: 2; background: var(--card); border-bottom: 1px solid var(--line);
  padding: 10px 16px; display: flex; flex-wrap: wrap; align-items: center; gap: 4px 20px; }
header h1 { margin: 0; font-size: 18px; letter-spacing: .01em; display: flex; align-items: center; gap: 8px; }
.dot { width: 10px; height: 10px; border-radius: 50%; background: var(--unk); display: inline-block; }
.dot.live { background: var(--up); box-shadow: 0 0 0 3px color-mix(in srgb, var(--up) 25%, transparent); }
.dot.dead { background: var(--down); }
.meta { display: flex; flex-wrap: wrap; gap: 2px 16px; color: var(--muted); font-size: 13px; }
.meta b { color: var(--fg); font-weight: 600; }
.meta .cfg b { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
.links { margin-left: auto; font-size: 13px; display: flex; gap: 12px; }
a { color: var(--in); text-decoration: none; } a:hover { text-decoration: underline; }
#banner { display: none; margin: 12px auto 0; max-width: 1400px; padding: 8px 14px; border-radius: 6px;
  background: color-mix(in srgb, var(--down) 14%, var(--card)); color: var(--down); font-weight: 600; }
#banner.show { display: block; }
main { max-width: 1400px; margin: 0 auto; padding: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; margin-bottom: 14px;
  overflow: hidden; }
.head { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 22px; padding: 10px 14px;
  border-bottom: 1px solid var(--line); }
.head h2 { margin: 0; font-size: 16px; }
.sub { color: var(--muted); font-size: 12px; }
.kpis { display: flex; flex-wrap: wrap; gap: 6px 20px; align-items: flex-end; }
.kpi { display: flex; flex-direction: column; min-width: 52px; }
.kpi .k { font-size: 10.5px; color: var(--muted); text-transform: uppercase; letter-spacing: .05em; }
.kpi .v { font-weight: 600; font-variant-numeric: tabular-nums; white-space: nowrap; }
.kpi .v.bad { color: var(--down); }
.graphs { display: flex; gap: 14px; margin-left: auto; }
.graph { display: flex; flex-direction: column; }
.graph .k { font-size: 10.5px; color: var(--muted); text-transform: uppercase; letter-spacing: .05em; }
.graph svg { width: 150px; height: 34px; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 10px; text-align: right; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-size: 10.5px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); font-weight: 600;
  background: var(--soft); }
th.l, td.l { text-align: left; }
tbody tr:last-child td { border-bottom: 0; }
tr.srv { --sc: var(--unk); }
tr.st-up { --sc: var(--up); } tr.st-down { --sc: var(--down); }
tr.st-drain { --sc: var(--drain); } tr.st-maint { --sc: var(--maint); }
tr.srv td.name { box-shadow: inset 4px 0 0 var(--sc); padding-left: 14px; }
tr.st-down td, tr.st-maint td { background: color-mix(in srgb, var(--sc) 6%, transparent); }
.sname { font-weight: 600; }
.addr { display: block; color: var(--muted); font-size: 12px; font-family: ui-monospace, Menlo, Consolas, monospace; }
.tag { font-size: 10.5px; border: 1px solid var(--line); color: var(--muted); border-radius: 4px; padding: 0 4px;
  margin-left: 6px; text-transform: uppercase; }
.badge { display: inline-block; min-width: 44px; text-align: center; padding: 1px 8px; border-radius: 10px;
  font-size: 12px; font-weight: 600; color: #fff; background: var(--unk); margin-right: 4px; }
.b-ready { background: transparent; color: var(--muted); box-shadow: inset 0 0 0 1px var(--line); }
.b-drain { background: var(--drain); } .b-maint { background: var(--maint); }
.b-up { background: var(--up); } .b-down { background: var(--down); }
.b-unchecked { background: transparent; color: var(--muted); box-shadow: inset 0 0 0 1px var(--line); }
td.sparks svg { width: 84px; height: 22px; vertical-align: middle; margin-right: 8px; }
.bad { color: var(--down); font-weight: 600; }
.muted { color: var(--muted); }
tfoot td { font-weight: 600; background: var(--soft); border-top: 1px solid var(--line); border-bottom: 0; }
svg .ln { fill: none; stroke-width: 1.5; vector-effect: non-scaling-stroke; stroke-linejoin: round; }
svg .ar { stroke: none; opacity: .14; }
svg .base { stroke: var(--line); stroke-width: 1; vector-effect: non-scaling-stroke; }
.c-conn { stroke: var(--conn); fill: var(--conn); } .c-in { stroke: var(--in); fill: var(--in); }
.c-out { stroke: var(--out); fill: var(--out); }
.legend { font-size: 11px; color: var(--muted); }
.legend i { display: inline-block; width: 10px; height: 3px; border-radius: 2px; vertical-align: middle;
  margin: 0 3px 0 8px; }
tr.route td.name { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; white-space: normal;
  word-break: break-all; text-align: left; }
tr.route td.pos { color: var(--muted); }
.routes { border-top: 1px solid var(--line); }
.sec-title { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .06em;
  margin: 18px 4px 8px; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 8px 0 20px; }
#empty { color: var(--muted); padding: 30px; text-align: center; }
/* Phones: each row becomes a small card of label/value pairs. */
@media (max-width: 760px) {
  header { position: static; padding: 8px 12px; }
  .links { margin-left: 0; }
  main { padding: 8px; }
  .graphs { margin-left: 0; width: 100%; }
  .graph { flex: 1; } .graph svg { width: 100%; }
  table, tbody, tfoot, tr, td { display: block; }
  thead { display: none; }
  tr { display: grid; grid-template-columns: 1fr 1fr; gap: 2px 14px; padding: 8px 12px;
    border-bottom: 1px solid var(--line); }
  tbody tr:last-child { border-bottom: 0; }
  td { border: 0; padding: 1px 0; display: flex; justify-content: space-between; align-items: center; gap: 8px;
    white-space: nowrap; min-width: 0; }
  td::before { content: attr(data-label); color: var(--muted); font-size: 11px; text-transform: uppercase;
    letter-spacing: .04em; font-weight: 400; }
  tr.st-down td, tr.st-maint td { background: none; }
  tr.st-down, tr.st-maint { background: color-mix(in srgb, var(--sc) 6%, transparent); }
  tfoot td { border-top: 0; }
  td.name, td.state, td.wide { grid-column: 1 / -1; }
  td.name::before, td.state::before { content: none; }
  tr.srv { box-shadow: inset 4px 0 0 var(--sc); }
  tr.srv td.name { box-shadow: none; padding-left: 0; }
  .addr { display: inline; margin-left: 8px; }
  td.name { justify-content: flex-start; }
  td.state { justify-content: flex-start; }
  td.sparks { justify-content: flex-start; }
  td.sparks::before { margin-right: auto; }
  td.sparks svg { width: 30%; margin: 0 0 0 8px; }
  tfoot tr { background: var(--soft); }
  tfoot td:empty { display: none; }
}
</style>
</head>
<body>
<header>
  <h1><span id="dot" class="dot"></span>easyproxy</h1>
  <div class="meta">
    <span>pid <b id="m-pid">–</b></span>
    <span>generation <b id="m-gen">–</b></span>
    <span>up <b id="m-up">–</b></span>
    <span class="cfg">config <b id="m-cfg">–</b></span>
    <span>updated <b id="m-upd">–</b></span>
  </div>
  <div class="links"><a href="metrics">/metrics</a><a href="stats.json">/stats.json</a></div>
</header>
<div id="banner"></div>
<main>
  <div id="services"><div id="empty">Loading statistics…</div></div>
  <div id="mw-box" hidden>
    <div class="sec-title">Middlewares</div>
    <div class="card">
      <table id="middlewares">
        <thead><tr><th class="l">Middleware</th><th class="l">Type</th><th>Denials</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </div>
  <div id="cert-box" hidden>
    <div class="sec-title">TLS certificates</div>
    <div class="card">
      <table id="certificates">
        <thead><tr><th class="l">Service</th><th class="l">Certificate</th><th class="l">Names</th>
          <th class="l">Expires (UTC)</th><th>Days left</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </div>
  <div class="sec-title">Workers</div>
  <div class="card">
    <table id="workers">
      <thead><tr><th class="l">Slot</th><th>PID</th><th>Generation</th><th class="l">State</th><th>Active</th>
        <th>Accepted</th><th>Uptime</th><th>Loop</th><th>Spliced</th>
        <th title="bytes relayed by the kernel (relay = &quot;sockmap&quot;)">Kernel</th><th>Local errors</th></tr></thead>
      <tbody></tbody>
    </table>
  </div>
</main>
<footer>Rates are computed in the page from samples every 2 s; graphs show the last 5 minutes.
  <span class="legend"><i style="background:var(--conn)"></i>connections/s<i style="background:var(--in)"></i>bytes in/s
  <i style="background:var(--out)"></i>bytes out/s</span></footer>
<script>
'use strict';
const POLL_MS = 2000, WINDOW_MS = 300000, SVGNS = 'http://www.w3.org/2000/svg';
const samples = new Map();  // key -> history of {t, c, i, o, f}
const services = new Map(); // service name -> card refs
const workerRows = new Map();
const middlewareRows = new Map();
const certificateRows = new Map();
let firstSample = null;     // daemon time of the page's first sample

// ---- formatting (same units as epstat) ----
function fmtBytes(n) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1023.95 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(Math.round(n))) + ' ' + u[i];
}
function fmtByteRate(n) { return n == null ? '–' : fmtBytes(n) + '/s'; }
function fmtConnRate(n) {
  if (n == null) return '–';
  return (n === 0 ? '0' : n >= 100 ? Math.round(n) : n >= 10 ? n.toFixed(1) : n.toFixed(2)) + '/s';
}
function fmtInt(n) { return Number(n).toLocaleString('en-US'); }
function pad2(n) { return n < 10 ? '0' + n : String(n); }
function fmtDur(ms) {
  if (ms < 1000) return Math.round(ms) + 'ms';
  let s = Math.floor(ms / 1000);
  if (s < 60) return s + 's';
  let m = Math.floor(s / 60); s %= 60;
  if (m < 60) return m + 'm' + (s ? pad2(s) + 's' : '');
  let h = Math.floor(m / 60); m %= 60;
  if (h < 24) return h + 'h' + (m ? pad2(m) + 'm' : '');
  const d = Math.floor(h / 24); h %= 24;
  return d + 'd' + (h ? pad2(h) + 'h' : '');
}
function fmtCheckUs(us) { return us < 10000 ? (us / 1000).toFixed(1) + 'ms' : fmtDur(us / 1000); }

// ---- DOM helpers: values change in place, nothing is rebuilt ----
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}
function setText(e, s) { s = String(s); if (e.textContent !== s) e.textContent = s; }
function setClass(e, c) { if (e.className !== c) e.className = c; }
function cell(tr, label, cls) {
  const td = el('td', cls);
  td.dataset.label = label;
  tr.appendChild(td);
  return td;
}
function keepOrder(parent, child, index) {
  const at = parent.children[index];
  if (at !== child) parent.insertBefore(child, at || null);
}

// ---- sparklines: inline SVG over a fixed 5-minute time axis ----
function spark(colors) {
  const svg = document.createElementNS(SVGNS, 'svg');
  svg.setAttribute('viewBox', '0 0 100 24');
  svg.setAttribute('preserveAspectRatio', 'none');
  const base = document.createElementNS(SVGNS, 'line');
  base.setAttribute('class', 'base');
  base.setAttribute('x1', '0'); base.setAttribute('x2', '100');
  base.setAttribute('y1', '23.5'); base.setAttribute('y2', '23.5');
  svg.appendChild(base);
  svg.baseLine = base;
  svg.series = colors.map(c => {
    const area = document.createElementNS(SVGNS, 'path');
    area.setAttribute('class', 'ar c-' + c);
    const line = document.createElementNS(SVGNS, 'path');
    line.setAttribute('class', 'ln c-' + c);
    svg.appendChild(area);
    svg.appendChild(line);
    return { area, line };
  });
  svg.tip = document.createElementNS(SVGNS, 'title');
  svg.appendChild(svg.tip);
  return svg;
}
// lines: one array of {t, v} per series, sharing one vertical scale (`scale`,
// or their own peak). One
// series grows up from the bottom; two (bytes in and out) mirror each other
// around the middle, in up and out down, so equal traffic both ways stays
// readable. The time axis is what the page has seen, up to five minutes, the
// same for every graph so a shift between servers lines up.
function draw(svg, now, lines, tip, scale) {
  let max = scale || 0;
  if (!scale) for (const l of lines) for (const p of l) if (p.v > max) max = p.v;
  const span = Math.min(WINDOW_MS, Math.max(30000, now - (firstSample == null ? now : firstSample)));
  const mirrored = lines.length === 2;
  const base = mirrored ? 12 : 23.5;
  const height = mirrored ? 11 : 21.5;
  svg.baseLine.setAttribute('y1', base); svg.baseLine.setAttribute('y2', base);
  lines.forEach((l, k) => {
    const s = svg.series[k];
    if (l.length < 1) { s.line.setAttribute('d', ''); s.area.setAttribute('d', ''); return; }
    const dir = mirrored && k === 1 ? 1 : -1;
    const xs = l.map(p => Math.max(0, 100 - (now - p.t) / span * 100).toFixed(2));
    const ys = l.map(p => (base + dir * (max > 0 ? p.v / max * height : 0)).toFixed(2));
    const d = 'M' + xs.map((x, i) => x + ',' + ys[i]).join('L');
    s.line.setAttribute('d', d);
    s.area.setAttribute('d', d + 'L' + xs[xs.length - 1] + ',' + base + 'L' + xs[0] + ',' + base + 'Z');
  });
  setText(svg.tip, tip);
}

// ---- history and rates ----
function record(key, t, c, i, o, f) {
  let h = samples.get(key);
  if (!h) { h = []; samples.set(key, h); }
  h.seen = t;
  const last = h[h.length - 1];
  if (last && t <= last.t) return h;
  if (last && (c < last.c || i < last.i || o < last.o)) h.length = 0;  // counters started again
  h.push({ t, c, i, o, f });
  while (h.length > 2 && h[1].t < t - WINDOW_MS) h.shift();  // one older sample gives the first rate
  return h;
}
function rates(h) {
  const r = [];
  for (let k = 1; k < h.length; k++) {
    const a = h[k - 1], b = h[k], dt = (b.t - a.t) / 1000;
    if (dt > 0) r.push({ t: b.t, c: (b.c - a.c) / dt, i: (b.i - a.i) / dt, o: (b.o - a.o) / dt, f: b.f - a.f });
  }
  return r;
}
// Current rates, the series for the graphs, and whether failures grew lately.
function summarize(h, now) {
  const r = rates(h);
  const cur = r.length ? r[r.length - 1] : null;
  const recentFail = r.some(x => x.f > 0 && x.t > now - 60000);
  const conn = r.map(x => ({ t: x.t, v: x.c }));
  const bin = r.map(x => ({ t: x.t, v: x.i }));
  const bout = r.map(x => ({ t: x.t, v: x.o }));
  const peak = a => a.reduce((m, p) => Math.max(m, p.v), 0);
  return { cur, recentFail, conn, bin, bout, peakConn: peak(conn), peakBytes: Math.max(peak(bin), peak(bout)) };
}

// ---- one card per service ----
const SERVER_COLUMNS = [
  ['Server', 'l'], ['State', 'l'], ['Weight'], ['Active'], ['Conn/s'], ['In/s'], ['Out/s'],
  ['Last 5 min', 'l'], ['Conns'], ['Failures'], ['Last check', 'l'], ['Changed']];
const ROUTE_COLUMNS = [
  ['#', 'l'], ['Route', 'l'], ['Hits'], ['Hits/s'], ['2xx'], ['3xx'], ['4xx'], ['5xx'], ['401'], ['403'], ['429']];

function kpi(parent, label) {
  const d = el('div', 'kpi');
  d.appendChild(el('span', 'k', label));
  const v = el('span', 'v', '–');
  d.appendChild(v);
  parent.appendChild(d);
  return v;
}
function graph(parent, label, colors) {
  const d = el('div', 'graph');
  d.appendChild(el('span', 'k', label));
  const svg = spark(colors);
  d.appendChild(svg);
  parent.appendChild(d);
  return svg;
}

function serviceCard(name) {
  const card = el('section', 'card');
  card.dataset.service = name;
  const head = el('div', 'head');
  const title = el('div');
  title.appendChild(el('h2', null, name));
  const sub = el('div', 'sub');
  title.appendChild(sub);
  head.appendChild(title);
  const kpis = el('div', 'kpis');
  const r = { card, sub, rows: new Map() };
  r.usable = kpi(kpis, 'Servers up');
  r.active = kpi(kpis, 'Active');
  r.cps = kpi(kpis, 'Conn/s');
  r.bin = kpi(kpis, 'In/s');
  r.bout = kpi(kpis, 'Out/s');
  r.accepted = kpi(kpis, 'Accepted');
  r.denied = kpi(kpis, 'Denied');
  r.noServer = kpi(kpis, 'No server');
  r.retries = kpi(kpis, 'Retries');
  // http services: requests, 5xx answers and how often a pooled server
  // connection was reused (shown once the service reports them)
  r.requests = kpi(kpis, 'Requests');
  r.errors = kpi(kpis, '5xx');
  r.reused = kpi(kpis, 'Srv conn reused');
  r.noRoute = kpi(kpis, 'No route (404)');
  for (const v of [r.requests, r.errors, r.reused, r.noRoute]) v.parentNode.style.display = 'none';
  head.appendChild(kpis);
  const graphs = el('div', 'graphs');
  r.gConn = graph(graphs, 'Connections/s', ['conn']);
  r.gBytes = graph(graphs, 'Bytes in/out per s', ['in', 'out']);
  head.appendChild(graphs);
  card.appendChild(head);

  const table = el('table');
  const thead = el('thead');
  const htr = el('tr');
  for (const [label, cls] of SERVER_COLUMNS) htr.appendChild(el('th', cls || null, label));
  thead.appendChild(htr);
  table.appendChild(thead);
  r.tbody = el('tbody');
  table.appendChild(r.tbody);
  const tfoot = el('tfoot');
  const ftr = el('tr');
  r.foot = {
    name: cell(ftr, 'Service', 'l name'), state: cell(ftr, '', 'l state'), weight: cell(ftr, 'Weight'),
    active: cell(ftr, 'Active'), cps: cell(ftr, 'Conn/s'), bin: cell(ftr, 'In/s'), bout: cell(ftr, 'Out/s'),
    spark: cell(ftr, 'Last 5 min', 'l wide sparks'), total: cell(ftr, 'Conns'), failures: cell(ftr, 'Failures'),
    check: cell(ftr, '', 'l'), changed: cell(ftr, ''),
  };
  setText(r.foot.name, 'Service total');
  r.foot.check.dataset.label = ''; r.foot.changed.dataset.label = '';
  r.footConn = spark(['conn']); r.foot.spark.appendChild(r.footConn);
  r.footBytes = spark(['in', 'out']); r.foot.spark.appendChild(r.footBytes);
  tfoot.appendChild(ftr);
  table.appendChild(tfoot);
  card.appendChild(table);
  r.table = table;

  // An entry point: its routes in match order (shown once it has some).
  const routes = el('table', 'routes');
  const rhead = el('thead');
  const rtr = el('tr');
  for (const [label, cls] of ROUTE_COLUMNS) rtr.appendChild(el('th', cls || null, label));
  rhead.appendChild(rtr);
  routes.appendChild(rhead);
  r.routeBody = el('tbody');
  routes.appendChild(r.routeBody);
  routes.style.display = 'none';
  card.appendChild(routes);
  r.routes = routes;
  r.routeRows = new Map();
  return r;
}

function routeRow() {
  const tr = el('tr', 'route');
  const r = { tr };
  r.pos = cell(tr, '#', 'l pos');
  r.text = cell(tr, 'Route', 'name wide');
  r.hits = cell(tr, 'Hits');
  r.rate = cell(tr, 'Hits/s');
  r.classes = ['2xx', '3xx', '4xx', '5xx'].map(c => cell(tr, c));
  r.denied = ['401', '403', '429'].map(c => cell(tr, c));
  return r;
}

function updateRoutes(r, routes, now) {
  // (style, not the hidden attribute: the phone layout sets tables' display)
  r.routes.style.display = routes.length === 0 ? 'none' : '';
  // An entry point has no servers of its own: its routes say it all.
  r.table.style.display = routes.length > 0 && r.rows.size === 0 ? 'none' : '';
  const seen = new Set();
  routes.forEach((rt, index) => {
    const key = rt.route + '#' + rt.position;
    let row = r.routeRows.get(key);
    if (!row) { row = routeRow(); r.routeRows.set(key, row); }
    keepOrder(r.routeBody, row.tr, index);
    if (row.tr.dataset.route !== rt.route) row.tr.dataset.route = rt.route;
    setText(row.pos, rt.position);
    setText(row.text, rt.route);
    setText(row.hits, fmtInt(rt.hits));
    const z = summarize(record('rt:' + rt.service + '/' + key, now, rt.hits, 0, 0, rt.responses_5xx), now);
    setText(row.rate, fmtConnRate(z.cur && z.cur.c));
    [rt.responses_2xx, rt.responses_3xx, rt.responses_4xx, rt.responses_5xx].forEach((v, k) => {
      setText(row.classes[k], fmtInt(v));
      setClass(row.classes[k], k === 3 && v ? 'bad' : (v ? '' : 'muted'));
    });
    [rt.denied_401, rt.denied_403, rt.denied_429].forEach((v, k) => {
      setText(row.denied[k], fmtInt(v));
      setClass(row.denied[k], v ? '' : 'muted');
    });
    seen.add(key);
  });
  for (const [key, row] of r.routeRows) if (!seen.has(key)) { row.tr.remove(); r.routeRows.delete(key); }
}

function serverRow() {
  const tr = el('tr', 'srv');
  const r = { tr };
  r.nameCell = cell(tr, 'Server', 'l name');
  r.name = el('span', 'sname'); r.nameCell.appendChild(r.name);
  r.backup = el('span', 'tag', 'backup'); r.backup.hidden = true; r.nameCell.appendChild(r.backup);
  r.addr = el('span', 'addr'); r.nameCell.appendChild(r.addr);
  const st = cell(tr, 'State', 'l state');
  r.admin = el('span', 'badge'); st.appendChild(r.admin);
  r.health = el('span', 'badge'); st.appendChild(r.health);
  r.weight = cell(tr, 'Weight');
  r.active = cell(tr, 'Active');
  r.cps = cell(tr, 'Conn/s');
  r.bin = cell(tr, 'In/s');
  r.bout = cell(tr, 'Out/s');
  const graphs = cell(tr, 'Last 5 min', 'l wide sparks');
  r.gConn = spark(['conn']); graphs.appendChild(r.gConn);
  r.gBytes = spark(['in', 'out']); graphs.appendChild(r.gBytes);
  r.total = cell(tr, 'Conns');
  r.failures = cell(tr, 'Failures');
  r.check = cell(tr, 'Last check', 'l wide');
  r.changed = cell(tr, 'Changed');
  return r;
}

function updateServer(r, s, z, now, scale) {
  setClass(r.tr, 'srv st-' + s.state);
  if (r.tr.dataset.server !== s.server) r.tr.dataset.server = s.server;
  if (r.tr.dataset.state !== s.state) r.tr.dataset.state = s.state;
  setText(r.name, s.server);
  setText(r.addr, s.address);
  r.backup.hidden = !s.backup;
  setText(r.admin, s.admin);
  setClass(r.admin, 'badge b-' + s.admin);
  const health = s.passive_down && s.health !== 'down' ? 'down' : s.health;
  setText(r.health, s.passive_down && s.health !== 'down' ? 'down (passive)' : s.health);
  setClass(r.health, 'badge b-' + health);
  setText(r.weight, s.weight === s.config_weight ? s.weight : s.weight + ' (config ' + s.config_weight + ')');
  setText(r.active, fmtInt(s.active) + (s.max_connections ? ' / ' + fmtInt(s.max_connections) : ''));
  setText(r.cps, fmtConnRate(z.cur && z.cur.c));
  setText(r.bin, fmtByteRate(z.cur && z.cur.i));
  setText(r.bout, fmtByteRate(z.cur && z.cur.o));
  setText(r.total, fmtInt(s.total));
  setText(r.failures, fmtInt(s.failures) + (s.retries ? ' (' + fmtInt(s.retries) + ' retried)' : ''));
  setClass(r.failures, z.recentFail ? 'bad' : (s.failures ? '' : 'muted'));
  setText(r.check, s.last_check == null ? '–' : s.last_check + ' (' + fmtCheckUs(s.last_check_us) + ')');
  setClass(r.check, 'l wide' + (health === 'down' ? ' bad' : s.last_check == null ? ' muted' : ''));
  setText(r.changed, s.since_change_ms == null ? '–' : fmtDur(s.since_change_ms) + ' ago');
  draw(r.gConn, now, [z.conn], 'connections/s, peak ' + fmtConnRate(z.peakConn), scale.conn);
  draw(r.gBytes, now, [z.bin, z.bout], 'bytes in/out per s, peak ' + fmtByteRate(z.peakBytes), scale.bytes);
}

function updateService(r, svc, servers, routes, now) {
  setText(r.sub, svc.mode + ' · ' + svc.balance);
  const h = record('svc:' + svc.service, now, svc.accepted, svc.bytes_in, svc.bytes_out, svc.failures);
  const z = summarize(h, now);
  setText(r.usable, svc.servers_usable + ' / ' + svc.servers);
  setClass(r.usable, 'v' + (svc.servers_usable === 0 ? ' bad' : ''));
  r.usable.style.color = svc.servers_usable === 0 ? '' :
    svc.servers_usable < svc.servers ? 'var(--drain)' : 'var(--up)';
  setText(r.active, fmtInt(svc.active));
  setText(r.cps, fmtConnRate(z.cur && z.cur.c));
  setText(r.bin, fmtByteRate(z.cur && z.cur.i));
  setText(r.bout, fmtByteRate(z.cur && z.cur.o));
  setText(r.accepted, fmtInt(svc.accepted));
  setText(r.denied, fmtInt(svc.denied));
  setText(r.noServer, fmtInt(svc.no_server));
  setClass(r.noServer, 'v' + (svc.no_server ? ' bad' : ''));
  setText(r.retries, fmtInt(svc.retries));
  if (svc.requests !== undefined) {
    for (const v of [r.requests, r.errors, r.reused]) v.parentNode.style.display = '';
    setText(r.requests, fmtInt(svc.requests));
    setText(r.errors, fmtInt(svc.responses_5xx));
    setClass(r.errors, 'v' + (svc.responses_5xx ? ' bad' : ''));
    const sent = svc.server_connections_opened + svc.server_connections_reused;
    setText(r.reused, sent ? Math.round(100 * svc.server_connections_reused / sent) + '%' : '–');
  }
  if (routes.length) {
    r.noRoute.parentNode.style.display = '';
    setText(r.noRoute, fmtInt(svc.errors_404 || 0));
  }
  // An entry point without servers of its own: server figures say nothing.
  const entryOnly = routes.length > 0 && svc.servers === 0;
  for (const v of [r.usable, r.noServer, r.retries]) v.parentNode.style.display = entryOnly ? 'none' : '';
  if (entryOnly) r.reused.parentNode.style.display = 'none';  // shown again above for an http service
  draw(r.gConn, now, [z.conn], 'client connections/s, peak ' + fmtConnRate(z.peakConn));
  draw(r.gBytes, now, [z.bin, z.bout], 'bytes in/out per s, peak ' + fmtByteRate(z.peakBytes));

  // The servers of a service share one scale per graph: a server that takes
  // over another's traffic is seen growing as the other shrinks.
  const sums = servers.map(s => summarize(
    record('srv:' + s.service + '/' + s.server, now, s.total, s.bytes_in, s.bytes_out, s.failures), now));
  const scale = { conn: Math.max(0, ...sums.map(z => z.peakConn)), bytes: Math.max(0, ...sums.map(z => z.peakBytes)) };
  const seen = new Set();
  servers.forEach((s, index) => {
    let row = r.rows.get(s.server);
    if (!row) { row = serverRow(); r.rows.set(s.server, row); }
    keepOrder(r.tbody, row.tr, index);
    updateServer(row, s, sums[index], now, scale);
    seen.add(s.server);
  });
  for (const [name, row] of r.rows) if (!seen.has(name)) { row.tr.remove(); r.rows.delete(name); }
  updateRoutes(r, routes, now);

  const f = r.foot;
  const weight = servers.reduce((a, s) => a + (s.state === 'up' ? s.weight : 0), 0);
  setText(f.weight, weight);
  f.weight.title = 'sum of the weights of servers that are up';
  setText(f.active, fmtInt(svc.active));
  setText(f.cps, fmtConnRate(z.cur && z.cur.c));
  setText(f.bin, fmtByteRate(z.cur && z.cur.i));
  setText(f.bout, fmtByteRate(z.cur && z.cur.o));
  setText(f.total, fmtInt(svc.connections));
  setText(f.failures, fmtInt(svc.failures));
  draw(r.footConn, now, [z.conn], 'client connections/s, peak ' + fmtConnRate(z.peakConn));
  draw(r.footBytes, now, [z.bin, z.bout], 'bytes in/out per s, peak ' + fmtByteRate(z.peakBytes));
}

function updateWorkers(workers) {
  const tbody = document.querySelector('#workers tbody');
  const seen = new Set();
  const newest = workers.reduce((m, w) => Math.max(m, w.generation), 0);
  workers.forEach((w, index) => {
    const key = w.slot + ':' + w.pid;
    let r = workerRows.get(key);
    if (!r) {
      const tr = el('tr');
      r = { tr, slot: cell(tr, 'Slot', 'l name'), pid: cell(tr, 'PID'), gen: cell(tr, 'Generation'),
            state: cell(tr, 'State', 'l'), active: cell(tr, 'Active'), accepted: cell(tr, 'Accepted'),
            uptime: cell(tr, 'Uptime'), loop: cell(tr, 'Loop'), spliced: cell(tr, 'Spliced'),
            kernel: cell(tr, 'Kernel'), local: cell(tr, 'Local errors') };
      r.badge = el('span', 'badge'); r.state.appendChild(r.badge);
      workerRows.set(key, r);
    }
    keepOrder(tbody, r.tr, index);
    setText(r.slot, w.slot);
    setText(r.pid, w.pid);
    setText(r.gen, w.generation + (w.generation < newest ? ' (old)' : ''));
    setText(r.badge, w.state);
    setClass(r.badge, 'badge ' + (w.state === 'running' ? 'b-up' : 'b-drain'));
    setText(r.active, fmtInt(w.active));
    setText(r.accepted, fmtInt(w.accepted));
    setText(r.uptime, fmtDur(w.uptime_ms));
    // An idle loop turns twice a second; an older stamp is a stall.
    setText(r.loop, fmtDur(w.loop_age_ms) + ' ago');
    setClass(r.loop, w.loop_age_ms >= 1000 ? 'bad' : '');
    setText(r.spliced, fmtBytes(w.bytes_spliced));
    // One cell for the kernel relay: its bytes, and in the tooltip how many
    // connections were handed over.
    setText(r.kernel, fmtBytes(w.bytes_kernel));
    const handed = fmtInt(w.kernel_relays) + ' connections handed to the kernel';
    if (r.kernel.title !== handed) r.kernel.title = handed;
    setText(r.local, fmtInt(w.local_errors));
    setClass(r.local, w.local_errors ? 'bad' : '');
    seen.add(key);
  });
  for (const [key, r] of workerRows) if (!seen.has(key)) { r.tr.remove(); workerRows.delete(key); }
}

function update(data) {
  const m = data.master;
  const now = m.start_unix_ms + m.uptime_ms;  // the daemon's clock: rates do not depend on fetch delays
  if (firstSample == null) firstSample = now;
  setText(document.getElementById('m-pid'), m.pid);
  setText(document.getElementById('m-gen'), m.generation);
  setText(document.getElementById('m-up'), fmtDur(m.uptime_ms));
  setText(document.getElementById('m-cfg'), m.config_file || '–');
  setText(document.getElementById('m-upd'), new Date().toLocaleTimeString());
  setClass(document.getElementById('dot'), 'dot ' + (m.alive ? 'live' : 'dead'));
  banner(m.alive ? '' : 'The master is not running: these numbers are stale.');

  const box = document.getElementById('services');
  const empty = document.getElementById('empty');
  if (empty) empty.remove();
  const byService = new Map();
  for (const s of data.servers) {
    if (!byService.has(s.service)) byService.set(s.service, []);
    byService.get(s.service).push(s);
  }
  const byEntry = new Map();
  for (const rt of data.routes || []) {
    if (!byEntry.has(rt.service)) byEntry.set(rt.service, []);
    byEntry.get(rt.service).push(rt);
  }
  const seen = new Set();
  data.services.forEach((svc, index) => {
    let r = services.get(svc.service);
    if (!r) { r = serviceCard(svc.service); services.set(svc.service, r); }
    keepOrder(box, r.card, index);
    updateService(r, svc, byService.get(svc.service) || [], byEntry.get(svc.service) || [], now);
    seen.add(svc.service);
  });
  for (const [name, r] of services) if (!seen.has(name)) { r.card.remove(); services.delete(name); }
  for (const [key, h] of samples) if (h.seen !== now) samples.delete(key);  // gone after a reload
  updateWorkers(data.workers);
  updateMiddlewares(data.middlewares || []);
  updateCertificates(data.certificates || [], now);
}

// Certificates expiring within 14 days (or expired) are shown in red.
function updateCertificates(list, now) {
  document.getElementById('cert-box').hidden = list.length === 0;
  const tbody = document.querySelector('#certificates tbody');
  const seen = new Set();
  list.forEach((c, index) => {
    const key = c.service + ' ' + c.certificate;
    let r = certificateRows.get(key);
    if (!r) {
      const tr = el('tr');
      r = { tr, service: cell(tr, 'Service', 'l name'), file: cell(tr, 'Certificate', 'l'), names: cell(tr, 'Names', 'l'),
            expires: cell(tr, 'Expires (UTC)', 'l'), left: cell(tr, 'Days left') };
      certificateRows.set(key, r);
    }
    keepOrder(tbody, r.tr, index);
    setText(r.service, c.service);
    setText(r.file, c.certificate);
    setText(r.names, c.names);
    setText(r.expires, new Date(c.not_after_unix * 1000).toISOString().slice(0, 16).replace('T', ' '));
    const days = Math.floor((c.not_after_unix * 1000 - Date.now()) / 86400000);
    setText(r.left, String(days));
    setClass(r.left, days < 14 ? 'bad' : '');
    seen.add(key);
  });
  for (const [key, r] of certificateRows) if (!seen.has(key)) { r.tr.remove(); certificateRows.delete(key); }
}

function updateMiddlewares(list) {
  document.getElementById('mw-box').hidden = list.length === 0;
  const tbody = document.querySelector('#middlewares tbody');
  const seen = new Set();
  list.forEach((m, index) => {
    let r = middlewareRows.get(m.middleware);
    if (!r) {
      const tr = el('tr');
      tr.dataset.middleware = m.middleware;
      r = { tr, name: cell(tr, 'Middleware', 'l name'), type: cell(tr, 'Type', 'l'), denials: cell(tr, 'Denials') };
      middlewareRows.set(m.middleware, r);
    }
    keepOrder(tbody, r.tr, index);
    setText(r.name, m.middleware);
    setText(r.type, m.type);
    setText(r.denials, fmtInt(m.denials));
    seen.add(m.middleware);
  });
  for (const [key, r] of middlewareRows) if (!seen.has(key)) { r.tr.remove(); middlewareRows.delete(key); }
}

function banner(text) {
  const b = document.getElementById('banner');
  setText(b, text);
  setClass(b, text ? 'show' : '');
}

async function poll() {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 5000);
  try {
    const res = await fetch('stats.json', { cache: 'no-store', signal: ctl.signal });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    update(await res.json());
  } catch (e) {
    setClass(document.getElementById('dot'), 'dot dead');
    banner('Cannot read stats.json (' + (e && e.message ? e.message : e) + '); retrying.');
  } finally {
    clearTimeout(timer);
    setTimeout(poll, POLL_MS);
  }
}
poll();
</script>
</body>
</html>
)HTML";

}  // namespace ep::master
