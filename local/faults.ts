import { DynamoDBServiceException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * Fault switches: failures a user (or a test) turns on and off while the service runs, to watch what each promise
 * survives. `ORDER_INTAKE_FAULTS` sets them at start; RunningService.setFault flips them later.
 */
export const FAULT_DESCRIPTIONS = {
  bus: 'the event bus refuses every PutEvents (InternalException)',
  store: 'every call of the workflow to DynamoDB fails with a service fault (500 InternalServerError)',
  'slow-store':
    "the workflow's DynamoDB calls take 0.5-3 s more, before or after the call (around Persist's 2 s timeout)",
  validate: 'the Validate function throws',
  'events-disk-full': "the local event log's disk is full (SQLite answers SQLITE_FULL)",
} as const;
export type Fault = keyof typeof FAULT_DESCRIPTIONS;
export const FAULTS = Object.keys(FAULT_DESCRIPTIONS) as Fault[];

/** `ORDER_INTAKE_FAULTS`: a comma list of FAULTS; anything else is a mistake worth stopping for. */
export function parseFaults(value: string | undefined): Fault[] {
  const names = (value ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  const unknown = names.filter((name) => !(FAULTS as string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown fault(s) ${unknown.join(', ')}; known: ${FAULTS.join(', ')}`);
  return [...new Set(names)] as Fault[];
}

export class FaultSwitches {
  private readonly on: Set<Fault>;
  private readonly listeners: ((fault: Fault, on: boolean) => void)[] = [];

  constructor(initial: readonly Fault[] = []) {
    this.on = new Set(initial);
  }

  isOn(fault: Fault): boolean {
    return this.on.has(fault);
  }

  set(fault: Fault, on: boolean): void {
    if (on) this.on.add(fault);
    else this.on.delete(fault);
    for (const listener of this.listeners) listener(fault, on);
  }

  /** Called now for the switches that are on, and on every change after. */
  onChange(listener: (fault: Fault, on: boolean) => void): void {
    this.listeners.push(listener);
    for (const fault of this.on) listener(fault, true);
  }

  active(): Fault[] {
    return [...this.on];
  }
}

const randomBetween = (lowMs: number, highMs: number): number => lowMs + Math.random() * (highMs - lowMs);
const sleep = (ms: number): Promise<void> => new Promise((wake) => setTimeout(wake, ms));

/**
 * The store's fault switches on the workflow's client: `store` fails every call with DynamoDB's own service fault
 * (500 InternalServerError) before anything is sent; `slow-store` delays a call before it is sent or its answer after
 * (the write committed, the answer late), either way around the Persist task's timeout.
 */
export function storeFaults(client: DynamoDBClient, switches: FaultSwitches): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      if (switches.isOn('store')) {
        throw new DynamoDBServiceException({
          name: 'InternalServerError',
          $fault: 'server',
          $metadata: { httpStatusCode: 500 },
          message: 'the order store is unavailable (fault switch store)',
        });
      }
      if (!switches.isOn('slow-store')) return next(args);
      const delayAnswer = Math.random() < 0.5;
      if (!delayAnswer) await sleep(randomBetween(500, 3_000));
      const result = await next(args);
      if (delayAnswer) await sleep(randomBetween(500, 3_000));
      return result;
    },
    { step: 'initialize', name: 'orderIntakeStoreFaults' },
  );
}

/** The Validate function, failing while the `validate` switch is on (as a function with a bug would). */
export const withValidateFault =
  <Event, Result>(handler: (event: Event) => Promise<Result>, switches: FaultSwitches) =>
  async (event: Event): Promise<Result> => {
    if (switches.isOn('validate')) throw new Error('Validate failed (fault switch validate)');
    return handler(event);
  };
