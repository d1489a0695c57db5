/**
 * The bookkeeper's status page as HTML (client/status-page.ts serves it): template strings, every value
 * escaped, plain CSS that reads on a phone, words a bookkeeper uses (no stack traces, no ids without names).
 */
import type { BudgetUsage } from '../domain/lanes';
import type { ConnectionSummary } from '../store/connections';
import type { HeldRecord, RecentExport, WebhookHealth } from '../store/metrics';

export interface ConnectionView {
  connection: ConnectionSummary;
  budget: BudgetUsage[];
  held: HeldRecord[];
  exports: RecentExport[];
  webhooks: WebhookHealth;
}

export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const CSS = `
body{font:16px/1.45 system-ui,sans-serif;margin:0;padding:1em;color:#1b1b1b;background:#f6f6f4}
main{max-width:60em;margin:auto}h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.25em;margin:0 0 .4em}
h3{font-size:1.05em;margin:1.1em 0 .3em}section.conn{background:#fff;border:1px solid #ddd;border-radius:8px;
padding:1em;margin:1em 0}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35em .5em;
border-bottom:1px solid #eee;vertical-align:top}th{font-weight:600;color:#555}.ok{color:#17662b}.warn{color:#8a5200}
.bad{color:#a0161b}.muted{color:#666}.note{background:#eef6ee;border:1px solid #b9dcb9;padding:.5em 1em;border-radius:6px}
button{font:inherit;padding:.3em .8em;border-radius:5px;border:1px solid #888;background:#fff;cursor:pointer}
@media (max-width:40em){table,tbody,tr,td{display:block}thead{display:none}tr{border-bottom:1px solid #ddd;padding:.4em 0}
td{border:0;padding:.15em 0}td[data-label]::before{content:attr(data-label) ": ";color:#666}}`;

const STATE_WORDS: Record<string, string> = {
  BLOCKED: 'Not sent to QuickBooks',
  RESYNC_BLOCKED: 'A change was not sent to QuickBooks',
  NEEDS_ATTENTION_IN_QBO: 'Changed in ServiceM8 after it was sent: check the invoice in QuickBooks',
  WAITING_FOR_REAUTH: 'Waiting for QuickBooks to be connected again',
  MERGED: 'Merged into another record in QuickBooks',
  STUCK: 'Approved, but sending it keeps failing (it is retried automatically)',
};

const API_NAMES: Record<string, string> = {
  sm8: 'ServiceM8',
  qbo: 'QuickBooks',
  'qbo-batch': 'QuickBooks batch',
};

