/**
 * `npm run loadtest -- --url <ApiUrl> --rate <rps> --duration <s> [--auth iam|none] [--region <r>]
 * [--idempotency-key <key> | --idempotency-key-per-request]`: drives a deployed stack (or the local service) with the
 * bench's open-model workload: a constant arrival rate of new orders, latencies corrected for coordinated omission,
 * per-second progress, then a readback of every 202. With a key per request, each order is a keyed one (its key
 * item written in the same transaction: the write path at 6 write units); with one key, every request is the same
 * keyed order, so all but the first are replays (the replay path).
 * Requests are SigV4-signed from the default AWS credential chain when the API uses IAM auth (an execute-api URL).
 * Orders it sends are real orders. Exit code: 0 every 202 read back and no 5xx, 1 otherwise, 2 it could not run.
 */
import { CLIENT_KEY_HEADER, readClientKeyHeader } from '../src/client-key.js';
import { readBack, runOpenLoad, tableRow } from './open-load.js';
import { cliArguments } from './cli-arguments.js';
import { apiFetchOrExit } from './signed-fetch.js';

const USAGE = `usage: npm run loadtest -- --url <ApiUrl> --rate <rps> --duration <s> [--auth iam|none] [--region <r>]
                        [--idempotency-key <key> | --idempotency-key-per-request]
  Sends new orders at a constant rate (open model), then reads every 202 back. Exit 0 when every 202 is read back
  and nothing answered 5xx, 1 otherwise, 2 when it cannot run.
  --idempotency-key <key>         every request sends this Idempotency-Key and one body: the first is an order,
                                  the rest replay it (202, Idempotent-Replayed: true); the replay path
  --idempotency-key-per-request   a fresh Idempotency-Key per request, each with its own body: keyed orders, the
                                  write path with the key item (6 write units an order instead of 4)`;

async function main(): Promise<number> {
  const { values } = cliArguments(USAGE, {
    options: {
      url: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      auth: { type: 'string' },
      region: { type: 'string' },
      'idempotency-key': { type: 'string' },
      'idempotency-key-per-request': { type: 'boolean' },
    },
  });
  const oneKey = values['idempotency-key'];
  const keyPerRequest = values['idempotency-key-per-request'] === true;
  if (oneKey !== undefined && keyPerRequest) {
    console.error(`--idempotency-key and --idempotency-key-per-request exclude each other\n${USAGE}`);
    return 2;
  }
  const reading = oneKey === undefined ? undefined : readClientKeyHeader(oneKey);
  if (reading && !reading.ok) {
    console.error(`--idempotency-key: ${reading.message}\n${USAGE}`);
    return 2;
  }
  const rate = Number(values.rate);
  const duration = Number(values.duration);
  if (!(rate > 0) || !(duration > 0)) {
    console.error(USAGE);
    return 2;
  }
  const { api, auth, url } = await apiFetchOrExit('loadtest', USAGE, values);
  const keys = oneKey !== undefined ? `, one Idempotency-Key` : keyPerRequest ? ', an Idempotency-Key per request' : '';
  console.log(`loadtest: ${url} (auth ${auth}), ${rate} orders/s for ${duration} s, open model${keys}`);
  const run = `${Date.now().toString(36)}`;
  const order = (index: number) =>
    JSON.stringify({
      customerId: 'CUST-LOADTEST',
      items: [{ sku: 'SKU-00012345', quantity: 1 + (index % 100) }],
      clientReference: `loadtest-${run}-${index}`,
    });
  const result = await runOpenLoad({
    api,
    rate,
    durationSeconds: duration,
    // With one key, one body (that of request 0): the key's order, then its replays.
    body: (index) => order(oneKey === undefined ? index : 0),
    headers: (index): Record<string, string> => {
      const clientKey = oneKey ?? (keyPerRequest ? `loadtest-${run}-${index}` : undefined);
      return clientKey === undefined ? {} : { [CLIENT_KEY_HEADER]: clientKey };
    },
    progress: (line) =>
      console.log(
        `  ${String(line.second).padStart(3)} s  sent ${line.sent}  answered ${line.answered}  in flight ` +
          `${line.inFlight}  ${JSON.stringify(line.statuses)}`,
      ),
  });
  // A replay names the order again: each is read back once.
  const missing = await readBack(api, [...new Set(result.accepted)]);
  const { accepted, problems, replayed, ...figures } = result;
  console.table([tableRow(figures)]);
  const fiveHundreds = Object.keys(result.statuses).filter((status) => status.startsWith('5'));
  console.log(
    JSON.stringify(
      {
        accepted: accepted.length,
        ...(oneKey !== undefined || keyPerRequest ? { replayed } : {}),
        readBack: new Set(accepted).size - missing.length,
        missing: missing.slice(0, 20),
        problems: problems.slice(0, 20),
      },
      null,
      2,
    ),
  );
  return missing.length === 0 && fiveHundreds.length === 0 ? 0 : 1;
}

process.exitCode = await main();
