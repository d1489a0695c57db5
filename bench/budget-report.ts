/**
 * The figures of bench/budget.ts against the minimum a careful implementation needs (reasoned out in
 * docs/benchmarks.md, "API budget") and issue 12's targets, printed as one table.
 */
import { percentile } from './harness';
import { s } from './budget-history';

/** A latency sample; `censored` = it had not arrived when the benchmark stopped waiting (ms = the wait). */
export interface Sample {
  ms: number;
  censored?: boolean;
}

export interface Figures {
  size: string;
  perInvoice?: { sm8: number; qbo: number; n: number };
  clientQboToSm8?: { sm8: number; qbo: number; n: number };
  clientSm8ToQbo?: { sm8: number; qbo: number; n: number };
  paySm8ToQbo?: { sm8: number; qbo: number; n: number };
  payQboToSm8?: { sm8: number; qbo: number; n: number };
  onboarding?: {
    records: number;
    /** From onboarding's start to its end, as its progress records them. */
    ms: number;
    /** The bulk lane's ServiceM8 calls a minute (apis/governor/policy.ts laneMinuteLimit). */
    writeBound: number;
    sm8: number;
    qbo: number;
    sm8Writes: number;
    /**
     * Of those, the calls and writes about jobs (job, jobmaterial, jobpayment, note, attachment): the invoices
     * exported meanwhile (the world's approved jobs, the approvals made during onboarding), not onboarding's.
     */
    sm8Jobs?: { calls: number; writes: number };
    /** Until the ServiceM8 budget had headroom again (the owners' echo checks), background subtracted. */
    withTail?: { sm8: number; qbo: number; sm8Writes: number };
  };
  during: Sample[];
  settled: Sample[];
  monthEnd?: { n: number; ms: number; arrived: number };
  idlePerDay?: number;
  lifecycle?: { events: number; actions: number };
  share429?: { sm8: number; qbo: number; sm8Calls: number; qboCalls: number };
}

type Row = [figure: string, measured: string, minimum: string, target: string, met: string];

const f1 = (n: number) => n.toFixed(2);
const yes = (ok: boolean | undefined) => (ok === undefined ? '—' : ok ? 'yes' : 'NO');

function latency(samples: Sample[]): { text: string; p95: number; max: number } | undefined {
  if (samples.length === 0) return undefined;
  const ms = samples.map((x) => x.ms);
  const censored = samples.some((x) => x.censored);
  const p50 = percentile(ms, 50);
  const p95 = percentile(ms, 95);
  const max = Math.max(...ms);
  const mark = (v: number) => `${censored && v === max ? '>' : ''}${s(v)}`;
  return {
    text: `p50 ${mark(p50)}, p95 ${mark(p95)}, max ${mark(max)} (n=${samples.length})`,
    p95,
    max,
  };
}