export function when(d: Date | null): string {
  if (!d) return 'never';
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function duration(seconds: number | null): string {
  if (seconds === null) return 'not measured';
  if (seconds < 1) return 'under a second';
  if (seconds < 1.5) return '1 second';
  if (seconds < 120) return `${Math.round(seconds)} seconds`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} minutes`;
  return `${Math.round(seconds / 3600)} hours`;
}

const money = (cents: number | null) => (cents === null ? '' : `$${(cents / 100).toFixed(2)}`);

function health(c: ConnectionSummary): string {
  const qbo = c.qboRealmId ? 'QuickBooks connected' : 'QuickBooks not connected';
  const sm8 = c.sm8AuthKind ? 'ServiceM8 connected' : 'ServiceM8 not connected';
  const both = Boolean(c.qboRealmId && c.sm8AuthKind);
  const [cls, text] =
    c.status === 'active'
      ? both
        ? ['ok', 'Syncing']
        : ['warn', 'Not syncing until both systems are connected']
      : c.status === 'paused'
        ? ['warn', 'Paused: nothing is synced until it is resumed']
        : c.status === 'needs_reauth'
          ? ['bad', 'QuickBooks or ServiceM8 needs you to sign in again']
          : ['bad', 'Disconnected'];
  const reason = c.statusReason ? ` (${esc(c.statusReason)})` : '';
  return `<p><strong class="${cls}">${text}</strong>${reason}. ${qbo}; ${sm8}.</p>`;
}

/** Each API's budget in words: the day and the minute, who used it, and any slowdown or pause (issue 12). */
function budget(usages: BudgetUsage[]): string {
  if (!usages.some((b) => b.today > 0 || b.slowdown < 1 || b.cooldownUntil || b.bulkPaused))
    return '<p class="muted">No calls to ServiceM8 or QuickBooks in the last 24 hours.</p>';
  const items = usages.flatMap((b) => {
    const name = esc(API_NAMES[b.api] ?? b.api);
    const lane = (l: string) => b.byLane.find((x) => x.lane === l)?.today ?? 0;
    const who =
      `invoices, payments and edits you asked for: ${lane('interactive')}; ` +
      `keeping linked records in step: ${lane('live')}; background work: ${lane('bulk')}`;
    const day =
      b.perDayLimit === null
        ? `<li>${name}: ${b.today} calls in the last 24 hours (${who})</li>`
        : `<li>${name}: ${b.today} of ${b.perDayLimit} calls used in the last 24 hours, ` +
          `${Math.max(0, b.perDayLimit - b.today)} left (${who})</li>`;
    const minute =
      `<li>${name}: ${b.lastMinute} of ${b.perMinuteLimit} calls used in the last minute, ` +
      `${Math.max(0, b.perMinuteLimit - b.lastMinute)} left</li>`;
    const notes: string[] = [];
    if (b.slowdown < 1)
      notes.push(
        `<li class="warn">${name} asked the sync to slow down: it runs at ${Math.round(b.slowdown * 100)} % ` +
          'of its usual speed and speeds up again by itself within minutes.</li>',
      );
    if (b.cooldownUntil)
      notes.push(
        `<li class="warn">${name} asked the sync to wait: calls resume at ${esc(when(new Date(b.cooldownUntil)))}.</li>`,
      );
    if (b.bulkPaused)
      notes.push(
        `<li class="warn">${esc(b.bulkPaused.reason)} Until about ${esc(when(new Date(b.bulkPaused.until)))}.</li>`,
      );
    return [day, minute, ...notes];
  });
  return `<ul>${items.join('')}</ul>`;
}

function held(view: ConnectionView, csrf: string | null): string {
  if (!view.held.length) return '<p class="ok">Nothing needs your attention.</p>';
  const rows = view.held.map((r) => {
    const button =
      r.jobUuid && csrf !== null
        ? `<form method="post" action="/status/resync">` +
          `<input type="hidden" name="connection" value="${esc(view.connection.id)}">` +
          `<input type="hidden" name="jobUuid" value="${esc(r.jobUuid)}">` +
          `<input type="hidden" name="csrf" value="${esc(csrf)}">` +
          `<button type="submit" aria-label="Sync ${esc(r.label)} again">Sync again</button></form>`
        : '';
    return (
      `<tr><td data-label="Record">${esc(r.label)}</td>` +
      `<td data-label="Problem">${esc(STATE_WORDS[r.state] ?? r.state)}${r.reason ? `: ${esc(r.reason)}` : ''}</td>` +
      `<td data-label="Since">${esc(when(r.since))}</td><td>${button}</td></tr>`
    );
  });
  return (
    '<table><thead><tr><th>Record</th><th>Problem</th><th>Since</th><th></th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

function exportsTable(list: RecentExport[]): string {
  if (!list.length) return '<p class="muted">No invoice sent to QuickBooks yet.</p>';
  const rows = list.map(
    (e) =>
      `<tr><td data-label="Invoice">${esc(e.label)}</td><td data-label="Amount">${esc(money(e.totalCents))}</td>` +
      `<td data-label="Sent">${esc(when(e.exportedAt))}</td>` +
      `<td data-label="Took">${esc(duration(e.latencySeconds))}</td></tr>`,
  );
  return (
    '<table><thead><tr><th>Invoice</th><th>Amount</th><th>Sent to QuickBooks</th>' +
    `<th>Time from approval</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

function webhooks(w: WebhookHealth): string {
  const problems = w.failed + w.unrouted;
  return (
    `<p>Last change notice received: ${esc(when(w.lastReceivedAt))}. ` +
    `${w.pending} waiting to be handled; ` +
    `<span class="${problems ? 'warn' : 'ok'}">${w.failed} could not be handled, ${w.unrouted} not needed by the sync</span>.</p>`
  );
}

function connectionSection(view: ConnectionView, csrf: string | null): string {
  const c = view.connection;
  return (
    `<section class="conn"><h2>${esc(c.name || c.id)}</h2>${health(c)}` +
    `<h3>Needs your attention</h3>${held(view, csrf)}` +
    `<h3>Recently sent to QuickBooks</h3>${exportsTable(view.exports)}` +
    `<h3>API budget</h3>${budget(view.budget)}` +
    `<h3>Change notices (webhooks)</h3>${webhooks(view.webhooks)}</section>`
  );
}

/** The whole page; `csrf` null: no resync buttons; `notice` a one-line message at the top. */
export function statusPageHtml(views: ConnectionView[], csrf: string | null, notice: string | null): string {
  const body = views.length
    ? views.map((v) => connectionSection(v, csrf)).join('')
    : '<p>No connection yet: connect QuickBooks and ServiceM8 first (see the README).</p>';
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>Sync status</title><style>${CSS}</style></head><body><main>` +
    '<h1>ServiceM8 to QuickBooks: sync status</h1>' +
    `<p class="muted">As of ${esc(when(new Date()))}. Reload the page to see the latest.</p>` +
    (notice ? `<p class="note" role="status">${esc(notice)}</p>` : '') +
    `${body}<form method="post" action="/logout"><button type="submit">Sign out</button></form>` +
    '</main></body></html>'
  );
}
