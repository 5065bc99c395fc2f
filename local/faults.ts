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
