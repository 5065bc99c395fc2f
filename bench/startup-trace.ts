/**
 * Where the time of `npm start` goes: starts it (as the bench's start-up comparison does) with
 * ORDER_INTAKE_STARTUP_TRACE=1, sends the same first request, and prints each step the service marked, in ms from the
 * spawn. `npx tsx bench/startup-trace.ts [rounds]` (default 3); each round on a fresh data folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killGroup, launchService, stopGracefully } from '../local/service-process.js';

const rounds = Number(process.argv[2] ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'order-intake-startup-trace-'));
const now = (): number => performance.timeOrigin + performance.now();
try {
  for (let round = 1; round <= rounds; round += 1) {
    const spawned = now();
    const running = await launchService({
      dataDir: join(dir, `round-${round}`),
      via: 'npm-start',
      env: { ORDER_INTAKE_STARTUP_TRACE: '1' },
    });
    const marks: [number, string][] = [[now(), 'launcher: listening line read']];
    let status: number;
    try {
      const answer = await fetch(`${running.url}/orders/01KBXQ7C0000000000000000AA`);
      await answer.arrayBuffer();
      status = answer.status;
      marks.push([now(), 'launcher: first answer read']);
    } finally {
      await stopGracefully(running);
      await killGroup(running);
    }
    let polls = 0;
    for (const [, at, step] of running.output().matchAll(/^startup-trace (\S+) (.*)$/gm)) {
      if (step === 'dynamodb: not answering yet') polls += 1;
      else marks.push([Number(at), String(step)]);
    }
    marks.sort(([a], [b]) => a - b);
    console.log(`round ${round}: first answer ${status}; ${polls} readiness polls refused`);
    let previous = spawned;
    for (const [at, step] of marks) {
      console.log(
        `${Math.round(at - spawned)
          .toString()
          .padStart(6)} ms  +${Math.round(at - previous)
          .toString()
          .padStart(5)} ms  ${step}`,
      );
      previous = at;
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
