namespace Sirocco.Web.Ui;

/// <summary>The UI's only stylesheet and script, served from <c>/static/</c> (no build step; CSP allows only 'self').</summary>
internal static class Assets
{
    public const string Css = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bg:#f5f7fa; --brand:#017cee; --brand-dark:#0b5cad; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color:var(--ink); background:var(--bg); }
a { color: var(--brand); text-decoration: none; } a:hover { text-decoration: underline; }
header.top { background:#fff; border-bottom:1px solid var(--line); display:flex; align-items:center; gap:24px; padding:0 24px; height:52px; }
header.top .logo { font-weight:700; font-size:18px; color:var(--ink); letter-spacing:.5px; }
header.top .logo span { color:#e8772e; }
header.top nav { display:flex; gap:18px; flex:1; }
header.top nav a { color:var(--ink); padding:14px 2px; border-bottom:3px solid transparent; }
header.top nav a.active { border-bottom-color:var(--brand); font-weight:600; }
header.top .menu { position:relative; }
header.top .menu-button { border:none; border-radius:0; background:none; padding:14px 2px; border-bottom:3px solid transparent; color:var(--ink); }
header.top .menu-button.active { border-bottom-color:var(--brand); font-weight:600; }
header.top .menu-items { display:none; position:absolute; top:100%; left:-8px; background:#fff; border:1px solid var(--line); border-radius:6px; box-shadow:0 6px 18px rgba(31,41,51,.12); min-width:180px; z-index:10; padding:6px 0; }
header.top .menu:hover .menu-items, header.top .menu:focus-within .menu-items { display:block; }
header.top nav .menu-items a { display:block; padding:8px 14px; border-bottom:none; }
header.top nav .menu-items a:hover { background:#f0f4f8; text-decoration:none; }
header.top nav .menu-items a.active { font-weight:600; color:var(--brand); }
header.top .who { color:var(--muted); display:flex; gap:12px; align-items:center; }
main { padding:20px 24px 48px; max-width:1400px; margin:0 auto; }
h1 { font-size:22px; margin:4px 0 16px; font-weight:600; } h2 { font-size:17px; margin:24px 0 10px; font-weight:600; }
.card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:16px; margin-bottom:16px; }
table.list { width:100%; border-collapse:collapse; background:#fff; border:1px solid var(--line); border-radius:6px; }
table.list th { text-align:left; font-weight:600; color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.4px; padding:10px 12px; border-bottom:1px solid var(--line); background:#fafbfc; }
table.list td { padding:9px 12px; border-bottom:1px solid var(--line); vertical-align:middle; }
table.list tr:last-child td { border-bottom:none; }
table.kv th { text-align:left; color:var(--muted); font-weight:500; padding:4px 16px 4px 0; vertical-align:top; white-space:nowrap; } table.kv td { padding:4px 0; }
.btn, button { display:inline-block; font:inherit; padding:6px 12px; border-radius:4px; border:1px solid #cbd2d9; background:#fff; color:var(--ink); cursor:pointer; }
.btn:hover, button:hover { background:#f0f4f8; text-decoration:none; }
.btn.primary, button.primary { background:var(--brand); border-color:var(--brand); color:#fff; } .btn.primary:hover, button.primary:hover { background:var(--brand-dark); }
button.danger { color:#c81e1e; border-color:#f0b4b4; }
form.inline { display:inline; margin:0; }
.actions { display:flex; gap:8px; flex-wrap:wrap; align-items:center; margin-bottom:16px; }
.actions h1 { margin:0; flex:1; }
input[type=text], input[type=password], input[type=search], input[type=number], input[type=datetime-local], select, textarea { font:inherit; padding:6px 8px; border:1px solid #cbd2d9; border-radius:4px; background:#fff; min-width:280px; }
textarea { width:100%; min-height:120px; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:13px; }
label.field { display:block; margin:0 0 12px; } label.field > span { display:block; font-weight:600; margin-bottom:4px; } label.field small { color:var(--muted); font-weight:400; }
.muted { color:var(--muted); } .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:13px; }
.flash { padding:10px 14px; border-radius:4px; margin-bottom:16px; background:#e3f8ff; border:1px solid #81defd; }
.flash.error { background:#ffeeee; border-color:#f29b9b; }
.banner-error { background:#fff5f5; border:1px solid #f29b9b; border-radius:6px; padding:12px 16px; margin-bottom:16px; }
.banner-error summary { cursor:pointer; font-weight:600; color:#b91c1c; }
.banner-error pre { white-space:pre-wrap; margin:6px 0 10px; }
.banner-warning { background:#fffbeb; border:1px solid #f3c969; border-radius:6px; padding:12px 16px; margin-bottom:16px; }
.banner-warning summary { cursor:pointer; font-weight:600; color:#92400e; }
.banner-warning pre { white-space:pre-wrap; margin:6px 0 10px; }
.tag { display:inline-block; background:#e6f0fb; color:#0b5cad; border-radius:10px; padding:0 8px; font-size:12px; margin-left:6px; }
.toggle { width:38px; height:20px; border-radius:10px; border:none; padding:0; position:relative; background:#cbd2d9; vertical-align:middle; }
.toggle::after { content:""; position:absolute; top:2px; left:2px; width:16px; height:16px; border-radius:50%; background:#fff; transition:left .15s; }
.toggle.on { background:#017cee; } .toggle.on::after { left:20px; }
.toggle:hover { background:#9aa5b1; } .toggle.on:hover { background:#0b5cad; }
.state { display:inline-block; border-radius:10px; padding:1px 9px; font-size:12px; color:#fff; background:#9aa5b1; border:1px solid transparent; }
.circle { display:inline-flex; align-items:center; justify-content:center; min-width:22px; height:22px; border-radius:11px; font-size:11px; color:#fff; margin-right:3px; padding:0 5px; }
/* Airflow's state colours */
.st-success { background:#008000; fill:#008000; color:#fff; } .st-running { background:#00ff00; fill:#00ff00; color:#1f2933; }
.st-failed { background:#ff0000; fill:#ff0000; } .st-upstream_failed { background:#ffa500; fill:#ffa500; }
.st-up_for_retry { background:#ffd700; fill:#ffd700; color:#1f2933; } .st-up_for_reschedule { background:#40e0d0; fill:#40e0d0; color:#1f2933; }
.st-queued { background:#808080; fill:#808080; } .st-scheduled { background:#d2b48c; fill:#d2b48c; color:#1f2933; }
.st-skipped { background:#ff69b4; fill:#ff69b4; } .st-removed { background:#d3d3d3; fill:#d3d3d3; color:#1f2933; }
.st-none { background:#fff; fill:#fff; border:1px solid #cbd2d9; color:var(--muted); }
.grid-wrap { overflow-x:auto; background:#fff; border:1px solid var(--line); border-radius:6px; padding:12px; }
table.grid { border-collapse:separate; border-spacing:3px; }
table.grid th.task { text-align:left; font-weight:500; padding-right:14px; white-space:nowrap; }
table.grid td { padding:0; }
table.grid a.cell { display:block; width:18px; height:18px; border-radius:3px; }
table.grid a.cell:hover { outline:2px solid var(--brand); }
table.grid span.cell { display:block; width:18px; height:18px; border-radius:9px; opacity:.85; }
table.grid tr.group th.task { font-weight:600; } table.grid tr.in-group th.task { padding-left:18px; }
table.grid .runbar { display:block; width:18px; border-radius:3px 3px 0 0; height:34px; }
.legend { display:flex; flex-wrap:wrap; gap:10px; margin:10px 0 0; font-size:12px; color:var(--muted); }
.legend span.sw { display:inline-block; width:12px; height:12px; border-radius:2px; margin-right:4px; vertical-align:-1px; }
.graph { background:#fff; border:1px solid var(--line); border-radius:6px; padding:12px; overflow:auto; }
.graph g.taskgroup rect { fill:#f0f4f8; stroke:#9fb3c8; stroke-dasharray:4 3; } .graph g.taskgroup text { fill:#486581; }
.graph rect.node { stroke:#52606d; stroke-width:1; } .graph text { font-size:12px; } .graph line { stroke:#9aa5b1; stroke-width:1.5; }
.graph text.light { fill:#fff; }
.tabs { display:flex; gap:4px; margin-bottom:-1px; } .tabs a { padding:6px 14px; border:1px solid var(--line); border-bottom:none; border-radius:6px 6px 0 0; background:#f0f4f8; color:var(--ink); }
.tabs a.active { background:#1e1e1e; color:#fff; }
pre.log { background:#1e1e1e; color:#e6e6e6; padding:12px 14px; border-radius:0 6px 6px 6px; margin:0; min-height:160px; max-height:640px; overflow:auto; white-space:pre-wrap; word-break:break-word; font-size:12.5px; }
.live { color:#00a000; font-weight:600; }
.login { max-width:360px; margin:80px auto; }
.login input { width:100%; min-width:0; }
.pager { margin-top:10px; display:flex; gap:8px; }
""";

    public const string Js = """
(function () {
  'use strict';
  // Live grid: re-fetch the grid fragment while runs are active.
  var grid = document.getElementById('grid');
  function pollGrid() {
    if (!grid || grid.getAttribute('data-active') !== 'true') { return; }
    fetch(grid.getAttribute('data-src'), { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, 'text/html');
      var fresh = doc.getElementById('grid');
      if (fresh) { grid.replaceWith(fresh); grid = fresh; }
      setTimeout(pollGrid, 1500);
    }).catch(function () { setTimeout(pollGrid, 4000); });
  }
  if (grid) { setTimeout(pollGrid, 1500); }

  // Live log: append what the try wrote since the last read, until the try ends.
  var log = document.getElementById('log');
  var status = document.getElementById('log-status');
  var tiState = document.getElementById('ti-state');
  function pollLog() {
    if (!log || log.getAttribute('data-done') === 'true') { return; }
    var url = log.getAttribute('data-src') + '&token=' + encodeURIComponent(log.getAttribute('data-token') || '');
    fetch(url, { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    }).then(function (d) {
      if (d.content) {
        var atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
        log.appendChild(document.createTextNode(d.content));
        if (atEnd) { log.scrollTop = log.scrollHeight; }
      }
      log.setAttribute('data-token', d.continuation_token);
      if (tiState && d.state) { tiState.textContent = d.state; tiState.className = 'state st-' + d.state; }
      if (d.end_of_log) {
        log.setAttribute('data-done', 'true');
        if (status) { status.textContent = 'finished'; status.className = 'muted'; }
        // The try ended: reload once so its details (end date, duration, try history) are current.
        setTimeout(function () { window.location.reload(); }, 500);
      } else {
        setTimeout(pollLog, 1000);
      }
    }).catch(function () { setTimeout(pollLog, 3000); });
  }
  if (log) { setTimeout(pollLog, 500); }

  // Confirmations for destructive buttons.
  document.addEventListener('submit', function (e) {
    var b = e.submitter;
    var msg = (b && b.getAttribute('data-confirm')) || e.target.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) { e.preventDefault(); }
  });
})();
""";
}
