/**
 * What bench/budget.ts reads from Temporal's histories (event types, times, activity names and attempts are
 * readable; payloads stay encrypted and are not needed): where an approval's time went (waiting vs working),
 * and how many history events and billable actions one invoice lifecycle costs.
 */
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

type Event = temporal.api.history.v1.IHistoryEvent;
const ET = temporal.api.enums.v1.EventType;

export interface Histories {
  /** Every run of the workflow (continue-as-new included), oldest first; empty when there is none. */
  of(workflowId: string): Promise<Event[][]>;
  close(): Promise<void>;
}

/**
 * Histories read through the raw workflow service: the client's `list` and `fetchHistory` decode memos and
 * payloads with the default converter, which cannot open the product's encrypted payloads (nor need to).
 */
export async function openHistories(address: string, namespace = 'default'): Promise<Histories> {
  const connection = await Connection.connect({ address });
  const svc = connection.workflowService;
  return {
    async of(workflowId) {
      const query = `WorkflowId = '${workflowId.replace(/'/g, "\\'")}'`;
      const listed = await svc.listWorkflowExecutions({ namespace, query, pageSize: 100 });
      const runs = (listed.executions ?? [])
        .map((e) => ({ runId: e.execution?.runId ?? '', start: tsMs(e.startTime) }))
        .filter((r) => r.runId)
        .sort((a, b) => a.start - b.start);
      const out: Event[][] = [];
      for (const r of runs) {
        const events: Event[] = [];
        let nextPageToken: Uint8Array | undefined;
        do {
          const page = await svc.getWorkflowExecutionHistory({
            namespace,
            execution: { workflowId, runId: r.runId },
            maximumPageSize: 1000,
            nextPageToken,
          });
          events.push(...(page.history?.events ?? []));
          nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
        } while (nextPageToken);
        out.push(events);
      }
      return out;
    },
    close: () => connection.close(),
  };
}

const tsMs = (t: temporal.api.history.v1.IHistoryEvent['eventTime']): number =>
  Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

export const eventMs = (e: Event): number => tsMs(e.eventTime);

/**
 * Billable actions as Temporal Cloud counts them, estimated from a history: a workflow started (each run), a
 * signal received, each activity attempt, a timer, a search-attribute or memo upsert, a marker (patch, side
 * effect, local activities), a child workflow started, a signal sent, an update accepted. Queries and
 * heartbeats leave no event and are not counted.
 */
export function estimateActions(runs: Event[][]): {
  events: number;
  actions: number;
  parts: Record<string, number>;
} {
  const parts: Record<string, number> = {};
  const add = (k: string, n = 1) => (parts[k] = (parts[k] ?? 0) + n);
  let events = 0;
  for (const run of runs) {
    events += run.length;
    const attempts = new Map<string, number>();
    for (const e of run) {
      if (e.eventType === ET.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
        const a = e.activityTaskStartedEventAttributes;
        attempts.set(String(a?.scheduledEventId), a?.attempt ?? 1);
      }
    }
    for (const e of run) {
      switch (e.eventType) {
        case ET.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
          add('workflow started');
          break;
        case ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
          add('signals');
          break;
        case ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
          add('activity attempts', attempts.get(String(e.eventId)) ?? 0);
          break;
        case ET.EVENT_TYPE_TIMER_STARTED:
          add('timers');
          break;
        case ET.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        case ET.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
          add('search attribute / memo upserts');
          break;
        case ET.EVENT_TYPE_MARKER_RECORDED:
          add('markers');
          break;
        case ET.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
          add('child workflows');
          break;
        case ET.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
          add('signals sent');
          break;
        case ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
          add('updates');
          break;
        default:
          break;
      }
    }
  }
  const actions = Object.values(parts).reduce((n, v) => n + v, 0);
  return { events, actions, parts };
}

export interface TimeSplit {
  totalMs: number;
  /** Approval → the owner's signal or start in Temporal (webhook, API, routing). */
  intakeMs: number;
  /** Activities scheduled but not yet started: no free worker slot, failed attempts and retry backoff. */
  queuedMs: number;
  /** Inside activities: waiting for a governor permit and the API calls themselves. */
  runningMs: number;
  /** The rest: workflow tasks, timers, the owner's own waits. */
  otherMs: number;
  retries: number;
  /** The activities that took longest (queued + running), e.g. "createQboInvoice 12.3 s (q 10.1, 2 tries)". */
  top: string[];
}

/** Where the time between approval (`t0`) and the invoice in QuickBooks (`t1`), both epoch ms, went. */
export function splitTime(runs: Event[][], t0: number, t1: number): TimeSplit {
  const clip = (a: number, b: number) => Math.max(0, Math.min(b, t1) - Math.max(a, t0));
  const events = runs.flat();
  const intakeEvent = events.find(
    (e) =>
      eventMs(e) >= t0 - 200 &&
      (e.eventType === ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED ||
        e.eventType === ET.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
  );
  const intakeMs = intakeEvent ? Math.min(t1 - t0, Math.max(0, eventMs(intakeEvent) - t0)) : 0;
  let queuedMs = 0;
  let runningMs = 0;
  let retries = 0;
  const per: Array<{ name: string; q: number; r: number; attempts: number }> = [];
  for (const run of runs) {
    const byId = new Map(run.map((e) => [String(e.eventId), e]));
    const started = new Map<string, Event>();
    const closed = new Map<string, Event>();
    for (const e of run) {
      const s = e.activityTaskStartedEventAttributes?.scheduledEventId;
      if (s != null) started.set(String(s), e);
      const c =
        e.activityTaskCompletedEventAttributes?.scheduledEventId ??
        e.activityTaskFailedEventAttributes?.scheduledEventId ??
        e.activityTaskTimedOutEventAttributes?.scheduledEventId ??
        e.activityTaskCanceledEventAttributes?.scheduledEventId;
      if (c != null) closed.set(String(c), e);
    }
    for (const [id, e] of byId) {
      if (e.eventType !== ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) continue;
      const sched = eventMs(e);
      const st = started.get(id);
      const cl = closed.get(id);
      const startMs = st ? eventMs(st) : cl ? eventMs(cl) : t1;
      const endMs = cl ? eventMs(cl) : t1;
      const q = clip(sched, startMs);
      const r = st ? clip(startMs, endMs) : 0;
      if (q + r === 0) continue;
      const attempts = st?.activityTaskStartedEventAttributes?.attempt ?? 1;
      queuedMs += q;
      runningMs += r;
      retries += Math.max(0, attempts - 1);
      per.push({ name: e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?', q, r, attempts });
    }
  }
  const totalMs = t1 - t0;
  const top = per
    .sort((a, b) => b.q + b.r - (a.q + a.r))
    .slice(0, 3)
    .map(
      (p) =>
        `${p.name} ${s(p.q + p.r)} (queued ${s(p.q)}${p.attempts > 1 ? `, ${p.attempts} attempts` : ''})`,
    );
  return {
    totalMs,
    intakeMs,
    queuedMs,
    runningMs,
    otherMs: Math.max(0, totalMs - intakeMs - queuedMs - runningMs),
    retries,
    top,
  };
}

export const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
