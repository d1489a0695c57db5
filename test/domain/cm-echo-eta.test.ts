/**
 * Issue 12, clients and materials: the pure parts of echo confirmation (does a record read back hold what we
 * wrote?) and of the onboarding ETA that `sm8qbo onboard --follow` shows.
 */
import {
  holdsWhatWeWrote,
  isEchoOfOurWrite,
  onlyOurEcho,
  sameValue,
} from '../../domain/clients-materials/echo';
import { emptyPhase, etaText, onboardingEta, type OnboardingProgress } from '../../domain/onboarding';
import { cmReadWorkflowId, connectionOfWorkflowId } from '../../domain/workflow-ids';

describe('issue 12: the echo of our own write, confirmed by a read', () => {
  it('CM-2: a record read back holds what we sent, as the API writes values back', () => {
    const sent = { name: 'Acme', price: '12.50', active: 1, billing_address: '', sparse: true, Id: '7' };
    expect(holdsWhatWeWrote(sent, { name: 'Acme', price: 12.5, active: '1', edit_date: 'x' })).toBe(true);
    expect(holdsWhatWeWrote(sent, { name: 'Acme', price: '12.5', active: 1, billing_address: null })).toBe(
      true,
    );
    expect(holdsWhatWeWrote(sent, { name: 'Acme Pty', price: '12.50', active: 1 })).toBe(false);
    expect(holdsWhatWeWrote(sent, { name: 'Acme', price: '13', active: 1 })).toBe(false);
  });

  it('CM-2: QuickBooks objects compare field by field; booleans against 0/1', () => {
    expect(sameValue({ Line1: '1 St', City: 'Sydney' }, { Line1: '1 St', City: 'Sydney', Id: '3' })).toBe(
      true,
    );
    expect(sameValue({ Line1: '1 St', City: 'Sydney' }, { Line1: '2 St', City: 'Sydney' })).toBe(false);
    expect(sameValue(true, 1)).toBe(true);
    expect(sameValue(false, '1')).toBe(false);
  });

  it('CM-2: only our echo: QuickBooks by the SyncToken we were answered; ServiceM8 by the copy we held', () => {
    const qbo = { sent: { Id: '5', SyncToken: '2', CompanyName: 'A' }, syncToken: '3' };
    expect(onlyOurEcho('qbo', qbo, { Id: '5', SyncToken: '3', CompanyName: 'A' }, undefined)).toBe(true);
    expect(onlyOurEcho('qbo', qbo, { Id: '5', SyncToken: '4', CompanyName: 'A' }, undefined)).toBe(false);
    const sm8 = { sent: { email: 'new@x' }, syncToken: null };
    const copy = { uuid: 'c', email: 'new@x', phone: '1', edit_date: '2026-01-01 00:00:00' };
    const read = { uuid: 'c', email: 'new@x', phone: '1', edit_date: '2026-01-01 00:00:09', mobile: '' };
    expect(onlyOurEcho('sm8', sm8, read, copy)).toBe(true);
    // Someone changed another field in the echo window: not only our echo.
    expect(onlyOurEcho('sm8', sm8, { ...read, phone: '2' }, copy)).toBe(false);
    expect(onlyOurEcho('sm8', sm8, { ...read, email: 'other@x' }, copy)).toBe(false);
  });

  it("CM-2: an event is our echo when the time it names is our write's (or it names none)", () => {
    const at = Date.parse('2026-12-01T10:00:05Z');
    const w = { writtenAtMs: at, lastUpdated: '2026-12-01T21:00:04+11:00' };
    expect(isEchoOfOurWrite('qbo', w, '2026-12-01T10:00:04.400Z')).toBe(true);
    expect(isEchoOfOurWrite('qbo', w, '2026-12-01T10:00:09.000Z')).toBe(false);
    expect(isEchoOfOurWrite('sm8', w, '2026-12-01 10:00:04')).toBe(true);
    expect(isEchoOfOurWrite('sm8', w, '2026-12-01 10:00:12')).toBe(false);
    expect(isEchoOfOurWrite('sm8', w, null)).toBe(true);
  });

  it('CM-2: a webhook that comes before our write is answered is its echo, however long the write takes', () => {
    // Sent at 10:00:05; the record's change time is the server's commit, any time after (a slow answer).
    const sent = { writtenAtMs: Date.parse('2026-12-01T10:00:05Z'), lastUpdated: null, inFlight: true };
    expect(isEchoOfOurWrite('sm8', sent, '2026-12-01 10:00:12')).toBe(true);
    expect(isEchoOfOurWrite('sm8', sent, '2026-12-01 10:00:04')).toBe(true);
    // Made well before we sent: someone else's edit.
    expect(isEchoOfOurWrite('sm8', sent, '2026-12-01 09:59:30')).toBe(false);
    // QuickBooks names its LastUpdatedTime, which only the answer tells: taken for ours, confirmed by a read.
    expect(isEchoOfOurWrite('qbo', sent, '2026-12-01T10:00:09.000Z')).toBe(true);
    // Once answered, the window is the answer's again.
    expect(isEchoOfOurWrite('sm8', { ...sent, inFlight: false }, '2026-12-01 10:00:12')).toBe(false);
  });

  it('OPS-4: the bulk read of a connection is cm-read/<connection>, and log lines find its connection', () => {
    expect(cmReadWorkflowId('acme')).toBe('cm-read/acme');
    expect(connectionOfWorkflowId(cmReadWorkflowId('acme'))).toBe('acme');
  });
});

describe('issue 12: the onboarding ETA', () => {
  const at = (s: number) => Date.parse('2026-12-01T00:00:00Z') + s * 1000;
  const progress = (
    customers: [number, number | null],
    items: [number, number | null],
  ): OnboardingProgress => ({
    connectionId: 'x',
    run: 1,
    state: 'running',
    startedBy: 'admin',
    startedAt: new Date(at(0)).toISOString(),
    finishedAt: null,
    phases: [
      { ...emptyPhase('taxcodes'), state: 'done', total: 3 },
      { ...emptyPhase('customers'), state: 'running', done: customers[0], total: customers[1] },
      { ...emptyPhase('items'), state: 'pending', done: items[0], total: items[1] },
    ],
  });

  it('OPS-2: records left at the pace so far; "+" while a phase is not counted yet', () => {
    expect(onboardingEta(progress([100, 400], [0, 200]), at(50))).toEqual({ seconds: 250, partial: false });
    expect(onboardingEta(progress([100, 400], [0, null]), at(50))).toEqual({ seconds: 150, partial: true });
    expect(etaText({ seconds: 250, partial: false })).toBe('ETA 4m 10s');
    expect(etaText({ seconds: 150, partial: true })).toBe('ETA 2m 30s+');
    expect(etaText({ seconds: 9, partial: false })).toBe('ETA 9s');
  });

  it('OPS-2: no ETA before the first record, and none once done', () => {
    expect(onboardingEta(progress([0, 400], [0, null]), at(5))).toBeNull();
    expect(etaText(null)).toBe('ETA …');
    expect(onboardingEta({ ...progress([400, 400], [200, 200]), state: 'done' }, at(60))).toBeNull();
  });
});
