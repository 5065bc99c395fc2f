/**
 * The order-intake workflow, run locally: the same ASL file as in AWS, executed by aws-local-stepfunctions, its
 * Task states bound to local integrations. Build it once per process; execute it per request.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StartSyncExecutionOutput, SyncExecutionStatus } from '@aws-sdk/client-sfn';
import {
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
  type RunOptions,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { loadOrderIntakeDefinition, type WorkflowResources, type WorkflowSettings } from '../../asl/order-intake.js';
import { localIntegrations, type LocalBackends, type TaskIntegration } from './task-integrations.js';
import { localArn } from '../local-account.js';
import { recordable, type EventLog, type RecordedExecution, type TaskCall } from './execution-history.js';

/**
 * The part of a StartSyncExecution response that the API Gateway response template reads, typed by the SDK's own
 * model so that the local runtime answers what Step Functions answers.
 */
export type SyncExecutionResult = Required<Pick<StartSyncExecutionOutput, 'executionArn'>> & {
  status: SyncExecutionStatus;
} & Pick<StartSyncExecutionOutput, 'output' | 'error' | 'cause'>;

/**
 * The ASL file with its resources substituted, parsed and validated. aws-local-stepfunctions validates a definition
 * each time it builds a StateMachine (about 0.2 s of CPU, which npm start would spend while DynamoDB Local's JVM boots
 * on the same cores), so a definition that this version of it has validated once is remembered by its content, under
 * node_modules/.cache as the synthesized stack is, and not validated again. A changed definition or version is new
 * content; an invalid one is never remembered, so it fails every start.
 */
export interface OrderStateMachine {
  definition: StateMachineDefinition;
  machine: StateMachine;
}

const VALIDATED_DIR = fileURLToPath(new URL('../../node_modules/.cache/order-intake', import.meta.url));
const validatorVersion = (): string => {
  const entry = createRequire(import.meta.url).resolve('aws-local-stepfunctions');
  const manifest = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
};

/** Where a definition validated once is remembered, by its content and this version of aws-local-stepfunctions. */
export function validationRecordOf(definition: StateMachineDefinition): string {
  const key = createHash('sha256').update(validatorVersion()).update(JSON.stringify(definition)).digest('hex');
  return join(VALIDATED_DIR, `asl-validated-${key.slice(0, 32)}`);
}

/**
 * A StateMachine for `definition`, validated unless this content was validated before. The validator fills in
 * defaults (QueryLanguage) as it goes, so it checks a copy: the machine runs, and the console shows, the definition as
 * written, whether it was validated at this start or before.
 */
export function validatedStateMachine(definition: StateMachineDefinition): StateMachine {
  const record = validationRecordOf(definition);
  if (!existsSync(record)) {
    new StateMachine(structuredClone(definition));
    try {
      mkdirSync(VALIDATED_DIR, { recursive: true, mode: 0o700 });
      writeFileSync(record, '');
    } catch {
      // Not remembered (a read-only install): the next start validates it again.
    }
  }
  return new StateMachine(definition, { validationOptions: { noValidate: true } });
}

export function loadOrderStateMachine(resources: WorkflowResources, settings?: WorkflowSettings): OrderStateMachine {
  const definition = loadOrderIntakeDefinition(resources, settings) as StateMachineDefinition;
  return { definition, machine: validatedStateMachine(definition) };
}

export type OrderWorkflowOptions = (
  | {
      resources: WorkflowResources;
      /** Default: DEFAULT_WORKFLOW_SETTINGS, as in the stack. */
      settings?: WorkflowSettings;
    }
  | { stateMachine: OrderStateMachine }
) & {
  backends: LocalBackends;
  /**
   * Replaces every Retry interval and every Wait state's duration (ms); tests use it so that retries and pauses do
   * not take real seconds. By default the ASL's own timing applies, as in AWS.
   */
  retryIntervalMs?: number;
  /**
   * Told of every execution once it has ended, with its event log state by state (aws-local-stepfunctions' own
   * log; the ASL is not instrumented). Without it the log is not collected at all.
   */
  onExecutionEnd?: (execution: RecordedExecution) => void;
};

