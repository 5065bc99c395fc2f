/**
 * `npm run loadtest -- --url <ApiUrl> --rate <rps> --duration <s> [--auth iam|none] [--region <r>]`: drives a
 * deployed stack (or the local service) with the bench's open-model workload: a constant arrival rate of new
 * orders, latencies corrected for coordinated omission, per-second progress, then a readback of every 202.
 * Requests are SigV4-signed from the default AWS credential chain when the API uses IAM auth (an execute-api URL).
 * Orders it sends are real orders. Exit code: 0 every 202 read back and no 5xx, 1 otherwise, 2 it could not run.
 */
import { readBack, runOpenLoad, tableRow } from './open-load.js';
import { cliArguments } from './cli-arguments.js';
import { apiFetchOrExit } from './signed-fetch.js';

const USAGE = 'usage: npm run loadtest -- --url <ApiUrl> --rate <rps> --duration <s> [--auth iam|none] [--region <r>]';

async function main(): Promise<number> {
  const { values } = cliArguments(USAGE, {
    options: {
      url: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      auth: { type: 'string' },
      region: { type: 'string' },
    },
  });
  const rate = Number(values.rate);
  const duration = Number(values.duration);
  if (!(rate > 0) || !(duration > 0)) {
    console.error(USAGE);
    return 2;
  }
  const { api, auth, url } = await apiFetchOrExit('loadtest', USAGE, values);
  console.log(`loadtest: ${url} (auth ${auth}), ${rate} orders/s for ${duration} s, open model`);
  const run = `${Date.now().toString(36)}`;
  const result = await runOpenLoad({
    api,
    rate,
    durationSeconds: duration,
    body: (index) =>
      JSON.stringify({
        customerId: 'CUST-LOADTEST',
        items: [{ sku: 'SKU-00012345', quantity: 1 + (index % 100) }],
        clientReference: `loadtest-${run}-${index}`,
      }),
    progress: (line) =>
      console.log(
        `  ${String(line.second).padStart(3)} s  sent ${line.sent}  answered ${line.answered}  in flight ` +
          `${line.inFlight}  ${JSON.stringify(line.statuses)}`,
      ),
  });
  const missing = await readBack(api, result.accepted);
  const { accepted, problems, ...figures } = result;
  console.table([tableRow(figures)]);
  const fiveHundreds = Object.keys(result.statuses).filter((status) => status.startsWith('5'));
  console.log(
    JSON.stringify(
      {
        accepted: accepted.length,
        readBack: accepted.length - missing.length,
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
