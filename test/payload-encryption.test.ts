/**
 * Issue 10 end to end: a real invoice workflow carrying a client's name and billing email runs on the real
 * Temporal server through the product's codec; its history, read back by a client WITHOUT the codec, holds
 * encrypted payloads only (inputs, activity inputs and results, a signal's argument, memos, a failure's
 * message) and never the name or the email, while search attributes stay readable. With the codec,
 * everything decodes and the history replays.
 */
import { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { signalInvoice } from '../routing/routes';
import { invoiceWorkflowId } from '../domain/workflow-ids';
import { ENCRYPTED_ENCODING, isEncrypted, KEY_ID_METADATA } from '../infra/payload-codec';
import { invoiceStatusQuery, type InvoiceStatus } from '../workflows/messages';
import { testDataConverter, testEnv } from './helpers/env';
import { decryptInPlace, payloadsIn } from './helpers/histories';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { startWorld, type World } from './helpers/world';
import { waitUntil } from './helpers/wait';

const CONN = 'enc';
const NAME = 'Harper Quinn Plumbing';
const EMAIL = 'harper.quinn@billing.example';

let w: World;
let f: Sm8Fixtures;
let realm: string;

beforeAll(async () => {
  w = await startWorld();
  f = new Sm8Fixtures(w.sm8);
  f.taxRate('GST', '10');
  realm = (await w.connect(CONN)).realmId;
});
afterAll(async () => {
  await w.close();
});

async function waitStatus(jobUuid: string, ok: (s: InvoiceStatus) => boolean): Promise<InvoiceStatus> {
  const handle = w.h.client.workflow.getHandle(invoiceWorkflowId(CONN, jobUuid));
  return waitUntil(`the invoice owner of ${jobUuid}`, () => handle.query(invoiceStatusQuery), ok);
}

const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString();
const historyBytes = (h: temporal.api.history.v1.IHistory) =>
  Buffer.from(temporal.api.history.v1.History.encode(h).finish());
/** "5.activityTaskCompletedEventAttributes.result.payloads.0" -> "activityTaskCompletedEventAttributes.result" */
const kindOf = (at: string) =>
  at
    .split('.')
    .filter((s) => !/^\d+$/.test(s) && s !== 'payloads')
    .slice(0, 2)
    .join('.');

describe('issue 10: workflow histories hold no personal data', () => {
  let workflowId: string;
  let history: temporal.api.history.v1.IHistory;
  let plain: Client;

  beforeAll(async () => {
    // The client's name is a QuickBooks supplier's (the invoice blocks, its memo quotes the name) and the first
    // customer create fails with an answer quoting it (a failure message in the history); then it exports,
    // with the billing email in the activities' results and inputs.
    const vendor = w.qbo.control.upsertRecord('Vendor', { DisplayName: NAME }, realm);
    w.qbo.control.addFault({
      method: 'POST',
      path: '/customer(\\?|$)',
      status: 500,
      count: 3, // every send: the client sends a failed call again twice (apis/transient-retry.ts)
      body: {
        Fault: {
          Error: [
            { Message: 'An application error has occurred', Detail: `Could not save ${NAME}`, code: '10000' },
          ],
          type: 'SystemFault',
        },
      },
    });
    const job = f.job({
      clientUuid: f.client(NAME, EMAIL),
      lines: [{ name: 'Labour', qty: '1', unit: '100', tax: 'GST' }],
    });
    workflowId = invoiceWorkflowId(CONN, job);
    await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
    const blocked = await waitStatus(job, (s) => s.state === 'BLOCKED');
    expect(blocked.reason?.text).toContain(NAME);
    // A signal with an argument (the workflow ignores it; the argument is stored in the history).
    await w.h.client.workflow.getHandle(workflowId).signal('resync', { requestedBy: EMAIL });
    w.qbo.control.upsertRecord('Vendor', { Id: vendor.Id, DisplayName: `${NAME} (supplier)` }, realm);
    await waitStatus(job, (s) => s.state === 'EXPORTED' && s.idle);

    plain = new Client({ connection: w.h.client.connection }); // no codec, as anyone reading Temporal's store
    history = await plain.workflow.getHandle(workflowId).fetchHistory();
  });

  it('encrypts every payload of the history: inputs, activity inputs and results, signal, memo, failure', () => {
    // Search attributes: below. Patch markers ("payments-after-export") are written by the SDK's core, not
    // through the codec: they hold the name of a code change, nothing else.
    const found = payloadsIn(history.events).filter(
      ({ at }) => !/searchAttributes|\.header\.|markerRecordedEventAttributes\.details\.patch-data/.test(at),
    );
    const notEncrypted = found.filter(({ payload }) => !isEncrypted(payload)).map(({ at }) => at);
    expect(notEncrypted).toEqual([]);
    expect(new Set(found.map(({ payload }) => text(payload.metadata?.[KEY_ID_METADATA])))).toEqual(
      new Set(['test']),
    );
    expect([...new Set(found.map(({ at }) => kindOf(at)))]).toEqual(
      expect.arrayContaining([
        'workflowExecutionStartedEventAttributes.input',
        'activityTaskScheduledEventAttributes.input',
        'activityTaskCompletedEventAttributes.result',
        'workflowExecutionSignaledEventAttributes.input',
        'workflowPropertiesModifiedEventAttributes.upsertedMemo',
        'activityTaskStartedEventAttributes.lastFailure',
      ]),
    );
    // The retried activity's failure: its message travels encrypted, not as text.
    const failure = history.events?.find((e) => e.activityTaskStartedEventAttributes?.lastFailure)
      ?.activityTaskStartedEventAttributes?.lastFailure;
    expect(failure?.message).toBe('Encoded failure');
  });

  it('has the name and the email nowhere in the stored history (any field, any encoding)', () => {
    const bytes = historyBytes(history);
    expect(bytes.includes(NAME)).toBe(false);
    expect(bytes.includes(EMAIL)).toBe(false);
    const json = historyToJSON(history);
    for (const needle of [NAME, EMAIL]) {
      expect(json).not.toContain(needle);
      expect(json).not.toContain(Buffer.from(needle).toString('base64').slice(0, 16));
    }
  });

  it('keeps search attributes readable (history, describe) while the memo is encrypted', async () => {
    const attrs = payloadsIn(history.events).filter(({ at }) => at.includes('searchAttributes'));
    expect(attrs.length).toBeGreaterThan(0);
    expect(attrs.filter(({ payload }) => text(payload.metadata?.encoding) !== 'json/plain')).toEqual([]);
    const raw = await plain.workflowService.describeWorkflowExecution({
      namespace: 'default',
      execution: { workflowId },
    });
    const fields = raw.workflowExecutionInfo?.searchAttributes?.indexedFields ?? {};
    const read = (k: string) => defaultPayloadConverter.fromPayload(fields[k] as Payload);
    expect(read('ConnectionId')).toBe(CONN);
    expect(read('SyncState')).toBe('EXPORTED');
    expect(read('EntityType')).toBe('invoice');
    const memo = Object.values(raw.workflowExecutionInfo?.memo?.fields ?? {});
    expect(memo.length).toBeGreaterThan(0);
    expect(memo.every((p) => isEncrypted(p))).toBe(true);
  });

  it('answers a query encrypted to a client without the codec, in clear to the product', async () => {
    const raw = await plain.workflowService.queryWorkflow({
      namespace: 'default',
      execution: { workflowId },
      query: { queryType: invoiceStatusQuery.name },
    });
    const answer = raw.queryResult?.payloads?.[0] as Payload;
    expect(text(answer.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(await w.h.client.workflow.getHandle(workflowId).query(invoiceStatusQuery)).toMatchObject({
      state: 'EXPORTED',
    });
  });

  it('decodes everything with the codec: the memo quotes the name, the activities carry the email', async () => {
    const decoded = temporal.api.history.v1.History.decode(historyBytes(history));
    await decryptInPlace(decoded);
    expect(payloadsIn(decoded.events).filter(({ payload }) => isEncrypted(payload))).toEqual([]);
    const memos = decoded.events
      .map((e) => e.workflowPropertiesModifiedEventAttributes?.upsertedMemo?.fields?.reason)
      .filter((p): p is temporal.api.common.v1.IPayload => Boolean(p))
      .map((p) => defaultPayloadConverter.fromPayload(p));
    expect(memos.some((m) => String(m).includes(NAME))).toBe(true);
    const bytes = historyBytes(decoded);
    expect(bytes.includes(EMAIL)).toBe(true);
    const described = await w.h.client.workflow.getHandle(workflowId).describe();
    // Exported: the reason is cleared (null reads back as undefined in the TypeScript SDK).
    expect(Object.keys(described.memo ?? {}).sort()).toEqual(['reason', 'reasonCode']);
    expect(described.memo?.reason).toBeUndefined();
  });

  it('replays through the codec, and not without it', async () => {
    const bundle = { codePath: testEnv.workflowBundlePath };
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: bundle, dataConverter: testDataConverter() },
        history,
        workflowId,
      ),
    ).resolves.toBeUndefined();
    await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, workflowId)).rejects.toThrow();
  });
});