export interface OrderWorkflow {
  startSyncExecution(input: unknown, executionName: string): Promise<SyncExecutionResult>;
}

type StateDefinition = { Type: string; Resource?: string; Retry?: unknown[] };

export function createOrderWorkflow(options: OrderWorkflowOptions): OrderWorkflow {
  const { definition, machine } =
    'stateMachine' in options ? options.stateMachine : loadOrderStateMachine(options.resources, options.settings);
  const integrations = localIntegrations(options.backends);
  const states = Object.entries(definition.States as Record<string, StateDefinition>);

  // The task calls of the execution being recorded, found through the async context its run started in (the
  // handlers are shared by every execution): what each Task state sent its service and what the service answered.
  const recording = new AsyncLocalStorage<TaskCall[]>();
  const taskResourceLocalHandlers: Record<string, TaskIntegration> = {};
  for (const [name, state] of states) {
    if (state.Type !== 'Task') continue;
    const integration = state.Resource ? integrations[state.Resource] : undefined;
    if (!integration) throw new Error(`state ${name}: no local integration for ${String(state.Resource)}`);
    taskResourceLocalHandlers[name] = async (parameters) => {
      const calls = recording.getStore();
      if (!calls) return integration(parameters);
      const call: TaskCall = { state: name, parameters };
      calls.push(call);
      const result = await integration(parameters);
      call.result = result;
      return result;
    };
  }
  const overrideFor = (applies: (state: StateDefinition) => boolean) =>
    options.retryIntervalMs === undefined
      ? undefined
      : Object.fromEntries(states.filter(([, s]) => applies(s)).map(([name]) => [name, options.retryIntervalMs ?? 0]));
  const runOptions = {
    overrides: {
      taskResourceLocalHandlers,
      retryIntervalOverrides: overrideFor((state) => state.Retry !== undefined),
      waitTimeOverrides: overrideFor((state) => state.Type === 'Wait'),
    },
  } as RunOptions;

  const stateMachineArn = localArn('states', 'stateMachine:order-intake');
  const { onExecutionEnd } = options;

  async function run(execution: ReturnType<StateMachine['run']>, executionArn: string): Promise<SyncExecutionResult> {
    try {
      const output = await execution.result;
      return { executionArn, status: 'SUCCEEDED', output: JSON.stringify(output) };
    } catch (error) {
      if (error instanceof ExecutionTimeoutError) return { executionArn, status: 'TIMED_OUT' };
      if (error instanceof ExecutionError) {
        const cause = error.cause instanceof Error ? error.cause : error;
        return { executionArn, status: 'FAILED', error: cause.name, cause: cause.message };
      }
      throw error;
    }
  }

  return {
    async startSyncExecution(input, executionName) {
      const executionArn = localArn('states', `express:order-intake:${executionName}`);
      const startedAt = Date.now();
      const start = () =>
        machine.run(input as Parameters<StateMachine['run']>[0], {
          ...runOptions,
          context: {
            Execution: { Id: executionArn, Name: executionName, StartTime: new Date(startedAt).toISOString() },
          },
        });
      if (!onExecutionEnd) return run(start(), executionArn);
      const taskCalls: TaskCall[] = [];
      const execution = recording.run(taskCalls, start);
      const result = await run(execution, executionArn);
      // The log is whole once the execution has settled (its logger closes with the last event), so it is read in one
      // pass now rather than woken for each event as it is logged (a promise and a listener per event, on the request
      // path). The log is a record, never a reason for the execution to fail: a broken log is recorded as far as it got.
      const events: EventLog[] = [];
      try {
        for await (const event of execution.eventLogs) events.push(recordable(event));
      } catch {
        // recorded as far as it got
      }
      onExecutionEnd({
        name: executionName,
        arn: executionArn,
        stateMachineArn,
        status: result.status as RecordedExecution['status'],
        startedAt,
        stoppedAt: Date.now(),
        events,
        taskCalls,
      });
      return result;
    },
  };
}
