/**
 * The event log alone, without the service around it: `npx tsx bench/event-log-commit.ts`. 50 callers put one event
 * each, again and again, on a fresh log, with the group commit and with one transaction per call, alternately
 * (A/B/A/B), for BENCH_SECONDS each (default 3) and BENCH_PAIRS pairs (default 5). PutEvents answers only once its
 * event is stored, as the bus's contract says, so each figure is events stored and acknowledged per second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEventsDatabase } from '../local/eventbridge/events-database.js';
import { LocalEventBus } from '../local/eventbridge/local-event-bus.js';
import { latencyFigures } from '../tools/open-load.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const pairs = Number(process.env.BENCH_PAIRS ?? 5);
const callers = 50;

async function run(mode: 'group' | 'per-call', dir: string) {
  process.env.ORDER_INTAKE_EVENT_LOG_COMMIT = mode;
  const db = openEventsDatabase(join(dir, `${mode}-${Date.now()}.sqlite`));
  const bus = new LocalEventBus(db, { busName: 'bench' });
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  let sequence = 0;
  const caller = async (): Promise<void> => {
    while (performance.now() < deadline) {
      // About the size of an OrderAccepted event.
      const entry = {
        EventBusName: 'bench',
        Source: 'order-intake',
        DetailType: 'OrderAccepted',
        Detail: JSON.stringify({ orderId: String(++sequence).padStart(26, '0'), items: 'x'.repeat(300) }),
      };
      const sent = performance.now();
      await bus.putEvents([entry]);
      latencies.push(performance.now() - sent);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: callers }, caller));
  const elapsed = (performance.now() - started) / 1000;
  db.close();
  return {
    mode,
    'events/s': Math.round(latencies.length / elapsed),
    ...latencyFigures(latencies),
    load: loadavg()[0]?.toFixed(1),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'event-log-commit-'));
try {
  const rows: Awaited<ReturnType<typeof run>>[] = [];
  for (let pair = 0; pair < pairs; pair += 1) {
    rows.push(await run('group', dir), await run('per-call', dir));
  }
  console.table(rows);
  const ratios = Array.from({ length: pairs }, (_, pair) =>
    Number(((rows[pair * 2 + 1]?.['events/s'] ?? NaN) / (rows[pair * 2]?.['events/s'] ?? NaN)).toFixed(2)),
  );
  console.log(`per-call / group, events/s, each pair: ${ratios.join(', ')}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
