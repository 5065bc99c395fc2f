/**
 * A recorded local execution read as the steps Step Functions' TestState API can replay one by one: each state's
 * input, what the local run made of it (output and next state, a caught error, a retry, the execution's failure),
 * and for a Task attempt what its service answered, to be mocked. The one place that reads the recorder's events
 * for replay, so the conformance tool does not depend on how the recorder keeps them.
 *
 * The service's answer is taken from the record's task calls (the parameters sent and the answer before
 * ResultSelector and ResultPath). A record made before the recorder kept them holds only the state's output, from which
 * the answer is reconstructed where the ASL allows it (ResultPath null: any answer; no ResultSelector: the value at
 * ResultPath; a ResultSelector of plain paths: inverted); such a step says so, since the ResultSelector and
 * ResultPath are then checked against an answer derived from their own local result.
 */
import { isObject } from '../../src/json-value.js';
import type { EventLog, RecordedExecution, TaskCall } from './execution-history.js';

/** The states of a definition, as far as replay reads them. */
export interface ReplayedStateDefinition {
  Type: string;
  Resource?: string;
  ResultPath?: string | null;
  ResultSelector?: Record<string, unknown>;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; ResultPath?: string | null }[];
}

/** What TestState reports of one state: the same fields, read from the local run. */
export interface StepOutcome {
  status: 'SUCCEEDED' | 'CAUGHT_ERROR' | 'RETRIABLE' | 'FAILED';
  output?: unknown;
  nextState?: string;
  error?: string;
  cause?: string;
}

export type TaskMock =
  | { result: unknown; source: 'recorded' | 'reconstructed' }
  | { error: string; cause?: string; retrierRetryCount?: number };

export interface RecordedStep {
  state: string;
  type: string;
  input: unknown;
  /** When the local run entered the state, and how many retries preceded this attempt: the Context object's. */
  enteredAt: number;
  retryCount: number;
  /** Task states only: what the service answered this attempt. */
  mock?: TaskMock;
  local: StepOutcome;
}

/** The value at a plain path (`$`, `$.a.b`); undefined where the path does not reach. */
function valueAt(value: unknown, path: string): unknown {
  let at = value;
  for (const key of path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean))
    at = isObject(at) ? at[key] : undefined;
  return at;
}

/** A Task's result that, through its ResultSelector and ResultPath, gives the state's recorded output. */
function reconstructResult(state: ReplayedStateDefinition, output: unknown): unknown {
  if (state.ResultPath === null) return {};
  const selected = valueAt(output, state.ResultPath ?? '$');
  if (!state.ResultSelector) return selected;
  const result: Record<string, unknown> = {};
  for (const [field, path] of Object.entries(state.ResultSelector)) {
    if (!field.endsWith('.$') || typeof path !== 'string' || !/^\$(\.[\w-]+)+$/.test(path)) continue;
    const keys = path.slice(2).split('.');
    let into = result;
    for (const key of keys.slice(0, -1)) into = (into[key] ??= {}) as Record<string, unknown>;
    into[keys.at(-1) as string] = valueAt(selected, `$.${field.slice(0, -2)}`);
  }
  return result;
}

/** The index of the Retry (or Catch) rule an error matches, as Step Functions picks it: the first that names it. */
function matchingRule(rules: { ErrorEquals: string[] }[] | undefined, error: string, type: string): number {
  return (rules ?? []).findIndex(({ ErrorEquals }) =>
    ErrorEquals.some(
      (name) =>
        name === error ||
        name === 'States.ALL' ||
        (name === 'States.TaskFailed' && type === 'Task' && error !== 'States.Timeout'),
    ),
  );
}

/** A recorded cause as text: the log may hold the thrown error itself, stored as its fields. */
const causeText = (cause: unknown): string | undefined =>
  typeof cause === 'string'
    ? cause
    : isObject(cause) && typeof cause.message === 'string'
      ? cause.message
      : cause === undefined || cause === null
        ? undefined
        : JSON.stringify(cause);

const sum = (counts: number[]): number => counts.reduce((total, count) => total + count, 0);

/** One visit of a state, as the log tells it so far. */
interface Visit {
  state: string;
  type: string;
  input: unknown;
  enteredAt: number;
  /** Retries so far, per Retry rule of the state. */
  retries: number[];
  failure?: EventLog;
}

