import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from '@jest/globals';
import { openEventsDatabase } from '../../local/eventbridge/events-database.js';
import { LocalEventBus, type EventEnvelope } from '../../local/eventbridge/local-event-bus.js';
import { RuleDelivery } from '../../local/eventbridge/rule-delivery.js';
import { orderAcceptedPattern } from '../../src/events/order-accepted.js';
import { eventually } from '../support/eventually.js';
import { folderForEachTest } from '../support/temp-folder.js';

const BUS = 'order-intake-test';
const moduleUrl = (path: string): string => new URL(path, import.meta.url).href;

/**
 * A separate process: puts one event, reports the acknowledgement, starts the archive rule with a target that
 * reports the delivery and then never answers — the process is killed between "target done" and "cursor moved".
 */
const child = (databasePath: string): string => `
  const { openEventsDatabase } = await import(${JSON.stringify(moduleUrl('../../local/eventbridge/events-database.ts'))});
  const { LocalEventBus } = await import(${JSON.stringify(moduleUrl('../../local/eventbridge/local-event-bus.ts'))});
  const { RuleDelivery } = await import(${JSON.stringify(moduleUrl('../../local/eventbridge/rule-delivery.ts'))});
  const { orderAcceptedEntry, orderAcceptedPattern } = await import(
    ${JSON.stringify(moduleUrl('../../src/events/order-accepted.ts'))}
  );
  const db = openEventsDatabase(${JSON.stringify(databasePath)});
  const bus = new LocalEventBus(db, { busName: ${JSON.stringify(BUS)} });
  const target = {
    deliver: (events) => {
      process.stdout.write('delivering ' + events.map((event) => event.id).join(',') + '\\n');
      return new Promise(() => {});
    },
  };
  new RuleDelivery(db, bus, [{ name: 'archive', eventPattern: orderAcceptedPattern, target }], { pollMs: 10 }).start();
  const detail = { orderId: '01KAZ0000000000000000CRASH', acceptedAt: '2026-11-25T10:00:00.000Z' };
  const result = await bus.putEvents([orderAcceptedEntry(${JSON.stringify(BUS)}, detail)]);
  process.stdout.write('acked ' + result.Entries[0].EventId + '\\n');
  setInterval(() => {}, 1000);
`;

/** Runs the child until it has printed both lines, then kills it with SIGKILL; returns what it printed. */
async function runAndKill(databasePath: string): Promise<{ acked: string; delivering: string }> {
  // The child needs none of jest's VM-module flags.
  const env = { ...process.env, NODE_OPTIONS: '' };
  const process_ = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child(databasePath)], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | null>((done) => process_.once('exit', (_code, signal) => done(signal)));
  const lines: Record<string, string> = {};
  let buffered = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not report in time: ${buffered}`)), 10_000);
    process_.once('exit', () => reject(new Error(`child exited early: ${buffered}`)));
    process_.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (const line of buffered.split('\n').slice(0, -1)) {
        const [word, value = ''] = line.split(' ');
        if (word) lines[word] = value;
      }
      if (lines.acked && lines.delivering) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  process_.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  return { acked: lines.acked ?? '', delivering: lines.delivering ?? '' };
}

const folder = folderForEachTest('local-bus-crash');

it('after kill -9, keeps every acknowledged event and delivers again what the cursor had not passed', async () => {
  const databasePath = join(folder(), 'events.sqlite');
  const { acked, delivering } = await runAndKill(databasePath);
  expect(delivering).toBe(acked);

  const db = openEventsDatabase(databasePath);
  try {
    const bus = new LocalEventBus(db, { busName: BUS });
    expect(bus.storedEvents().map((event) => event.envelope.id)).toEqual([acked]);

    const redelivered: EventEnvelope[] = [];
    const delivery = new RuleDelivery(
      db,
      bus,
      [
        {
          name: 'archive',
          eventPattern: orderAcceptedPattern,
          target: {
            deliver: async (events) => {
              redelivered.push(...events);
              return { failedEventIds: [] };
            },
          },
        },
      ],
      { pollMs: 10 },
    );
    expect(delivery.cursorOf('archive')).toBe(0);
    delivery.start();
    await eventually('the restarted rule delivers the event again', () => delivery.cursorOf('archive') !== 0);
    await delivery.stop();

    expect(redelivered.map((event) => event.id)).toEqual([acked]);
    expect(delivery.cursorOf('archive')).toBe(bus.storedEvents()[0]?.seq);
  } finally {
    db.close();
  }
});