export function figureRows(f: Figures): Row[] {
  const rows: Row[] = [];
  const calls = (c: { sm8: number; qbo: number } | undefined, what: string, min: string, target: string) => {
    if (!c) return;
    const total = c.sm8 + c.qbo;
    rows.push([
      what,
      `SM8 ${f1(c.sm8)} + QBO ${f1(c.qbo)} = ${f1(total)}`,
      min,
      target,
      target === '—' ? '—' : yes(total <= 3),
    ]);
  };
  if (f.perInvoice) {
    const p = f.perInvoice;
    rows.push([
      'SM8 calls per exported invoice (batch of 20, echoes incl.)',
      f1(p.sm8),
      '≈1.05',
      '≤ 3',
      yes(p.sm8 <= 3),
    ]);
    rows.push([
      'QBO calls per exported invoice (batch of 20, echoes incl.)',
      f1(p.qbo),
      '1',
      '≤ 2',
      yes(p.qbo <= 2),
    ]);
  }
  calls(f.clientQboToSm8, 'calls per client change, QBO → SM8', '1 + 1', '—');
  calls(f.clientSm8ToQbo, 'calls per client change, SM8 → QBO', '1 + 1', '—');
  calls(f.paySm8ToQbo, 'calls per payment, SM8 → QBO', '1 + 1', '≤ 3 in all');
  calls(f.payQboToSm8, 'calls per payment, QBO → SM8', '1 + 1', '≤ 3 in all');
  if (f.onboarding) {
    const o = f.onboarding;
    const t = o.withTail;
    const both = (done: number, settled: number | undefined) =>
      `${f1(done)} until done${settled === undefined ? '' : `, ${f1(settled)} until settled`}`;
    rows.push([
      `SM8 calls per onboarded record (${o.records} records)`,
      both(o.sm8 / o.records, t && t.sm8 / o.records),
      `≈${f1(o.sm8Writes / o.records)} (its writes)`,
      '—',
      '—',
    ]);
    rows.push([
      'QBO calls per onboarded record',
      both(o.qbo / o.records, t && t.qbo / o.records),
      '≈0.01 (pages)',
      '—',
      '—',
    ]);
    const ratio = o.sm8 / Math.max(1, o.sm8Writes);
    const tailRatio = t && t.sm8 / Math.max(1, t.sm8Writes);
    rows.push([
      'SM8 calls during onboarding ÷ SM8 writes',
      `${both(ratio, tailRatio)} (${o.sm8}/${o.sm8Writes}${t ? `; ${Math.round(t.sm8)}/${t.sm8Writes}` : ''})`,
      '≈1.0',
      '≤ 1.2',
      yes((tailRatio ?? ratio) <= 1.2),
    ]);
    const writes = o.sm8Writes - (o.sm8Jobs?.writes ?? 0);
    const perMinute = writes / Math.max(1, o.ms / 60_000);
    rows.push([
      `onboarding's SM8 writes a minute ÷ write bound (the bulk lane's ${o.writeBound}/min)`,
      `${f1(perMinute / Math.max(1, o.writeBound))} (${perMinute.toFixed(1)}/min: ${writes} writes in ${s(o.ms)})`,
      '1.0',
      '≥ 0.9',
      yes(perMinute >= 0.9 * o.writeBound),
    ]);
    if (o.sm8Jobs) {
      const cm = (o.sm8 - o.sm8Jobs.calls) / Math.max(1, o.sm8Writes - o.sm8Jobs.writes);
      rows.push([
        '  the same without the invoices exported meanwhile',
        `${f1(cm)} (${o.sm8 - o.sm8Jobs.calls}/${o.sm8Writes - o.sm8Jobs.writes}; jobs' calls ${o.sm8Jobs.calls})`,
        '≈1.0',
        '≤ 1.2',
        yes(cm <= 1.2),
      ]);
    }
  }
  const during = latency(f.during);
  if (during)
    rows.push([
      'approval → invoice during onboarding',
      during.text,
      '≈1 s',
      'p95 ≤ 5 s, max ≤ 10 s',
      yes(during.p95 <= 5000 && during.max <= 10_000),
    ]);
  const settled = latency(f.settled);
  if (settled)
    rows.push([
      'approval → invoice once settled',
      settled.text,
      '≈1 s',
      'p95 ≤ 2 s',
      yes(settled.p95 <= 2000),
    ]);
  if (f.monthEnd) {
    const m = f.monthEnd;
    const all = m.arrived === m.n;
    rows.push([
      `${m.n} invoices approved at once: all in QBO after`,
      `${all ? '' : '>'}${s(m.ms)}${all ? '' : ` (${m.arrived}/${m.n} arrived)`}`,
      `≈${s(Math.ceil((m.n * 1.05 * 60_000) / 171))} (SM8 171/min)`,
      '200 within 3 min',
      m.n >= 200 ? yes(all && m.ms <= 180_000) : '— (fewer than 200)',
    ]);
  }
  if (f.idlePerDay !== undefined)
    rows.push([
      'SM8 calls a day at idle',
      String(Math.round(f.idlePerDay)),
      '≈900 (6 lists / 10 min)',
      '≤ 3,000',
      yes(f.idlePerDay <= 3000),
    ]);
  if (f.lifecycle)
    rows.push([
      'Temporal actions per invoice lifecycle (est.)',
      `${f.lifecycle.actions} (${f.lifecycle.events} history events)`,
      '≈15',
      '≤ 30',
      yes(f.lifecycle.actions <= 30),
    ]);
  if (f.share429) {
    const q = f.share429;
    const pct = (n: number, of: number) => (of ? (100 * n) / of : 0);
    rows.push([
      '429 share, ServiceM8',
      `${pct(q.sm8, q.sm8Calls).toFixed(2)} % (${q.sm8}/${q.sm8Calls})`,
      '0 %',
      '< 0.5 %',
      yes(pct(q.sm8, q.sm8Calls) < 0.5),
    ]);
    rows.push([
      '429 share, QuickBooks',
      `${pct(q.qbo, q.qboCalls).toFixed(2)} % (${q.qbo}/${q.qboCalls})`,
      '0 %',
      '< 0.5 %',
      yes(pct(q.qbo, q.qboCalls) < 0.5),
    ]);
  }
  return rows;
}

export function table(rows: Row[]): string {
  const head: Row = ['figure', 'measured', 'minimum', 'target', 'met?'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (r: Row) => `  ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w)) as Row), ...rows.map(line)].join('\n');
}
