/**
 * `npm run conformance`: executions recorded by the real local workflow (DynamoDB Local, the console's store) are
 * replayed through a TestState made with aws-sdk-client-mock. The stand-in answers as TestState does, by running
 * the one state named in the request from the definition it is sent (aws-local-stepfunctions, the Task answered
 * with the request's mock, every other state a stop), so an agreement is computed from the request, not copied
 * from the record; an AWS that answers otherwise in one state is named.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { SFNClient, TestStateCommand, type TestStateInput, type TestStateOutput } from '@aws-sdk/client-sfn';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { mockClient } from 'aws-sdk-client-mock';
import { ConsoleStore } from '../../local/console/console-store.js';
import { TaskError } from '../../local/stepfunctions/task-integrations.js';
import { main } from '../../tools/conformance.js';
import { recordingWorkflow } from '../support/recording-workflow.js';
import { freshOrdersTable, testDynamoDbClient } from '../support/dynamodb.js';
import { validOrder, workflowInput } from '../support/order-samples.js';
import { withoutAwsCredentials } from '../support/no-aws-credentials.js';

const ROLE = 'arn:aws:iam::123456789012:role/OrderIntake-WorkflowRole';
const sfn = mockClient(SFNClient);
let dir: string;

/** TestState, as far as this workflow's states need: one state run from the request alone. */
async function testStateStandIn(request: TestStateInput): Promise<TestStateOutput> {
  const definition = JSON.parse(request.definition ?? '{}') as { States: Record<string, Record<string, unknown>> };
  const name = request.stateName ?? '';
  const states = Object.fromEntries(
    Object.entries(definition.States).map(([other, state]) => [other, other === name ? state : { Type: 'Succeed' }]),
  );
  // The other states are stops no path leads to: the checker of the whole machine would refuse it.
  const machine = new StateMachine(
    { ...definition, StartAt: name, States: states } as unknown as StateMachineDefinition,
    {
      validationOptions: { noValidate: true },
    },
  );
  const mock = request.mock;
  const run = machine.run(JSON.parse(request.input ?? '{}') as Parameters<StateMachine['run']>[0], {
    overrides: {
      taskResourceLocalHandlers: {
        [name]: async () => {
          if (mock?.errorOutput) throw new TaskError(mock.errorOutput.error ?? '', mock.errorOutput.cause ?? '');
          return JSON.parse(mock?.result ?? '{}') as never;
        },
      },
      retryIntervalOverrides: { [name]: 0 },
      waitTimeOverrides: { [name]: 0 },
    },
  });
  const answer: TestStateOutput = { status: 'SUCCEEDED' };
  for await (const event of run.eventLogs) {
    if (event.type === 'StateRetried') return { status: 'RETRIABLE' };
    if (event.type === 'StateCaught') answer.status = 'CAUGHT_ERROR';
    if (event.type === 'StateExited' && event.state.name === name) answer.output = JSON.stringify(event.state.output);
    if (event.type === 'StateEntered' && event.state.name !== name) answer.nextState = event.state.name;
    if (event.type === 'ExecutionFailed') return { status: 'FAILED', error: event.Error, cause: String(event.Cause) };
  }
  return answer;
}

