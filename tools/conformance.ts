/**
 * `npm run conformance -- --execution <local execution id> --role-arn <arn>`: replays one execution the local runtime
 * recorded (the console's console.sqlite in the data folder) through Step Functions' TestState API, state by state,
 * each Task's service answer (or error) mocked from what the local run recorded, and reports every state whose
 * output, next state or outcome in AWS differs from the local run. It proves aws-local-stepfunctions against the
 * real interpreter on this workflow's own paths; nothing is called but TestState (mocked Tasks call no service).
 * Exit code: 0 every state agrees, 1 one differs, 2 it could not run (no credentials or Region, bad arguments, no
 * such execution).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  MockResponseValidationMode,
  SFNClient,
  TestStateCommand,
  type TestStateInput,
  type TestStateOutput,
} from '@aws-sdk/client-sfn';
import {
  DEFAULT_WORKFLOW_SETTINGS,
  loadOrderIntakeDefinition,
  type WorkflowResources,
  type WorkflowSettings,
} from '../asl/order-intake.js';
import { CONSOLE_DATABASE_FILE, ConsoleStore } from '../local/console/console-store.js';
import { LOCAL_ACCOUNT_ID, LOCAL_RESOURCES } from '../local/local-account.js';
import type { RecordedExecution } from '../local/stepfunctions/execution-history.js';
import {
  recordedSteps,
  type RecordedStep,
  type ReplayedStateDefinition,
  type StepOutcome,
} from '../local/stepfunctions/recorded-steps.js';
import { isObject } from '../src/json-value.js';
import { awsClient } from './aws-credentials.js';
import { cliArguments } from './cli-arguments.js';
import { MissingCredentialsError } from './signed-fetch.js';

const USAGE = `usage: npm run conformance -- --execution <id> --role-arn <arn> [--region <region>] [--data-dir <dir>]
       [--function-arn <arn>] [--table <name>] [--bus <name>] [--publish-fast-path ON|OFF]
       [--field-validation STRICT|PRESENT|NONE] [--dry-run]

Replays an execution the local runtime recorded (its id is the request id: the console's list, or the
x-amzn-RequestId header) through Step Functions' TestState API, one state at a time, each Task's service answer
mocked from the local run, and names every state whose output or next state in AWS differs from the local run.
  --role-arn          the role TestState runs as (the deployed state machine's role); needs states:TestState
  --data-dir          where \`npm start\` keeps its data (default DATA_DIR or .data)
  --function-arn, --table, --bus
                      the deployed stack's names (default: the local names, in the role's account and Region)
  --publish-fast-path the local run's setting (default ON, as \`npm start\`)
  --field-validation  how strictly TestState checks a mocked answer against the service's API (default STRICT)
  --dry-run           prints the TestState requests without calling AWS (no credentials needed)
Exit code: 0 every state agrees, 1 a state differs, 2 it could not run.`;

/** A state machine definition, as far as the replay reads it. */
interface Definition {
  States: Record<string, ReplayedStateDefinition>;
}