/** What every step of a visit says of it. */
const visitFields = ({ state, type, input, enteredAt, retries }: Visit) => ({
  state,
  type,
  input,
  enteredAt,
  retryCount: sum(retries),
});

export function recordedSteps(
  execution: RecordedExecution,
  states: Record<string, ReplayedStateDefinition>,
): RecordedStep[] {
  const callsOf = new Map<string, TaskCall[]>();
  for (const call of execution.taskCalls ?? []) callsOf.set(call.state, [...(callsOf.get(call.state) ?? []), call]);

  const steps: RecordedStep[] = [];
  let visit: Visit | undefined;
  // A step ended by StateExited learns its next state from the next StateEntered (or none: the execution ended).
  let awaitingNext: RecordedStep | undefined;

  const attempt = (state: string): TaskCall | undefined => callsOf.get(state)?.shift();
  const failureOf = (event: EventLog | undefined) =>
    event && 'Error' in event ? { error: event.Error, cause: causeText(event.Cause) } : undefined;

  for (const event of execution.events) {
    switch (event.type) {
      case 'StateEntered': {
        if (awaitingNext) awaitingNext.local.nextState = event.state.name;
        awaitingNext = undefined;
        const definition = states[event.state.name];
        visit = {
          state: event.state.name,
          type: event.state.type,
          input: event.state.input,
          enteredAt: event.timestamp,
          retries: (definition?.Retry ?? []).map(() => 0),
        };
        break;
      }
      case 'StateFailed':
        if (visit) visit.failure = event;
        break;
      case 'StateRetried': {
        if (!visit) break;
        const failure = failureOf(visit.failure);
        const definition = states[visit.state];
        const rule = matchingRule(definition?.Retry, failure?.error ?? '', visit.type);
        if (visit.type === 'Task') attempt(visit.state);
        steps.push({
          ...visitFields(visit),
          ...(failure && { mock: { ...failure, retrierRetryCount: visit.retries[rule] ?? 0 } }),
          local: { status: 'RETRIABLE' },
        });
        if (rule >= 0) visit.retries[rule] = (visit.retries[rule] ?? 0) + 1;
        visit.failure = undefined;
        break;
      }
      case 'StateCaught':
        break;
      case 'StateExited': {
        if (!visit) break;
        const definition = states[visit.state] ?? { Type: visit.type };
        const failure = failureOf(visit.failure);
        const step: RecordedStep = {
          ...visitFields(visit),
          local: { status: failure ? 'CAUGHT_ERROR' : 'SUCCEEDED', output: event.state.output },
        };
        if (visit.type === 'Task') {
          const call = attempt(visit.state);
          if (failure) {
            const rule = matchingRule(definition.Retry, failure.error, visit.type);
            // The cause exactly as the integration reported it is where the Catch put the error; the log's copy is
            // the thrown error itself, whose stored form differs between recorder versions.
            const catcher = definition.Catch?.[matchingRule(definition.Catch, failure.error, visit.type)];
            const caught = catcher?.ResultPath ? valueAt(event.state.output, catcher.ResultPath) : undefined;
            const cause = isObject(caught) && typeof caught.Cause === 'string' ? caught.Cause : failure.cause;
            step.mock = { error: failure.error, cause, ...(rule >= 0 && { retrierRetryCount: visit.retries[rule] }) };
          } else if (call && 'result' in call) {
            step.mock = { result: call.result, source: 'recorded' };
          } else {
            step.mock = { result: reconstructResult(definition, event.state.output), source: 'reconstructed' };
          }
        }
        steps.push(step);
        awaitingNext = step;
        visit = undefined;
        break;
      }
      case 'ExecutionFailed': {
        if (!visit) break;
        // The state failed and nothing caught it: the execution's error is the state's.
        const definition = states[visit.state] ?? { Type: visit.type };
        const failure = { error: event.Error, cause: causeText(event.Cause) };
        const stateFailure = failureOf(visit.failure);
        const step: RecordedStep = {
          ...visitFields(visit),
          local: { status: 'FAILED', ...failure },
        };
        if (visit.type === 'Task' && stateFailure) {
          attempt(visit.state);
          const rule = matchingRule(definition.Retry, stateFailure.error, visit.type);
          step.mock = { ...failure, ...(rule >= 0 && { retrierRetryCount: visit.retries[rule] }) };
        }
        steps.push(step);
        visit = undefined;
        break;
      }
      default:
        break;
    }
  }
  return steps;
}
