import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { changesOf } from '../../local/console/console-data.js';
import { failureOf } from '../../local/console/pages.js';
import {
  layout,
  runOf,
  stateGraphSvg,
  transitionsOf,
  type StateMachineDefinition,
} from '../../local/console/state-graph.js';
import { recordable, type RecordedExecution } from '../../local/stepfunctions/execution-history.js';

const definition = JSON.parse(
  readFileSync(new URL('../../asl/order-intake.asl.json', import.meta.url), 'utf8'),
) as StateMachineDefinition;

/** As the workflow records an execution that the validate fault switch failed (Validate's error caught). */
const failed: RecordedExecution = {
  name: 'req-failed',
  arn: 'arn:aws:states:local:000000000000:express:order-intake:req-failed',
  stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:order-intake',
  status: 'FAILED',
  startedAt: 1_000,
  stoppedAt: 1_015,
  events: [
    { type: 'ExecutionStarted', timestamp: 1_000, input: { requestId: 'req-failed' } },
    { type: 'StateEntered', timestamp: 1_000, state: { name: 'Validate', type: 'Task', input: { a: 1 } } },
    {
      type: 'StateRetried',
      timestamp: 1_005,
      state: { name: 'Validate', type: 'Task', input: {} },
      retry: { attempt: 1 },
    },
    recordable({
      type: 'StateFailed',
      timestamp: 1_010,
      state: { name: 'Validate', type: 'Task', input: {} },
      Error: 'Error',
      Cause: new Error('Validate failed (fault switch validate)'),
    }),
    { type: 'StateEntered', timestamp: 1_010, state: { name: 'InternalError', type: 'Fail', input: {} } },
    {
      type: 'StateFailed',
      timestamp: 1_011,
      state: { name: 'InternalError', type: 'Fail', input: {} },
      Error: 'Error',
      Cause: 'Error: Validate failed (fault switch validate)',
    },
    {
      type: 'ExecutionFailed',
      timestamp: 1_015,
      Error: 'Error',
      Cause: 'Error: Validate failed (fault switch validate)',
    },
  ] as RecordedExecution['events'],
};

describe('the state graph, drawn from the ASL', () => {
  it('places every state of the definition once, no two boxes on each other', () => {
    const { states } = layout(definition);
    expect(states.map((state) => state.name).sort()).toEqual(Object.keys(definition.States).sort());
    const spots = new Set(states.map((state) => `${state.x},${state.y}`));
    expect(spots.size).toBe(states.length);
    expect(states.find((state) => state.name === definition.StartAt)?.layer).toBe(0);
  });

  it('draws every arrow downwards but the loop back to Persist, so a shared handler sits below what leads to it', () => {
    const layer = new Map(layout(definition).states.map((state) => [state.name, state.layer]));
    const upwards = transitionsOf(definition).filter(
      (transition) => (layer.get(transition.to) ?? 0) <= (layer.get(transition.from) ?? 0),
    );
    expect(upwards.map(({ from, to }) => `${from} -> ${to}`)).toEqual(['PauseBeforePersist -> Persist']);
    expect(layer.get('InternalError')).toBeGreaterThan(layer.get('WasCancelled') ?? Infinity);
  });

  it('draws every transition of the definition: Next, Choices, Default and Catch', () => {
    const transitions = transitionsOf(definition);
    expect(transitions).toContainEqual({ from: 'Validate', to: 'IsValid', kind: 'next' });
    expect(transitions).toContainEqual({ from: 'IsValid', to: 'RespondRejected', kind: 'default' });
    expect(transitions).toContainEqual({ from: 'Persist', to: 'ReadLock', kind: 'catch' });
    expect(transitions).toContainEqual({ from: 'PauseBeforePersist', to: 'Persist', kind: 'next' });
    const svg = stateGraphSvg(definition).markup;
    expect(svg.match(/<path\s+class="edge /g)).toHaveLength(transitions.length);
  });

  it('marks one execution on it: the path taken, retries counted, the failing state red', () => {
    const run = runOf(failed);
    expect(run.states.get('Validate')).toEqual({ visits: 1, retries: 1, failed: true });
    expect([...run.taken]).toEqual(['Validate\u0000InternalError']);
    const svg = stateGraphSvg(definition, failed).markup;
    expect(svg).toMatch(/<g\s+class="state failed"\s+data-state="Validate"\s+data-retries="1"/);
    expect(svg).toMatch(/<g\s+class="state failed"\s+data-state="InternalError"/);
    expect(svg).toMatch(/<g\s+class="state not-visited"\s+data-state="Persist"/);
    expect(svg).toContain('href="#state-Validate"');
    expect(svg.match(/class="edge [a-z-]+ taken"/g)).toHaveLength(1);
  });
});

describe('an execution’s failure', () => {
  it('keeps a thrown cause as its text, not as {}', () => {
    const stateFailed = failed.events[3];
    expect(stateFailed && 'Cause' in stateFailed ? stateFailed.Cause : undefined).toBe(
      'Error: Validate failed (fault switch validate)',
    );
    expect(JSON.stringify(failed)).not.toContain('"Cause":{}');
  });

  it('names the error, the cause and the state where it started', () => {
    expect(failureOf(failed)).toEqual({
      error: 'Error',
      cause: 'Error: Validate failed (fault switch validate)',
      state: 'Validate',
    });
    expect(failureOf({ ...failed, status: 'TIMED_OUT' })).toMatchObject({
      error: 'States.Timeout',
      state: 'InternalError',
    });
    expect(failureOf({ ...failed, status: 'SUCCEEDED' })).toBeUndefined();
  });
});

describe('a state’s output as what changed from its input', () => {
  it('lists each path added, removed or changed, and nothing else', () => {
    const input = { requestId: 'r', body: 'b64', run: { attempt: 1, pause: 0 } };
    const output = { requestId: 'r', run: { attempt: 2, pause: 0 }, validation: { ok: true } };
    expect(changesOf(input, output)).toEqual({
      'removed $.body': 'b64',
      'changed $.run.attempt': { from: 1, to: 2 },
      'added $.validation': { ok: true },
    });
    expect(changesOf(input, input)).toEqual({});
    expect(changesOf({ 'odd key': 1 }, {})).toEqual({ 'removed $["odd key"]': 1 });
  });
});