/** Intrinsics whose value no two runs share: such a state's output is not compared, its next state is. */
const RANDOM_INTRINSICS = /States\.(MathRandom|UUID)\(/;

export interface ReplayTarget {
  definition: Definition;
  roleArn?: string;
  /** Where TestState runs: the Context object names the execution there. */
  region: string;
  account: string;
  fieldValidation: MockResponseValidationMode;
}

/** The TestState request that replays one recorded step. */
export function testStateRequest(
  step: RecordedStep,
  execution: RecordedExecution,
  target: ReplayTarget,
): TestStateInput {
  // The definition last, so that a printed request reads from the state it tests.
  const request: Omit<TestStateInput, 'definition'> = {
    stateName: step.state,
    input: JSON.stringify(step.input ?? {}),
    inspectionLevel: 'DEBUG',
    ...(target.roleArn && { roleArn: target.roleArn }),
  };
  const mock = step.mock;
  const definition = JSON.stringify(target.definition);
  if (!mock) return { ...request, definition };
  request.mock =
    'result' in mock
      ? { result: JSON.stringify(mock.result ?? {}), fieldValidationMode: target.fieldValidation }
      : { errorOutput: { error: mock.error, ...(mock.cause !== undefined && { cause: mock.cause }) } };
  if ('error' in mock && mock.retrierRetryCount !== undefined) {
    request.stateConfiguration = { retrierRetryCount: mock.retrierRetryCount };
  }
  // TestState takes a Context object only beside a mock; it names the execution as AWS would have named it.
  const executionArn = `arn:aws:states:${target.region}:${target.account}:express:order-intake:${execution.name}`;
  request.context = JSON.stringify({
    Execution: { Id: executionArn, Name: execution.name, StartTime: new Date(execution.startedAt).toISOString() },
    State: {
      Name: step.state,
      EnteredTime: new Date(step.enteredAt).toISOString(),
      RetryCount: step.retryCount,
    },
  });
  return { ...request, definition };
}

const parsed = (text: string | undefined): unknown => (text === undefined ? undefined : JSON.parse(text));

/** The JSON paths at which two values differ, at most `limit` of them. */
function differingPaths(local: unknown, aws: unknown, path = '$', limit = 5): string[] {
  if (isDeepStrictEqual(local, aws)) return [];
  if (isObject(local) && isObject(aws) && !Array.isArray(local) && !Array.isArray(aws)) {
    const keys = [...new Set([...Object.keys(local), ...Object.keys(aws)])];
    return keys.flatMap((key) => differingPaths(local[key], aws[key], `${path}.${key}`, limit)).slice(0, limit);
  }
  return [`${path}: local ${JSON.stringify(local)}, AWS ${JSON.stringify(aws)}`];
}

/** What differs between the local run's outcome of a step and TestState's, said plainly; empty when they agree. */
export function differences(step: RecordedStep, answer: TestStateOutput, definition: Definition): string[] {
  const local: StepOutcome = step.local;
  const found: string[] = [];
  if (answer.status !== local.status) found.push(`status: local ${local.status}, AWS ${answer.status ?? 'none'}`);
  if (local.status === 'RETRIABLE') return found;
  if (local.status === 'FAILED') {
    if (answer.error !== local.error) found.push(`error: local ${local.error}, AWS ${answer.error ?? 'none'}`);
    if ((answer.cause ?? '') !== (local.cause ?? '')) {
      found.push(`cause: local ${JSON.stringify(local.cause)}, AWS ${JSON.stringify(answer.cause)}`);
    }
    return found;
  }
  if ((answer.nextState ?? null) !== (local.nextState ?? null)) {
    found.push(`next state: local ${local.nextState ?? '(end)'}, AWS ${answer.nextState ?? '(end)'}`);
  }
  if (!RANDOM_INTRINSICS.test(JSON.stringify(definition.States[step.state]))) {
    found.push(...differingPaths(local.output, parsed(answer.output)).map((path) => `output ${path}`));
  }
  return found;
}

type Replay = (request: TestStateInput) => Promise<TestStateOutput>;

function describeStep(step: RecordedStep): string {
  const mock = step.mock;
  const mocked = !mock
    ? ''
    : 'result' in mock
      ? mock.source === 'recorded'
        ? ', the service answer mocked as recorded'
        : ', the service answer reconstructed from the state output (an older record)'
      : `, the service error ${mock.error} mocked`;
  const ends = step.local.status === 'FAILED' ? `FAILED ${step.local.error}` : `${step.local.status}`;
  const next = step.local.nextState ? ` -> ${step.local.nextState}` : '';
  return `${step.state} (${step.type}${mocked}): ${ends}${next}`;
}

/** Replays each step; prints one line per state and returns how many differ. */
export async function replay(
  execution: RecordedExecution,
  target: ReplayTarget,
  send: Replay,
  log: (line: string) => void = console.log,
): Promise<number> {
  const steps = recordedSteps(execution, target.definition.States);
  let differing = 0;
  for (const step of steps) {
    const answer = await send(testStateRequest(step, execution, target));
    const found = differences(step, answer, target.definition);
    const random = RANDOM_INTRINSICS.test(JSON.stringify(target.definition.States[step.state]));
    const note = random ? ' (output not compared: a random intrinsic)' : '';
    if (found.length === 0) {
      log(`AGREE   ${describeStep(step)}${note}`);
    } else {
      differing += 1;
      log(`DIFFERS ${describeStep(step)}${note}`);
      for (const line of found) log(`          ${line}`);
    }
  }
  if (execution.status === 'TIMED_OUT') {
    log('NOTE    the execution timed out locally: the state it was in has no outcome to compare');
  }
  log(
    `conformance: ${steps.length - differing} of ${steps.length} states agree with AWS` +
      (differing > 0 ? `, ${differing} differ` : ''),
  );
  return differing;
}

class CannotRun extends Error {}

function readRecordedExecution(dataDir: string, id: string): RecordedExecution {
  const file = join(resolve(dataDir), CONSOLE_DATABASE_FILE);
  if (!existsSync(file)) {
    throw new CannotRun(
      `No ${CONSOLE_DATABASE_FILE} in ${dataDir}: run \`npm start\`, send an order, then pass its id.`,
    );
  }
  const store = new ConsoleStore(file, 'kept');
  try {
    const execution = store.execution(id);
    if (!execution) throw new CannotRun(`No execution ${id} recorded in ${file} (the console keeps the last day).`);
    return execution;
  } finally {
    store.close();
  }
}

/** The account of a role ARN: the definition names its resources in that account. */
const accountOf = (roleArn: string | undefined): string =>
  /^arn:[\w-]+:iam::(\d{12}):role\//.exec(roleArn ?? '')?.[1] ?? LOCAL_ACCOUNT_ID;

const oneOf = <T extends string>(flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T => {
  if (value === undefined) return fallback;
  const found = allowed.find((option) => option === value.toUpperCase());
  if (!found) throw new CannotRun(`--${flag} ${value}: expected one of ${allowed.join(', ')}`);
  return found;
};

type MakeClient = (region: string | undefined) => Promise<SFNClient>;

const defaultClient: MakeClient = (region) =>
  awsClient((settings) => new SFNClient(settings), 'conformance calls Step Functions’ TestState API', region);

export async function main(argv: string[], makeClient: MakeClient = defaultClient): Promise<number> {
  const { values } = cliArguments(USAGE, {
    args: argv,
    options: {
      execution: { type: 'string' },
      'role-arn': { type: 'string' },
      region: { type: 'string' },
      'data-dir': { type: 'string' },
      'function-arn': { type: 'string' },
      table: { type: 'string' },
      bus: { type: 'string' },
      'publish-fast-path': { type: 'string' },
      'field-validation': { type: 'string' },
      'dry-run': { type: 'boolean' },
    },
  });
  try {
    if (!values.execution) throw new CannotRun(`--execution is required\n${USAGE}`);
    const dryRun = values['dry-run'] === true;
    const roleArn = values['role-arn'];
    if (!dryRun && !roleArn) throw new CannotRun(`--role-arn is required (or --dry-run)\n${USAGE}`);
    const settings: WorkflowSettings = {
      PublishFastPath: oneOf(
        'publish-fast-path',
        values['publish-fast-path'],
        ['ON', 'OFF'],
        DEFAULT_WORKFLOW_SETTINGS.PublishFastPath,
      ),
    };
    const fieldValidation = oneOf(
      'field-validation',
      values['field-validation'],
      Object.values(MockResponseValidationMode),
      MockResponseValidationMode.STRICT,
    );
    const execution = readRecordedExecution(values['data-dir'] ?? (process.env.DATA_DIR || '.data'), values.execution);

    const client = dryRun ? undefined : await makeClient(values.region);
    // A dry run names some Region in the ARNs it prints; a real one, the Region TestState runs in.
    const region = client ? await client.config.region() : (values.region ?? process.env.AWS_REGION ?? 'us-east-1');
    const account = accountOf(roleArn);
    const resources: WorkflowResources = {
      ValidateFunctionArn:
        values['function-arn'] ?? `arn:aws:lambda:${region}:${account}:function:order-intake-validate`,
      OrdersTableName: values.table ?? LOCAL_RESOURCES.tableName,
      EventBusName: values.bus ?? LOCAL_RESOURCES.busName,
    };
    const target: ReplayTarget = {
      definition: loadOrderIntakeDefinition(resources, settings) as Definition,
      roleArn,
      region,
      account,
      fieldValidation,
    };
    console.log(`conformance: execution ${execution.name} (${execution.status} locally), TestState in ${region}`);
    if (!client) {
      for (const step of recordedSteps(execution, target.definition.States)) {
        console.log(JSON.stringify(testStateRequest(step, execution, target)));
      }
      return 0;
    }
    const differing = await replay(execution, target, (request) => client.send(new TestStateCommand(request)));
    return differing === 0 ? 0 : 1;
  } catch (error) {
    if (error instanceof CannotRun || error instanceof MissingCredentialsError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main(process.argv.slice(2));
