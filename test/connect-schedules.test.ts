import { deleteConnectionSchedules } from '../client/schedules';
import { startWorld } from './helpers/world';

it('TRG-2: connecting creates the poll, tax-poll and reconcile schedules of the connection; reconnecting keeps one each', async () => {
  const w = await startWorld({ schedules: true });
  try {
    await w.connect('sched');
    await w.connect('sched'); // reconnect: idempotent
    for (const id of ['poll/sched', 'tax-poll/sched', 'reconcile/sched']) {
      const d = await w.h.client.schedule.getHandle(id).describe();
      expect(d.scheduleId).toBe(id);
      expect(d.action.type).toBe('startWorkflow');
    }
    const ours: string[] = [];
    for await (const s of w.h.client.schedule.list())
      if (s.scheduleId.endsWith('/sched')) ours.push(s.scheduleId);
    expect(ours.sort()).toEqual(['poll/sched', 'reconcile/sched', 'tax-poll/sched']);
  } finally {
    await deleteConnectionSchedules(w.h.client, 'sched');
    await w.close();
  }
});