/** The tool's printed lines and exit code, its TestState client the mock. */
async function conformance(...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
  const error = jest.spyOn(console, 'error').mockImplementation((line: string) => void lines.push(line));
  try {
    const code = await main(['--data-dir', dir, ...args], async () => new SFNClient({ region: 'eu-west-1' }));
    return { code, out: lines.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conformance-'));
  const store = new ConsoleStore(join(dir, 'console.sqlite'));
  const { workflow } = recordingWorkflow(await freshOrdersTable(testDynamoDbClient()), store);
  await workflow.startSyncExecution(workflowInput(JSON.stringify(validOrder), 'req-accepted'), 'req-accepted');
  await workflow.startSyncExecution(workflowInput(JSON.stringify(validOrder), 'req-duplicate'), 'req-duplicate');
  await workflow.startSyncExecution(workflowInput('{"customerId": 7}', 'req-rejected'), 'req-rejected');
  store.close();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  sfn.reset();
});
afterEach(() => {
  sfn.reset();
});

describe('a recorded execution that AWS runs the same way', () => {
  beforeEach(() => {
    sfn.on(TestStateCommand).callsFake(testStateStandIn);
  });

  it.each(['req-accepted', 'req-duplicate', 'req-rejected'])('%s: every state agrees, exit 0', async (id) => {
    const { code, out } = await conformance('--execution', id, '--role-arn', ROLE);
    expect(out).not.toContain('DIFFERS');
    expect(out).toMatch(/conformance: (\d+) of \1 states agree with AWS$/);
    expect(out).toMatch(/^AGREE {3}Validate \(Task, the service answer mocked as recorded\)/m);
    expect(code).toBe(0);
  });

  it('sends one TestState per state visited, each Task with its service answer or error mocked', async () => {
    await conformance('--execution', 'req-duplicate', '--role-arn', ROLE);
    const requests = sfn.commandCalls(TestStateCommand).map((call) => call.args[0].input);
    expect(requests.map((request) => request.stateName)).toEqual([
      'Validate',
      'IsValid',
      'StartPersistAttempts',
      'Persist',
      'ReadLock',
      'WhoHoldsLock',
      'ReadLockExpiry',
      'HasClientKey',
      'IsLockFound',
      'IsLockLive',
      'DuplicateProblem',
      'RespondDuplicate',
    ]);
    const byState = Object.fromEntries(requests.map((request) => [request.stateName, request]));
    expect(byState.Persist?.mock?.errorOutput).toEqual({
      error: 'DynamoDb.TransactionCanceledException',
      cause: expect.stringContaining('ConditionalCheckFailed'),
    });
    expect(JSON.parse(byState.ReadLock?.mock?.result ?? '{}')).toMatchObject({
      Item: { orderId: { S: expect.any(String) } },
    });
    expect(byState.IsValid?.mock).toBeUndefined();
    expect(byState.Validate?.roleArn).toBe(ROLE);
    // The definition names the resources in the role's account, never the local Region.
    expect(byState.Validate?.definition).toContain(
      'arn:aws:lambda:eu-west-1:123456789012:function:order-intake-validate',
    );
  });
});

describe('a recorded execution that AWS runs differently', () => {
  it('names the state whose output differs, exit 1', async () => {
    sfn.on(TestStateCommand).callsFake(async (request: TestStateInput) => {
      const answer = await testStateStandIn(request);
      if (request.stateName !== 'RespondAccepted') return answer;
      const output = JSON.parse(answer.output ?? '{}') as { statusCode: number };
      return { ...answer, output: JSON.stringify({ ...output, statusCode: 200 }) };
    });
    const { code, out } = await conformance('--execution', 'req-accepted', '--role-arn', ROLE);
    expect(out).toMatch(/^DIFFERS RespondAccepted .*\n\s+output \$\.statusCode: local 202, AWS 200$/m);
    expect(out.match(/^DIFFERS/gm)).toHaveLength(1);
    expect(code).toBe(1);
  });

  it('names the state whose next state differs, exit 1', async () => {
    sfn.on(TestStateCommand).callsFake(async (request: TestStateInput) => {
      const answer = await testStateStandIn(request);
      return request.stateName === 'IsValid' ? { ...answer, nextState: 'RespondRejected' } : answer;
    });
    const { code, out } = await conformance('--execution', 'req-accepted', '--role-arn', ROLE);
    expect(out).toMatch(/^DIFFERS IsValid .*\n\s+next state: local StartPersistAttempts, AWS RespondRejected$/m);
    expect(code).toBe(1);
  });
});

describe('running it', () => {
  it('--dry-run prints the requests and calls nothing, without credentials or a role', async () => {
    const { code, out } = await conformance('--execution', 'req-rejected', '--dry-run', '--region', 'eu-west-1');
    const requests = out
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as TestStateInput);
    expect(requests.map((request) => request.stateName)).toEqual(['Validate', 'IsValid', 'RespondRejected']);
    // The Lambda integration's whole answer, as the recorder kept it: not only what ResultSelector keeps of it.
    expect(JSON.parse(requests[0]?.mock?.result ?? '{}')).toMatchObject({
      StatusCode: 200,
      Payload: { outcome: 'REJECTED' },
    });
    expect(sfn.commandCalls(TestStateCommand)).toHaveLength(0);
    expect(code).toBe(0);
  });

  it('without credentials says so plainly and exits 2', async () => {
    const lines: string[] = [];
    const error = jest.spyOn(console, 'error').mockImplementation((line: string) => void lines.push(line));
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const code = await withoutAwsCredentials(() =>
        main(['--data-dir', dir, '--execution', 'req-accepted', '--role-arn', ROLE]),
      );
      expect(code).toBe(2);
    } finally {
      error.mockRestore();
      log.mockRestore();
    }
    expect(lines.join('\n')).toMatch(/^No AWS credentials found by the default chain .*TestState API\.$/);
  });

  it('an unknown execution, or no role without --dry-run, exits 2 saying what is missing', async () => {
    expect(await conformance('--execution', 'req-unknown', '--role-arn', ROLE)).toMatchObject({
      code: 2,
      out: expect.stringContaining('No execution req-unknown recorded'),
    });
    expect(await conformance('--execution', 'req-accepted')).toMatchObject({
      code: 2,
      out: expect.stringContaining('--role-arn is required'),
    });
  });

  it('--help prints the usage and exits 0', () => {
    const help = spawnSync(process.execPath, ['--import', 'tsx', 'tools/conformance.ts', '--help'], {
      encoding: 'utf8',
    });
    expect(help.stdout).toMatch(/^usage: npm run conformance -- --execution <id>/);
    expect(help.status).toBe(0);
  });
});
