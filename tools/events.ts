/**
 * `npm run events -- tail [--pattern '<EventBridge pattern>'] [--from-start]`: prints the local bus's events as they
 * arrive, one JSON line each (DATA_DIR as for npm start, default .data).
 * `npm run events -- test '<event JSON>' [--pattern '<pattern>']`: says which of the stack's rules match the event,
 * or whether the given pattern does. Exit code: 0 done (for test: at least one match), 1 no match, 2 could not run.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { matchesPattern, type EventPattern } from '../local/eventbridge/event-pattern.js';
import { EVENTS_DATABASE_FILE } from '../local/eventbridge/events-database.js';
import { synthesizedStack } from '../cdk/lib/synthesis-cache.js';
import { cliArguments } from './cli-arguments.js';
import { EventLogReader, parseEvent, parsePattern, rulesOf } from './local-events.js';
import { errorMessage } from '../src/json-value.js';

const USAGE = `usage: npm run events -- tail [--pattern '<EventBridge pattern>'] [--from-start]
       npm run events -- test '<event JSON>' [--pattern '<EventBridge pattern>']`;

const sleep = (ms: number): Promise<void> => new Promise((wake) => setTimeout(wake, ms));

async function tail(pattern: EventPattern | undefined, fromStart: boolean): Promise<number> {
  const dataDir = resolve(process.env.DATA_DIR || '.data');
  const path = join(dataDir, EVENTS_DATABASE_FILE);
  if (!existsSync(path)) {
    console.error(`no local event bus in ${dataDir}: start the service first (npm start), with the same DATA_DIR`);
    return 2;
  }
  const reader = new EventLogReader(path);
  let seq = fromStart ? 0 : reader.lastSeq();
  console.error(`following the local bus in ${path}${pattern ? ' (pattern applied)' : ''}; Ctrl-C stops`);
  let stopping = false;
  process.once('SIGINT', () => (stopping = true));
  process.once('SIGTERM', () => (stopping = true));
  while (!stopping) {
    const { events, lastSeq } = reader.eventsAfter(seq, pattern);
    for (const event of events) console.log(JSON.stringify(event.envelope));
    if (lastSeq === seq) await sleep(200);
    seq = lastSeq;
  }
  reader.close();
  return 0;
}

async function test(eventText: string, pattern: EventPattern | undefined): Promise<number> {
  const event = parseEvent(eventText);
  if (pattern) {
    const matched = matchesPattern(pattern, event);
    console.log(matched ? 'the pattern matches' : 'the pattern does not match');
    return matched ? 0 : 1;
  }
  const rules = rulesOf((await synthesizedStack()).template);
  let matches = 0;
  for (const rule of rules) {
    const matched = matchesPattern(rule.eventPattern, event);
    if (matched) matches += 1;
    console.log(`${matched ? 'MATCH   ' : 'no match'}  ${rule.name}  ${rule.description}`);
  }
  console.log(`${matches} of the stack's ${rules.length} rules match`);
  return matches > 0 ? 0 : 1;
}

async function main(): Promise<number> {
  const { positionals, values } = cliArguments(USAGE, {
    allowPositionals: true,
    options: { pattern: { type: 'string' }, 'from-start': { type: 'boolean', default: false } },
  });
  const [command, eventText] = positionals;
  try {
    const pattern = values.pattern === undefined ? undefined : parsePattern(values.pattern);
    if (command === 'tail') return await tail(pattern, values['from-start']);
    if (command === 'test' && eventText !== undefined) return await test(eventText, pattern);
  } catch (error) {
    console.error(errorMessage(error));
    return 2;
  }
  console.error(USAGE);
  return 2;
}

process.exitCode = await main();
